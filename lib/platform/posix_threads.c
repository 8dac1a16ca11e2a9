/* POSIX (and Linux) parts of lib/platform/platform.h about threads as a
 * group: asymmetric fences and a hook at thread exit. */
#define _GNU_SOURCE /* syscall() */
#include "platform.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define WMIEV_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WMIEV_TSAN 1
#endif
#endif

/* 0: not tried yet, 1: available, 2: not available. */
static _Atomic int heavy_fence_state;

bool wmiev__heavy_fence_init(void) {
  int state = atomic_load_explicit(&heavy_fence_state, memory_order_acquire);
  if (state != 0) {
    return state == 1;
  }
  int found = 2;
#if defined(__linux__) && defined(SYS_membarrier) && !defined(WMIEV_TSAN)
  /* Registration is per process and idempotent; the query tells whether the
   * command exists at all (kernels before 4.14 lack it). */
  long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (commands > 0 && (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0 &&
      syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
    found = 1;
  }
#endif
  int expected = 0;
  /* Two threads may race here; both reach the same answer. */
  atomic_compare_exchange_strong(&heavy_fence_state, &expected, found);
  return atomic_load(&heavy_fence_state) == 1;
}

void wmiev__heavy_fence(void) {
#if defined(__linux__) && defined(SYS_membarrier) && !defined(WMIEV_TSAN)
  if (atomic_load_explicit(&heavy_fence_state, memory_order_acquire) == 1) {
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
      return;
    }
    /* Registered and tested at init: failing now means the process is
     * broken beyond what a fence can fix. */
    abort();
  }
#endif
}

/* ---- Thread exit -------------------------------------------------------------------------- */

typedef struct exit_hook {
  void (*fn)(void *arg);
  void *arg;
} exit_hook;

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static bool exit_key_ok;
static _Thread_local exit_hook this_thread_hook;

static void run_exit_hook(void *value) {
  exit_hook *hook = value;
  if (hook != NULL && hook->fn != NULL) {
    hook->fn(hook->arg);
  }
}

static void create_exit_key(void) {
  exit_key_ok = pthread_key_create(&exit_key, run_exit_hook) == 0;
}

bool wmiev__at_thread_exit(void (*fn)(void *arg), void *arg) {
  if (pthread_once(&exit_once, create_exit_key) != 0 || !exit_key_ok) {
    return false;
  }
  this_thread_hook.fn = fn;
  this_thread_hook.arg = arg;
  return pthread_setspecific(exit_key, &this_thread_hook) == 0;
}
