/*
 * Device objects: creation, deletion, stacks (attach/detach), references.
 *
 * One allocation holds the DEVICE_OBJECT, the driver's device extension, the
 * host's bookkeeping (DEVOBJ_EXTENSION, pointed to by DeviceObjectExtension)
 * and a copy of the name. A device object lives until it has been deleted
 * *and* its last reference is gone: IoCreateDevice gives the creation
 * reference (dropped by IoDeleteDevice), attaching a device on top of
 * another references the lower one (dropped by IoDetachDevice), and
 * IoGetAttachedDeviceReference / IoGetLowerDeviceObject / work items take
 * their own. So a driver bug such as deleting a device that is still
 * attached is reported and never turns into a use-after-free in the host.
 */
#include "host_private.h"

#define ALIGN16(n) (((n) + 15u) & ~(size_t)15u)

static struct _DEVOBJ_EXTENSION *ext_of(PDEVICE_OBJECT device) {
  if (device == NULL || device->Type != IO_TYPE_DEVICE || device->DeviceObjectExtension == NULL ||
      device->DeviceObjectExtension->DeviceObject != device) {
    return NULL;
  }
  return device->DeviceObjectExtension;
}

/* Under the host lock: is @p device in the host's list (live or deleted-but-referenced)? */
static struct _DEVOBJ_EXTENSION *find_locked(PDEVICE_OBJECT device) {
  PLIST_ENTRY head = wmiev__host_devices();
  for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
    struct _DEVOBJ_EXTENSION *ext = CONTAINING_RECORD(e, struct _DEVOBJ_EXTENSION, link);
    if (ext->DeviceObject == device) {
      return ext;
    }
  }
  return NULL;
}

/* Under the host lock: the top of the stack @p device is in. */
static PDEVICE_OBJECT top_locked(PDEVICE_OBJECT device) {
  while (device->AttachedDevice != NULL) {
    device = device->AttachedDevice;
  }
  return device;
}

/* Object names are case-insensitive on Windows. */
static bool same_name(PCUNICODE_STRING a, PCUNICODE_STRING b) {
  return a->Length != 0 && RtlEqualUnicodeString(a, b, TRUE);
}

