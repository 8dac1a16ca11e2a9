#!/usr/bin/env bash
# Installs the Debian 12 packages wmiev needs to build and test, and only the
# ones that are missing: a machine that already has everything never touches
# apt (so the script also works without root there, and costs nothing when
# run by every build script).
#
# Usage: scripts/install-deps.sh [--with-m32] [--with-clang] [--with-mingw] [--with-valgrind]
#                                [--with-zmq] [--all] [--check]
#   (no flag)     base: CMake, Ninja, gcc/g++, pkg-config, libuv, cmocka
#   --with-m32    also the 32-bit x86 build (cmake/toolchains/linux-i386.cmake):
#                 gcc/g++ multilib and the i386 -dev packages (multiarch)
#   --with-clang  also clang, for the clang build in CI
#   --with-mingw  also mingw-w64 (x86_64 and i686 compilers, binutils, and the
#                 headers/import libraries with the DDK), for the Windows
#                 kernel cross-build (docs/windows.md)
#   --with-valgrind  also valgrind, for memcheck on the examples in CI
#                 (docs/reliability.md)
#   --with-zmq    also libzmq3-dev, the benchmark's ZeroMQ baseline
#                 (scripts/bench.sh, docs/performance.md)
#   --all         all of the above
#   --check       only report what is missing; exit 1 if anything is
set -euo pipefail

usage() {
  sed -n '/^# Usage:/,/^#   --check/s/^# \{0,1\}//p' "$0"
}

with_m32=0
with_clang=0
with_mingw=0
with_valgrind=0
with_zmq=0
check_only=0
for arg in "$@"; do
  case "$arg" in
    --with-m32) with_m32=1 ;;
    --with-clang) with_clang=1 ;;
    --with-mingw) with_mingw=1 ;;
    --with-valgrind) with_valgrind=1 ;;
    --with-zmq) with_zmq=1 ;;
    --all) with_m32=1 with_clang=1 with_mingw=1 with_valgrind=1 with_zmq=1 ;;
    --check) check_only=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install-deps: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

packages=(cmake ninja-build gcc g++ pkg-config libuv1-dev libcmocka-dev)
if ((with_m32)); then
  # gcc-multilib gives -m32 its crt files and libgcc; the i386 -dev packages
  # are what the toolchain file's pkg-config and find_library look for.
  packages+=(gcc-multilib g++-multilib libcmocka-dev:i386 libuv1-dev:i386)
fi
if ((with_clang)); then
  packages+=(clang)
fi
if ((with_valgrind)); then
  packages+=(valgrind)
fi
if ((with_zmq)); then
  packages+=(libzmq3-dev)
fi
if ((with_mingw)); then
  # The -dev packages (dependencies of the compilers anyway) are named so that
  # a half-removed toolchain is noticed: they hold <ddk/wdm.h>, <wmistr.h>,
  # <ddk/wmilib.h> and libntoskrnl.a, libwmilib.a, libhal.a.
  packages+=(gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 binutils-mingw-w64-x86-64
    binutils-mingw-w64-i686 mingw-w64-x86-64-dev mingw-w64-i686-dev)
fi

# A package counts as present only when dpkg says "install ok installed"
# (dpkg-query also lists packages removed but not purged) for the right
# architecture: "name:arch" as given, else the native one (or "all"). With
# multiarch, one name can be installed for several architectures, and
# dpkg-query then prints one line per instance.
native_arch="$(dpkg --print-architecture)"
is_installed() {
  local name="${1%%:*}" arch="${1#*:}"
  [[ "$arch" == "$1" ]] && arch="$native_arch"
  dpkg-query -W -f='${Status} ${Architecture}\n' "$name" 2>/dev/null |
    grep -Eqx "install ok installed ($arch|all)"
}

missing=()
for pkg in "${packages[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

# The i386 packages need the architecture enabled before apt can see them.
need_i386=0
if ((with_m32)) && ! dpkg --print-foreign-architectures | grep -qx i386; then
  need_i386=1
fi

if ((${#missing[@]} == 0 && need_i386 == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
if ((check_only)); then
  if ((need_i386)); then
    echo "install-deps: the i386 architecture is not enabled"
  fi
  echo "install-deps: missing: ${missing[*]:-nothing}"
  exit 1
fi
if ((EUID != 0)); then
  echo "install-deps: missing ${missing[*]}; run this script as root to install them" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp -t wmiev-install-deps.XXXXXX)"
trap 'rm -f "$log"' EXIT

if ((need_i386)); then
  echo "install-deps: enabling the i386 architecture"
  dpkg --add-architecture i386
fi

echo "install-deps: installing ${missing[*]}"
# A failed update is only a warning: Debian's mirrors are sometimes caught
# mid-sync (bookworm-security most often), which fails one index while the
# others are fine and the packages we need are still installable. If they
# are not, the install below fails and says so.
if ! apt-get update -q >"$log" 2>&1; then
  echo "install-deps: warning: apt-get update failed, trying to install anyway:" >&2
  grep -E '^(E|W):' "$log" >&2 || tail -n 5 "$log" >&2
fi
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  echo "install-deps: apt-get install failed:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi

# Trust dpkg, not apt's exit status alone.
still_missing=()
for pkg in "${missing[@]}"; do
  is_installed "$pkg" || still_missing+=("$pkg")
done
if ((${#still_missing[@]} != 0)); then
  echo "install-deps: still missing after install: ${still_missing[*]}" >&2
  exit 1
fi
echo "install-deps: done"
