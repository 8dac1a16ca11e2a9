/*
 * wmiev-example.sys: a small WDM function driver that provides one WMI event
 * block, written against the real kernel headers (mingw-w64's <ddk/wdm.h>,
 * <wmistr.h>, <ddk/wmilib.h>), not wmiev's. Built by the Windows kernel
 * branch of the project (docs/windows.md); it links libwmiev to show that
 * the library's pure core runs in a driver.
 *
 * What it does:
 *   - AddDevice creates a device object and attaches it to the PDO's stack;
 *     IRP_MN_START_DEVICE registers it with WMI (IoWMIRegistrationControl
 *     WMIREG_ACTION_REGISTER), surprise removal or removal deregisters it.
 *   - IRP_MJ_SYSTEM_CONTROL goes through WmiSystemControl with a
 *     WMILIB_CONTEXT describing one event-only block whose single static
 *     instance is named after the PDO.
 *   - While WMI has the event enabled (IRP_MN_ENABLE_EVENTS .. DISABLE_EVENTS,
 *     seen in DpWmiFunctionControl), a one-second periodic timer fires the
 *     event, alternating between the two ways a driver can: WmiFireEvent
 *     straight from the DPC (allowed at DISPATCH_LEVEL), and IoWMIWriteEvent
 *     with a hand-built WNODE_SINGLE_INSTANCE from a work item (it needs
 *     IRQL <= APC_LEVEL).
 *
 * The event class, as a driver would declare it in its MOF (this example
 * ships no binary MOF resource, so the class is unknown to WMI's COM side
 * until one is added; kernel-mode consumers do not need it):
 *
 *   [WMI, Dynamic, Provider("WMIProv"), Description("wmiev example event"),
 *    guid("{efdb039a-46cc-45d1-bb70-1dfe97c57c73}")]
 *   class WmievExample_Event : WMIEvent {
 *     [key, read] string InstanceName;
 *     [read] boolean Active;
 *     [WmiDataId(1), read] uint32 Sequence;  // counts events since enable
 *     [WmiDataId(2), read] uint32 Source;    // 1 WmiFireEvent, 2 IoWMIWriteEvent
 *   };
 *
 * No code is pageable (mingw-w64 has no #pragma alloc_text); everything here
 * runs from nonpaged memory, which the DPC path needs anyway.
 */
#include <ddk/wdm.h>
#include <wmistr.h>
#include <ddk/wmilib.h>

/*
 * For wmiev_guid_format and wmiev_version_string. The kernel build of
 * libwmiev defines WMIEV_USE_SYSTEM_WMISTR for everything that links it, so
 * wmiev's headers take GUID and the WNODE types from the system headers
 * above instead of declaring their own (include/wmiev/wnode.h).
 */
#include <wmiev/wmiev.h>

/* Pool tag, shown as "WmEx" by pool tools. */
#define EXAMPLE_POOL_TAG                                                                          \
  ((ULONG)'W' | ((ULONG)'m' << 8) | ((ULONG)'E' << 16) | ((ULONG)'x' << 24))

/* Events are built in nonpaged pool; no-execute pool exists from Windows 8. */
#if NTDDI_VERSION >= NTDDI_WIN8
#define EXAMPLE_POOL NonPagedPoolNx
#else
#define EXAMPLE_POOL NonPagedPool
#endif

/* Values of the Source item. */
#define EXAMPLE_SOURCE_WMIFIREEVENT 1
#define EXAMPLE_SOURCE_IOWMIWRITEEVENT 2

/* Event timer: period in milliseconds (KeSetTimerEx), first expiry one
 * period from now (negative = relative, in 100-ns units). */
#define EXAMPLE_PERIOD_MS 1000
#define EXAMPLE_DUE_TIME (-10LL * 1000 * EXAMPLE_PERIOD_MS)

/* The data block of WmievExample_Event (items in WmiDataId order). */
typedef struct _EXAMPLE_EVENT_DATA {
  ULONG Sequence;
  ULONG Source;
} EXAMPLE_EVENT_DATA, *PEXAMPLE_EVENT_DATA;

