/*++

Module Name:

    toaster.c

Abstract:

    WDM function driver prototype for a toaster device, with WMI.

    - DriverEntry sets the unload routine, AddDevice and the dispatch
      routines (create/close, PnP, power, system control) and keeps a copy
      of the registry path for WMI.
    - AddDevice creates the FDO, attaches it to the PDO's stack and sets up
      the remove lock and the WMILIB_CONTEXT.
    - IRP_MN_START_DEVICE is forwarded down synchronously (event and
      completion routine); once the lower drivers have started the device,
      the driver registers with WMI, and fires the arrival event right away
      if WMI already has it enabled.
    - IRP_MN_SURPRISE_REMOVAL and IRP_MN_REMOVE_DEVICE deregister (once);
      removal then waits on the remove lock, detaches and deletes the FDO.
    - IRP_MJ_SYSTEM_CONTROL goes through WmiSystemControl; the DpWmiXxx
      callbacks below implement the three blocks described in toaster.h.

Environment:

    Kernel mode

--*/

#include <wdm.h>
#include <wmistr.h>
#include <wmilib.h>

#include <initguid.h>   // instantiates the GUIDs of toaster.h, here only
#include "toaster.h"

//
// Round up to a multiple of 8: instance data in a WNODE starts on an
// 8-byte boundary.
//
#define TOASTER_ALIGN8(x)   (((x) + 7) & ~(ULONG)7)

//
// Driver-wide state.
//
static UNICODE_STRING ToasterRegistryPath;      // copy, handed to WMI
static volatile LONG ToasterLastDeviceNumber = -1;

//
// The blocks this driver registers. The GUID pointers must reference
// nonpaged memory because the same pointer is passed to WmiFireEvent.
//
static WMIGUIDREGINFO ToasterWmiGuidList[TOASTER_WMI_GUID_COUNT] = {
    { &GUID_TOASTER_DEVICE_INFORMATION,     1, 0 },
    { &GUID_TOASTER_STATISTICS,             1, WMIREG_FLAG_EXPENSIVE },
    { &GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL,  1, WMIREG_FLAG_EVENT_ONLY_GUID },
};

//
// Routine declarations.
//
static DRIVER_UNLOAD ToasterUnload;
static DRIVER_ADD_DEVICE ToasterAddDevice;
static DRIVER_DISPATCH ToasterDispatchCreateClose;
static DRIVER_DISPATCH ToasterDispatchPnp;
static DRIVER_DISPATCH ToasterDispatchPower;
static DRIVER_DISPATCH ToasterDispatchSystemControl;
static IO_COMPLETION_ROUTINE ToasterSyncCompletion;

static WMI_QUERY_REGINFO_CALLBACK ToasterQueryWmiRegInfo;
static WMI_QUERY_DATABLOCK_CALLBACK ToasterQueryWmiDataBlock;
static WMI_SET_DATABLOCK_CALLBACK ToasterSetWmiDataBlock;
static WMI_SET_DATAITEM_CALLBACK ToasterSetWmiDataItem;
static WMI_EXECUTE_METHOD_CALLBACK ToasterExecuteWmiMethod;
static WMI_FUNCTION_CONTROL_CALLBACK ToasterWmiFunctionControl;

static NTSTATUS
ToasterSendIrpSynchronously(
    __in PDEVICE_OBJECT TargetDevice,
    __in PIRP Irp
    );

static NTSTATUS
ToasterStartDevice(
    __in PTOASTER_FDO_DATA FdoData
    );

static NTSTATUS
ToasterWmiRegister(
    __in PTOASTER_FDO_DATA FdoData
    );

static VOID
ToasterWmiDeregister(
    __in PTOASTER_FDO_DATA FdoData
    );

static USHORT
ToasterBuildInstanceName(
    __out_bcount(Capacity * sizeof(WCHAR)) PWCHAR Name,
    __in ULONG Capacity,
    __in ULONG Number
    );

static VOID
ToasterCountStatistic(
    _In_ PTOASTER_FDO_DATA FdoData,
    _Inout_ volatile LONG *Counter
    );

static NTSTATUS
ToasterCheckSetTarget(
    _In_ ULONG GuidIndex,
    _In_ ULONG InstanceIndex
    );

static VOID
ToasterSetDebugPrintLevel(
    _In_ PTOASTER_FDO_DATA FdoData,
    _In_ ULONG Value
    );

