/* POSIX implementation of lib/platform/tick_clock.h: the ticker thread. */
#define _POSIX_C_SOURCE 200809L /* pthread_sigmask, clock_gettime */
#include "tick_clock.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform.h"

wmiev__tick_clock_shared wmiev__tick_clock; /* word 0: stale */

#define TICK_NS 1000000L           /* 1 ms */
#define DEFAULT_IDLE_LIMIT 64u     /* ticks without a read before parking */
#define STEP_BACK_LIMIT 10000000LL /* 1 s in 100-ns units: a set-back clock is followed */

/* Everything below is guarded by `lock`, except `can_kick`, which the slow
 * path reads without it: true while taking the lock would achieve something
 * (a reference is held, and the ticker is parked, or is to be started and
 * has not failed to be). Readers that find the word stale while the ticker
 * is starting or waking up read directly instead of queueing on the lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond; /* the ticker's sleeps and its parking */
static bool cond_ready;
static _Atomic bool can_kick;
static size_t refs;
static bool thread_exists; /* a ticker of the current generation */
static pthread_t thread;
static uintptr_t generation; /* a ticker runs while this equals its own */
static bool parked;
static bool failed;
static uint64_t ticks;
/* For the tests; per thread, so that a degraded clock (every read slow) does
 * not make all firing threads write one line. */
static _Thread_local uint64_t slow_reads;
static uint32_t idle_limit = DEFAULT_IDLE_LIMIT;

static void check(int rc) {
  if (rc != 0) {
    abort();
  }
}

/* After every change of the state below. */
static void update_kick_locked(void) {
  bool kick = refs > 0 && !failed && (!thread_exists || parked);
  atomic_store_explicit(&can_kick, kick, memory_order_relaxed);
}

/* ---- The word ----------------------------------------------------------------- */

static int64_t merge(int64_t old, int64_t reading) {
  if (reading >= old || old - reading > STEP_BACK_LIMIT) {
    return reading;
  }
  return old;
}

/* Merges a reading into the word (the fresh bit set by the ticker, kept
 * otherwise); returns the value the word holds afterwards. Writes only when
 * something changes: the slow path of many threads then shares the line
 * instead of fighting for it. (mark_stale() clears the bit.) */
static int64_t publish(int64_t reading, bool set_fresh) {
  int64_t old = atomic_load_explicit(&wmiev__tick_clock.word, memory_order_relaxed);
  for (;;) {
    int64_t value = merge(old / 2, reading);
    int64_t bit = set_fresh ? 1 : (old & 1);
    int64_t word = value * 2 + bit;
    if (word == old) {
      return value;
    }
    if (atomic_compare_exchange_weak_explicit(&wmiev__tick_clock.word, &old, word,
                                              memory_order_acq_rel, memory_order_relaxed)) {
      return value;
    }
  }
}

static void mark_stale(void) {
  int64_t old = atomic_load_explicit(&wmiev__tick_clock.word, memory_order_relaxed);
  while ((old & 1) != 0 &&
         !atomic_compare_exchange_weak_explicit(&wmiev__tick_clock.word, &old, old & ~(int64_t)1,
                                                memory_order_acq_rel, memory_order_relaxed)) {
  }
}

/* ---- The ticker --------------------------------------------------------------- */

static void deadline_add(struct timespec *ts, long ns) {
  ts->tv_nsec += ns;
  while (ts->tv_nsec >= 1000000000L) {
    ts->tv_nsec -= 1000000000L;
    ts->tv_sec += 1;
  }
}

static bool before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Holds `lock` except while it waits, so a store can never follow the stop
 * (release() changes the generation and marks the word stale under it). */
static void *ticker(void *arg) {
  uintptr_t mine = (uintptr_t)arg;
  uint32_t idle = 0;
  struct timespec next;
  check(clock_gettime(CLOCK_MONOTONIC, &next));
  check(pthread_mutex_lock(&lock));
  while (generation == mine) {
    publish(wmiev__system_time_100ns(), true);
    ticks++;
    if (atomic_load_explicit(&wmiev__tick_clock.used, memory_order_relaxed)) {
      atomic_store_explicit(&wmiev__tick_clock.used, 0, memory_order_relaxed);
      idle = 0;
    } else if (++idle >= idle_limit) {
      /* Nobody read the last idle_limit values: stop waking up 1000 times
       * a second. The next read takes the slow path and wakes us (it sees
       * can_kick set: the stale word is published after it). */
      parked = true;
      update_kick_locked();
      mark_stale();
      while (parked && generation == mine) {
        check(pthread_cond_wait(&cond, &lock));
      }
      idle = 0;
      check(clock_gettime(CLOCK_MONOTONIC, &next));
      continue;
    }
    /* Absolute deadlines, so the period stays 1 ms; after a delay longer
     * than a tick, start again from now instead of catching up. */
    struct timespec now;
    check(clock_gettime(CLOCK_MONOTONIC, &now));
    deadline_add(&next, TICK_NS);
    if (before(&next, &now)) {
      next = now;
      deadline_add(&next, TICK_NS);
    }
    int rc = pthread_cond_timedwait(&cond, &lock, &next);
    if (rc != 0 && rc != ETIMEDOUT) {
      abort();
    }
  }
  check(pthread_mutex_unlock(&lock));
  return NULL;
}

