/*
 * The tick clock: the bus's default clock (docs/decisions.md D20).
 *
 * Windows' KeQuerySystemTime does not read a clock: it reads the system
 * time the clock interrupt stores once per tick. This is the same thing in
 * user mode: a process-wide value that a background thread, the ticker,
 * refreshes every millisecond, so that reading the time is one atomic load
 * (a CLOCK_REALTIME_COARSE read costs about 6 ns here, more than the whole
 * synchronous fire path may).
 *
 * - Unit and epoch: 100-ns units since 1601-01-01 UTC, as
 *   wmiev__system_time_100ns(). Steps of 1 ms while the ticker runs (each
 *   tick stores a precise reading); a read is at most one tick (plus the
 *   ticker's scheduling delay) behind the precise clock and never ahead of it.
 * - Never backwards: every value returned, by any thread, is the value of
 *   one process-wide word that only grows, so a thread never sees the time
 *   decrease and a value read after another one (happens-before) is not
 *   smaller. Exception: when the system clock is set back by more than one
 *   second the clock follows it, as Windows' system time does; a smaller step
 *   back holds the clock still until real time catches up.
 * - Lifetime: the buses that use it hold a reference
 *   (wmiev__tick_clock_acquire/release). The ticker starts on the first read
 *   while a reference is held, not before (most buses of a test suite never
 *   fire); it parks after 64 ticks without a fast-path read and is woken by
 *   the next read; it is stopped and joined when the last reference goes, so
 *   a process that destroyed its buses has no thread of ours.
 * - Without a reference, or when the thread cannot be created, every read is
 *   the slow path: a direct CLOCK_REALTIME_COARSE read (merged into the word,
 *   so still never backwards). Reading never fails.
 * - fork(): not supported. A child inherits the word, fresh, without the
 *   thread: its clock would stand still. Create buses after forking.
 *
 * POSIX implementation (pthreads) in tick_clock.c. The Windows kernel build
 * has no bus and does not compile it.
 */
#ifndef WMIEV_TICK_CLOCK_H
#define WMIEV_TICK_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include <wmiev/common.h>

/* The tick value and its use mark, alone on one cache line. `word` is
 * value << 1 | fresh: fresh while the ticker runs and stores it every tick;
 * a stale word is read through the slow path. `used` is set by a fast-path
 * read and cleared by the ticker at each tick (idle detection). */
typedef struct wmiev__tick_clock_shared {
  _Alignas(64) _Atomic int64_t word;
  _Atomic unsigned char used;
} wmiev__tick_clock_shared;

extern wmiev__tick_clock_shared wmiev__tick_clock;

/* The slow path of wmiev__tick_clock_now(): a direct read, merged into the
 * word; starts or wakes the ticker when a reference is held. */
int64_t wmiev__tick_clock_slow(void);

/* The time, 100-ns units since 1601 (KeQuerySystemTime's). Any thread. */
static inline int64_t wmiev__tick_clock_now(void) {
  int64_t word = atomic_load_explicit(&wmiev__tick_clock.word, memory_order_acquire);
  if ((word & 1) == 0) {
    return wmiev__tick_clock_slow();
  }
  /* A load per read; a store only on the first read after a tick. */
  if (!atomic_load_explicit(&wmiev__tick_clock.used, memory_order_relaxed)) {
    atomic_store_explicit(&wmiev__tick_clock.used, 1, memory_order_relaxed);
  }
  return word / 2;
}

/* References: a bus that uses the clock holds one from create to destroy.
 * Acquiring starts nothing; releasing the last one stops and joins the
 * ticker (it waits at most for the ticker to wake up and leave). Any thread
 * except the ticker, which never calls back into the library. */
WMIEV_EXTERN void wmiev__tick_clock_acquire(void);
WMIEV_EXTERN void wmiev__tick_clock_release(void);

/*
 * For the tests (exported only so that the test programs can reach them).
 */
/* wmiev__tick_clock_now(), out of line. */
WMIEV_EXTERN int64_t wmiev__tick_clock_read(void);

typedef enum wmiev__tick_state {
  WMIEV__TICK_STOPPED = 0, /* no thread */
  WMIEV__TICK_RUNNING = 1, /* ticking every millisecond */
  WMIEV__TICK_PARKED = 2,  /* idle: the thread waits for the next read */
  WMIEV__TICK_FAILED = 3   /* the thread could not be created: every read is
                              direct until the last reference goes */
} wmiev__tick_state;

WMIEV_EXTERN wmiev__tick_state wmiev__tick_clock_state(void);
/* Ticks stored since the process started (only grows). */
WMIEV_EXTERN uint64_t wmiev__tick_clock_ticks(void);
/* Reads by the calling thread that took the slow path. */
WMIEV_EXTERN uint64_t wmiev__tick_clock_slow_reads(void);
/* Merges `reading` into the clock as a direct read does (the rule for a
 * system clock set back); returns the clock's value afterwards. */
WMIEV_EXTERN int64_t wmiev__tick_clock_test_publish(int64_t reading);
/* Ticks without a fast-path read after which the ticker parks; 0 restores
 * the default (64). Takes effect at the ticker's next tick. */
WMIEV_EXTERN void wmiev__tick_clock_set_idle_limit(uint32_t ticks);

#endif /* WMIEV_TICK_CLOCK_H */
