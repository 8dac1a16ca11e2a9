#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, docs/reliability.md) with clang,
# ASan and UBSan, replays the committed seeds and saved crash inputs, then
# fuzzes each target for a bounded time and prints a summary table.
#
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]
#   seconds-per-target  default 60 (what CI runs); use e.g. 3600 to hunt
#   target              wnode_validate reginfo_parse names provider_reply fire
#                       (default: all)
#
# Each target fuzzes a scratch copy of its seed corpus
# (build-fuzz/fuzz-run/<target>/corpus), so the committed corpus never grows
# by itself. Findings (crash-*, leak-*, timeout-*, oom-*) land in
# build-fuzz/fuzz-run/<target>/artifacts/; docs/reliability.md says how one
# becomes a regression test. Exits non-zero if any target found something.
# Installs clang and libclang-rt-14-dev (libFuzzer) first if missing (root).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "fuzz.sh: seconds-per-target must be a positive integer (got '$seconds')" >&2
  exit 2
fi
all_targets=(wnode_validate reginfo_parse names provider_reply fire)
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=("${all_targets[@]}")
fi
for t in "${targets[@]}"; do
  if [[ ! -f "tests/fuzz/fuzz_$t.c" ]]; then
    echo "fuzz.sh: unknown target '$t' (targets: ${all_targets[*]})" >&2
    exit 2
  fi
done

# ---- Tools: the base build deps, clang, and libFuzzer's runtime ------------------------------
./scripts/install-deps.sh --with-clang
if ! dpkg-query -W -f='${Status}\n' libclang-rt-14-dev 2>/dev/null | grep -qx "install ok installed"; then
  if ((EUID != 0)); then
    echo "fuzz.sh: libclang-rt-14-dev (libFuzzer) is missing; run as root to install it" >&2
    exit 1
  fi
  echo "fuzz.sh: installing libclang-rt-14-dev"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null 2>&1 || echo "fuzz.sh: warning: apt-get update failed, trying anyway" >&2
  apt-get install -y -q --no-install-recommends libclang-rt-14-dev >/dev/null
fi

# ---- Build -------------------------------------------------------------------------------------
dir=build-fuzz
# A cache from another compiler cannot be reused (CMake would refuse CC=clang).
if [[ -f "$dir/CMakeCache.txt" ]] && ! grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*clang' "$dir/CMakeCache.txt"; then
  rm -rf "$dir"
fi
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWMIEV_BUILD_FUZZERS=ON -DWMIEV_SANITIZER=address -DWMIEV_WERROR=ON \
  -DWMIEV_BUILD_TESTS=OFF -DWMIEV_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$dir"

export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

# Seeds and saved crash inputs first (fuzz.replay.*), and the seeds are current (fuzz.seeds).
ctest --test-dir "$dir" -L fuzz --output-on-failure

# ---- Fuzz ----------------------------------------------------------------------------------------
run_root="$dir/fuzz-run"
declare -A execs results rates sizes
failed=0
for t in "${targets[@]}"; do
  work="$run_root/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
  echo "== fuzz_$t: ${seconds} s"
  rc=0
  # -timeout: an input running 10 s is a hang, reported like a crash.
  "$dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1 || rc=$?
  n="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/log" | tail -n 1)"
  if [[ -z "$n" ]]; then
    n="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log" | tail -n 1)"
  fi
  n="${n:-0}"
  execs[$t]="$n"
  rates[$t]=$((n / seconds))
  sizes[$t]="$(find "$work/corpus" -type f | wc -l)"
  found="$(find "$work/artifacts" -type f | wc -l)"
  if ((rc != 0 || found != 0)); then
    results[$t]="FAILED (exit $rc)"
    failed=1
    echo "fuzz_$t failed; the end of its log ($work/log):" >&2
    tail -n 40 "$work/log" >&2
    find "$work/artifacts" -type f -printf '  finding: %p\n' >&2
  else
    results[$t]="ok"
  fi
done

# ---- Summary -----------------------------------------------------------------------------------
echo
echo "fuzz summary ($(date -u +%Y-%m-%d), ${seconds} s per target, ASan+UBSan, $(clang --version | head -n 1))"
printf '%-16s %14s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  printf '%-16s %14s %10s %8s  %s\n' "$t" "${execs[$t]}" "${rates[$t]}" "${sizes[$t]}" "${results[$t]}"
done
if ((failed)); then
  echo "fuzz.sh: findings above; see docs/reliability.md for turning one into a regression test" >&2
  exit 1
fi
