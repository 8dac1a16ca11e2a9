/**
 * @file registry.h
 * @brief The WMI core: devices, provider ids, and the GUID registry built from
 *        real IRP_MN_REGINFO(_EX) answers (spec §3, §5.1).
 *
 * A registry stands in for the kernel's WMI service: devices are created in
 * it, register with wmiev_registration_control() (IoWMIRegistrationControl),
 * and the registry then talks to them only through IRPs. The in-process bus
 * owns one; tests may create one directly.
 *
 * Threading: every function may be called from any thread. No registry lock
 * is held while a dispatch routine or an observer runs.
 *
 * Windows kernel builds: the kernel's WMI service is the registry. Only
 * wmiev_registration_control() and the wmiev_device_* accessors of a
 * provider's device do something there (IoWMIRegistrationControl,
 * IoWMIDeviceObjectToProviderId); creating registries or bare devices,
 * sending IRPs and reading registrations return STATUS_NOT_SUPPORTED, NULL,
 * 0 or zeros (docs/windows.md).
 */
#ifndef WMIEV_REGISTRY_H
#define WMIEV_REGISTRY_H

#include "alloc.h"
#include "diag.h"
#include "irp.h"
#include "reginfo_parse.h"
#include "wnode.h"

WMIEV_BEGIN_DECLS

typedef struct wmiev_registry wmiev_registry;

/** What changed in the registry, for observers (the bus counts enables on these). */
typedef enum wmiev_registry_event_kind {
  WMIEV_BLOCK_ADDED = 1, /**< a device now provides a block */
  WMIEV_BLOCK_CHANGED,   /**< flags, instance count or names of a block changed (UPDATE_GUIDS) */
  WMIEV_BLOCK_REMOVED    /**< a device no longer provides a block */
} wmiev_registry_event_kind;

/** One change, as passed to the observer. */
typedef struct wmiev_registry_event {
  wmiev_registry_event_kind kind;
  GUID guid;
  wmiev_device *device; /**< the provider (still valid during the call) */
  uint32_t provider_id;
  uint32_t flags; /**< the block's WMIREG_FLAG_* after the change (before, for REMOVED) */
} wmiev_registry_event;

/** A rule a driver broke (spec §4.2, SDV rules; the WDK host adds more). */
typedef enum wmiev_violation {
  WMIEV_VIOLATION_NOT_COMPLETED =
      1, /**< dispatch returned without completing, forwarding or pending */
  WMIEV_VIOLATION_COMPLETED_TWICE,        /**< an IRP was completed twice */
  WMIEV_VIOLATION_DEREGISTER_IN_DISPATCH, /**< DEREGISTER from inside the device's own dispatch */
  WMIEV_VIOLATION_BAD_REPLY,      /**< a reply that claims more bytes than the buffer holds, etc. */
  WMIEV_VIOLATION_PENDING_TIMEOUT /**< a pended IRP was not completed within the timeout */
} wmiev_violation;

/** Options of wmiev_registry_create(). Zero-initialise, then set what you need. */
typedef struct wmiev_registry_options {
  const wmiev_allocator *allocator; /**< NULL: wmiev_allocator_default() */
  /** How long a sender waits for a pended IRP, in ms; 0 means 5000. */
  uint32_t irp_timeout_ms;
  /** First REGINFO buffer size; 0 means 256. Small values exercise the growth path. */
  uint32_t reginfo_initial_size;
  /** Called after each change, outside every registry lock. */
  void (*observer)(const wmiev_registry_event *event, void *ctx);
  void *observer_ctx;
  /** Called for each violation, outside every registry lock. */
  void (*on_violation)(wmiev_violation rule, const char *message, void *ctx);
  void *violation_ctx;
  /**
   * Maps the Pdo value of an INSTANCE_PDO block to the PDO's device instance
   * id (UTF-8). NULL: the value must be a wmiev_device* of this registry with
   * an instance id. The WDK face installs one that understands DEVICE_OBJECT.
   */
  wmiev_status (*resolve_pdo)(uintptr_t pdo, const char **instance_id, void *ctx);
  void *resolve_pdo_ctx;
  /**
   * The time wmilib's data replies carry in WnodeHeader.TimeStamp (what
   * KeQuerySystemTime returns), 100-ns units since 1601-01-01. NULL: the
   * library's tick clock. A bus installs its own clock here, so that its
   * events and its providers' replies are stamped from one clock.
   */
  int64_t (*now)(void *ctx);
  void *now_ctx;
} wmiev_registry_options;

