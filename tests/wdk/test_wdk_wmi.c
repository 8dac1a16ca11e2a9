/*
 * The WMI routines of the WDK face (lib/wdk/wmi_*.c), end to end.
 *
 * The first half of this file is a small WDM driver written the way drivers
 * are written for Windows: DriverEntry, AddDevice, a PnP dispatch that
 * registers with WMI at START and deregisters at REMOVE, a
 * DispatchSystemControl that calls WmiSystemControl and acts on all four
 * dispositions, and a WMILIB_CONTEXT with four blocks:
 *   DATA        PDO instance names, 1500 bytes (bigger than WMI's first buffer),
 *               settable, with items and a method;
 *   EXPENSIVE   WMIREG_FLAG_EXPENSIVE, base name "WmiTestExpensive";
 *   EVENT       event-only, PDO instance names (WmiFireEvent);
 *   DYN_EVENT   event-only, dynamic names (IoWMIWriteEvent with a name).
 * The GUID list is filled in late, inside DpWmiQueryReginfo. AddDevice also
 * puts an upper filter device on top of the FDO whose completion routine
 * watches every WMI IRP come back up (WmiCompleteRequest must end in
 * IoCompleteRequest). The driver logs what it sees; a few knobs make it
 * misbehave on purpose.
 *
 * The second half loads it into the host and checks it through the kernel
 * consumer API (IoWMIOpenBlock & co.) only. Every test runs on a fresh host
 * over the debug allocator, ends with remove + unload + shutdown, and checks
 * that nothing leaked and that exactly the expected verifier rules fired.
 */
#define _POSIX_C_SOURCE 200809L

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <wdm.h>
#include <wmiev/host.h>
#include <wmilib.h>
#include <wmistr.h>

#include "debug_alloc.h"
#include "wdk_host.h"

/* ======================================================================================
 * The driver
 * ====================================================================================== */

static const GUID DATA_GUID = {
    0x6a1d6f41, 0x1c2b, 0x4d3e, {0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x01}};
static const GUID EXPENSIVE_GUID = {
    0x6a1d6f42, 0x1c2b, 0x4d3e, {0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x02}};
static const GUID EVENT_GUID = {
    0x6a1d6f43, 0x1c2b, 0x4d3e, {0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x03}};
static const GUID DYN_EVENT_GUID = {
    0x6a1d6f44, 0x1c2b, 0x4d3e, {0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x04}};
static const GUID UNKNOWN_GUID = {
    0x6a1d6f4f, 0x1c2b, 0x4d3e, {0x9f, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x0f}};

#define TEST_TAG 'tWmW'
#define BLOB_SIZE 1500u
#define METHOD_ADD 1u

enum { BLOCK_DATA, BLOCK_EXPENSIVE, BLOCK_EVENT, BLOCK_DYN_EVENT, BLOCK_COUNT };
enum { KIND_FDO = 1, KIND_FILTER = 2 };

typedef struct _FDO_EXTENSION {
  ULONG Kind;
  PDEVICE_OBJECT Self;
  PDEVICE_OBJECT Pdo;
  PDEVICE_OBJECT Lower;
  WMILIB_CONTEXT WmiLib;
  ULONG Value;
  ULONG Counter;
  ULONG Expensive;
} FDO_EXTENSION, *PFDO_EXTENSION;

typedef struct _FILTER_EXTENSION {
  ULONG Kind;
  PDEVICE_OBJECT Self;
  PDEVICE_OBJECT Lower;
} FILTER_EXTENSION, *PFILTER_EXTENSION;

/* Flags per block; RegFlags stays 0 so that DYN_EVENT keeps dynamic names. */
static WMIGUIDREGINFO g_GuidList[BLOCK_COUNT] = {
    {&DATA_GUID, 1, WMIREG_FLAG_INSTANCE_PDO},
    {&EXPENSIVE_GUID, 1, WMIREG_FLAG_EXPENSIVE | WMIREG_FLAG_INSTANCE_BASENAME},
    {&EVENT_GUID, 1, WMIREG_FLAG_EVENT_ONLY_GUID | WMIREG_FLAG_INSTANCE_PDO},
    {&DYN_EVENT_GUID, 1, WMIREG_FLAG_EVENT_ONLY_GUID},
};

static UNICODE_STRING g_RegistryPath; /* pool copy, freed by DriverUnload */
static PDEVICE_OBJECT g_Fdo;          /* for the tests */
static PDEVICE_OBJECT g_Filter;

/* What the driver saw, for the tests. Written from any thread (work items). */
typedef struct driver_log {
  int fdo_minor[16];                 /* WMI IRPs for the FDO, by minor */
  uintptr_t reginfo_data_path;       /* of the last REGINFO(_EX) */
  int forwarded;                     /* IrpForward / IrpNotWmi at the FDO */
  int event_control[BLOCK_COUNT][2]; /* [block][enable] WmiEventControl */
  int data_control[BLOCK_COUNT][2];  /* [block][enable] WmiDataBlockControl */
  int queries;                       /* DpWmiQueryDataBlock calls */
  int queries_too_small;
  int filter_minor[16]; /* WMI IRPs completed past the filter, by minor */
  int filter_pending;   /* ... of which with PendingReturned */
  NTSTATUS filter_last_status;
  NTSTATUS register_status;
  NTSTATUS deregister_status;
  NTSTATUS deregister_in_dispatch_status;
  int unloads;
  int raised_dispatch; /* WMI IRPs that arrived above PASSIVE_LEVEL */
} driver_log;

/* Ways to misbehave, set by a test before the request that trips them. */
typedef struct driver_knobs {
  bool pend_query;             /* complete DATA queries from a work item */
  bool hold_query;             /* ... and only once g_release is signalled */
  bool deregister_in_dispatch; /* DEREGISTER inside DpWmiQueryDataBlock (once) */
  bool drop_all_data;          /* return from dispatch without completing QUERY_ALL_DATA */
  bool complete_twice;         /* WmiCompleteRequest twice for EXPENSIVE queries */
  int filter_mode;             /* FILTER_* below */
} driver_knobs;

enum {
  FILTER_ROUTINE = 0, /* forward with a completion routine that lets completion go on */
  FILTER_SYNC = 1,    /* IoForwardIrpSynchronously, then complete it again */
  FILTER_SWALLOW = 2  /* IoForwardIrpSynchronously, then forget it (a bug) */
};

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static driver_log g_log;
static driver_knobs g_knobs;

#define LOG(stmt)                                                                                  \
  do {                                                                                             \
    pthread_mutex_lock(&g_log_lock);                                                               \
    stmt;                                                                                          \
    pthread_mutex_unlock(&g_log_lock);                                                             \
  } while (0)

static driver_knobs knobs(void) {
  pthread_mutex_lock(&g_log_lock);
  driver_knobs k = g_knobs;
  pthread_mutex_unlock(&g_log_lock);
  return k;
}

static driver_log log_snapshot(void) {
  pthread_mutex_lock(&g_log_lock);
  driver_log l = g_log;
  pthread_mutex_unlock(&g_log_lock);
  return l;
}

/* ---- WMI library callbacks ----------------------------------------------------------- */

