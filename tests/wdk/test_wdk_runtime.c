/*
 * The WDK face's runtime, driven the way Windows drives a driver: a small
 * WDM driver written in WDK style (DriverEntry, AddDevice building a
 * function device plus a filter device on top of the host's PDO, dispatch
 * routines for PnP, system control and device control) is loaded through
 * the host, and the tests assert what each layer sees, in order, and what
 * the verifier reports when the driver breaks a rule.
 *
 * Every test runs on a fresh host whose memory comes from the debug
 * allocator: the teardown checks that shutdown returned every byte.
 */
#define _POSIX_C_SOURCE 200809L
#include <ntddk.h>

#include <wmiev/host.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "debug_alloc.h"
#include "host_private.h"
#include "test_util.h"

/* ==== Observing the host ======================================================== */

#define MAX_SEEN 64
typedef struct seen_violation {
  wmiev_host_rule rule;
  char message[512];
} seen_violation;

static pthread_mutex_t g_seen_lock = PTHREAD_MUTEX_INITIALIZER;
static seen_violation g_seen[MAX_SEEN];
static size_t g_nseen;

static void on_violation(wmiev_host_rule rule, const char *message, void *ctx) {
  (void)ctx;
  pthread_mutex_lock(&g_seen_lock);
  if (g_nseen < MAX_SEEN) {
    g_seen[g_nseen].rule = rule;
    snprintf(g_seen[g_nseen].message, sizeof g_seen[g_nseen].message, "%s", message);
  }
  g_nseen++;
  pthread_mutex_unlock(&g_seen_lock);
}

/* True if a violation of @p rule whose message contains @p text was reported. */
static bool saw(wmiev_host_rule rule, const char *text) {
  bool found = false;
  pthread_mutex_lock(&g_seen_lock);
  for (size_t i = 0; i < g_nseen && i < MAX_SEEN; i++) {
    if (g_seen[i].rule == rule && (text == NULL || strstr(g_seen[i].message, text) != NULL)) {
      found = true;
    }
  }
  pthread_mutex_unlock(&g_seen_lock);
  return found;
}

static size_t seen_count(void) {
  pthread_mutex_lock(&g_seen_lock);
  size_t n = g_nseen;
  pthread_mutex_unlock(&g_seen_lock);
  return n;
}

static void print_seen(void) {
  pthread_mutex_lock(&g_seen_lock);
  for (size_t i = 0; i < g_nseen && i < MAX_SEEN; i++) {
    fprintf(stderr, "  violation: %s\n", g_seen[i].message);
  }
  pthread_mutex_unlock(&g_seen_lock);
}

/* What the drivers' routines saw, in order. */
#define MAX_LOG 64
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_log[MAX_LOG][96];
static size_t g_nlog;

static void log_add(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  pthread_mutex_lock(&g_log_lock);
  if (g_nlog < MAX_LOG) {
    vsnprintf(g_log[g_nlog], sizeof g_log[g_nlog], fmt, args);
  }
  g_nlog++;
  pthread_mutex_unlock(&g_log_lock);
  va_end(args);
}

static void log_clear(void) {
  pthread_mutex_lock(&g_log_lock);
  g_nlog = 0;
  pthread_mutex_unlock(&g_log_lock);
}

static void assert_log(const char *const *expected, size_t count) {
  pthread_mutex_lock(&g_log_lock);
  size_t n = g_nlog;
  pthread_mutex_unlock(&g_log_lock);
  if (n != count) {
    for (size_t i = 0; i < n && i < MAX_LOG; i++) {
      fprintf(stderr, "  log[%zu] = %s\n", i, g_log[i]);
    }
  }
  assert_int_equal(n, count);
  for (size_t i = 0; i < count; i++) {
    assert_string_equal(g_log[i], expected[i]);
  }
}

#define ASSERT_LOG(...)                                                                            \
  do {                                                                                             \
    static const char *const expected_[] = {__VA_ARGS__};                                          \
    assert_log(expected_, sizeof expected_ / sizeof expected_[0]);                                 \
  } while (0)

/* ==== The test driver (WDK style) ================================================ */

#define TEST_TAG 'tseT'
#define LEAK_TAG 'kaeL'

#define IOCTL_PASS_DOWN 1u
#define IOCTL_PEND 2u
#define IOCTL_COMPLETE_TWICE 3u

typedef enum _ROLE { RoleFdo = 1, RoleFilter = 2 } ROLE;

typedef struct _DEVICE_EXTENSION {
  ROLE Role;
  PDEVICE_OBJECT Self;
  PDEVICE_OBJECT Lower;
  IO_REMOVE_LOCK RemoveLock; /* FDO */
  PVOID Buffer;              /* FDO: pool held while started */
  PIRP HeldIrp;              /* FDO: the IRP pended by IOCTL_PEND */
  KEVENT Held;               /* FDO: set when HeldIrp is stored */
} DEVICE_EXTENSION, *PDEVICE_EXTENSION;

static BOOLEAN g_fail_query_remove;
static UNICODE_STRING g_registry_path_seen;
static WCHAR g_registry_path_buffer[128];

static const char *role_name(PDEVICE_OBJECT device) {
  if (device == NULL) {
    return "none";
  }
  PDEVICE_EXTENSION ext = device->DeviceExtension;
  if (ext == NULL) {
    return "pdo";
  }
  return ext->Role == RoleFdo ? "fdo" : "filter";
}

static const char *pnp_name(UCHAR minor) {
  switch (minor) {
  case IRP_MN_START_DEVICE:
    return "START";
  case IRP_MN_QUERY_REMOVE_DEVICE:
    return "QUERY_REMOVE";
  case IRP_MN_REMOVE_DEVICE:
    return "REMOVE";
  case IRP_MN_CANCEL_REMOVE_DEVICE:
    return "CANCEL_REMOVE";
  default:
    return "OTHER";
  }
}

DRIVER_INITIALIZE TestDriverEntry;
DRIVER_ADD_DEVICE TestAddDevice;
DRIVER_UNLOAD TestUnload;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH TestDispatchPnp;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH TestDispatchSystemControl;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH TestDispatchDeviceControl;
IO_COMPLETION_ROUTINE FilterStartDone;
IO_COMPLETION_ROUTINE IoctlDone;

_Use_decl_annotations_ NTSTATUS FilterStartDone(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                                PVOID Context) {
  UNREFERENCED_PARAMETER(Context);
  log_add("filter:START completion dev=%s", role_name(DeviceObject));
  if (Irp->PendingReturned) {
    IoMarkIrpPending(Irp);
  }
  return STATUS_SUCCESS; /* STATUS_CONTINUE_COMPLETION */
}

