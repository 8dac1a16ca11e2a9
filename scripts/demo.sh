#!/usr/bin/env bash
# Builds wmiev (Release) and runs the WNODE demo: builds, validates and
# decodes the WNODEs a WMI provider sends, then rejects a malformed one.
# Meant for a fresh Debian 12 as root: installs what is missing first.
# Works from any directory; the build goes to <repo>/build.
set -euo pipefail

# Everything below is relative to the repository root.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/install-deps.sh

# Tests are not needed to run the demo; leaving them out keeps this quick.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DWMIEV_BUILD_EXAMPLES=ON -DWMIEV_BUILD_TESTS=OFF
cmake --build build --target wmiev-wnode-demo

echo
exec ./build/examples/wnode-demo/wmiev-wnode-demo