static NTSTATUS QueryRegInfo(PDEVICE_OBJECT DeviceObject, PULONG RegFlags,
                             PUNICODE_STRING InstanceName, PUNICODE_STRING *RegistryPath,
                             PUNICODE_STRING MofResourceName, PDEVICE_OBJECT *Pdo) {
  PAGED_CODE();
  PFDO_EXTENSION ext = DeviceObject->DeviceExtension;
  static const WCHAR base[] = L"WmiTestExpensive";
  /* Filled in late, as the WMI library allows. */
  ext->WmiLib.GuidCount = BLOCK_COUNT;
  ext->WmiLib.GuidList = g_GuidList;
  *RegFlags = 0;
  /* The base name is allocated here and freed by WMI. */
  InstanceName->Buffer = ExAllocatePoolWithTag(PagedPool, sizeof base, TEST_TAG);
  if (InstanceName->Buffer == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  RtlCopyMemory(InstanceName->Buffer, base, sizeof base);
  InstanceName->Length = (USHORT)(sizeof base - sizeof(WCHAR));
  InstanceName->MaximumLength = (USHORT)sizeof base;
  *RegistryPath = &g_RegistryPath;
  RtlInitUnicodeString(MofResourceName, L"MofResource");
  *Pdo = ext->Pdo;
  return STATUS_SUCCESS;
}

static void fill_data(PFDO_EXTENSION ext, PUCHAR Buffer) {
  RtlCopyMemory(Buffer, &ext->Value, sizeof(ULONG));
  RtlCopyMemory(Buffer + 4, &ext->Counter, sizeof(ULONG));
  for (ULONG i = 8; i < BLOB_SIZE; i++) {
    Buffer[i] = (UCHAR)(i * 7u);
  }
}

typedef struct _PENDED_QUERY {
  PIO_WORKITEM Item;
  PIRP Irp;
  ULONG BufferAvail;
  PUCHAR Buffer;
  PULONG InstanceLengthArray;
  BOOLEAN Hold;
} PENDED_QUERY, *PPENDED_QUERY;

static KEVENT g_release; /* lets a held query complete */

static VOID CompletePendedQuery(PDEVICE_OBJECT DeviceObject, PVOID Context) {
  PPENDED_QUERY pended = Context;
  PFDO_EXTENSION ext = DeviceObject->DeviceExtension;
  PIO_WORKITEM item = pended->Item;
  if (pended->Hold) {
    (void)KeWaitForSingleObject(&g_release, Executive, KernelMode, FALSE, NULL);
  }
  if (pended->BufferAvail < BLOB_SIZE) {
    LOG(g_log.queries_too_small++);
    (void)WmiCompleteRequest(DeviceObject, pended->Irp, STATUS_BUFFER_TOO_SMALL, BLOB_SIZE,
                             IO_NO_INCREMENT);
  } else {
    fill_data(ext, pended->Buffer);
    pended->InstanceLengthArray[0] = BLOB_SIZE;
    (void)WmiCompleteRequest(DeviceObject, pended->Irp, STATUS_SUCCESS, BLOB_SIZE, IO_NO_INCREMENT);
  }
  ExFreePoolWithTag(pended, TEST_TAG);
  IoFreeWorkItem(item);
}

static NTSTATUS QueryDataBlock(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                               ULONG InstanceIndex, ULONG InstanceCount, PULONG InstanceLengthArray,
                               ULONG BufferAvail, PUCHAR Buffer) {
  PFDO_EXTENSION ext = DeviceObject->DeviceExtension;
  driver_knobs k = knobs();
  LOG(g_log.queries++);
  if (k.deregister_in_dispatch) {
    LOG(g_knobs.deregister_in_dispatch = false); /* once */
    NTSTATUS status = IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_DEREGISTER);
    LOG(g_log.deregister_in_dispatch_status = status);
  }
  if (InstanceIndex != 0 || InstanceCount != 1) {
    return WmiCompleteRequest(DeviceObject, Irp, STATUS_WMI_INSTANCE_NOT_FOUND, 0, IO_NO_INCREMENT);
  }
  switch (GuidIndex) {
  case BLOCK_DATA:
    if (k.pend_query) {
      PPENDED_QUERY pended = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof *pended, TEST_TAG);
      if (pended == NULL) {
        return WmiCompleteRequest(DeviceObject, Irp, STATUS_INSUFFICIENT_RESOURCES, 0,
                                  IO_NO_INCREMENT);
      }
      pended->Item = IoAllocateWorkItem(DeviceObject);
      pended->Irp = Irp;
      pended->BufferAvail = BufferAvail;
      pended->Buffer = Buffer;
      pended->InstanceLengthArray = InstanceLengthArray;
      pended->Hold = k.hold_query ? TRUE : FALSE;
      IoMarkIrpPending(Irp);
      IoQueueWorkItem(pended->Item, CompletePendedQuery, DelayedWorkQueue, pended);
      return STATUS_PENDING;
    }
    if (InstanceLengthArray == NULL || BufferAvail < BLOB_SIZE) {
      LOG(g_log.queries_too_small++);
      return WmiCompleteRequest(DeviceObject, Irp, STATUS_BUFFER_TOO_SMALL, BLOB_SIZE,
                                IO_NO_INCREMENT);
    }
    fill_data(ext, Buffer);
    InstanceLengthArray[0] = BLOB_SIZE;
    return WmiCompleteRequest(DeviceObject, Irp, STATUS_SUCCESS, BLOB_SIZE, IO_NO_INCREMENT);
  case BLOCK_EXPENSIVE: {
    if (InstanceLengthArray == NULL || BufferAvail < sizeof(ULONG)) {
      return WmiCompleteRequest(DeviceObject, Irp, STATUS_BUFFER_TOO_SMALL, sizeof(ULONG),
                                IO_NO_INCREMENT);
    }
    RtlCopyMemory(Buffer, &ext->Expensive, sizeof(ULONG));
    InstanceLengthArray[0] = sizeof(ULONG);
    NTSTATUS status =
        WmiCompleteRequest(DeviceObject, Irp, STATUS_SUCCESS, sizeof(ULONG), IO_NO_INCREMENT);
    if (k.complete_twice) {
      (void)WmiCompleteRequest(DeviceObject, Irp, STATUS_SUCCESS, sizeof(ULONG), IO_NO_INCREMENT);
    }
    return status;
  }
  default: /* event-only blocks have no data */
    return WmiCompleteRequest(DeviceObject, Irp, STATUS_WMI_GUID_NOT_FOUND, 0, IO_NO_INCREMENT);
  }
}

static NTSTATUS SetDataBlock(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                             ULONG InstanceIndex, ULONG BufferSize, PUCHAR Buffer) {
  PAGED_CODE();
  PFDO_EXTENSION ext = DeviceObject->DeviceExtension;
  (void)InstanceIndex;
  NTSTATUS status = STATUS_WMI_READ_ONLY;
  if (GuidIndex == BLOCK_DATA) {
    status = STATUS_WMI_SET_FAILURE;
    if (BufferSize >= sizeof(ULONG)) {
      RtlCopyMemory(&ext->Value, Buffer, sizeof(ULONG));
      status = STATUS_SUCCESS;
    }
  }
  return WmiCompleteRequest(DeviceObject, Irp, status, 0, IO_NO_INCREMENT);
}

static NTSTATUS SetDataItem(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                            ULONG InstanceIndex, ULONG DataItemId, ULONG BufferSize,
                            PUCHAR Buffer) {
  PFDO_EXTENSION ext = DeviceObject->DeviceExtension;
  (void)InstanceIndex;
  NTSTATUS status = STATUS_WMI_ITEMID_NOT_FOUND;
  if (GuidIndex == BLOCK_DATA && (DataItemId == 1 || DataItemId == 2)) {
    status = STATUS_WMI_SET_FAILURE;
    if (BufferSize == sizeof(ULONG)) {
      RtlCopyMemory(DataItemId == 1 ? &ext->Value : &ext->Counter, Buffer, sizeof(ULONG));
      status = STATUS_SUCCESS;
    }
  }
  return WmiCompleteRequest(DeviceObject, Irp, status, 0, IO_NO_INCREMENT);
}

static NTSTATUS ExecuteMethod(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                              ULONG InstanceIndex, ULONG MethodId, ULONG InBufferSize,
                              ULONG OutBufferSize, PUCHAR Buffer) {
  PFDO_EXTENSION ext = DeviceObject->DeviceExtension;
  (void)InstanceIndex;
  if (GuidIndex != BLOCK_DATA || MethodId != METHOD_ADD) {
    return WmiCompleteRequest(DeviceObject, Irp, STATUS_WMI_ITEMID_NOT_FOUND, 0, IO_NO_INCREMENT);
  }
  if (InBufferSize < sizeof(ULONG)) {
    return WmiCompleteRequest(DeviceObject, Irp, STATUS_INVALID_PARAMETER, 0, IO_NO_INCREMENT);
  }
  /* Size check before the side effect: WMI may ask again with more room. */
  if (OutBufferSize < sizeof(ULONG)) {
    return WmiCompleteRequest(DeviceObject, Irp, STATUS_BUFFER_TOO_SMALL, sizeof(ULONG),
                              IO_NO_INCREMENT);
  }
  ULONG add;
  RtlCopyMemory(&add, Buffer, sizeof add);
  ext->Value += add;
  RtlCopyMemory(Buffer, &ext->Value, sizeof(ULONG));
  return WmiCompleteRequest(DeviceObject, Irp, STATUS_SUCCESS, sizeof(ULONG), IO_NO_INCREMENT);
}

static NTSTATUS FunctionControl(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                WMIENABLEDISABLECONTROL Function, BOOLEAN Enable) {
  PAGED_CODE();
  if (GuidIndex < BLOCK_COUNT) {
    if (Function == WmiEventControl) {
      LOG(g_log.event_control[GuidIndex][Enable ? 1 : 0]++);
    } else {
      LOG(g_log.data_control[GuidIndex][Enable ? 1 : 0]++);
    }
  }
  return WmiCompleteRequest(DeviceObject, Irp, STATUS_SUCCESS, 0, IO_NO_INCREMENT);
}

/* ---- Dispatch routines ------------------------------------------------------------------ */

static NTSTATUS FilterWmiCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  (void)DeviceObject;
  (void)Context;
  if (Irp->PendingReturned) {
    IoMarkIrpPending(Irp);
  }
  UCHAR minor = IoGetCurrentIrpStackLocation(Irp)->MinorFunction;
  LOG(g_log.filter_minor[minor & 15u]++; g_log.filter_last_status = Irp->IoStatus.Status;
      g_log.filter_pending += Irp->PendingReturned ? 1 : 0);
  return STATUS_SUCCESS; /* STATUS_CONTINUE_COMPLETION */
}

static NTSTATUS DispatchSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PFDO_EXTENSION ext = DeviceObject->DeviceExtension;
  if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
    LOG(g_log.raised_dispatch++);
  }
  if (ext->Kind == KIND_FILTER) {
    /* Not a provider: watch the IRP go by. */
    PFILTER_EXTENSION fext = DeviceObject->DeviceExtension;
    int mode = knobs().filter_mode;
    if (mode != FILTER_ROUTINE) {
      /* The lower driver's completion stops at the filter, which owns the IRP again. */
      (void)IoForwardIrpSynchronously(fext->Lower, Irp);
      NTSTATUS status = Irp->IoStatus.Status;
      LOG(g_log.filter_minor[IoGetCurrentIrpStackLocation(Irp)->MinorFunction & 15u]++;
          g_log.filter_last_status = status);
      if (mode == FILTER_SYNC) {
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
      }
      return status;
    }
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, FilterWmiCompletion, NULL, TRUE, TRUE, TRUE);
    return IoCallDriver(fext->Lower, Irp);
  }
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  if (stack->Parameters.WMI.ProviderId == (ULONG_PTR)DeviceObject) {
    LOG(g_log.fdo_minor[stack->MinorFunction & 15u]++);
    if (stack->MinorFunction == IRP_MN_REGINFO || stack->MinorFunction == IRP_MN_REGINFO_EX) {
      LOG(g_log.reginfo_data_path = (uintptr_t)stack->Parameters.WMI.DataPath);
    }
    if (stack->MinorFunction == IRP_MN_QUERY_ALL_DATA && knobs().drop_all_data) {
      return STATUS_SUCCESS; /* neither completed nor forwarded: a bug */
    }
  }
  SYSCTL_IRP_DISPOSITION disposition;
  NTSTATUS status = WmiSystemControl(&ext->WmiLib, DeviceObject, Irp, &disposition);
  switch (disposition) {
  case IrpProcessed:
    break; /* a callback completed it, or pended it and will */
  case IrpNotCompleted:
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    break;
  case IrpForward:
  case IrpNotWmi:
  default:
    LOG(g_log.forwarded++);
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    break;
  }
  return status;
}

