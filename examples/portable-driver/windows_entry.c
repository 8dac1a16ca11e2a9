/*
 * wmiev-portable.sys: the Windows host of the portable provider thermo.c
 * (the Linux host is linux_main.c). Plain WDM glue, written against
 * mingw-w64's <ddk/wdm.h>: the WMI code itself is all in thermo.c, through
 * the portable API that the kernel build of libwmiev forwards to
 * IoWMIRegistrationControl, WmiSystemControl, WmiFireEvent and
 * IoWMIWriteEvent (docs/windows.md). Both sets of headers coexist in one
 * translation unit because libwmiev's kernel build makes wmiev's wire
 * headers use the system's (WMIEV_USE_SYSTEM_WMISTR).
 *
 *   DriverEntry            one wmiev bus for the driver
 *   AddDevice              FDO attached to the PDO's stack
 *   IRP_MN_START_DEVICE    lower drivers first, then thermo_start (register
 *                          with WMI) and a one-second timer
 *   IRP_MJ_SYSTEM_CONTROL  wmiev_provider_system_control, or forward
 *   timer DPC              thermo_fire at DISPATCH_LEVEL: WmiFireEvent runs
 *                          there; the IoWMIWriteEvent form (alarm readings)
 *                          is deferred by the library to a work item
 *   surprise removal       timer off, deregister from WMI
 *   IRP_MN_REMOVE_DEVICE   the same if not done yet, wait for every IRP
 *                          holding the remove lock, then thermo_stop
 *
 * No code is pageable (mingw-w64 has no #pragma alloc_text).
 */
#include <ddk/wdm.h>

#include "thermo.h"

/* Pool tag of the glue itself (libwmiev uses its own), shown as "WmPo". */
#define PORTABLE_POOL_TAG                                                                          \
  ((ULONG)'W' | ((ULONG)'m' << 8) | ((ULONG)'P' << 16) | ((ULONG)'o' << 24))

/* Simulated readings: 20, 25, ..., 100 C, then again; one per second. */
#define PORTABLE_PERIOD_MS 1000
#define PORTABLE_DUE_TIME (-10LL * 1000 * PORTABLE_PERIOD_MS)
#define PORTABLE_MIN_CELSIUS 20
#define PORTABLE_MAX_CELSIUS 100
#define PORTABLE_STEP_CELSIUS 5

typedef struct _PORTABLE_EXTENSION {
  PDEVICE_OBJECT Self;
  PDEVICE_OBJECT LowerDevice;
  IO_REMOVE_LOCK RemoveLock;
  thermo *Thermo;        /* set on PASSIVE_LEVEL PnP paths; read by dispatch and the DPC */
  BOOLEAN Registered;    /* registered with WMI (PnP paths only) */
  BOOLEAN TimerRunning;  /* PnP paths only */
  volatile LONG Celsius; /* the next simulated reading */
  KTIMER Timer;
  KDPC TimerDpc;
} PORTABLE_EXTENSION, *PPORTABLE_EXTENSION;

/* The driver's bus: created in DriverEntry, destroyed at unload. */
static wmiev_bus *PortableBus;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD PortableUnload;
static DRIVER_ADD_DEVICE PortableAddDevice;
static DRIVER_DISPATCH PortableDispatchPnp;
static DRIVER_DISPATCH PortableDispatchPower;
static DRIVER_DISPATCH PortableDispatchSystemControl;
static KDEFERRED_ROUTINE PortableTimerDpc;

/* ---- Readings ------------------------------------------------------------------------------- */

/* DISPATCH_LEVEL. thermo_fire fires only while WMI has the event enabled. */
static VOID NTAPI PortableTimerDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2) {
  PPORTABLE_EXTENSION ext = (PPORTABLE_EXTENSION)Context;
  UNREFERENCED_PARAMETER(Dpc);
  UNREFERENCED_PARAMETER(Arg1);
  UNREFERENCED_PARAMETER(Arg2);
  LONG celsius = ext->Celsius;
  LONG next = celsius + PORTABLE_STEP_CELSIUS;
  InterlockedExchange(&ext->Celsius, next > PORTABLE_MAX_CELSIUS ? PORTABLE_MIN_CELSIUS : next);
  (void)thermo_fire(ext->Thermo, (int32_t)celsius);
}

