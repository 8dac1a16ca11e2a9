/*
 * Spin locks and fast mutexes.
 *
 * A KSPIN_LOCK is a real lock on its own word: 0 when free, the owning
 * thread's token when held, taken with an atomic compare-exchange. Acquiring
 * raises the emulated IRQL to DISPATCH_LEVEL and releasing restores it, so
 * everything called while a spin lock is held is checked against
 * DISPATCH_LEVEL. Threads here can be preempted while "at DISPATCH_LEVEL"
 * (there is no real IRQL), so waiters yield instead of burning a CPU.
 * Acquiring a lock the thread already holds would deadlock on Windows; it is
 * reported and the call returns instead.
 *
 * A FAST_MUTEX is a synchronization event used as a binary semaphore, held
 * at APC_LEVEL as on Windows.
 */
#define _POSIX_C_SOURCE 200809L
#include <sched.h>

#include "host_private.h"

static _Thread_local char t_token_anchor;

static KSPIN_LOCK my_token(void) { return (KSPIN_LOCK)(uintptr_t)&t_token_anchor; }

VOID NTAPI KeInitializeSpinLock(PKSPIN_LOCK SpinLock) {
  __atomic_store_n(SpinLock, (KSPIN_LOCK)0, __ATOMIC_RELEASE);
}

/* Takes the lock word; false (reported) if this thread holds it already. */
static bool take(PKSPIN_LOCK lock, const char *routine) {
  KSPIN_LOCK me = my_token();
  unsigned spins = 0;
  for (;;) {
    KSPIN_LOCK expected = 0;
    if (__atomic_compare_exchange_n(lock, &expected, me, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      return true;
    }
    if (expected == me) {
      wmiev__host_violation(WMIEV_HOST_RULE_SPIN_LOCK,
                            "%s: the spin lock at %p is already held by this thread (deadlock "
                            "on Windows)",
                            routine, (void *)lock);
      return false;
    }
    if (++spins > 64) {
      sched_yield();
    }
  }
}

static void give(PKSPIN_LOCK lock, const char *routine) {
  KSPIN_LOCK holder = __atomic_load_n(lock, __ATOMIC_RELAXED);
  if (holder != my_token()) {
    wmiev__host_violation(WMIEV_HOST_RULE_SPIN_LOCK, "%s: the spin lock at %p is %s", routine,
                          (void *)lock, holder == 0 ? "not held" : "held by another thread");
    if (holder == 0) {
      return;
    }
  }
  __atomic_store_n(lock, (KSPIN_LOCK)0, __ATOMIC_RELEASE);
}

VOID NTAPI KeAcquireSpinLock(PKSPIN_LOCK SpinLock, PKIRQL OldIrql) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "KeAcquireSpinLock");
  KIRQL old = KeGetCurrentIrql();
  if (take(SpinLock, "KeAcquireSpinLock") && old < DISPATCH_LEVEL) {
    wmiev__irql_set(DISPATCH_LEVEL);
  }
  if (OldIrql != NULL) {
    *OldIrql = old;
  }
}

KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock) {
  KIRQL old;
  KeAcquireSpinLock(SpinLock, &old);
  return old;
}

VOID NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql) {
  give(SpinLock, "KeReleaseSpinLock");
  KeLowerIrql(NewIrql);
}

VOID NTAPI KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
  if (KeGetCurrentIrql() < DISPATCH_LEVEL) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRQL,
                          "KeAcquireSpinLockAtDpcLevel called at IRQL %u: it requires "
                          "DISPATCH_LEVEL (use KeAcquireSpinLock)",
                          (unsigned)KeGetCurrentIrql());
  }
  (void)take(SpinLock, "KeAcquireSpinLockAtDpcLevel");
}

VOID NTAPI KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock) {
  give(SpinLock, "KeReleaseSpinLockFromDpcLevel");
}

BOOLEAN NTAPI KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock) {
  KSPIN_LOCK expected = 0;
  return __atomic_compare_exchange_n(SpinLock, &expected, my_token(), false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)
             ? TRUE
             : FALSE;
}

BOOLEAN NTAPI KeTestSpinLock(PKSPIN_LOCK SpinLock) {
  return __atomic_load_n(SpinLock, __ATOMIC_RELAXED) == 0 ? TRUE : FALSE;
}

VOID NTAPI KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle) {
  LockHandle->LockQueue.Next = NULL;
  LockHandle->LockQueue.Lock = SpinLock;
  KeAcquireSpinLock(SpinLock, &LockHandle->OldIrql);
}

VOID NTAPI KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle) {
  KeReleaseSpinLock(LockHandle->LockQueue.Lock, LockHandle->OldIrql);
}

/* ---- Fast mutexes ------------------------------------------------------------------------- */

VOID NTAPI ExInitializeFastMutex(PFAST_MUTEX FastMutex) {
  FastMutex->Count = 1;
  FastMutex->Owner = NULL;
  FastMutex->Contention = 0;
  FastMutex->OldIrql = 0;
  KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, TRUE);
}

static void owned(PFAST_MUTEX FastMutex, KIRQL old) {
  __atomic_store_n(&FastMutex->Owner, (PVOID)&t_token_anchor, __ATOMIC_RELAXED);
  __atomic_store_n(&FastMutex->Count, 0, __ATOMIC_RELAXED);
  FastMutex->OldIrql = old;
}

VOID NTAPI ExAcquireFastMutex(PFAST_MUTEX FastMutex) {
  (void)wmiev__irql_at_most(APC_LEVEL, "ExAcquireFastMutex");
  if (__atomic_load_n(&FastMutex->Owner, __ATOMIC_RELAXED) == (PVOID)&t_token_anchor) {
    wmiev__host_violation(WMIEV_HOST_RULE_SPIN_LOCK,
                          "ExAcquireFastMutex: the fast mutex at %p is already held by this "
                          "thread (deadlock on Windows)",
                          (void *)FastMutex);
    return;
  }
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  if (KeReadStateEvent(&FastMutex->Event) == 0) {
    __atomic_add_fetch(&FastMutex->Contention, 1, __ATOMIC_RELAXED);
  }
  (void)KeWaitForSingleObject(&FastMutex->Event, Executive, KernelMode, FALSE, NULL);
  owned(FastMutex, old);
}

BOOLEAN NTAPI ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex) {
  (void)wmiev__irql_at_most(APC_LEVEL, "ExTryToAcquireFastMutex");
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  if (KeWaitForSingleObject(&FastMutex->Event, Executive, KernelMode, FALSE, &zero) !=
      STATUS_SUCCESS) {
    KeLowerIrql(old);
    return FALSE;
  }
  owned(FastMutex, old);
  return TRUE;
}

VOID NTAPI ExReleaseFastMutex(PFAST_MUTEX FastMutex) {
  if (__atomic_load_n(&FastMutex->Owner, __ATOMIC_RELAXED) != (PVOID)&t_token_anchor) {
    wmiev__host_violation(WMIEV_HOST_RULE_SPIN_LOCK,
                          "ExReleaseFastMutex: the fast mutex at %p is not held by this thread",
                          (void *)FastMutex);
    return;
  }
  KIRQL old = (KIRQL)FastMutex->OldIrql;
  __atomic_store_n(&FastMutex->Owner, NULL, __ATOMIC_RELAXED);
  __atomic_store_n(&FastMutex->Count, 1, __ATOMIC_RELAXED);
  KeSetEvent(&FastMutex->Event, IO_NO_INCREMENT, FALSE);
  KeLowerIrql(old);
}
