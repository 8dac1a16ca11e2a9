/*
 * The host's PnP manager and its bus driver: plugging a device in
 * (PDO, AddDevice, START) and out (QUERY_REMOVE, REMOVE), with exactly the
 * IRP sequences documented in <wmiev/host.h>.
 *
 * The bus driver sits at the bottom of every stack the host builds, like a
 * root enumerator: it completes PnP and power IRPs with success (a PDO has
 * nothing to start or stop) and anything else, WMI included, with the status
 * it carries — so an IRP nobody above handled ends as the sender set it up.
 */
#include "host_private.h"

static NTSTATUS bus_dispatch_pnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)DeviceObject;
  Irp->IoStatus.Status = STATUS_SUCCESS;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return STATUS_SUCCESS;
}

static NTSTATUS bus_dispatch_power(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)DeviceObject;
  PoStartNextPowerIrp(Irp);
  Irp->IoStatus.Status = STATUS_SUCCESS;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return STATUS_SUCCESS;
}

static NTSTATUS bus_dispatch_other(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)DeviceObject;
  NTSTATUS status = Irp->IoStatus.Status;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return status;
}

static NTSTATUS bus_dispatch_create_close(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  (void)DeviceObject;
  Irp->IoStatus.Status = STATUS_SUCCESS;
  Irp->IoStatus.Information = 0;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return STATUS_SUCCESS;
}

NTSTATUS wmiev__bus_driver_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  (void)RegistryPath;
  for (size_t i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
    DriverObject->MajorFunction[i] = bus_dispatch_other;
  }
  DriverObject->MajorFunction[IRP_MJ_CREATE] = bus_dispatch_create_close;
  DriverObject->MajorFunction[IRP_MJ_CLOSE] = bus_dispatch_create_close;
  DriverObject->MajorFunction[IRP_MJ_PNP] = bus_dispatch_pnp;
  DriverObject->MajorFunction[IRP_MJ_POWER] = bus_dispatch_power;
  return STATUS_SUCCESS;
}

/* ---- Sending a PnP IRP and waiting for it --------------------------------------------------- */

typedef struct send_ctx {
  KEVENT done;
  NTSTATUS status;
} send_ctx;

static void on_final(PIRP irp, void *ctx) {
  send_ctx *c = ctx;
  c->status = irp->IoStatus.Status;
  KeSetEvent(&c->done, IO_NO_INCREMENT, FALSE);
}