_Use_decl_annotations_ NTSTATUS IoctlDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  UNREFERENCED_PARAMETER(Context);
  log_add("%s:completion dev=%s", role_name(DeviceObject), role_name(DeviceObject));
  if (Irp->PendingReturned) {
    IoMarkIrpPending(Irp);
  }
  return STATUS_SUCCESS;
}

NTSTATUS TestDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  UCHAR minor = stack->MinorFunction;
  NTSTATUS status;
  PAGED_CODE();
  log_add("%s:PNP %s", role_name(DeviceObject), pnp_name(minor));

  if (ext->Role == RoleFilter) {
    if (minor == IRP_MN_START_DEVICE) {
      IoCopyCurrentIrpStackLocationToNext(Irp);
      IoSetCompletionRoutine(Irp, FilterStartDone, NULL, TRUE, TRUE, TRUE);
      return IoCallDriver(ext->Lower, Irp);
    }
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    if (minor == IRP_MN_REMOVE_DEVICE) {
      IoDetachDevice(ext->Lower);
      IoDeleteDevice(DeviceObject);
    }
    return status;
  }

  status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  if (!NT_SUCCESS(status)) {
    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
  }
  switch (minor) {
  case IRP_MN_START_DEVICE:
    if (IoForwardIrpSynchronously(ext->Lower, Irp)) {
      log_add("fdo:START lower=%s", wmiev_status_name(Irp->IoStatus.Status));
    }
    status = Irp->IoStatus.Status;
    if (NT_SUCCESS(status)) {
      ext->Buffer = ExAllocatePoolWithTag(NonPagedPoolNx, 64, TEST_TAG);
    }
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
  case IRP_MN_QUERY_REMOVE_DEVICE:
    if (g_fail_query_remove) {
      status = STATUS_DEVICE_BUSY;
      Irp->IoStatus.Status = status;
      IoCompleteRequest(Irp, IO_NO_INCREMENT);
      IoReleaseRemoveLock(&ext->RemoveLock, Irp);
      return status;
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    break;
  case IRP_MN_REMOVE_DEVICE:
    if (ext->Buffer != NULL) {
      ExFreePoolWithTag(ext->Buffer, TEST_TAG);
      ext->Buffer = NULL;
    }
    IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoDetachDevice(ext->Lower);
    IoDeleteDevice(DeviceObject);
    return status;
  default:
    break;
  }
  IoSkipCurrentIrpStackLocation(Irp);
  status = IoCallDriver(ext->Lower, Irp);
  IoReleaseRemoveLock(&ext->RemoveLock, Irp);
  return status;
}

NTSTATUS TestDispatchSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
  log_add("%s:SYSCTL", role_name(DeviceObject));
  IoSkipCurrentIrpStackLocation(Irp);
  return IoCallDriver(ext->Lower, Irp);
}

NTSTATUS TestDispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PDEVICE_EXTENSION ext = DeviceObject->DeviceExtension;
  ULONG code = IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.IoControlCode;
  log_add("%s:IOCTL %u", role_name(DeviceObject), (unsigned)code);
  if (ext->Role == RoleFilter || code == IOCTL_PASS_DOWN) {
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, IoctlDone, NULL, TRUE, TRUE, TRUE);
    return IoCallDriver(ext->Lower, Irp);
  }
  if (code == IOCTL_PEND) {
    IoMarkIrpPending(Irp);
    ext->HeldIrp = Irp;
    KeSetEvent(&ext->Held, IO_NO_INCREMENT, FALSE);
    return STATUS_PENDING;
  }
  /* IOCTL_COMPLETE_TWICE: the bug under test. */
  Irp->IoStatus.Status = STATUS_SUCCESS;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return STATUS_SUCCESS;
}

static NTSTATUS create_layer(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT Target, ROLE role,
                             PDEVICE_OBJECT *out) {
  PDEVICE_OBJECT device = NULL;
  NTSTATUS status = IoCreateDevice(DriverObject, sizeof(DEVICE_EXTENSION), NULL,
                                   FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &device);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  PDEVICE_EXTENSION ext = device->DeviceExtension;
  ext->Role = role;
  ext->Self = device;
  if (role == RoleFdo) {
    IoInitializeRemoveLock(&ext->RemoveLock, TEST_TAG, 1, 100);
    KeInitializeEvent(&ext->Held, NotificationEvent, FALSE);
  }
  ext->Lower = IoAttachDeviceToDeviceStack(device, Target);
  if (ext->Lower == NULL) {
    IoDeleteDevice(device);
    return STATUS_NO_SUCH_DEVICE;
  }
  device->Flags &= ~DO_DEVICE_INITIALIZING;
  *out = device;
  return STATUS_SUCCESS;
}

NTSTATUS TestAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject) {
  PDEVICE_OBJECT fdo = NULL;
  PDEVICE_OBJECT filter = NULL;
  PAGED_CODE();
  NTSTATUS status = create_layer(DriverObject, PhysicalDeviceObject, RoleFdo, &fdo);
  if (NT_SUCCESS(status)) {
    status = create_layer(DriverObject, PhysicalDeviceObject, RoleFilter, &filter);
    if (!NT_SUCCESS(status)) {
      IoDetachDevice(((PDEVICE_EXTENSION)fdo->DeviceExtension)->Lower);
      IoDeleteDevice(fdo);
    }
  }
  return status;
}

VOID TestUnload(PDRIVER_OBJECT DriverObject) { UNREFERENCED_PARAMETER(DriverObject); }

NTSTATUS TestDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  g_registry_path_seen.Buffer = g_registry_path_buffer;
  g_registry_path_seen.Length = 0;
  g_registry_path_seen.MaximumLength = sizeof g_registry_path_buffer;
  RtlCopyUnicodeString(&g_registry_path_seen, RegistryPath);
  DriverObject->MajorFunction[IRP_MJ_PNP] = TestDispatchPnp;
  DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = TestDispatchSystemControl;
  DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = TestDispatchDeviceControl;
  DriverObject->DriverExtension->AddDevice = TestAddDevice;
  DriverObject->DriverUnload = TestUnload;
  return STATUS_SUCCESS;
}

/* A driver with nothing but DriverEntry and DriverUnload, for the simpler tests. */
static BOOLEAN g_leaky_keep_device;
static BOOLEAN g_leaky_keep_pool;
static PDEVICE_OBJECT g_leaky_device;
static PVOID g_leaky_pool;