static NTSTATUS
ToasterCompleteIrp(
    _Inout_ PIRP Irp,
    _In_ NTSTATUS Status
    );

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, ToasterUnload)
#pragma alloc_text(PAGE, ToasterAddDevice)
#pragma alloc_text(PAGE, ToasterDispatchCreateClose)
#pragma alloc_text(PAGE, ToasterDispatchPnp)
#pragma alloc_text(PAGE, ToasterDispatchSystemControl)
#pragma alloc_text(PAGE, ToasterSendIrpSynchronously)
#pragma alloc_text(PAGE, ToasterStartDevice)
#pragma alloc_text(PAGE, ToasterWmiRegister)
#pragma alloc_text(PAGE, ToasterWmiDeregister)
#pragma alloc_text(PAGE, ToasterQueryWmiRegInfo)
#pragma alloc_text(PAGE, ToasterQueryWmiDataBlock)
#pragma alloc_text(PAGE, ToasterSetWmiDataBlock)
#pragma alloc_text(PAGE, ToasterSetWmiDataItem)
#pragma alloc_text(PAGE, ToasterExecuteWmiMethod)
#pragma alloc_text(PAGE, ToasterWmiFunctionControl)
#pragma alloc_text(PAGE, ToasterBuildInstanceName)
#pragma alloc_text(PAGE, ToasterFireArrival)
#endif

// ===========================================================================
// Driver object
// ===========================================================================

NTSTATUS
NTAPI
DriverEntry(
    _In_ PDRIVER_OBJECT DriverObject,
    _In_ PUNICODE_STRING RegistryPath
    )
{
    KdPrint(("Toaster: DriverEntry\n"));

    //
    // WMI uses the registry path after DriverEntry returns: keep a copy.
    //
    ToasterRegistryPath.Length = 0;
    ToasterRegistryPath.MaximumLength =
        (USHORT)(RegistryPath->Length + sizeof(WCHAR));
    ToasterRegistryPath.Buffer = (PWCH)ExAllocatePoolWithTag(
        PagedPool, ToasterRegistryPath.MaximumLength, TOASTER_POOL_TAG);
    if (ToasterRegistryPath.Buffer == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    RtlZeroMemory(ToasterRegistryPath.Buffer, ToasterRegistryPath.MaximumLength);
    RtlCopyUnicodeString(&ToasterRegistryPath, RegistryPath);

    DriverObject->MajorFunction[IRP_MJ_CREATE] = ToasterDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = ToasterDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_PNP] = ToasterDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = ToasterDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = ToasterDispatchSystemControl;
    DriverObject->DriverExtension->AddDevice = ToasterAddDevice;
    DriverObject->DriverUnload = ToasterUnload;

    return STATUS_SUCCESS;
}

static VOID
NTAPI
ToasterUnload(
    _In_ PDRIVER_OBJECT DriverObject
    )
{
    UNREFERENCED_PARAMETER(DriverObject);

    PAGED_CODE();

    KdPrint(("Toaster: Unload\n"));

    if (ToasterRegistryPath.Buffer != NULL) {
        ExFreePool(ToasterRegistryPath.Buffer);
        ToasterRegistryPath.Buffer = NULL;
        ToasterRegistryPath.Length = 0;
        ToasterRegistryPath.MaximumLength = 0;
    }
}

static NTSTATUS
NTAPI
ToasterAddDevice(
    _In_ PDRIVER_OBJECT DriverObject,
    _In_ PDEVICE_OBJECT PhysicalDeviceObject
    )
{
    PDEVICE_OBJECT fdo = NULL;
    PTOASTER_FDO_DATA fdoData;
    NTSTATUS status;

    PAGED_CODE();

    status = IoCreateDevice(DriverObject,
                            sizeof(TOASTER_FDO_DATA),
                            NULL,                   // unnamed FDO
                            FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN,
                            FALSE,
                            &fdo);
    if (!NT_SUCCESS(status)) {
        KdPrint(("Toaster: IoCreateDevice failed %08x\n", (unsigned int)status));
        return status;
    }

    fdoData = (PTOASTER_FDO_DATA)fdo->DeviceExtension;
    RtlZeroMemory(fdoData, sizeof(TOASTER_FDO_DATA));
    fdoData->Self = fdo;
    fdoData->UnderlyingPdo = PhysicalDeviceObject;
    fdoData->PnpState = ToasterNotStarted;
    fdoData->DeviceNumber = (ULONG)InterlockedIncrement(&ToasterLastDeviceNumber);
    fdoData->ConnectorType = TOASTER_CONNECTOR_USB;
    fdoData->Capacity = TOASTER_DEFAULT_CAPACITY;

    IoInitializeRemoveLock(&fdoData->RemoveLock, TOASTER_POOL_TAG, 0, 0);

    fdoData->WmiLibInfo.GuidCount = TOASTER_WMI_GUID_COUNT;
    fdoData->WmiLibInfo.GuidList = ToasterWmiGuidList;
    fdoData->WmiLibInfo.QueryWmiRegInfo = ToasterQueryWmiRegInfo;
    fdoData->WmiLibInfo.QueryWmiDataBlock = ToasterQueryWmiDataBlock;
    fdoData->WmiLibInfo.SetWmiDataBlock = ToasterSetWmiDataBlock;
    fdoData->WmiLibInfo.SetWmiDataItem = ToasterSetWmiDataItem;
    fdoData->WmiLibInfo.ExecuteWmiMethod = ToasterExecuteWmiMethod;
    fdoData->WmiLibInfo.WmiFunctionControl = ToasterWmiFunctionControl;

    fdoData->NextLowerDriver = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
    if (fdoData->NextLowerDriver == NULL) {
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }

    fdo->Flags |= DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;

    KdPrint(("Toaster: AddDevice FDO %p PDO %p\n", (PVOID)fdo, (PVOID)PhysicalDeviceObject));
    return STATUS_SUCCESS;
}

