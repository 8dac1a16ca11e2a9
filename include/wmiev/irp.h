/**
 * @file irp.h
 * @brief WMI IRPs as a provider's dispatch routine sees them (spec §4).
 *
 * An IRP is allocated by its sender (the registry, a requester, a test),
 * travels down a device stack through dispatch routines, and ends when one of
 * them completes it. A dispatch routine must do exactly one of:
 *  - complete it: wmiev_irp_complete() (or wmiev_wmilib_complete_request());
 *  - forward it: return wmiev_irp_forward(device, irp);
 *  - pend it: wmiev_irp_mark_pending(), return WMIEV_STATUS_PENDING, and
 *    complete it later from any thread.
 * The buffer of an IRP sent by the library is 8-byte aligned; an IRP built
 * by hand (internal == NULL) for a minor that carries a WNODE must have an
 * 8-aligned buffer too.
 * Returning anything else without completing breaks the Static Driver
 * Verifier rules WmiComplete/WmiForward; the sender then gets
 * WMIEV_STATUS_DRIVER_INTERNAL_ERROR and the registry records a violation.
 */
#ifndef WMIEV_IRP_H
#define WMIEV_IRP_H

#include "status.h"
#include "wmi_codes.h"

WMIEV_BEGIN_DECLS

typedef struct wmiev_device wmiev_device;

/** Parameters.WMI of the IRP's stack location. */
typedef struct wmiev_irp_wmi_params {
  uintptr_t ProviderId; /**< identifies the device that must answer (wmiev_device_irp_provider_id) */
  void *DataPath;       /**< GUID of the block; WMIREGISTER / WMIUPDATE for REGINFO(_EX) */
  uint32_t BufferSize;  /**< bytes at Buffer (the maximum output size) */
  void *Buffer;         /**< in/out WNODE or WMIREGINFO buffer, owned by the sender */
} wmiev_irp_wmi_params;

/** The I/O status block. */
typedef struct wmiev_io_status {
  wmiev_status Status;
  uintptr_t Information; /**< bytes returned (or needed, for a too-small REGINFO) */
} wmiev_io_status;

/** Opaque bookkeeping of an IRP (completion, pending, wmilib scratch). */
typedef struct wmiev__irp_state wmiev__irp_state;

/** A WMI IRP. Fields are read and written by dispatch routines as in WDM. */
typedef struct wmiev_irp {
  uint8_t MajorFunction;           /**< IRP_MJ_SYSTEM_CONTROL */
  uint8_t MinorFunction;           /**< IRP_MN_* */
  wmiev_irp_wmi_params Wmi;        /**< Parameters.WMI */
  wmiev_io_status IoStatus;        /**< set before completion */
  wmiev__irp_state *internal;      /**< library-private; do not touch */
} wmiev_irp;

/**
 * @brief Completes @p irp with @p status and @p information.
 *
 * Completing twice is a verifier violation: the second call is ignored,
 * recorded, and returns WMIEV_STATUS_INVALID_DEVICE_REQUEST.
 * @return @p status (so a dispatch routine can `return wmiev_irp_complete(...)`).
 */
WMIEV_EXTERN wmiev_status wmiev_irp_complete(wmiev_irp *irp, wmiev_status status,
                                             uintptr_t information);

/**
 * @brief Passes @p irp to the device below @p device (IoSkipCurrentIrpStackLocation +
 *        IoCallDriver). With no device below, the IRP is completed with the
 *        status it carries, as the lowest driver of a stack does.
 * @return the lower dispatch routine's return value.
 */
WMIEV_EXTERN wmiev_status wmiev_irp_forward(wmiev_device *device, wmiev_irp *irp);

/** @brief Marks @p irp pending (IoMarkIrpPending); the dispatch routine then returns PENDING. */
WMIEV_EXTERN void wmiev_irp_mark_pending(wmiev_irp *irp);

/**
 * @brief True once the IRP has been completed — or, for an IRP that travels a
 *        WDK-face device stack, once its completion has begun (it then runs
 *        the upper drivers' completion routines through IoCompleteRequest).
 */
WMIEV_EXTERN bool wmiev_irp_is_completed(const wmiev_irp *irp);

WMIEV_END_DECLS

#endif /* WMIEV_IRP_H */
