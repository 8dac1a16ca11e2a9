/*
 * What the host's own files in lib/wdk share beyond wdk_internal.h: the
 * private bookkeeping of drivers, devices and IRPs, the host lock, and the
 * hand-offs between the modules (pool report, work queue, IRP quarantine).
 * The WMI routines (wmi_*.c) use wdk_internal.h only.
 *
 * Locking: one host mutex (wmiev__host_lock) guards the driver and device
 * lists, stack links (AttachedDevice / attached_to) and device names. Pool,
 * IRPs, the work queue and events have their own locks. No lock is held
 * while driver code, a hook or the violation sink runs.
 */
#ifndef WMIEV_WDK_HOST_PRIVATE_H
#define WMIEV_WDK_HOST_PRIVATE_H

#include <wmiev/name.h>

#include "wdk_internal.h"

/* ---- Drivers ---------------------------------------------------------------------- */
/* Longest service name wmiev_host_load_driver takes, in UTF-16 units; its
 * UTF-8 form takes at most three bytes per unit. */
#define WMIEV__MAX_SERVICE_NAME 120
#define WMIEV__SERVICE_NAME_UTF8 (3 * WMIEV__MAX_SERVICE_NAME + 1)

typedef struct wmiev__driver_private {
  LIST_ENTRY link; /* host's driver list */
  PDRIVER_OBJECT driver;
  DRIVER_EXTENSION extension;
  UNICODE_STRING registry_path; /* "\Registry\Machine\System\CurrentControlSet\Services\<name>" */
  char name_utf8[WMIEV__SERVICE_NAME_UTF8]; /* service name, for diagnostics */
  bool host_bus_driver;                     /* the host's own bus driver */
  size_t alloc_size; /* of the whole block (driver object + this + strings) */
} wmiev__driver_private;

/** The host's bus driver: created with the host, destroyed at shutdown (driver.c, pnp.c). */
PDRIVER_OBJECT wmiev__driver_create_bus_driver(void);
NTSTATUS wmiev__bus_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);
/** Unlinks and frees a driver object (no DriverUnload, no checks). */
void wmiev__driver_destroy(PDRIVER_OBJECT driver);
/** Shutdown: reports and removes every driver still loaded and every PDO still plugged in. */
void wmiev__driver_force_unload_all(void);

/** The private block of a driver object (NULL for something that is not one). */
wmiev__driver_private *wmiev__driver_private_of(PDRIVER_OBJECT driver);
/** "<service name>" of a driver, for messages ("?" for NULL). */
const char *wmiev__driver_name(PDRIVER_OBJECT driver);

/* ---- Devices ---------------------------------------------------------------------- */
/* DEVICE_OBJECT.DeviceObjectExtension points here (system-private on Windows too). */
struct _DEVOBJ_EXTENSION {
  CSHORT Type; /* IO_TYPE_DEVICE_OBJECT_EXTENSION */
  USHORT Size;
  PDEVICE_OBJECT DeviceObject;
  LIST_ENTRY link;    /* host's device list (live and deleted-but-referenced) */
  volatile LONG refs; /* object references; the creation reference is dropped by delete */
  bool deleted;
  PDEVICE_OBJECT attached_to; /* the device below (referenced), or NULL */
  char *instance_id;          /* PDOs created by the host: device instance id (UTF-8) */
  size_t instance_id_size;
  void *wmi_slot;
  UNICODE_STRING name; /* copy of the device name, or empty */
  POWER_STATE system_power;
  POWER_STATE device_power;
  size_t alloc_size; /* of the device object block */
};

/** Takes/drops a reference on a device object (Ob*ReferenceObject for devices). */
void wmiev__device_reference(PDEVICE_OBJECT device);
void wmiev__device_dereference(PDEVICE_OBJECT device);
/** Creates the PDO of wmiev_host_add_device (owned by the host's bus driver). */
NTSTATUS wmiev__device_create_pdo(PDRIVER_OBJECT bus_driver, const char *instance_id,
                                  PDEVICE_OBJECT *out);
/** Runs the delete hook, then deletes; used by shutdown for leaked devices too. */
void wmiev__device_delete(PDEVICE_OBJECT device, bool report);

