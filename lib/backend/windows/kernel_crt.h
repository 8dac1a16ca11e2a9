/*
 * C library shims for the Windows kernel build (WMIEV_WINDOWS_KERNEL).
 *
 * lib/CMakeLists.txt force-includes this header (-include) into every source
 * of the kernel build of the library, ahead of everything else, so that the
 * portable core compiles unchanged. A driver has no C runtime. What the core
 * uses of <string.h> (memcpy, memset, memcmp, strlen, strstr, ...) ntoskrnl.exe
 * exports under the same names with the same meaning, and mingw-w64's
 * libntoskrnl.a links it. snprintf and vsnprintf are missing: ntoskrnl only
 * has Microsoft's _snprintf/_vsnprintf, which differ from C99 where it
 * matters to the core's diagnostics:
 *
 *   - on truncation they return -1 and leave the buffer unterminated;
 *   - the kernel's format engine predates the C99 length modifiers z, t, j
 *     and ll: "%zu" would be misparsed, every later argument shifted, and a
 *     following %s would read a size_t as a pointer (a bugcheck, not a typo).
 *
 * So snprintf and vsnprintf are renamed to wmiev__kernel_snprintf/_vsnprintf
 * (kernel_crt.c): C99 format language in, translated to the kernel's
 * (z, t -> I; j, ll -> I64), output always NUL-terminated, and on truncation
 * a return value >= the buffer size (the buffer size itself: the exact length
 * is not computed). A size of 0 returns -1. Callable at IRQL <= DISPATCH_LEVEL
 * as long as the format has no wide-character conversions (%ls, %lc, %wZ),
 * which the core never uses.
 *
 * Format checking: GCC for mingw-w64 checks format(printf) declarations (the
 * core's wmiev_diag_set) against Microsoft's printf language, which rejects
 * %zu. The language the shim implements is C99's, so `printf` inside a
 * format attribute is mapped to gnu_printf below; -Wformat thus checks what
 * will really run. As a side effect a call to printf() becomes a call to an
 * undefined gnu_printf and fails to link, as it must: a driver has no stdout.
 *
 * <stdio.h> is included first so that its declarations (and its
 * push_macro/pop_macro of snprintf) are settled; the macros then rename
 * every later use. Nothing else from <stdio.h> can be used in the kernel
 * build (there is no FILE in a driver): such a call fails to link.
 */
#ifndef WMIEV_BACKEND_WINDOWS_KERNEL_CRT_H
#define WMIEV_BACKEND_WINDOWS_KERNEL_CRT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** C99 vsnprintf for kernel mode, on top of ntoskrnl's _vsnprintf. */
int wmiev__kernel_vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
    __attribute__((format(gnu_printf, 3, 0)));
/** C99 snprintf for kernel mode, on top of ntoskrnl's _vsnprintf. */
int wmiev__kernel_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(gnu_printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#undef snprintf
#undef vsnprintf
#define snprintf wmiev__kernel_snprintf
#define vsnprintf wmiev__kernel_vsnprintf
#undef printf
#define printf gnu_printf

#endif /* WMIEV_BACKEND_WINDOWS_KERNEL_CRT_H */
