/*
 * Firing on the real kernel (docs/windows.md, "Firing"):
 *
 *   wmiev_bus_alloc_event / free_event   nonpaged pool, tag "Wiev", nothing in
 *                                         front of the block: on success the
 *                                         kernel frees it with ExFreePool
 *   wmiev_bus_write_event                 IoWMIWriteEvent (spec §5.2)
 *   wmiev_bus_fire_event                  a pool copy of the data + WmiFireEvent (§5.3)
 *
 * IRQL. Each call passes on only where its routine is documented to run:
 * IoWMIWriteEvent at <= APC_LEVEL (any IRQL for TRACED_GUID), WmiFireEvent at
 * <= DISPATCH_LEVEL (§5.7). A non-traced write_event at DISPATCH_LEVEL is
 * deferred: a work item on the provider's device object calls
 * IoWMIWriteEvent at PASSIVE_LEVEL and frees the WNODE if that fails. Above
 * DISPATCH_LEVEL neither pool nor work items can be had; such calls are
 * refused and nothing is passed on.
 *
 * Ownership, as documented for the routine each call forwards to:
 *   - write_event: STATUS_SUCCESS -> the WNODE is no longer the caller's (the
 *     kernel frees it, or the deferred work item does); any failure -> the
 *     caller still owns it. A deferred call returns STATUS_SUCCESS: that is
 *     what IoWMIWriteEvent's success means too ("queued for delivery").
 *   - TRACED_GUID WNODEs are never freed, by anyone here or in the kernel.
 *   - fire_event copies the caller's data into pool and hands the copy to
 *     WmiFireEvent, which frees it. Whether wmilib also frees it when it
 *     fails is not documented (spec §9.9): the backend follows the documented
 *     wording and never touches the copy again, whatever the status. At worst
 *     a failed call leaks one tagged block (visible in pool tools); the other
 *     choice risks a double free. The caller's own data is never taken.
 */
#include "backend.h"

/* One deferred IoWMIWriteEvent. */
typedef struct deferred_write {
  wmiev_bus *bus;
  struct wmiev_provider *provider; /* rundown protection held */
  void *wnode;
} deferred_write;

void *wmiev_bus_alloc_event(wmiev_bus *bus, size_t size) {
  if (bus == NULL || !wmiev__win_irql_ok(DISPATCH_LEVEL)) {
    return NULL;
  }
  /* write_event reads the header's Flags first, as on the portable bus. */
  return wmiev__win_alloc(size < sizeof(WNODE_HEADER) ? sizeof(WNODE_HEADER) : size);
}

void wmiev_bus_free_event(wmiev_bus *bus, void *wnode) {
  (void)bus;
  wmiev__win_free(wnode);
}

static void count_rejected(wmiev_bus *bus) {
  wmiev__win_count(&bus->counters.rejected, 1);
}

/* Stamps TimeStamp as the portable bus does, unless the driver set its own. */
static void stamp(wmiev_bus *bus, PWNODE_HEADER header) {
  if ((header->Flags & WNODE_FLAG_USE_TIMESTAMP) == 0) {
    header->TimeStamp.QuadPart = wmiev_bus_now(bus);
  }
}

/* Work item (PASSIVE_LEVEL, system worker thread). The I/O manager keeps the
 * provider's device object referenced until this returns; the provider
 * itself stays alive until the rundown is released, which is the last touch. */
static VOID NTAPI deferred_write_worker(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem) {
  (void)IoObject;
  deferred_write *d = Context;
  wmiev_bus *bus = d->bus;
  struct wmiev_provider *provider = d->provider;
  NTSTATUS status = IoWMIWriteEvent(d->wnode);
  if (!NT_SUCCESS(status)) {
    /* The caller was told STATUS_SUCCESS, so the WNODE is ours to free. */
    wmiev__win_free(d->wnode);
    count_rejected(bus);
  }
  wmiev__win_count(&bus->counters.queued_now, -1);
  wmiev__win_free(d);
  IoFreeWorkItem(IoWorkItem);
  ExReleaseRundownProtection(&provider->rundown);
}

static void note_queue_peak(wmiev_bus *bus, LONGLONG now) {
  LONGLONG peak = bus->counters.queue_peak;
  while (now > peak) {
    LONGLONG seen = WMIEV__CAS64(&bus->counters.queue_peak, now, peak);
    if (seen == peak) {
      break;
    }
    peak = seen;
  }
}