static NTSTATUS DispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PFDO_EXTENSION ext = DeviceObject->DeviceExtension;
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  NTSTATUS status;
  if (ext->Kind == KIND_FILTER) {
    PFILTER_EXTENSION fext = DeviceObject->DeviceExtension;
    PDEVICE_OBJECT lower = fext->Lower;
    if (stack->MinorFunction == IRP_MN_REMOVE_DEVICE) {
      /* Out of the stack first, so the FDO below leaves no device on top of it. */
      IoDetachDevice(lower);
      IoSkipCurrentIrpStackLocation(Irp);
      status = IoCallDriver(lower, Irp);
      g_Filter = NULL;
      IoDeleteDevice(DeviceObject);
      return status;
    }
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(lower, Irp);
  }
  switch (stack->MinorFunction) {
  case IRP_MN_START_DEVICE:
    status = STATUS_UNSUCCESSFUL;
    if (IoForwardIrpSynchronously(ext->Lower, Irp)) {
      status = Irp->IoStatus.Status;
    }
    if (NT_SUCCESS(status)) {
      status = IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_REGISTER);
      LOG(g_log.register_status = status);
    }
    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
  case IRP_MN_REMOVE_DEVICE: {
    status = IoWMIRegistrationControl(DeviceObject, WMIREG_ACTION_DEREGISTER);
    LOG(g_log.deregister_status = status);
    PDEVICE_OBJECT lower = ext->Lower;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(lower, Irp);
    IoDetachDevice(lower);
    g_Fdo = NULL;
    IoDeleteDevice(DeviceObject);
    return status;
  }
  default:
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(ext->Lower, Irp);
  }
}

