/*
 * ntdef.h (WDK face): the basic Windows kernel types and macros, with the
 * WDK's names, mapped onto fixed-width C types so that they have Windows'
 * sizes on every Linux target (LP64 and ILP32):
 *
 *   ULONG/LONG        uint32_t/int32_t  (Windows' long is 32 bits; Linux's is not)
 *   ULONG_PTR, SIZE_T uintptr_t         (pointer-sized)
 *   WCHAR             wchar_t, which must be 16 bits: compile with -fshort-wchar
 *                     (the wmiev::wdk target and wmiev-wdk.pc add it) so that
 *                     L"..." literals are UTF-16 as on Windows
 *   NTSTATUS          wmiev_status (one error type for both faces)
 *   GUID, LARGE_INTEGER  the core's (<wmiev/wnode.h>): one definition each
 *
 * Calling conventions (NTAPI, __stdcall) do not exist here: NTAPI is empty.
 */
#ifndef WMIEV_WDK_NTDEF_H
#define WMIEV_WDK_NTDEF_H

/* Standard headers first: the annotation macros of sal.h must not reach them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <wmiev/status.h>
#include <wmiev/wnode.h>

#include "guiddef.h"
#include "sal.h"

#if defined(__WCHAR_MAX__) && (__WCHAR_MAX__ > 0xffff)
#error                                                                                             \
    "The WDK face needs a 16-bit wchar_t (WCHAR is UTF-16): compile with -fshort-wchar (the wmiev::wdk CMake target and the wmiev-wdk pkg-config module add it)."
#endif

/*
 * Driver sources carry MSVC pragmas (`#pragma warning(disable: 4201)`,
 * `#pragma alloc_text(PAGE, ...)` outside ALLOC_PRAGMA guards, ...). They
 * mean nothing here; -Wall must not turn them into errors. The same for the
 * multi-character pool tags ('gaTT'), whose value GCC and Clang compute as
 * MSVC does. The wmiev::wdk target also passes -Wno-unknown-pragmas and
 * -Wno-multichar; this covers builds that do not use it, or reorder flags.
 */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#pragma GCC diagnostic ignored "-Wmultichar"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Decoration -------------------------------------------------------- */
#ifndef NTAPI
#define NTAPI
#endif
#ifndef NTAPI_INLINE
#define NTAPI_INLINE
#endif
#ifndef DDKAPI
#define DDKAPI
#endif
#ifndef WINAPI
#define WINAPI
#endif
#ifndef STDCALL
#define STDCALL
#endif
#ifndef CALLBACK
#define CALLBACK
#endif
#ifndef FASTCALL
#define FASTCALL
#endif
#ifndef IN
#define IN
#endif
#ifndef OUT
#define OUT
#endif
#ifndef OPTIONAL
#define OPTIONAL
#endif
#ifndef CONST
#define CONST const
#endif
#ifndef VOID
#define VOID void
#endif
#ifndef NTKERNELAPI
#define NTKERNELAPI EXTERN_C __attribute__((visibility("default")))
#endif
#ifndef NTSYSAPI
#define NTSYSAPI NTKERNELAPI
#endif
#ifndef NTHALAPI
#define NTHALAPI NTKERNELAPI
#endif
#ifndef NTSYSCALLAPI
#define NTSYSCALLAPI NTKERNELAPI
#endif
#ifndef DECLSPEC_IMPORT
#define DECLSPEC_IMPORT
#endif
#ifndef DECLSPEC_EXPORT
#define DECLSPEC_EXPORT __attribute__((visibility("default")))
#endif
#ifndef DECLSPEC_NORETURN
#define DECLSPEC_NORETURN __attribute__((noreturn))
#endif
#ifndef DECLSPEC_NOINLINE
#define DECLSPEC_NOINLINE __attribute__((noinline))
#endif
#ifndef DECLSPEC_ALIGN
#define DECLSPEC_ALIGN(x) __attribute__((aligned(x)))
#endif
#ifndef DECLSPEC_CACHEALIGN
#define DECLSPEC_CACHEALIGN DECLSPEC_ALIGN(64)
#endif
#ifndef DECLSPEC_NOTHROW
#define DECLSPEC_NOTHROW
#endif
#ifndef FORCEINLINE
#define FORCEINLINE static inline __attribute__((always_inline))
#endif
#ifndef __forceinline
#define __forceinline inline __attribute__((always_inline))
#endif
/* Windows aligns some IRP parameters to pointer size on 64-bit targets only. */
#ifndef POINTER_ALIGNMENT
#if UINTPTR_MAX > 0xffffffffu
#define POINTER_ALIGNMENT __attribute__((aligned(8)))
#else
#define POINTER_ALIGNMENT
#endif
#endif
#ifndef MEMORY_ALLOCATION_ALIGNMENT
#if UINTPTR_MAX > 0xffffffffu
#define MEMORY_ALLOCATION_ALIGNMENT 16
#else
#define MEMORY_ALLOCATION_ALIGNMENT 8
#endif
#endif
#ifndef UNALIGNED
#define UNALIGNED
#endif
#ifndef ANYSIZE_ARRAY
#define ANYSIZE_ARRAY 1
#endif
#ifndef RESTRICTED_POINTER
#define RESTRICTED_POINTER
#endif
#ifndef C_ASSERT
#define C_ASSERT(e) WMIEV_STATIC_ASSERT(e, #e)
#endif