/* {efdb039a-46cc-45d1-bb70-1dfe97c57c73}; nonpaged, as WmiFireEvent requires. */
static const GUID ExampleEventGuid = {
    0xefdb039a, 0x46cc, 0x45d1, {0xbb, 0x70, 0x1d, 0xfe, 0x97, 0xc5, 0x7c, 0x73}};

#define EXAMPLE_EVENT_GUID_INDEX 0

/* The blocks this driver registers: one event-only block, one instance. */
static WMIGUIDREGINFO ExampleGuidList[] = {
    {&ExampleEventGuid, 1, WMIREG_FLAG_EVENT_ONLY_GUID},
};

typedef struct _EXAMPLE_EXTENSION {
  PDEVICE_OBJECT Self;
  PDEVICE_OBJECT Pdo;
  PDEVICE_OBJECT LowerDevice;
  IO_REMOVE_LOCK RemoveLock;
  WMILIB_CONTEXT WmiLib;
  BOOLEAN WmiRegistered; /* touched on PASSIVE_LEVEL PnP paths only */
  volatile LONG EventsEnabled;
  volatile LONG Sequence;       /* Sequence item of the last event */
  volatile LONG Ticks;          /* timer ticks since the event was enabled */
  volatile LONG WorkItemQueued; /* at most one IoWMIWriteEvent work item */
  KTIMER Timer;
  KDPC TimerDpc;
} EXAMPLE_EXTENSION, *PEXAMPLE_EXTENSION;

/* Copy of the DriverEntry registry path, handed to WMI in DpWmiQueryReginfo. */
static UNICODE_STRING ExampleRegistryPath;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ExampleUnload;
static DRIVER_ADD_DEVICE ExampleAddDevice;
static DRIVER_DISPATCH ExampleDispatchPnp;
static DRIVER_DISPATCH ExampleDispatchPower;
static DRIVER_DISPATCH ExampleDispatchSystemControl;
static KDEFERRED_ROUTINE ExampleTimerDpc;
static IO_WORKITEM_ROUTINE_EX ExampleWriteEventWorker;
static WMI_QUERY_REGINFO_CALLBACK ExampleQueryWmiRegInfo;
static WMI_QUERY_DATABLOCK_CALLBACK ExampleQueryWmiDataBlock;
static WMI_FUNCTION_CONTROL_CALLBACK ExampleWmiFunctionControl;

/* ---- Events ------------------------------------------------------------- */

/* DISPATCH_LEVEL. WmiFireEvent wraps the data in a WNODE_SINGLE_INSTANCE
 * (static instance 0) and sends it with IoWMIWriteEvent. */
static VOID ExampleFireWithWmiLib(PEXAMPLE_EXTENSION Ext, ULONG Sequence) {
  PEXAMPLE_EVENT_DATA data =
      (PEXAMPLE_EVENT_DATA)ExAllocatePoolWithTag(EXAMPLE_POOL, sizeof(*data), EXAMPLE_POOL_TAG);
  if (data == NULL) {
    return;
  }
  data->Sequence = Sequence;
  data->Source = EXAMPLE_SOURCE_WMIFIREEVENT;
  /* The buffer belongs to WMI from here on. The documentation says WMI frees
   * EventData and does not single out failure; freeing it after a failed
   * call could be a double free, so the driver never touches it again. */
  (void)WmiFireEvent(Ext->Self, &ExampleEventGuid, 0, sizeof(*data), data);
}

/* IRQL <= APC_LEVEL. Builds the WNODE itself, as a driver must for what
 * WmiFireEvent cannot express (here it builds the same shape, to show the
 * layout): header, four ULONGs, the data at DataBlockOffset. */