/* ---- The host ------------------------------------------------------------------------ */
void wmiev__host_lock(void);
void wmiev__host_unlock(void);
/** The host's driver and device lists (walk them under the host lock). */
PLIST_ENTRY wmiev__host_drivers(void);
PLIST_ENTRY wmiev__host_devices(void);
/** The configured quiet flag. */
bool wmiev__host_quiet(void);
/** The host's bus driver (created with the host). */
PDRIVER_OBJECT wmiev__host_bus_driver(void);
/** Makes sure the host exists (aborts if it cannot be created). */
void wmiev__host_ensure(void);
/** Runs the device-delete hook for @p device, if one is installed. */
void wmiev__host_run_device_delete_hook(PDEVICE_OBJECT device);

/* ---- Verifier ---------------------------------------------------------------------------- */
/** Snapshot of the violation sink, taken under the host's config lock. */
void wmiev__host_violation_sink(void (**fn)(wmiev_host_rule, const char *, void *), void **ctx,
                                bool *quiet);
void wmiev__verifier_reset(void);
/** Core and bus hooks of the host's bus: translated into host rules. */
void wmiev__verifier_on_core_violation(wmiev_violation rule, const char *message, void *ctx);
void wmiev__verifier_on_bus_warning(wmiev_warning warning, const char *message, void *ctx);

/* ---- IRQL ------------------------------------------------------------------------------- */
/** Sets the calling thread's IRQL without checks (worker thread start, host calls). */
void wmiev__irql_set(KIRQL irql);

/* ---- IRPs --------------------------------------------------------------------------------- */
struct wmiev_wdk_irp_private {
  size_t alloc_size;
  bool host_owned;
  volatile int state; /* IRP_ACTIVE, IRP_COMPLETING, IRP_COMPLETED */
  void (*final_fn)(PIRP irp, void *ctx);
  void *final_ctx;
};
/** Sends a fresh host IRP_MJ_PNP IRP of minor @p minor to the top of @p device's
 *  stack at PASSIVE_LEVEL and waits for it; returns its final IoStatus.Status. */
NTSTATUS wmiev__host_send_pnp(PDEVICE_OBJECT device, UCHAR minor);
/** Driver-allocated IRPs not yet freed (leak report). */
size_t wmiev__driver_irps_live(void);
/** Releases the IRP quarantine (shutdown). */
void wmiev__irp_shutdown(void);

/* ---- Pool ---------------------------------------------------------------------------------- */
/** Reports (WMIEV_HOST_RULE_LEAK) the live blocks of @p driver — all live blocks
 *  when @p driver is NULL — grouped by tag; returns how many there were. */
size_t wmiev__pool_report(PDRIVER_OBJECT driver, const char *when);
/** Frees every block, live or quarantined (shutdown). */
void wmiev__pool_shutdown(void);

/* ---- Work items ------------------------------------------------------------------------------ */
/** Waits until no work item is queued or running. Returns true if any ran since the
 *  previous call (progress, for the flush loop). */
bool wmiev__work_wait_idle(void);
/** True on the host's worker thread. */
bool wmiev__work_on_worker(void);
/** Live work items of @p driver's devices (NULL: all). */
size_t wmiev__work_items_live(PDRIVER_OBJECT driver);
/** Stops the worker thread; queued items are dropped and reported. */
void wmiev__work_shutdown(void);

/* ---- Wide strings (rtl.c) ----------------------------------------------------------------- */
/** The units of the NUL-terminated @p s before its NUL, reading at most @p max
 *  units: @p max when it is that long or longer. */
size_t wmiev__wide_len(PCWSTR s, size_t max);
/** A NUL-terminated name of 1 to @p max_units units (a service name, a device
 *  instance id) as NUL-terminated UTF-8 in @p out, and its length in units
 *  in *@p units (if not NULL).
 *  STATUS_INVALID_PARAMETER if it is empty or longer, does not decode, or
 *  does not fit in @p out_size bytes. */
NTSTATUS wmiev__wide_name_to_utf8(PCWSTR s, size_t max_units, char *out, size_t out_size,
                                  size_t *units);

/* ---- DbgPrint
 * ------------------------------------------------------------------------------------ */
/** Formats like DbgPrint (kernel conversions included) into @p out (always NUL-terminated). */
size_t wmiev__dbg_format(char *out, size_t out_size, const char *format, va_list args);

#endif /* WMIEV_WDK_HOST_PRIVATE_H */