DRIVER_INITIALIZE LeakyDriverEntry;
DRIVER_UNLOAD LeakyUnload;

VOID LeakyUnload(PDRIVER_OBJECT DriverObject) {
  UNREFERENCED_PARAMETER(DriverObject);
  if (!g_leaky_keep_device && g_leaky_device != NULL) {
    IoDeleteDevice(g_leaky_device);
  }
  if (!g_leaky_keep_pool && g_leaky_pool != NULL) {
    ExFreePoolWithTag(g_leaky_pool, LEAK_TAG);
  }
  g_leaky_device = NULL;
  g_leaky_pool = NULL;
}

NTSTATUS LeakyDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  UNICODE_STRING name;
  UNREFERENCED_PARAMETER(RegistryPath);
  RtlInitUnicodeString(&name, L"\\Device\\WmievLeaky");
  NTSTATUS status =
      IoCreateDevice(DriverObject, 16, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &g_leaky_device);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  g_leaky_pool = ExAllocatePool2(POOL_FLAG_NON_PAGED, 40, LEAK_TAG);
  DriverObject->DriverUnload = LeakyUnload;
  return STATUS_SUCCESS;
}

/* ==== Fixture ======================================================================= */

static debug_alloc *g_dbg;

static int setup(void **state) {
  (void)state;
  g_dbg = debug_alloc_create();
  wmiev_host_options options;
  memset(&options, 0, sizeof options);
  options.allocator = debug_alloc_allocator(g_dbg);
  options.on_violation = on_violation;
  options.quiet = true;
  wmiev_host_configure(&options);
  pthread_mutex_lock(&g_seen_lock);
  g_nseen = 0;
  pthread_mutex_unlock(&g_seen_lock);
  log_clear();
  g_fail_query_remove = FALSE;
  g_leaky_keep_device = FALSE;
  g_leaky_keep_pool = FALSE;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  wmiev_host_shutdown();
  uint64_t live = debug_alloc_live_count(g_dbg);
  uint64_t errors = debug_alloc_errors(g_dbg);
  if (live != 0) {
    debug_alloc_report_leaks(g_dbg);
  }
  debug_alloc_destroy(g_dbg);
  g_dbg = NULL;
  if (live != 0 || errors != 0) {
    fprintf(stderr, "host left %llu block(s), %llu allocator error(s)\n", (unsigned long long)live,
            (unsigned long long)errors);
    return -1;
  }
  return 0;
}

static PDRIVER_OBJECT load_test_driver(void) {
  PDRIVER_OBJECT driver = NULL;
  assert_int_equal(wmiev_host_load_driver(TestDriverEntry, L"WmievTest", &driver), STATUS_SUCCESS);
  assert_non_null(driver);
  return driver;
}

/* The leaky driver (it leaves behind what g_leaky_keep_* say). */
static PDRIVER_OBJECT load_leaky_driver(void) {
  PDRIVER_OBJECT driver = NULL;
  assert_int_equal(wmiev_host_load_driver(LeakyDriverEntry, L"WmievLeaky", &driver),
                   STATUS_SUCCESS);
  assert_non_null(driver);
  return driver;
}

static PDEVICE_OBJECT plug_in(PDRIVER_OBJECT driver) {
  PDEVICE_OBJECT pdo = NULL;
  assert_int_equal(wmiev_host_add_device(driver, L"ROOT\\WMIEVTEST\\0000", &pdo), STATUS_SUCCESS);
  assert_non_null(pdo);
  return pdo;
}

/* Sends an IRP the test allocates itself (IoAllocateIrp) to the top of @p pdo's stack. */
typedef struct sent_irp {
  KEVENT done;
  NTSTATUS status;
  BOOLEAN pending_returned;
  pthread_t completed_on;
} sent_irp;