static NTSTATUS AddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject) {
  PDEVICE_OBJECT fdo;
  NTSTATUS status = IoCreateDevice(DriverObject, sizeof(FDO_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
                                   0, FALSE, &fdo);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  PFDO_EXTENSION ext = fdo->DeviceExtension;
  RtlZeroMemory(ext, sizeof *ext);
  ext->Kind = KIND_FDO;
  ext->Self = fdo;
  ext->Pdo = PhysicalDeviceObject;
  ext->Value = 7;
  ext->Counter = 1;
  ext->Expensive = 0xE0E0E0E0u;
  ext->WmiLib.GuidCount = 0; /* filled in by QueryRegInfo */
  ext->WmiLib.GuidList = NULL;
  ext->WmiLib.QueryWmiRegInfo = QueryRegInfo;
  ext->WmiLib.QueryWmiDataBlock = QueryDataBlock;
  ext->WmiLib.SetWmiDataBlock = SetDataBlock;
  ext->WmiLib.SetWmiDataItem = SetDataItem;
  ext->WmiLib.ExecuteWmiMethod = ExecuteMethod;
  ext->WmiLib.WmiFunctionControl = FunctionControl;
  ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
  if (ext->Lower == NULL) {
    IoDeleteDevice(fdo);
    return STATUS_NO_SUCH_DEVICE;
  }
  fdo->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;

  PDEVICE_OBJECT filter;
  status = IoCreateDevice(DriverObject, sizeof(FILTER_EXTENSION), NULL, FILE_DEVICE_UNKNOWN, 0,
                          FALSE, &filter);
  if (!NT_SUCCESS(status)) {
    IoDetachDevice(ext->Lower);
    IoDeleteDevice(fdo);
    return status;
  }
  PFILTER_EXTENSION fext = filter->DeviceExtension;
  fext->Kind = KIND_FILTER;
  fext->Self = filter;
  fext->Lower = IoAttachDeviceToDeviceStack(filter, fdo);
  filter->Flags &= ~(ULONG)DO_DEVICE_INITIALIZING;
  g_Fdo = fdo;
  g_Filter = filter;
  return STATUS_SUCCESS;
}

static VOID DriverUnload(PDRIVER_OBJECT DriverObject) {
  (void)DriverObject;
  LOG(g_log.unloads++);
  if (g_RegistryPath.Buffer != NULL) {
    ExFreePoolWithTag(g_RegistryPath.Buffer, TEST_TAG);
    g_RegistryPath.Buffer = NULL;
  }
}

static NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  g_RegistryPath.Buffer = ExAllocatePoolWithTag(PagedPool, RegistryPath->Length, TEST_TAG);
  if (g_RegistryPath.Buffer == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  RtlCopyMemory(g_RegistryPath.Buffer, RegistryPath->Buffer, RegistryPath->Length);
  g_RegistryPath.Length = g_RegistryPath.MaximumLength = RegistryPath->Length;
  DriverObject->DriverExtension->AddDevice = AddDevice;
  DriverObject->DriverUnload = DriverUnload;
  DriverObject->MajorFunction[IRP_MJ_PNP] = DispatchPnp;
  DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = DispatchSystemControl;
  return STATUS_SUCCESS;
}

/* ---- Events the driver fires --------------------------------------------------------------- */

/* WmiFireEvent of EVENT instance @p index with 8 bytes: WMI owns the data afterwards. */
static NTSTATUS fire_event(ULONG index, ULONG a, ULONG b) {
  PULONG data = ExAllocatePoolWithTag(NonPagedPoolNx, 2 * sizeof(ULONG), TEST_TAG);
  assert_non_null(data);
  data[0] = a;
  data[1] = b;
  return WmiFireEvent(g_Fdo, &EVENT_GUID, index, 2 * sizeof(ULONG), data);
}

/* wcslen() assumes the C library's 32-bit wchar_t; WCHAR is 16 bits here. */
static size_t wlen(PCWSTR s) {
  size_t n = 0;
  while (s[n] != 0) {
    n++;
  }
  return n;
}

/* A dynamic-name WNODE_SINGLE_INSTANCE event for @p guid, built by hand in pool. */
static PWNODE_SINGLE_INSTANCE build_dynamic_event(const GUID *guid, PCWSTR name, ULONG value) {
  size_t name_bytes = wlen(name) * sizeof(WCHAR);
  ULONG name_at = sizeof(WNODE_SINGLE_INSTANCE);
  ULONG data_at = (ULONG)((name_at + sizeof(USHORT) + name_bytes + 7u) & ~(size_t)7u);
  ULONG size = data_at + sizeof(ULONG);
  PWNODE_SINGLE_INSTANCE w = ExAllocatePoolWithTag(NonPagedPoolNx, size, TEST_TAG);
  assert_non_null(w);
  RtlZeroMemory(w, size);
  w->WnodeHeader.BufferSize = size;
  w->WnodeHeader.ProviderId = IoWMIDeviceObjectToProviderId(g_Fdo);
  w->WnodeHeader.Guid = *guid;
  w->WnodeHeader.Flags = WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM;
  KeQuerySystemTime(&w->WnodeHeader.TimeStamp);
  w->OffsetInstanceName = name_at;
  w->DataBlockOffset = data_at;
  w->SizeDataBlock = sizeof(ULONG);
  PUCHAR bytes = (PUCHAR)w;
  USHORT len = (USHORT)name_bytes;
  RtlCopyMemory(bytes + name_at, &len, sizeof len);
  RtlCopyMemory(bytes + name_at + sizeof len, name, name_bytes);
  RtlCopyMemory(bytes + data_at, &value, sizeof value);
  return w;
}

/* IoWMIWriteEvent of a dynamic-name event; freed here if WMI refused it. */
static NTSTATUS write_dynamic_event(const GUID *guid, PCWSTR name, ULONG value) {
  PWNODE_SINGLE_INSTANCE w = build_dynamic_event(guid, name, value);
  NTSTATUS status = IoWMIWriteEvent(w);
  if (!NT_SUCCESS(status)) {
    ExFreePoolWithTag(w, TEST_TAG);
  }
  return status;
}

/* ======================================================================================
 * The tests
 * ====================================================================================== */

#define INSTANCE_ID L"ROOT\\WMITEST\\0000"
#define STATIC_NAME L"ROOT\\WMITEST\\0000_0"

typedef struct fixture {
  debug_alloc *alloc;
  PDRIVER_OBJECT driver;
  PDEVICE_OBJECT pdo;
  bool removed;
  uint64_t expected[WMIEV_HOST_RULE_COUNT_]; /* violations each test expects */
} fixture;

static int setup_with(void **state, uint32_t irp_timeout_ms, uint32_t max_event_size) {
  fixture *f = test_calloc(1, sizeof *f);
  f->alloc = debug_alloc_create();
  host_violations_reset();
  memset(&g_log, 0, sizeof g_log);
  memset(&g_knobs, 0, sizeof g_knobs);
  wmiev_host_options options;
  memset(&options, 0, sizeof options);
  options.allocator = debug_alloc_allocator(f->alloc);
  options.quiet = true;
  options.irp_timeout_ms = irp_timeout_ms;
  options.max_event_size = max_event_size;
  options.on_violation = host_violations_record;
  wmiev_host_configure(&options);
  assert_int_equal(wmiev_host_load_driver(DriverEntry, L"WmiTest", &f->driver), STATUS_SUCCESS);
  assert_int_equal(wmiev_host_add_device(f->driver, INSTANCE_ID, &f->pdo), STATUS_SUCCESS);
  assert_non_null(g_Fdo);
  KeInitializeEvent(&g_release, NotificationEvent, FALSE);
  *state = f;
  return 0;
}

static int setup(void **state) { return setup_with(state, 3000, 0); }

/* WMI gives up on a pended IRP after 200 ms here. */
static int setup_short_timeout(void **state) { return setup_with(state, 200, 0); }

/* Events up to 4 KiB, so that one can be too big to build on the stack. */
static int setup_big_events(void **state) { return setup_with(state, 3000, 4096); }

static void remove_device(fixture *f) {
  if (!f->removed) {
    assert_int_equal(wmiev_host_remove_device(f->pdo), STATUS_SUCCESS);
    f->removed = true;
  }
}

static int teardown(void **state) {
  fixture *f = *state;
  remove_device(f);
  wmiev_host_flush();
  assert_int_equal(log_snapshot().deregister_status, STATUS_SUCCESS);
  assert_int_equal(log_snapshot().raised_dispatch, 0);
  assert_int_equal(wmiev_host_unload_driver(f->driver), STATUS_SUCCESS);
  /* No WMI registration is left behind. */
  assert_int_equal(wmiev_registry_blocks(wmiev_bus_registry(wmiev_host_bus()), NULL, NULL, 0), 0);
  wmiev_host_shutdown();
  uint64_t seen[WMIEV_HOST_RULE_COUNT_];
  host_violations_snapshot(seen);
  assert_host_violations(seen, f->expected);
  wmiev_host_configure(NULL);
  assert_int_equal(debug_alloc_errors(f->alloc), 0);
  if (debug_alloc_live_count(f->alloc) != 0) {
    (void)debug_alloc_report_leaks(f->alloc);
  }
  assert_int_equal(debug_alloc_live_count(f->alloc), 0);
  debug_alloc_destroy(f->alloc);
  test_free(f);
  return 0;
}

/* ---- Consumer helpers ------------------------------------------------------------------- */

static UNICODE_STRING static_name(void) {
  UNICODE_STRING name = RTL_CONSTANT_STRING(STATIC_NAME);
  return name;
}

static bool unicode_equals(PCUNICODE_STRING s, PCWSTR text) {
  size_t bytes = wlen(text) * sizeof(WCHAR);
  return s->Length == bytes && memcmp(s->Buffer, text, bytes) == 0;
}

/* ---- Registration ---------------------------------------------------------------------- */

static void test_registration_handshake(void **state) {
  (void)state;
  driver_log l = log_snapshot();
  assert_int_equal(l.register_status, STATUS_SUCCESS);
  /* A full registration: REGINFO_EX (the answer, with its strings, is bigger
   * than WMI's first buffer: the driver says so and WMI asks again), and
   * nothing else yet. */
  assert_int_equal(l.fdo_minor[IRP_MN_REGINFO_EX], 2);
  assert_int_equal(l.fdo_minor[IRP_MN_REGINFO], 0);
  assert_int_equal(l.reginfo_data_path, WMIREGISTER);
  int total = 0;
  for (int i = 0; i < 16; i++) {
    total += l.fdo_minor[i];
  }
  assert_int_equal(total, 2);
  /* They came through the filter on top, and back up through its completion routine. */
  assert_int_equal(l.filter_minor[IRP_MN_REGINFO_EX], 2);
  assert_int_equal(l.filter_last_status, STATUS_SUCCESS);
  /* The GUID list filled in late made it: every block answers. */
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  ObDereferenceObject(data);
  PVOID unknown = open_block(&UNKNOWN_GUID, WMIGUID_QUERY);
  size = 0;
  assert_int_equal(IoWMIQueryAllData(unknown, &size, NULL), STATUS_WMI_GUID_NOT_FOUND);
  ObDereferenceObject(unknown);
  /* Provider ids: stable, never 0; REGISTER twice is refused. */
  ULONG id = IoWMIDeviceObjectToProviderId(g_Fdo);
  assert_int_not_equal(id, 0);
  assert_int_equal(IoWMIDeviceObjectToProviderId(g_Fdo), id);
  assert_int_equal(IoWMIRegistrationControl(g_Fdo, WMIREG_ACTION_REGISTER),
                   STATUS_INVALID_PARAMETER);
  assert_int_equal(IoWMIRegistrationControl(g_Fdo, 0x80000000u | WMIREG_ACTION_REGISTER),
                   STATUS_INVALID_PARAMETER);
  /* UPDATE_GUIDS asks again, with WMIUPDATE (no registry path or MOF name
   * in that answer: it fits the first buffer). */
  assert_int_equal(IoWMIRegistrationControl(g_Fdo, WMIREG_ACTION_UPDATE_GUIDS), STATUS_SUCCESS);
  l = log_snapshot();
  assert_int_equal(l.fdo_minor[IRP_MN_REGINFO_EX], 3);
  assert_int_equal(l.reginfo_data_path, WMIUPDATE);
}

/* ---- Events ------------------------------------------------------------------------------ */

static void test_event_enable_counting(void **state) {
  (void)state;
  kconsumer a = {0}, b = {0};
  /* Opening for notification alone enables nothing. */
  PVOID first = open_block(&EVENT_GUID, NOTIFY_ACCESS);
  assert_int_equal(log_snapshot().event_control[BLOCK_EVENT][1], 0);
  /* The first callback is the first consumer: one ENABLE. */
  assert_int_equal(IoWMISetNotificationCallback(first, kconsumer_notify, &a), STATUS_SUCCESS);
  assert_int_equal(log_snapshot().event_control[BLOCK_EVENT][1], 1);
  /* Replacing it, and a second consumer: no more. */
  assert_int_equal(IoWMISetNotificationCallback(first, kconsumer_notify, &b), STATUS_SUCCESS);
  PVOID second = kernel_subscribe(&EVENT_GUID, &a);
  assert_int_equal(log_snapshot().event_control[BLOCK_EVENT][1], 1);
  /* The first goes: nothing; the last goes: one DISABLE. */
  ObDereferenceObject(first);
  assert_int_equal(log_snapshot().event_control[BLOCK_EVENT][0], 0);
  ObDereferenceObject(second);
  driver_log l = log_snapshot();
  assert_int_equal(l.event_control[BLOCK_EVENT][0], 1);
  assert_int_equal(l.event_control[BLOCK_EVENT][1], 1);
  /* A NULL callback is a consumer leaving too. */
  PVOID third = kernel_subscribe(&EVENT_GUID, &a);
  assert_int_equal(log_snapshot().event_control[BLOCK_EVENT][1], 2);
  assert_int_equal(IoWMISetNotificationCallback(third, NULL, NULL), STATUS_SUCCESS);
  assert_int_equal(log_snapshot().event_control[BLOCK_EVENT][0], 2);
  ObDereferenceObject(third);
  l = log_snapshot();
  assert_int_equal(l.event_control[BLOCK_EVENT][0], 2);
  /* No other block was touched. */
  assert_int_equal(l.event_control[BLOCK_DYN_EVENT][1], 0);
  assert_int_equal(l.data_control[BLOCK_EVENT][1], 0);
  assert_int_equal(a.count + b.count, 0);
}

static void test_event_delivery(void **state) {
  (void)state;
  kconsumer c = {0}, d = {0};
  PVOID events = kernel_subscribe(&EVENT_GUID, &c);
  PVOID dynamic = kernel_subscribe(&DYN_EVENT_GUID, &d);

  /* WmiFireEvent: a static-name, PDO-named single-instance event. */
  assert_int_equal(fire_event(0, 0x11223344u, 0x55667788u), STATUS_SUCCESS);
  assert_int_equal(c.count, 0); /* the host pumps its bus on flush */
  wmiev_host_flush();
  assert_int_equal(c.count, 1);
  const WNODE_SINGLE_INSTANCE *w = (const void *)c.last;
  assert_int_equal(c.last_size, sizeof(WNODE_SINGLE_INSTANCE) + 8);
  assert_memory_equal(&w->WnodeHeader.Guid, &EVENT_GUID, sizeof(GUID));
  assert_int_equal(w->WnodeHeader.ProviderId, IoWMIDeviceObjectToProviderId(g_Fdo));
  assert_int_equal(w->WnodeHeader.Flags, WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM |
                                             WNODE_FLAG_STATIC_INSTANCE_NAMES |
                                             WNODE_FLAG_PDO_INSTANCE_NAMES);
  assert_int_equal(w->InstanceIndex, 0);
  assert_int_equal(w->DataBlockOffset, sizeof(WNODE_SINGLE_INSTANCE));
  assert_int_equal(w->SizeDataBlock, 8);
  ULONG payload[2];
  memcpy(payload, c.last + w->DataBlockOffset, sizeof payload);
  assert_int_equal(payload[0], 0x11223344u);
  assert_int_equal(payload[1], 0x55667788u);
  assert_int_not_equal(w->WnodeHeader.TimeStamp.QuadPart, 0);

  /* IoWMIWriteEvent: a driver-built dynamic-name event, byte for byte. */
  PWNODE_SINGLE_INSTANCE expected = build_dynamic_event(&DYN_EVENT_GUID, L"WmiTestDyn", 0xCAFEu);
  ULONG expected_size = expected->WnodeHeader.BufferSize;
  uint8_t copy[256];
  memcpy(copy, expected, expected_size);
  assert_int_equal(IoWMIWriteEvent(expected), STATUS_SUCCESS); /* WMI's now */
  wmiev_host_flush();
  assert_int_equal(d.count, 1);
  assert_int_equal(d.last_size, expected_size);
  /* Everything but the timestamp, which WMI stamps unless USE_TIMESTAMP. */
  size_t stamp = offsetof(WNODE_HEADER, TimeStamp);
  assert_memory_equal(d.last, copy, stamp);
  assert_memory_equal(d.last + stamp + 8, copy + stamp + 8, expected_size - stamp - 8);
  assert_int_equal(c.count, 1);

  /* A failed fire still takes EventData (and says why it failed). */
  assert_int_equal(fire_event(5, 1, 2), STATUS_WMI_INSTANCE_NOT_FOUND);
  /* EventData NULL with size 0 is an event without data. */
  assert_int_equal(WmiFireEvent(g_Fdo, &EVENT_GUID, 0, 0, NULL), STATUS_SUCCESS);
  wmiev_host_flush();
  assert_int_equal(c.count, 2);
  assert_int_equal(c.last_size, sizeof(WNODE_SINGLE_INSTANCE));
  ObDereferenceObject(events);
  ObDereferenceObject(dynamic);
  driver_log l = log_snapshot();
  assert_int_equal(l.event_control[BLOCK_EVENT][1], 1);
  assert_int_equal(l.event_control[BLOCK_EVENT][0], 1);
  assert_int_equal(l.event_control[BLOCK_DYN_EVENT][1], 1);
  assert_int_equal(l.event_control[BLOCK_DYN_EVENT][0], 1);
}

/* A WmiFireEvent notification whose WNODE cannot be built (a 2000-byte
 * event is built on the heap, and that allocation fails) is lost to the
 * kernel consumer, and the host reports it instead of staying silent. */
static void test_notification_lost_without_memory(void **state) {
  fixture *f = *state;
  kconsumer c = {0};
  PVOID events = kernel_subscribe(&EVENT_GUID, &c);
  const ULONG size = 2000;
  uint8_t *data = ExAllocatePoolWithTag(NonPagedPoolNx, size, 'tseT');
  assert_non_null(data);
  memset(data, 0x5A, size);
  assert_int_equal(WmiFireEvent(g_Fdo, &EVENT_GUID, 0, size, data), STATUS_SUCCESS);
  debug_alloc_fail_nth(f->alloc, 1, false); /* the next allocation: the WNODE's */
  wmiev_host_flush();
  assert_true(debug_alloc_failure_hit(f->alloc));
  assert_int_equal(c.count, 0);
  f->expected[WMIEV_HOST_RULE_WMI_WARNING] = 1;
  /* With memory again, the next one arrives whole. */
  data = ExAllocatePoolWithTag(NonPagedPoolNx, size, 'tseT');
  assert_non_null(data);
  memset(data, 0x5A, size);
  assert_int_equal(WmiFireEvent(g_Fdo, &EVENT_GUID, 0, size, data), STATUS_SUCCESS);
  wmiev_host_flush();
  assert_int_equal(c.count, 1);
  const WNODE_SINGLE_INSTANCE *w = (const void *)c.last; /* its first 256 bytes */
  assert_int_equal(w->WnodeHeader.BufferSize, sizeof(WNODE_SINGLE_INSTANCE) + size);
  assert_int_equal(w->SizeDataBlock, size);
  ObDereferenceObject(events);
}

static VOID NTAPI release_inside(PVOID Wnode, PVOID Context) {
  (void)Wnode;
  kconsumer *c = Context;
  c->count++;
  /* The consumer's object, released from inside its own callback. */
  ObDereferenceObject(*(PVOID *)(void *)c->last);
}

static void test_release_inside_callback(void **state) {
  (void)state;
  kconsumer c = {0};
  PVOID object = open_block(&EVENT_GUID, NOTIFY_ACCESS);
  memcpy(c.last, &object, sizeof object);
  assert_int_equal(IoWMISetNotificationCallback(object, release_inside, &c), STATUS_SUCCESS);
  assert_int_equal(fire_event(0, 1, 2), STATUS_SUCCESS);
  assert_int_equal(fire_event(0, 3, 4), STATUS_SUCCESS);
  wmiev_host_flush();
  /* Released in the first call: the second event, already queued, is discarded. */
  assert_int_equal(c.count, 1);
  assert_int_equal(log_snapshot().event_control[BLOCK_EVENT][0], 1);
}

static void test_traced_event(void **state) {
  (void)state;
  /* A TRACED_GUID WNODE may live on the stack, at any IRQL: WMI never frees it. */
  WNODE_HEADER traced;
  memset(&traced, 0, sizeof traced);
  traced.BufferSize = sizeof traced;
  traced.Guid = EVENT_GUID;
  traced.Flags = WNODE_FLAG_TRACED_GUID;
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  assert_int_equal(IoWMIWriteEvent(&traced), STATUS_SUCCESS);
  assert_int_equal(WmiFireEvent(g_Fdo, &DYN_EVENT_GUID, 0, 0, NULL), STATUS_SUCCESS);
  KeLowerIrql(old);
  fixture *f = *state;
  /* WmiFireEvent is fine at DISPATCH_LEVEL; nobody listens to DYN_EVENT. */
  f->expected[WMIEV_HOST_RULE_EVENT_NOT_ENABLED] = 1;
  /* WmiFireEvent's static-name event for a dynamic-name block: a mismatch. */
  f->expected[WMIEV_HOST_RULE_EVENT_NAME_MISMATCH] = 1;
}

/* ---- Queries, sets, methods ---------------------------------------------------------------- */

static void test_query_all_data_growth(void **state) {
  (void)state;
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  /* WMI's first buffer was too small for the driver: it asked for more. */
  driver_log l = log_snapshot();
  assert_int_equal(l.queries, 2);
  assert_int_equal(l.queries_too_small, 1);
  ULONG needed = size;
  assert_true(needed >= sizeof(WNODE_ALL_DATA) + BLOB_SIZE);
  uint64_t storage[512];
  assert_true(needed <= sizeof storage);
  size = sizeof storage;
  assert_int_equal(IoWMIQueryAllData(data, &size, storage), STATUS_SUCCESS);
  assert_int_equal(size, needed);
  const WNODE_ALL_DATA *all = (const void *)storage;
  assert_memory_equal(&all->WnodeHeader.Guid, &DATA_GUID, sizeof(GUID));
  assert_int_equal(all->WnodeHeader.ProviderId, IoWMIDeviceObjectToProviderId(g_Fdo));
  assert_int_equal(all->WnodeHeader.Linkage, 0);
  assert_true((all->WnodeHeader.Flags & WNODE_FLAG_ALL_DATA) != 0);
  assert_true((all->WnodeHeader.Flags & WNODE_FLAG_FIXED_INSTANCE_SIZE) != 0);
  assert_true((all->WnodeHeader.Flags & WNODE_FLAG_PDO_INSTANCE_NAMES) != 0);
  assert_int_equal(all->InstanceCount, 1);
  assert_int_equal(all->FixedInstanceSize, BLOB_SIZE);
  const uint8_t *bytes = (const uint8_t *)storage + all->DataBlockOffset;
  ULONG value;
  memcpy(&value, bytes, sizeof value);
  assert_int_equal(value, 7);
  assert_int_equal(bytes[BLOB_SIZE - 1], (uint8_t)((BLOB_SIZE - 1) * 7u));
  /* Every one of the four QUERY_ALL_DATA IRPs came back up through the filter,
   * completed by WmiCompleteRequest through IoCompleteRequest. */
  l = log_snapshot();
  assert_int_equal(l.queries, 4);
  assert_int_equal(l.fdo_minor[IRP_MN_QUERY_ALL_DATA], 4);
  assert_int_equal(l.filter_minor[IRP_MN_QUERY_ALL_DATA], 4);
  assert_int_equal(l.filter_last_status, STATUS_SUCCESS);
  ObDereferenceObject(data);
}

static void test_query_single_instance(void **state) {
  (void)state;
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  UNICODE_STRING name = static_name();
  ULONG size = 0;
  assert_int_equal(IoWMIQuerySingleInstance(data, &name, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  uint64_t storage[512];
  assert_true(size <= sizeof storage);
  ULONG needed = size;
  size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(data, &name, &size, storage), STATUS_SUCCESS);
  assert_int_equal(size, needed);
  const WNODE_SINGLE_INSTANCE *one = (const void *)storage;
  assert_int_equal(one->SizeDataBlock, BLOB_SIZE);
  assert_int_equal(one->InstanceIndex, 0);
  ULONG counter;
  memcpy(&counter, (const uint8_t *)storage + one->DataBlockOffset + 4, sizeof counter);
  assert_int_equal(counter, 1);
  /* Unknown names. */
  UNICODE_STRING other = RTL_CONSTANT_STRING(L"ROOT\\WMITEST\\0000_1");
  size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(data, &other, &size, storage),
                   STATUS_WMI_INSTANCE_NOT_FOUND);
  UNICODE_STRING dynamic = RTL_CONSTANT_STRING(L"NoSuchInstance");
  assert_int_equal(IoWMIQuerySingleInstance(data, &dynamic, &size, storage),
                   STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_int_equal(IoWMIQuerySingleInstance(data, NULL, &size, storage), STATUS_INVALID_PARAMETER);

  /* Several blocks at once, chained through Linkage. */
  PVOID expensive = open_block(&EXPENSIVE_GUID, WMIGUID_QUERY);
  PVOID empty = open_block(&UNKNOWN_GUID, WMIGUID_QUERY);
  PVOID list[3] = {data, empty, expensive};
  size = 0;
  assert_int_equal(IoWMIQueryAllDataMultiple(list, 3, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  needed = size;
  size = sizeof storage;
  assert_int_equal(IoWMIQueryAllDataMultiple(list, 3, &size, storage), STATUS_SUCCESS);
  assert_int_equal(size, needed);
  const WNODE_ALL_DATA *first = (const void *)storage;
  assert_memory_equal(&first->WnodeHeader.Guid, &DATA_GUID, sizeof(GUID));
  ULONG link = first->WnodeHeader.Linkage;
  assert_int_equal(link, (first->WnodeHeader.BufferSize + 7u) & ~7u);
  const WNODE_ALL_DATA *second = (const void *)((const uint8_t *)storage + link);
  assert_memory_equal(&second->WnodeHeader.Guid, &EXPENSIVE_GUID, sizeof(GUID));
  assert_int_equal(second->WnodeHeader.Linkage, 0);
  assert_int_equal(size, link + second->WnodeHeader.BufferSize);
  ULONG expensive_value;
  memcpy(&expensive_value, (const uint8_t *)second + second->DataBlockOffset, 4);
  assert_int_equal(expensive_value, 0xE0E0E0E0u);
  /* Nothing there at all: success, nothing returned. */
  size = sizeof storage;
  assert_int_equal(IoWMIQueryAllDataMultiple(&empty, 1, &size, storage), STATUS_SUCCESS);
  assert_int_equal(size, 0);

  UNICODE_STRING names[3] = {name, RTL_CONSTANT_STRING(L"Nobody"),
                             RTL_CONSTANT_STRING(L"WmiTestExpensive0")};
  size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstanceMultiple(list, names, 3, &size, storage),
                   STATUS_SUCCESS);
  const WNODE_SINGLE_INSTANCE *a = (const void *)storage;
  assert_int_equal(a->SizeDataBlock, BLOB_SIZE);
  const WNODE_SINGLE_INSTANCE *b =
      (const void *)((const uint8_t *)storage + a->WnodeHeader.Linkage);
  assert_memory_equal(&b->WnodeHeader.Guid, &EXPENSIVE_GUID, sizeof(GUID));
  assert_int_equal(b->SizeDataBlock, 4);
  assert_int_equal(b->WnodeHeader.Linkage, 0);
  ObDereferenceObject(data);
  ObDereferenceObject(expensive);
  ObDereferenceObject(empty);
}

static ULONG query_value(PVOID object) {
  UNICODE_STRING name = static_name();
  uint64_t storage[512];
  ULONG size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(object, &name, &size, storage), STATUS_SUCCESS);
  const WNODE_SINGLE_INSTANCE *one = (const void *)storage;
  ULONG value;
  memcpy(&value, (const uint8_t *)storage + one->DataBlockOffset, sizeof value);
  return value;
}

static void test_set_and_method(void **state) {
  (void)state;
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY | WMIGUID_SET | WMIGUID_EXECUTE);
  UNICODE_STRING name = static_name();
  ULONG value = 40;
  assert_int_equal(IoWMISetSingleInstance(data, &name, 0, sizeof value, &value), STATUS_SUCCESS);
  assert_int_equal(query_value(data), 40);
  assert_int_equal(IoWMISetSingleInstance(data, &name, 1, sizeof value, &value),
                   STATUS_INVALID_PARAMETER);
  value = 41;
  assert_int_equal(IoWMISetSingleItem(data, &name, 1, 0, sizeof value, &value), STATUS_SUCCESS);
  assert_int_equal(query_value(data), 41);
  assert_int_equal(IoWMISetSingleItem(data, &name, 9, 0, sizeof value, &value),
                   STATUS_WMI_ITEMID_NOT_FOUND);
  /* Method "add": in 1 ULONG, out the new value, in the same buffer. */
  UCHAR inout[16];
  ULONG add = 1;
  memcpy(inout, &add, sizeof add);
  ULONG out_size = sizeof inout;
  assert_int_equal(IoWMIExecuteMethod(data, &name, METHOD_ADD, sizeof add, &out_size, inout),
                   STATUS_SUCCESS);
  assert_int_equal(out_size, sizeof(ULONG));
  ULONG result;
  memcpy(&result, inout, sizeof result);
  assert_int_equal(result, 42);
  out_size = sizeof inout;
  assert_int_equal(IoWMIExecuteMethod(data, &name, 77, sizeof add, &out_size, inout),
                   STATUS_WMI_ITEMID_NOT_FOUND);
  /* The set on a block without a set callback path: the EXPENSIVE block refuses. */
  PVOID expensive = open_block(&EXPENSIVE_GUID, WMIGUID_SET);
  UNICODE_STRING ename = RTL_CONSTANT_STRING(L"WmiTestExpensive0");
  assert_int_equal(IoWMISetSingleInstance(expensive, &ename, 0, sizeof value, &value),
                   STATUS_WMI_READ_ONLY);
  ObDereferenceObject(expensive);
  ObDereferenceObject(data);
}

static void test_collection_control(void **state) {
  (void)state;
  /* Only data-block opens of the EXPENSIVE block count; one enable, one disable. */
  PVOID notify_only = open_block(&EXPENSIVE_GUID, NOTIFY_ACCESS);
  assert_int_equal(log_snapshot().data_control[BLOCK_EXPENSIVE][1], 0);
  PVOID first = open_block(&EXPENSIVE_GUID, WMIGUID_QUERY);
  assert_int_equal(log_snapshot().data_control[BLOCK_EXPENSIVE][1], 1);
  PVOID second = open_block(&EXPENSIVE_GUID, WMIGUID_SET);
  PVOID other = open_block(&DATA_GUID, WMIGUID_QUERY);
  driver_log l = log_snapshot();
  assert_int_equal(l.data_control[BLOCK_EXPENSIVE][1], 1);
  assert_int_equal(l.data_control[BLOCK_DATA][1], 0);
  ObDereferenceObject(first);
  assert_int_equal(log_snapshot().data_control[BLOCK_EXPENSIVE][0], 0);
  ObDereferenceObject(notify_only);
  ObDereferenceObject(second);
  l = log_snapshot();
  assert_int_equal(l.data_control[BLOCK_EXPENSIVE][0], 1);
  assert_int_equal(l.data_control[BLOCK_EXPENSIVE][1], 1);
  ObDereferenceObject(other);
  assert_int_equal(log_snapshot().data_control[BLOCK_DATA][0], 0);
}

static void test_access_denied(void **state) {
  (void)state;
  PVOID notify = open_block(&DATA_GUID, NOTIFY_ACCESS);
  PVOID query = open_block(&DATA_GUID, WMIGUID_QUERY);
  UNICODE_STRING name = static_name();
  ULONG value = 1;
  ULONG size = 0;
  uint64_t storage[512];
  assert_int_equal(IoWMIQueryAllData(notify, &size, NULL), STATUS_ACCESS_DENIED);
  assert_int_equal(IoWMIQuerySingleInstance(notify, &name, &size, NULL), STATUS_ACCESS_DENIED);
  assert_int_equal(IoWMIQueryAllDataMultiple(&notify, 1, &size, NULL), STATUS_ACCESS_DENIED);
  assert_int_equal(IoWMISetNotificationCallback(query, kconsumer_notify, NULL),
                   STATUS_ACCESS_DENIED);
  assert_int_equal(IoWMISetSingleInstance(query, &name, 0, sizeof value, &value),
                   STATUS_ACCESS_DENIED);
  assert_int_equal(IoWMISetSingleItem(query, &name, 1, 0, sizeof value, &value),
                   STATUS_ACCESS_DENIED);
  size = sizeof storage;
  assert_int_equal(IoWMIExecuteMethod(query, &name, METHOD_ADD, 4, &size, (PUCHAR)storage),
                   STATUS_ACCESS_DENIED);
  /* Nothing reached the driver. */
  driver_log l = log_snapshot();
  assert_int_equal(l.queries, 0);
  assert_int_equal(l.event_control[BLOCK_DATA][1], 0);
  assert_int_equal(l.fdo_minor[IRP_MN_CHANGE_SINGLE_INSTANCE], 0);
  assert_int_equal(l.fdo_minor[IRP_MN_EXECUTE_METHOD], 0);
  ObDereferenceObject(notify);
  ObDereferenceObject(query);
  assert_int_equal(IoWMIOpenBlock(&DATA_GUID, WMIGUID_QUERY, NULL), STATUS_INVALID_PARAMETER);
}

static void test_instance_names_and_ids(void **state) {
  fixture *f = *state;
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  UNICODE_STRING name = {0, 0, NULL};
  /* From the PDO: its function driver above it is the provider. */
  assert_int_equal(IoWMIDeviceObjectToInstanceName(data, f->pdo, &name), STATUS_SUCCESS);
  assert_true(unicode_equals(&name, STATIC_NAME));
  RtlFreeUnicodeString(&name);
  assert_int_equal(IoWMIDeviceObjectToInstanceName(data, g_Fdo, &name), STATUS_SUCCESS);
  assert_true(unicode_equals(&name, STATIC_NAME));
  ExFreePool(name.Buffer);
  PVOID expensive = open_block(&EXPENSIVE_GUID, 0);
  assert_int_equal(IoWMIDeviceObjectToInstanceName(expensive, g_Fdo, &name), STATUS_SUCCESS);
  assert_true(unicode_equals(&name, L"WmiTestExpensive0"));
  RtlFreeUnicodeString(&name);
  PVOID dynamic = open_block(&DYN_EVENT_GUID, 0);
  assert_int_equal(IoWMIDeviceObjectToInstanceName(dynamic, g_Fdo, &name),
                   STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_int_equal(IoWMIHandleToInstanceName(data, NULL, &name), STATUS_NOT_SUPPORTED);

  UNICODE_STRING suggested = {0, 0, NULL};
  assert_int_equal(IoWMISuggestInstanceName(f->pdo, NULL, FALSE, &suggested), STATUS_SUCCESS);
  assert_true(unicode_equals(&suggested, INSTANCE_ID));
  RtlFreeUnicodeString(&suggested);
  UNICODE_STRING link = RTL_CONSTANT_STRING(L"\\DosDevices\\WmiTest");
  assert_int_equal(IoWMISuggestInstanceName(NULL, &link, FALSE, &suggested), STATUS_SUCCESS);
  assert_true(unicode_equals(&suggested, L"\\DosDevices\\WmiTest"));
  ExFreePool(suggested.Buffer);
  assert_int_equal(IoWMISuggestInstanceName(f->pdo, &link, TRUE, &suggested), STATUS_SUCCESS);
  assert_true(unicode_equals(&suggested, INSTANCE_ID L"_\\DosDevices\\WmiTest"));
  ExFreePool(suggested.Buffer);
  assert_int_equal(IoWMISuggestInstanceName(f->pdo, NULL, TRUE, &suggested),
                   STATUS_INVALID_PARAMETER);
  assert_int_equal(IoWMISuggestInstanceName(NULL, NULL, FALSE, &suggested),
                   STATUS_INVALID_PARAMETER);

  ULONG first = 99;
  assert_int_equal(IoWMIAllocateInstanceIds(&DATA_GUID, 3, &first), STATUS_SUCCESS);
  assert_int_equal(first, 0);
  assert_int_equal(IoWMIAllocateInstanceIds(&DATA_GUID, 2, &first), STATUS_SUCCESS);
  assert_int_equal(first, 3);
  assert_int_equal(IoWMIAllocateInstanceIds(&EVENT_GUID, 1, &first), STATUS_SUCCESS);
  assert_int_equal(first, 0);
  assert_int_equal(IoWMIAllocateInstanceIds(&DATA_GUID, 0xFFFFFFFFu, &first),
                   STATUS_INTEGER_OVERFLOW);
  ObDereferenceObject(data);
  ObDereferenceObject(expensive);
  ObDereferenceObject(dynamic);
}

static void test_pended_query(void **state) {
  (void)state;
  LOG(g_knobs.pend_query = true);
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  UNICODE_STRING name = static_name();
  uint64_t storage[512];
  ULONG size = sizeof storage;
  /* Completed from the host's work item thread while WMI waits. */
  assert_int_equal(IoWMIQuerySingleInstance(data, &name, &size, storage), STATUS_SUCCESS);
  const WNODE_SINGLE_INSTANCE *one = (const void *)storage;
  assert_int_equal(one->SizeDataBlock, BLOB_SIZE);
  wmiev_host_flush();
  driver_log l = log_snapshot();
  assert_true(l.filter_pending >= 1);
  assert_int_equal(l.filter_minor[IRP_MN_QUERY_SINGLE_INSTANCE], l.queries);
  LOG(g_knobs.pend_query = false);
  ObDereferenceObject(data);
}

static void test_rule_pending_timeout(void **state) {
  fixture *f = *state;
  LOG(g_knobs.pend_query = true; g_knobs.hold_query = true);
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  UNICODE_STRING name = static_name();
  uint64_t storage[512];
  ULONG size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(data, &name, &size, storage), STATUS_IO_TIMEOUT);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_WMI_PENDING_TIMEOUT), 1);
  /* The late completion goes all the way (filter included) into WMI's own
   * copy, which it then frees: nothing leaks, nothing is touched twice. */
  KeSetEvent(&g_release, IO_NO_INCREMENT, FALSE);
  wmiev_host_flush();
  LOG(g_knobs.pend_query = false; g_knobs.hold_query = false);
  assert_int_equal(log_snapshot().filter_minor[IRP_MN_QUERY_SINGLE_INSTANCE], 1);
  assert_int_equal(log_snapshot().filter_last_status, STATUS_SUCCESS);
  size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(data, &name, &size, storage), STATUS_SUCCESS);
  ObDereferenceObject(data);
  f->expected[WMIEV_HOST_RULE_WMI_PENDING_TIMEOUT] = 1;
}

