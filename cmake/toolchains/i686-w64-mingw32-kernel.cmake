# Windows kernel (32-bit x86) cross-build with mingw-w64 on Debian
# (gcc-mingw-w64-i686; DDK headers and the ntoskrnl/hal/wmilib import
# libraries come with mingw-w64-i686-dev). See docs/windows.md.
#
#   cmake -S . -B build-win-i686 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/i686-w64-mingw32-kernel.cmake
#
# Sets WMIEV_WINDOWS_KERNEL, which switches the project to its kernel branch:
# the pure part of lib/core plus lib/backend/windows as a static library, the
# example driver examples/windows-driver -> wmiev-example.sys and the ABI
# and link checks in tests/windows. Every executable linked with these
# flags is a driver image (native subsystem, DriverEntry, ntoskrnl imports).
# The twin for x86_64 is x86_64-w64-mingw32-kernel.cmake; what they share is
# in mingw-kernel-common.cmake.

set(CMAKE_SYSTEM_PROCESSOR x86)
set(WMIEV_MINGW_TRIPLE i686-w64-mingw32)
# -mgeneral-regs-only: no x87/MMX/SSE code, as 32-bit kernel code may only
# touch the FPU between KeSaveFloatingPointState/KeRestoreFloatingPointState.
# libgcc supplies the 64-bit division helpers (__udivdi3, ...).
set(WMIEV_KERNEL_ARCH_FLAGS "-D_X86_ -mgeneral-regs-only")
# The decorated name of NTSTATUS NTAPI (stdcall) DriverEntry(PDRIVER_OBJECT,
# PUNICODE_STRING): the undecorated one leaves the entry unresolved.
set(WMIEV_KERNEL_ENTRY _DriverEntry@8)
# The usual base of WDK-built x86 drivers.
set(WMIEV_KERNEL_IMAGE_BASE 0x10000)
include(${CMAKE_CURRENT_LIST_DIR}/mingw-kernel-common.cmake)