/* ---- Scalar types ------------------------------------------------------ */
typedef void *PVOID;
typedef void *LPVOID;
typedef const void *PCVOID;
typedef const void *LPCVOID;
typedef char CHAR;
typedef unsigned char UCHAR;
typedef signed char SCHAR;
typedef short SHORT;
typedef unsigned short USHORT;
typedef short CSHORT;
typedef int INT;
typedef unsigned int UINT;
typedef int32_t LONG;
typedef uint32_t ULONG;
typedef int32_t LONG32;
typedef uint32_t ULONG32;
typedef uint32_t DWORD32;
typedef int64_t LONG64;
typedef uint64_t ULONG64;
typedef uint64_t DWORD64;
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef intptr_t LONG_PTR;
typedef uintptr_t ULONG_PTR;
typedef intptr_t INT_PTR;
typedef uintptr_t UINT_PTR;
typedef uintptr_t DWORD_PTR;
typedef uintptr_t SIZE_T;
typedef intptr_t SSIZE_T;
typedef uint8_t BYTE;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef UCHAR BOOLEAN;
typedef char CCHAR;
typedef ULONG CLONG;
typedef UCHAR KIRQL;
typedef CCHAR KPROCESSOR_MODE;
typedef LONG KPRIORITY;
typedef ULONG LOGICAL;
typedef ULONG EXECUTION_STATE;
typedef ULONG DEVICE_TYPE;
typedef ULONG ACCESS_MASK;
typedef void *HANDLE;
typedef wchar_t WCHAR;
typedef wmiev_status NTSTATUS;

typedef PVOID *PPVOID;
typedef CHAR *PCHAR, *PCH, *PSTR, *LPSTR, *PSZ;
typedef const CHAR *PCCH, *PCSTR, *LPCSTR, *PCSZ;
typedef UCHAR *PUCHAR;
typedef const UCHAR *PCUCHAR;
typedef SHORT *PSHORT;
typedef USHORT *PUSHORT;
typedef LONG *PLONG;
typedef ULONG *PULONG;
typedef const ULONG *PCULONG;
typedef LONGLONG *PLONGLONG;
typedef ULONGLONG *PULONGLONG;
typedef LONG64 *PLONG64;
typedef ULONG64 *PULONG64;
typedef LONG_PTR *PLONG_PTR;
typedef ULONG_PTR *PULONG_PTR;
typedef SIZE_T *PSIZE_T;
typedef BOOLEAN *PBOOLEAN;
typedef BYTE *PBYTE;
typedef WORD *PWORD;
typedef DWORD *PDWORD;
typedef KIRQL *PKIRQL;
typedef CCHAR *PCCHAR;
typedef HANDLE *PHANDLE;
typedef ACCESS_MASK *PACCESS_MASK;
typedef NTSTATUS *PNTSTATUS;
typedef WCHAR *PWCHAR, *PWCH, *PWSTR, *LPWSTR, *NWPSTR;
typedef const WCHAR *PCWCH, *PCWSTR, *LPCWSTR, *PCWCHAR;
typedef PVOID PSECURITY_DESCRIPTOR;
typedef PVOID PSID;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#ifndef NULL
#define NULL ((void *)0)
#endif

#define MAXUCHAR 0xff
#define MAXUSHORT 0xffff
#define MAXULONG 0xffffffffu
#define MAXLONG 0x7fffffff
#define MINLONG (-MAXLONG - 1)
#define MAXLONGLONG INT64_MAX
#define MAXULONG_PTR UINTPTR_MAX
#define MAXSIZE_T SIZE_MAX