NTSTATUS NTAPI IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                              PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                              ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                              PDEVICE_OBJECT *DeviceObject) {
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "IoCreateDevice");
  if (DeviceObject == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  *DeviceObject = NULL;
  if (wmiev__driver_private_of(DriverObject) == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
#if SIZE_MAX <= UINT32_MAX
  /* On a 32-bit host the layout below would wrap around (as pool, Windows
   * has no such block either). */
  if (DeviceExtensionSize > SIZE_MAX / 2) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
#endif
  size_t name_bytes = 0;
  if (DeviceName != NULL && DeviceName->Length != 0) {
    if (DeviceName->Buffer == NULL || (DeviceName->Length & 1u) != 0) {
      return STATUS_OBJECT_NAME_INVALID;
    }
    name_bytes = DeviceName->Length;
  }
  size_t ext_offset = ALIGN16(sizeof(DEVICE_OBJECT));
  size_t priv_offset = ext_offset + ALIGN16((size_t)DeviceExtensionSize);
  size_t name_offset = priv_offset + ALIGN16(sizeof(struct _DEVOBJ_EXTENSION));
  size_t total = name_offset + name_bytes + sizeof(WCHAR);
  unsigned char *block = wmiev__host_alloc(total);
  if (block == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  PDEVICE_OBJECT device = (PDEVICE_OBJECT)(void *)block;
  struct _DEVOBJ_EXTENSION *ext = (struct _DEVOBJ_EXTENSION *)(void *)(block + priv_offset);
  device->Type = IO_TYPE_DEVICE;
  size_t size = sizeof(DEVICE_OBJECT) + (size_t)DeviceExtensionSize;
  device->Size = (USHORT)(size > 0xffffu ? 0xffffu : size);
  device->DriverObject = DriverObject;
  device->Flags = DO_DEVICE_INITIALIZING;
  if (Exclusive) {
    device->Flags |= DO_EXCLUSIVE;
  }
  if (name_bytes != 0) {
    device->Flags |= DO_DEVICE_HAS_NAME;
  }
  device->Characteristics = DeviceCharacteristics;
  device->DeviceExtension = DeviceExtensionSize != 0 ? block + ext_offset : NULL;
  device->DeviceType = DeviceType;
  device->StackSize = 1;
  InitializeListHead(&device->Queue.ListEntry);
  KeInitializeEvent(&device->DeviceLock, SynchronizationEvent, TRUE);
  device->DeviceObjectExtension = ext;
  ext->Type = IO_TYPE_DEVICE_OBJECT_EXTENSION;
  ext->Size = (USHORT)sizeof *ext;
  ext->DeviceObject = device;
  ext->refs = 1;
  ext->alloc_size = total;
  ext->system_power.SystemState = PowerSystemWorking;
  ext->device_power.DeviceState = PowerDeviceD0;
  if (name_bytes != 0) {
    ext->name.Buffer = (PWCH)(void *)(block + name_offset);
    memcpy(ext->name.Buffer, DeviceName->Buffer, name_bytes);
    ext->name.Length = (USHORT)name_bytes;
    ext->name.MaximumLength = (USHORT)(name_bytes + sizeof(WCHAR));
  }

  wmiev__host_lock();
  if (name_bytes != 0) {
    PLIST_ENTRY head = wmiev__host_devices();
    for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
      struct _DEVOBJ_EXTENSION *other = CONTAINING_RECORD(e, struct _DEVOBJ_EXTENSION, link);
      if (!other->deleted && same_name(&other->name, &ext->name)) {
        wmiev__host_unlock();
        wmiev__host_free(block, total);
        return STATUS_OBJECT_NAME_COLLISION;
      }
    }
  }
  InsertTailList(wmiev__host_devices(), &ext->link);
  device->NextDevice = DriverObject->DeviceObject;
  DriverObject->DeviceObject = device;
  wmiev__host_unlock();
  *DeviceObject = device;
  return STATUS_SUCCESS;
}

static void free_device(struct _DEVOBJ_EXTENSION *ext) {
  wmiev__host_lock();
  RemoveEntryList(&ext->link);
  wmiev__host_unlock();
  if (ext->instance_id != NULL) {
    wmiev__host_free(ext->instance_id, ext->instance_id_size);
  }
  wmiev__host_free(ext->DeviceObject, ext->alloc_size);
}

void wmiev__device_reference(PDEVICE_OBJECT device) {
  struct _DEVOBJ_EXTENSION *ext = ext_of(device);
  if (ext == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT, "reference to %p, which is not a device object",
                          (void *)device);
    return;
  }
  __atomic_add_fetch(&ext->refs, 1, __ATOMIC_SEQ_CST);
}

void wmiev__device_dereference(PDEVICE_OBJECT device) {
  struct _DEVOBJ_EXTENSION *ext = ext_of(device);
  if (ext == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT,
                          "ObDereferenceObject(%p): not a device object (freed already?)",
                          (void *)device);
    return;
  }
  LONG left = __atomic_sub_fetch(&ext->refs, 1, __ATOMIC_SEQ_CST);
  if (left > 0) {
    return;
  }
  wmiev__host_lock();
  bool deleted = ext->deleted;
  wmiev__host_unlock();
  if (left < 0 || !deleted) {
    /* The creation reference belongs to IoDeleteDevice: a driver that
     * dereferences more than it referenced would free a live device. */
    __atomic_add_fetch(&ext->refs, 1, __ATOMIC_SEQ_CST);
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT,
                          "ObDereferenceObject on device object %p of driver %s without a "
                          "matching reference",
                          (void *)device, wmiev__driver_name(device->DriverObject));
    return;
  }
  free_device(ext);
}

static void unlink_from_driver_locked(PDEVICE_OBJECT device) {
  PDRIVER_OBJECT driver = device->DriverObject;
  if (driver == NULL) {
    return;
  }
  PDEVICE_OBJECT *link = &driver->DeviceObject;
  while (*link != NULL && *link != device) {
    link = &(*link)->NextDevice;
  }
  if (*link == device) {
    *link = device->NextDevice;
  }
  device->NextDevice = NULL;
}

