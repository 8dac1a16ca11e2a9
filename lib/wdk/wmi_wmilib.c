/*
 * The WMI library (wmilib.lib): WmiSystemControl and WmiCompleteRequest
 * (spec §3.5, §4.4, §4.5), run by the core's wmilib logic, the same code
 * that serves portable providers, so the two faces cannot drift apart.
 *
 * WmiSystemControl finds the core IRP behind the WDK IRP (wmi_irp.c),
 * builds a core wmilib context on the fly whose callbacks call the
 * WMILIB_CONTEXT's DpWmiXxx routines with (DeviceObject, Irp, ...), and
 * returns the core's disposition, which has the same four values. The GUID
 * list is converted per call and again right after DpWmiQueryReginfo, which
 * may fill GuidCount/GuidList in late: the core reads its context's list
 * after that callback, and the context it reads is our mutable copy.
 *
 * WmiCompleteRequest hands the reply to the core's complete_request, which
 * packages the WNODE in the IRP's buffer (shared with the WDK IRP) and
 * completes the core IRP; the completer installed by the dispatch routine
 * turns that into IoCompleteRequest of the WDK IRP with PriorityBoost.
 */
#include "wmi_internal.h"

/* GUID lists up to this size are converted on the stack. */
#define LOCAL_GUIDS 16u

/* One WmiSystemControl call: what the core's callbacks need to reach the driver's. */
typedef struct wmilib_call {
  PWMILIB_CONTEXT info;
  PDEVICE_OBJECT device;
  PIRP irp;
  wmiev_wmilib_context core; /* what the core reads; guid_list points at one of the two below */
  wmiev_guid_reg local[LOCAL_GUIDS];
  wmiev_guid_reg *heap;
  size_t heap_count;
  UNICODE_STRING instance_name; /* DpWmiQueryReginfo's base name: WMI frees it */
} wmilib_call;

/* (Re)reads the driver's GUID list into the core's form. */
static NTSTATUS convert_guids(wmilib_call *c) {
  ULONG count = c->info->GuidCount;
  PWMIGUIDREGINFO list = c->info->GuidList;
  c->core.guid_count = count;
  c->core.guid_list = NULL;
  if (count == 0 || list == NULL) {
    /* A count without a list: the core answers GUID_NOT_FOUND (requests)
     * or INVALID_PARAMETER (REGINFO), as the driver deserves. */
    return STATUS_SUCCESS;
  }
  wmiev_guid_reg *out = c->local;
  if (count > LOCAL_GUIDS) {
    if (c->heap_count < count) {
      wmiev__host_free(c->heap, c->heap_count * sizeof *c->heap);
      c->heap_count = 0;
      c->heap = wmiev__host_alloc((size_t)count * sizeof *c->heap);
      if (c->heap == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
      }
      c->heap_count = count;
    }
    out = c->heap;
  }
  for (ULONG i = 0; i < count; i++) {
    out[i].guid = list[i].Guid;
    out[i].instance_count = list[i].InstanceCount;
    out[i].flags = list[i].Flags;
  }
  c->core.guid_list = out;
  return STATUS_SUCCESS;
}

/* ---- The core's callbacks, calling the driver's ------------------------------------------- */

static wmiev_status call_query_reginfo(wmiev_device *core, wmiev_reginfo_answer *answer,
                                       void *payload) {
  (void)core;
  wmilib_call *c = payload;
  ULONG reg_flags = 0;
  PUNICODE_STRING registry_path = NULL;
  UNICODE_STRING mof = {0, 0, NULL};
  PDEVICE_OBJECT pdo = NULL;
  NTSTATUS status = c->info->QueryWmiRegInfo(c->device, &reg_flags, &c->instance_name,
                                             &registry_path, &mof, &pdo);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  /* GuidCount/GuidList may have been filled in just now. */
  status = convert_guids(c);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  answer->reg_flags = reg_flags;
  if (c->instance_name.Buffer != NULL) {
    answer->base_name = wmiev__wmi_units(&c->instance_name);
    answer->base_name_units = c->instance_name.Length / 2u;
  }
  if (registry_path != NULL && registry_path->Buffer != NULL) {
    answer->registry_path = wmiev__wmi_units(registry_path);
    answer->registry_path_units = registry_path->Length / 2u;
  }
  if (mof.Buffer != NULL) {
    /* Copied by the core into the REGINFO answer before this call returns to it. */
    answer->mof_resource = wmiev__wmi_units(&mof);
    answer->mof_resource_units = mof.Length / 2u;
  }
  /* The host's resolve_pdo maps the DEVICE_OBJECT to its device instance id. */
  answer->pdo = (uintptr_t)pdo;
  return STATUS_SUCCESS;
}

