/**
 * @file host.h
 * @brief The driver host of the WDK face: loads WDK-style drivers, plays the
 *        PnP manager and the I/O manager for them, and checks the rules that
 *        Driver Verifier and Static Driver Verifier check (part of wmiev::wdk).
 *
 * There is one host per process. It is created on first use (any WDK-face
 * routine, or any function below) and torn down by wmiev_host_shutdown().
 * It owns a bus (bus.h) in WMIEV_DELIVERY_PUMPED mode: the WDK face's WMI
 * routines register providers and fire events on it, kernel-mode consumers
 * (IoWMIOpenBlock + IoWMISetNotificationCallback) and portable-API consumers
 * (wmiev_host_bus() + wmiev_bus_subscribe()) receive them when the bus is
 * pumped — wmiev_host_flush() does that on the calling thread.
 *
 * The host's PnP manager is deliberately small and its IRP sequences are
 * exact, so tests can assert them:
 *  - wmiev_host_add_device(): the host's bus driver creates a PDO; the
 *    driver's AddDevice runs; IRP_MJ_PNP / IRP_MN_START_DEVICE goes to the
 *    top of the stack. If START fails, IRP_MN_REMOVE_DEVICE follows and the
 *    PDO is deleted.
 *  - wmiev_host_remove_device(): IRP_MN_QUERY_REMOVE_DEVICE; if that fails,
 *    IRP_MN_CANCEL_REMOVE_DEVICE and the call returns the failure (the device
 *    stays); otherwise IRP_MN_REMOVE_DEVICE, then the PDO is deleted.
 * Each PnP IRP starts with IoStatus.Status = STATUS_NOT_SUPPORTED, as the
 * PnP manager sends them; the host's bus driver (at the bottom of every
 * stack) completes PnP and power IRPs with STATUS_SUCCESS and every other
 * IRP, WMI ones included, with the status it carries.
 * All of them run on the calling thread at PASSIVE_LEVEL; the calls wait if
 * the driver pends an IRP.
 *
 * Instance names of WMIREG_FLAG_INSTANCE_PDO blocks are
 * "<device instance id>_<index>", the instance id being the one given to
 * wmiev_host_add_device() (e.g. "ROOT\\TOASTER\\0000_0").
 *
 * Threads: the host runs work items (IoQueueWorkItem) on one worker thread
 * of its own. Everything else runs on the threads that call in.
 */
#ifndef WMIEV_HOST_H
#define WMIEV_HOST_H

#include "bus.h"

/* The WDK types (PDRIVER_OBJECT, PCWSTR, ...) need a 16-bit wchar_t
 * (-fshort-wchar, added by wmiev::wdk). A unit compiled without it (a
 * header check, a portable-API consumer) sees the same declarations with
 * the WDK types spelt out: the same types, as C counts them. */
#if defined(__WCHAR_MAX__) && (__WCHAR_MAX__ > 0xffff)
#define WMIEV_HOST_NO_WDK_TYPES_ 1
#endif

#ifndef WMIEV_HOST_NO_WDK_TYPES_
#include "wdk/wdm.h"
#endif

WMIEV_BEGIN_DECLS

#ifdef WMIEV_HOST_NO_WDK_TYPES_
typedef wmiev_status NTSTATUS;
struct _UNICODE_STRING;
typedef struct _DRIVER_OBJECT *PDRIVER_OBJECT;
typedef struct _DEVICE_OBJECT *PDEVICE_OBJECT;
typedef const uint16_t *PCWSTR;
typedef NTSTATUS DRIVER_INITIALIZE(struct _DRIVER_OBJECT *DriverObject,
                                   struct _UNICODE_STRING *RegistryPath);
typedef DRIVER_INITIALIZE *PDRIVER_INITIALIZE;
#endif

/** The rules the host checks. Each violation is counted, reported through the
 *  violation hook (or stderr), and — apart from the warnings — means the driver
 *  would have crashed or misbehaved on Windows. */