static void test_removal(void **state) {
  fixture *f = *state;
  kconsumer c = {0};
  PVOID events = kernel_subscribe(&EVENT_GUID, &c);
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  remove_device(f);
  driver_log l = log_snapshot();
  assert_int_equal(l.deregister_status, STATUS_SUCCESS);
  /* A provider that deregisters is sent no DISABLE (it provides nothing now). */
  assert_int_equal(l.event_control[BLOCK_EVENT][0], 0);
  assert_null(g_Fdo);
  assert_null(g_Filter);
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(wmiev_registry_blocks(wmiev_bus_registry(wmiev_host_bus()), NULL, NULL, 0), 0);
  ObDereferenceObject(events);
  ObDereferenceObject(data);
}

/* ---- Verifier rules ----------------------------------------------------------------------- */

static void test_rule_irql(void **state) {
  fixture *f = *state;
  kconsumer c = {0};
  PVOID dynamic = kernel_subscribe(&DYN_EVENT_GUID, &c);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  PVOID object = NULL;
  assert_int_equal(IoWMIOpenBlock(&EVENT_GUID, NOTIFY_ACCESS, &object), STATUS_SUCCESS);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_IRQL), 1);
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_IRQL, "IoWMIOpenBlock"));
  assert_int_equal(write_dynamic_event(&DYN_EVENT_GUID, L"Raised", 1), STATUS_SUCCESS);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_IRQL), 2);
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_IRQL, "IoWMIWriteEvent"));
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY); /* a third one */
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_IRQL, "IoWMIOpenBlock"));
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_IRQL), 4);
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_IRQL, "IoWMIQueryAllData"));
  KeLowerIrql(old);
  wmiev_host_flush();
  assert_int_equal(c.count, 1); /* carried on, as the host does */
  /* The driver still got its IRPs at PASSIVE_LEVEL (its PAGED_CODE did not fire). */
  assert_int_equal(log_snapshot().raised_dispatch, 0);
  ObDereferenceObject(object);
  ObDereferenceObject(data);
  ObDereferenceObject(dynamic);
  f->expected[WMIEV_HOST_RULE_IRQL] = 4;
}

