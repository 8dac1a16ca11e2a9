#!/usr/bin/env bash
# Builds wmiev with its tests and examples and runs the whole test suite
# (unit tests, header checks, install test, the demo's self-checks).
# Meant for a fresh Debian 12 as root: installs what is missing first.
# Works from any directory; the build goes to <repo>/build-test.
set -euo pipefail

# Everything below is relative to the repository root.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/install-deps.sh

cmake -S . -B build-test -G Ninja -DWMIEV_BUILD_TESTS=ON -DWMIEV_BUILD_EXAMPLES=ON
cmake --build build-test
# ctest's default output ends with the "N% tests passed" summary, which CI logs rely on.
ctest --test-dir build-test --output-on-failure -j2