static VOID ExampleFireWithIoWmiWriteEvent(PEXAMPLE_EXTENSION Ext, ULONG Sequence) {
  const ULONG dataOffset = FIELD_OFFSET(WNODE_SINGLE_INSTANCE, VariableData);
  const ULONG size = dataOffset + sizeof(EXAMPLE_EVENT_DATA);
  PWNODE_SINGLE_INSTANCE wnode =
      (PWNODE_SINGLE_INSTANCE)ExAllocatePoolWithTag(EXAMPLE_POOL, size, EXAMPLE_POOL_TAG);
  if (wnode == NULL) {
    return;
  }
  RtlZeroMemory(wnode, size);
  wnode->WnodeHeader.BufferSize = size;
  wnode->WnodeHeader.ProviderId = IoWMIDeviceObjectToProviderId(Ext->Self);
  wnode->WnodeHeader.Guid = ExampleEventGuid;
  KeQuerySystemTime(&wnode->WnodeHeader.TimeStamp);
  /* The instance is static (index 0) and its name comes from the PDO. */
  wnode->WnodeHeader.Flags = WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM |
                             WNODE_FLAG_STATIC_INSTANCE_NAMES | WNODE_FLAG_PDO_INSTANCE_NAMES;
  wnode->InstanceIndex = 0;
  wnode->DataBlockOffset = dataOffset;
  wnode->SizeDataBlock = sizeof(EXAMPLE_EVENT_DATA);
  EXAMPLE_EVENT_DATA data = {Sequence, EXAMPLE_SOURCE_IOWMIWRITEEVENT};
  RtlCopyMemory((PUCHAR)wnode + dataOffset, &data, sizeof(data));

  /* On success WMI owns and frees the WNODE; on failure the caller does. */
  NTSTATUS status = IoWMIWriteEvent(wnode);
  if (!NT_SUCCESS(status)) {
    ExFreePoolWithTag(wnode, EXAMPLE_POOL_TAG);
  }
}

/* PASSIVE_LEVEL work item, queued by the DPC with the remove lock held
 * (tagged with the work item). It frees its own work item; releasing the
 * remove lock is the last touch of the extension, after which
 * IRP_MN_REMOVE_DEVICE may delete the device (the I/O manager keeps the
 * device object referenced until this routine has returned). */
static VOID NTAPI ExampleWriteEventWorker(PVOID IoObject, PVOID Context, PIO_WORKITEM IoWorkItem) {
  PEXAMPLE_EXTENSION ext = (PEXAMPLE_EXTENSION)Context;
  UNREFERENCED_PARAMETER(IoObject);
  if (ext->EventsEnabled) {
    ExampleFireWithIoWmiWriteEvent(ext, (ULONG)InterlockedIncrement(&ext->Sequence));
  }
  InterlockedExchange(&ext->WorkItemQueued, 0);
  IoFreeWorkItem(IoWorkItem);
  IoReleaseRemoveLock(&ext->RemoveLock, IoWorkItem);
}

/* DISPATCH_LEVEL, once per period while the event is enabled: odd ticks
 * fire with WmiFireEvent right here, even ticks hand over to a work item
 * for IoWMIWriteEvent. */
static VOID NTAPI ExampleTimerDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2) {
  PEXAMPLE_EXTENSION ext = (PEXAMPLE_EXTENSION)Context;
  UNREFERENCED_PARAMETER(Dpc);
  UNREFERENCED_PARAMETER(Arg1);
  UNREFERENCED_PARAMETER(Arg2);
  if (!ext->EventsEnabled) {
    return;
  }
  if ((InterlockedIncrement(&ext->Ticks) & 1) != 0) {
    ExampleFireWithWmiLib(ext, (ULONG)InterlockedIncrement(&ext->Sequence));
    return;
  }
  if (InterlockedCompareExchange(&ext->WorkItemQueued, 1, 0) != 0) {
    return; /* the previous one has not run yet */
  }
  PIO_WORKITEM item = IoAllocateWorkItem(ext->Self);
  if (item == NULL) {
    InterlockedExchange(&ext->WorkItemQueued, 0);
    return;
  }
  if (!NT_SUCCESS(IoAcquireRemoveLock(&ext->RemoveLock, item))) {
    IoFreeWorkItem(item); /* removal under way */
    InterlockedExchange(&ext->WorkItemQueued, 0);
    return;
  }
  IoQueueWorkItemEx(item, ExampleWriteEventWorker, DelayedWorkQueue, ext);
}