IO_COMPLETION_ROUTINE TestIrpDone;
_Use_decl_annotations_ NTSTATUS TestIrpDone(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  sent_irp *s = Context;
  log_add("test:completion dev=%s", role_name(DeviceObject));
  s->status = Irp->IoStatus.Status;
  s->pending_returned = Irp->PendingReturned;
  s->completed_on = pthread_self();
  KeSetEvent(&s->done, IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

static PIRP build_irp(PDEVICE_OBJECT top, UCHAR major, UCHAR minor, ULONG ioctl, NTSTATUS initial,
                      sent_irp *s) {
  PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
  assert_non_null(irp);
  irp->IoStatus.Status = initial;
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = major;
  next->MinorFunction = minor;
  next->Parameters.DeviceIoControl.IoControlCode = ioctl;
  KeInitializeEvent(&s->done, NotificationEvent, FALSE);
  IoSetCompletionRoutine(irp, TestIrpDone, s, TRUE, TRUE, TRUE);
  return irp;
}

/* ==== Tests ========================================================================= */

/* Names the host takes: a service name of 1 to 120 UTF-16 units and a
 * device instance id of 1 to 511 (host.h). Each limit is
 * checked from both sides, with names of three UTF-8 bytes per unit at the
 * longest (they must fit the host's UTF-8 copies too). */
static void fill_units(WCHAR *out, WCHAR unit, size_t n) {
  for (size_t i = 0; i < n; i++) {
    out[i] = unit;
  }
  out[n] = 0;
}

static void host_name_limits(void **state) {
  (void)state;
  static WCHAR name[600];
  PDRIVER_OBJECT driver = NULL;
  assert_int_equal(wmiev_host_load_driver(TestDriverEntry, L"", &driver), STATUS_INVALID_PARAMETER);
  assert_null(driver);
  fill_units(name, L'a', 121);
  assert_int_equal(wmiev_host_load_driver(TestDriverEntry, name, &driver),
                   STATUS_INVALID_PARAMETER);
  fill_units(name, 0x4E2D, 120);
  assert_int_equal(wmiev_host_load_driver(TestDriverEntry, name, &driver), STATUS_SUCCESS);
  assert_int_equal(driver->DriverName.Length, (8 + 120) * sizeof(WCHAR)); /* \Driver\ + name */
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);

  driver = load_test_driver();
  PDEVICE_OBJECT pdo = NULL;
  assert_int_equal(wmiev_host_add_device(driver, L"", &pdo), STATUS_INVALID_PARAMETER);
  assert_null(pdo);
  fill_units(name, L'A', 512);
  assert_int_equal(wmiev_host_add_device(driver, name, &pdo), STATUS_INVALID_PARAMETER);
  fill_units(name, 0x4E2D, 511);
  assert_int_equal(wmiev_host_add_device(driver, name, &pdo), STATUS_SUCCESS);
  assert_non_null(pdo);
  assert_int_equal(wmiev_host_remove_device(pdo), STATUS_SUCCESS);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
}

/* Load, plug in, remove, unload: every IRP each layer sees, in order; the
 * stack the host built; nothing reported. */
static void pnp_lifecycle_exact_irps(void **state) {
  (void)state;
  PDRIVER_OBJECT driver = load_test_driver();
  UNICODE_STRING expected;
  RtlInitUnicodeString(&expected,
                       L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\WmievTest");
  assert_true(RtlEqualUnicodeString(&g_registry_path_seen, &expected, FALSE));
  RtlInitUnicodeString(&expected, L"\\Driver\\WmievTest");
  assert_true(RtlEqualUnicodeString(&driver->DriverName, &expected, FALSE));
  assert_true(driver->DriverExtension->DriverObject == driver);

  PDEVICE_OBJECT pdo = plug_in(driver);
  /* START goes down filter → fdo; the FDO forwards it synchronously to the
   * PDO, then completes it; the filter's completion routine runs last. */
  ASSERT_LOG("filter:PNP START", "fdo:PNP START", "fdo:START lower=STATUS_SUCCESS",
             "filter:START completion dev=filter");
  PDEVICE_OBJECT fdo = pdo->AttachedDevice;
  assert_non_null(fdo);
  PDEVICE_OBJECT filter = fdo->AttachedDevice;
  assert_non_null(filter);
  assert_null(filter->AttachedDevice);
  assert_string_equal(role_name(fdo), "fdo");
  assert_string_equal(role_name(filter), "filter");
  assert_int_equal(pdo->StackSize, 1);
  assert_int_equal(fdo->StackSize, 2);
  assert_int_equal(filter->StackSize, 3);
  assert_int_equal(fdo->Flags & DO_DEVICE_INITIALIZING, 0);
  assert_true(pdo->DriverObject != driver);
  assert_true(driver->DeviceObject == filter && filter->NextDevice == fdo);
  assert_string_equal(wmiev__pdo_instance_id(pdo), "ROOT\\WMIEVTEST\\0000");
  assert_null(wmiev__pdo_instance_id(fdo));

  log_clear();
  assert_int_equal(wmiev_host_remove_device(pdo), STATUS_SUCCESS);
  ASSERT_LOG("filter:PNP QUERY_REMOVE", "fdo:PNP QUERY_REMOVE", "filter:PNP REMOVE",
             "fdo:PNP REMOVE");
  assert_null(driver->DeviceObject);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
  if (seen_count() != 0) {
    print_seen();
  }
  assert_int_equal(seen_count(), 0);
}

/* A failing QUERY_REMOVE is followed by CANCEL_REMOVE and the device stays. */
static void query_remove_veto_cancels(void **state) {
  (void)state;
  PDRIVER_OBJECT driver = load_test_driver();
  PDEVICE_OBJECT pdo = plug_in(driver);
  log_clear();
  g_fail_query_remove = TRUE;
  assert_int_equal(wmiev_host_remove_device(pdo), STATUS_DEVICE_BUSY);
  ASSERT_LOG("filter:PNP QUERY_REMOVE", "fdo:PNP QUERY_REMOVE", "filter:PNP CANCEL_REMOVE",
             "fdo:PNP CANCEL_REMOVE");
  assert_non_null(pdo->AttachedDevice);
  g_fail_query_remove = FALSE;
  assert_int_equal(wmiev_host_remove_device(pdo), STATUS_SUCCESS);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
  assert_int_equal(seen_count(), 0);
}

/* Completion routines run bottom-up, each with its own driver's device object,
 * and the originator's (set in the top location) with none. */
static void completion_routines_run_bottom_up(void **state) {
  (void)state;
  PDRIVER_OBJECT driver = load_test_driver();
  PDEVICE_OBJECT pdo = plug_in(driver);
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo);
  log_clear();
  sent_irp s;
  PIRP irp = build_irp(top, IRP_MJ_DEVICE_CONTROL, 0, IOCTL_PASS_DOWN, STATUS_SUCCESS, &s);
  NTSTATUS status = IoCallDriver(top, irp);
  assert_int_equal(status, STATUS_SUCCESS);
  assert_int_equal(KeWaitForSingleObject(&s.done, Executive, KernelMode, FALSE, NULL),
                   STATUS_SUCCESS);
  ASSERT_LOG("filter:IOCTL 1", "fdo:IOCTL 1", "fdo:completion dev=fdo",
             "filter:completion dev=filter", "test:completion dev=none");
  assert_int_equal(s.status, STATUS_SUCCESS);
  assert_false(s.pending_returned);
  IoFreeIrp(irp);

  /* A WMI IRP nobody handles passes through and ends with the status it carried. */
  log_clear();
  irp = build_irp(top, IRP_MJ_SYSTEM_CONTROL, IRP_MN_QUERY_ALL_DATA, 0, STATUS_NOT_SUPPORTED, &s);
  assert_int_equal(IoCallDriver(top, irp), STATUS_NOT_SUPPORTED);
  ASSERT_LOG("filter:SYSCTL", "fdo:SYSCTL", "test:completion dev=none");
  assert_int_equal(s.status, STATUS_NOT_SUPPORTED);
  IoFreeIrp(irp);

  ObDereferenceObject(top);
  assert_int_equal(wmiev_host_remove_device(pdo), STATUS_SUCCESS);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
  assert_int_equal(seen_count(), 0);
}

typedef struct completer_args {
  PDEVICE_EXTENSION fdo_ext;
} completer_args;

static void *complete_held_irp(void *arg) {
  completer_args *a = arg;
  (void)KeWaitForSingleObject(&a->fdo_ext->Held, Executive, KernelMode, FALSE, NULL);
  PIRP irp = a->fdo_ext->HeldIrp;
  a->fdo_ext->HeldIrp = NULL;
  irp->IoStatus.Status = STATUS_SUCCESS;
  irp->IoStatus.Information = 7;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return NULL;
}

/* IoMarkIrpPending + STATUS_PENDING, completed later on another thread: the
 * completion routines run there and see PendingReturned. */
static void pending_irp_completed_on_another_thread(void **state) {
  (void)state;
  PDRIVER_OBJECT driver = load_test_driver();
  PDEVICE_OBJECT pdo = plug_in(driver);
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo);
  completer_args args = {pdo->AttachedDevice->DeviceExtension};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, complete_held_irp, &args), 0);
  log_clear();
  sent_irp s;
  PIRP irp = build_irp(top, IRP_MJ_DEVICE_CONTROL, 0, IOCTL_PEND, STATUS_SUCCESS, &s);
  assert_int_equal(IoCallDriver(top, irp), STATUS_PENDING);
  LARGE_INTEGER timeout;
  timeout.QuadPart = -50000000; /* 5 s */
  assert_int_equal(KeWaitForSingleObject(&s.done, Executive, KernelMode, FALSE, &timeout),
                   STATUS_SUCCESS);
  pthread_join(thread, NULL);
  ASSERT_LOG("filter:IOCTL 2", "fdo:IOCTL 2", "filter:completion dev=filter",
             "test:completion dev=none");
  assert_true(s.pending_returned);
  assert_false(pthread_equal(s.completed_on, pthread_self()));
  assert_int_equal(irp->IoStatus.Information, 7);
  IoFreeIrp(irp);
  ObDereferenceObject(top);
  assert_int_equal(wmiev_host_remove_device(pdo), STATUS_SUCCESS);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
  assert_int_equal(seen_count(), 0);
}

