/*
 * Portable providers on the real kernel (docs/windows.md, "The Windows
 * backend"): a provider is bound to the driver's own device object
 * (wmiev_provider_options.wdm_device), registers it with
 * IoWMIRegistrationControl, and serves WMI IRPs through WmiSystemControl with
 * a WMILIB_CONTEXT generated per provider, whose DpWmiXxx routines are the
 * trampolines below: they find the provider by device object, wrap the IRP
 * for the portable callback and call it. The callback answers with
 * wmiev_wmilib_complete_request(), i.e. WmiCompleteRequest.
 */
#include "backend.h"

/* mingw-w64 declares it in <ddk/ntifs.h> only; the prototype is the
 * documented one (ntoskrnl.exe, Windows XP and later, IRQL <= DISPATCH_LEVEL). */
NTKERNELAPI PDEVICE_OBJECT NTAPI IoGetLowerDeviceObject(PDEVICE_OBJECT DeviceObject);

/* The portable GUID list is handed to WmiSystemControl as it is: the two
 * record types are the same bytes (pointer, ULONG, ULONG), so the generated
 * WMILIB_CONTEXT needs no copy, and wmiev_provider_set_guid_list() cannot
 * fail for want of memory. */
WMIEV_STATIC_ASSERT(sizeof(wmiev_guid_reg) == sizeof(WMIGUIDREGINFO), "guid reg size");
WMIEV_STATIC_ASSERT(WMIEV_ALIGNOF(wmiev_guid_reg) == WMIEV_ALIGNOF(WMIGUIDREGINFO),
                    "guid reg alignment");
WMIEV_STATIC_ASSERT(offsetof(wmiev_guid_reg, guid) == offsetof(WMIGUIDREGINFO, Guid),
                    "guid reg: guid");
WMIEV_STATIC_ASSERT(offsetof(wmiev_guid_reg, instance_count) ==
                        offsetof(WMIGUIDREGINFO, InstanceCount),
                    "guid reg: instance_count");
WMIEV_STATIC_ASSERT(offsetof(wmiev_guid_reg, flags) == offsetof(WMIGUIDREGINFO, Flags),
                    "guid reg: flags");
WMIEV_STATIC_ASSERT(sizeof(((wmiev_guid_reg *)0)->instance_count) == sizeof(ULONG) &&
                        sizeof(((wmiev_guid_reg *)0)->flags) == sizeof(ULONG),
                    "guid reg: ULONG members");
/* The portable enumerations carry wmilib's values. */
WMIEV_STATIC_ASSERT((int)WMIEV_EVENT_CONTROL == (int)WmiEventControl &&
                        (int)WMIEV_DATA_BLOCK_CONTROL == (int)WmiDataBlockControl,
                    "function control values");
WMIEV_STATIC_ASSERT((int)WMIEV_IRP_PROCESSED == (int)IrpProcessed &&
                        (int)WMIEV_IRP_NOT_COMPLETED == (int)IrpNotCompleted &&
                        (int)WMIEV_IRP_NOT_WMI == (int)IrpNotWmi &&
                        (int)WMIEV_IRP_FORWARD == (int)IrpForward,
                    "disposition values");

/* ---- The driver-wide provider list ------------------------------------------------------ */
/*
 * DpWmiXxx routines get the device object and the IRP, never the
 * WMILIB_CONTEXT, so the provider is found by device object. The fire path
 * finds it by provider id to queue deferred work on its device. A few
 * providers per driver: a list under a spin lock (a zero KSPIN_LOCK is a
 * released one, which is all KeInitializeSpinLock does).
 */
static KSPIN_LOCK providers_lock;
static struct wmiev_provider *providers;

/* Under providers_lock. */
static struct wmiev_provider *by_device_locked(PDEVICE_OBJECT device_object) {
  struct wmiev_provider *p = providers;
  while (p != NULL && p->device.wdm != device_object) {
    p = p->next;
  }
  return p;
}

