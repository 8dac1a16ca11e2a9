/*
 * Header test of the WDK face: code written the way WDK samples of every era
 * write it — both SAL styles, IN/OUT/OPTIONAL, ALLOC_PRAGMA sections,
 * KdPrint((...)), multi-character pool tags, DEFINE_GUID with <initguid.h> —
 * must build unchanged with -Wall -Wextra -Werror as C11 and gnu11.
 * This unit and test_wdk_headers_guids.c both define the GUIDs of
 * <wdmguid.h> and <wmiguid.h>; the program links only if those definitions
 * merge, as DECLSPEC_SELECTANY ones do on Windows.
 */
#include <dontuse.h>
#include <initguid.h>
#include <ntddk.h>
#include <wdm.h>
#include <wdmguid.h>
#include <wmiguid.h>
#include <wmilib.h>
#include <wmistr.h>

/* C library headers after the annotations: empty SAL macros must not break them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_TAG 'pmaS'

/* A driver's own GUID, defined here because <initguid.h> came first. */
DEFINE_GUID(SAMPLE_WMI_EVENT_GUID, 0x1ea5b1d2, 0x7c1a, 0x4b6e, 0x9f, 0x2d, 0x31, 0x0a, 0x55, 0xc3,
            0x8e, 0x01);

typedef struct _SAMPLE_EXTENSION {
  PDEVICE_OBJECT Self;
  PDEVICE_OBJECT NextLowerDriver;
  IO_REMOVE_LOCK RemoveLock;
  WMILIB_CONTEXT WmiLibInfo;
  KSPIN_LOCK Lock;
  LIST_ENTRY Pending;
  UNICODE_STRING Name;
} SAMPLE_EXTENSION, *PSAMPLE_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD SampleUnload;
DRIVER_ADD_DEVICE SampleAddDevice;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH SampleDispatchPnp;
__drv_dispatchType(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH SampleSystemControl;
IO_COMPLETION_ROUTINE SampleCompletion;
WMI_QUERY_REGINFO_CALLBACK SampleQueryWmiRegInfo;
WMI_QUERY_DATABLOCK_CALLBACK SampleQueryWmiDataBlock;

#ifdef ALLOC_PRAGMA
#pragma alloc_text(INIT, DriverEntry)
#pragma alloc_text(PAGE, SampleAddDevice)
#pragma alloc_text(PAGE, SampleUnload)
#endif
/* Unguarded MSVC pragmas, as some drivers have them. */
#pragma warning(push)
#pragma warning(disable : 4201)
#pragma warning(pop)
#pragma alloc_text(PAGE, SampleDispatchPnp)

static WMIGUIDREGINFO SampleGuidList[] = {
    {&SAMPLE_WMI_EVENT_GUID, 1, WMIREG_FLAG_EVENT_ONLY_GUID},
    {&MSPower_DeviceEnable_GUID, 1, 0},
};

_Use_decl_annotations_ NTSTATUS SampleQueryWmiRegInfo(PDEVICE_OBJECT DeviceObject, PULONG RegFlags,
                                                      PUNICODE_STRING InstanceName,
                                                      PUNICODE_STRING *RegistryPath,
                                                      PUNICODE_STRING MofResourceName,
                                                      PDEVICE_OBJECT *Pdo) {
  PSAMPLE_EXTENSION ext = DeviceObject->DeviceExtension;
  UNREFERENCED_PARAMETER(InstanceName);
  UNREFERENCED_PARAMETER(MofResourceName);
  *RegFlags = WMIREG_FLAG_INSTANCE_PDO;
  *RegistryPath = &ext->Name;
  *Pdo = ext->NextLowerDriver;
  return STATUS_SUCCESS;
}

NTSTATUS SampleQueryWmiDataBlock(IN PDEVICE_OBJECT DeviceObject, IN PIRP Irp, IN ULONG GuidIndex,
                                 IN ULONG InstanceIndex, IN ULONG InstanceCount,
                                 IN OUT PULONG InstanceLengthArray, IN ULONG BufferAvail,
                                 OUT PUCHAR Buffer OPTIONAL) {
  UNREFERENCED_PARAMETER(GuidIndex);
  UNREFERENCED_PARAMETER(InstanceIndex);
  UNREFERENCED_PARAMETER(InstanceCount);
  if (BufferAvail < sizeof(ULONG)) {
    return WmiCompleteRequest(DeviceObject, Irp, STATUS_BUFFER_TOO_SMALL, sizeof(ULONG),
                              IO_NO_INCREMENT);
  }
  *(PULONG)(void *)Buffer = 1;
  *InstanceLengthArray = sizeof(ULONG);
  return WmiCompleteRequest(DeviceObject, Irp, STATUS_SUCCESS, sizeof(ULONG), IO_NO_INCREMENT);
}

_Use_decl_annotations_ NTSTATUS SampleCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                 PVOID Context) {
  UNREFERENCED_PARAMETER(DeviceObject);
  if (Irp->PendingReturned) {
    IoMarkIrpPending(Irp);
  }
  KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS SampleDispatchPnp(__in PDEVICE_OBJECT DeviceObject, __inout PIRP Irp) {
  PSAMPLE_EXTENSION ext = (PSAMPLE_EXTENSION)DeviceObject->DeviceExtension;
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  NTSTATUS status;
  PAGED_CODE();
  status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  if (!NT_SUCCESS(status)) {
    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
  }
  KdPrint(("Sample: PnP minor 0x%x on %p\n", stack->MinorFunction, DeviceObject));
  if (stack->MinorFunction == IRP_MN_REMOVE_DEVICE) {
    IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->NextLowerDriver, Irp);
    IoDetachDevice(ext->NextLowerDriver);
    IoDeleteDevice(DeviceObject);
    return status;
  }
  IoSkipCurrentIrpStackLocation(Irp);
  status = IoCallDriver(ext->NextLowerDriver, Irp);
  IoReleaseRemoveLock(&ext->RemoveLock, Irp);
  return status;
}

