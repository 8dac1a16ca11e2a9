/*
 * Windows kernel backend of the portable API (DESIGN.md, "Windows backend").
 *
 * Placeholder: the kernel build (WMIEV_WINDOWS_KERNEL, docs/windows.md) so far
 * ships the pure part of lib/core, which needs nothing from the kernel but
 * the C library routines ntoskrnl exports (kernel_crt.h). The mapping of the
 * portable provider/consumer API onto IoWMIRegistrationControl,
 * WmiSystemControl, WmiFireEvent/IoWMIWriteEvent and IoWMIOpenBlock comes
 * here.
 */
#include <wmiev/wmiev.h>

#if !defined(_WIN32) || !defined(_KERNEL_MODE)
#error "lib/backend/windows is built only by the Windows kernel toolchains (cmake/toolchains/*-w64-mingw32-kernel.cmake)"
#endif

/* The wire structs follow the target's pointer size (WMIREGGUIDW.Pdo). */
WMIEV_STATIC_ASSERT(sizeof(void *) == sizeof(uintptr_t), "pointer-sized wire fields");
#if defined(_WIN64)
WMIEV_STATIC_ASSERT(sizeof(WMIREGGUIDW) == 32, "WMIREGGUIDW is 32 bytes on x64");
#else
WMIEV_STATIC_ASSERT(sizeof(WMIREGGUIDW) == 28, "WMIREGGUIDW is 28 bytes on x86");
#endif