// ===========================================================================
// Dispatch routines
// ===========================================================================

static NTSTATUS
ToasterCompleteIrp(
    _Inout_ PIRP Irp,
    _In_ NTSTATUS Status
    )
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static NTSTATUS
NTAPI
ToasterDispatchCreateClose(
    _In_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp
    )
{
    UNREFERENCED_PARAMETER(DeviceObject);

    PAGED_CODE();

    return ToasterCompleteIrp(Irp, STATUS_SUCCESS);
}

//
// Completion routine of ToasterSendIrpSynchronously: wakes the waiting
// dispatch routine and keeps the IRP (it completes it again).
//
static NTSTATUS
NTAPI
ToasterSyncCompletion(
    _In_ PDEVICE_OBJECT DeviceObject,
    _In_ PIRP Irp,
    _In_ PVOID Context
    )
{
    PKEVENT event = (PKEVENT)Context;

    UNREFERENCED_PARAMETER(DeviceObject);

    if (Irp->PendingReturned == TRUE) {
        KeSetEvent(event, IO_NO_INCREMENT, FALSE);
    }
    return STATUS_MORE_PROCESSING_REQUIRED;
}

//
// Sends the current IRP down and waits for the lower drivers to complete
// it. The caller still owns the IRP afterwards and must complete it.
//
static NTSTATUS
ToasterSendIrpSynchronously(
    __in PDEVICE_OBJECT TargetDevice,
    __in PIRP Irp
    )
{
    KEVENT event;
    NTSTATUS status;

    PAGED_CODE();

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, ToasterSyncCompletion, &event, TRUE, TRUE, TRUE);

    status = IoCallDriver(TargetDevice, Irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = Irp->IoStatus.Status;
    }
    return status;
}

static NTSTATUS
NTAPI
ToasterDispatchPnp(
    _In_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack;
    NTSTATUS status;

    PAGED_CODE();

    status = IoAcquireRemoveLock(&fdoData->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        return ToasterCompleteIrp(Irp, status);
    }

    stack = IoGetCurrentIrpStackLocation(Irp);

    switch (stack->MinorFunction) {

    case IRP_MN_START_DEVICE:
        //
        // The lower drivers start the hardware first; the device is a WMI
        // provider only once it runs.
        //
        status = ToasterSendIrpSynchronously(fdoData->NextLowerDriver, Irp);
        if (NT_SUCCESS(status)) {
            status = ToasterStartDevice(fdoData);
        }
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
        return status;

    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        //
        // Nothing to refuse or to undo; a function driver still says so.
        //
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_STOP_DEVICE:
        //
        // The WMI registration stays: the device is still present.
        //
        fdoData->PnpState = ToasterStopped;
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_SURPRISE_REMOVAL:
        //
        // Deregister now; IRP_MN_REMOVE_DEVICE will not do it again.
        //
        fdoData->PnpState = ToasterSurpriseRemoved;
        ToasterWmiDeregister(fdoData);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_REMOVE_DEVICE:
        fdoData->PnpState = ToasterDeleted;
        ToasterWmiDeregister(fdoData);

        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(fdoData->NextLowerDriver, Irp);

        //
        // Waits until every other holder of the lock (dispatch routines,
        // event firing) has released it.
        //
        IoReleaseRemoveLockAndWait(&fdoData->RemoveLock, Irp);

        IoDetachDevice(fdoData->NextLowerDriver);
        IoDeleteDevice(DeviceObject);
        return status;

    default:
        break;
    }

    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(fdoData->NextLowerDriver, Irp);
    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
    return status;
}