static void test_consumer_at_apc_level(void **state) {
  (void)state;
  /* The consumer API is allowed up to APC_LEVEL; WMI IRPs still reach the
   * driver at PASSIVE_LEVEL. */
  KIRQL old;
  KeRaiseIrql(APC_LEVEL, &old);
  kconsumer c = {0};
  PVOID events = kernel_subscribe(&EVENT_GUID, &c);
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(fire_event(0, 1, 2), STATUS_SUCCESS);
  ObDereferenceObject(data);
  ObDereferenceObject(events);
  KeLowerIrql(old);
  driver_log l = log_snapshot();
  assert_int_equal(l.raised_dispatch, 0);
  assert_int_equal(l.event_control[BLOCK_EVENT][1], 1);
  assert_int_equal(l.event_control[BLOCK_EVENT][0], 1);
  assert_int_equal(l.queries, 2);
}

static void test_rule_deregister_in_dispatch(void **state) {
  fixture *f = *state;
  LOG(g_knobs.deregister_in_dispatch = true);
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(log_snapshot().deregister_in_dispatch_status, STATUS_POSSIBLE_DEADLOCK);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_DEREGISTER_IN_DISPATCH), 1);
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_DEREGISTER_IN_DISPATCH, "DEREGISTER"));
  /* Still registered. */
  size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  ObDereferenceObject(data);
  f->expected[WMIEV_HOST_RULE_DEREGISTER_IN_DISPATCH] = 1;
}

