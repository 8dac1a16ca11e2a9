/* POSIX implementation of lib/platform/platform.h (pthreads, clock_gettime). */
#define _XOPEN_SOURCE 700 /* PTHREAD_MUTEX_RECURSIVE */
#include "platform.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define ETIMEDOUT_VALUE ETIMEDOUT

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((wmiev__mutex *)0)->storage),
               "wmiev__mutex storage too small for pthread_mutex_t");
_Static_assert(sizeof(pthread_cond_t) <= sizeof(((wmiev__cond *)0)->storage),
               "wmiev__cond storage too small for pthread_cond_t");

#define MUTEX(m) ((pthread_mutex_t *)(void *)(m)->storage)
#define COND(c) ((pthread_cond_t *)(void *)(c)->storage)

/* A failing pthread call on a correctly initialised object means memory
 * corruption; carrying on would only hide it. */
static void check(int rc) {
  if (rc != 0) {
    abort();
  }
}

/* Fault injection (platform.h). Atomics: tests are single-threaded when they
 * arm it, but resources are created from any thread. */
static _Atomic uint64_t fail_at;
static _Atomic uint64_t acquisitions;
static _Atomic bool failure_hit;

void wmiev__platform_fail_nth(uint64_t n) {
  atomic_store(&acquisitions, 0);
  atomic_store(&failure_hit, false);
  atomic_store(&fail_at, n);
}

bool wmiev__platform_failure_hit(void) { return atomic_load(&failure_hit); }

bool wmiev__platform_acquire(void) {
  uint64_t n = atomic_load(&fail_at);
  if (n == 0) {
    return true;
  }
  if (atomic_fetch_add(&acquisitions, 1) + 1 == n) {
    atomic_store(&failure_hit, true);
    return false;
  }
  return true;
}

bool wmiev__mutex_init(wmiev__mutex *m) {
  return wmiev__platform_acquire() && pthread_mutex_init(MUTEX(m), NULL) == 0;
}
bool wmiev__mutex_init_recursive(wmiev__mutex *m) {
  if (!wmiev__platform_acquire()) {
    return false;
  }
  pthread_mutexattr_t attr;
  if (pthread_mutexattr_init(&attr) != 0) {
    return false;
  }
  check(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE));
  int rc = pthread_mutex_init(MUTEX(m), &attr);
  check(pthread_mutexattr_destroy(&attr));
  return rc == 0;
}
void wmiev__mutex_destroy(wmiev__mutex *m) { check(pthread_mutex_destroy(MUTEX(m))); }
void wmiev__mutex_lock(wmiev__mutex *m) { check(pthread_mutex_lock(MUTEX(m))); }
void wmiev__mutex_unlock(wmiev__mutex *m) { check(pthread_mutex_unlock(MUTEX(m))); }
bool wmiev__mutex_trylock(wmiev__mutex *m) {
  int rc = pthread_mutex_trylock(MUTEX(m));
  if (rc == EBUSY) {
    return false;
  }
  check(rc);
  return true;
}

bool wmiev__cond_init(wmiev__cond *c) {
  if (!wmiev__platform_acquire()) {
    return false;
  }
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0) {
    return false;
  }
  /* Timed waits measure against the monotonic clock, immune to clock steps. */
  check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
  int rc = pthread_cond_init(COND(c), &attr);
  check(pthread_condattr_destroy(&attr));
  return rc == 0;
}
void wmiev__cond_destroy(wmiev__cond *c) { check(pthread_cond_destroy(COND(c))); }
void wmiev__cond_wait(wmiev__cond *c, wmiev__mutex *m) {
  check(pthread_cond_wait(COND(c), MUTEX(m)));
}
void wmiev__cond_broadcast(wmiev__cond *c) { check(pthread_cond_broadcast(COND(c))); }
void wmiev__cond_signal(wmiev__cond *c) { check(pthread_cond_signal(COND(c))); }

bool wmiev__cond_timedwait(wmiev__cond *c, wmiev__mutex *m, uint32_t timeout_ms) {
  struct timespec deadline;
  check(clock_gettime(CLOCK_MONOTONIC, &deadline));
  deadline.tv_sec += (time_t)(timeout_ms / 1000u);
  deadline.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  int rc = pthread_cond_timedwait(COND(c), MUTEX(m), &deadline);
  if (rc == ETIMEDOUT_VALUE) {
    return false;
  }
  check(rc);
  return true;
}

uint64_t wmiev__monotonic_ns(void) {
  struct timespec ts;
  check(clock_gettime(CLOCK_MONOTONIC, &ts));
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Seconds from 1601-01-01 to 1970-01-01. */
#define EPOCH_DIFF_SECONDS 11644473600LL

int64_t wmiev__system_time_100ns(void) {
  struct timespec ts;
  check(clock_gettime(CLOCK_REALTIME, &ts));
  return ((int64_t)ts.tv_sec + EPOCH_DIFF_SECONDS) * 10000000LL + (int64_t)(ts.tv_nsec / 100);
}

int64_t wmiev__system_time_100ns_coarse(void) {
#if defined(CLOCK_REALTIME_COARSE)
  struct timespec ts;
  check(clock_gettime(CLOCK_REALTIME_COARSE, &ts));
  return ((int64_t)ts.tv_sec + EPOCH_DIFF_SECONDS) * 10000000LL + (int64_t)(ts.tv_nsec / 100);
#else
  return wmiev__system_time_100ns();
#endif
}

uintptr_t wmiev__thread_self(void) { return (uintptr_t)pthread_self(); }

void wmiev__thread_yield(void) { (void)sched_yield(); }
