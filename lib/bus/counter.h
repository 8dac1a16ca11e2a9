/*
 * A counter bumped from any thread that costs a plain load and store when
 * one thread does most of the bumping (decisions D22).
 *
 * An atomic increment costs about 2 ns here, several times the rest of a
 * fire with no subscriber. Most counters are bumped by one thread at a time
 * (one producer per source, one dispatcher per bus), so the first thread to
 * bump one becomes its owner and counts into `mine` with a relaxed load and
 * store (it is the only writer); any other thread counts into `shared` with
 * an atomic add. Readers add both (relaxed loads of atomics: never torn).
 * Ownership goes with the thread's delivery record (thread_state.h), which
 * is handed to another thread only after its owner exited, so `mine` always
 * has one writer at a time.
 */
#ifndef WMIEV_BUS_COUNTER_H
#define WMIEV_BUS_COUNTER_H

#include <stdatomic.h>
#include <stdint.h>

#include "thread_state.h"

typedef struct wmiev__counter {
  _Atomic(const wmiev__thread_state *) owner;
  _Atomic uint64_t mine;   /* the owner's count */
  _Atomic uint64_t shared; /* everyone else's */
} wmiev__counter;

/* Adds 1; `me` is the calling thread's record, or NULL if it has none. */
static inline void wmiev__counter_bump(wmiev__counter *c, const wmiev__thread_state *me) {
  const wmiev__thread_state *owner = atomic_load_explicit(&c->owner, memory_order_relaxed);
  if (WMIEV__LIKELY(owner == me && me != NULL)) {
    atomic_store_explicit(&c->mine, atomic_load_explicit(&c->mine, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return;
  }
  if (owner == NULL && me != NULL) {
    const wmiev__thread_state *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&c->owner, &expected, me, memory_order_relaxed,
                                                memory_order_relaxed)) {
      atomic_store_explicit(&c->mine, atomic_load_explicit(&c->mine, memory_order_relaxed) + 1,
                            memory_order_relaxed);
      return;
    }
  }
  atomic_fetch_add_explicit(&c->shared, 1, memory_order_relaxed);
}

static inline uint64_t wmiev__counter_read(const wmiev__counter *c) {
  return atomic_load_explicit(&c->mine, memory_order_relaxed) +
         atomic_load_explicit(&c->shared, memory_order_relaxed);
}

#endif /* WMIEV_BUS_COUNTER_H */