/** @brief Creates a registry. @p options may be NULL for defaults. */
WMIEV_EXTERN wmiev_status wmiev_registry_create(const wmiev_registry_options *options,
                                                wmiev_registry **out);

/**
 * @brief Destroys a registry. Every device must have been destroyed first.
 *        If a driver still owns an IRP whose sender timed out, waits up to the
 *        IRP timeout for it; if it is still out, the registry is deliberately
 *        leaked (and a violation reported) so the late completion stays safe.
 */
WMIEV_EXTERN void wmiev_registry_destroy(wmiev_registry *registry);

/* ---- Devices --------------------------------------------------------------- */

/** A device's IRP_MJ_SYSTEM_CONTROL dispatch routine. */
typedef wmiev_status (*wmiev_dispatch_fn)(wmiev_device *device, wmiev_irp *irp, void *payload);

/** Options of wmiev_device_create(). */
typedef struct wmiev_device_options {
  wmiev_dispatch_fn dispatch; /**< NULL: forward every IRP (a device with no WMI code) */
  void *payload;              /**< passed to dispatch */
  wmiev_device *lower;        /**< attach on top of this device (NULL: bottom of a stack) */
  const char *instance_id;    /**< device instance id (PDOs), used for INSTANCE_PDO names */
  const char *name;           /**< for diagnostics */
} wmiev_device_options;

/**
 * @brief Creates a device with a fresh provider id (unique, never zero, never
 *        reused while the registry lives).
 */
WMIEV_EXTERN wmiev_status wmiev_device_create(wmiev_registry *registry,
                                              const wmiev_device_options *options,
                                              wmiev_device **out);

/**
 * @brief Destroys a device. A registered device is deregistered first; a
 *        device with another attached on top of it is refused
 *        (STATUS_INVALID_DEVICE_REQUEST): destroy stacks from the top.
 *        Waits until no WMI IRP to the device is in flight (a pended IRP
 *        counts until it completes or its sender times out). Called from
 *        inside the device's own dispatch it returns STATUS_POSSIBLE_DEADLOCK.
 */
WMIEV_EXTERN wmiev_status wmiev_device_destroy(wmiev_device *device);

/** @brief The 32-bit id that WNODE_HEADER.ProviderId carries (IoWMIDeviceObjectToProviderId). */
WMIEV_EXTERN uint32_t wmiev_device_provider_id(const wmiev_device *device);

/** @brief The pointer-sized value Parameters.WMI.ProviderId carries for this device. */
WMIEV_EXTERN uintptr_t wmiev_device_irp_provider_id(const wmiev_device *device);

/** @brief The device with 32-bit provider id @p id, or NULL. */
WMIEV_EXTERN wmiev_device *wmiev_registry_device_by_provider_id(wmiev_registry *registry,
                                                                uint32_t id);

/** @brief The device a Parameters.WMI.ProviderId value names, or NULL. */
WMIEV_EXTERN wmiev_device *wmiev_registry_device_by_irp_provider_id(wmiev_registry *registry,
                                                                    uintptr_t id);

/** @brief The device's payload, lower device, top of its stack, registry, and name. */
WMIEV_EXTERN void *wmiev_device_payload(const wmiev_device *device);
WMIEV_EXTERN wmiev_device *wmiev_device_lower(const wmiev_device *device);
WMIEV_EXTERN wmiev_device *wmiev_device_top(wmiev_device *device);
WMIEV_EXTERN wmiev_registry *wmiev_device_registry(const wmiev_device *device);
WMIEV_EXTERN const char *wmiev_device_name(const wmiev_device *device);

/**
 * @brief Sends a WMI request to the top of @p device's stack and waits for it
 *        (up to the registry's IRP timeout if it is pended).
 *
 * Parameters.WMI.ProviderId is set to @p device's id; IoStatus starts as
 * STATUS_NOT_SUPPORTED, which is what a stack that does not handle the
 * request completes it with. @p buffer belongs to the caller and must stay
 * valid until the call returns; on a timeout the library keeps its own copy
 * alive for the late completion.
 *
 * @param io_status receives the final status and Information
 * @return the final IRP status, or STATUS_IO_TIMEOUT, or
 *         STATUS_DRIVER_INTERNAL_ERROR when the dispatch routine neither
 *         completed, forwarded nor pended the IRP.
 */
