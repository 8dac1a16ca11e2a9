/*
 * IRPs and their stack locations: allocation, IoCallDriver, IoCompleteRequest
 * and the stack-location helpers, with Windows' discipline:
 *
 *  - Locations are numbered 1..StackCount; a fresh IRP has CurrentLocation =
 *    StackCount + 1 and IoGetNextIrpStackLocation() is the location of the
 *    driver it is sent to. IoCallDriver moves one location down,
 *    IoSkipCurrentIrpStackLocation one up (so the next driver reuses it).
 *  - IoCompleteRequest walks back up: at each location it notes
 *    SL_PENDING_RETURNED into PendingReturned, moves up one, and calls the
 *    completion routine stored there (set by the driver above with
 *    IoSetCompletionRoutine) with that driver's device object, if its
 *    SL_INVOKE_ON_* flags match; STATUS_MORE_PROCESSING_REQUIRED stops the
 *    walk and hands the IRP back to that driver (it may complete it again).
 *    Where no routine runs, pending is propagated to the location above.
 *  - Final completion: host-owned IRPs call their final-completion hook and
 *    are freed; IRPs from IoAllocateIrp belong to their allocator.
 *
 * Memory layout of one IRP: [IRP][guard][location 1 .. StackCount][guard][private].
 * The two guard locations absorb the classic off-by-one bugs (a next location
 * of the last driver, a current location of an undispatched IRP) that are
 * reported, so they never corrupt the IRP itself. Freed IRPs stay in a small
 * quarantine, so completing or freeing one again is reported, not a crash.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "host_private.h"

enum { IRP_ACTIVE = 0, IRP_COMPLETING = 1, IRP_COMPLETED = 2 };

#define IRP_FREED_TYPE ((CSHORT)0x7ee5) /* Type of a freed IRP (in quarantine) */
#define QUARANTINE 64

static pthread_mutex_t g_irp_lock = PTHREAD_MUTEX_INITIALIZER;
static PIRP g_quarantine[QUARANTINE];
static size_t g_quarantine_next;
static size_t g_host_irps;   /* host-owned IRPs not yet freed */
static size_t g_driver_irps; /* IoAllocateIrp IRPs not yet freed */

static size_t irp_bytes(CCHAR stack_size, size_t *priv_offset) {
  size_t locations = (size_t)(unsigned char)stack_size + 2u; /* + two guards */
  size_t offset = sizeof(IRP) + locations * sizeof(IO_STACK_LOCATION);
  offset = (offset + 15u) & ~(size_t)15u;
  *priv_offset = offset;
  return offset + sizeof(struct wmiev_wdk_irp_private);
}

static PIO_STACK_LOCATION first_location(PIRP irp) {
  /* Location 1 follows the leading guard. */
  return (PIO_STACK_LOCATION)(void *)((unsigned char *)irp + sizeof(IRP)) + 1;
}

static void init_irp(PIRP irp, CCHAR stack_size, NTSTATUS status) {
  struct wmiev_wdk_irp_private *priv = irp->WmievPrivate;
  size_t span = ((size_t)(unsigned char)stack_size + 2u) * sizeof(IO_STACK_LOCATION);
  memset((unsigned char *)irp + sizeof(IRP), 0, span);
  PVOID keep_private = irp->WmievPrivate;
  memset(irp, 0, sizeof *irp);
  irp->WmievPrivate = keep_private;
  irp->Type = IO_TYPE_IRP;
  irp->Size = (USHORT)(sizeof(IRP) + (size_t)(unsigned char)stack_size * sizeof(IO_STACK_LOCATION));
  irp->StackCount = stack_size;
  irp->CurrentLocation = (CHAR)(stack_size + 1);
  irp->Tail.Overlay.CurrentStackLocation = first_location(irp) + (unsigned char)stack_size;
  irp->IoStatus.Status = status;
  InitializeListHead(&irp->ThreadListEntry);
  __atomic_store_n(&priv->state, IRP_ACTIVE, __ATOMIC_SEQ_CST);
}

