# Windows kernel (x86_64) cross-build with mingw-w64 on Debian
# (gcc-mingw-w64-x86-64; DDK headers and the ntoskrnl/hal/wmilib import
# libraries come with mingw-w64-x86-64-dev). See docs/windows.md.
#
#   cmake -S . -B build-win-x86_64 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86_64-w64-mingw32-kernel.cmake
#
# Sets WMIEV_WINDOWS_KERNEL, which switches the project to its kernel branch:
# the pure part of lib/core plus lib/backend/windows as a static library, the
# example driver examples/windows-driver -> wmiev-example.sys and the ABI
# and link checks in tests/windows. Every executable linked with these
# flags is a driver image (native subsystem, DriverEntry, ntoskrnl imports).
# The twin for 32-bit x86 is i686-w64-mingw32-kernel.cmake; what they share is
# in mingw-kernel-common.cmake.

set(CMAKE_SYSTEM_PROCESSOR AMD64)
set(WMIEV_MINGW_TRIPLE x86_64-w64-mingw32)
set(WMIEV_KERNEL_ARCH_FLAGS "-D_AMD64_")
set(WMIEV_KERNEL_ENTRY DriverEntry)
# The usual base of WDK-built x64 drivers.
set(WMIEV_KERNEL_IMAGE_BASE 0x140000000)
include(${CMAKE_CURRENT_LIST_DIR}/mingw-kernel-common.cmake)