struct wmiev_provider *wmiev__win_provider_by_device(PDEVICE_OBJECT device_object) {
  KIRQL old;
  KeAcquireSpinLock(&providers_lock, &old);
  struct wmiev_provider *p = by_device_locked(device_object);
  KeReleaseSpinLock(&providers_lock, old);
  return p;
}

struct wmiev_provider *wmiev__win_provider_acquire_by_id(ULONG provider_id) {
  KIRQL old;
  KeAcquireSpinLock(&providers_lock, &old);
  struct wmiev_provider *p = providers;
  while (p != NULL && p->provider_id != provider_id) {
    p = p->next;
  }
  /* Under the lock: destroy unlinks first, so a listed provider is alive. */
  if (p != NULL && !ExAcquireRundownProtection(&p->rundown)) {
    p = NULL;
  }
  KeReleaseSpinLock(&providers_lock, old);
  return p;
}

/* Links @p p unless its device object already has a provider. */
static bool link_provider(struct wmiev_provider *p) {
  KIRQL old;
  KeAcquireSpinLock(&providers_lock, &old);
  struct wmiev_provider *q = by_device_locked(p->device.wdm);
  if (q == NULL) {
    p->next = providers;
    providers = p;
  }
  KeReleaseSpinLock(&providers_lock, old);
  return q == NULL;
}

static void unlink_provider(struct wmiev_provider *p) {
  KIRQL old;
  KeAcquireSpinLock(&providers_lock, &old);
  struct wmiev_provider **at = &providers;
  while (*at != NULL && *at != p) {
    at = &(*at)->next;
  }
  if (*at == p) {
    *at = p->next;
  }
  KeReleaseSpinLock(&providers_lock, old);
}

/* ---- IRP wrappers --------------------------------------------------------------------------- */

/* The portable view of a WMI IRP for one callback (backend.h). */
static wmiev_irp *wrap_irp(struct wmiev_provider *p, PIRP irp) {
  struct wmiev__irp_state *s = wmiev__win_alloc(sizeof *s);
  if (s == NULL) {
    return NULL;
  }
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
  s->irp.MajorFunction = stack->MajorFunction;
  s->irp.MinorFunction = stack->MinorFunction;
  s->irp.Wmi.ProviderId = stack->Parameters.WMI.ProviderId;
  s->irp.Wmi.DataPath = stack->Parameters.WMI.DataPath;
  s->irp.Wmi.BufferSize = stack->Parameters.WMI.BufferSize;
  s->irp.Wmi.Buffer = stack->Parameters.WMI.Buffer;
  s->irp.IoStatus.Status = irp->IoStatus.Status;
  s->irp.IoStatus.Information = irp->IoStatus.Information;
  s->irp.internal = s;
  s->wdm = irp;
  s->provider = p;
  return &s->irp;
}

static struct wmiev__irp_state *irp_state(wmiev_irp *irp) {
  if (irp == NULL || irp->internal == NULL || &irp->internal->irp != irp) {
    return NULL;
  }
  return irp->internal;
}

/* What a DpWmiXxx routine does when it cannot reach the portable callback:
 * it still owns the IRP and must complete it. */
static NTSTATUS fail_irp(PDEVICE_OBJECT device_object, PIRP irp, struct wmiev_provider *p) {
  NTSTATUS status = p == NULL ? STATUS_INVALID_DEVICE_REQUEST : STATUS_INSUFFICIENT_RESOURCES;
  return WmiCompleteRequest(device_object, irp, status, 0, IO_NO_INCREMENT);
}

/* ---- Event state: the last ENABLE/DISABLE_EVENTS per GUID -------------------------------- */
/*
 * The kernel does not tell a provider whether it is enabled; it only sends
 * the IRPs. wmiev_source_enabled() therefore reads what the function-control
 * trampoline recorded. The records hang off the provider, under its bus's
 * lock, and are never unlinked before the provider is freed, so a source
 * may keep a pointer to its record and read it without a lock.
 */