static wmiev_status call_query_data_block(wmiev_device *core, wmiev_irp *irp, uint32_t guid_index,
                                          uint32_t instance_index, uint32_t instance_count,
                                          uint32_t *instance_lengths, uint32_t buffer_avail,
                                          uint8_t *buffer, void *payload) {
  (void)core;
  (void)irp;
  wmilib_call *c = payload;
  return c->info->QueryWmiDataBlock(c->device, c->irp, guid_index, instance_index, instance_count,
                                    instance_lengths, buffer_avail, buffer);
}

static wmiev_status call_set_data_block(wmiev_device *core, wmiev_irp *irp, uint32_t guid_index,
                                        uint32_t instance_index, uint32_t buffer_size,
                                        const uint8_t *buffer, void *payload) {
  (void)core;
  (void)irp;
  wmilib_call *c = payload;
  /* The IRP's own buffer: the WDK prototype takes it writable. */
  return c->info->SetWmiDataBlock(c->device, c->irp, guid_index, instance_index, buffer_size,
                                  (PUCHAR)(uintptr_t)buffer);
}

static wmiev_status call_set_data_item(wmiev_device *core, wmiev_irp *irp, uint32_t guid_index,
                                       uint32_t instance_index, uint32_t item_id,
                                       uint32_t buffer_size, const uint8_t *buffer, void *payload) {
  (void)core;
  (void)irp;
  wmilib_call *c = payload;
  return c->info->SetWmiDataItem(c->device, c->irp, guid_index, instance_index, item_id,
                                 buffer_size, (PUCHAR)(uintptr_t)buffer);
}

static wmiev_status call_execute_method(wmiev_device *core, wmiev_irp *irp, uint32_t guid_index,
                                        uint32_t instance_index, uint32_t method_id,
                                        uint32_t in_size, uint32_t out_size, uint8_t *buffer,
                                        void *payload) {
  (void)core;
  (void)irp;
  wmilib_call *c = payload;
  return c->info->ExecuteWmiMethod(c->device, c->irp, guid_index, instance_index, method_id,
                                   in_size, out_size, buffer);
}

static wmiev_status call_function_control(wmiev_device *core, wmiev_irp *irp, uint32_t guid_index,
                                          wmiev_function_control function, bool enable,
                                          void *payload) {
  (void)core;
  (void)irp;
  wmilib_call *c = payload;
  return c->info->WmiFunctionControl(c->device, c->irp, guid_index,
                                     function == WMIEV_DATA_BLOCK_CONTROL ? WmiDataBlockControl
                                                                          : WmiEventControl,
                                     enable ? TRUE : FALSE);
}

/* ---- WmiSystemControl ---------------------------------------------------------------------- */

static bool is_wmi_minor(UCHAR minor) {
  return minor <= IRP_MN_EXECUTE_METHOD || minor == IRP_MN_REGINFO_EX;
}