static void irp_completed_twice_is_reported(void **state) {
  (void)state;
  PDRIVER_OBJECT driver = load_test_driver();
  PDEVICE_OBJECT pdo = plug_in(driver);
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo);
  sent_irp s;
  PIRP irp = build_irp(top, IRP_MJ_DEVICE_CONTROL, 0, IOCTL_COMPLETE_TWICE, STATUS_SUCCESS, &s);
  (void)IoCallDriver(top, irp);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE), 1);
  assert_true(saw(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE, "WmievTest"));
  IoFreeIrp(irp);
  /* Completing a freed IRP is caught too (it sits in the quarantine). */
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRP_COMPLETED_TWICE), 2);
  ObDereferenceObject(top);
  assert_int_equal(wmiev_host_remove_device(pdo), STATUS_SUCCESS);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
}

/* What a driver leaves behind is reported at unload: devices and pool by tag. */
static void unload_reports_leftovers(void **state) {
  (void)state;
  PDRIVER_OBJECT driver = NULL;
  g_leaky_keep_device = TRUE;
  g_leaky_keep_pool = TRUE;
  driver = load_leaky_driver();
  /* A second device with the same name collides. */
  UNICODE_STRING name;
  PDEVICE_OBJECT other = NULL;
  RtlInitUnicodeString(&name, L"\\Device\\WmievLeaky");
  assert_int_equal(IoCreateDevice(driver, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &other),
                   STATUS_OBJECT_NAME_COLLISION);
  assert_null(other);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_UNSUCCESSFUL);
  assert_true(saw(WMIEV_HOST_RULE_LEAK, "device object"));
  assert_true(saw(WMIEV_HOST_RULE_LEAK, "'Leak': 1 block(s), 40 bytes"));
  assert_true(saw(WMIEV_HOST_RULE_LEAK, "WmievLeaky"));

  /* The same driver cleaning up unloads cleanly. */
  pthread_mutex_lock(&g_seen_lock);
  g_nseen = 0;
  pthread_mutex_unlock(&g_seen_lock);
  g_leaky_keep_device = FALSE;
  g_leaky_keep_pool = FALSE;
  driver = load_leaky_driver();
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
  assert_int_equal(seen_count(), 0);
}

static void pool_misuse_is_reported(void **state) {
  (void)state;
  /* Fresh blocks: ExAllocatePool2 zeroes, ExAllocatePoolWithTag does not. */
  PUCHAR zeroed = ExAllocatePool2(POOL_FLAG_NON_PAGED, 32, TEST_TAG);
  PUCHAR raw = ExAllocatePoolWithTag(NonPagedPool, 32, TEST_TAG);
  assert_non_null(zeroed);
  assert_non_null(raw);
  assert_int_equal(((uintptr_t)zeroed) % MEMORY_ALLOCATION_ALIGNMENT, 0);
  assert_int_equal(zeroed[0] | zeroed[31], 0);
  assert_int_equal(raw[0], 0xCD);
  size_t size = 0;
  assert_true(wmiev__pool_size(raw, &size));
  assert_int_equal(size, 32);
  assert_int_equal(wmiev__pool_tag(raw), TEST_TAG);

  ExFreePoolWithTag(zeroed, TEST_TAG);
  ExFreePoolWithTag(zeroed, TEST_TAG);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_POOL_DOUBLE_FREE), 1);
  assert_true(saw(WMIEV_HOST_RULE_POOL_DOUBLE_FREE, "'Test'"));

  ExFreePoolWithTag(raw, LEAK_TAG); /* wrong tag: refused, block still live */
  assert_true(saw(WMIEV_HOST_RULE_POOL_BAD_FREE, "allocated with tag 'Test'"));
  assert_true(wmiev__pool_size(raw, NULL));
  ExFreePool(raw);

  int not_pool = 0;
  ExFreePool(&not_pool);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_POOL_BAD_FREE), 2);

  /* A block IoWMIWriteEvent took belongs to WMI. */
  PVOID event = ExAllocatePoolWithTag(NonPagedPoolNx, 80, 'tvnE');
  assert_true(wmiev__pool_take(event));
  assert_false(wmiev__pool_size(event, NULL));
  ExFreePool(event);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN), 1);

  /* Live pool at shutdown is reported (by the teardown's shutdown). */
  PVOID forgotten = ExAllocatePoolZero(PagedPool, 8, 'tgoF');
  assert_non_null(forgotten);
  wmiev_host_shutdown();
  assert_true(saw(WMIEV_HOST_RULE_LEAK, "'Fogt': 1 block(s), 8 bytes"));
}

static void irql_rules_are_checked(void **state) {
  (void)state;
  PDRIVER_OBJECT driver = load_leaky_driver();
  assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  assert_int_equal(old, PASSIVE_LEVEL);
  assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
  PDEVICE_OBJECT device = NULL;
  assert_int_equal(IoCreateDevice(driver, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &device),
                   STATUS_SUCCESS);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRQL), 1);
  assert_true(saw(WMIEV_HOST_RULE_IRQL, "IoCreateDevice called at DISPATCH_LEVEL"));
  PAGED_CODE();
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRQL), 2);
  PVOID paged = ExAllocatePoolWithTag(PagedPool, 8, TEST_TAG);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRQL), 3);
  PVOID nonpaged = ExAllocatePoolWithTag(NonPagedPoolNx, 8, TEST_TAG); /* fine at DISPATCH */
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRQL), 3);
  KIRQL ignored;
  KeRaiseIrql(APC_LEVEL, &ignored); /* raising to a lower level */
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRQL), 4);
  KeLowerIrql(old);
  assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
  KeLowerIrql(APC_LEVEL); /* lowering to a higher level */
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRQL), 5);
  assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
  ExFreePoolWithTag(paged, TEST_TAG);
  ExFreePoolWithTag(nonpaged, TEST_TAG);
  IoDeleteDevice(device);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
}

