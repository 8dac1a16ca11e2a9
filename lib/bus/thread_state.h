/*
 * Per-thread delivery state: what lets a synchronous delivery run without a
 * single atomic read-modify-write (docs/threading.md, "The fast path";
 * decisions D22).
 *
 * Every thread that delivers, or fires through a source to a GUID with a
 * subscriber, gets one record from a fixed,
 * process-wide table (reused when the thread exits). Only its thread writes
 * it; subscribe, unsubscribe and reclamation on other threads read it:
 *   - `epoch`: 0 outside any delivery; during one, the reclamation epoch the
 *     thread read when its outermost delivery began (x2 + 1). A snapshot or
 *     subscription retired at epoch T may be freed once no record shows an
 *     epoch <= T (snapshot.c).
 *   - `running[d]`: the subscription whose callback runs at nesting depth d.
 *     An unsubscriber marks the subscription removed, then waits until no
 *     other thread's record shows it.
 * The owning thread stores with plain (relaxed) stores and a compiler
 * barrier; the other side puts a heavy fence (membarrier) between its store
 * and its loads, so the pair still cannot both miss each other. Where no
 * heavy fence exists (platform.h), every access of such a pair on both
 * sides is sequentially consistent instead (their single total order does
 * what the fence did): three exchanges per delivery instead of none.
 *
 * A thread that finds the table full, or cannot get a thread-exit hook
 * (wmiev__at_thread_exit() failed), or nests deliveries deeper than
 * WMIEV__NEST_MAX, uses the per-GUID reader count and per-subscription pins
 * instead (atomic read-modify-writes; the scheme before D22).
 */
#ifndef WMIEV_BUS_THREAD_STATE_H
#define WMIEV_BUS_THREAD_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <wmiev/bus.h>

#if defined(__GNUC__) || defined(__clang__)
#define WMIEV__LIKELY(x) __builtin_expect(!!(x), 1)
#define WMIEV__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define WMIEV__INITIAL_EXEC __attribute__((tls_model("initial-exec")))
#else
#define WMIEV__LIKELY(x) (x)
#define WMIEV__UNLIKELY(x) (x)
#define WMIEV__INITIAL_EXEC
#endif

/* Deliveries nested deeper than this on one thread use the atomic pins. */
#define WMIEV__NEST_MAX 16u
/* Threads with a record at once; more fall back to the atomic pins. */
#define WMIEV__THREAD_STATES 512u

typedef struct wmiev__thread_state {
  _Atomic uint64_t epoch; /* 0, or (epoch << 1) | 1 during a delivery */
  _Atomic(const wmiev_subscription *) running[WMIEV__NEST_MAX];
  /* Owner only: */
  uint32_t depth;      /* deliveries in progress on this thread */
  bool asymmetric;     /* heavy fences exist: plain stores suffice (fixed per process) */
  _Atomic bool in_use; /* handed out to a live thread */
} wmiev__thread_state;

/* The table and how many of its entries were ever handed out (scans stop
 * there). */
extern wmiev__thread_state wmiev__thread_states[WMIEV__THREAD_STATES];
extern _Atomic uint32_t wmiev__thread_states_used;
/* The reclamation epoch (snapshot.c): bumped by every retirement. */
extern _Atomic uint64_t wmiev__reclaim_epoch;

extern _Thread_local wmiev__thread_state *wmiev__this_thread WMIEV__INITIAL_EXEC;

/* Slow part of wmiev__thread_state_get(). */
wmiev__thread_state *wmiev__thread_state_claim(void);

/* The calling thread's record: NULL when the table is full. */
static inline wmiev__thread_state *wmiev__thread_state_get(void) {
  wmiev__thread_state *me = wmiev__this_thread;
  if (WMIEV__LIKELY(me != NULL)) {
    return me;
  }
  return wmiev__thread_state_claim();
}

/* Enters a delivery (me != NULL, me->depth < WMIEV__NEST_MAX). */
static inline void wmiev__thread_state_enter(wmiev__thread_state *me) {
  if (me->depth++ == 0) {
    uint64_t e = atomic_load_explicit(&wmiev__reclaim_epoch, memory_order_acquire);
    if (me->asymmetric) {
      atomic_store_explicit(&me->epoch, (e << 1) | 1u, memory_order_relaxed);
      atomic_signal_fence(memory_order_seq_cst);
    } else {
      atomic_store(&me->epoch, (e << 1) | 1u);
    }
  }
}

/* Leaves it: from here the thread may read nothing it loaded inside. */
static inline void wmiev__thread_state_leave(wmiev__thread_state *me) {
  if (--me->depth == 0) {
    atomic_store_explicit(&me->epoch, 0, memory_order_release);
  }
}

/* Marks `sub`'s callback as running at the current depth (inside enter):
 * then the caller reads `removed`. */
static inline void wmiev__thread_state_pin(wmiev__thread_state *me, const wmiev_subscription *sub) {
  if (me->asymmetric) {
    atomic_store_explicit(&me->running[me->depth - 1], sub, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
  } else {
    atomic_store(&me->running[me->depth - 1], sub);
  }
}

/* The callback is over: then the caller reads `removed` to wake an unsubscriber. */
static inline void wmiev__thread_state_unpin(wmiev__thread_state *me) {
  if (me->asymmetric) {
    atomic_store_explicit(&me->running[me->depth - 1], NULL, memory_order_release);
    atomic_signal_fence(memory_order_seq_cst);
  } else {
    atomic_store(&me->running[me->depth - 1], NULL);
  }
}

/* ---- The other side (subscribe, unsubscribe, reclaim) ---------------------------------- */

/* Between a store the owners must see and the scans below (nothing when
 * every access is sequentially consistent). */
void wmiev__thread_states_fence(void);

/* True if a thread other than the caller shows `sub` running. */
bool wmiev__thread_states_running(const wmiev_subscription *sub);

/* The smallest epoch a thread in a delivery entered with (UINT64_MAX: none),
 * read without a fence: a hint; confirm after wmiev__thread_states_fence(). */
uint64_t wmiev__thread_states_oldest(void);

/* Test hooks: the number of records in use now; make the calling thread
 * give up its record and use the fallback from now on. */
WMIEV_EXTERN uint32_t wmiev__thread_states_in_use(void);
WMIEV_EXTERN void wmiev__thread_state_test_refuse(void);

#endif /* WMIEV_BUS_THREAD_STATE_H */