/* PASSIVE_LEVEL. */
static VOID ExampleStartEvents(PEXAMPLE_EXTENSION Ext) {
  LARGE_INTEGER due;
  due.QuadPart = EXAMPLE_DUE_TIME;
  InterlockedExchange(&Ext->Sequence, 0);
  InterlockedExchange(&Ext->Ticks, 0);
  InterlockedExchange(&Ext->EventsEnabled, 1);
  KeSetTimerEx(&Ext->Timer, due, EXAMPLE_PERIOD_MS, &Ext->TimerDpc);
}

/* PASSIVE_LEVEL. After it returns no DPC runs; a queued work item may still
 * run; it sees EventsEnabled == 0 and only cleans up. */
static VOID ExampleStopEvents(PEXAMPLE_EXTENSION Ext) {
  InterlockedExchange(&Ext->EventsEnabled, 0);
  KeCancelTimer(&Ext->Timer);
  KeFlushQueuedDpcs();
}

/* ---- WMI ----------------------------------------------------------------- */

/* PASSIVE_LEVEL. */
static NTSTATUS ExampleWmiRegister(PEXAMPLE_EXTENSION Ext) {
  if (Ext->WmiRegistered) {
    return STATUS_SUCCESS;
  }
  NTSTATUS status = IoWMIRegistrationControl(Ext->Self, WMIREG_ACTION_REGISTER);
  if (NT_SUCCESS(status)) {
    Ext->WmiRegistered = TRUE;
  }
  return status;
}

/* PASSIVE_LEVEL, never inside IRP_MJ_SYSTEM_CONTROL: DEREGISTER waits for
 * the WMI IRPs in flight to this device. */
static VOID ExampleWmiDeregister(PEXAMPLE_EXTENSION Ext) {
  if (Ext->WmiRegistered) {
    (void)IoWMIRegistrationControl(Ext->Self, WMIREG_ACTION_DEREGISTER);
    Ext->WmiRegistered = FALSE;
  }
  ExampleStopEvents(Ext);
}

/* DpWmiQueryReginfo: static instance names from the PDO, for every block. */
static NTSTATUS NTAPI ExampleQueryWmiRegInfo(PDEVICE_OBJECT DeviceObject, PULONG RegFlags,
                                             PUNICODE_STRING InstanceName,
                                             PUNICODE_STRING *RegistryPath,
                                             PUNICODE_STRING MofResourceName,
                                             PDEVICE_OBJECT *Pdo) {
  PEXAMPLE_EXTENSION ext = (PEXAMPLE_EXTENSION)DeviceObject->DeviceExtension;
  UNREFERENCED_PARAMETER(InstanceName);
  UNREFERENCED_PARAMETER(MofResourceName); /* no MOF resource in this image */
  *RegFlags = WMIREG_FLAG_INSTANCE_PDO;
  *RegistryPath = &ExampleRegistryPath;
  *Pdo = ext->Pdo;
  return STATUS_SUCCESS;
}

/* DpWmiQueryDataBlock. The only block is event-only: WMI never queries it. */
static NTSTATUS NTAPI ExampleQueryWmiDataBlock(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                               ULONG GuidIndex, ULONG InstanceIndex,
                                               ULONG InstanceCount, PULONG InstanceLengthArray,
                                               ULONG BufferAvail, PUCHAR Buffer) {
  UNREFERENCED_PARAMETER(InstanceIndex);
  UNREFERENCED_PARAMETER(InstanceCount);
  UNREFERENCED_PARAMETER(InstanceLengthArray);
  UNREFERENCED_PARAMETER(BufferAvail);
  UNREFERENCED_PARAMETER(Buffer);
  NTSTATUS status = GuidIndex == EXAMPLE_EVENT_GUID_INDEX ? STATUS_INVALID_DEVICE_REQUEST
                                                           : STATUS_WMI_GUID_NOT_FOUND;
  return WmiCompleteRequest(DeviceObject, Irp, status, 0, IO_NO_INCREMENT);
}

/* DpWmiFunctionControl: WMI enables the event for the first consumer and
 * disables it after the last one; it never sends two enables in a row. */