typedef struct spin_args {
  KSPIN_LOCK *lock;
  volatile long *counter;
  int iterations;
  int bad_irql;
} spin_args;

static void *spin_worker(void *arg) {
  spin_args *a = arg;
  for (int i = 0; i < a->iterations; i++) {
    KIRQL old;
    KeAcquireSpinLock(a->lock, &old);
    if (KeGetCurrentIrql() != DISPATCH_LEVEL) {
      a->bad_irql++;
    }
    /* A plain read-modify-write: only the lock makes it safe. */
    long v = *a->counter;
    *a->counter = v + 1;
    KeReleaseSpinLock(a->lock, old);
    if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
      a->bad_irql++;
    }
  }
  return NULL;
}

static void spin_locks_exclude_across_threads(void **state) {
  (void)state;
  enum { THREADS = 4, ITERATIONS = 20000 };
  KSPIN_LOCK lock;
  volatile long counter = 0;
  KeInitializeSpinLock(&lock);
  pthread_t threads[THREADS];
  spin_args args[THREADS];
  for (int i = 0; i < THREADS; i++) {
    args[i] = (spin_args){&lock, &counter, ITERATIONS, 0};
    assert_int_equal(pthread_create(&threads[i], NULL, spin_worker, &args[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    assert_int_equal(args[i].bad_irql, 0);
  }
  assert_int_equal(counter, THREADS * ITERATIONS);
  assert_true(KeTestSpinLock(&lock));

  /* Taking it twice on one thread would hang Windows: reported instead. */
  KIRQL first;
  KIRQL second;
  KeAcquireSpinLock(&lock, &first);
  KeAcquireSpinLock(&lock, &second);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_SPIN_LOCK), 1);
  KeReleaseSpinLock(&lock, first);
  assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
  KeReleaseSpinLock(&lock, PASSIVE_LEVEL); /* not held */
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_SPIN_LOCK), 2);

  /* Queued spin locks use the same word. */
  KLOCK_QUEUE_HANDLE handle;
  KeAcquireInStackQueuedSpinLock(&lock, &handle);
  assert_false(KeTestSpinLock(&lock));
  assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
  KeReleaseInStackQueuedSpinLock(&handle);
  assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

typedef struct event_args {
  PKEVENT event;
  int delay_ms;
} event_args;

static void *set_later(void *arg) {
  event_args *a = arg;
  sleep_ms(a->delay_ms);
  KeSetEvent(a->event, IO_NO_INCREMENT, FALSE);
  return NULL;
}

static void events_wait_and_time_out(void **state) {
  (void)state;
  KEVENT event;
  KeInitializeEvent(&event, NotificationEvent, FALSE);
  assert_int_equal(KeReadStateEvent(&event), 0);
  LARGE_INTEGER timeout;
  timeout.QuadPart = -20 * 10000; /* 20 ms, relative */
  assert_int_equal(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &timeout),
                   STATUS_TIMEOUT);
  LARGE_INTEGER zero;
  zero.QuadPart = 0;
  assert_int_equal(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &zero),
                   STATUS_TIMEOUT);

  /* Set from another thread while we wait without a timeout. */
  event_args args = {&event, 20};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, set_later, &args), 0);
  assert_int_equal(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL),
                   STATUS_SUCCESS);
  pthread_join(thread, NULL);
  /* A notification event stays signalled until cleared. */
  assert_int_equal(KeReadStateEvent(&event), 1);
  assert_int_equal(KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, &zero),
                   STATUS_SUCCESS);
  assert_int_equal(KeSetEvent(&event, IO_NO_INCREMENT, FALSE), 1);
  assert_int_equal(KeResetEvent(&event), 1);
  assert_int_equal(KeReadStateEvent(&event), 0);

  /* A synchronization event lets one wait through, then resets itself. */
  KEVENT sync;
  KeInitializeEvent(&sync, SynchronizationEvent, TRUE);
  assert_int_equal(KeWaitForSingleObject(&sync, Executive, KernelMode, FALSE, &zero),
                   STATUS_SUCCESS);
  assert_int_equal(KeReadStateEvent(&sync), 0);
  assert_int_equal(KeWaitForSingleObject(&sync, Executive, KernelMode, FALSE, &timeout),
                   STATUS_TIMEOUT);

  /* An absolute timeout in the past expires at once. */
  LARGE_INTEGER past;
  KeQuerySystemTime(&past);
  past.QuadPart -= 1;
  assert_int_equal(KeWaitForSingleObject(&sync, Executive, KernelMode, FALSE, &past),
                   STATUS_TIMEOUT);

  /* Waiting with a timeout at DISPATCH_LEVEL is an IRQL violation; polling is not. */
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  (void)KeWaitForSingleObject(&sync, Executive, KernelMode, FALSE, &zero);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRQL), 0);
  (void)KeWaitForSingleObject(&sync, Executive, KernelMode, FALSE, &timeout);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_IRQL), 1);
  KeLowerIrql(old);

  /* Fast mutexes hold APC_LEVEL. */
  FAST_MUTEX mutex;
  ExInitializeFastMutex(&mutex);
  ExAcquireFastMutex(&mutex);
  assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
  assert_false(ExTryToAcquireFastMutex(&mutex));
  assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
  ExReleaseFastMutex(&mutex);
  assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static volatile long g_work_runs;
static volatile long g_work_bad_irql;
static pthread_t g_work_thread;

IO_WORKITEM_ROUTINE CountingWork;
IO_WORKITEM_ROUTINE SelfFreeingWork;

VOID CountingWork(PDEVICE_OBJECT DeviceObject, PVOID Context) {
  UNREFERENCED_PARAMETER(Context);
  if (KeGetCurrentIrql() != PASSIVE_LEVEL || DeviceObject == NULL) {
    __atomic_add_fetch(&g_work_bad_irql, 1, __ATOMIC_SEQ_CST);
  }
  g_work_thread = pthread_self();
  sleep_ms(2);
  __atomic_add_fetch(&g_work_runs, 1, __ATOMIC_SEQ_CST);
}