/* Under `lock`, with a reference held and no ticker of this generation. A
 * failure (the OS's, or one injected for the tests, docs/reliability.md) is
 * remembered until the last reference goes: reads stay direct, none fails. */
static void start_locked(void) {
  /* Creating the thread takes a while: readers meanwhile read directly
   * instead of queueing on `lock` (set again below, whatever happened). */
  atomic_store_explicit(&can_kick, false, memory_order_relaxed);
  if (!cond_ready) {
    /* Timed waits against the monotonic clock, immune to clock steps. Once
     * per process, never destroyed (a static, like the mutex). */
    pthread_condattr_t attr;
    check(pthread_condattr_init(&attr));
    check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
    check(pthread_cond_init(&cond, &attr));
    check(pthread_condattr_destroy(&attr));
    cond_ready = true;
  }
  bool ok = wmiev__platform_acquire();
  if (ok) {
    /* The ticker takes no signal: they go to the application's threads. */
    sigset_t all, old;
    sigfillset(&all);
    check(pthread_sigmask(SIG_SETMASK, &all, &old));
    ok = pthread_create(&thread, NULL, ticker, (void *)generation) == 0;
    check(pthread_sigmask(SIG_SETMASK, &old, NULL));
  }
  if (!ok) {
    failed = true;
  } else {
    thread_exists = true;
    parked = false;
  }
  update_kick_locked();
}

/* ---- Reading ------------------------------------------------------------------ */

int64_t wmiev__tick_clock_slow(void) {
  slow_reads++;
  int64_t value = publish(wmiev__system_time_100ns_coarse(), false);
  if (!atomic_load_explicit(&wmiev__tick_clock.used, memory_order_relaxed)) {
    atomic_store_explicit(&wmiev__tick_clock.used, 1, memory_order_relaxed);
  }
  if (atomic_load_explicit(&can_kick, memory_order_relaxed)) {
    check(pthread_mutex_lock(&lock));
    if (refs > 0 && !failed) {
      if (!thread_exists) {
        start_locked();
      } else if (parked) {
        parked = false;
        update_kick_locked();
        check(pthread_cond_broadcast(&cond));
      }
    }
    check(pthread_mutex_unlock(&lock));
  }
  return value;
}

int64_t wmiev__tick_clock_read(void) { return wmiev__tick_clock_now(); }

/* ---- References --------------------------------------------------------------- */

void wmiev__tick_clock_acquire(void) {
  check(pthread_mutex_lock(&lock));
  refs++;
  update_kick_locked();
  check(pthread_mutex_unlock(&lock));
}

void wmiev__tick_clock_release(void) {
  bool join = false;
  pthread_t stopping;
  memset(&stopping, 0, sizeof stopping);
  check(pthread_mutex_lock(&lock));
  if (refs == 0) {
    abort(); /* more releases than acquisitions: a bug in the library */
  }
  if (--refs == 0) {
    failed = false;
    if (thread_exists) {
      /* The ticker sees the new generation when it wakes and leaves without
       * storing again; a ticker started later runs with the new one. */
      generation++;
      thread_exists = false;
      parked = false;
      stopping = thread;
      join = true;
      check(pthread_cond_broadcast(&cond));
    }
    update_kick_locked();
    mark_stale(); /* no ticker from here on: reads go direct */
  }
  check(pthread_mutex_unlock(&lock));
  if (join) {
    check(pthread_join(stopping, NULL));
  }
}

/* ---- Test hooks --------------------------------------------------------------- */

wmiev__tick_state wmiev__tick_clock_state(void) {
  check(pthread_mutex_lock(&lock));
  wmiev__tick_state state = failed           ? WMIEV__TICK_FAILED
                            : !thread_exists ? WMIEV__TICK_STOPPED
                            : parked         ? WMIEV__TICK_PARKED
                                             : WMIEV__TICK_RUNNING;
  check(pthread_mutex_unlock(&lock));
  return state;
}

uint64_t wmiev__tick_clock_ticks(void) {
  check(pthread_mutex_lock(&lock));
  uint64_t n = ticks;
  check(pthread_mutex_unlock(&lock));
  return n;
}

uint64_t wmiev__tick_clock_slow_reads(void) { return slow_reads; }

int64_t wmiev__tick_clock_test_publish(int64_t reading) { return publish(reading, false); }

void wmiev__tick_clock_set_idle_limit(uint32_t limit) {
  check(pthread_mutex_lock(&lock));
  idle_limit = limit != 0 ? limit : DEFAULT_IDLE_LIMIT;
  check(pthread_mutex_unlock(&lock));
}