static NTSTATUS
NTAPI
ToasterDispatchPower(
    _In_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)DeviceObject->DeviceExtension;
    NTSTATUS status;

    status = IoAcquireRemoveLock(&fdoData->RemoveLock, Irp);
    PoStartNextPowerIrp(Irp);
    if (!NT_SUCCESS(status)) {
        return ToasterCompleteIrp(Irp, status);
    }

    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(fdoData->NextLowerDriver, Irp);

    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
    return status;
}

static NTSTATUS
NTAPI
ToasterDispatchSystemControl(
    _In_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)DeviceObject->DeviceExtension;
    SYSCTL_IRP_DISPOSITION disposition = IrpForward;
    NTSTATUS status;

    PAGED_CODE();

    status = IoAcquireRemoveLock(&fdoData->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        return ToasterCompleteIrp(Irp, status);
    }

    status = WmiSystemControl(&fdoData->WmiLibInfo, DeviceObject, Irp, &disposition);

    switch (disposition) {

    case IrpProcessed:
        //
        // A DpWmiXxx callback completed it with WmiCompleteRequest.
        //
        break;

    case IrpNotCompleted:
        //
        // WMI filled in the IRP (an error, or IRP_MN_REGINFO(_EX)).
        //
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        break;

    case IrpForward:    // for another provider in the stack
    case IrpNotWmi:     // not a WMI request: nothing here handles it
    default:
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(fdoData->NextLowerDriver, Irp);
        break;
    }

    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
    return status;
}

// ===========================================================================
// Start / WMI registration
// ===========================================================================

static NTSTATUS
ToasterStartDevice(
    __in PTOASTER_FDO_DATA FdoData
    )
{
    NTSTATUS status;

    PAGED_CODE();

    status = ToasterWmiRegister(FdoData);
    if (!NT_SUCCESS(status)) {
        KdPrint(("Toaster: WMI registration failed %08x\n", (unsigned int)status));
        return status;
    }

    FdoData->PnpState = ToasterStarted;

    //
    // A consumer may have been waiting for the event before this device
    // registered (WMI then enables it as part of the registration): tell
    // it that the toaster has arrived.
    //
    if (FdoData->ArrivalEventEnabled) {
        (VOID)ToasterFireArrival(FdoData->Self);
    }

    return STATUS_SUCCESS;
}

static NTSTATUS
ToasterWmiRegister(
    __in PTOASTER_FDO_DATA FdoData
    )
{
    NTSTATUS status;

    PAGED_CODE();

    if (FdoData->WmiRegistered) {
        return STATUS_SUCCESS;  // restart after IRP_MN_STOP_DEVICE
    }

    status = IoWMIRegistrationControl(FdoData->Self, WMIREG_ACTION_REGISTER);
    if (NT_SUCCESS(status)) {
        FdoData->WmiRegistered = TRUE;
    }
    return status;
}

//
// Never called from IRP_MJ_SYSTEM_CONTROL: deregistration waits for the
// WMI IRPs in flight to this device.
//
static VOID
ToasterWmiDeregister(
    __in PTOASTER_FDO_DATA FdoData
    )
{
    PAGED_CODE();

    if (FdoData->WmiRegistered) {
        FdoData->WmiRegistered = FALSE;
        (VOID)IoWMIRegistrationControl(FdoData->Self, WMIREG_ACTION_DEREGISTER);
    }

    //
    // No IRP_MN_DISABLE_EVENTS / _COLLECTION follows a deregistration.
    //
    InterlockedExchange(&FdoData->ArrivalEventEnabled, 0);
    InterlockedExchange(&FdoData->StatisticsCollecting, 0);
}

// ===========================================================================
// WMI library callbacks
// ===========================================================================

static NTSTATUS
NTAPI
ToasterQueryWmiRegInfo(
    _Inout_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PULONG RegFlags,
    _Inout_ PUNICODE_STRING InstanceName,
    _Out_ PUNICODE_STRING *RegistryPath,
    _Inout_ PUNICODE_STRING MofResourceName,
    _Out_ PDEVICE_OBJECT *Pdo
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)DeviceObject->DeviceExtension;

    UNREFERENCED_PARAMETER(InstanceName);   // no base name: the PDO names instances

    PAGED_CODE();

    *RegFlags = WMIREG_FLAG_INSTANCE_PDO;
    *RegistryPath = &ToasterRegistryPath;
    *Pdo = fdoData->UnderlyingPdo;
    RtlInitUnicodeString(MofResourceName, TOASTER_MOF_RESOURCE_NAME);

    return STATUS_SUCCESS;
}

