/*
 * Driver objects: loading (DriverEntry), unloading (DriverUnload and the
 * leak checks that follow it), and the teardown of drivers left loaded at
 * shutdown. The host's own bus driver is an ordinary driver object too.
 */
#include <stdio.h>

#include "host_private.h"

static const WCHAR k_driver_prefix[] = L"\\Driver\\";
static const WCHAR k_registry_prefix[] =
    L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";
static WCHAR k_hardware_db_buffer[] = L"\\REGISTRY\\MACHINE\\HARDWARE\\DESCRIPTION\\SYSTEM";
static UNICODE_STRING k_hardware_db = {(USHORT)(sizeof k_hardware_db_buffer - sizeof(WCHAR)),
                                       (USHORT)sizeof k_hardware_db_buffer, k_hardware_db_buffer};

/* What a driver gets for a major function it does not handle: IopInvalidDeviceRequest. */
static NTSTATUS invalid_device_request(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)DeviceObject;
  Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
  Irp->IoStatus.Information = 0;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return STATUS_INVALID_DEVICE_REQUEST;
}

wmiev__driver_private *wmiev__driver_private_of(PDRIVER_OBJECT driver) {
  if (driver == NULL || driver->Type != IO_TYPE_DRIVER || driver->DriverSection == NULL) {
    return NULL;
  }
  wmiev__driver_private *p = driver->DriverSection;
  return p->driver == driver ? p : NULL;
}

const char *wmiev__driver_name(PDRIVER_OBJECT driver) {
  wmiev__driver_private *p = wmiev__driver_private_of(driver);
  return p != NULL ? p->name_utf8 : "?";
}

static void append(PUNICODE_STRING s, const WCHAR *units, size_t count) {
  memcpy((unsigned char *)s->Buffer + s->Length, units, count * sizeof(WCHAR));
  s->Length = (USHORT)(s->Length + count * sizeof(WCHAR));
}

/* Creates a driver object named @p name (units, no NUL) and links it into the host. */
static NTSTATUS create_driver(PCWSTR name, size_t units, const char *name_utf8, bool bus,
                              PDRIVER_OBJECT *out) {
  size_t driver_units = (sizeof k_driver_prefix / sizeof(WCHAR) - 1) + units + 1;
  size_t registry_units = (sizeof k_registry_prefix / sizeof(WCHAR) - 1) + units + 1;
  size_t total = sizeof(DRIVER_OBJECT) + sizeof(wmiev__driver_private) +
                 (driver_units + registry_units + units + 1) * sizeof(WCHAR);
  unsigned char *block = wmiev__host_alloc(total);
  if (block == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  PDRIVER_OBJECT driver = (PDRIVER_OBJECT)(void *)block;
  wmiev__driver_private *p = (wmiev__driver_private *)(void *)(block + sizeof(DRIVER_OBJECT));
  WCHAR *strings = (WCHAR *)(void *)(block + sizeof(DRIVER_OBJECT) + sizeof *p);
  driver->Type = IO_TYPE_DRIVER;
  driver->Size = (CSHORT)sizeof(DRIVER_OBJECT);
  driver->DriverSection = p;
  driver->DriverExtension = &p->extension;
  driver->HardwareDatabase = &k_hardware_db;
  for (size_t i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
    driver->MajorFunction[i] = invalid_device_request;
  }
  p->driver = driver;
  p->alloc_size = total;
  p->host_bus_driver = bus;
  snprintf(p->name_utf8, sizeof p->name_utf8, "%s", name_utf8);
  p->extension.DriverObject = driver;

  driver->DriverName.Buffer = strings;
  driver->DriverName.MaximumLength = (USHORT)(driver_units * sizeof(WCHAR));
  append(&driver->DriverName, k_driver_prefix, sizeof k_driver_prefix / sizeof(WCHAR) - 1);
  append(&driver->DriverName, name, units);
  strings += driver_units;
  p->registry_path.Buffer = strings;
  p->registry_path.MaximumLength = (USHORT)(registry_units * sizeof(WCHAR));
  append(&p->registry_path, k_registry_prefix, sizeof k_registry_prefix / sizeof(WCHAR) - 1);
  append(&p->registry_path, name, units);
  strings += registry_units;
  p->extension.ServiceKeyName.Buffer = strings;
  p->extension.ServiceKeyName.MaximumLength = (USHORT)((units + 1) * sizeof(WCHAR));
  append(&p->extension.ServiceKeyName, name, units);

  wmiev__host_lock();
  PLIST_ENTRY head = wmiev__host_drivers();
  for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
    wmiev__driver_private *other = CONTAINING_RECORD(e, wmiev__driver_private, link);
    if (strcmp(other->name_utf8, p->name_utf8) == 0) {
      wmiev__host_unlock();
      wmiev__host_free(block, total);
      return STATUS_OBJECT_NAME_COLLISION;
    }
  }
  InsertTailList(head, &p->link);
  wmiev__host_unlock();
  *out = driver;
  return STATUS_SUCCESS;
}