static NTSTATUS NTAPI ExampleWmiFunctionControl(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                ULONG GuidIndex, WMIENABLEDISABLECONTROL Function,
                                                BOOLEAN Enable) {
  PEXAMPLE_EXTENSION ext = (PEXAMPLE_EXTENSION)DeviceObject->DeviceExtension;
  NTSTATUS status = STATUS_SUCCESS;
  if (GuidIndex >= ARRAYSIZE(ExampleGuidList)) {
    status = STATUS_WMI_GUID_NOT_FOUND;
  } else if (Function == WmiEventControl) {
    if (Enable) {
      ExampleStartEvents(ext);
    } else {
      ExampleStopEvents(ext);
    }
  }
  /* WmiDataBlockControl: the block is not EXPENSIVE, nothing to collect. */
  return WmiCompleteRequest(DeviceObject, Irp, status, 0, IO_NO_INCREMENT);
}

/* ---- Dispatch routines ----------------------------------------------------- */

static NTSTATUS ExampleCompleteIrp(PIRP Irp, NTSTATUS Status) {
  Irp->IoStatus.Status = Status;
  Irp->IoStatus.Information = 0;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return Status;
}

static NTSTATUS NTAPI ExampleDispatchSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PEXAMPLE_EXTENSION ext = (PEXAMPLE_EXTENSION)DeviceObject->DeviceExtension;
  NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  if (!NT_SUCCESS(status)) {
    return ExampleCompleteIrp(Irp, status);
  }
  SYSCTL_IRP_DISPOSITION disposition = IrpForward;
  status = WmiSystemControl(&ext->WmiLib, DeviceObject, Irp, &disposition);
  switch (disposition) {
  case IrpProcessed:
    /* A DpWmiXxx routine completed it with WmiCompleteRequest. */
    break;
  case IrpNotCompleted:
    /* WMI filled in the status (an error, or IRP_MN_REGINFO(_EX)). */
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    break;
  case IrpForward:   /* for another device object's provider id */
  case IrpNotWmi:    /* not a WMI minor code: nothing here to handle it */
  default:
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->LowerDevice, Irp);
    break;
  }
  IoReleaseRemoveLock(&ext->RemoveLock, Irp);
  return status;
}

static NTSTATUS NTAPI ExampleDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PEXAMPLE_EXTENSION ext = (PEXAMPLE_EXTENSION)DeviceObject->DeviceExtension;
  NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  PoStartNextPowerIrp(Irp); /* needed before Windows Vista, harmless after */
  if (!NT_SUCCESS(status)) {
    return ExampleCompleteIrp(Irp, status);
  }
  IoSkipCurrentIrpStackLocation(Irp);
  status = PoCallDriver(ext->LowerDevice, Irp);
  IoReleaseRemoveLock(&ext->RemoveLock, Irp);
  return status;
}

static NTSTATUS NTAPI ExampleDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PEXAMPLE_EXTENSION ext = (PEXAMPLE_EXTENSION)DeviceObject->DeviceExtension;
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  if (!NT_SUCCESS(status)) {
    return ExampleCompleteIrp(Irp, status);
  }

  switch (stack->MinorFunction) {
  case IRP_MN_START_DEVICE:
    /* The lower drivers start first; then the device is a WMI provider. */
    if (IoForwardIrpSynchronously(ext->LowerDevice, Irp)) {
      status = Irp->IoStatus.Status;
    } else {
      status = STATUS_UNSUCCESSFUL;
    }
    if (NT_SUCCESS(status)) {
      status = ExampleWmiRegister(ext);
    }
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return ExampleCompleteIrp(Irp, status);

  case IRP_MN_SURPRISE_REMOVAL:
    /* Deregister now; IRP_MN_REMOVE_DEVICE then does not do it again. */
    ExampleWmiDeregister(ext);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    break;

  case IRP_MN_REMOVE_DEVICE:
    ExampleWmiDeregister(ext);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->LowerDevice, Irp);
    /* Waits for every other holder: dispatch routines and a queued work item. */
    IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
    IoDetachDevice(ext->LowerDevice);
    IoDeleteDevice(DeviceObject);
    return status;

  case IRP_MN_QUERY_REMOVE_DEVICE:
  case IRP_MN_CANCEL_REMOVE_DEVICE:
  case IRP_MN_QUERY_STOP_DEVICE:
  case IRP_MN_CANCEL_STOP_DEVICE:
  case IRP_MN_STOP_DEVICE:
    /* Nothing to release or refuse; a function driver says so explicitly. */
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

