#!/usr/bin/env bash
# Builds wmiev (Release) and runs the main demo, wmiev-simulator: 16
# simulated toasters register WMI blocks with PDO instance names and fire
# events into a libuv loop through the in-process bus, while consumers come
# and go (so IRP_MN_ENABLE/DISABLE_EVENTS are visible in the log). Ends with
# a summary of the bus's statistics. Extra arguments go to the simulator
# (e.g. --toasters 4 --duration-ms 5000 --quiet).
# Meant for a fresh Debian 12 as root: installs what is missing first.
# Works from any directory; the build goes to <repo>/build.
set -euo pipefail

# Everything below is relative to the repository root.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/install-deps.sh

# Tests are not needed to run the demo; leaving them out keeps this quick.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DWMIEV_BUILD_EXAMPLES=ON -DWMIEV_BUILD_TESTS=OFF
cmake --build build --target wmiev-simulator

echo
exec ./build/examples/simulator/wmiev-simulator "$@"