static PIRP allocate(CCHAR stack_size, bool host_owned) {
  if (stack_size <= 0) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP, "IRP with a stack size of %d", (int)stack_size);
    return NULL;
  }
  size_t priv_offset = 0;
  size_t total = irp_bytes(stack_size, &priv_offset);
  unsigned char *block = wmiev__host_alloc(total);
  if (block == NULL) {
    return NULL;
  }
  PIRP irp = (PIRP)(void *)block;
  struct wmiev_wdk_irp_private *priv =
      (struct wmiev_wdk_irp_private *)(void *)(block + priv_offset);
  priv->alloc_size = total;
  priv->host_owned = host_owned;
  irp->WmievPrivate = priv;
  init_irp(irp, stack_size, STATUS_SUCCESS);
  pthread_mutex_lock(&g_irp_lock);
  if (host_owned) {
    g_host_irps++;
  } else {
    g_driver_irps++;
  }
  pthread_mutex_unlock(&g_irp_lock);
  return irp;
}

PIRP wmiev__irp_allocate(CCHAR stack_size) { return allocate(stack_size, true); }

PIRP NTAPI IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota) {
  (void)ChargeQuota;
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoAllocateIrp");
  return allocate(StackSize, false);
}

/* True if @p irp looks like a live IRP; reports otherwise. */
static bool check_irp(PIRP irp, const char *routine) {
  if (irp == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP, "%s(NULL)", routine);
    return false;
  }
  if (irp->Type == IRP_FREED_TYPE) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP, "%s on an IRP that was already freed", routine);
    return false;
  }
  if (irp->Type != IO_TYPE_IRP || irp->WmievPrivate == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP, "%s(%p): not an IRP", routine, (void *)irp);
    return false;
  }
  return true;
}

static void free_irp(PIRP irp) {
  struct wmiev_wdk_irp_private *priv = irp->WmievPrivate;
  PIRP evicted = NULL;
  pthread_mutex_lock(&g_irp_lock);
  if (priv->host_owned) {
    g_host_irps--;
  } else {
    g_driver_irps--;
  }
  irp->Type = IRP_FREED_TYPE;
  evicted = g_quarantine[g_quarantine_next];
  g_quarantine[g_quarantine_next] = irp;
  g_quarantine_next = (g_quarantine_next + 1) % QUARANTINE;
  pthread_mutex_unlock(&g_irp_lock);
  if (evicted != NULL) {
    wmiev__host_free(evicted, evicted->WmievPrivate->alloc_size);
  }
}

void wmiev__irp_free(PIRP irp) {
  if (check_irp(irp, "wmiev__irp_free")) {
    free_irp(irp);
  }
}

VOID NTAPI IoFreeIrp(PIRP Irp) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoFreeIrp");
  if (!check_irp(Irp, "IoFreeIrp")) {
    return;
  }
  if (Irp->CurrentLocation <= Irp->StackCount) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "IoFreeIrp of an IRP that a lower driver still owns (location %d of %d)",
                          (int)Irp->CurrentLocation, (int)Irp->StackCount);
  }
  free_irp(Irp);
}

void wmiev__irp_shutdown(void) {
  pthread_mutex_lock(&g_irp_lock);
  PIRP list[QUARANTINE];
  memcpy(list, g_quarantine, sizeof list);
  memset(g_quarantine, 0, sizeof g_quarantine);
  g_quarantine_next = 0;
  g_host_irps = 0;
  g_driver_irps = 0;
  pthread_mutex_unlock(&g_irp_lock);
  for (size_t i = 0; i < QUARANTINE; i++) {
    if (list[i] != NULL) {
      wmiev__host_free(list[i], list[i]->WmievPrivate->alloc_size);
    }
  }
}

size_t wmiev__host_irps_in_flight(void) {
  pthread_mutex_lock(&g_irp_lock);
  size_t n = g_host_irps;
  pthread_mutex_unlock(&g_irp_lock);
  return n;
}

size_t wmiev__driver_irps_live(void) {
  pthread_mutex_lock(&g_irp_lock);
  size_t n = g_driver_irps;
  pthread_mutex_unlock(&g_irp_lock);
  return n;
}

VOID NTAPI IoReuseIrp(PIRP Irp, NTSTATUS Iostatus) {
  if (!check_irp(Irp, "IoReuseIrp")) {
    return;
  }
  init_irp(Irp, Irp->StackCount, Iostatus);
}

void wmiev__irp_on_final_completion(PIRP irp, void (*fn)(PIRP irp, void *ctx), void *ctx) {
  if (check_irp(irp, "wmiev__irp_on_final_completion")) {
    irp->WmievPrivate->final_fn = fn;
    irp->WmievPrivate->final_ctx = ctx;
  }
}

