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
# The twin for 32-bit x86 is i686-w64-mingw32-kernel.cmake; keep them in step.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)

set(WMIEV_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${WMIEV_MINGW_TRIPLE}-gcc)
set(CMAKE_RC_COMPILER ${WMIEV_MINGW_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${WMIEV_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# CMake's compiler check links a program with main(); a driver image has no
# C runtime and enters at DriverEntry, so only compile checks make sense.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(WMIEV_WINDOWS_KERNEL ON CACHE BOOL "Build for the Windows kernel (set by the mingw-w64 kernel toolchain files)" FORCE)

# Compile flags (kernel mode):
#   -D_AMD64_ -DWINNT=1 -D_KERNEL_MODE  what the WDK build environment defines
#                                       and the DDK headers test
#   -D_WIN32_WINNT/WINVER/NTDDI_VERSION  Windows 7 is the oldest target: every
#                                       WMI routine used exists there
#   -fno-stack-protector                no __security_cookie / __stack_chk_*
#                                       in the kernel (nothing would set them up)
#   -mno-stack-arg-probe                no ___chkstk_ms calls: kernel stacks are
#                                       resident and small; big frames are a bug
# Not used: -ffreestanding (the core is hosted C11 and calls memcpy, memset,
# strstr, which ntoskrnl exports; see lib/backend/windows/kernel_crt.h for
# snprintf), -mno-red-zone (the Windows x64 ABI has no red zone).
set(CMAKE_C_FLAGS_INIT "-D_AMD64_ -DWINNT=1 -D_KERNEL_MODE -D_WIN32_WINNT=0x0601 -DWINVER=0x0601 -DNTDDI_VERSION=0x06010000 -fno-stack-protector -mno-stack-arg-probe")

# Link flags for driver images:
#   -nostdlib                    no crt2.o, msvcrt, kernel32, libmingw32
#   --subsystem,native           IMAGE_SUBSYSTEM_NATIVE (1)
#   --entry,DriverEntry          the driver's entry point, no CRT startup
#   --image-base,0x140000000     the usual base of WDK-built x64 drivers; the
#   --dynamicbase                kernel always relocates drivers, so the image
#                                keeps its base relocations (.reloc)
#   --nxcompat                   marks the image NX-compatible
#   --file-alignment,0x200 / --section-alignment,0x1000  PE defaults for drivers
#   --no-undefined               every symbol resolved at link time
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -Wl,--subsystem,native -Wl,--entry,DriverEntry -Wl,--image-base,0x140000000 -Wl,--dynamicbase -Wl,--nxcompat -Wl,--file-alignment,0x200 -Wl,--section-alignment,0x1000 -Wl,--no-undefined")

# Libraries every image links. A normal variable on purpose: CMake's
# Windows-GNU platform module initialises the cache entry with kernel32,
# user32 and friends, which must never reach a driver. Import libraries only
# contribute the routines actually referenced, so HAL.dll (for instance)
# appears in the import table only if something uses it.
set(CMAKE_C_STANDARD_LIBRARIES "-lwmilib -lntoskrnl -lhal -lgcc")