static void test_rule_event_not_enabled(void **state) {
  fixture *f = *state;
  assert_int_equal(fire_event(0, 1, 2), STATUS_SUCCESS);
  wmiev_host_flush();
  assert_int_equal(host_violations(WMIEV_HOST_RULE_EVENT_NOT_ENABLED), 1);
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_EVENT_NOT_ENABLED, "NOT_ENABLED"));
  f->expected[WMIEV_HOST_RULE_EVENT_NOT_ENABLED] = 1;
}

static void test_rule_event_name_mismatch(void **state) {
  fixture *f = *state;
  kconsumer c = {0};
  PVOID events = kernel_subscribe(&EVENT_GUID, &c);
  /* Like the toaster sample: a dynamic-name event for a PDO-named block. */
  assert_int_equal(write_dynamic_event(&EVENT_GUID, L"Arrival", 5), STATUS_SUCCESS);
  wmiev_host_flush();
  assert_int_equal(c.count, 1); /* delivered anyway, as on Windows */
  assert_int_equal(host_violations(WMIEV_HOST_RULE_EVENT_NAME_MISMATCH), 1);
  assert_true(
      host_violation_message_has(WMIEV_HOST_RULE_EVENT_NAME_MISMATCH, "DYNAMIC_FOR_STATIC"));
  ObDereferenceObject(events);
  f->expected[WMIEV_HOST_RULE_EVENT_NAME_MISMATCH] = 1;
}

static void test_rule_pool_freed_after_write_event(void **state) {
  fixture *f = *state;
  kconsumer c = {0};
  PVOID dynamic = kernel_subscribe(&DYN_EVENT_GUID, &c);
  PWNODE_SINGLE_INSTANCE w = build_dynamic_event(&DYN_EVENT_GUID, L"Taken", 3);
  assert_int_equal(IoWMIWriteEvent(w), STATUS_SUCCESS);
  ExFreePoolWithTag(w, TEST_TAG); /* WMI owns it now */
  assert_int_equal(host_violations(WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN), 1);
  wmiev_host_flush();
  assert_int_equal(c.count, 1);
  ObDereferenceObject(dynamic);
  f->expected[WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN] = 1;
}

static void test_decision_fire_event_takes_data_on_failure(void **state) {
  fixture *f = *state;
  /* docs/decisions.md: WmiFireEvent takes EventData whatever the outcome; a
   * driver that frees it after a failure (as some do) frees WMI's memory. */
  PULONG data = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(ULONG), TEST_TAG);
  assert_non_null(data);
  *data = 1;
  NTSTATUS status = WmiFireEvent(g_Fdo, &EVENT_GUID, 9, sizeof(ULONG), data);
  assert_int_equal(status, STATUS_WMI_INSTANCE_NOT_FOUND);
  ExFreePoolWithTag(data, TEST_TAG);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN), 1);
  f->expected[WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN] = 1;
}

static void test_rule_write_event_not_pool(void **state) {
  fixture *f = *state;
  _Alignas(8) uint8_t stack[sizeof(WNODE_SINGLE_INSTANCE) + 8];
  memset(stack, 0, sizeof stack);
  PWNODE_SINGLE_INSTANCE w = (PWNODE_SINGLE_INSTANCE)(void *)stack;
  w->WnodeHeader.BufferSize = sizeof stack;
  w->WnodeHeader.ProviderId = IoWMIDeviceObjectToProviderId(g_Fdo);
  w->WnodeHeader.Guid = EVENT_GUID;
  w->WnodeHeader.Flags =
      WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES;
  w->DataBlockOffset = sizeof(WNODE_SINGLE_INSTANCE);
  w->SizeDataBlock = 8;
  assert_int_equal(IoWMIWriteEvent(w), STATUS_INVALID_PARAMETER);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_POOL_BAD_FREE), 1);
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_POOL_BAD_FREE, "IoWMIWriteEvent"));
  f->expected[WMIEV_HOST_RULE_POOL_BAD_FREE] = 1;
}

static void test_rule_wmi_not_completed(void **state) {
  fixture *f = *state;
  LOG(g_knobs.drop_all_data = true);
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_DRIVER_INTERNAL_ERROR);
  LOG(g_knobs.drop_all_data = false);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_WMI_NOT_COMPLETED), 1);
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_WMI_NOT_COMPLETED, "WmiComplete"));
  /* Nothing came back up through the filter, and the IRP did not leak
   * (the teardown's flush would wait for it forever). */
  assert_int_equal(log_snapshot().filter_minor[IRP_MN_QUERY_ALL_DATA], 0);
  wmiev_host_flush();
  /* The device still works. */
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  ObDereferenceObject(data);
  f->expected[WMIEV_HOST_RULE_WMI_NOT_COMPLETED] = 1;
}

