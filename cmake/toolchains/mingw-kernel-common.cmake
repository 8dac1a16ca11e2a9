# Shared part of the two mingw-w64 kernel toolchain files
# (x86_64-w64-mingw32-kernel.cmake, i686-w64-mingw32-kernel.cmake). Each sets
# the architecture's values first, then includes this file:
#   WMIEV_MINGW_TRIPLE       x86_64-w64-mingw32 / i686-w64-mingw32
#   WMIEV_KERNEL_ARCH_FLAGS  -D_AMD64_ / -D_X86_ plus architecture-only flags
#   WMIEV_KERNEL_ENTRY       the linker's name of DriverEntry
#   WMIEV_KERNEL_IMAGE_BASE  the usual base of WDK-built drivers for the arch
# See docs/windows.md.

set(CMAKE_SYSTEM_NAME Windows)
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
#   -D_AMD64_ / -D_X86_, -DWINNT=1, -D_KERNEL_MODE  what the WDK build
#                                       environment defines and the DDK headers test
#   -D_WIN32_WINNT/WINVER/NTDDI_VERSION  Windows 7 is the oldest target: every
#                                       WMI routine used exists there
#   -fno-stack-protector                no __security_cookie / __stack_chk_*
#                                       in the kernel (nothing would set them up)
#   -mno-stack-arg-probe                no ___chkstk_ms calls: kernel stacks are
#                                       resident and small; big frames are a bug
# Not used: -ffreestanding (the core is hosted C11 and calls memcpy, memset,
# strstr, which ntoskrnl exports; see lib/backend/windows/kernel_crt.h for
# snprintf), -mno-red-zone (the Windows x64 ABI has no red zone).
set(CMAKE_C_FLAGS_INIT "${WMIEV_KERNEL_ARCH_FLAGS} -DWINNT=1 -D_KERNEL_MODE -D_WIN32_WINNT=0x0601 -DWINVER=0x0601 -DNTDDI_VERSION=0x06010000 -fno-stack-protector -mno-stack-arg-probe")

# Link flags for driver images:
#   -nostdlib                    no crt2.o, msvcrt, kernel32, libmingw32
#   --subsystem,native           IMAGE_SUBSYSTEM_NATIVE (1)
#   --entry,<DriverEntry>        the driver's entry point, no CRT startup
#   --image-base, --dynamicbase  the kernel always relocates drivers, so the
#                                image keeps its base relocations (.reloc)
#   --nxcompat                   marks the image NX-compatible
#   --file-alignment,0x200 / --section-alignment,0x1000  PE defaults for drivers
#   --no-undefined               every symbol resolved at link time
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -Wl,--subsystem,native -Wl,--entry,${WMIEV_KERNEL_ENTRY} -Wl,--image-base,${WMIEV_KERNEL_IMAGE_BASE} -Wl,--dynamicbase -Wl,--nxcompat -Wl,--file-alignment,0x200 -Wl,--section-alignment,0x1000 -Wl,--no-undefined")

# Libraries every image links. A normal variable on purpose: CMake's
# Windows-GNU platform module initialises the cache entry with kernel32,
# user32 and friends, which must never reach a driver. Import libraries only
# contribute the routines actually referenced, so HAL.dll (for instance)
# appears in the import table only if something uses it.
set(CMAKE_C_STANDARD_LIBRARIES "-lwmilib -lntoskrnl -lhal -lgcc")