static NTSTATUS
NTAPI
ToasterQueryWmiDataBlock(
    _Inout_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp,
    _In_ ULONG GuidIndex,
    _In_ ULONG InstanceIndex,
    _In_ ULONG InstanceCount,
    _Out_opt_ PULONG InstanceLengthArray,
    _In_ ULONG BufferAvail,
    _Out_writes_bytes_opt_(BufferAvail) PUCHAR Buffer
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)DeviceObject->DeviceExtension;
    TOASTER_DEVICE_INFORMATION info;
    TOASTER_STATISTICS stats;
    NTSTATUS status;
    ULONG size = 0;

    PAGED_CODE();

    //
    // One instance per block: index 0, and never more than one at a time.
    //
    if (InstanceIndex != 0 || InstanceCount != 1) {
        return WmiCompleteRequest(DeviceObject, Irp, STATUS_WMI_INSTANCE_NOT_FOUND,
                                  0, IO_NO_INCREMENT);
    }

    switch (GuidIndex) {

    case TOASTER_WMI_DEVICE_INFORMATION_INDEX:
        size = TOASTER_DEVICE_INFORMATION_SIZE;
        if (BufferAvail < size) {
            //
            // WMI retries with a buffer of the size returned here.
            //
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        RtlZeroMemory(&info, sizeof(info));
        info.ConnectorType = fdoData->ConnectorType;
        info.Capacity = fdoData->Capacity;
        info.ToastsMade = (ULONG)fdoData->ToastsMade;
        info.DebugPrintLevel = (ULONG)fdoData->DebugPrintLevel;
        info.Ready = (BOOLEAN)(fdoData->PnpState == ToasterStarted);
        info.NotifyEnabled = (BOOLEAN)(fdoData->ArrivalEventEnabled != 0);
        RtlCopyMemory(Buffer, &info, size);
        InstanceLengthArray[0] = size;
        ToasterCountStatistic(fdoData, &fdoData->QueryCount);
        status = STATUS_SUCCESS;
        break;

    case TOASTER_WMI_STATISTICS_INDEX:
        size = sizeof(TOASTER_STATISTICS);
        if (BufferAvail < size) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        stats.QueryCount = (ULONG)fdoData->QueryCount;
        stats.SetCount = (ULONG)fdoData->SetCount;
        stats.MethodCount = (ULONG)fdoData->MethodCount;
        stats.EventCount = (ULONG)fdoData->EventCount;
        RtlCopyMemory(Buffer, &stats, size);
        InstanceLengthArray[0] = size;
        status = STATUS_SUCCESS;
        break;

    case TOASTER_WMI_NOTIFY_ARRIVAL_INDEX:
        //
        // Event-only: WMI never queries it.
        //
        size = 0;
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;

    default:
        size = 0;
        status = STATUS_WMI_GUID_NOT_FOUND;
        break;
    }

    //
    // With STATUS_BUFFER_TOO_SMALL, size is the space needed.
    //
    return WmiCompleteRequest(DeviceObject, Irp, status, size, IO_NO_INCREMENT);
}

//
// Where a set (of the block or of an item) may go: STATUS_SUCCESS for the
// one instance of ToasterDeviceInformation, the only block with a writable
// item (DebugPrintLevel); else the status to complete the request with.
//
static NTSTATUS
ToasterCheckSetTarget(
    _In_ ULONG GuidIndex,
    _In_ ULONG InstanceIndex
    )
{
    if (InstanceIndex != 0) {
        return STATUS_WMI_INSTANCE_NOT_FOUND;
    }
    if (GuidIndex == TOASTER_WMI_DEVICE_INFORMATION_INDEX) {
        return STATUS_SUCCESS;
    }
    return GuidIndex < TOASTER_WMI_GUID_COUNT ? STATUS_WMI_READ_ONLY : STATUS_WMI_GUID_NOT_FOUND;
}

//
// Sets DebugPrintLevel and counts the set (ToasterStatistics).
//
static VOID
ToasterSetDebugPrintLevel(
    _In_ PTOASTER_FDO_DATA FdoData,
    _In_ ULONG Value
    )
{
    InterlockedExchange(&FdoData->DebugPrintLevel, (LONG)Value);
    ToasterCountStatistic(FdoData, &FdoData->SetCount);
}