typedef enum wmiev_host_rule {
  /** A WMI IRP was handled but neither completed nor forwarded (SDV WmiComplete/WmiForward). */
  WMIEV_HOST_RULE_WMI_NOT_COMPLETED = 1,
  /** A routine was called above its maximum IRQL, or the IRQL was raised/lowered wrongly. */
  WMIEV_HOST_RULE_IRQL,
  /** IoWMIRegistrationControl(DEREGISTER) from inside the device's own WMI dispatch. */
  WMIEV_HOST_RULE_DEREGISTER_IN_DISPATCH,
  /** Warning: an event was fired that WMI had not enabled (nobody listens). */
  WMIEV_HOST_RULE_EVENT_NOT_ENABLED,
  /** Warning: a static-name event for a dynamic-name block, or the reverse. */
  WMIEV_HOST_RULE_EVENT_NAME_MISMATCH,
  /** A pool block was freed twice. */
  WMIEV_HOST_RULE_POOL_DOUBLE_FREE,
  /** A pool block was freed after IoWMIWriteEvent (or WmiFireEvent) took it. */
  WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN,
  /** An IRP was completed twice (or after it was freed). */
  WMIEV_HOST_RULE_IRP_COMPLETED_TWICE,
  /** ExFreePool of memory that is not a pool block, or with the wrong tag. */
  WMIEV_HOST_RULE_POOL_BAD_FREE,
  /** A WMI reply that claims more than its buffer, or a malformed one (core BAD_REPLY). */
  WMIEV_HOST_RULE_WMI_BAD_REPLY,
  /** A pended WMI IRP was not completed within the IRP timeout. */
  WMIEV_HOST_RULE_WMI_PENDING_TIMEOUT,
  /** Warning: another WMI-path mismatch the bus noticed (flags, target GUID, failed enable...). */
  WMIEV_HOST_RULE_WMI_WARNING,
  /** Something was left behind: devices, pool, registrations, IRPs, work items (unload/shutdown).
   */
  WMIEV_HOST_RULE_LEAK,
  /** Spin lock misuse: recursive acquisition, release of a lock not held. */
  WMIEV_HOST_RULE_SPIN_LOCK,
  /** Remove lock misuse: release without acquire, release after the final wait. */
  WMIEV_HOST_RULE_REMOVE_LOCK,
  /** Other IRP misuse: no stack location left, copy to a missing location, freeing an IRP in use.
   */
  WMIEV_HOST_RULE_IRP,
  /** Device object misuse: delete while attached, attach a deleted device, DO_DEVICE_INITIALIZING
     left set. */
  WMIEV_HOST_RULE_DEVICE,
  /** ObDereferenceObject of something that is not a referenced object, or below zero. */
  WMIEV_HOST_RULE_OBJECT,
  /** A failed ASSERT / NT_ASSERT. */
  WMIEV_HOST_RULE_ASSERT,
  /** DbgBreakPoint / KdBreakPoint. */
  WMIEV_HOST_RULE_BREAKPOINT,
  /** Misuse of the host itself (e.g. wmiev_host_flush from a work item). */
  WMIEV_HOST_RULE_HOST,
  WMIEV_HOST_RULE_COUNT_ /**< number of rules + 1 (array sizing) */
} wmiev_host_rule;

/** Options of wmiev_host_configure(). Zero-initialise, then set what you need. */
typedef struct wmiev_host_options {
  const wmiev_allocator *allocator; /**< the host's, the bus's and pool memory; NULL: malloc */
  uint32_t max_event_size;          /**< the bus's (0: 1024) */
  uint32_t queue_capacity;          /**< the bus's (0: its default) */
  uint32_t irp_timeout_ms;          /**< how long WMI waits for a pended IRP (0: 5000) */
  bool strict;                      /**< the bus's strict mode: warnings become rejections */
  wmiev_clock clock; /**< KeQuerySystemTime and event stamps (now NULL: system clock) */
  bool quiet;        /**< DbgPrint/KdPrint print nothing; violations are not printed */
  /**
   * Called for every violation (outside host locks, on the offending thread),
   * with a message that starts with the rule's name. NULL: printed to stderr
   * unless @c quiet.
   */
  void (*on_violation)(wmiev_host_rule rule, const char *message, void *ctx);
  void *violation_ctx;
} wmiev_host_options;

/**
 * @brief Sets the options of the host the next first use creates. Call it
 *        before any other WDK-face call, or after wmiev_host_shutdown(). On a
 *        live host only @c quiet and the violation hook change (at once).
 *        wmiev_host_shutdown() resets the options to the defaults.
 *        @p options NULL restores the defaults.
 */
WMIEV_EXTERN void wmiev_host_configure(const wmiev_host_options *options);