void wmiev__driver_destroy(PDRIVER_OBJECT driver) {
  wmiev__driver_private *p = wmiev__driver_private_of(driver);
  if (p == NULL) {
    return;
  }
  wmiev__host_lock();
  RemoveEntryList(&p->link);
  wmiev__host_unlock();
  driver->Type = 0; /* a stale pointer no longer looks like a driver */
  wmiev__host_free(driver, p->alloc_size);
}

PDRIVER_OBJECT wmiev__driver_create_bus_driver(void) {
  static const WCHAR name[] = L"wmiev_host_bus";
  PDRIVER_OBJECT driver = NULL;
  if (!NT_SUCCESS(
          create_driver(name, sizeof name / sizeof(WCHAR) - 1, "wmiev_host_bus", true, &driver))) {
    return NULL;
  }
  (void)wmiev__bus_driver_entry(driver,
                                &((wmiev__driver_private *)driver->DriverSection)->registry_path);
  return driver;
}

NTSTATUS wmiev_host_load_driver(PDRIVER_INITIALIZE entry, PCWSTR service_name,
                                PDRIVER_OBJECT *driver) {
  if (driver != NULL) {
    *driver = NULL;
  }
  if (entry == NULL || service_name == NULL || driver == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  wmiev__host_ensure();
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "wmiev_host_load_driver");
  char name_utf8[WMIEV__SERVICE_NAME_UTF8];
  size_t units = 0;
  NTSTATUS status = wmiev__wide_name_to_utf8(service_name, WMIEV__MAX_SERVICE_NAME, name_utf8,
                                             sizeof name_utf8, &units);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  PDRIVER_OBJECT d = NULL;
  status = create_driver(service_name, units, name_utf8, false, &d);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  d->DriverInit = entry;
  wmiev__driver_private *p = d->DriverSection;
  PDRIVER_OBJECT previous = wmiev__driver_enter(d);
  status = entry(d, &p->registry_path);
  wmiev__driver_leave(previous);
  if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRQL, "DriverEntry of %s returned at IRQL %u", name_utf8,
                          (unsigned)KeGetCurrentIrql());
    wmiev__irql_set(PASSIVE_LEVEL);
  }
  if (!NT_SUCCESS(status)) {
    /* A failing DriverEntry must have cleaned up after itself; the system
     * then frees the driver object without calling DriverUnload. */
    while (d->DeviceObject != NULL) {
      wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                            "DriverEntry of %s failed (%s) but left a device object behind",
                            name_utf8, wmiev_status_name(status));
      wmiev__device_delete(d->DeviceObject, false);
    }
    (void)wmiev__pool_report(d, "after its DriverEntry failed");
    wmiev__driver_destroy(d);
    return status;
  }
  /* The I/O manager finishes the devices created in DriverEntry (not those
   * created later in AddDevice: that is the driver's job). */
  wmiev__host_lock();
  for (PDEVICE_OBJECT dev = d->DeviceObject; dev != NULL; dev = dev->NextDevice) {
    dev->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
  }
  wmiev__host_unlock();
  *driver = d;
  return status;
}