void wmiev__device_delete(PDEVICE_OBJECT device, bool report) {
  wmiev__host_lock();
  struct _DEVOBJ_EXTENSION *ext = find_locked(device);
  bool live = ext != NULL && !ext->deleted;
  wmiev__host_unlock();
  if (!live) {
    wmiev__host_violation(WMIEV_HOST_RULE_DEVICE,
                          "IoDeleteDevice(%p): not a live device object (deleted twice?)",
                          (void *)device);
    return;
  }
  /* The WMI routines deregister and drop their core device first, while the
   * device object is still whole. */
  wmiev__host_run_device_delete_hook(device);

  PDEVICE_OBJECT lower = NULL;
  wmiev__host_lock();
  ext->deleted = true;
  if (ext->attached_to != NULL) {
    lower = ext->attached_to;
    if (lower->AttachedDevice == device) {
      lower->AttachedDevice = NULL;
    }
    ext->attached_to = NULL;
  }
  unlink_from_driver_locked(device);
  wmiev__host_unlock();

  if (report && lower != NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_DEVICE,
                          "IoDeleteDevice of a device object of driver %s that is still "
                          "attached to a device of driver %s: call IoDetachDevice first",
                          wmiev__driver_name(device->DriverObject),
                          wmiev__driver_name(lower->DriverObject));
  }
  /* A device still attached on top is normal here: on IRP_MN_REMOVE_DEVICE a
   * filter passes the IRP down first, the driver below deletes its device,
   * and only then does the filter detach (its reference keeps the deleted
   * device's memory until IoDetachDevice). */
  if (lower != NULL) {
    wmiev__device_dereference(lower);
  }
  wmiev__device_dereference(device); /* the creation reference */
}

VOID NTAPI IoDeleteDevice(PDEVICE_OBJECT DeviceObject) {
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "IoDeleteDevice");
  wmiev__device_delete(DeviceObject, true);
}

PDEVICE_OBJECT NTAPI IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice,
                                                 PDEVICE_OBJECT TargetDevice) {
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "IoAttachDeviceToDeviceStack");
  wmiev__host_lock();
  struct _DEVOBJ_EXTENSION *src = find_locked(SourceDevice);
  struct _DEVOBJ_EXTENSION *dst = find_locked(TargetDevice);
  if (src == NULL || dst == NULL || src->deleted || dst->deleted || src->attached_to != NULL ||
      SourceDevice == TargetDevice) {
    wmiev__host_unlock();
    wmiev__host_violation(WMIEV_HOST_RULE_DEVICE,
                          "IoAttachDeviceToDeviceStack(%p, %p): a device object is not live, "
                          "or the source is already attached",
                          (void *)SourceDevice, (void *)TargetDevice);
    return NULL;
  }
  PDEVICE_OBJECT top = top_locked(TargetDevice);
  struct _DEVOBJ_EXTENSION *top_ext = ext_of(top);
  if (top_ext == NULL || top_ext->deleted) {
    wmiev__host_unlock();
    return NULL; /* the stack is being torn down, as on Windows */
  }
  top->AttachedDevice = SourceDevice;
  src->attached_to = top;
  __atomic_add_fetch(&top_ext->refs, 1, __ATOMIC_SEQ_CST);
  SourceDevice->StackSize = (CCHAR)(top->StackSize + 1);
  if (top->AlignmentRequirement > SourceDevice->AlignmentRequirement) {
    SourceDevice->AlignmentRequirement = top->AlignmentRequirement;
  }
  wmiev__host_unlock();
  return top;
}

VOID NTAPI IoDetachDevice(PDEVICE_OBJECT TargetDevice) {
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "IoDetachDevice");
  wmiev__host_lock();
  struct _DEVOBJ_EXTENSION *ext = find_locked(TargetDevice);
  PDEVICE_OBJECT upper = ext != NULL ? TargetDevice->AttachedDevice : NULL;
  struct _DEVOBJ_EXTENSION *upper_ext = ext_of(upper);
  if (upper_ext == NULL) {
    wmiev__host_unlock();
    wmiev__host_violation(WMIEV_HOST_RULE_DEVICE, "IoDetachDevice(%p): no device is attached to it",
                          (void *)TargetDevice);
    return;
  }
  TargetDevice->AttachedDevice = NULL;
  upper_ext->attached_to = NULL;
  wmiev__host_unlock();
  wmiev__device_dereference(TargetDevice);
}

