/*
 * Internal interface of the WDK face (lib/wdk): what the WMI routines
 * (lib/wdk/wmi_*.c) and the rest of the face need from the host, the device
 * and IRP plumbing, the pool and the verifier. Not installed; names are
 * wmiev__*. Everything here may be called from any thread unless noted.
 *
 * The face is built as one static library (wmiev_wdk) on the *public* API
 * of wmiev (bus.h, registry.h, wmilib.h, requester.h, ...): nothing here
 * relies on the core's internal symbols, which a shared libwmiev hides.
 */
#ifndef WMIEV_WDK_INTERNAL_H
#define WMIEV_WDK_INTERNAL_H

#include <wmiev/bus.h>
#include <wmiev/host.h>
#include <wmiev/registry.h>

#include "wdm.h"

#if defined(__GNUC__) || defined(__clang__)
#define WMIEV__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define WMIEV__PRINTF(fmt, args)
#endif

/* ==== The host =================================================================
 * One per process, created on first use by any of these accessors (and by
 * every WDK-face routine that needs it), destroyed by wmiev_host_shutdown(). */

/** The host's bus (PUMPED delivery), creating the host on first use. Never NULL
 *  (aborts if the host cannot be created: there is no status to return). */
wmiev_bus *wmiev__host_bus(void);
/** The bus's registry: where the WMI routines create their core devices. */
wmiev_registry *wmiev__host_registry(void);
/** Zeroed memory from the host's allocator (the configured one, or malloc),
 *  for host-side state that must not appear as driver pool; NULL if out of
 *  memory. */
void *wmiev__host_alloc(size_t size);
void wmiev__host_free(void *ptr, size_t size);
/** The configured IRP timeout in ms (never 0). */
uint32_t wmiev__host_irp_timeout_ms(void);

/**
 * A hook the WMI routines install once (it persists across shutdowns; adding
 * the same fn+ctx twice is a no-op): it runs at the start of
 * wmiev_host_shutdown(), before any device is deleted and before the bus is
 * destroyed (close open block objects, drop notification subscriptions, free
 * per-host state). False if the hook table is full or fn is NULL.
 */
bool wmiev__host_add_shutdown_hook(void (*fn)(void *ctx), void *ctx);

/* ==== Verifier ====================================================================== */

/** Reports a violation of @p rule: counts it, formats "<RULE_NAME>: <message>", and
 *  passes it to the configured hook (or stderr). Never holds a host lock while the
 *  hook runs; may be called from anywhere, including under the caller's own locks. */
void wmiev__host_violation(wmiev_host_rule rule, const char *fmt, ...) WMIEV__PRINTF(2, 3);

/** True if the current IRQL is at most @p max; otherwise reports
 *  WMIEV_HOST_RULE_IRQL naming @p routine and returns false (the caller then
 *  carries on or fails, as it sees fit — Windows would have crashed). */
bool wmiev__irql_at_most(KIRQL max, const char *routine);

/* ==== Drivers and devices ============================================================ */

/** The driver whose code the calling thread is running (DriverEntry, AddDevice,
 *  a dispatch or completion routine, a work item, DriverUnload), or NULL.
 *  Pool blocks are attributed to it for the leak report at unload. */
PDRIVER_OBJECT wmiev__current_driver(void);
/** Marks the calling thread as running @p driver's code; returns the previous
 *  value for wmiev__driver_leave(). Use around calls into driver callbacks. */
PDRIVER_OBJECT wmiev__driver_enter(PDRIVER_OBJECT driver);
void wmiev__driver_leave(PDRIVER_OBJECT previous);

/** True if @p device is a live (created, not yet deleted) device object of the host. */
bool wmiev__device_is_live(PDEVICE_OBJECT device);
/** The device instance id (UTF-8) of a PDO created by wmiev_host_add_device(),
 *  or NULL for other device objects. Valid while the PDO lives. */
const char *wmiev__pdo_instance_id(PDEVICE_OBJECT device);
/** A per-device pointer slot for the WMI routines (they keep their core
 *  wmiev_device* there). NULL-initialised; NULL for a non-device. */
void **wmiev__device_wmi_slot(PDEVICE_OBJECT device);
/** Called by IoDeleteDevice (and by shutdown for leaked devices) before the
 *  device object goes away, at PASSIVE_LEVEL, with no host lock held: the
 *  WMI routines deregister and destroy their core device there. One hook. */
void wmiev__set_device_delete_hook(void (*hook)(PDEVICE_OBJECT device));

/* ==== IRPs ============================================================================ */

/** A host-owned IRP with @p stack_size locations (like IoAllocateIrp). It counts
 *  as "in flight" for wmiev_host_flush() until it is freed. IoStatus is zero. */
PIRP wmiev__irp_allocate(CCHAR stack_size);
/**
 * Sets the function IoCompleteRequest calls once every completion routine has
 * run (and none returned STATUS_MORE_PROCESSING_REQUIRED), on the completing
 * thread; the IRP is freed after it returns. Without a hook, a host-owned IRP
 * is simply freed at final completion.
 */
void wmiev__irp_on_final_completion(PIRP irp, void (*fn)(PIRP irp, void *ctx), void *ctx);
/** Frees an IRP from wmiev__irp_allocate() (or IoAllocateIrp). */
void wmiev__irp_free(PIRP irp);
/** Host-owned IRPs allocated and not yet freed. */
size_t wmiev__host_irps_in_flight(void);

/* ==== Pool =============================================================================== */

/** True if @p p is the start of a live pool block; its size in *size. */
bool wmiev__pool_size(const void *p, size_t *size);
/**
 * Marks a live pool block as taken by WMI (IoWMIWriteEvent / WmiFireEvent
 * succeeded): it no longer counts as the driver's, and a later ExFreePool of
 * it is WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN. Its memory is released by the
 * pool itself (after a quarantine that keeps late frees detectable).
 * Returns false if @p p is not a live pool block.
 */
bool wmiev__pool_take(void *p);
/** The tag of a live pool block (0 if not one). */
ULONG wmiev__pool_tag(const void *p);

/* ==== Objects (ObReferenceObject / ObDereferenceObject) =======================================
 * Every host object starts with a CSHORT Type. Device objects are handled by
 * the host; other types are registered here with the function that frees the
 * object when its last reference goes. Such objects start with this header. */

/** The type of the WMI data block objects of IoWMIOpenBlock. */
#define WMIEV__OBJECT_TYPE_WMI_BLOCK ((CSHORT)0x5701)

typedef struct wmiev__object_header {
  CSHORT Type;
  USHORT Size;
  volatile LONG PointerCount; /* starts at 1 (the creator's reference) */
} wmiev__object_header;

/** Initialises a header: Type, Size, one reference. */
void wmiev__object_init(wmiev__object_header *header, CSHORT type, USHORT size);
/** Registers @p release for objects of @p type (persists across shutdowns; one
 *  per type, the last registration wins). Returns false if the table is full. */
bool wmiev__register_object_type(CSHORT type, void (*release)(void *obj));

#endif /* WMIEV_WDK_INTERNAL_H */