/* DISPATCH_LEVEL: hands the WNODE to a work item on its provider's device. */
static wmiev_status defer_write(wmiev_bus *bus, void *wnode, ULONG provider_id,
                                wmiev_diag *diag) {
  /* The work item needs a device object; the WNODE names its provider only
   * by id, so it must be one of this driver's wmiev providers. */
  struct wmiev_provider *provider = wmiev__win_provider_acquire_by_id(provider_id);
  if (provider == NULL) {
    count_rejected(bus);
    return wmiev_diag_set(diag, WMIEV_STATUS_DEVICE_DOES_NOT_EXIST, "WnodeHeader.ProviderId",
                          offsetof(WNODE_HEADER, ProviderId),
                          "IoWMIWriteEvent at DISPATCH_LEVEL is deferred to a work item on the "
                          "provider's device, and ProviderId 0x%08x names no wmiev provider",
                          (unsigned)provider_id);
  }
  /* Bounded like the portable bus's queue: over the limit the event is
   * dropped and the caller keeps it (IoWMIWriteEvent: "could not queue"). */
  LONGLONG queued = wmiev__win_add(&bus->counters.queued_now, 1);
  deferred_write *d = NULL;
  PIO_WORKITEM item = NULL;
  if (queued <= (LONGLONG)bus->deferred_capacity) {
    d = wmiev__win_alloc(sizeof *d);
    item = d != NULL ? IoAllocateWorkItem(provider->device.wdm) : NULL;
  }
  if (item == NULL) {
    wmiev__win_count(&bus->counters.queued_now, -1);
    wmiev__win_free(d);
    ExReleaseRundownProtection(&provider->rundown);
    wmiev__win_count(&bus->counters.dropped, 1);
    return wmiev_diag_set(diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "wnode", 0,
                          "IoWMIWriteEvent at DISPATCH_LEVEL: no work item (%s)",
                          queued > (LONGLONG)bus->deferred_capacity ? "deferral queue full"
                                                          : "out of nonpaged pool");
  }
  note_queue_peak(bus, queued);
  d->bus = bus;
  d->provider = provider;
  d->wnode = wnode;
  IoQueueWorkItemEx(item, deferred_write_worker, DelayedWorkQueue, d);
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_bus_write_event(wmiev_bus *bus, void *wnode, wmiev_diag *diag) {
  if (bus == NULL || wnode == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "wnode", 0, "no bus or WNODE");
  }
  wmiev__win_count(&bus->counters.fired, 1);
  PWNODE_HEADER header = wnode;
  if ((header->Flags & WNODE_FLAG_TRACED_GUID) != 0) {
    /* ETW: allowed at any IRQL, never freed (it may be on the caller's
     * stack). Only the kernel knows about loggers: its status is returned. */
    wmiev__win_count(&bus->counters.traced, 1);
    NTSTATUS status = IoWMIWriteEvent(wnode);
    if (!NT_SUCCESS(status)) {
      count_rejected(bus);
      return wmiev__win_fail(diag, status, "IoWMIWriteEvent");
    }
    return status;
  }
  KIRQL irql = KeGetCurrentIrql();
  if (irql > DISPATCH_LEVEL) {
    count_rejected(bus);
    return wmiev_diag_set(diag, WMIEV_WIN_STATUS_BAD_IRQL, "IoWMIWriteEvent", 0,
                          "called at IRQL %u: nothing can be queued above DISPATCH_LEVEL",
                          (unsigned)irql);
  }
  stamp(bus, header);
  if (irql == DISPATCH_LEVEL) {
    return defer_write(bus, wnode, header->ProviderId, diag);
  }
  NTSTATUS status = IoWMIWriteEvent(wnode);
  if (!NT_SUCCESS(status)) {
    count_rejected(bus);
    return wmiev__win_fail(diag, status, "IoWMIWriteEvent");
  }
  return status;
}

wmiev_status wmiev_bus_fire_event(wmiev_bus *bus, wmiev_device *device, const GUID *guid,
                                  uint32_t instance_index, const void *data, uint32_t size,
                                  wmiev_diag *diag) {
  if (bus == NULL || device == NULL || guid == NULL || (size != 0 && data == NULL)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "data", 0,
                          "no bus, device or GUID, or data missing");
  }
  wmiev__win_count(&bus->counters.fired, 1);
  KIRQL irql = KeGetCurrentIrql();
  if (irql > DISPATCH_LEVEL) {
    count_rejected(bus);
    return wmiev_diag_set(diag, WMIEV_WIN_STATUS_BAD_IRQL, "WmiFireEvent", 0,
                          "called at IRQL %u: WmiFireEvent allows DISPATCH_LEVEL at most",
                          (unsigned)irql);
  }
  /* The copy is what WMI takes and frees: the caller keeps its data. */
  void *copy = NULL;
  if (size != 0) {
    copy = ExAllocatePoolWithTag(WMIEV_POOL_TYPE, size, WMIEV_POOL_TAG);
    if (copy == NULL) {
      count_rejected(bus);
      return wmiev_diag_set(diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "data", 0,
                            "no nonpaged pool for a %u-byte event copy", (unsigned)size);
    }
    RtlCopyMemory(copy, data, size);
  }
  /* WmiFireEvent wants the GUID in nonpaged memory as well; the current
   * thread's stack is resident while the call runs, and the GUID is copied
   * into the event before it returns. */
  GUID event_guid = *guid;
  NTSTATUS status = WmiFireEvent(device->wdm, &event_guid, instance_index, size, copy);
  /* From here `copy` is WMI's, success or not (see the top of this file). */
  if (!NT_SUCCESS(status)) {
    count_rejected(bus);
    return wmiev__win_fail(diag, status, "WmiFireEvent");
  }
  return status;
}