WMIEV_EXTERN wmiev_status wmiev_device_send_wmi_irp(wmiev_device *device, uint8_t minor,
                                                    void *data_path, void *buffer,
                                                    uint32_t buffer_size,
                                                    wmiev_io_status *io_status);

/* ---- Registration (IoWMIRegistrationControl) ------------------------------- */

/**
 * @brief IoWMIRegistrationControl semantics.
 *
 * REGISTER / REREGISTER send IRP_MN_REGINFO_EX with DataPath = WMIREGISTER
 * (falling back to IRP_MN_REGINFO), grow the buffer as the device asks,
 * validate the answer and register its blocks; UPDATE_GUIDS re-queries with
 * WMIUPDATE; DEREGISTER waits for WMI IRPs in flight and removes the blocks;
 * BLOCK_IRPS stops new WMI IRPs (docs/decisions.md). Nothing is registered
 * when the answer is malformed.
 *
 * Windows: IoWMIRegistrationControl(device object, @p action), PASSIVE_LEVEL;
 * its status is returned as is, and WMI does the handshake.
 *
 * @return STATUS_SUCCESS; STATUS_INVALID_PARAMETER for an unknown action (or
 *         REGISTER of a registered device, UPDATE of an unregistered one);
 *         STATUS_POSSIBLE_DEADLOCK for DEREGISTER from the device's own
 *         dispatch; the device's failure status; or the REGINFO parser's.
 */
WMIEV_EXTERN wmiev_status wmiev_registration_control(wmiev_device *device, uint32_t action,
                                                     wmiev_diag *diag);

/* ---- What is registered ---------------------------------------------------- */

/** One registered block of one provider. */
typedef struct wmiev_block_info {
  GUID guid;
  wmiev_device *device;
  uint32_t provider_id;
  uint32_t flags;          /**< WMIREG_FLAG_* */
  uint32_t instance_count; /**< static instances (0 for dynamic names) */
  wmiev_name_source names;
} wmiev_block_info;

/**
 * @brief Snapshot of the providers of @p guid (NULL: of every GUID), in
 *        registration order.
 * @return the number of blocks; at most @p capacity are written to @p out.
 */
WMIEV_EXTERN size_t wmiev_registry_blocks(wmiev_registry *registry, const GUID *guid,
                                          wmiev_block_info *out, size_t capacity);

/**
 * @brief Static instance name @p index of @p guid as provided by @p provider_id,
 *        in UTF-16 units (two-call pattern, like the name codecs).
 * @return STATUS_SUCCESS, STATUS_BUFFER_TOO_SMALL, STATUS_WMI_GUID_NOT_FOUND,
 *         or STATUS_WMI_INSTANCE_NOT_FOUND (dynamic names or index out of range).
 */
WMIEV_EXTERN wmiev_status wmiev_registry_instance_name(wmiev_registry *registry, const GUID *guid,
                                                       uint32_t provider_id, uint32_t index,
                                                       uint16_t *out, size_t out_units,
                                                       size_t *units_needed);

/**
 * @brief Resolves a static instance name (UTF-16 units) of @p guid to the
 *        provider and index that own it.
 * @return STATUS_SUCCESS or STATUS_WMI_INSTANCE_NOT_FOUND.
 */
WMIEV_EXTERN wmiev_status wmiev_registry_find_instance(wmiev_registry *registry, const GUID *guid,
                                                       const uint16_t *name, size_t name_units,
                                                       uint32_t *provider_id, uint32_t *index);

/** Counters of a registry. */
typedef struct wmiev_registry_stats {
  uint64_t irps_sent;
  uint64_t irps_timed_out;
  uint64_t violations;
  uint64_t registrations; /**< successful REGISTER/REREGISTER */
  uint64_t updates;       /**< successful UPDATE_GUIDS */
  uint64_t deregistrations;
  uint64_t rejected_reginfo; /**< REGINFO answers that failed validation */
} wmiev_registry_stats;

/** @brief Copies the registry's counters. */
WMIEV_EXTERN void wmiev_registry_get_stats(wmiev_registry *registry, wmiev_registry_stats *out);

WMIEV_END_DECLS

#endif /* WMIEV_REGISTRY_H */