/* ---- Stack locations ---------------------------------------------------------------------- */

PIO_STACK_LOCATION NTAPI IoGetCurrentIrpStackLocation(PIRP Irp) {
  if (Irp->CurrentLocation > Irp->StackCount) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "IoGetCurrentIrpStackLocation of an IRP that has no current location "
                          "(not sent yet, or skipped past its driver's location)");
  }
  return Irp->Tail.Overlay.CurrentStackLocation;
}

PIO_STACK_LOCATION NTAPI IoGetNextIrpStackLocation(PIRP Irp) {
  if (Irp->CurrentLocation <= 1) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "IoGetNextIrpStackLocation at the last location: there is no driver "
                          "below (StackSize too small?)");
  }
  return Irp->Tail.Overlay.CurrentStackLocation - 1;
}

VOID NTAPI IoSkipCurrentIrpStackLocation(PIRP Irp) {
  if (Irp->CurrentLocation > Irp->StackCount) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "IoSkipCurrentIrpStackLocation without a current location");
    return;
  }
  Irp->CurrentLocation++;
  Irp->Tail.Overlay.CurrentStackLocation++;
}

VOID NTAPI IoSetNextIrpStackLocation(PIRP Irp) {
  if (Irp->CurrentLocation <= 1) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP, "IoSetNextIrpStackLocation at the last location");
    return;
  }
  Irp->CurrentLocation--;
  Irp->Tail.Overlay.CurrentStackLocation--;
}

VOID NTAPI IoCopyCurrentIrpStackLocationToNext(PIRP Irp) {
  if (Irp->CurrentLocation <= 1 || Irp->CurrentLocation > Irp->StackCount) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "IoCopyCurrentIrpStackLocationToNext: location %d of %d has no next "
                          "location to copy to",
                          (int)Irp->CurrentLocation, (int)Irp->StackCount);
    return;
  }
  PIO_STACK_LOCATION current = Irp->Tail.Overlay.CurrentStackLocation;
  PIO_STACK_LOCATION next = current - 1;
  memcpy(next, current, offsetof(IO_STACK_LOCATION, CompletionRoutine));
  next->Control = 0;
}

VOID NTAPI IoSetCompletionRoutine(PIRP Irp, PIO_COMPLETION_ROUTINE CompletionRoutine, PVOID Context,
                                  BOOLEAN InvokeOnSuccess, BOOLEAN InvokeOnError,
                                  BOOLEAN InvokeOnCancel) {
  if (Irp->CurrentLocation <= 1) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "IoSetCompletionRoutine at the last location: no next location");
    return;
  }
  PIO_STACK_LOCATION next = Irp->Tail.Overlay.CurrentStackLocation - 1;
  next->CompletionRoutine = CompletionRoutine;
  next->Context = Context;
  next->Control = 0;
  if (InvokeOnSuccess) {
    next->Control |= SL_INVOKE_ON_SUCCESS;
  }
  if (InvokeOnError) {
    next->Control |= SL_INVOKE_ON_ERROR;
  }
  if (InvokeOnCancel) {
    next->Control |= SL_INVOKE_ON_CANCEL;
  }
}

VOID NTAPI IoMarkIrpPending(PIRP Irp) {
  if (Irp->CurrentLocation > Irp->StackCount) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP, "IoMarkIrpPending without a current location");
    return;
  }
  Irp->Tail.Overlay.CurrentStackLocation->Control |= SL_PENDING_RETURNED;
}

/* ---- IoCallDriver ---------------------------------------------------------------------------- */