VOID SelfFreeingWork(PDEVICE_OBJECT DeviceObject, PVOID Context) {
  CountingWork(DeviceObject, NULL);
  IoFreeWorkItem((PIO_WORKITEM)Context);
}

static void work_items_run_and_flush_waits(void **state) {
  (void)state;
  enum { ITEMS = 8 };
  PDRIVER_OBJECT driver = load_leaky_driver();
  g_work_runs = 0;
  g_work_bad_irql = 0;
  PIO_WORKITEM kept[ITEMS];
  for (int i = 0; i < ITEMS; i++) {
    kept[i] = IoAllocateWorkItem(g_leaky_device);
    assert_non_null(kept[i]);
    IoQueueWorkItem(kept[i], CountingWork, DelayedWorkQueue, NULL);
  }
  PIO_WORKITEM self = IoAllocateWorkItem(g_leaky_device);
  IoQueueWorkItem(self, SelfFreeingWork, CriticalWorkQueue, self);
  wmiev_host_flush();
  assert_int_equal(g_work_runs, ITEMS + 1);
  assert_int_equal(g_work_bad_irql, 0);
  assert_false(pthread_equal(g_work_thread, pthread_self()));
  /* Queue again from DISPATCH_LEVEL, as drivers do from a DPC. */
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  IoQueueWorkItem(kept[0], CountingWork, DelayedWorkQueue, NULL);
  KeLowerIrql(old);
  wmiev_host_flush();
  assert_int_equal(g_work_runs, ITEMS + 2);
  for (int i = 0; i < ITEMS; i++) {
    IoFreeWorkItem(kept[i]);
  }
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
  assert_int_equal(seen_count(), 0);
}

typedef struct remlock_args {
  PIO_REMOVE_LOCK lock;
  volatile int released;
} remlock_args;

static void *release_later(void *arg) {
  remlock_args *a = arg;
  sleep_ms(30);
  __atomic_store_n(&a->released, 1, __ATOMIC_SEQ_CST);
  IoReleaseRemoveLock(a->lock, (PVOID)1);
  return NULL;
}

static void remove_lock_waits_for_io(void **state) {
  (void)state;
  IO_REMOVE_LOCK lock;
  IoInitializeRemoveLock(&lock, TEST_TAG, 1, 10);
  assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)1), STATUS_SUCCESS); /* I/O in flight */
  assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)2), STATUS_SUCCESS); /* the remover */
  remlock_args args = {&lock, 0};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, release_later, &args), 0);
  IoReleaseRemoveLockAndWait(&lock, (PVOID)2);
  assert_int_equal(__atomic_load_n(&args.released, __ATOMIC_SEQ_CST), 1);
  pthread_join(thread, NULL);
  assert_int_equal(IoAcquireRemoveLock(&lock, (PVOID)3), STATUS_DELETE_PENDING);
  assert_int_equal(seen_count(), 0);

  IO_REMOVE_LOCK other;
  IoInitializeRemoveLock(&other, TEST_TAG, 0, 0);
  IoReleaseRemoveLock(&other, (PVOID)1);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_REMOVE_LOCK), 1);
}

static void unicode_string_helpers(void **state) {
  (void)state;
  UNICODE_STRING a;
  RtlInitUnicodeString(&a, L"Toaster");
  assert_int_equal(a.Length, 14);
  assert_int_equal(a.MaximumLength, 16);
  UNICODE_STRING empty;
  RtlInitUnicodeString(&empty, NULL);
  assert_int_equal(empty.Length, 0);
  assert_null(empty.Buffer);

  WCHAR small_buffer[4];
  UNICODE_STRING small = {0, sizeof small_buffer, small_buffer};
  RtlCopyUnicodeString(&small, &a); /* truncated to what fits */
  assert_int_equal(small.Length, 8);
  assert_int_equal(small_buffer[3], L's');

  WCHAR buffer[32];
  UNICODE_STRING b = {0, sizeof buffer, buffer};
  RtlCopyUnicodeString(&b, &a);
  assert_true(RtlEqualUnicodeString(&a, &b, FALSE));
  assert_int_equal(buffer[7], 0); /* NUL-terminated when there is room */
  assert_int_equal(RtlAppendUnicodeToString(&b, L"_0"), STATUS_SUCCESS);
  UNICODE_STRING c;
  RtlInitUnicodeString(&c, L"TOASTER_0");
  assert_false(RtlEqualUnicodeString(&b, &c, FALSE));
  assert_true(RtlEqualUnicodeString(&b, &c, TRUE));
  assert_true(RtlCompareUnicodeString(&a, &b, FALSE) < 0);
  assert_int_equal(RtlAppendUnicodeStringToString(&b, &c), STATUS_SUCCESS);
  assert_int_equal(b.Length, (9 + 9) * 2);
  assert_int_equal(RtlAppendUnicodeStringToString(&small, &c), STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(small.Length, 8);

  WCHAR digits[8];
  UNICODE_STRING n = {0, sizeof digits, digits};
  assert_int_equal(RtlIntegerToUnicodeString(4096, 16, &n), STATUS_SUCCESS);
  UNICODE_STRING expected = RTL_CONSTANT_STRING(L"1000");
  assert_true(RtlEqualUnicodeString(&n, &expected, FALSE));
  assert_int_equal(RtlUpcaseUnicodeChar(L'\x00e9'), 0x00c9);
  assert_int_equal(RtlCompareMemory("abcd", "abXd", 4), 2);
}

static size_t dbg(char *out, size_t size, const char *format, ...) {
  va_list args;
  va_start(args, format);
  size_t n = wmiev__dbg_format(out, size, format, args);
  va_end(args);
  return n;
}

static void dbgprint_understands_kernel_formats(void **state) {
  (void)state;
  char out[256];
  UNICODE_STRING name = RTL_CONSTANT_STRING(L"ROOT\\TOASTER\\0000");
  dbg(out, sizeof out, "dev %wZ: %ws %S %ld %lu %lx", &name, L"w\x00e9", L"S", (LONG)-5, (ULONG)7,
      (ULONG)0xbeef);
  assert_string_equal(out, "dev ROOT\\TOASTER\\0000: w\xc3\xa9 S -5 7 beef");
  ANSI_STRING ansi;
  RtlInitAnsiString(&ansi, "ansi");
  dbg(out, sizeof out, "%I64u|%I64x|%Iu|%08x|%-4d|%c%wc|%Z|%s|%%|%.2s", (ULONG64)1 << 40,
      (ULONG64)0xabcdef012345ull, (SIZE_T)42, 0x1234u, 3, 'k', (int)L'\x00fc', &ansi, "narrow",
      "xyz");
  assert_string_equal(out,
                      "1099511627776|abcdef012345|42|00001234|3   |k\xc3\xbc|ansi|narrow|%|xy");
  /* Truncation keeps the buffer terminated and reports the full length. */
  char tiny[4];
  assert_int_equal(dbg(tiny, sizeof tiny, "%s", "abcdef"), 6);
  assert_string_equal(tiny, "abc");
  /* ASSERT reports through the host rather than stopping. */
  DbgBreakPoint();
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_BREAKPOINT), 1);
  RtlAssert((PVOID) "x == 1", (PVOID) "file.c", 12, NULL);
  assert_true(saw(WMIEV_HOST_RULE_ASSERT, "x == 1 (file.c:12)"));
}

