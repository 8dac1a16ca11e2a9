/*
 * Firing events: IoWMIWriteEvent and WmiFireEvent (spec §5.2, §5.3, §6),
 * on the host bus's fire path (decisions D11 for what it accepts).
 *
 * Ownership is what the documentation says, made checkable with the host's
 * pool bookkeeping:
 *  - IoWMIWriteEvent takes the WNODE on success only. The WNODE must be a
 *    live pool block (WMI frees it with ExFreePool); its bytes are copied
 *    into bus event memory, and on success the pool block is marked taken,
 *    so that the driver freeing it afterwards is POOL_FREE_AFTER_TAKEN. On
 *    failure the driver still owns it. TRACED_GUID WNODEs belong to the
 *    caller whatever happens (they may be on its stack).
 *  - WmiFireEvent always takes EventData, success or failure (the documented
 *    wording; docs/decisions.md): a driver that frees it after a failed
 *    call is told so by the same rule.
 * The bus's warnings (fired while not enabled, name mismatches) reach the
 * host verifier through the hook the host installs on its bus.
 */
#include "wmi_internal.h"

NTSTATUS NTAPI IoWMIWriteEvent(PVOID WnodeEventItem) {
  if (WnodeEventItem == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  /* Flags decide whether the WNODE must be pool. A pool block shorter than a
   * header has none to read: it is no TRACED_GUID event, and the validator
   * rejects it below. */
  size_t size = 0;
  bool pool = wmiev__pool_size(WnodeEventItem, &size);
  ULONG flags = 0;
  if (!pool || size >= sizeof(WNODE_HEADER)) {
    memcpy(&flags, (const UCHAR *)WnodeEventItem + offsetof(WNODE_HEADER, Flags), sizeof flags);
  }
  wmiev_bus *bus = wmiev__host_bus();
  if ((flags & WNODE_FLAG_TRACED_GUID) != 0) {
    /* For an ETW logger (the host has none): any IRQL, any memory, never
     * freed and never taken; the bus counts it. */
    return wmiev_bus_write_event(bus, WnodeEventItem, NULL);
  }
  (void)wmiev__irql_at_most(APC_LEVEL, "IoWMIWriteEvent");
  if (!pool) {
    wmiev__host_violation(WMIEV_HOST_RULE_POOL_BAD_FREE,
                          "IoWMIWriteEvent: WNODE %p is not a live pool block; WMI frees the "
                          "event with ExFreePool once it is queued, so it must come from "
                          "nonpaged pool (only TRACED_GUID events may live elsewhere)",
                          WnodeEventItem);
    return STATUS_INVALID_PARAMETER;
  }
  /* The pool block's size bounds what the bus reads, whatever BufferSize claims. */
  void *copy = wmiev_bus_alloc_event(bus, size);
  if (copy == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  memcpy(copy, WnodeEventItem, size);
  NTSTATUS status = wmiev_bus_write_event(bus, copy, NULL);
  if (!NT_SUCCESS(status)) {
    wmiev_bus_free_event(bus, copy);
    return status;
  }
  (void)wmiev__pool_take(WnodeEventItem);
  return STATUS_SUCCESS;
}

NTSTATUS NTAPI WmiFireEvent(PDEVICE_OBJECT DeviceObject, LPCGUID Guid, ULONG InstanceIndex,
                            ULONG EventDataSize, PVOID EventData) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "WmiFireEvent");
  bool pool = false;
  bool fits = true; /* EventDataSize within the block: never read past it */
  if (EventData != NULL) {
    size_t size = 0;
    pool = wmiev__pool_size(EventData, &size);
    if (!pool) {
      wmiev__host_violation(WMIEV_HOST_RULE_POOL_BAD_FREE,
                            "WmiFireEvent: EventData %p is not a live pool block; WMI frees it "
                            "with ExFreePool, so it must come from nonpaged pool",
                            EventData);
      return STATUS_INVALID_PARAMETER;
    }
    fits = size >= EventDataSize;
  }
  NTSTATUS status = STATUS_INVALID_PARAMETER;
  if (DeviceObject != NULL && Guid != NULL && fits && (EventData != NULL || EventDataSize == 0)) {
    wmiev_device *core = wmiev__wmi_core_device(DeviceObject, true);
    status = core == NULL ? STATUS_INVALID_PARAMETER
                          : wmiev_bus_fire_event(wmiev__host_bus(), core, Guid, InstanceIndex,
                                                 EventData, EventDataSize, NULL);
  }
  if (pool) {
    /* The bus copied the data (or refused it): WMI's now, whatever the outcome. */
    (void)wmiev__pool_take(EventData);
  }
  return status;
}