/* ---- Driver and device objects ------------------------------------------- */

static NTSTATUS NTAPI ExampleAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Pdo) {
  PDEVICE_OBJECT fdo = NULL;
  NTSTATUS status = IoCreateDevice(DriverObject, sizeof(EXAMPLE_EXTENSION), NULL,
                                   FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  PEXAMPLE_EXTENSION ext = (PEXAMPLE_EXTENSION)fdo->DeviceExtension;
  RtlZeroMemory(ext, sizeof(*ext));
  ext->Self = fdo;
  ext->Pdo = Pdo;
  IoInitializeRemoveLock(&ext->RemoveLock, EXAMPLE_POOL_TAG, 0, 0);
  KeInitializeTimerEx(&ext->Timer, NotificationTimer);
  KeInitializeDpc(&ext->TimerDpc, ExampleTimerDpc, ext);

  ext->WmiLib.GuidCount = ARRAYSIZE(ExampleGuidList);
  ext->WmiLib.GuidList = ExampleGuidList;
  ext->WmiLib.QueryWmiRegInfo = ExampleQueryWmiRegInfo;
  ext->WmiLib.QueryWmiDataBlock = ExampleQueryWmiDataBlock;
  ext->WmiLib.SetWmiDataBlock = NULL;  /* STATUS_WMI_READ_ONLY */
  ext->WmiLib.SetWmiDataItem = NULL;   /* STATUS_WMI_READ_ONLY */
  ext->WmiLib.ExecuteWmiMethod = NULL; /* STATUS_INVALID_DEVICE_REQUEST */
  ext->WmiLib.WmiFunctionControl = ExampleWmiFunctionControl;

  ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, Pdo);
  if (ext->LowerDevice == NULL) {
    IoDeleteDevice(fdo);
    return STATUS_NO_SUCH_DEVICE;
  }
  fdo->Flags |= DO_POWER_PAGABLE;
  fdo->Flags &= ~DO_DEVICE_INITIALIZING;
  return STATUS_SUCCESS;
}

static VOID NTAPI ExampleUnload(PDRIVER_OBJECT DriverObject) {
  UNREFERENCED_PARAMETER(DriverObject);
  if (ExampleRegistryPath.Buffer != NULL) {
    ExFreePoolWithTag(ExampleRegistryPath.Buffer, EXAMPLE_POOL_TAG);
    ExampleRegistryPath.Buffer = NULL;
  }
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  /* WMI keeps using the registry path after DriverEntry returns. */
  ExampleRegistryPath.Length = 0;
  ExampleRegistryPath.MaximumLength = RegistryPath->Length;
  ExampleRegistryPath.Buffer = (PWCH)ExAllocatePoolWithTag(
      EXAMPLE_POOL, RegistryPath->Length != 0 ? RegistryPath->Length : sizeof(WCHAR),
      EXAMPLE_POOL_TAG);
  if (ExampleRegistryPath.Buffer == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  RtlCopyUnicodeString(&ExampleRegistryPath, RegistryPath);

  DriverObject->DriverUnload = ExampleUnload;
  DriverObject->DriverExtension->AddDevice = ExampleAddDevice;
  DriverObject->MajorFunction[IRP_MJ_PNP] = ExampleDispatchPnp;
  DriverObject->MajorFunction[IRP_MJ_POWER] = ExampleDispatchPower;
  DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = ExampleDispatchSystemControl;

  char guidText[WMIEV_GUID_STRING_SIZE];
  (void)wmiev_guid_format(&ExampleEventGuid, guidText);
  DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL,
             "wmiev-example: libwmiev %s, event block %s\n", wmiev_version_string(), guidText);
  return STATUS_SUCCESS;
}