static NTSTATUS
NTAPI
ToasterSetWmiDataBlock(
    _Inout_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp,
    _In_ ULONG GuidIndex,
    _In_ ULONG InstanceIndex,
    _In_ ULONG BufferSize,
    _In_reads_bytes_(BufferSize) PUCHAR Buffer
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)DeviceObject->DeviceExtension;
    TOASTER_DEVICE_INFORMATION info;
    NTSTATUS status;

    PAGED_CODE();

    status = ToasterCheckSetTarget(GuidIndex, InstanceIndex);
    if (NT_SUCCESS(status)) {
        if (BufferSize < TOASTER_DEVICE_INFORMATION_SIZE) {
            status = STATUS_INFO_LENGTH_MISMATCH;
        } else {
            //
            // Only DebugPrintLevel is writable; the rest is ignored.
            //
            RtlZeroMemory(&info, sizeof(info));
            RtlCopyMemory(&info, Buffer, TOASTER_DEVICE_INFORMATION_SIZE);
            ToasterSetDebugPrintLevel(fdoData, info.DebugPrintLevel);
        }
    }

    return WmiCompleteRequest(DeviceObject, Irp, status, 0, IO_NO_INCREMENT);
}

static NTSTATUS
NTAPI
ToasterSetWmiDataItem(
    _Inout_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp,
    _In_ ULONG GuidIndex,
    _In_ ULONG InstanceIndex,
    _In_ ULONG DataItemId,
    _In_ ULONG BufferSize,
    _In_reads_bytes_(BufferSize) PUCHAR Buffer
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)DeviceObject->DeviceExtension;
    ULONG value;
    NTSTATUS status;

    PAGED_CODE();

    status = ToasterCheckSetTarget(GuidIndex, InstanceIndex);
    if (NT_SUCCESS(status)) {
        switch (DataItemId) {

        case TOASTER_ITEM_DEBUG_PRINT_LEVEL:
            if (BufferSize != sizeof(ULONG)) {
                status = STATUS_INFO_LENGTH_MISMATCH;
                break;
            }
            RtlCopyMemory(&value, Buffer, sizeof(ULONG));
            ToasterSetDebugPrintLevel(fdoData, value);
            break;

        case TOASTER_ITEM_CONNECTOR_TYPE:
        case TOASTER_ITEM_CAPACITY:
        case TOASTER_ITEM_TOASTS_MADE:
        case TOASTER_ITEM_READY:
        case TOASTER_ITEM_NOTIFY_ENABLED:
            status = STATUS_WMI_READ_ONLY;
            break;

        default:
            status = STATUS_WMI_ITEMID_NOT_FOUND;
            break;
        }
    }

    return WmiCompleteRequest(DeviceObject, Irp, status, 0, IO_NO_INCREMENT);
}

static NTSTATUS
NTAPI
ToasterExecuteWmiMethod(
    _Inout_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp,
    _In_ ULONG GuidIndex,
    _In_ ULONG InstanceIndex,
    _In_ ULONG MethodId,
    _In_ ULONG InBufferSize,
    _In_ ULONG OutBufferSize,
    _Inout_ PUCHAR Buffer
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)DeviceObject->DeviceExtension;
    TOASTER_MAKE_TOAST_IN input;
    TOASTER_MAKE_TOAST_OUT output;
    ULONG bufferUsed = 0;
    NTSTATUS status;

    PAGED_CODE();

    if (InstanceIndex != 0) {
        status = STATUS_WMI_INSTANCE_NOT_FOUND;

    } else if (GuidIndex != TOASTER_WMI_DEVICE_INFORMATION_INDEX) {
        status = GuidIndex < TOASTER_WMI_GUID_COUNT ? STATUS_INVALID_DEVICE_REQUEST
                                                    : STATUS_WMI_GUID_NOT_FOUND;

    } else if (MethodId != TOASTER_METHOD_MAKE_TOAST) {
        status = STATUS_WMI_ITEMID_NOT_FOUND;

    } else if (InBufferSize < sizeof(TOASTER_MAKE_TOAST_IN)) {
        status = STATUS_INVALID_PARAMETER;

    } else {
        RtlCopyMemory(&input, Buffer, sizeof(input));

        if (input.Darkness < TOASTER_DARKNESS_MIN || input.Darkness > TOASTER_DARKNESS_MAX) {
            status = STATUS_INVALID_PARAMETER;

        } else if (OutBufferSize < sizeof(TOASTER_MAKE_TOAST_OUT)) {
            //
            // Checked before the toast is made: WMI sends the request again
            // with a larger buffer, and the toast must be made only once.
            //
            bufferUsed = sizeof(TOASTER_MAKE_TOAST_OUT);
            status = STATUS_BUFFER_TOO_SMALL;

        } else {
            output.ToastNumber = (ULONG)InterlockedIncrement(&fdoData->ToastsMade);
            RtlCopyMemory(Buffer, &output, sizeof(output));
            bufferUsed = sizeof(TOASTER_MAKE_TOAST_OUT);
            ToasterCountStatistic(fdoData, &fdoData->MethodCount);
            status = STATUS_SUCCESS;
        }
    }

    return WmiCompleteRequest(DeviceObject, Irp, status, bufferUsed, IO_NO_INCREMENT);
}

