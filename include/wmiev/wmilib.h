/**
 * @file wmilib.h
 * @brief The WMI library logic (WmiSystemControl / WmiCompleteRequest
 *        semantics, spec §3.5, §4.4, §4.5) for portable providers.
 *
 * A provider describes its blocks with a GUID list and callbacks;
 * wmiev_wmilib_system_control() decodes a WMI IRP for it, answers REGINFO
 * itself, checks GUID and instance, and calls the matching callback. A
 * callback answers with wmiev_wmilib_complete_request(), which builds the
 * reply WNODE exactly (or a WNODE_TOO_SMALL) and completes the IRP; it may
 * instead return WMIEV_STATUS_PENDING and complete later from any thread.
 * The WDK face's WmiSystemControl runs this same code.
 */
#ifndef WMIEV_WMILIB_H
#define WMIEV_WMILIB_H

#include "registry.h"

WMIEV_BEGIN_DECLS

/** One block a provider serves (WMIGUIDREGINFO). */
typedef struct wmiev_guid_reg {
  const GUID *guid;        /**< must stay valid while the provider is registered */
  uint32_t instance_count; /**< static instances */
  uint32_t flags;          /**< INSTANCE_PDO, EVENT_ONLY_GUID, EXPENSIVE, REMOVE_GUID, ... */
} wmiev_guid_reg;

/** What a function-control request controls (WMIENABLEDISABLECONTROL). */
typedef enum wmiev_function_control {
  WMIEV_EVENT_CONTROL = 0,     /**< WmiEventControl: ENABLE/DISABLE_EVENTS */
  WMIEV_DATA_BLOCK_CONTROL = 1 /**< WmiDataBlockControl: ENABLE/DISABLE_COLLECTION */
} wmiev_function_control;

/** How wmiev_wmilib_system_control() left the IRP (SYSCTL_IRP_DISPOSITION). */
typedef enum wmiev_irp_disposition {
  WMIEV_IRP_PROCESSED = 0,     /**< a callback ran; it completed the IRP or will */
  WMIEV_IRP_NOT_COMPLETED = 1, /**< status set (error, default, or REGINFO): caller completes */
  WMIEV_IRP_NOT_WMI = 2,       /**< not a WMI minor code: handle or forward */
  WMIEV_IRP_FORWARD = 3        /**< for another device: forward */
} wmiev_irp_disposition;

/** What the reginfo callback returns (DpWmiQueryReginfo's out parameters). */
typedef struct wmiev_reginfo_answer {
  uint32_t reg_flags;            /**< OR-ed into every block: INSTANCE_BASENAME or INSTANCE_PDO, ... */
  const uint16_t *base_name;     /**< INSTANCE_BASENAME: the base name (copied) */
  size_t base_name_units;
  /** The driver's registry path (copied; may be NULL). Windows: NULL answers WMI with
   *  the service key, "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\ServiceName". */
  const uint16_t *registry_path;
  size_t registry_path_units;
  const uint16_t *mof_resource;  /**< MOF resource name (copied; may be NULL) */
  size_t mof_resource_units;
  /** INSTANCE_PDO: the PDO (a wmiev_device* in the portable API; Windows: its PDEVICE_OBJECT). */
  uintptr_t pdo;
} wmiev_reginfo_answer;

/**
 * Callbacks, each given the provider's payload. Only query_reginfo and
 * query_data_block are required; the defaults of the missing ones are those
 * of WMILIB_CONTEXT (READ_ONLY for sets, INVALID_DEVICE_REQUEST for methods,
 * SUCCESS for function control).
 */
