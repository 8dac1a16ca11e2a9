/**
 * @file alloc.h
 * @brief The allocator hook every wmiev object allocates through.
 *
 * The size is passed to `free` too, so that a counting or pooling allocator
 * needs no header of its own. Tests install a debug allocator that reports
 * leaks and double frees and can fail the Nth allocation.
 */
#ifndef WMIEV_ALLOC_H
#define WMIEV_ALLOC_H

#include "common.h"

WMIEV_BEGIN_DECLS

/** An allocator: both functions receive `ctx`. `alloc` returns NULL on failure. */
typedef struct wmiev_allocator {
  void *(*alloc)(size_t size, void *ctx);
  void (*free)(void *ptr, size_t size, void *ctx);
  void *ctx;
} wmiev_allocator;

/** @brief The default allocator (malloc/free). */
WMIEV_EXTERN const wmiev_allocator *wmiev_allocator_default(void);

WMIEV_END_DECLS

#endif /* WMIEV_ALLOC_H */