static struct wmiev__win_event_state *find_event_state(struct wmiev_provider *p, const GUID *guid) {
  struct wmiev__win_event_state *e = p->events;
  while (e != NULL && !wmiev_guid_equal(&e->guid, guid)) {
    e = e->next;
  }
  return e;
}

struct wmiev__win_event_state *wmiev__win_event_state(struct wmiev_provider *p, const GUID *guid) {
  KIRQL old;
  KeAcquireSpinLock(&p->bus->lock, &old);
  struct wmiev__win_event_state *e = find_event_state(p, guid);
  KeReleaseSpinLock(&p->bus->lock, old);
  if (e != NULL) {
    return e;
  }
  struct wmiev__win_event_state *fresh = wmiev__win_alloc(sizeof *fresh);
  if (fresh == NULL) {
    return NULL;
  }
  fresh->guid = *guid;
  KeAcquireSpinLock(&p->bus->lock, &old);
  e = find_event_state(p, guid); /* another caller may have been first */
  if (e == NULL) {
    fresh->next = p->events;
    p->events = fresh;
    e = fresh;
    fresh = NULL;
  }
  KeReleaseSpinLock(&p->bus->lock, old);
  wmiev__win_free(fresh);
  return e;
}

/* False only when an ENABLE cannot be recorded (no pool). A DISABLE for a
 * GUID never enabled needs no record: none reads as disabled. */
static bool record_event_control(struct wmiev_provider *p, const GUID *guid, bool enable) {
  struct wmiev__win_event_state *e;
  if (enable) {
    e = wmiev__win_event_state(p, guid);
    if (e == NULL) {
      return false;
    }
  } else {
    KIRQL old;
    KeAcquireSpinLock(&p->bus->lock, &old);
    e = find_event_state(p, guid);
    KeReleaseSpinLock(&p->bus->lock, old);
    if (e == NULL) {
      return true;
    }
  }
  InterlockedExchange(&e->enabled, enable ? 1 : 0);
  return true;
}

/* After DEREGISTER no DISABLE will come, and WMI enables a provider that
 * registers again for the consumers it has then (docs/windows.md). */
static void clear_event_states(struct wmiev_provider *p) {
  KIRQL old;
  KeAcquireSpinLock(&p->bus->lock, &old);
  for (struct wmiev__win_event_state *e = p->events; e != NULL; e = e->next) {
    InterlockedExchange(&e->enabled, 0);
  }
  KeReleaseSpinLock(&p->bus->lock, old);
}

static void free_event_states(struct wmiev_provider *p) {
  KIRQL old;
  KeAcquireSpinLock(&p->bus->lock, &old);
  struct wmiev__win_event_state *e = p->events;
  p->events = NULL;
  KeReleaseSpinLock(&p->bus->lock, old);
  while (e != NULL) {
    struct wmiev__win_event_state *next = e->next;
    wmiev__win_free(e);
    e = next;
  }
}

/* ---- DpWmiXxx trampolines (PASSIVE_LEVEL, called by WmiSystemControl) ------------------- */

/* Replaces @p s's buffer with a pool copy of @p units, unless it already
 * holds exactly that (WMI reads the string during each REGINFO request). */
static NTSTATUS keep_string(UNICODE_STRING *s, const uint16_t *units, size_t count) {
  if (count > WMIEV_NAME_MAX_BYTES / sizeof(WCHAR)) {
    return STATUS_NAME_TOO_LONG; /* before the product below can wrap (32-bit) */
  }
  size_t bytes = count * sizeof(WCHAR);
  if (s->Buffer != NULL && s->Length == bytes &&
      RtlCompareMemory(s->Buffer, units, bytes) == bytes) {
    return STATUS_SUCCESS;
  }
  UNICODE_STRING copy;
  NTSTATUS status = wmiev__win_string_copy(&copy, units, count);
  if (NT_SUCCESS(status)) {
    wmiev__win_free(s->Buffer);
    *s = copy;
  }
  return status;
}

