/*
 * A debug allocator for tests: counts allocations, remembers every live
 * block, fails the test on a double free, a free of an unknown pointer or a
 * wrong size, reports leaks, and can fail the Nth allocation (fault
 * injection: walk N = 1, 2, ... until a scenario completes).
 * Thread-safe (one mutex), so threaded tests can use it too.
 */
#ifndef WMIEV_TEST_DEBUG_ALLOC_H
#define WMIEV_TEST_DEBUG_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wmiev/alloc.h>

typedef struct debug_alloc debug_alloc;

/* Creates one; `allocator` is what to pass to wmiev. */
debug_alloc *debug_alloc_create(void);
void debug_alloc_destroy(debug_alloc *d);
const wmiev_allocator *debug_alloc_allocator(debug_alloc *d);

/* Fail allocation number `n` (1-based, counted from now); 0 disables. With
 * `sticky`, every allocation from the Nth on fails. */
void debug_alloc_fail_nth(debug_alloc *d, uint64_t n, bool sticky);
/* True if an injected failure has happened since the last fail_nth(). */
bool debug_alloc_failure_hit(debug_alloc *d);

uint64_t debug_alloc_live_count(debug_alloc *d);
uint64_t debug_alloc_live_bytes(debug_alloc *d);
uint64_t debug_alloc_total_count(debug_alloc *d); /* successful allocations so far */
uint64_t debug_alloc_peak_bytes(debug_alloc *d);
/* Number of errors seen (double free, unknown pointer, size mismatch). */
uint64_t debug_alloc_errors(debug_alloc *d);

/* Prints live blocks to stderr; returns how many there were. */
uint64_t debug_alloc_report_leaks(debug_alloc *d);

#endif /* WMIEV_TEST_DEBUG_ALLOC_H */