static void device_stack_and_references(void **state) {
  (void)state;
  PDRIVER_OBJECT driver = load_leaky_driver();
  PDEVICE_OBJECT bottom = g_leaky_device;
  PDEVICE_OBJECT upper = NULL;
  assert_int_equal(IoCreateDevice(driver, 8, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &upper),
                   STATUS_SUCCESS);
  assert_true(upper->Flags & DO_DEVICE_INITIALIZING);          /* created after DriverEntry */
  assert_int_equal(bottom->Flags & DO_DEVICE_INITIALIZING, 0); /* created in DriverEntry */
  assert_true(IoAttachDeviceToDeviceStack(upper, bottom) == bottom);
  assert_true(IoGetAttachedDevice(bottom) == upper);
  PDEVICE_OBJECT lower = IoGetLowerDeviceObject(upper);
  assert_true(lower == bottom);
  ObDereferenceObject(lower);
  /* Deleting a device that is still attached is reported (and survived). */
  IoDeleteDevice(upper);
  assert_true(saw(WMIEV_HOST_RULE_DEVICE, "IoDetachDevice first"));
  assert_null(bottom->AttachedDevice);
  /* Dereferencing more than referenced is caught, not a use-after-free. */
  ObReferenceObject(bottom);
  ObDereferenceObject(bottom);
  ObDereferenceObject(bottom);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_OBJECT), 1);
  int not_an_object = 0;
  ObDereferenceObject(&not_an_object);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_OBJECT), 2);
  POWER_STATE d3;
  d3.DeviceState = PowerDeviceD3;
  assert_int_equal(PoSetPowerState(bottom, DevicePowerState, d3).DeviceState, PowerDeviceD0);
  assert_int_equal(PoSetPowerState(bottom, DevicePowerState, d3).DeviceState, PowerDeviceD3);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
}

/* Beyond the quarantine's 256 blocks the oldest freed block is released for
 * real: freeing it again is then a bad free, not a double free. (Nothing is
 * allocated after it went, so that its address cannot come back.) */
static void pool_quarantine_evicts_oldest(void **state) {
  (void)state;
  enum { BLOCKS = 300 };
  PVOID first = ExAllocatePoolWithTag(NonPagedPool, 16, TEST_TAG);
  assert_non_null(first);
  PVOID later[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    later[i] = ExAllocatePoolWithTag(NonPagedPool, 16, TEST_TAG);
    assert_non_null(later[i]);
  }
  ExFreePoolWithTag(first, TEST_TAG);
  for (int i = 0; i < BLOCKS; i++) {
    ExFreePoolWithTag(later[i], TEST_TAG);
  }
  ExFreePoolWithTag(first, TEST_TAG);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_POOL_DOUBLE_FREE), 0);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_POOL_BAD_FREE), 1);
  assert_true(saw(WMIEV_HOST_RULE_POOL_BAD_FREE, "freed long ago"));
}

/* Work items a driver never freed: reported at unload (and freed at shutdown). */
static void work_items_leaked_at_unload(void **state) {
  (void)state;
  PDRIVER_OBJECT driver = load_leaky_driver();
  PIO_WORKITEM kept = IoAllocateWorkItem(g_leaky_device);
  PIO_WORKITEM freed = IoAllocateWorkItem(g_leaky_device);
  assert_non_null(kept);
  assert_non_null(freed);
  IoFreeWorkItem(freed);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_UNSUCCESSFUL);
  assert_true(saw(WMIEV_HOST_RULE_LEAK, "1 work item(s) not freed"));
  wmiev_host_shutdown();
  assert_true(saw(WMIEV_HOST_RULE_LEAK, "1 work item(s) were never freed"));
}

/* A device extension the host cannot lay out (over half the address space
 * of a 32-bit host) is refused, not wrapped around into a small block. */
static void device_extension_too_large(void **state) {
  (void)state;
#if SIZE_MAX == UINT32_MAX
  PDRIVER_OBJECT driver = load_test_driver();
  PDEVICE_OBJECT device = NULL;
  assert_int_equal(
      IoCreateDevice(driver, 0xFFFFFFF1u, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &device),
      STATUS_INSUFFICIENT_RESOURCES);
  assert_null(device);
  assert_int_equal(wmiev_host_unload_driver(driver), STATUS_SUCCESS);
#else
  skip();
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(pnp_lifecycle_exact_irps, setup, teardown),
      cmocka_unit_test_setup_teardown(host_name_limits, setup, teardown),
      cmocka_unit_test_setup_teardown(query_remove_veto_cancels, setup, teardown),
      cmocka_unit_test_setup_teardown(completion_routines_run_bottom_up, setup, teardown),
      cmocka_unit_test_setup_teardown(pending_irp_completed_on_another_thread, setup, teardown),
      cmocka_unit_test_setup_teardown(irp_completed_twice_is_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(unload_reports_leftovers, setup, teardown),
      cmocka_unit_test_setup_teardown(pool_misuse_is_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(irql_rules_are_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(spin_locks_exclude_across_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(events_wait_and_time_out, setup, teardown),
      cmocka_unit_test_setup_teardown(work_items_run_and_flush_waits, setup, teardown),
      cmocka_unit_test_setup_teardown(pool_quarantine_evicts_oldest, setup, teardown),
      cmocka_unit_test_setup_teardown(work_items_leaked_at_unload, setup, teardown),
      cmocka_unit_test_setup_teardown(device_extension_too_large, setup, teardown),
      cmocka_unit_test_setup_teardown(remove_lock_waits_for_io, setup, teardown),
      cmocka_unit_test_setup_teardown(unicode_string_helpers, setup, teardown),
      cmocka_unit_test_setup_teardown(dbgprint_understands_kernel_formats, setup, teardown),
      cmocka_unit_test_setup_teardown(device_stack_and_references, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
