#!/usr/bin/env bash
# Runs wmiev's benchmark suite (bench/, docs/performance.md): wmiev and its
# baselines side by side, in one run, on this machine.
#
# Usage: scripts/bench.sh [--quick] [--reps N] [--only SUBSTRING] [--callgrind [N]]
#   (no flag)       full run: 5 repetitions of every figure, medians reported
#   --quick         short run (CI smoke): 3 repetitions, 1/20 of the events;
#                   the figures are rough, the program still checks itself
#   --reps N        repetitions (median of N)
#   --only S        only the cases whose name contains S (e.g. base., uv_fire)
#   --callgrind [N] instead of timing: N (default 100000) synchronous fires
#                   under valgrind --tool=callgrind; prints instructions (Ir)
#                   per event and the top functions of each path
#
# Installs libzmq3-dev (the ZeroMQ baseline) when missing and apt is usable,
# builds Release in <repo>/build-bench, runs wmiev-bench, prints its table
# and writes the machine-readable lines (INFO, BENCH, TARGET) to
# bench-results.txt (or $BENCH_RESULTS). Exits non-zero only if the build or
# the program fails: targets missed on a noisy machine are reported, not fatal.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  sed -n '/^# Usage:/,/^#                   per event/s/^# \{0,1\}//p' "$0"
}

args=()
callgrind=0
callgrind_n=100000
while (($#)); do
  case "$1" in
    --quick) args+=(--quick) ;;
    --reps | --only)
      (($# >= 2)) || { usage >&2; exit 2; }
      args+=("$1" "$2")
      shift
      ;;
    --callgrind)
      callgrind=1
      if (($# >= 2)) && [[ "$2" =~ ^[0-9]+$ ]]; then
        callgrind_n="$2"
        shift
      fi
      ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

./scripts/install-deps.sh
# The ZeroMQ baseline is optional: without libzmq the program skips it and says so.
if ! pkg-config --exists libzmq 2>/dev/null; then
  ./scripts/install-deps.sh --with-zmq ||
    echo "bench.sh: libzmq3-dev is missing: the ZeroMQ baseline will be skipped" >&2
fi

build=build-bench
# Release, without the test suite and examples: only the library and wmiev-bench.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DWMIEV_BUILD_TESTS=OFF -DWMIEV_BUILD_EXAMPLES=OFF -DWMIEV_BUILD_BENCH=ON >/dev/null
cmake --build "$build" --target wmiev-bench
bench="$build/bench/wmiev-bench"

if ((callgrind)); then
  command -v valgrind >/dev/null || {
    echo "bench.sh: valgrind is not installed (apt-get install valgrind)" >&2
    exit 1
  }
  out="$build/callgrind"
  mkdir -p "$out"
  for path in fire source write direct; do
    case "$path" in
      fire) fn=callgrind_fire_event ;;
      source) fn=callgrind_source_fire ;;
      write) fn=callgrind_write_event ;;
      direct) fn=base_direct_callgrind ;;
    esac
    # One path per run, so that the call counts below are those of that path
    # (plus setup, which is small and the same for every path).
    valgrind --tool=callgrind --callgrind-out-file="$out/$fn.out" --toggle-collect="$fn" \
      "$bench" --callgrind "$callgrind_n" --path "$path" >/dev/null 2>"$out/$fn.log"
    total=$(callgrind_annotate "$out/$fn.out" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    awk -v t="$total" -v n="$callgrind_n" -v f="$fn" \
      'BEGIN { printf "CALLGRIND name=%s events=%d ir_total=%d ir_per_event=%.1f\n", f, n, t, t / n }'
    # Lock acquisitions per event: calls of pthread_mutex_lock (bus and registry locks).
    callgrind_annotate --tree=caller "$out/$fn.out" |
      awk -v n="$callgrind_n" '/< .*wmiev__mutex_lock \(/ && !/pthread/ { c = $0; sub(/.*\(/, "", c); sub(/x\).*/, "", c); gsub(",", "", c); s += c }
        END { printf "  locks per event (pthread_mutex_lock calls / events, setup included): %.2f\n", s / n }'
    echo "  top functions (self Ir per event):"
    callgrind_annotate "$out/$fn.out" | sed -n '/file:function/,$p' | sed -n '3,17p' |
      sed -E 's/^ *([0-9,]+) +\( *[0-9.]+%\) +(.*)$/\1 \2/' |
      awk -v n="$callgrind_n" '/^[0-9]/ { ir = $1; gsub(",", "", ir); $1 = ""; printf "    %8.1f%s\n", ir / n, $0 }'
  done
  exit 0
fi

results="${BENCH_RESULTS:-bench-results.txt}"
log="$build/bench-output.txt"
# The program's own status decides (a crash fails the script, even through the pipe).
"$bench" "${args[@]}" | tee "$log"
grep -E '^(INFO|SKIP|BENCH|TARGET|TARGETS) ' "$log" >"$results"
echo "bench.sh: machine-readable lines in $results (full output in $log)"
