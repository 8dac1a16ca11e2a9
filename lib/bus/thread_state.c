/*
 * Per-thread delivery records (thread_state.h): handing them out, taking
 * them back when a thread exits, and the scans the rare side runs.
 *
 * The table is static: no allocation, nothing to free at exit, and a record
 * never moves, so scanning it races only with its owner's atomic stores.
 */
#include "thread_state.h"

#include "platform/platform.h"

wmiev__thread_state wmiev__thread_states[WMIEV__THREAD_STATES];
_Atomic uint32_t wmiev__thread_states_used;
_Atomic uint64_t wmiev__reclaim_epoch = 1;
_Thread_local wmiev__thread_state *wmiev__this_thread WMIEV__INITIAL_EXEC;

/* Set once this thread tried for a record and could not have one: it uses
 * the atomic pins from then on (not asking again keeps the lock off the
 * fire path). */
static _Thread_local bool no_record;

/* Claims are rare (once per thread): a spin lock keeps this file free of
 * objects that need initialising. */
static atomic_flag claim_lock = ATOMIC_FLAG_INIT;

static void release_record(void *arg) {
  wmiev__thread_state *me = arg;
  /* A thread exits outside any delivery: every field is at rest. */
  me->depth = 0;
  wmiev__this_thread = NULL;
  atomic_store_explicit(&me->in_use, false, memory_order_release);
}

wmiev__thread_state *wmiev__thread_state_claim(void) {
  if (no_record) {
    return NULL;
  }
  bool asymmetric = wmiev__heavy_fence_init();
  while (atomic_flag_test_and_set_explicit(&claim_lock, memory_order_acquire)) {
  }
  wmiev__thread_state *me = NULL;
  uint32_t used = atomic_load_explicit(&wmiev__thread_states_used, memory_order_relaxed);
  for (uint32_t i = 0; i < used && me == NULL; i++) {
    if (!atomic_load_explicit(&wmiev__thread_states[i].in_use, memory_order_acquire)) {
      me = &wmiev__thread_states[i];
    }
  }
  if (me == NULL && used < WMIEV__THREAD_STATES) {
    me = &wmiev__thread_states[used];
    atomic_store_explicit(&wmiev__thread_states_used, used + 1, memory_order_release);
  }
  if (me != NULL) {
    me->depth = 0;
    me->asymmetric = asymmetric;
    atomic_store_explicit(&me->in_use, true, memory_order_relaxed);
  }
  atomic_flag_clear_explicit(&claim_lock, memory_order_release);
  if (me == NULL || !wmiev__at_thread_exit(release_record, me)) {
    if (me != NULL) {
      atomic_store_explicit(&me->in_use, false, memory_order_release);
    }
    no_record = true;
    return NULL;
  }
  wmiev__this_thread = me;
  return me;
}

void wmiev__thread_states_fence(void) {
  if (wmiev__heavy_fence_init()) {
    wmiev__heavy_fence();
  }
}

bool wmiev__thread_states_running(const wmiev_subscription *sub) {
  uint32_t used = atomic_load_explicit(&wmiev__thread_states_used, memory_order_acquire);
  const wmiev__thread_state *self = wmiev__this_thread;
  for (uint32_t i = 0; i < used; i++) {
    const wmiev__thread_state *t = &wmiev__thread_states[i];
    if (t == self) {
      continue;
    }
    for (uint32_t d = 0; d < WMIEV__NEST_MAX; d++) {
      if (atomic_load(&t->running[d]) == sub) {
        return true;
      }
    }
  }
  return false;
}

uint64_t wmiev__thread_states_oldest(void) {
  uint32_t used = atomic_load_explicit(&wmiev__thread_states_used, memory_order_acquire);
  uint64_t oldest = UINT64_MAX;
  for (uint32_t i = 0; i < used; i++) {
    uint64_t e = atomic_load(&wmiev__thread_states[i].epoch);
    if (e != 0 && (e >> 1) < oldest) {
      oldest = e >> 1;
    }
  }
  return oldest;
}

uint32_t wmiev__thread_states_in_use(void) {
  uint32_t used = atomic_load_explicit(&wmiev__thread_states_used, memory_order_acquire);
  uint32_t n = 0;
  for (uint32_t i = 0; i < used; i++) {
    n += atomic_load_explicit(&wmiev__thread_states[i].in_use, memory_order_acquire) ? 1u : 0u;
  }
  return n;
}

static void forget_record(void *arg) { (void)arg; }

void wmiev__thread_state_test_refuse(void) {
  wmiev__thread_state *me = wmiev__this_thread;
  if (me != NULL && me->depth == 0) {
    (void)wmiev__at_thread_exit(forget_record, NULL);
    wmiev__this_thread = NULL;
    atomic_store_explicit(&me->in_use, false, memory_order_release);
  }
  no_record = true;
}