/* PASSIVE_LEVEL. After it returns no DPC runs (deferred IoWMIWriteEvent work
 * items may still: thermo_stop waits for them). */
static VOID PortableStopReadings(PPORTABLE_EXTENSION Ext) {
  if (Ext->TimerRunning) {
    KeCancelTimer(&Ext->Timer);
    KeFlushQueuedDpcs();
    Ext->TimerRunning = FALSE;
  }
}

/* PASSIVE_LEVEL, never inside IRP_MJ_SYSTEM_CONTROL: DEREGISTER waits for
 * the WMI IRPs in flight to this device. */
static VOID PortableDeregister(PPORTABLE_EXTENSION Ext) {
  PortableStopReadings(Ext);
  if (Ext->Registered) {
    (void)wmiev_registration_control(wmiev_provider_device(thermo_provider(Ext->Thermo)),
                                     WMIREG_ACTION_DEREGISTER, NULL);
    Ext->Registered = FALSE;
  }
}

/* PASSIVE_LEVEL, after the lower drivers started the device. */
static NTSTATUS PortableStart(PPORTABLE_EXTENSION Ext) {
  if (Ext->Thermo == NULL) {
    /* Creates and registers; sets Ext->Thermo first, for the REGINFO request
     * that may arrive in PortableDispatchSystemControl meanwhile. */
    NTSTATUS status = thermo_start(PortableBus, Ext->Self, &Ext->Thermo);
    if (!NT_SUCCESS(status)) {
      return status;
    }
    Ext->Registered = TRUE;
  } else if (!Ext->Registered) {
    NTSTATUS status = wmiev_registration_control(
        wmiev_provider_device(thermo_provider(Ext->Thermo)), WMIREG_ACTION_REGISTER, NULL);
    if (!NT_SUCCESS(status)) {
      return status;
    }
    Ext->Registered = TRUE;
  }
  if (!Ext->TimerRunning) {
    LARGE_INTEGER due;
    due.QuadPart = PORTABLE_DUE_TIME;
    InterlockedExchange(&Ext->Celsius, PORTABLE_MIN_CELSIUS);
    KeSetTimerEx(&Ext->Timer, due, PORTABLE_PERIOD_MS, &Ext->TimerDpc);
    Ext->TimerRunning = TRUE;
  }
  return STATUS_SUCCESS;
}

/* ---- Dispatch routines ---------------------------------------------------------------------- */

static NTSTATUS PortableCompleteIrp(PIRP Irp, NTSTATUS Status) {
  Irp->IoStatus.Status = Status;
  Irp->IoStatus.Information = 0;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return Status;
}

/* PASSIVE_LEVEL. The remove lock keeps thermo alive: it is freed only after
 * IRP_MN_REMOVE_DEVICE has waited for every holder. */
static NTSTATUS NTAPI PortableDispatchSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PPORTABLE_EXTENSION ext = (PPORTABLE_EXTENSION)DeviceObject->DeviceExtension;
  NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  if (!NT_SUCCESS(status)) {
    return PortableCompleteIrp(Irp, status);
  }
  if (ext->Thermo != NULL) {
    /* WmiSystemControl + every disposition, in the library. */
    status = wmiev_provider_system_control(thermo_provider(ext->Thermo), Irp);
  } else {
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->LowerDevice, Irp);
  }
  IoReleaseRemoveLock(&ext->RemoveLock, Irp);
  return status;
}

static NTSTATUS NTAPI PortableDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PPORTABLE_EXTENSION ext = (PPORTABLE_EXTENSION)DeviceObject->DeviceExtension;
  NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  PoStartNextPowerIrp(Irp); /* needed before Windows Vista, harmless after */
  if (!NT_SUCCESS(status)) {
    return PortableCompleteIrp(Irp, status);
  }
  IoSkipCurrentIrpStackLocation(Irp);
  status = PoCallDriver(ext->LowerDevice, Irp);
  IoReleaseRemoveLock(&ext->RemoveLock, Irp);
  return status;
}

