/*
 * What the WMI routines of the WDK face (lib/wdk/wmi_*.c) share. Files:
 *   wmi_device.c        the core device behind each registered DEVICE_OBJECT
 *   wmi_irp.c           core WMI IRPs turned into WDK IRPs and back (the trampoline)
 *   wmi_registration.c  IoWMIRegistrationControl, provider ids, instance names and ids
 *   wmi_wmilib.c        WmiSystemControl, WmiCompleteRequest on the core's wmilib logic
 *   wmi_events.c        IoWMIWriteEvent, WmiFireEvent
 *   wmi_block.c         IoWMIOpenBlock objects and notification callbacks
 *   wmi_query.c         the kernel consumer's queries, sets and methods
 *
 * Everything is built on the public API of wmiev (registry, wmilib, bus,
 * requester) and on the host's internal interface (wdk_internal.h); the one
 * core-internal call is the IRP completer (../core/irp_completer.h), which
 * lets a WDK IRP's IoCompleteRequest be what completes the core IRP.
 *
 * Locks (pthread mutexes) are leaves: none is held while driver code, a core
 * or bus call, or a host hook runs.
 */
#ifndef WMIEV_WDK_WMI_INTERNAL_H
#define WMIEV_WDK_WMI_INTERNAL_H

#include <wmiev/bus.h>
#include <wmiev/registry.h>
#include <wmiev/requester.h>
#include <wmiev/wmilib.h>

#include "wdk_internal.h"
#include "wmilib.h"

/* ---- wmi_device.c ------------------------------------------------------------------ */

/**
 * The core device standing for @p device in the host's registry, created on
 * first use when @p create is true (IoWMIRegistrationControl,
 * IoWMIDeviceObjectToProviderId). NULL if @p device is not a live device
 * object, or out of memory, or (with @p create false) it has none yet. Its
 * dispatch routine is wmiev__wmi_dispatch().
 */
wmiev_device *wmiev__wmi_core_device(PDEVICE_OBJECT device, bool create);
/** The DEVICE_OBJECT a core device of ours stands for. */
PDEVICE_OBJECT wmiev__wmi_device_object(const wmiev_device *core);
/** Records whether the device is registered (for the leak report at deletion). */
void wmiev__wmi_set_registered(wmiev_device *core, bool registered);

/* ---- wmi_irp.c ------------------------------------------------------------------------ */

/** The core dispatch routine of our devices: runs a core WMI IRP through the WDK stack. */
wmiev_status wmiev__wmi_dispatch(wmiev_device *core, wmiev_irp *irp, void *payload);

/** The pairing of a WDK IRP with the core IRP it carries (while it is out). */
typedef struct wmiev__wmi_link wmiev__wmi_link;
/** The link of @p irp, referenced; NULL if WMI did not send it (or it completed). */
wmiev__wmi_link *wmiev__wmi_link_find(PIRP irp);
void wmiev__wmi_link_release(wmiev__wmi_link *link);
wmiev_irp *wmiev__wmi_link_core_irp(const wmiev__wmi_link *link);
wmiev_device *wmiev__wmi_link_core_device(const wmiev__wmi_link *link);
/** The PriorityBoost the coming IoCompleteRequest passes on (WmiCompleteRequest's). */
void wmiev__wmi_link_set_boost(wmiev__wmi_link *link, CCHAR boost);

/* ---- wmi_block.c ---------------------------------------------------------------------- */

/** An IoWMIOpenBlock object, checked: NULL (and a verifier report naming
 *  @p routine) if @p object is not a live one. */
typedef struct wmiev__wmi_block wmiev__wmi_block;
wmiev__wmi_block *wmiev__wmi_block_get(PVOID object, const char *routine);
/** True if the block was opened with every bit of @p access. */
bool wmiev__wmi_block_allows(const wmiev__wmi_block *block, ULONG access);
const GUID *wmiev__wmi_block_guid(const wmiev__wmi_block *block);

/* ---- wmi_registration.c --------------------------------------------------------------- */

/**
 * The buffer of a name WMI hands to its caller (IoWMISuggestInstanceName,
 * IoWMIDeviceObjectToInstanceName), who frees it with ExFreePool: paged pool
 * for @p units units and a NUL, which callers printing it with %ws expect.
 * NULL with *@p status STATUS_INVALID_PARAMETER when the name and its NUL do
 * not fit a UNICODE_STRING, or STATUS_INSUFFICIENT_RESOURCES.
 */
uint16_t *wmiev__wmi_name_alloc(size_t units, NTSTATUS *status);
/** Ends @p buffer (from wmiev__wmi_name_alloc(@p capacity)) with a NUL after
 *  @p units <= @p capacity units and points @p out at it. */
void wmiev__wmi_name_give(PUNICODE_STRING out, uint16_t *buffer, size_t units, size_t capacity);

/* ---- Shared helpers ------------------------------------------------------------------- */

/** A UNICODE_STRING's units as the core takes them (UTF-16, no NUL needed). */
static inline const uint16_t *wmiev__wmi_units(PCUNICODE_STRING s) {
  return (const uint16_t *)(const void *)s->Buffer;
}

#endif /* WMIEV_WDK_WMI_INTERNAL_H */