typedef struct wmiev_wmilib_callbacks {
  /** Fills @p answer. Must not pend or complete the IRP. */
  wmiev_status (*query_reginfo)(wmiev_device *device, wmiev_reginfo_answer *answer, void *payload);
  /**
   * Writes @p instance_count instances starting at @p instance_index into
   * @p buffer (each 8-byte aligned, lengths into @p instance_lengths), then
   * completes with wmiev_wmilib_complete_request(..., bytes used). With
   * @p buffer_avail too small it completes with STATUS_BUFFER_TOO_SMALL and
   * the bytes needed, counted from @p buffer (wmilib adds the header and
   * length array). @p instance_lengths is NULL exactly when not even the
   * length array fits; @p buffer_avail may be 0 with lengths present.
   */
  wmiev_status (*query_data_block)(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                   uint32_t instance_index, uint32_t instance_count,
                                   uint32_t *instance_lengths, uint32_t buffer_avail,
                                   uint8_t *buffer, void *payload);
  wmiev_status (*set_data_block)(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                 uint32_t instance_index, uint32_t buffer_size,
                                 const uint8_t *buffer, void *payload);
  wmiev_status (*set_data_item)(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                uint32_t instance_index, uint32_t item_id, uint32_t buffer_size,
                                const uint8_t *buffer, void *payload);
  /** Input at @p buffer (@p in_size bytes); output goes to the same place (at most @p out_size). */
  wmiev_status (*execute_method)(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                 uint32_t instance_index, uint32_t method_id, uint32_t in_size,
                                 uint32_t out_size, uint8_t *buffer, void *payload);
  wmiev_status (*function_control)(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                   wmiev_function_control function, bool enable, void *payload);
} wmiev_wmilib_callbacks;

/** WMILIB_CONTEXT: the GUID list and the callbacks. */
typedef struct wmiev_wmilib_context {
  uint32_t guid_count;
  const wmiev_guid_reg *guid_list; /**< may be filled late, inside query_reginfo */
  wmiev_wmilib_callbacks callbacks;
  void *payload;
} wmiev_wmilib_context;

/**
 * @brief WmiSystemControl: decodes @p irp for @p context and @p device.
 * @param disposition always written
 * @return the status the IRP was set to, or the callback's return value
 */
WMIEV_EXTERN wmiev_status wmiev_wmilib_system_control(const wmiev_wmilib_context *context,
                                                      wmiev_device *device, wmiev_irp *irp,
                                                      wmiev_irp_disposition *disposition);

/**
 * @brief WmiCompleteRequest: packages the reply for the IRP's minor code and
 *        completes it. @p buffer_used is the bytes written, or the bytes
 *        needed when @p status is STATUS_BUFFER_TOO_SMALL; the latter becomes
 *        a WNODE_TOO_SMALL reply completed with STATUS_SUCCESS when the
 *        buffer holds one (56 bytes), else STATUS_BUFFER_TOO_SMALL.
 * A reply that claims more bytes than the buffer holds, lengths past
 * @p buffer_used, or a "too small" that asks for no more than the buffer
 * has, is completed with STATUS_INVALID_BUFFER_SIZE and recorded as a
 * WMIEV_VIOLATION_BAD_REPLY.
 * Windows: WmiCompleteRequest (IRQL <= DISPATCH_LEVEL), which packages the
 * reply itself; the wmiev_irp a callback was given ends here.
 * @return the status the IRP was completed with (STATUS_SUCCESS for a
 *         WNODE_TOO_SMALL reply), or STATUS_INVALID_DEVICE_REQUEST if the IRP
 *         was already completed.
 */
WMIEV_EXTERN wmiev_status wmiev_wmilib_complete_request(wmiev_device *device, wmiev_irp *irp,
                                                        wmiev_status status,
                                                        uint32_t buffer_used);

/* ---- A portable provider: a device whose dispatch runs the wmilib logic ---- */

typedef struct wmiev_provider wmiev_provider;