NTSTATUS NTAPI WmiSystemControl(PWMILIB_CONTEXT WmiLibInfo, PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                PSYSCTL_IRP_DISPOSITION IrpDisposition) {
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "WmiSystemControl");
  if (WmiLibInfo == NULL || DeviceObject == NULL || Irp == NULL || IrpDisposition == NULL) {
    if (IrpDisposition != NULL) {
      *IrpDisposition = IrpNotCompleted;
    }
    if (Irp != NULL) {
      Irp->IoStatus.Status = STATUS_INVALID_PARAMETER;
      Irp->IoStatus.Information = 0;
    }
    return STATUS_INVALID_PARAMETER;
  }
  PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
  if (sl->MajorFunction != IRP_MJ_SYSTEM_CONTROL || !is_wmi_minor(sl->MinorFunction)) {
    *IrpDisposition = IrpNotWmi;
    return Irp->IoStatus.Status;
  }
  /* Every WMI minor, REGINFO included, is for the registered device only
   * (spec §4.2): a filter above or a bus driver below forwards it. */
  if (sl->Parameters.WMI.ProviderId != (ULONG_PTR)DeviceObject) {
    *IrpDisposition = IrpForward;
    return Irp->IoStatus.Status;
  }
  wmiev__wmi_link *link = wmiev__wmi_link_find(Irp);
  if (link == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "WmiSystemControl: the WMI IRP %p (minor 0x%02x) for device object %p "
                          "was not sent by WMI; only WMI's own IRPs can be handled",
                          (void *)Irp, (unsigned)sl->MinorFunction, (void *)DeviceObject);
    Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Information = 0;
    *IrpDisposition = IrpNotCompleted;
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  wmiev_irp *core_irp = wmiev__wmi_link_core_irp(link);
  /* The core reads the request from its IRP: take it from the current
   * stack location, which is what the driver was given. */
  core_irp->MinorFunction = sl->MinorFunction;
  core_irp->Wmi.DataPath = sl->Parameters.WMI.DataPath;
  core_irp->Wmi.BufferSize = sl->Parameters.WMI.BufferSize;
  core_irp->Wmi.Buffer = sl->Parameters.WMI.Buffer;

  wmilib_call c;
  memset(&c, 0, sizeof c);
  c.info = WmiLibInfo;
  c.device = DeviceObject;
  c.irp = Irp;
  c.core.payload = &c;
  /* Only what the driver supplies: for a NULL entry the core applies the
   * WMILIB_CONTEXT defaults (READ_ONLY, INVALID_DEVICE_REQUEST, SUCCESS). */
  c.core.callbacks.query_reginfo = WmiLibInfo->QueryWmiRegInfo != NULL ? call_query_reginfo : NULL;
  c.core.callbacks.query_data_block =
      WmiLibInfo->QueryWmiDataBlock != NULL ? call_query_data_block : NULL;
  c.core.callbacks.set_data_block =
      WmiLibInfo->SetWmiDataBlock != NULL ? call_set_data_block : NULL;
  c.core.callbacks.set_data_item = WmiLibInfo->SetWmiDataItem != NULL ? call_set_data_item : NULL;
  c.core.callbacks.execute_method =
      WmiLibInfo->ExecuteWmiMethod != NULL ? call_execute_method : NULL;
  c.core.callbacks.function_control =
      WmiLibInfo->WmiFunctionControl != NULL ? call_function_control : NULL;

  NTSTATUS status = convert_guids(&c);
  wmiev_irp_disposition disposition = WMIEV_IRP_NOT_COMPLETED;
  if (NT_SUCCESS(status)) {
    status = wmiev_wmilib_system_control(&c.core, wmiev__wmi_link_core_device(link), core_irp,
                                         &disposition);
    if (disposition == WMIEV_IRP_NOT_COMPLETED) {
      /* The core set the status (and for REGINFO the size) on its IRP; the
       * driver completes the WDK IRP with IoCompleteRequest. */
      Irp->IoStatus.Status = core_irp->IoStatus.Status;
      Irp->IoStatus.Information = core_irp->IoStatus.Information;
    }
  } else {
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
  }
  wmiev__wmi_link_release(link);
  if (c.instance_name.Buffer != NULL) {
    /* DpWmiQueryReginfo's InstanceName: allocated by the driver, freed by WMI. */
    ExFreePool(c.instance_name.Buffer);
  }
  wmiev__host_free(c.heap, c.heap_count * sizeof *c.heap);
  *IrpDisposition = (SYSCTL_IRP_DISPOSITION)disposition;
  return status;
}

/* ---- WmiCompleteRequest ---------------------------------------------------------------------- */

NTSTATUS NTAPI WmiCompleteRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp, NTSTATUS Status,
                                  ULONG BufferUsed, CCHAR PriorityBoost) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "WmiCompleteRequest");
  (void)DeviceObject;
  wmiev__wmi_link *link = wmiev__wmi_link_find(Irp);
  if (link == NULL) {
    /* Its completion already ended (the link goes with it), or WMI never
     * sent it: either way there is nothing left to complete. */
    wmiev__host_violation(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE,
                          "WmiCompleteRequest(%s) for IRP %p, which is not a WMI IRP in progress "
                          "(already completed?)",
                          wmiev_status_name(Status), (void *)Irp);
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  wmiev__wmi_link_set_boost(link, PriorityBoost);
  /* The device only names the culprit of a bad reply. A late completion
   * (WMI gave up waiting) may come after the device was deleted: then none. */
  wmiev_device *core = wmiev__wmi_link_core_device(link);
  if (wmiev_registry_device_by_irp_provider_id(wmiev__host_registry(), (uintptr_t)core) != core) {
    core = NULL;
  }
  NTSTATUS status =
      wmiev_wmilib_complete_request(core, wmiev__wmi_link_core_irp(link), Status, BufferUsed);
  wmiev__wmi_link_release(link);
  return status;
}
