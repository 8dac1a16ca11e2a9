/*
 * Remove locks (IoAcquireRemoveLock & co., the Ex routines the WDK macros
 * expand to). IoCount starts at 1, a bias the final
 * IoReleaseRemoveLockAndWait drops, so the count reaches 0 — and the remove
 * event is signalled — only once that call has been made and every other
 * acquisition released. After it, acquisitions fail with
 * STATUS_DELETE_PENDING. Dbg.Outstanding counts acquisitions for the checks
 * Windows makes in checked builds (releasing more than was acquired).
 */
#include "host_private.h"

#define REMLOCK_SIGNATURE 0x4b4c4d52 /* "RMLK" */

static bool check_lock(PIO_REMOVE_LOCK lock, ULONG size, const char *routine) {
  if (lock == NULL || size != sizeof(IO_REMOVE_LOCK)) {
    wmiev__host_violation(WMIEV_HOST_RULE_REMOVE_LOCK, "%s: bad remove lock %p (size %u)", routine,
                          (void *)lock, (unsigned)size);
    return false;
  }
  if (lock->Dbg.Signature != REMLOCK_SIGNATURE) {
    wmiev__host_violation(WMIEV_HOST_RULE_REMOVE_LOCK,
                          "%s: remove lock %p was not initialised (IoInitializeRemoveLock)",
                          routine, (void *)lock);
    return false;
  }
  return true;
}

VOID NTAPI IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                                    ULONG HighWatermark, ULONG RemlockSize) {
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "IoInitializeRemoveLock");
  if (Lock == NULL || RemlockSize != sizeof(IO_REMOVE_LOCK)) {
    wmiev__host_violation(WMIEV_HOST_RULE_REMOVE_LOCK, "IoInitializeRemoveLock: bad arguments");
    return;
  }
  memset(Lock, 0, sizeof *Lock);
  Lock->Common.Removed = FALSE;
  Lock->Common.IoCount = 1;
  KeInitializeEvent(&Lock->Common.RemoveEvent, SynchronizationEvent, FALSE);
  Lock->Dbg.Signature = REMLOCK_SIGNATURE;
  Lock->Dbg.HighWatermark = HighWatermark;
  Lock->Dbg.MaxLockedTicks = (LONGLONG)MaxLockedMinutes * 60 * 10000000;
  Lock->Dbg.AllocateTag = (LONG)AllocateTag;
}

NTSTATUS NTAPI IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                                     ULONG RemlockSize) {
  (void)Tag;
  (void)File;
  (void)Line;
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoAcquireRemoveLock");
  if (!check_lock(RemoveLock, RemlockSize, "IoAcquireRemoveLock")) {
    return STATUS_INVALID_PARAMETER;
  }
  LONG count = InterlockedIncrement(&RemoveLock->Common.IoCount);
  if (RemoveLock->Dbg.HighWatermark != 0 && (ULONG)count > RemoveLock->Dbg.HighWatermark + 1) {
    wmiev__host_violation(WMIEV_HOST_RULE_REMOVE_LOCK,
                          "IoAcquireRemoveLock: %d acquisitions exceed the high watermark %u",
                          (int)count - 1, (unsigned)RemoveLock->Dbg.HighWatermark);
  }
  if (__atomic_load_n(&RemoveLock->Common.Removed, __ATOMIC_SEQ_CST)) {
    if (InterlockedDecrement(&RemoveLock->Common.IoCount) == 0) {
      KeSetEvent(&RemoveLock->Common.RemoveEvent, IO_NO_INCREMENT, FALSE);
    }
    return STATUS_DELETE_PENDING;
  }
  InterlockedIncrement(&RemoveLock->Dbg.Outstanding);
  return STATUS_SUCCESS;
}

VOID NTAPI IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize) {
  (void)Tag;
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoReleaseRemoveLock");
  if (!check_lock(RemoveLock, RemlockSize, "IoReleaseRemoveLock")) {
    return;
  }
  if (InterlockedDecrement(&RemoveLock->Dbg.Outstanding) < 0) {
    InterlockedIncrement(&RemoveLock->Dbg.Outstanding);
    wmiev__host_violation(WMIEV_HOST_RULE_REMOVE_LOCK,
                          "IoReleaseRemoveLock without a matching IoAcquireRemoveLock");
    return;
  }
  if (InterlockedDecrement(&RemoveLock->Common.IoCount) == 0) {
    KeSetEvent(&RemoveLock->Common.RemoveEvent, IO_NO_INCREMENT, FALSE);
  }
}

VOID NTAPI IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize) {
  (void)Tag;
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "IoReleaseRemoveLockAndWait");
  if (!check_lock(RemoveLock, RemlockSize, "IoReleaseRemoveLockAndWait")) {
    return;
  }
  if (__atomic_exchange_n(&RemoveLock->Common.Removed, TRUE, __ATOMIC_SEQ_CST)) {
    wmiev__host_violation(WMIEV_HOST_RULE_REMOVE_LOCK,
                          "IoReleaseRemoveLockAndWait called twice on the same remove lock");
    return;
  }
  if (InterlockedDecrement(&RemoveLock->Dbg.Outstanding) < 0) {
    InterlockedIncrement(&RemoveLock->Dbg.Outstanding);
    wmiev__host_violation(WMIEV_HOST_RULE_REMOVE_LOCK,
                          "IoReleaseRemoveLockAndWait without first acquiring the lock");
  } else {
    (void)InterlockedDecrement(&RemoveLock->Common.IoCount); /* the caller's acquisition */
  }
  /* The initial bias; whoever brings the count to zero signals. */
  if (InterlockedDecrement(&RemoveLock->Common.IoCount) > 0) {
    (void)KeWaitForSingleObject(&RemoveLock->Common.RemoveEvent, Executive, KernelMode, FALSE,
                                NULL);
  }
}