/* Reports what @p driver left behind; returns the number of findings. */
static size_t report_leftovers(PDRIVER_OBJECT driver, const char *when) {
  size_t findings = 0;
  const char *name = wmiev__driver_name(driver);
  wmiev_registry *registry = wmiev__host_registry();
  for (;;) {
    wmiev__host_lock();
    PDEVICE_OBJECT dev = driver->DeviceObject;
    wmiev__host_unlock();
    if (dev == NULL) {
      break;
    }
    findings++;
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "driver %s: device object %p (type 0x%x) still exists %s", name,
                          (void *)dev, (unsigned)dev->DeviceType, when);
    void **slot = wmiev__device_wmi_slot(dev);
    if (slot != NULL && *slot != NULL) {
      size_t blocks = 0;
      size_t total = wmiev_registry_blocks(registry, NULL, NULL, 0);
      if (total != 0) {
        wmiev_block_info *infos = wmiev__host_alloc(total * sizeof *infos);
        if (infos != NULL) {
          size_t n = wmiev_registry_blocks(registry, NULL, infos, total);
          for (size_t i = 0; i < n && i < total; i++) {
            if ((void *)infos[i].device == *slot) {
              blocks++;
            }
          }
          wmiev__host_free(infos, total * sizeof *infos);
        }
      }
      if (blocks != 0) {
        findings++;
        wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                              "driver %s: device object %p is still registered with WMI (%zu "
                              "block(s)): IoWMIRegistrationControl(WMIREG_ACTION_DEREGISTER) "
                              "missing",
                              name, (void *)dev, blocks);
      }
    }
    /* Gone now, so that the host stays consistent (the WMI hook deregisters it). */
    wmiev__device_delete(dev, false);
  }
  size_t items = wmiev__work_items_live(driver);
  if (items != 0) {
    findings++;
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "driver %s: %zu work item(s) not freed (IoFreeWorkItem) %s", name, items,
                          when);
  }
  findings += wmiev__pool_report(driver, when);
  return findings;
}

NTSTATUS wmiev_host_unload_driver(PDRIVER_OBJECT driver) {
  wmiev__driver_private *p = wmiev__driver_private_of(driver);
  if (p == NULL || p->host_bus_driver) {
    return STATUS_INVALID_PARAMETER;
  }
  if (driver->DriverUnload == NULL) {
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "wmiev_host_unload_driver");
  /* Work items of the driver must not run after its code is gone. */
  (void)wmiev__work_wait_idle();
  PDRIVER_OBJECT previous = wmiev__driver_enter(driver);
  driver->DriverUnload(driver);
  wmiev__driver_leave(previous);
  if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRQL, "DriverUnload of %s returned at IRQL %u",
                          p->name_utf8, (unsigned)KeGetCurrentIrql());
    wmiev__irql_set(PASSIVE_LEVEL);
  }
  (void)wmiev__work_wait_idle();
  size_t findings = report_leftovers(driver, "after DriverUnload");
  wmiev__driver_destroy(driver);
  return findings == 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

void wmiev__driver_force_unload_all(void) {
  PDRIVER_OBJECT bus = wmiev__host_bus_driver();
  for (;;) {
    PDRIVER_OBJECT next = NULL;
    wmiev__host_lock();
    PLIST_ENTRY head = wmiev__host_drivers();
    for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
      wmiev__driver_private *p = CONTAINING_RECORD(e, wmiev__driver_private, link);
      if (!p->host_bus_driver) {
        next = p->driver;
        break;
      }
    }
    wmiev__host_unlock();
    if (next == NULL) {
      break;
    }
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "driver %s is still loaded at host shutdown (no "
                          "wmiev_host_unload_driver)",
                          wmiev__driver_name(next));
    (void)report_leftovers(next, "at host shutdown");
    wmiev__driver_destroy(next);
  }
  /* PDOs still plugged in. */
  for (;;) {
    wmiev__host_lock();
    PDEVICE_OBJECT pdo = bus->DeviceObject;
    wmiev__host_unlock();
    if (pdo == NULL) {
      break;
    }
    const char *id = wmiev__pdo_instance_id(pdo);
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "device %s is still plugged in at host shutdown (no "
                          "wmiev_host_remove_device)",
                          id != NULL ? id : "?");
    wmiev__device_delete(pdo, false);
  }
}