//
// WMI sends one enable when the first consumer appears and one disable
// after the last one leaves, so plain flags are enough.
//
static NTSTATUS
NTAPI
ToasterWmiFunctionControl(
    _Inout_ PDEVICE_OBJECT DeviceObject,
    _Inout_ PIRP Irp,
    _In_ ULONG GuidIndex,
    _In_ WMIENABLEDISABLECONTROL Function,
    _In_ BOOLEAN Enable
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)DeviceObject->DeviceExtension;
    NTSTATUS status = STATUS_SUCCESS;

    PAGED_CODE();

    switch (GuidIndex) {

    case TOASTER_WMI_STATISTICS_INDEX:
        if (Function == WmiDataBlockControl) {
            if (Enable) {
                InterlockedExchange(&fdoData->QueryCount, 0);
                InterlockedExchange(&fdoData->SetCount, 0);
                InterlockedExchange(&fdoData->MethodCount, 0);
                InterlockedExchange(&fdoData->EventCount, 0);
                InterlockedIncrement(&fdoData->StatisticsEnableCount);
                InterlockedExchange(&fdoData->StatisticsCollecting, 1);
            } else {
                InterlockedExchange(&fdoData->StatisticsCollecting, 0);
            }
            KdPrint(("Toaster: statistics collection %s\n", Enable ? "on" : "off"));
        }
        break;

    case TOASTER_WMI_NOTIFY_ARRIVAL_INDEX:
        if (Function == WmiEventControl) {
            if (Enable) {
                InterlockedIncrement(&fdoData->ArrivalEnableCount);
                InterlockedExchange(&fdoData->ArrivalEventEnabled, 1);
            } else {
                InterlockedExchange(&fdoData->ArrivalEventEnabled, 0);
            }
            KdPrint(("Toaster: arrival event %s\n", Enable ? "enabled" : "disabled"));
        }
        break;

    case TOASTER_WMI_DEVICE_INFORMATION_INDEX:
        //
        // Cheap block, no events of its own: nothing to switch.
        //
        break;

    default:
        status = STATUS_WMI_GUID_NOT_FOUND;
        break;
    }

    return WmiCompleteRequest(DeviceObject, Irp, status, 0, IO_NO_INCREMENT);
}

// ===========================================================================
// Events
// ===========================================================================

static VOID
ToasterCountStatistic(
    _In_ PTOASTER_FDO_DATA FdoData,
    _Inout_ volatile LONG *Counter
    )
{
    if (FdoData->StatisticsCollecting) {
        InterlockedIncrement(Counter);
    }
}

//
// Writes TOASTER_ARRIVAL_NAME_PREFIX and Number in decimal to Name (at
// most Capacity characters, no NUL); returns the length in bytes.
//
static USHORT
ToasterBuildInstanceName(
    __out_bcount(Capacity * sizeof(WCHAR)) PWCHAR Name,
    __in ULONG Capacity,
    __in ULONG Number
    )
{
    static const WCHAR prefix[] = TOASTER_ARRIVAL_NAME_PREFIX;
    WCHAR digits[10];
    ULONG count = 0;
    ULONG ndigits = 0;
    ULONG i;

    PAGED_CODE();

    for (i = 0; i + 1 < sizeof(prefix) / sizeof(prefix[0]) && count < Capacity; i++) {
        Name[count++] = prefix[i];
    }

    do {
        digits[ndigits++] = (WCHAR)(L'0' + Number % 10);
        Number /= 10;
    } while (Number != 0 && ndigits < sizeof(digits) / sizeof(digits[0]));

    while (ndigits > 0 && count < Capacity) {
        Name[count++] = digits[--ndigits];
    }

    return (USHORT)(count * sizeof(WCHAR));
}