NTSTATUS wmiev__host_send_pnp(PDEVICE_OBJECT device, UCHAR minor) {
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(device);
  if (top == NULL) {
    return STATUS_NO_SUCH_DEVICE;
  }
  /* The context outlives this call if the driver never completes the IRP. */
  send_ctx *ctx = wmiev__host_alloc(sizeof *ctx);
  PIRP irp = ctx != NULL ? wmiev__irp_allocate(top->StackSize) : NULL;
  if (irp == NULL) {
    wmiev__host_free(ctx, sizeof *ctx);
    ObDereferenceObject(top);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  KeInitializeEvent(&ctx->done, NotificationEvent, FALSE);
  irp->IoStatus.Status = STATUS_NOT_SUPPORTED; /* what the PnP manager starts with */
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = IRP_MJ_PNP;
  next->MinorFunction = minor;
  wmiev__irp_on_final_completion(irp, on_final, ctx);

  NTSTATUS returned = IoCallDriver(top, irp);
  LARGE_INTEGER timeout;
  timeout.QuadPart = -(LONGLONG)wmiev__host_irp_timeout_ms() * 10000;
  NTSTATUS result;
  if (returned == STATUS_PENDING) {
    (void)KeWaitForSingleObject(&ctx->done, Executive, KernelMode, FALSE, NULL);
    result = ctx->status;
  } else if (KeWaitForSingleObject(&ctx->done, Executive, KernelMode, FALSE, &timeout) ==
             STATUS_SUCCESS) {
    result = ctx->status;
  } else {
    /* Returned without completing or pending: the IRP is in limbo. Leak it
     * (and the context) rather than free memory a driver may still use. */
    wmiev__host_violation(WMIEV_HOST_RULE_IRP,
                          "PnP IRP (minor 0x%02x) to driver %s: the dispatch routine returned %s "
                          "without completing or pending it",
                          (unsigned)minor, wmiev__driver_name(top->DriverObject),
                          wmiev_status_name(returned));
    ObDereferenceObject(top);
    return STATUS_DRIVER_INTERNAL_ERROR;
  }
  wmiev__host_free(ctx, sizeof *ctx);
  ObDereferenceObject(top);
  return result;
}

/* ---- Plugging in and out
 * -------------------------------------------------------------------------- */

/* Longest device instance id wmiev_host_add_device takes, in UTF-16 units. */
#define MAX_INSTANCE_ID 511

static bool is_host_pdo(PDEVICE_OBJECT pdo) {
  return wmiev__pdo_instance_id(pdo) != NULL && pdo->DriverObject == wmiev__host_bus_driver();
}

NTSTATUS wmiev_host_add_device(PDRIVER_OBJECT driver, PCWSTR device_instance_id,
                               PDEVICE_OBJECT *pdo) {
  if (pdo != NULL) {
    *pdo = NULL;
  }
  if (driver == NULL || device_instance_id == NULL || pdo == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  wmiev__host_ensure();
  if (wmiev__driver_private_of(driver) == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  if (driver->DriverExtension->AddDevice == NULL) {
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "wmiev_host_add_device");
  char id[3 * MAX_INSTANCE_ID + 1]; /* UTF-8 takes at most 3 bytes per UTF-16 unit */
  NTSTATUS status =
      wmiev__wide_name_to_utf8(device_instance_id, MAX_INSTANCE_ID, id, sizeof id, NULL);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  PDEVICE_OBJECT new_pdo = NULL;
  status = wmiev__device_create_pdo(wmiev__host_bus_driver(), id, &new_pdo);
  if (!NT_SUCCESS(status)) {
    return status;
  }

  PDRIVER_OBJECT previous = wmiev__driver_enter(driver);
  status = driver->DriverExtension->AddDevice(driver, new_pdo);
  wmiev__driver_leave(previous);
  if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRQL, "AddDevice of %s returned at IRQL %u",
                          wmiev__driver_name(driver), (unsigned)KeGetCurrentIrql());
    wmiev__irql_set(PASSIVE_LEVEL);
  }
  if (!NT_SUCCESS(status)) {
    if (new_pdo->AttachedDevice != NULL) {
      wmiev__host_violation(WMIEV_HOST_RULE_DEVICE,
                            "AddDevice of %s failed (%s) but left a device attached to the PDO",
                            wmiev__driver_name(driver), wmiev_status_name(status));
    }
    wmiev__device_delete(new_pdo, false);
    return status;
  }
  /* Devices created in AddDevice are finished by the driver itself. */
  for (PDEVICE_OBJECT dev = new_pdo->AttachedDevice; dev != NULL; dev = dev->AttachedDevice) {
    if ((dev->Flags & DO_DEVICE_INITIALIZING) != 0) {
      wmiev__host_violation(WMIEV_HOST_RULE_DEVICE,
                            "AddDevice of %s returned with DO_DEVICE_INITIALIZING still set on "
                            "its device object (clear it at the end of AddDevice)",
                            wmiev__driver_name(dev->DriverObject));
    }
  }

  status = wmiev__host_send_pnp(new_pdo, IRP_MN_START_DEVICE);
  if (!NT_SUCCESS(status)) {
    /* A stack that fails to start is torn down at once. */
    (void)wmiev__host_send_pnp(new_pdo, IRP_MN_REMOVE_DEVICE);
    wmiev__device_delete(new_pdo, new_pdo->AttachedDevice == NULL);
    return status;
  }
  *pdo = new_pdo;
  return STATUS_SUCCESS;
}

NTSTATUS wmiev_host_remove_device(PDEVICE_OBJECT pdo) {
  if (!is_host_pdo(pdo)) {
    return STATUS_INVALID_PARAMETER;
  }
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "wmiev_host_remove_device");
  NTSTATUS status = wmiev__host_send_pnp(pdo, IRP_MN_QUERY_REMOVE_DEVICE);
  if (!NT_SUCCESS(status)) {
    (void)wmiev__host_send_pnp(pdo, IRP_MN_CANCEL_REMOVE_DEVICE);
    return status;
  }
  (void)wmiev__host_send_pnp(pdo, IRP_MN_REMOVE_DEVICE);
  PDEVICE_OBJECT upper = pdo->AttachedDevice;
  if (upper != NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_DEVICE,
                          "driver %s did not detach and delete its device object on "
                          "IRP_MN_REMOVE_DEVICE",
                          wmiev__driver_name(upper->DriverObject));
  }
  wmiev__device_delete(pdo, false);
  return STATUS_SUCCESS;
}
