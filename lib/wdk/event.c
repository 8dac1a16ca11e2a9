/*
 * KEVENT and KeWaitForSingleObject.
 *
 * A KEVENT has no constructor that can fail and no destructor, so it cannot
 * own a mutex or a condition variable. Its state is Header.SignalState; a
 * waiter sleeps on one of a fixed table of host condition variables picked
 * by hashing the event's address (a "parking lot"). Setting an event takes
 * that bucket's mutex, changes the state and wakes the bucket; the event's
 * memory is not touched after the mutex is released, so a waiter may free
 * (or return from the frame holding) the event as soon as it wakes.
 *
 * Header.Signalling counts KeSetEvent calls (mod 256, under the bucket
 * lock): a notification event set and cleared again before a waiter got to
 * run still releases that waiter, as Windows satisfies waiters at the
 * moment the event is set.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "host_private.h"

#define BUCKETS 64

typedef struct bucket {
  pthread_mutex_t lock;
  pthread_cond_t cond;
} bucket;

static bucket g_buckets[BUCKETS];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_buckets(void) {
  for (size_t i = 0; i < BUCKETS; i++) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&g_buckets[i].lock, NULL);
    pthread_cond_init(&g_buckets[i].cond, &attr);
    pthread_condattr_destroy(&attr);
  }
}

static bucket *bucket_of(const void *object) {
  pthread_once(&g_once, init_buckets);
  uintptr_t a = (uintptr_t)object;
  return &g_buckets[((a >> 4) ^ (a >> 12)) % BUCKETS];
}

static bool is_event(const DISPATCHER_HEADER *h) {
  return h->Type == NotificationEvent || h->Type == SynchronizationEvent;
}

VOID NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State) {
  Event->Header.Type = (UCHAR)Type;
  Event->Header.Signalling = 0; /* the set counter; see the file comment */
  Event->Header.Size = (UCHAR)(sizeof(KEVENT) / sizeof(LONG));
  Event->Header.Reserved1 = 0;
  __atomic_store_n(&Event->Header.SignalState, State ? 1 : 0, __ATOMIC_SEQ_CST);
  InitializeListHead(&Event->Header.WaitListHead);
}

LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait) {
  (void)Increment;
  (void)Wait;
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "KeSetEvent");
  bucket *b = bucket_of(Event);
  pthread_mutex_lock(&b->lock);
  LONG previous = __atomic_exchange_n(&Event->Header.SignalState, 1, __ATOMIC_SEQ_CST);
  Event->Header.Signalling = (UCHAR)(Event->Header.Signalling + 1u);
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
  return previous;
}

VOID NTAPI KeClearEvent(PRKEVENT Event) {
  __atomic_store_n(&Event->Header.SignalState, 0, __ATOMIC_SEQ_CST);
}

LONG NTAPI KeResetEvent(PRKEVENT Event) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "KeResetEvent");
  return __atomic_exchange_n(&Event->Header.SignalState, 0, __ATOMIC_SEQ_CST);
}

LONG NTAPI KeReadStateEvent(PRKEVENT Event) {
  return __atomic_load_n(&Event->Header.SignalState, __ATOMIC_SEQ_CST);
}

/* True if @p event is signalled; satisfying the wait resets a synchronization
 * event, so that one waiter wins. */
static bool consume_signal(PKEVENT event, bool synchronization) {
  if (synchronization) {
    return __atomic_exchange_n(&event->Header.SignalState, 0, __ATOMIC_SEQ_CST) != 0;
  }
  return __atomic_load_n(&event->Header.SignalState, __ATOMIC_SEQ_CST) != 0;
}

static struct timespec deadline_after(uint64_t ns) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t total = (uint64_t)now.tv_nsec + ns % 1000000000u;
  struct timespec t;
  t.tv_sec = now.tv_sec + (time_t)(ns / 1000000000u) + (time_t)(total / 1000000000u);
  t.tv_nsec = (long)(total % 1000000000u);
  return t;
}

/* Converts a WDK timeout (negative: relative 100-ns; positive: absolute system
 * time) to nanoseconds from now; 0 if already due. */
static uint64_t timeout_ns(const LARGE_INTEGER *timeout) {
  int64_t ticks = timeout->QuadPart;
  if (ticks > 0) {
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    ticks = now.QuadPart - ticks; /* negative while the deadline is ahead */
    if (ticks >= 0) {
      return 0;
    }
  }
  uint64_t rel = ticks == INT64_MIN ? (uint64_t)INT64_MAX : (uint64_t)(-ticks);
  if (rel > UINT64_MAX / 100u) {
    return UINT64_MAX;
  }
  return rel * 100u;
}

NTSTATUS NTAPI KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason,
                                     KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                     PLARGE_INTEGER Timeout) {
  (void)WaitReason;
  (void)WaitMode;
  (void)Alertable;
  bool polling = Timeout != NULL && Timeout->QuadPart == 0;
  (void)wmiev__irql_at_most(polling ? DISPATCH_LEVEL : APC_LEVEL, "KeWaitForSingleObject");
  PKEVENT event = Object;
  if (event == NULL || !is_event(&event->Header)) {
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT,
                          "KeWaitForSingleObject(%p): only KEVENTs can be waited for here", Object);
    return STATUS_INVALID_PARAMETER;
  }
  bool synchronization = event->Header.Type == SynchronizationEvent;
  uint64_t ns = Timeout != NULL ? timeout_ns(Timeout) : 0;
  bool forever = Timeout == NULL || ns == UINT64_MAX;
  struct timespec deadline = deadline_after(forever ? 0 : ns);
  bucket *b = bucket_of(event);
  NTSTATUS status = STATUS_SUCCESS;
  pthread_mutex_lock(&b->lock);
  UCHAR generation = event->Header.Signalling;
  for (;;) {
    if (!synchronization && event->Header.Signalling != generation) {
      break; /* set (and cleared again) while we slept */
    }
    if (consume_signal(event, synchronization)) {
      break;
    }
    if (forever) {
      pthread_cond_wait(&b->cond, &b->lock);
    } else if (ns == 0 || pthread_cond_timedwait(&b->cond, &b->lock, &deadline) == ETIMEDOUT) {
      /* One last look: the event may have been set as the time ran out. */
      if (!consume_signal(event, synchronization)) {
        status = STATUS_TIMEOUT;
      }
      break;
    }
  }
  pthread_mutex_unlock(&b->lock);
  return status;
}

NTSTATUS NTAPI KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                      PLARGE_INTEGER Interval) {
  (void)WaitMode;
  (void)Alertable;
  (void)wmiev__irql_at_most(APC_LEVEL, "KeDelayExecutionThread");
  if (Interval == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  uint64_t ns = timeout_ns(Interval);
  struct timespec ts;
  ts.tv_sec = (time_t)(ns / 1000000000u);
  ts.tv_nsec = (long)(ns % 1000000000u);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  return STATUS_SUCCESS;
}