NTSTATUS NTAPI IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoCallDriver");
  if (!check_irp(Irp, "IoCallDriver")) {
    return STATUS_INVALID_PARAMETER;
  }
  if (DeviceObject == NULL || DeviceObject->Type != IO_TYPE_DEVICE ||
      DeviceObject->DriverObject == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_DEVICE, "IoCallDriver(%p): not a device object",
                          (void *)DeviceObject);
    return STATUS_INVALID_PARAMETER;
  }
  if (Irp->CurrentLocation <= 1) {
    /* NO_MORE_IRP_STACK_LOCATIONS on Windows. */
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "IoCallDriver to a device of driver %s: no stack location left "
                          "(IRP StackCount %d too small for the stack)",
                          wmiev__driver_name(DeviceObject->DriverObject), (int)Irp->StackCount);
    return STATUS_INVALID_PARAMETER;
  }
  Irp->CurrentLocation--;
  PIO_STACK_LOCATION stack = --Irp->Tail.Overlay.CurrentStackLocation;
  stack->DeviceObject = DeviceObject;
  UCHAR major = stack->MajorFunction;
  if (major > IRP_MJ_MAXIMUM_FUNCTION) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP, "IoCallDriver with major function 0x%02x",
                          (unsigned)major);
    Irp->CurrentLocation++;
    Irp->Tail.Overlay.CurrentStackLocation++;
    return STATUS_INVALID_PARAMETER;
  }
  PDRIVER_OBJECT driver = DeviceObject->DriverObject;
  PDRIVER_DISPATCH dispatch = driver->MajorFunction[major];
  KIRQL before = KeGetCurrentIrql();
  PDRIVER_OBJECT previous = wmiev__driver_enter(driver);
  NTSTATUS status = dispatch(DeviceObject, Irp);
  wmiev__driver_leave(previous);
  KIRQL after = KeGetCurrentIrql();
  if (after != before) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRQL,
                          "dispatch routine 0x%02x of driver %s returned at IRQL %u, entered "
                          "at %u",
                          (unsigned)major, wmiev__driver_name(driver), (unsigned)after,
                          (unsigned)before);
    wmiev__irql_set(before);
  }
  return status;
}

/* ---- IoCompleteRequest ------------------------------------------------------------------------
 */

static bool should_invoke(UCHAR control, NTSTATUS status, BOOLEAN cancel) {
  if (cancel && (control & SL_INVOKE_ON_CANCEL) != 0) {
    return true;
  }
  if (NT_SUCCESS(status)) {
    return (control & SL_INVOKE_ON_SUCCESS) != 0;
  }
  return (control & SL_INVOKE_ON_ERROR) != 0;
}

VOID NTAPI IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost) {
  (void)PriorityBoost;
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoCompleteRequest");
  if (Irp != NULL && Irp->Type == IRP_FREED_TYPE) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE,
                          "IoCompleteRequest on an IRP that was already completed and freed "
                          "(driver %s)",
                          wmiev__driver_name(wmiev__current_driver()));
    return;
  }
  if (!check_irp(Irp, "IoCompleteRequest")) {
    return;
  }
  struct wmiev_wdk_irp_private *priv = Irp->WmievPrivate;
  if (Irp->CurrentLocation > Irp->StackCount) {
    /* Completed all the way up already (its originator got it back with
     * STATUS_MORE_PROCESSING_REQUIRED): no driver owns a location of it. */
    wmiev__host_violation(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE,
                          "IoCompleteRequest on an IRP that has already been completed to its "
                          "originator (driver %s)",
                          wmiev__driver_name(wmiev__current_driver()));
    return;
  }
  int expected = IRP_ACTIVE;
  if (!__atomic_compare_exchange_n(&priv->state, &expected, IRP_COMPLETING, false, __ATOMIC_SEQ_CST,
                                   __ATOMIC_SEQ_CST)) {
    /* MULTIPLE_IRP_COMPLETE_REQUESTS on Windows. */
    wmiev__host_violation(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE,
                          "IoCompleteRequest on an IRP that is already %s (driver %s)",
                          expected == IRP_COMPLETING ? "being completed" : "completed",
                          wmiev__driver_name(wmiev__current_driver()));
    return;
  }
  if (Irp->IoStatus.Status == STATUS_PENDING) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "IoCompleteRequest with IoStatus.Status == STATUS_PENDING (driver %s)",
                          wmiev__driver_name(wmiev__current_driver()));
  }
  while (Irp->CurrentLocation <= Irp->StackCount) {
    PIO_STACK_LOCATION stack = Irp->Tail.Overlay.CurrentStackLocation;
    Irp->PendingReturned = (BOOLEAN)((stack->Control & SL_PENDING_RETURNED) != 0);
    PIO_COMPLETION_ROUTINE routine = stack->CompletionRoutine;
    PVOID context = stack->Context;
    UCHAR control = stack->Control;
    stack->CompletionRoutine = NULL;
    stack->Context = NULL;
    stack->Control = 0;
    Irp->CurrentLocation++;
    Irp->Tail.Overlay.CurrentStackLocation++;
    if (routine != NULL && should_invoke(control, Irp->IoStatus.Status, Irp->Cancel)) {
      PDEVICE_OBJECT device = Irp->CurrentLocation <= Irp->StackCount
                                  ? Irp->Tail.Overlay.CurrentStackLocation->DeviceObject
                                  : NULL;
      /* The IRP belongs to that driver again while its routine runs. */
      __atomic_store_n(&priv->state, IRP_ACTIVE, __ATOMIC_SEQ_CST);
      PDRIVER_OBJECT previous = wmiev__driver_enter(device != NULL ? device->DriverObject : NULL);
      NTSTATUS status = routine(device, Irp, context);
      wmiev__driver_leave(previous);
      if (status == STATUS_MORE_PROCESSING_REQUIRED) {
        return; /* the driver keeps it: it may already be freed */
      }
      expected = IRP_ACTIVE;
      if (!__atomic_compare_exchange_n(&priv->state, &expected, IRP_COMPLETING, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        wmiev__host_violation(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE,
                              "a completion routine completed its IRP again but did not "
                              "return STATUS_MORE_PROCESSING_REQUIRED");
        return;
      }
    } else if (Irp->PendingReturned && Irp->CurrentLocation <= Irp->StackCount) {
      Irp->Tail.Overlay.CurrentStackLocation->Control |= SL_PENDING_RETURNED;
    }
  }
  __atomic_store_n(&priv->state, IRP_COMPLETED, __ATOMIC_SEQ_CST);
  if (priv->final_fn != NULL) {
    priv->final_fn(Irp, priv->final_ctx);
    free_irp(Irp);
  } else if (priv->host_owned) {
    free_irp(Irp);
  } else {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "an IRP from IoAllocateIrp was completed all the way up: the "
                          "allocating driver's completion routine must return "
                          "STATUS_MORE_PROCESSING_REQUIRED and free it");
  }
}