/*
 * The registry path WMI is given when the portable answer has none: the one
 * the I/O manager passes to DriverEntry for a service,
 * \Registry\Machine\System\CurrentControlSet\Services\<service key name>.
 * WMI uses it to find the image that holds the MOF resource.
 */
static NTSTATUS default_registry_path(struct wmiev_provider *p) {
  static const WCHAR prefix[] = L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";
  const size_t prefix_units = sizeof prefix / sizeof prefix[0] - 1;
  PDRIVER_OBJECT driver = p->device.wdm->DriverObject;
  const UNICODE_STRING *service = &driver->DriverExtension->ServiceKeyName;
  size_t units = prefix_units + service->Length / sizeof(WCHAR);
  if (units > WMIEV_NAME_MAX_BYTES / sizeof(WCHAR)) {
    return STATUS_NAME_TOO_LONG;
  }
  /* Called while p->registry_path is empty: built in place. */
  PWCH path = wmiev__win_alloc(units * sizeof(WCHAR));
  if (path == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  RtlCopyMemory(path, prefix, prefix_units * sizeof(WCHAR));
  if (service->Length != 0) {
    RtlCopyMemory(path + prefix_units, service->Buffer, service->Length);
  }
  p->registry_path.Buffer = path;
  p->registry_path.Length = (USHORT)(units * sizeof(WCHAR));
  p->registry_path.MaximumLength = p->registry_path.Length;
  return STATUS_SUCCESS;
}

static NTSTATUS NTAPI dp_query_reginfo(PDEVICE_OBJECT DeviceObject, PULONG RegFlags,
                                       PUNICODE_STRING InstanceName, PUNICODE_STRING *RegistryPath,
                                       PUNICODE_STRING MofResourceName, PDEVICE_OBJECT *Pdo) {
  struct wmiev_provider *p = wmiev__win_provider_by_device(DeviceObject);
  if (p == NULL) {
    return STATUS_INVALID_DEVICE_REQUEST; /* must not complete the IRP here */
  }
  wmiev_reginfo_answer answer;
  RtlZeroMemory(&answer, sizeof answer);
  NTSTATUS status = p->context.callbacks.query_reginfo(&p->device, &answer, p->context.payload);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  /* Strings the answer points to are copied before returning (the portable
   * contract); WMI takes them as documented for WMI_QUERY_REGINFO_CALLBACK. */
  if (answer.registry_path != NULL) {
    status = keep_string(&p->registry_path, answer.registry_path, answer.registry_path_units);
  } else if (p->registry_path.Buffer == NULL) {
    status = default_registry_path(p);
  }
  if (NT_SUCCESS(status) && answer.mof_resource != NULL) {
    status = keep_string(&p->mof_resource, answer.mof_resource, answer.mof_resource_units);
  }
  if (!NT_SUCCESS(status)) {
    return status;
  }
  if (answer.base_name != NULL) {
    /* WMI frees the base name with ExFreePool: a pool block of its own. */
    if (answer.base_name_units == 0) {
      return STATUS_INVALID_PARAMETER;
    }
    status = wmiev__win_string_copy(InstanceName, answer.base_name, answer.base_name_units);
    if (!NT_SUCCESS(status)) {
      return status;
    }
  }
  *RegFlags = answer.reg_flags;
  if (RegistryPath != NULL) {
    *RegistryPath = &p->registry_path;
  }
  if (p->mof_resource.Buffer != NULL) {
    *MofResourceName = p->mof_resource; /* WMI copies it */
  }
  if (Pdo != NULL && answer.pdo != 0) {
    *Pdo = (PDEVICE_OBJECT)answer.pdo; /* on Windows the PDO's device object */
  }
  return STATUS_SUCCESS;
}

static NTSTATUS NTAPI dp_query_data_block(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                          ULONG InstanceIndex, ULONG InstanceCount,
                                          PULONG InstanceLengthArray, ULONG BufferAvail,
                                          PUCHAR Buffer) {
  struct wmiev_provider *p = wmiev__win_provider_by_device(DeviceObject);
  wmiev_irp *irp = p != NULL ? wrap_irp(p, Irp) : NULL;
  if (irp == NULL) {
    return fail_irp(DeviceObject, Irp, p);
  }
  /* ULONG and uint32_t are both 32-bit unsigned on Windows. */
  return p->context.callbacks.query_data_block(&p->device, irp, GuidIndex, InstanceIndex,
                                               InstanceCount, (uint32_t *)InstanceLengthArray,
                                               BufferAvail, Buffer, p->context.payload);
}

static NTSTATUS NTAPI dp_set_data_block(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                        ULONG InstanceIndex, ULONG BufferSize, PUCHAR Buffer) {
  struct wmiev_provider *p = wmiev__win_provider_by_device(DeviceObject);
  wmiev_irp *irp = p != NULL ? wrap_irp(p, Irp) : NULL;
  if (irp == NULL) {
    return fail_irp(DeviceObject, Irp, p);
  }
  return p->context.callbacks.set_data_block(&p->device, irp, GuidIndex, InstanceIndex, BufferSize,
                                             Buffer, p->context.payload);
}

static NTSTATUS NTAPI dp_set_data_item(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                       ULONG InstanceIndex, ULONG DataItemId, ULONG BufferSize,
                                       PUCHAR Buffer) {
  struct wmiev_provider *p = wmiev__win_provider_by_device(DeviceObject);
  wmiev_irp *irp = p != NULL ? wrap_irp(p, Irp) : NULL;
  if (irp == NULL) {
    return fail_irp(DeviceObject, Irp, p);
  }
  return p->context.callbacks.set_data_item(&p->device, irp, GuidIndex, InstanceIndex, DataItemId,
                                            BufferSize, Buffer, p->context.payload);
}

static NTSTATUS NTAPI dp_execute_method(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                        ULONG InstanceIndex, ULONG MethodId, ULONG InBufferSize,
                                        ULONG OutBufferSize, PUCHAR Buffer) {
  struct wmiev_provider *p = wmiev__win_provider_by_device(DeviceObject);
  wmiev_irp *irp = p != NULL ? wrap_irp(p, Irp) : NULL;
  if (irp == NULL) {
    return fail_irp(DeviceObject, Irp, p);
  }
  return p->context.callbacks.execute_method(&p->device, irp, GuidIndex, InstanceIndex, MethodId,
                                             InBufferSize, OutBufferSize, Buffer,
                                             p->context.payload);
}

/* Installed whether or not the portable callback exists: it records
 * ENABLE/DISABLE_EVENTS for wmiev_source_enabled(). Recorded before the
 * callback runs, since the callback may start firing at once. */
static NTSTATUS NTAPI dp_function_control(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                          WMIENABLEDISABLECONTROL Function, BOOLEAN Enable) {
  struct wmiev_provider *p = wmiev__win_provider_by_device(DeviceObject);
  if (p == NULL) {
    return fail_irp(DeviceObject, Irp, NULL);
  }
  if (Function == WmiEventControl && GuidIndex < p->context.guid_count &&
      p->context.guid_list[GuidIndex].guid != NULL &&
      !record_event_control(p, p->context.guid_list[GuidIndex].guid, Enable != FALSE)) {
    /* No pool for the record: refuse the ENABLE as a whole, so that the
     * driver and wmiev_source_enabled() agree that it is not enabled. */
    return fail_irp(DeviceObject, Irp, p);
  }
  if (p->context.callbacks.function_control == NULL) {
    /* wmilib's default for a NULL WmiFunctionControl (spec §3.5). */
    return WmiCompleteRequest(DeviceObject, Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
  }
  wmiev_irp *irp = wrap_irp(p, Irp);
  if (irp == NULL) {
    return fail_irp(DeviceObject, Irp, p);
  }
  return p->context.callbacks.function_control(&p->device, irp, GuidIndex,
                                               (wmiev_function_control)Function, Enable != FALSE,
                                               p->context.payload);
}

/* Points the generated WMILIB_CONTEXT at the portable list (same bytes). */
static void set_wmilib_guids(struct wmiev_provider *p) {
  p->wmilib.GuidCount = p->context.guid_count;
  p->wmilib.GuidList = (PWMIGUIDREGINFO)(uintptr_t)p->context.guid_list;
}

/* ---- Providers ------------------------------------------------------------------------------ */

wmiev_status wmiev_provider_create(wmiev_registry *registry, const wmiev_provider_options *options,
                                   wmiev_provider **out) {
  if (out != NULL) {
    *out = NULL;
  }
  if (registry == NULL || registry->bus == NULL || options == NULL || out == NULL ||
      options->wdm_device == NULL || options->context.callbacks.query_reginfo == NULL ||
      options->context.callbacks.query_data_block == NULL ||
      (options->context.guid_count != 0 && options->context.guid_list == NULL)) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__win_irql_ok(DISPATCH_LEVEL)) {
    return WMIEV_WIN_STATUS_BAD_IRQL;
  }
  struct wmiev_provider *p = wmiev__win_alloc(sizeof *p);
  if (p == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  p->device.wdm = (PDEVICE_OBJECT)options->wdm_device;
  p->device.provider = p;
  p->bus = registry->bus;
  p->context = options->context;
  p->provider_id = IoWMIDeviceObjectToProviderId(p->device.wdm);
  ExInitializeRundownProtection(&p->rundown);
  const char *name = options->name != NULL ? options->name : "provider";
  size_t i = 0;
  for (; i + 1 < sizeof p->name && name[i] != '\0'; i++) {
    p->name[i] = name[i];
  }
  p->name[i] = '\0';

  /* Optional callbacks stay NULL when the portable ones are: wmilib's
   * defaults are the portable defaults (spec §3.5). Function control is the
   * exception: its trampoline records the enable state and applies the
   * default itself. */
  set_wmilib_guids(p);
  p->wmilib.QueryWmiRegInfo = dp_query_reginfo;
  p->wmilib.QueryWmiDataBlock = dp_query_data_block;
  const wmiev_wmilib_callbacks *cb = &p->context.callbacks;
  p->wmilib.SetWmiDataBlock = cb->set_data_block != NULL ? dp_set_data_block : NULL;
  p->wmilib.SetWmiDataItem = cb->set_data_item != NULL ? dp_set_data_item : NULL;
  p->wmilib.ExecuteWmiMethod = cb->execute_method != NULL ? dp_execute_method : NULL;
  p->wmilib.WmiFunctionControl = dp_function_control;

  /* One provider per device object: the trampolines find it by that. */
  if (!link_provider(p)) {
    wmiev__win_free(p);
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  *out = p;
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_provider_destroy(wmiev_provider *provider) {
  if (provider == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__win_irql_ok(PASSIVE_LEVEL)) {
    return WMIEV_WIN_STATUS_BAD_IRQL;
  }
  /* DEREGISTER waits for the WMI IRPs in flight to the device (never call
   * this from the device's IRP_MJ_SYSTEM_CONTROL dispatch). If WMI refuses,
   * it may still send IRPs: the provider must stay. */
  if (provider->registered) {
    NTSTATUS status = IoWMIRegistrationControl(provider->device.wdm, WMIREG_ACTION_DEREGISTER);
    if (!NT_SUCCESS(status)) {
      return status;
    }
    provider->registered = false;
  }
  unlink_provider(provider);
  /* Deferred IoWMIWriteEvent work items (fire.c) hold the rundown. */
  ExWaitForRundownProtectionRelease(&provider->rundown);
  /* Sources may outlive the provider; they must stop pointing into it. */
  wmiev__win_sources_detach(provider);
  free_event_states(provider);
  wmiev__win_free(provider->registry_path.Buffer);
  wmiev__win_free(provider->mof_resource.Buffer);
  wmiev__win_free(provider);
  return WMIEV_STATUS_SUCCESS;
}

wmiev_device *wmiev_provider_device(const wmiev_provider *provider) {
  return provider != NULL ? (wmiev_device *)&provider->device : NULL;
}

void wmiev_provider_set_guid_list(wmiev_provider *provider, const wmiev_guid_reg *guid_list,
                                  uint32_t guid_count) {
  if (provider == NULL) {
    return;
  }
  /* Plain data, as a WMILIB_CONTEXT: from query_reginfo, which WmiSystemControl
   * calls before it reads GuidList, or while no WMI IRP can arrive. */
  provider->context.guid_list = guid_list;
  provider->context.guid_count = guid_list != NULL ? guid_count : 0;
  set_wmilib_guids(provider);
}

/* Passes @p irp to the next-lower device object (IoSkipCurrentIrpStackLocation
 * + IoCallDriver), or completes it with the status it carries when there is
 * none, as the bottom of a stack does. */
static NTSTATUS forward_irp(PDEVICE_OBJECT self, PIRP irp) {
  PDEVICE_OBJECT lower = IoGetLowerDeviceObject(self);
  if (lower == NULL) {
    NTSTATUS status = irp->IoStatus.Status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
  }
  IoSkipCurrentIrpStackLocation(irp);
  NTSTATUS status = IoCallDriver(lower, irp);
  ObDereferenceObject(lower); /* IoGetLowerDeviceObject referenced it */
  return status;
}

wmiev_status wmiev_provider_system_control(wmiev_provider *provider, void *irp) {
  if (provider == NULL || irp == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  PIRP wdm = (PIRP)irp;
  SYSCTL_IRP_DISPOSITION disposition = IrpForward;
  NTSTATUS status = WmiSystemControl(&provider->wmilib, provider->device.wdm, wdm, &disposition);
  switch (disposition) {
  case IrpProcessed:
    /* A trampoline ran the portable callback: it completed the IRP
     * (WmiCompleteRequest) or pended it and will. */
    return status;
  case IrpNotCompleted:
    /* wmilib set the status (an error, or the REGINFO answer). */
    IoCompleteRequest(wdm, IO_NO_INCREMENT);
    return status;
  case IrpForward: /* for another device object */
  case IrpNotWmi:  /* not a WMI minor code: this library has nothing for it */
  default:
    return forward_irp(provider->device.wdm, wdm);
  }
}

/* ---- wmilib, IRPs ------------------------------------------------------------------------ */

wmiev_status wmiev_wmilib_complete_request(wmiev_device *device, wmiev_irp *irp,
                                           wmiev_status status, uint32_t buffer_used) {
  struct wmiev__irp_state *s = irp_state(irp);
  if (device == NULL || s == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__win_irql_ok(DISPATCH_LEVEL)) {
    return WMIEV_WIN_STATUS_BAD_IRQL;
  }
  PIRP wdm = s->wdm;
  /* The wrapper ends with the IRP; its status is WmiCompleteRequest's. */
  wmiev__win_free(s);
  return WmiCompleteRequest(device->wdm, wdm, status, buffer_used, IO_NO_INCREMENT);
}

wmiev_status wmiev_wmilib_system_control(const wmiev_wmilib_context *context, wmiev_device *device,
                                         wmiev_irp *irp, wmiev_irp_disposition *disposition) {
  (void)context;
  (void)device;
  (void)irp;
  /* On Windows this is WmiSystemControl's job, reached through
   * wmiev_provider_system_control() with the real IRP. */
  if (disposition != NULL) {
    *disposition = WMIEV_IRP_FORWARD;
  }
  return WMIEV_STATUS_NOT_SUPPORTED;
}

wmiev_status wmiev_irp_complete(wmiev_irp *irp, wmiev_status status, uintptr_t information) {
  struct wmiev__irp_state *s = irp_state(irp);
  if (s == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__win_irql_ok(DISPATCH_LEVEL)) {
    return WMIEV_WIN_STATUS_BAD_IRQL;
  }
  PIRP wdm = s->wdm;
  wmiev__win_free(s);
  wdm->IoStatus.Status = status;
  wdm->IoStatus.Information = information;
  IoCompleteRequest(wdm, IO_NO_INCREMENT);
  return status;
}

wmiev_status wmiev_irp_forward(wmiev_device *device, wmiev_irp *irp) {
  (void)device;
  (void)irp;
  /* A DpWmiXxx routine completes (or pends) the IRP it is given; forwarding
   * happens in wmiev_provider_system_control(), before wmilib. */
  return WMIEV_STATUS_NOT_SUPPORTED;
}

void wmiev_irp_mark_pending(wmiev_irp *irp) {
  struct wmiev__irp_state *s = irp_state(irp);
  if (s != NULL) {
    IoMarkIrpPending(s->wdm);
  }
}

bool wmiev_irp_is_completed(const wmiev_irp *irp) {
  /* The wrapper is freed when the IRP completes: a live one is not completed. */
  (void)irp;
  return false;
}

/* ---- Registration and devices ------------------------------------------------------------- */

wmiev_status wmiev_registration_control(wmiev_device *device, uint32_t action, wmiev_diag *diag) {
  if (device == NULL || device->provider == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "device", 0, "no device");
  }
  if (!wmiev__win_irql_ok(PASSIVE_LEVEL)) {
    return wmiev_diag_set(diag, WMIEV_WIN_STATUS_BAD_IRQL, "IoWMIRegistrationControl", 0,
                          "IoWMIRegistrationControl needs PASSIVE_LEVEL");
  }
  NTSTATUS status = IoWMIRegistrationControl(device->wdm, action);
  if (!NT_SUCCESS(status)) {
    return wmiev__win_fail(diag, status, "IoWMIRegistrationControl");
  }
  if (action == WMIREG_ACTION_REGISTER || action == WMIREG_ACTION_REREGISTER) {
    device->provider->registered = true;
  } else if (action == WMIREG_ACTION_DEREGISTER) {
    device->provider->registered = false;
    clear_event_states(device->provider);
  }
  return status;
}

uint32_t wmiev_device_provider_id(const wmiev_device *device) {
  /* IoWMIDeviceObjectToProviderId (a macro on x86); cached at creation. */
  return device != NULL && device->provider != NULL ? device->provider->provider_id : 0;
}

uintptr_t wmiev_device_irp_provider_id(const wmiev_device *device) {
  /* Parameters.WMI.ProviderId is the device object itself. */
  return device != NULL ? (uintptr_t)device->wdm : 0;
}

void *wmiev_device_payload(const wmiev_device *device) {
  return device != NULL ? device->provider : NULL;
}

wmiev_device *wmiev_device_lower(const wmiev_device *device) {
  /* The device below is a DEVICE_OBJECT of another driver, not a wmiev_device. */
  (void)device;
  return NULL;
}

wmiev_device *wmiev_device_top(wmiev_device *device) { return device; }

wmiev_registry *wmiev_device_registry(const wmiev_device *device) {
  return device != NULL && device->provider != NULL ? &device->provider->bus->registry : NULL;
}

const char *wmiev_device_name(const wmiev_device *device) {
  return device != NULL && device->provider != NULL ? device->provider->name : "";
}