/* ---- 64-bit integers as unions ------------------------------------------- */
typedef union _ULARGE_INTEGER {
  struct {
    ULONG LowPart;
    ULONG HighPart;
  };
  struct {
    ULONG LowPart;
    ULONG HighPart;
  } u;
  WMIEV_ALIGN8 ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

/* ---- Status helpers ------------------------------------------------------ */
#define NT_SUCCESS(Status) (((NTSTATUS)(Status)) >= 0)
#define NT_INFORMATION(Status) ((((ULONG)(Status)) >> 30) == 1)
#define NT_WARNING(Status) ((((ULONG)(Status)) >> 30) == 2)
#define NT_ERROR(Status) ((((ULONG)(Status)) >> 30) == 3)

/* ---- Counted strings ----------------------------------------------------- */
/** Length and MaximumLength are in bytes; Buffer need not be NUL-terminated. */
typedef struct _UNICODE_STRING {
  USHORT Length;
  USHORT MaximumLength;
  PWCH Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;

typedef struct _STRING {
  USHORT Length;
  USHORT MaximumLength;
  PCHAR Buffer;
} STRING, *PSTRING, ANSI_STRING, *PANSI_STRING, OEM_STRING, *POEM_STRING;
typedef const STRING *PCANSI_STRING;

#define UNICODE_NULL ((WCHAR)0)
#define ANSI_NULL ((CHAR)0)
#define UNICODE_STRING_MAX_BYTES ((USHORT)65534)
#define UNICODE_STRING_MAX_CHARS (32767)

/** RTL_CONSTANT_STRING(L"text"): a UNICODE_STRING initialiser for a literal. */
#define RTL_CONSTANT_STRING(s)                                                                     \
  { (USHORT)(sizeof(s) - sizeof((s)[0])), (USHORT)sizeof(s), (PWCH)(s) }
#define DECLARE_CONST_UNICODE_STRING(_var, _string)                                                \
  const WCHAR _var##_buffer[] = _string;                                                           \
  const UNICODE_STRING _var = {(USHORT)(sizeof(_string) - sizeof(WCHAR)), (USHORT)sizeof(_string), \
                               (PWCH)_var##_buffer}
#define DECLARE_UNICODE_STRING_SIZE(_var, _size)                                                   \
  WCHAR _var##_buffer[_size];                                                                      \
  UNICODE_STRING _var = {0, (USHORT)((_size) * sizeof(WCHAR)), _var##_buffer}

/* ---- Doubly and singly linked lists --------------------------------------- */
typedef struct _LIST_ENTRY {
  struct _LIST_ENTRY *Flink;
  struct _LIST_ENTRY *Blink;
} LIST_ENTRY, *PLIST_ENTRY, *RESTRICTED_POINTER PRLIST_ENTRY;

typedef struct _SINGLE_LIST_ENTRY {
  struct _SINGLE_LIST_ENTRY *Next;
} SINGLE_LIST_ENTRY, *PSINGLE_LIST_ENTRY;

/* ---- Structure helpers ---------------------------------------------------- */
#define FIELD_OFFSET(type, field) ((LONG)offsetof(type, field))
#define UFIELD_OFFSET(type, field) ((ULONG)offsetof(type, field))
#define RTL_FIELD_SIZE(type, field) (sizeof(((type *)0)->field))
#define RTL_SIZEOF_THROUGH_FIELD(type, field) (offsetof(type, field) + RTL_FIELD_SIZE(type, field))
#define RTL_CONTAINS_FIELD(Struct, Size, Field)                                                    \
  ((((PCHAR)(&(Struct)->Field)) + sizeof((Struct)->Field)) <= (((PCHAR)(Struct)) + (Size)))
#define CONTAINING_RECORD(address, type, field)                                                    \
  ((type *)(void *)((PCHAR)(address)-offsetof(type, field)))
#define RTL_NUMBER_OF_V1(A) (sizeof(A) / sizeof((A)[0]))
#define RTL_NUMBER_OF(A) RTL_NUMBER_OF_V1(A)
#define RTL_NUMBER_OF_V2(A) RTL_NUMBER_OF_V1(A)
#ifndef ARRAYSIZE
#define ARRAYSIZE(A) RTL_NUMBER_OF_V1(A)
#endif
#define _ARRAYSIZE(A) RTL_NUMBER_OF_V1(A)
#define ALIGN_DOWN_BY(length, alignment) ((ULONG_PTR)(length) & ~((ULONG_PTR)(alignment)-1))
#define ALIGN_UP_BY(length, alignment)                                                             \
  (ALIGN_DOWN_BY(((ULONG_PTR)(length) + (alignment)-1), alignment))
#define ALIGN_DOWN_POINTER_BY(address, alignment)                                                  \
  ((PVOID)((ULONG_PTR)(address) & ~((ULONG_PTR)(alignment)-1)))
#define ALIGN_UP_POINTER_BY(address, alignment)                                                    \
  (ALIGN_DOWN_POINTER_BY(((ULONG_PTR)(address) + (alignment)-1), alignment))
#define ALIGN_DOWN(length, type) ALIGN_DOWN_BY(length, sizeof(type))
#define ALIGN_UP(length, type) ALIGN_UP_BY(length, sizeof(type))
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#define DBG_UNREFERENCED_PARAMETER(P) ((void)(P))
#define DBG_UNREFERENCED_LOCAL_VARIABLE(V) ((void)(V))
#define UNREFERENCED_LOCAL_VARIABLE(V) ((void)(V))
#define Add2Ptr(P, I) ((PVOID)((PUCHAR)(P) + (I)))
#define PtrOffset(B, O) ((ULONG)((ULONG_PTR)(O) - (ULONG_PTR)(B)))
#if !defined(NOMINMAX) && !defined(__cplusplus)
#ifndef min
#define min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef max
#define max(a, b) (((a) > (b)) ? (a) : (b))
#endif
#endif

#ifdef __cplusplus
}
#endif

#endif /* WMIEV_WDK_NTDEF_H */