/* ---- IoForwardIrpSynchronously -----------------------------------------------------------------
 */

static NTSTATUS forward_done(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  (void)DeviceObject;
  (void)Irp;
  KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

BOOLEAN NTAPI IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "IoForwardIrpSynchronously");
  if (!check_irp(Irp, "IoForwardIrpSynchronously") || Irp->CurrentLocation <= 1) {
    return FALSE;
  }
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  IoCopyCurrentIrpStackLocationToNext(Irp);
  IoSetCompletionRoutine(Irp, forward_done, &event, TRUE, TRUE, TRUE);
  NTSTATUS status = IoCallDriver(DeviceObject, Irp);
  if (status == STATUS_PENDING) {
    (void)KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
  }
  return TRUE;
}

/* ---- Cancellation ------------------------------------------------------------------------------
 */

static KSPIN_LOCK g_cancel_lock;

PDRIVER_CANCEL NTAPI IoSetCancelRoutine(PIRP Irp, PDRIVER_CANCEL CancelRoutine) {
  return __atomic_exchange_n(&Irp->CancelRoutine, CancelRoutine, __ATOMIC_SEQ_CST);
}

VOID NTAPI IoAcquireCancelSpinLock(PKIRQL Irql) { KeAcquireSpinLock(&g_cancel_lock, Irql); }

VOID NTAPI IoReleaseCancelSpinLock(KIRQL Irql) { KeReleaseSpinLock(&g_cancel_lock, Irql); }

BOOLEAN NTAPI IoCancelIrp(PIRP Irp) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoCancelIrp");
  if (!check_irp(Irp, "IoCancelIrp")) {
    return FALSE;
  }
  KIRQL irql;
  IoAcquireCancelSpinLock(&irql);
  Irp->Cancel = TRUE;
  PDRIVER_CANCEL routine = IoSetCancelRoutine(Irp, NULL);
  if (routine == NULL) {
    IoReleaseCancelSpinLock(irql);
    return FALSE;
  }
  Irp->CancelIrql = irql;
  PDEVICE_OBJECT device = Irp->CurrentLocation <= Irp->StackCount
                              ? Irp->Tail.Overlay.CurrentStackLocation->DeviceObject
                              : NULL;
  /* The routine releases the cancel spin lock (IoReleaseCancelSpinLock(Irp->CancelIrql)). */
  routine(device, Irp);
  return TRUE;
}