/**
 * @brief Loads a driver: creates its DRIVER_OBJECT ("\Driver\<service_name>")
 *        and calls @p entry with the registry path
 *        "\Registry\Machine\System\CurrentControlSet\Services\<service_name>"
 *        at PASSIVE_LEVEL.
 * @param service_name NUL-terminated UTF-16, 1 to 120 units
 * @param driver receives the driver object (also when @p entry fails: NULL then)
 * @return what @p entry returned; STATUS_INVALID_PARAMETER for NULL arguments
 *         or a service name that is empty or longer than 120 units;
 *         STATUS_OBJECT_NAME_COLLISION if a driver with that name is loaded;
 *         STATUS_INSUFFICIENT_RESOURCES. If @p entry fails the driver object
 *         is deleted again (DriverUnload is not called, as on Windows).
 */
WMIEV_EXTERN NTSTATUS wmiev_host_load_driver(PDRIVER_INITIALIZE entry, PCWSTR service_name,
                                             PDRIVER_OBJECT *driver);

/**
 * @brief Plugs in a device: creates a PDO with device instance id
 *        @p device_instance_id (e.g. L"ROOT\\TOASTER\\0000"), calls the
 *        driver's AddDevice, and starts the stack (see the file comment).
 * @param device_instance_id NUL-terminated UTF-16, 1 to 511 units
 * @param pdo receives the PDO (NULL on failure)
 * @return AddDevice's failure, START's status, or STATUS_INVALID_PARAMETER
 *         (NULL argument, or an instance id empty or longer than 511 units) /
 *         STATUS_INVALID_DEVICE_REQUEST (the driver has no AddDevice) /
 *         STATUS_OBJECT_NAME_COLLISION (instance id in use).
 */
WMIEV_EXTERN NTSTATUS wmiev_host_add_device(PDRIVER_OBJECT driver, PCWSTR device_instance_id,
                                            PDEVICE_OBJECT *pdo);

/**
 * @brief Unplugs a device orderly: QUERY_REMOVE, then REMOVE (or
 *        CANCEL_REMOVE if the query fails), then deletes the PDO. Devices
 *        still attached to the PDO after REMOVE are reported (WMIEV_HOST_RULE_DEVICE).
 * @return STATUS_SUCCESS, or the QUERY_REMOVE failure (device left in place).
 */
WMIEV_EXTERN NTSTATUS wmiev_host_remove_device(PDEVICE_OBJECT pdo);

/**
 * @brief Unloads a driver: calls its DriverUnload at PASSIVE_LEVEL, then
 *        checks that it left nothing behind: device objects, pool blocks it
 *        allocated (listed by tag), WMI registrations of its devices, work
 *        items. Each finding is reported as WMIEV_HOST_RULE_LEAK with a
 *        diagnostic naming it. The driver object is freed either way.
 * @return STATUS_SUCCESS if nothing was left; STATUS_UNSUCCESSFUL if
 *         something was; STATUS_INVALID_DEVICE_REQUEST if the driver has no
 *         DriverUnload (it is then not unloaded, as on Windows).
 */
WMIEV_EXTERN NTSTATUS wmiev_host_unload_driver(PDRIVER_OBJECT driver);

/**
 * @brief Returns when every event fired so far has reached every consumer
 *        callback (the host's bus is drained on the calling thread), every
 *        IRP the host or WMI sent has completed, and every queued work item
 *        has run — repeatedly, until all are quiet at once (a work item may
 *        fire an event, a callback may queue a work item). Must not be called
 *        from a work item or a notification callback (reported, returns).
 */
WMIEV_EXTERN void wmiev_host_flush(void);

/** @brief The host's bus (creating the host if needed): portable-API consumers subscribe here. */
WMIEV_EXTERN wmiev_bus *wmiev_host_bus(void);

/**
 * @brief Tears the host down: remaining drivers are reported and removed
 *        (their devices deleted without DriverUnload), live pool is reported
 *        by tag, the bus is destroyed, the worker thread stops, the options
 *        are reset. The next use creates a fresh host. Violation counts stay
 *        readable until then. Call it with no other thread inside the host.
 */
WMIEV_EXTERN void wmiev_host_shutdown(void);

/** @brief How many times @p rule was violated since the current (or last) host was created. */
WMIEV_EXTERN uint64_t wmiev_host_violation_count(wmiev_host_rule rule);

/** @brief The rule's name, e.g. "IRP_COMPLETED_TWICE"; "UNKNOWN" for other values. */
WMIEV_EXTERN const char *wmiev_host_rule_name(wmiev_host_rule rule);

WMIEV_END_DECLS

#endif /* WMIEV_HOST_H */