NTSTATUS SampleSystemControl(_In_ PDEVICE_OBJECT DeviceObject, _Inout_ PIRP Irp) {
  PSAMPLE_EXTENSION ext = (PSAMPLE_EXTENSION)DeviceObject->DeviceExtension;
  SYSCTL_IRP_DISPOSITION disposition;
  NTSTATUS status = WmiSystemControl(&ext->WmiLibInfo, DeviceObject, Irp, &disposition);
  switch (disposition) {
  case IrpProcessed:
    break;
  case IrpNotCompleted:
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    break;
  case IrpForward:
  case IrpNotWmi:
  default:
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->NextLowerDriver, Irp);
    break;
  }
  return status;
}

NTSTATUS SampleAddDevice(_In_ PDRIVER_OBJECT DriverObject,
                         _In_ PDEVICE_OBJECT PhysicalDeviceObject) {
  PDEVICE_OBJECT fdo = NULL;
  PSAMPLE_EXTENSION ext;
  NTSTATUS status;
  PAGED_CODE();
  status = IoCreateDevice(DriverObject, sizeof(SAMPLE_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
                          FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  ext = (PSAMPLE_EXTENSION)fdo->DeviceExtension;
  RtlZeroMemory(ext, sizeof(SAMPLE_EXTENSION));
  ext->Self = fdo;
  IoInitializeRemoveLock(&ext->RemoveLock, SAMPLE_TAG, 1, 100);
  KeInitializeSpinLock(&ext->Lock);
  InitializeListHead(&ext->Pending);
  ext->WmiLibInfo.GuidCount = (ULONG)ARRAYSIZE(SampleGuidList);
  ext->WmiLibInfo.GuidList = SampleGuidList;
  ext->WmiLibInfo.QueryWmiRegInfo = SampleQueryWmiRegInfo;
  ext->WmiLibInfo.QueryWmiDataBlock = SampleQueryWmiDataBlock;
  ext->NextLowerDriver = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
  if (ext->NextLowerDriver == NULL) {
    IoDeleteDevice(fdo);
    return STATUS_NO_SUCH_DEVICE;
  }
  fdo->Flags |= DO_POWER_PAGABLE;
  fdo->Flags &= ~DO_DEVICE_INITIALIZING;
  return STATUS_SUCCESS;
}

VOID SampleUnload(_In_ PDRIVER_OBJECT DriverObject) {
  PAGED_CODE();
  UNREFERENCED_PARAMETER(DriverObject);
  KdPrint(("Sample: unload\n"));
}

NTSTATUS DriverEntry(__in PDRIVER_OBJECT DriverObject, __in PUNICODE_STRING RegistryPath) {
  ULONG i;
  KdPrint(("Sample: DriverEntry %wZ\n", RegistryPath));
  for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
    /* leave the system's defaults */
  }
  DriverObject->MajorFunction[IRP_MJ_PNP] = SampleDispatchPnp;
  DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = SampleSystemControl;
  DriverObject->DriverExtension->AddDevice = SampleAddDevice;
  DriverObject->DriverUnload = SampleUnload;
  return STATUS_SUCCESS;
}

/* Defined in test_wdk_headers_guids.c from the same headers. */
extern const GUID *other_unit_power_enable(void);
extern const GUID *other_unit_sample_guid(void);
const GUID *this_unit_power_enable(void);
const GUID *this_unit_power_enable(void) { return &GUID_POWER_DEVICE_ENABLE; }

static int failures;
#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

int main(void) {
  /* Sizes and values a driver relies on. */
  CHECK(sizeof(WCHAR) == 2 && sizeof(L"ab") == 6);
  CHECK(sizeof(ULONG) == 4 && sizeof(LONG) == 4 && sizeof(ULONG64) == 8);
  CHECK(sizeof(ULONG_PTR) == sizeof(void *) && sizeof(BOOLEAN) == 1);
  CHECK(SAMPLE_TAG == 0x706d6153);
  CHECK(IRP_MJ_SYSTEM_CONTROL == 0x17 && IRP_MJ_PNP == 0x1b && IRP_MN_REGINFO_EX == 0x0b);
  CHECK(IRP_MN_DEVICE_ENUMERATED == 0x19 && IRP_MN_SET_POWER == 0x02);
  CHECK((ULONG)STATUS_MORE_PROCESSING_REQUIRED == 0xC0000016u);
  CHECK(STATUS_TIMEOUT == 0x102 && NT_SUCCESS(STATUS_TIMEOUT));
  CHECK(!NT_SUCCESS(STATUS_WMI_GUID_NOT_FOUND) && NT_ERROR(STATUS_WMI_GUID_NOT_FOUND));
  CHECK(NT_WARNING(STATUS_BUFFER_OVERFLOW));
  CHECK(WMIGUID_QUERY == 0x1 && WMIGUID_NOTIFICATION == 0x4 && WMIGUID_EXECUTE == 0x10);
  CHECK(WMIGUID_ALL_ACCESS == 0x00121FFFu && SYNCHRONIZE == 0x00100000u);
  CHECK(FILE_DEVICE_UNKNOWN == 0x22 && FILE_DEVICE_BUS_EXTENDER == 0x2a);
  CHECK(IrpForward == 3 && WmiDataBlockControl == 1 && NonPagedPoolNx == 512);
  CHECK(sizeof(WNODE_HEADER) == 48 && sizeof(WNODE_SINGLE_INSTANCE) == 64);
  CHECK(FIELD_OFFSET(IO_STACK_LOCATION, Parameters.WMI.ProviderId) == (LONG)sizeof(void *));
  /* GUIDs: the same storage from both units. */
  CHECK(this_unit_power_enable() == other_unit_power_enable());
  CHECK(other_unit_sample_guid()->Data1 == 0x1ea5b1d2u);
  CHECK(GUID_POWER_DEVICE_ENABLE.Data1 == 0x827c0a6fu && GUID_POWER_DEVICE_ENABLE.Data4[7] == 0x2a);
  CHECK(IsEqualGUID(&MSPower_DeviceEnable_GUID, &GUID_POWER_DEVICE_ENABLE));
  CHECK(BINARY_MOF_GUID.Data1 == 0x05901221u);
  /* Inline helpers. */
  {
    LIST_ENTRY head;
    SAMPLE_EXTENSION a;
    InitializeListHead(&head);
    CHECK(IsListEmpty(&head));
    InsertTailList(&head, &a.Pending);
    CHECK(!IsListEmpty(&head));
    CHECK(CONTAINING_RECORD(head.Flink, SAMPLE_EXTENSION, Pending) == &a);
    CHECK(RemoveHeadList(&head) == &a.Pending && IsListEmpty(&head));
  }
  {
    UNICODE_STRING s = RTL_CONSTANT_STRING(L"Sample");
    CHECK(s.Length == 12 && s.MaximumLength == 14);
    LONG v = 5;
    CHECK(InterlockedIncrement(&v) == 6 && InterlockedCompareExchange(&v, 9, 6) == 6 && v == 9);
  }
  UNREFERENCED_PARAMETER(SampleGuidList);
  return failures == 0 ? 0 : 1;
}