/** Options of wmiev_provider_create(). */
typedef struct wmiev_provider_options {
  wmiev_wmilib_context context; /**< GUID list, callbacks, payload (copied) */
  wmiev_device *lower;          /**< device below (NULL: bottom of a stack) */
  const char *instance_id;      /**< device instance id, if this device is a PDO */
  const char *name;             /**< for diagnostics */
  /**
   * Windows kernel builds: the driver's PDEVICE_OBJECT (its FDO or filter
   * device object, created in AddDevice), required. The provider registers
   * that device object with WMI and runs for it in
   * wmiev_provider_system_control(); @c lower and @c instance_id are not
   * used there (the driver attached the device itself).
   * Other builds: ignored, must be NULL (the provider creates its own
   * wmiev_device in the registry).
   */
  void *wdm_device;
} wmiev_provider_options;

/**
 * @brief Creates a device whose dispatch routine runs
 *        wmiev_wmilib_system_control() and acts on the disposition
 *        (completes NOT_COMPLETED, forwards FORWARD and NOT_WMI).
 *        It is not registered yet: call wmiev_registration_control().
 *
 * Windows: binds the provider to options->wdm_device and generates its
 * WMILIB_CONTEXT (the GUID list as is; DpWmiXxx trampolines that call the
 * portable callbacks, with a wmiev_device standing for the device object
 * and a wmiev_irp for each IRP). One provider per device object. The
 * driver's IRP_MJ_SYSTEM_CONTROL dispatch calls
 * wmiev_provider_system_control(). IRQL <= DISPATCH_LEVEL.
 */
WMIEV_EXTERN wmiev_status wmiev_provider_create(wmiev_registry *registry,
                                                const wmiev_provider_options *options,
                                                wmiev_provider **out);

/**
 * @brief Deregisters (if registered) and destroys the provider and its device.
 *        Windows: IoWMIRegistrationControl(DEREGISTER) if registered, then
 *        waits for IoWMIWriteEvent calls deferred to work items; the device
 *        object is the driver's own and stays. PASSIVE_LEVEL, never from the
 *        IRP_MJ_SYSTEM_CONTROL dispatch (DEREGISTER waits for WMI IRPs).
 */
WMIEV_EXTERN wmiev_status wmiev_provider_destroy(wmiev_provider *provider);

/** @brief The provider's device. */
WMIEV_EXTERN wmiev_device *wmiev_provider_device(const wmiev_provider *provider);

/**
 * @brief The IRP_MJ_SYSTEM_CONTROL step of a driver whose WMI blocks are a
 *        portable provider (Windows kernel builds).
 *
 * The driver's DispatchSystemControl routine calls it with the PIRP and
 * returns what it returns. It runs WmiSystemControl with a WMILIB_CONTEXT
 * generated from the provider's GUID list, whose DpWmiXxx callbacks call the
 * portable callbacks, and then acts on the disposition: IrpProcessed (a
 * callback completed or pended the IRP) returns its status; IrpNotCompleted
 * completes the IRP with IoCompleteRequest; IrpForward and IrpNotWmi
 * forward it to the device below the provider's device object
 * (IoSkipCurrentIrpStackLocation + IoCallDriver) or, with none below,
 * complete it with the status it carries. IRQL: PASSIVE_LEVEL (WmiSystemControl).
 *
 * Other builds: a provider's device dispatches by itself, and this returns
 * WMIEV_STATUS_NOT_SUPPORTED without touching @p irp.
 *
 * @param irp the PIRP the dispatch routine received
 * @return the NTSTATUS to return from the dispatch routine
 */
WMIEV_EXTERN wmiev_status wmiev_provider_system_control(wmiev_provider *provider, void *irp);

/**
 * @brief Replaces the GUID list (before an UPDATE_GUIDS or REREGISTER).
 *
 * Like a WMILIB_CONTEXT, the list is not synchronised: call this from the
 * query_reginfo callback or while no WMI IRP can reach the provider.
 */
WMIEV_EXTERN void wmiev_provider_set_guid_list(wmiev_provider *provider,
                                               const wmiev_guid_reg *guid_list,
                                               uint32_t guid_count);

WMIEV_END_DECLS

#endif /* WMIEV_WMILIB_H */