PDEVICE_OBJECT NTAPI IoGetAttachedDevice(PDEVICE_OBJECT DeviceObject) {
  if (ext_of(DeviceObject) == NULL) {
    return NULL;
  }
  wmiev__host_lock();
  PDEVICE_OBJECT top = top_locked(DeviceObject);
  wmiev__host_unlock();
  return top;
}

PDEVICE_OBJECT NTAPI IoGetAttachedDeviceReference(PDEVICE_OBJECT DeviceObject) {
  if (ext_of(DeviceObject) == NULL) {
    return NULL;
  }
  wmiev__host_lock();
  PDEVICE_OBJECT top = top_locked(DeviceObject);
  __atomic_add_fetch(&top->DeviceObjectExtension->refs, 1, __ATOMIC_SEQ_CST);
  wmiev__host_unlock();
  return top;
}

PDEVICE_OBJECT NTAPI IoGetLowerDeviceObject(PDEVICE_OBJECT DeviceObject) {
  struct _DEVOBJ_EXTENSION *ext = ext_of(DeviceObject);
  if (ext == NULL) {
    return NULL;
  }
  wmiev__host_lock();
  PDEVICE_OBJECT lower = ext->attached_to;
  if (lower != NULL) {
    __atomic_add_fetch(&lower->DeviceObjectExtension->refs, 1, __ATOMIC_SEQ_CST);
  }
  wmiev__host_unlock();
  return lower;
}

bool wmiev__device_is_live(PDEVICE_OBJECT device) {
  if (device == NULL) {
    return false;
  }
  wmiev__host_lock();
  struct _DEVOBJ_EXTENSION *ext = find_locked(device);
  bool live = ext != NULL && !ext->deleted;
  wmiev__host_unlock();
  return live;
}

const char *wmiev__pdo_instance_id(PDEVICE_OBJECT device) {
  if (device == NULL) {
    return NULL;
  }
  wmiev__host_lock();
  struct _DEVOBJ_EXTENSION *ext = find_locked(device);
  const char *id = ext != NULL && !ext->deleted ? ext->instance_id : NULL;
  wmiev__host_unlock();
  return id;
}

void **wmiev__device_wmi_slot(PDEVICE_OBJECT device) {
  struct _DEVOBJ_EXTENSION *ext = ext_of(device);
  return ext != NULL ? &ext->wmi_slot : NULL;
}

NTSTATUS wmiev__device_create_pdo(PDRIVER_OBJECT bus_driver, const char *instance_id,
                                  PDEVICE_OBJECT *out) {
  *out = NULL;
  size_t len = strlen(instance_id);
  wmiev__host_lock();
  PLIST_ENTRY head = wmiev__host_devices();
  for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
    struct _DEVOBJ_EXTENSION *other = CONTAINING_RECORD(e, struct _DEVOBJ_EXTENSION, link);
    if (!other->deleted && other->instance_id != NULL &&
        strcmp(other->instance_id, instance_id) == 0) {
      wmiev__host_unlock();
      return STATUS_OBJECT_NAME_COLLISION;
    }
  }
  wmiev__host_unlock();
  char *copy = wmiev__host_alloc(len + 1);
  if (copy == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  memcpy(copy, instance_id, len + 1);
  PDEVICE_OBJECT pdo = NULL;
  NTSTATUS status =
      IoCreateDevice(bus_driver, 0, NULL, FILE_DEVICE_BUS_EXTENDER,
                     FILE_AUTOGENERATED_DEVICE_NAME | FILE_DEVICE_SECURE_OPEN, FALSE, &pdo);
  if (!NT_SUCCESS(status)) {
    wmiev__host_free(copy, len + 1);
    return status;
  }
  wmiev__host_lock();
  pdo->DeviceObjectExtension->instance_id = copy;
  pdo->DeviceObjectExtension->instance_id_size = len + 1;
  pdo->Flags |= DO_BUS_ENUMERATED_DEVICE;
  pdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
  wmiev__host_unlock();
  *out = pdo;
  return STATUS_SUCCESS;
}