NTSTATUS
ToasterFireArrival(
    _In_ PDEVICE_OBJECT Fdo
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)Fdo->DeviceExtension;
    WCHAR name[TOASTER_MAX_INSTANCE_NAME_CHARS];
    TOASTER_NOTIFY_EVENT eventData;
    PWNODE_SINGLE_INSTANCE wnode;
    USHORT nameLength;
    ULONG nameOffset;
    ULONG dataOffset;
    ULONG size;
    NTSTATUS status;

    PAGED_CODE();

    status = IoAcquireRemoveLock(&fdoData->RemoveLock, NULL);
    if (!NT_SUCCESS(status)) {
        return status;
    }

    if (!fdoData->ArrivalEventEnabled) {
        //
        // No consumer: WMI has not asked for the event.
        //
        status = STATUS_INVALID_DEVICE_STATE;
        goto Exit;
    }

    //
    // WNODE_SINGLE_INSTANCE with a dynamic name: the fixed part, the
    // counted name (USHORT byte count + characters) at OffsetInstanceName,
    // then the data at the next 8-byte boundary.
    //
    nameLength = ToasterBuildInstanceName(name, TOASTER_MAX_INSTANCE_NAME_CHARS,
                                          fdoData->DeviceNumber);
    nameOffset = FIELD_OFFSET(WNODE_SINGLE_INSTANCE, VariableData);
    dataOffset = TOASTER_ALIGN8(nameOffset + (ULONG)sizeof(USHORT) + nameLength);
    size = dataOffset + (ULONG)sizeof(TOASTER_NOTIFY_EVENT);

    wnode = (PWNODE_SINGLE_INSTANCE)ExAllocatePoolWithTag(NonPagedPool, size, TOASTER_POOL_TAG);
    if (wnode == NULL) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto Exit;
    }
    RtlZeroMemory(wnode, size);

    wnode->WnodeHeader.BufferSize = size;
    wnode->WnodeHeader.ProviderId = IoWMIDeviceObjectToProviderId(Fdo);
    wnode->WnodeHeader.Guid = GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL;
    wnode->WnodeHeader.Flags = WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_SINGLE_INSTANCE;
    KeQuerySystemTime(&wnode->WnodeHeader.TimeStamp);

    wnode->OffsetInstanceName = nameOffset;
    wnode->DataBlockOffset = dataOffset;
    wnode->SizeDataBlock = sizeof(TOASTER_NOTIFY_EVENT);

    RtlCopyMemory((PUCHAR)wnode + nameOffset, &nameLength, sizeof(USHORT));
    RtlCopyMemory((PUCHAR)wnode + nameOffset + sizeof(USHORT), name, nameLength);

    eventData.EventType = TOASTER_EVENT_ARRIVAL;
    eventData.Value = fdoData->DeviceNumber;
    RtlCopyMemory((PUCHAR)wnode + dataOffset, &eventData, sizeof(eventData));

    //
    // On success WMI owns the WNODE and frees it; on failure it is ours.
    //
    status = IoWMIWriteEvent(wnode);
    if (NT_SUCCESS(status)) {
        ToasterCountStatistic(fdoData, &fdoData->EventCount);
    } else {
        KdPrint(("Toaster: IoWMIWriteEvent failed %08x\n", (unsigned int)status));
        ExFreePool(wnode);
    }

Exit:
    IoReleaseRemoveLock(&fdoData->RemoveLock, NULL);
    return status;
}

NTSTATUS
ToasterFireStatus(
    _In_ PDEVICE_OBJECT Fdo,
    _In_ ULONG Value
    )
{
    PTOASTER_FDO_DATA fdoData = (PTOASTER_FDO_DATA)Fdo->DeviceExtension;
    PTOASTER_NOTIFY_EVENT eventData;
    NTSTATUS status;

    status = IoAcquireRemoveLock(&fdoData->RemoveLock, NULL);
    if (!NT_SUCCESS(status)) {
        return status;
    }

    if (!fdoData->ArrivalEventEnabled) {
        status = STATUS_INVALID_DEVICE_STATE;
        goto Exit;
    }

    eventData = (PTOASTER_NOTIFY_EVENT)ExAllocatePoolWithTag(
        NonPagedPool, sizeof(TOASTER_NOTIFY_EVENT), TOASTER_POOL_TAG);
    if (eventData == NULL) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto Exit;
    }
    eventData->EventType = TOASTER_EVENT_STATUS;
    eventData->Value = Value;

    //
    // WmiFireEvent wraps the data in a WNODE_SINGLE_INSTANCE for static
    // instance 0 (the PDO's name). From here on eventData belongs to WMI,
    // whether the call succeeds or not: it is never touched again.
    //
    status = WmiFireEvent(Fdo,
                          &GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL,
                          0,
                          sizeof(TOASTER_NOTIFY_EVENT),
                          eventData);
    if (NT_SUCCESS(status)) {
        ToasterCountStatistic(fdoData, &fdoData->EventCount);
    }

Exit:
    IoReleaseRemoveLock(&fdoData->RemoveLock, NULL);
    return status;
}