static void test_filter_completes_synchronously(void **state) {
  (void)state;
  /* The filter takes the IRP back with IoForwardIrpSynchronously (its
   * completion routine stops completion) and completes it again: WMI's
   * request ends with that second IoCompleteRequest. */
  PVOID data = open_block(&DATA_GUID, WMIGUID_QUERY);
  LOG(g_knobs.filter_mode = FILTER_SYNC);
  ULONG value = query_value(data);
  assert_int_equal(value, 7);
  ObDereferenceObject(data);
  LOG(g_knobs.filter_mode = FILTER_ROUTINE);
  driver_log l = log_snapshot();
  assert_int_equal(l.filter_minor[IRP_MN_QUERY_SINGLE_INSTANCE], 2);
  assert_int_equal(l.filter_last_status, STATUS_SUCCESS);
}

static void test_rule_completion_swallowed(void **state) {
  fixture *f = *state;
  /* Completion stopped by the filter and never finished: WMI's IRP would
   * hang on Windows; here it fails and the rule says why. */
  PVOID expensive = open_block(&EXPENSIVE_GUID, WMIGUID_QUERY); /* its ENABLE_COLLECTION first */
  LOG(g_knobs.filter_mode = FILTER_SWALLOW);
  uint64_t storage[64];
  ULONG size = sizeof storage;
  assert_int_equal(IoWMIQueryAllData(expensive, &size, storage), STATUS_DRIVER_INTERNAL_ERROR);
  LOG(g_knobs.filter_mode = FILTER_ROUTINE);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_WMI_NOT_COMPLETED), 1);
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_WMI_NOT_COMPLETED,
                                         "STATUS_MORE_PROCESSING_REQUIRED"));
  size = sizeof storage;
  assert_int_equal(IoWMIQueryAllData(expensive, &size, storage), STATUS_SUCCESS);
  ObDereferenceObject(expensive);
  f->expected[WMIEV_HOST_RULE_WMI_NOT_COMPLETED] = 1;
}

static NTSTATUS caller_done(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  (void)DeviceObject;
  (void)Irp;
  KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED; /* our IRP: we free it */
}

/* Sends an IRP_MJ_SYSTEM_CONTROL IRP of our own to the top of the PDO's stack. */
static NTSTATUS send_own_irp(PDEVICE_OBJECT pdo, UCHAR minor, PDEVICE_OBJECT provider) {
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo);
  PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
  assert_non_null(irp);
  uint64_t buffer[16] = {0};
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = IRP_MJ_SYSTEM_CONTROL;
  next->MinorFunction = minor;
  next->Parameters.WMI.ProviderId = (ULONG_PTR)provider;
  next->Parameters.WMI.DataPath = (PVOID)(uintptr_t)&DATA_GUID;
  next->Parameters.WMI.BufferSize = sizeof buffer;
  next->Parameters.WMI.Buffer = buffer;
  irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
  KEVENT done;
  KeInitializeEvent(&done, NotificationEvent, FALSE);
  IoSetCompletionRoutine(irp, caller_done, &done, TRUE, TRUE, TRUE);
  if (IoCallDriver(top, irp) == STATUS_PENDING) {
    (void)KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
  }
  NTSTATUS status = irp->IoStatus.Status;
  IoFreeIrp(irp);
  ObDereferenceObject(top);
  return status;
}

static void test_dispositions(void **state) {
  fixture *f = *state;
  /* IrpNotWmi (minor 0x0A has no IRP_MN_ name) and IrpForward (for another
   * device): the driver forwards, the bus driver at the bottom completes
   * with the status the IRP carries. */
  assert_int_equal(send_own_irp(f->pdo, 0x0A, g_Fdo), STATUS_NOT_SUPPORTED);
  assert_int_equal(send_own_irp(f->pdo, IRP_MN_QUERY_ALL_DATA, f->pdo), STATUS_NOT_SUPPORTED);
  assert_int_equal(log_snapshot().forwarded, 2);
  /* A WMI IRP for the driver that WMI did not send: WmiSystemControl cannot
   * serve it (IrpNotCompleted, STATUS_INVALID_DEVICE_REQUEST) and says so. */
  assert_int_equal(send_own_irp(f->pdo, IRP_MN_QUERY_ALL_DATA, g_Fdo),
                   STATUS_INVALID_DEVICE_REQUEST);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_IRP), 1);
  assert_true(host_violation_message_has(WMIEV_HOST_RULE_IRP, "not sent by WMI"));
  driver_log l = log_snapshot();
  assert_int_equal(l.forwarded, 2);
  assert_int_equal(l.queries, 0);
  f->expected[WMIEV_HOST_RULE_IRP] = 1;
}

static void test_rule_completed_twice(void **state) {
  fixture *f = *state;
  LOG(g_knobs.complete_twice = true);
  PVOID expensive = open_block(&EXPENSIVE_GUID, WMIGUID_QUERY);
  uint64_t storage[64];
  ULONG size = sizeof storage;
  assert_int_equal(IoWMIQueryAllData(expensive, &size, storage), STATUS_SUCCESS);
  LOG(g_knobs.complete_twice = false);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE), 1);
  assert_true(
      host_violation_message_has(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE, "WmiCompleteRequest"));
  ObDereferenceObject(expensive);
  f->expected[WMIEV_HOST_RULE_IRP_COMPLETED_TWICE] = 1;
}

static void test_rule_leaked_block_object(void **state) {
  fixture *f = *state;
  kconsumer c = {0};
  /* Never released: reported at host shutdown, and closed then. */
  (void)kernel_subscribe(&EVENT_GUID, &c);
  f->expected[WMIEV_HOST_RULE_LEAK] = 1;
}

static void test_bad_objects(void **state) {
  fixture *f = *state;
  ULONG not_an_object[8] = {0};
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(not_an_object, &size, NULL), STATUS_INVALID_PARAMETER);
  assert_int_equal(IoWMISetNotificationCallback(not_an_object, kconsumer_notify, NULL),
                   STATUS_INVALID_PARAMETER);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_OBJECT), 2);
  assert_int_equal(IoWMIRegistrationControl(NULL, WMIREG_ACTION_REGISTER),
                   STATUS_INVALID_PARAMETER);
  assert_int_equal(IoWMIRegistrationControl(g_Fdo, 9), STATUS_INVALID_PARAMETER);
  assert_int_equal(IoWMIDeviceObjectToProviderId(NULL), 0);
  f->expected[WMIEV_HOST_RULE_OBJECT] = 2;
}

static void test_write_event_short_pool_block(void **state) {
  (void)state;
  /* A pool block shorter than a WNODE_HEADER: no Flags to read. The
   * validator refuses it, and the driver still owns it. */
  void *small = ExAllocatePoolWithTag(NonPagedPool, 8, TEST_TAG);
  assert_non_null(small);
  memset(small, 0, 8);
  assert_int_equal(IoWMIWriteEvent(small), STATUS_BUFFER_TOO_SMALL);
  ExFreePoolWithTag(small, TEST_TAG);
}

static void test_suggest_instance_name_longest(void **state) {
  (void)state;
  /* The name and the NUL WMI adds must fit a UNICODE_STRING (MaximumLength
   * <= UNICODE_STRING_MAX_BYTES): 32766 units do, 32767 do not. */
  USHORT bytes = UNICODE_STRING_MAX_BYTES;
  WCHAR *text = ExAllocatePoolWithTag(PagedPool, bytes, TEST_TAG);
  assert_non_null(text);
  for (size_t i = 0; i < bytes / sizeof(WCHAR); i++) {
    text[i] = L'a';
  }
  UNICODE_STRING link = {bytes, bytes, text};
  UNICODE_STRING suggested = {0, 0, NULL};
  assert_int_equal(IoWMISuggestInstanceName(NULL, &link, FALSE, &suggested),
                   STATUS_INVALID_PARAMETER);
  assert_null(suggested.Buffer);
  link.Length = (USHORT)(bytes - sizeof(WCHAR));
  assert_int_equal(IoWMISuggestInstanceName(NULL, &link, FALSE, &suggested), STATUS_SUCCESS);
  assert_int_equal(suggested.Length, bytes - sizeof(WCHAR));
  assert_int_equal(suggested.MaximumLength, bytes);
  assert_int_equal(suggested.Buffer[suggested.Length / sizeof(WCHAR)], 0);
  RtlFreeUnicodeString(&suggested);
  /* A link of an odd byte count is no UTF-16 text. */
  link.Length = 3;
  assert_int_equal(IoWMISuggestInstanceName(NULL, &link, FALSE, &suggested),
                   STATUS_INVALID_PARAMETER);
  assert_null(suggested.Buffer);
  ExFreePoolWithTag(text, TEST_TAG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_registration_handshake, setup, teardown),
      cmocka_unit_test_setup_teardown(test_event_enable_counting, setup, teardown),
      cmocka_unit_test_setup_teardown(test_event_delivery, setup, teardown),
      cmocka_unit_test_setup_teardown(test_release_inside_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_traced_event, setup, teardown),
      cmocka_unit_test_setup_teardown(test_query_all_data_growth, setup, teardown),
      cmocka_unit_test_setup_teardown(test_query_single_instance, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_and_method, setup, teardown),
      cmocka_unit_test_setup_teardown(test_collection_control, setup, teardown),
      cmocka_unit_test_setup_teardown(test_access_denied, setup, teardown),
      cmocka_unit_test_setup_teardown(test_instance_names_and_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pended_query, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_pending_timeout, setup_short_timeout, teardown),
      cmocka_unit_test_setup_teardown(test_removal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_irql, setup, teardown),
      cmocka_unit_test_setup_teardown(test_consumer_at_apc_level, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_deregister_in_dispatch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_event_not_enabled, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_event_name_mismatch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_pool_freed_after_write_event, setup, teardown),
      cmocka_unit_test_setup_teardown(test_decision_fire_event_takes_data_on_failure, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rule_write_event_not_pool, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_wmi_not_completed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dispositions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_filter_completes_synchronously, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_completion_swallowed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_completed_twice, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rule_leaked_block_object, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_objects, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_event_short_pool_block, setup, teardown),
      cmocka_unit_test_setup_teardown(test_suggest_instance_name_longest, setup, teardown),
      cmocka_unit_test_setup_teardown(test_notification_lost_without_memory, setup_big_events,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