static NTSTATUS NTAPI PortableDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PPORTABLE_EXTENSION ext = (PPORTABLE_EXTENSION)DeviceObject->DeviceExtension;
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  if (!NT_SUCCESS(status)) {
    return PortableCompleteIrp(Irp, status);
  }

  switch (stack->MinorFunction) {
  case IRP_MN_START_DEVICE:
    if (IoForwardIrpSynchronously(ext->LowerDevice, Irp)) {
      status = Irp->IoStatus.Status;
    } else {
      status = STATUS_UNSUCCESSFUL;
    }
    if (NT_SUCCESS(status)) {
      status = PortableStart(ext);
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return PortableCompleteIrp(Irp, status);

  case IRP_MN_SURPRISE_REMOVAL:
    PortableDeregister(ext);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    break;

  case IRP_MN_REMOVE_DEVICE:
    PortableDeregister(ext);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->LowerDevice, Irp);
    /* Every dispatch routine that could still use thermo has finished. */
    IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
    if (ext->Thermo != NULL) {
      (void)thermo_stop(ext->Thermo); /* waits for deferred events */
      ext->Thermo = NULL;
    }
    IoDetachDevice(ext->LowerDevice);
    IoDeleteDevice(DeviceObject);
    return status;

  case IRP_MN_QUERY_REMOVE_DEVICE:
  case IRP_MN_CANCEL_REMOVE_DEVICE:
  case IRP_MN_QUERY_STOP_DEVICE:
  case IRP_MN_CANCEL_STOP_DEVICE:
  case IRP_MN_STOP_DEVICE:
    Irp->IoStatus.Status = STATUS_SUCCESS;
    break;

  default:
    break;
  }

  IoSkipCurrentIrpStackLocation(Irp);
  status = IoCallDriver(ext->LowerDevice, Irp);
  IoReleaseRemoveLock(&ext->RemoveLock, Irp);
  return status;
}

/* ---- Driver and device objects ------------------------------------------------------------- */

static NTSTATUS NTAPI PortableAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo) {
  PDEVICE_OBJECT fdo = NULL;
  NTSTATUS status = IoCreateDevice(DriverObject, sizeof(PORTABLE_EXTENSION), NULL,
                                   FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  PPORTABLE_EXTENSION ext = (PPORTABLE_EXTENSION)fdo->DeviceExtension;
  RtlZeroMemory(ext, sizeof *ext);
  ext->Self = fdo;
  IoInitializeRemoveLock(&ext->RemoveLock, PORTABLE_POOL_TAG, 0, 0);
  KeInitializeTimerEx(&ext->Timer, NotificationTimer);
  KeInitializeDpc(&ext->TimerDpc, PortableTimerDpc, ext);
  ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, Pdo);
  if (ext->LowerDevice == NULL) {
    IoDeleteDevice(fdo);
    return STATUS_NO_SUCH_DEVICE;
  }
  fdo->Flags |= DO_POWER_PAGABLE;
  fdo->Flags &= ~DO_DEVICE_INITIALIZING;
  return STATUS_SUCCESS;
}

static VOID NTAPI PortableUnload(PDRIVER_OBJECT DriverObject) {
  UNREFERENCED_PARAMETER(DriverObject);
  wmiev_bus_destroy(PortableBus); /* every device, hence every provider, is gone */
  PortableBus = NULL;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  UNREFERENCED_PARAMETER(RegistryPath); /* the library answers WMI with the service key */
  NTSTATUS status = wmiev_bus_create(NULL, &PortableBus);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  DriverObject->DriverUnload = PortableUnload;
  DriverObject->DriverExtension->AddDevice = PortableAddDevice;
  DriverObject->MajorFunction[IRP_MJ_PNP] = PortableDispatchPnp;
  DriverObject->MajorFunction[IRP_MJ_POWER] = PortableDispatchPower;
  DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = PortableDispatchSystemControl;

  char guidText[WMIEV_GUID_STRING_SIZE];
  (void)wmiev_guid_format(&thermo_reading_guid, guidText);
  DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL,
             "wmiev-portable: libwmiev %s, reading event %s\n", wmiev_version_string(), guidText);
  return STATUS_SUCCESS;
}
