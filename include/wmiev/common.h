/**
 * @file common.h
 * @brief Basic macros shared by every wmiev public header.
 *
 * Nothing here is WMI-specific: export decoration, C/C++ linkage guards and the
 * alignment helper the wire structs need.
 */
#ifndef WMIEV_COMMON_H
#define WMIEV_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Major version of the library (SameMajorVersion compatibility). */
#define WMIEV_VERSION_MAJOR 0
/** Minor version of the library. */
#define WMIEV_VERSION_MINOR 1
/** Patch version of the library. */
#define WMIEV_VERSION_PATCH 0

#ifdef __cplusplus
#define WMIEV_BEGIN_DECLS extern "C" {
#define WMIEV_END_DECLS }
#else
#define WMIEV_BEGIN_DECLS
#define WMIEV_END_DECLS
#endif

/** Decoration of every exported function (shared builds keep default visibility). */
#if defined(_WIN32) && defined(WMIEV_SHARED_BUILD)
#define WMIEV_EXTERN __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define WMIEV_EXTERN __attribute__((visibility("default")))
#else
#define WMIEV_EXTERN
#endif

/*
 * Forces the alignment Windows gives 64-bit members. i386 System V aligns
 * 64-bit integers to 4 inside structs, Windows x86 to 8; without this the
 * WNODE_HEADER unions would land on different offsets (spec §8.3).
 */
#if defined(__cplusplus)
#define WMIEV_ALIGN8 alignas(8)
#define WMIEV_ALIGNOF(type) alignof(type)
#define WMIEV_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define WMIEV_ALIGN8 _Alignas(8)
#define WMIEV_ALIGNOF(type) _Alignof(type)
#define WMIEV_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/*
 * Windows declares its variable-length trailers as `[]` inside unions, which
 * ISO C does not allow; a GNU zero-length array has the same layout (MSVC
 * record layout was checked against it, spec §8.1 step 5). `__extension__`
 * keeps -pedantic quiet about it.
 */
#if defined(__GNUC__) || defined(__clang__)
#define WMIEV_VLA_MEMBER(type, name) __extension__ type name[0]
#else
#define WMIEV_VLA_MEMBER(type, name) type name[1]
#endif

#endif /* WMIEV_COMMON_H */
