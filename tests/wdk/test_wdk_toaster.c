/*
 * The example WDM driver (examples/wdm-toaster: toaster.c and its kernel
 * consumer toastmon.c) loaded into the driver host and checked from the
 * outside, the way a Windows machine would show it to a consumer:
 *  - the registration handshake: three blocks, their flags and PDO-derived
 *    instance names;
 *  - event control: exactly one IRP_MN_ENABLE_EVENTS when the first consumer
 *    of ToasterNotifyDeviceArrival appears (kernel or portable, whichever is
 *    first) and one IRP_MN_DISABLE_EVENTS after the last one leaves;
 *  - event bytes: the arrival event (driver-built, dynamic instance name,
 *    IoWMIWriteEvent) and the status event (WmiFireEvent, static PDO name),
 *    byte for byte, as both kinds of consumer receive them;
 *  - queries with the two-call buffer protocol, single-instance queries by
 *    name, set block, set item, the MakeToast method;
 *  - collection control of the EXPENSIVE statistics block;
 *  - strict mode (the arrival event rejected, the driver frees its WNODE);
 *  - removal and a clean unload.
 *
 * The driver is used as shipped: the test only reaches it through the host
 * (wmiev/host.h), the kernel consumer API (IoWMIxxx, toastmon.c's functions)
 * and the portable consumer API on the host's bus, and reads its device
 * extension (TOASTER_FDO_DATA) to see what the driver itself believes.
 * Every test runs on a fresh host over the debug allocator and ends with
 * remove + unload + shutdown: nothing may leak and exactly the expected
 * verifier rules may fire.
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

#include <stdio.h>
#include <string.h>

#include <wdm.h>
#include <wmilib.h>
#include <wmistr.h>

#include <wmiev/host.h>

#include "debug_alloc.h"
#include "toaster.h"
#include "wdk_host.h"

/* ======================================================================================
 * Fixture
 * ====================================================================================== */

#define INSTANCE_ID L"ROOT\\TOASTER\\0000"
#define STATIC_NAME L"ROOT\\TOASTER\\0000_0"
#define STATIC_NAME_UTF8 "ROOT\\TOASTER\\0000_0"
#define DATA_ACCESS (WMIGUID_QUERY | WMIGUID_SET | WMIGUID_EXECUTE)

/* The host's clock, fixed: KeQuerySystemTime and the bus's event stamps. */
#define FIXED_TIME INT64_C(133444444440000000)

/* The WNODE_SINGLE_INSTANCE fixed part: 48-byte header + 4 ULONGs (x86 and x64 alike). */
#define SINGLE_FIXED 64u

typedef struct fixture {
  debug_alloc *alloc;
  PDRIVER_OBJECT driver;
  PDEVICE_OBJECT pdo;
  PDEVICE_OBJECT fdo;
  PTOASTER_FDO_DATA ext;
  ULONG provider_id;
  bool removed;
  bool unloaded;
  wmiev_subscription *sub;                   /* portable subscriber, if left open */
  uint64_t expected[WMIEV_HOST_RULE_COUNT_]; /* violations each test expects */
} fixture;

static int64_t fixed_now(void *ctx) {
  (void)ctx;
  return FIXED_TIME;
}

/* The device's FDO: the top of the PDO's stack (the toaster has no filter). */
static void find_fdo(fixture *f) {
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(f->pdo);
  assert_non_null(top);
  assert_ptr_not_equal(top, f->pdo);
  ObDereferenceObject(top);
  f->fdo = top;
  f->ext = (PTOASTER_FDO_DATA)top->DeviceExtension;
  assert_ptr_equal(f->ext->Self, top);
  assert_ptr_equal(f->ext->UnderlyingPdo, f->pdo);
  f->provider_id = IoWMIDeviceObjectToProviderId(top);
  assert_int_not_equal(f->provider_id, 0);
}

static void add_device(fixture *f) {
  assert_int_equal(wmiev_host_add_device(f->driver, INSTANCE_ID, &f->pdo), STATUS_SUCCESS);
  assert_non_null(f->pdo);
  find_fdo(f);
  f->removed = false;
}

static int setup_common(void **state, bool strict, bool with_device) {
  fixture *f = test_calloc(1, sizeof *f);
  f->alloc = debug_alloc_create();
  host_violations_reset();
  wmiev_host_options options;
  memset(&options, 0, sizeof options);
  options.allocator = debug_alloc_allocator(f->alloc);
  options.quiet = true; /* the driver's KdPrint */
  options.strict = strict;
  options.clock.now = fixed_now;
  options.on_violation = host_violations_record;
  wmiev_host_configure(&options);
  assert_int_equal(wmiev_host_load_driver(DriverEntry, L"toaster", &f->driver), STATUS_SUCCESS);
  assert_non_null(f->driver);
  f->removed = true; /* no device yet */
  if (with_device) {
    add_device(f);
  }
  *state = f;
  return 0;
}

static int setup(void **state) { return setup_common(state, false, true); }
static int setup_strict(void **state) { return setup_common(state, true, true); }
static int setup_no_device(void **state) { return setup_common(state, false, false); }

static void remove_device(fixture *f) {
  if (!f->removed) {
    assert_int_equal(wmiev_host_remove_device(f->pdo), STATUS_SUCCESS);
    f->removed = true;
    f->fdo = NULL;
    f->ext = NULL;
  }
}

static size_t registered_blocks(void) {
  return wmiev_registry_blocks(wmiev_bus_registry(wmiev_host_bus()), NULL, NULL, 0);
}

static void unload_driver(fixture *f) {
  if (!f->unloaded) {
    assert_int_equal(wmiev_host_unload_driver(f->driver), STATUS_SUCCESS);
    f->unloaded = true;
  }
}

/*
 * Everything is torn down first and checked afterwards, so that a failed
 * check leaves no host, driver or consumer behind for the next test.
 */
static int teardown(void **state) {
  fixture *f = *state;
  ToastMonStop(); /* no-op unless a test left it started */
  NTSTATUS unsubscribed = STATUS_SUCCESS;
  if (f->sub != NULL) {
    unsubscribed = wmiev_bus_unsubscribe(f->sub);
    f->sub = NULL;
  }
  NTSTATUS removed = STATUS_SUCCESS;
  if (!f->removed) {
    removed = wmiev_host_remove_device(f->pdo);
    f->removed = true;
  }
  wmiev_host_flush();
  size_t blocks_left = registered_blocks();
  NTSTATUS unloaded = STATUS_SUCCESS;
  if (!f->unloaded) {
    unloaded = wmiev_host_unload_driver(f->driver);
    f->unloaded = true;
  }
  /* DriverUnload freed the registry path copy; nothing of the driver is left. */
  uint64_t leaks_at_unload = wmiev_host_violation_count(WMIEV_HOST_RULE_LEAK);
  wmiev_host_shutdown();
  uint64_t seen[WMIEV_HOST_RULE_COUNT_];
  uint64_t counted[WMIEV_HOST_RULE_COUNT_];
  host_violations_snapshot(seen);
  for (int rule = 1; rule < WMIEV_HOST_RULE_COUNT_; rule++) {
    counted[rule] = wmiev_host_violation_count((wmiev_host_rule)rule);
  }
  wmiev_host_configure(NULL);
  uint64_t alloc_errors = debug_alloc_errors(f->alloc);
  uint64_t live = debug_alloc_live_count(f->alloc);
  if (live != 0) {
    (void)debug_alloc_report_leaks(f->alloc);
  }
  debug_alloc_destroy(f->alloc);
  uint64_t expected[WMIEV_HOST_RULE_COUNT_];
  memcpy(expected, f->expected, sizeof expected);
  test_free(f);

  assert_int_equal(unsubscribed, STATUS_SUCCESS);
  assert_int_equal(removed, STATUS_SUCCESS);
  assert_int_equal(blocks_left, 0);
  assert_int_equal(unloaded, STATUS_SUCCESS);
  assert_int_equal(leaks_at_unload, 0);
  assert_host_violations(seen, expected);
  for (int rule = 1; rule < WMIEV_HOST_RULE_COUNT_; rule++) {
    assert_int_equal(counted[rule], seen[rule]);
  }
  assert_int_equal(alloc_errors, 0);
  assert_int_equal(live, 0);
  return 0;
}

/* ======================================================================================
 * Consumers and expected bytes
 * ====================================================================================== */

/* A portable-API consumer (wmiev_bus_subscribe on the host's bus). */
typedef struct pconsumer {
  int count;
  _Alignas(8) uint8_t wnode[256];
  uint32_t wnode_size;
  GUID guid;
  uint32_t provider_id;
  int64_t timestamp;
  bool has_name;
  uint32_t instance_index;
  uint16_t name[64];
  uint32_t name_units;
  char name_utf8[128];
  uint8_t data[64];
  uint32_t data_size;
  uint64_t lost;
} pconsumer;

static void on_portable_event(const wmiev_event *event, void *payload) {
  pconsumer *c = payload;
  c->count++;
  uint32_t wnode_size = 0;
  const void *wnode = wmiev_event_wnode(event, &wnode_size);
  assert_non_null(wnode);
  c->wnode_size = wnode_size < sizeof c->wnode ? wnode_size : sizeof c->wnode;
  memcpy(c->wnode, wnode, c->wnode_size);
  c->guid = event->guid;
  c->provider_id = event->provider_id;
  c->timestamp = event->timestamp;
  c->has_name = event->has_name;
  c->instance_index = event->instance_index;
  c->name_units = 0;
  if (event->has_name && event->name_units <= 64) {
    memcpy(c->name, event->name_utf16, event->name_units * sizeof(uint16_t));
    c->name_units = event->name_units;
  }
  snprintf(c->name_utf8, sizeof c->name_utf8, "%s", wmiev_event_name_utf8(event));
  c->data_size = event->data_size < sizeof c->data ? event->data_size : sizeof c->data;
  if (c->data_size != 0) {
    memcpy(c->data, event->data, c->data_size);
  }
  c->lost += event->lost_before;
}

static wmiev_subscription *portable_subscribe(pconsumer *c) {
  wmiev_subscription *sub = NULL;
  assert_int_equal(wmiev_bus_subscribe(wmiev_host_bus(), &GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL,
                                       on_portable_event, c, &sub),
                   STATUS_SUCCESS);
  assert_non_null(sub);
  return sub;
}

static wmiev_bus_stats arrival_stats(void) {
  wmiev_bus_stats s;
  wmiev_bus_get_guid_stats(wmiev_host_bus(), &GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL, &s);
  return s;
}

static wmiev_bus_stats statistics_stats(void) {
  wmiev_bus_stats s;
  wmiev_bus_get_guid_stats(wmiev_host_bus(), &GUID_TOASTER_STATISTICS, &s);
  return s;
}

/* Little-endian writers for the expected WNODE images (built independently of the driver). */
static void put16(uint8_t *p, size_t at, uint16_t v) {
  p[at] = (uint8_t)v;
  p[at + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t at, uint32_t v) {
  for (int i = 0; i < 4; i++) {
    p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
  }
}

static void put64(uint8_t *p, size_t at, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
  }
}

static void put_guid(uint8_t *p, size_t at, const GUID *g) {
  put32(p, at, g->Data1);
  put16(p, at + 4, g->Data2);
  put16(p, at + 6, g->Data3);
  memcpy(p + at + 8, g->Data4, 8);
}

static uint32_t get32(const uint8_t *p, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) {
    v = (v << 8) | p[at + (size_t)i];
  }
  return v;
}

/* The WNODE_HEADER: BufferSize, ProviderId, Version/Linkage 0, TimeStamp, Guid, ClientContext 0,
 * Flags. */
static void put_header(uint8_t *p, uint32_t size, uint32_t provider_id, const GUID *guid,
                       uint32_t flags) {
  put32(p, 0, size);
  put32(p, 4, provider_id);
  put64(p, 16, (uint64_t)FIXED_TIME);
  put_guid(p, 24, guid);
  put32(p, 44, flags);
}

/* "ToasterArrival_<n>" in UTF-16 units; returns the count. */
static uint32_t arrival_name(ULONG number, uint16_t *out) {
  char text[48];
  int n = snprintf(text, sizeof text, "ToasterArrival_%lu", (unsigned long)number);
  for (int i = 0; i < n; i++) {
    out[i] = (uint16_t)text[i];
  }
  return (uint32_t)n;
}

/*
 * The arrival event of device @p number as toaster.c builds it: a
 * WNODE_SINGLE_INSTANCE (EVENT_ITEM | SINGLE_INSTANCE, no static names), the
 * counted name right after the fixed part, the two ULONGs at the next 8-byte
 * boundary. Returns its size.
 */
static uint32_t expected_arrival(uint8_t *p, size_t capacity, uint32_t provider_id, ULONG number) {
  uint16_t name[32];
  uint32_t units = arrival_name(number, name);
  uint32_t name_at = SINGLE_FIXED;
  uint32_t data_at = (name_at + 2u + units * 2u + 7u) & ~7u;
  uint32_t size = data_at + 8u;
  assert_true(size <= capacity);
  memset(p, 0, capacity);
  put_header(p, size, provider_id, &GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL,
             WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_SINGLE_INSTANCE);
  put32(p, 48, name_at); /* OffsetInstanceName */
  put32(p, 52, 0);       /* InstanceIndex */
  put32(p, 56, data_at); /* DataBlockOffset */
  put32(p, 60, 8);       /* SizeDataBlock */
  put16(p, name_at, (uint16_t)(units * 2u));
  for (uint32_t i = 0; i < units; i++) {
    put16(p, name_at + 2u + 2u * i, name[i]);
  }
  put32(p, data_at, TOASTER_EVENT_ARRIVAL);
  put32(p, data_at + 4u, number);
  return size;
}

/* The status event as WmiFireEvent builds it for static PDO instance 0. */
static uint32_t expected_status(uint8_t *p, size_t capacity, uint32_t provider_id, ULONG value) {
  uint32_t size = SINGLE_FIXED + 8u;
  assert_true(size <= capacity);
  memset(p, 0, capacity);
  put_header(p, size, provider_id, &GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL,
             WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_STATIC_INSTANCE_NAMES |
                 WNODE_FLAG_PDO_INSTANCE_NAMES);
  put32(p, 52, 0);            /* InstanceIndex */
  put32(p, 56, SINGLE_FIXED); /* DataBlockOffset */
  put32(p, 60, 8);            /* SizeDataBlock */
  put32(p, SINGLE_FIXED, TOASTER_EVENT_STATUS);
  put32(p, SINGLE_FIXED + 4u, value);
  return size;
}

/*
 * ToasterDeviceInformation as the MOF lays it out (18 bytes): ConnectorType,
 * Capacity, ToastsMade, DebugPrintLevel, Ready, NotifyEnabled.
 */
static void expected_info(uint8_t out[18], ULONG toasts, ULONG level, bool notify) {
  memset(out, 0, 18);
  put32(out, 0, TOASTER_CONNECTOR_USB);
  put32(out, 4, TOASTER_DEFAULT_CAPACITY);
  put32(out, 8, toasts);
  put32(out, 12, level);
  out[16] = 1; /* Ready: started */
  out[17] = notify ? 1 : 0;
}

static UNICODE_STRING static_name(void) {
  UNICODE_STRING name = RTL_CONSTANT_STRING(STATIC_NAME);
  return name;
}

/* Queries ToasterDeviceInformation instance STATIC_NAME (one sized call) into @p out (18 bytes). */
static void query_info(PVOID object, uint8_t out[18]) {
  UNICODE_STRING name = static_name();
  uint64_t storage[32];
  ULONG size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(object, &name, &size, storage), STATUS_SUCCESS);
  const WNODE_SINGLE_INSTANCE *one = (const void *)storage;
  assert_int_equal(one->SizeDataBlock, TOASTER_DEVICE_INFORMATION_SIZE);
  assert_true(one->DataBlockOffset + one->SizeDataBlock <= size);
  memcpy(out, (const uint8_t *)storage + one->DataBlockOffset, 18);
}

/* Queries ToasterStatistics instance STATIC_NAME: 4 ULONGs. */
static void query_statistics(PVOID object, ULONG out[4]) {
  UNICODE_STRING name = static_name();
  uint64_t storage[32];
  ULONG size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(object, &name, &size, storage), STATUS_SUCCESS);
  const WNODE_SINGLE_INSTANCE *one = (const void *)storage;
  assert_int_equal(one->SizeDataBlock, sizeof(TOASTER_STATISTICS));
  for (int i = 0; i < 4; i++) {
    out[i] = get32((const uint8_t *)storage, one->DataBlockOffset + 4u * (uint32_t)i);
  }
}

static NTSTATUS make_toast(PVOID object, ULONG darkness, ULONG in_size, PULONG out_size,
                           PULONG toast_number) {
  UNICODE_STRING name = static_name();
  _Alignas(8) UCHAR buffer[16];
  memset(buffer, 0xAA, sizeof buffer);
  memcpy(buffer, &darkness, sizeof darkness);
  NTSTATUS status =
      IoWMIExecuteMethod(object, &name, TOASTER_METHOD_MAKE_TOAST, in_size, out_size, buffer);
  if (NT_SUCCESS(status) && toast_number != NULL) {
    memcpy(toast_number, buffer, sizeof *toast_number);
  }
  return status;
}

/* ======================================================================================
 * Tests
 * ====================================================================================== */

/* ---- Registration ----------------------------------------------------------------------- */

static void test_registration_handshake(void **state) {
  fixture *f = *state;
  wmiev_registry *registry = wmiev_bus_registry(wmiev_host_bus());
  /* Started and registered once, nothing enabled yet. */
  assert_int_equal(f->ext->PnpState, ToasterStarted);
  assert_true(f->ext->WmiRegistered);
  wmiev_registry_stats rs;
  wmiev_registry_get_stats(registry, &rs);
  assert_int_equal(rs.registrations, 1);
  assert_int_equal(rs.deregistrations, 0);
  assert_int_equal(rs.rejected_reginfo, 0);

  /* Three blocks of one provider, in the driver's GUID list order; the
   * driver's WMIREG_FLAG_INSTANCE_PDO (RegFlags) applies to each. */
  wmiev_block_info blocks[8];
  assert_int_equal(wmiev_registry_blocks(registry, NULL, blocks, 8), 3);
  const GUID *guids[3] = {&GUID_TOASTER_DEVICE_INFORMATION, &GUID_TOASTER_STATISTICS,
                          &GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL};
  const uint32_t flags[3] = {
      WMIREG_FLAG_INSTANCE_PDO,
      WMIREG_FLAG_INSTANCE_PDO | WMIREG_FLAG_EXPENSIVE,
      WMIREG_FLAG_INSTANCE_PDO | WMIREG_FLAG_EVENT_ONLY_GUID,
  };
  for (int i = 0; i < 3; i++) {
    assert_memory_equal(&blocks[i].guid, guids[i], sizeof(GUID));
    assert_int_equal(blocks[i].provider_id, f->provider_id);
    assert_int_equal(blocks[i].flags, flags[i]);
    assert_int_equal(blocks[i].instance_count, 1);
    assert_int_equal(blocks[i].names, WMIEV_NAMES_PDO);
    /* Instance 0 is named after the PDO: "<device instance id>_0". */
    uint16_t name[64];
    size_t units = 0;
    assert_int_equal(
        wmiev_registry_instance_name(registry, guids[i], f->provider_id, 0, name, 64, &units),
        STATUS_SUCCESS);
    const char *expected = STATIC_NAME_UTF8;
    assert_int_equal(units, strlen(expected));
    for (size_t k = 0; k < units; k++) {
      assert_int_equal(name[k], (uint16_t)expected[k]);
    }
    uint32_t provider = 0, index = 99;
    assert_int_equal(
        wmiev_registry_find_instance(registry, guids[i], name, units, &provider, &index),
        STATUS_SUCCESS);
    assert_int_equal(provider, f->provider_id);
    assert_int_equal(index, 0);
    /* Only one instance. */
    assert_int_equal(
        wmiev_registry_instance_name(registry, guids[i], f->provider_id, 1, name, 64, &units),
        STATUS_WMI_INSTANCE_NOT_FOUND);
  }

  /* The kernel consumer sees the same name from the PDO or the FDO. */
  PVOID data = open_block(&GUID_TOASTER_DEVICE_INFORMATION, WMIGUID_QUERY);
  UNICODE_STRING name = {0, 0, NULL};
  assert_int_equal(IoWMIDeviceObjectToInstanceName(data, f->pdo, &name), STATUS_SUCCESS);
  assert_int_equal(name.Length, sizeof(STATIC_NAME) - sizeof(WCHAR));
  assert_memory_equal(name.Buffer, STATIC_NAME, name.Length);
  RtlFreeUnicodeString(&name);
  assert_int_equal(IoWMIDeviceObjectToInstanceName(data, f->fdo, &name), STATUS_SUCCESS);
  assert_memory_equal(name.Buffer, STATIC_NAME, name.Length);
  RtlFreeUnicodeString(&name);
  ObDereferenceObject(data);

  /* Registration alone enabled nothing: no consumer yet. */
  assert_int_equal(f->ext->ArrivalEnableCount, 0);
  assert_int_equal(f->ext->ArrivalEventEnabled, 0);
  assert_int_equal(f->ext->StatisticsEnableCount, 0);
  assert_int_equal(f->ext->StatisticsCollecting, 0);
  wmiev_bus_stats s;
  wmiev_bus_get_stats(wmiev_host_bus(), &s);
  assert_int_equal(s.enables_sent, 0);
  assert_int_equal(s.collection_enables_sent, 0);
  assert_int_equal(s.fired, 0);
  /* The driver refuses to fire what WMI has not enabled (no verifier warning). */
  assert_int_equal(ToasterFireArrival(f->fdo), STATUS_INVALID_DEVICE_STATE);
  assert_int_equal(ToasterFireStatus(f->fdo, 1), STATUS_INVALID_DEVICE_STATE);
  wmiev_bus_get_stats(wmiev_host_bus(), &s);
  assert_int_equal(s.fired, 0);
}

/* ---- Event control ---------------------------------------------------------------------- */

static void test_one_enable_one_disable(void **state) {
  fixture *f = *state;
  pconsumer p = {0};

  /* Kernel consumer first (toastmon): the first consumer, one ENABLE. */
  assert_int_equal(ToastMonStart(), STATUS_SUCCESS);
  assert_int_equal(ToastMonStart(), STATUS_INVALID_DEVICE_STATE);
  assert_int_equal(f->ext->ArrivalEnableCount, 1);
  assert_int_equal(f->ext->ArrivalEventEnabled, 1);
  assert_int_equal(arrival_stats().enables_sent, 1);

  /* A portable subscriber joins: no second ENABLE. */
  f->sub = portable_subscribe(&p);
  assert_int_equal(f->ext->ArrivalEnableCount, 1);
  assert_int_equal(arrival_stats().enables_sent, 1);

  /* Both receive one event. */
  assert_int_equal(ToasterFireStatus(f->fdo, 7), STATUS_SUCCESS);
  wmiev_host_flush();
  TOASTMON_STATE mon;
  ToastMonGetState(&mon);
  assert_int_equal(mon.EventCount, 1);
  assert_int_equal(p.count, 1);
  wmiev_bus_stats s = arrival_stats();
  assert_int_equal(s.fired, 1);
  assert_int_equal(s.delivered, 1);
  assert_int_equal(s.callbacks, 2);

  /* The kernel consumer leaves first: nothing; the last one leaves: one DISABLE. */
  ToastMonStop();
  assert_int_equal(f->ext->ArrivalEventEnabled, 1);
  assert_int_equal(arrival_stats().disables_sent, 0);
  assert_int_equal(wmiev_bus_unsubscribe(f->sub), STATUS_SUCCESS);
  f->sub = NULL;
  assert_int_equal(f->ext->ArrivalEventEnabled, 0);
  s = arrival_stats();
  assert_int_equal(s.enables_sent, 1);
  assert_int_equal(s.disables_sent, 1);
  assert_int_equal(f->ext->ArrivalEnableCount, 1);
  assert_int_equal(ToasterFireStatus(f->fdo, 8), STATUS_INVALID_DEVICE_STATE);

  /* The other way round: portable first, a kernel object (own callback) second,
   * the portable one leaves first. */
  kconsumer k = {0};
  f->sub = portable_subscribe(&p);
  assert_int_equal(f->ext->ArrivalEnableCount, 2);
  PVOID object = kernel_subscribe(&GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL, &k);
  /* Replacing the callback is not a new consumer either. */
  assert_int_equal(IoWMISetNotificationCallback(object, kconsumer_notify, &k), STATUS_SUCCESS);
  assert_int_equal(f->ext->ArrivalEnableCount, 2);
  assert_int_equal(wmiev_bus_unsubscribe(f->sub), STATUS_SUCCESS);
  f->sub = NULL;
  assert_int_equal(f->ext->ArrivalEventEnabled, 1);
  ObDereferenceObject(object);
  assert_int_equal(f->ext->ArrivalEventEnabled, 0);
  s = arrival_stats();
  assert_int_equal(s.enables_sent, 2);
  assert_int_equal(s.disables_sent, 2);
  assert_int_equal(f->ext->ArrivalEnableCount, 2);

  /* No other block was enabled or collected. */
  wmiev_bus_stats all;
  wmiev_bus_get_stats(wmiev_host_bus(), &all);
  assert_int_equal(all.enables_sent, 2);
  assert_int_equal(all.disables_sent, 2);
  assert_int_equal(all.collection_enables_sent, 0);
  assert_int_equal(f->ext->StatisticsEnableCount, 0);
}

static void test_two_devices_one_enable_each(void **state) {
  fixture *f = *state;
  PDEVICE_OBJECT pdo2 = NULL;
  assert_int_equal(wmiev_host_add_device(f->driver, L"ROOT\\TOASTER\\0001", &pdo2), STATUS_SUCCESS);
  PDEVICE_OBJECT fdo2 = IoGetAttachedDeviceReference(pdo2);
  ObDereferenceObject(fdo2);
  PTOASTER_FDO_DATA ext2 = (PTOASTER_FDO_DATA)fdo2->DeviceExtension;
  assert_int_equal(ext2->DeviceNumber, f->ext->DeviceNumber + 1);
  assert_int_equal(registered_blocks(), 6);

  /* One consumer: each provider of the GUID gets exactly one ENABLE. */
  pconsumer p = {0};
  f->sub = portable_subscribe(&p);
  assert_int_equal(f->ext->ArrivalEnableCount, 1);
  assert_int_equal(ext2->ArrivalEnableCount, 1);
  assert_int_equal(arrival_stats().enables_sent, 2);
  assert_int_equal(ToastMonStart(), STATUS_SUCCESS);
  assert_int_equal(arrival_stats().enables_sent, 2);

  /* Both instances in one query, chained per provider; toastmon counts them. */
  TOASTER_DEVICE_INFORMATION info;
  ULONG count = 0;
  assert_int_equal(ToastMonQuery(&info, &count), STATUS_SUCCESS);
  assert_int_equal(count, 2);
  assert_int_equal(info.Capacity, TOASTER_DEFAULT_CAPACITY);

  /* Each device names its status event after its own PDO. */
  assert_int_equal(ToasterFireStatus(fdo2, 2), STATUS_SUCCESS);
  wmiev_host_flush();
  assert_int_equal(p.count, 1);
  assert_string_equal(p.name_utf8, "ROOT\\TOASTER\\0001_0");
  assert_int_equal(p.provider_id, IoWMIDeviceObjectToProviderId(fdo2));

  /* The second device goes while consumers remain: it is sent no DISABLE. */
  assert_int_equal(wmiev_host_remove_device(pdo2), STATUS_SUCCESS);
  assert_int_equal(registered_blocks(), 3);
  assert_int_equal(arrival_stats().disables_sent, 0);
  ToastMonStop();
  assert_int_equal(wmiev_bus_unsubscribe(f->sub), STATUS_SUCCESS);
  f->sub = NULL;
  assert_int_equal(arrival_stats().disables_sent, 1);
  assert_int_equal(f->ext->ArrivalEventEnabled, 0);
}

/* ---- Event bytes ----------------------------------------------------------------------- */

static void test_arrival_event_bytes(void **state) {
  fixture *f = *state;
  kconsumer k = {0};
  pconsumer p = {0};
  PVOID object = kernel_subscribe(&GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL, &k);
  f->sub = portable_subscribe(&p);
  assert_int_equal(ToastMonStart(), STATUS_SUCCESS);

  assert_int_equal(ToasterFireArrival(f->fdo), STATUS_SUCCESS);
  assert_int_equal(k.count, 0); /* the host pumps its bus on flush */
  wmiev_host_flush();
  assert_int_equal(k.count, 1);
  assert_int_equal(p.count, 1);

  /* Byte for byte what the driver built; WMI stamped it (the host's fixed clock). */
  uint8_t expected[256];
  uint32_t size = expected_arrival(expected, sizeof expected, f->provider_id, f->ext->DeviceNumber);
  assert_int_equal(size, 112);
  assert_int_equal(k.last_size, size);
  assert_memory_equal(k.last, expected, size);
  assert_int_equal(p.wnode_size, size);
  assert_memory_equal(p.wnode, expected, size);

  /* The portable view of it. */
  assert_memory_equal(&p.guid, &GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL, sizeof(GUID));
  assert_int_equal(p.provider_id, f->provider_id);
  assert_true(p.timestamp == FIXED_TIME);
  assert_true(p.has_name);
  uint16_t name[32];
  uint32_t units = arrival_name(f->ext->DeviceNumber, name);
  assert_int_equal(p.name_units, units);
  assert_memory_equal(p.name, name, units * sizeof(uint16_t));
  char name_utf8[48];
  snprintf(name_utf8, sizeof name_utf8, "ToasterArrival_%lu", (unsigned long)f->ext->DeviceNumber);
  assert_string_equal(p.name_utf8, name_utf8);
  assert_int_equal(p.data_size, sizeof(TOASTER_NOTIFY_EVENT));
  assert_int_equal(get32(p.data, 0), TOASTER_EVENT_ARRIVAL);
  assert_int_equal(get32(p.data, 4), f->ext->DeviceNumber);
  assert_int_equal(p.lost, 0);

  /* toastmon parsed the same event. */
  TOASTMON_STATE mon;
  ToastMonGetState(&mon);
  assert_int_equal(mon.EventCount, 1);
  assert_int_equal(mon.MalformedCount, 0);
  assert_memory_equal(&mon.LastGuid, &GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL, sizeof(GUID));
  assert_int_equal(mon.LastFlags, WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_SINGLE_INSTANCE);
  assert_int_equal(mon.LastProviderId, f->provider_id);
  assert_int_equal(mon.LastBufferSize, size);
  assert_true(mon.LastTimeStamp.QuadPart == FIXED_TIME);
  assert_false(mon.LastStaticName);
  assert_int_equal(mon.LastInstanceNameLength, units * sizeof(WCHAR));
  assert_memory_equal(mon.LastInstanceName, name, units * sizeof(WCHAR));
  assert_int_equal(mon.LastInstanceName[units], 0);
  assert_int_equal(mon.LastDataSize, sizeof(TOASTER_NOTIFY_EVENT));
  assert_int_equal(mon.LastEvent.EventType, TOASTER_EVENT_ARRIVAL);
  assert_int_equal(mon.LastEvent.Value, f->ext->DeviceNumber);

  /* A dynamic-name event for a block registered with PDO (static) names:
   * delivered, as Windows does, and the host says so once. */
  assert_int_equal(host_violations(WMIEV_HOST_RULE_EVENT_NAME_MISMATCH), 1);
  assert_true(
      host_violation_message_has(WMIEV_HOST_RULE_EVENT_NAME_MISMATCH, "DYNAMIC_FOR_STATIC"));
  wmiev_bus_stats s = arrival_stats();
  assert_int_equal(s.fired, 1);
  assert_int_equal(s.rejected, 0);
  assert_int_equal(s.delivered, 1);
  assert_int_equal(s.callbacks, 3);
  assert_int_equal(s.warnings[WMIEV_WARN_DYNAMIC_FOR_STATIC], 1);

  ToastMonStop();
  ObDereferenceObject(object);
  f->expected[WMIEV_HOST_RULE_EVENT_NAME_MISMATCH] = 1;
}

static void test_status_event_bytes(void **state) {
  fixture *f = *state;
  kconsumer k = {0};
  pconsumer p = {0};
  PVOID object = kernel_subscribe(&GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL, &k);
  f->sub = portable_subscribe(&p);
  assert_int_equal(ToastMonStart(), STATUS_SUCCESS);

  /* WmiFireEvent is allowed up to DISPATCH_LEVEL, and so is ToasterFireStatus. */
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  assert_int_equal(ToasterFireStatus(f->fdo, 0xC0FFEEu), STATUS_SUCCESS);
  KeLowerIrql(old);
  wmiev_host_flush();
  assert_int_equal(k.count, 1);
  assert_int_equal(p.count, 1);

  uint8_t expected[256];
  uint32_t size = expected_status(expected, sizeof expected, f->provider_id, 0xC0FFEEu);
  assert_int_equal(size, 72);
  assert_int_equal(k.last_size, size);
  assert_memory_equal(k.last, expected, size);
  assert_int_equal(p.wnode_size, size);
  assert_memory_equal(p.wnode, expected, size);

  assert_false(p.has_name);
  assert_int_equal(p.instance_index, 0);
  assert_string_equal(p.name_utf8, STATIC_NAME_UTF8);
  assert_true(p.timestamp == FIXED_TIME);
  assert_int_equal(p.data_size, 8);
  assert_int_equal(get32(p.data, 0), TOASTER_EVENT_STATUS);
  assert_int_equal(get32(p.data, 4), 0xC0FFEEu);

  TOASTMON_STATE mon;
  ToastMonGetState(&mon);
  assert_int_equal(mon.EventCount, 1);
  assert_int_equal(mon.MalformedCount, 0);
  assert_true(mon.LastStaticName);
  assert_int_equal(mon.LastInstanceIndex, 0);
  assert_int_equal(mon.LastInstanceNameLength, 0);
  assert_int_equal(mon.LastFlags, WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_SINGLE_INSTANCE |
                                      WNODE_FLAG_STATIC_INSTANCE_NAMES |
                                      WNODE_FLAG_PDO_INSTANCE_NAMES);
  assert_int_equal(mon.LastEvent.EventType, TOASTER_EVENT_STATUS);
  assert_int_equal(mon.LastEvent.Value, 0xC0FFEEu);

  /* The right kind of name for a PDO-named block: no warning at all. */
  wmiev_bus_stats s = arrival_stats();
  assert_int_equal(s.fired, 1);
  assert_int_equal(s.delivered, 1);
  for (int w = 1; w < WMIEV_WARN_COUNT_; w++) {
    assert_int_equal(s.warnings[w], 0);
  }
  ToastMonStop();
  ObDereferenceObject(object);
}

/* ---- Queries, sets, methods -------------------------------------------------------------- */

static void test_query_all_data_two_calls(void **state) {
  fixture *f = *state;
  PVOID data = open_block(&GUID_TOASTER_DEVICE_INFORMATION, WMIGUID_QUERY);

  /* First call: no buffer, WMI answers with the size. */
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  ULONG needed = size;
  assert_true(needed >= sizeof(WNODE_ALL_DATA) + TOASTER_DEVICE_INFORMATION_SIZE);
  uint64_t storage[64];
  assert_true(needed <= sizeof storage);
  /* One byte short: still too small, same size. */
  size = needed - 1;
  assert_int_equal(IoWMIQueryAllData(data, &size, storage), STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(size, needed);
  /* Exactly the size: the data. */
  size = needed;
  memset(storage, 0xEE, sizeof storage);
  assert_int_equal(IoWMIQueryAllData(data, &size, storage), STATUS_SUCCESS);
  assert_int_equal(size, needed);

  const WNODE_ALL_DATA *all = (const void *)storage;
  assert_int_equal(all->WnodeHeader.BufferSize, needed);
  assert_memory_equal(&all->WnodeHeader.Guid, &GUID_TOASTER_DEVICE_INFORMATION, sizeof(GUID));
  assert_int_equal(all->WnodeHeader.ProviderId, f->provider_id);
  assert_int_equal(all->WnodeHeader.Linkage, 0);
  /* wmilib stamps replies with the bus's clock, the host's fixed one here. */
  assert_true(all->WnodeHeader.TimeStamp.QuadPart == FIXED_TIME);
  ULONG wflags = all->WnodeHeader.Flags;
  assert_true((wflags & WNODE_FLAG_ALL_DATA) != 0);
  assert_true((wflags & WNODE_FLAG_FIXED_INSTANCE_SIZE) != 0);
  assert_true((wflags & WNODE_FLAG_STATIC_INSTANCE_NAMES) != 0);
  assert_true((wflags & WNODE_FLAG_PDO_INSTANCE_NAMES) != 0);
  assert_int_equal(all->InstanceCount, 1);
  assert_int_equal(all->FixedInstanceSize, TOASTER_DEVICE_INFORMATION_SIZE);
  assert_true(all->DataBlockOffset + TOASTER_DEVICE_INFORMATION_SIZE <= needed);
  uint8_t expected[18];
  expected_info(expected, 0, 0, false);
  assert_memory_equal((const uint8_t *)storage + all->DataBlockOffset, expected, 18);

  /* The same through toastmon (which grows its pool buffer the same way). */
  TOASTER_DEVICE_INFORMATION info;
  ULONG count = 0;
  assert_int_equal(ToastMonQuery(&info, &count), STATUS_SUCCESS);
  assert_int_equal(count, 1);
  assert_int_equal(info.ConnectorType, TOASTER_CONNECTOR_USB);
  assert_int_equal(info.Capacity, TOASTER_DEFAULT_CAPACITY);
  assert_int_equal(info.ToastsMade, 0);
  assert_int_equal(info.DebugPrintLevel, 0);
  assert_int_equal(info.Ready, TRUE);
  assert_int_equal(info.NotifyEnabled, FALSE);
  TOASTMON_STATE mon;
  ToastMonGetState(&mon);
  assert_int_equal(mon.QueryCount, 1);
  assert_int_equal(mon.LastQueryStatus, STATUS_SUCCESS);
  assert_int_equal(mon.LastQuerySizeNeeded, needed);
  assert_int_equal(mon.LastQueryInstanceCount, 1);

  /* NotifyEnabled follows the event's consumers. */
  pconsumer p = {0};
  f->sub = portable_subscribe(&p);
  assert_int_equal(ToastMonQuery(&info, NULL), STATUS_SUCCESS);
  assert_int_equal(info.NotifyEnabled, TRUE);
  assert_int_equal(wmiev_bus_unsubscribe(f->sub), STATUS_SUCCESS);
  f->sub = NULL;

  /* The event-only block has nothing to query. (Windows does not send the
   * query to the driver at all; the host does, and the toaster refuses it
   * with STATUS_INVALID_DEVICE_REQUEST: either way, no data.) */
  PVOID events = open_block(&GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL, WMIGUID_QUERY);
  size = sizeof storage;
  assert_false(NT_SUCCESS(IoWMIQueryAllData(events, &size, storage)));
  ObDereferenceObject(events);
  ObDereferenceObject(data);
}

static void test_query_single_instance(void **state) {
  fixture *f = *state;
  PVOID data = open_block(&GUID_TOASTER_DEVICE_INFORMATION, WMIGUID_QUERY);
  UNICODE_STRING name = static_name();
  ULONG size = 0;
  assert_int_equal(IoWMIQuerySingleInstance(data, &name, &size, NULL), STATUS_BUFFER_TOO_SMALL);
  ULONG needed = size;
  uint64_t storage[64];
  assert_true(needed >= SINGLE_FIXED + TOASTER_DEVICE_INFORMATION_SIZE);
  assert_true(needed <= sizeof storage);
  size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(data, &name, &size, storage), STATUS_SUCCESS);
  assert_int_equal(size, needed);
  const WNODE_SINGLE_INSTANCE *one = (const void *)storage;
  assert_memory_equal(&one->WnodeHeader.Guid, &GUID_TOASTER_DEVICE_INFORMATION, sizeof(GUID));
  assert_int_equal(one->WnodeHeader.ProviderId, f->provider_id);
  assert_true(one->WnodeHeader.TimeStamp.QuadPart == FIXED_TIME);
  assert_true((one->WnodeHeader.Flags & WNODE_FLAG_SINGLE_INSTANCE) != 0);
  assert_true((one->WnodeHeader.Flags & WNODE_FLAG_STATIC_INSTANCE_NAMES) != 0);
  assert_int_equal(one->InstanceIndex, 0);
  assert_int_equal(one->SizeDataBlock, TOASTER_DEVICE_INFORMATION_SIZE);
  uint8_t expected[18];
  expected_info(expected, 0, 0, false);
  assert_memory_equal((const uint8_t *)storage + one->DataBlockOffset, expected, 18);

  /* Names that are not there. */
  UNICODE_STRING other = RTL_CONSTANT_STRING(L"ROOT\\TOASTER\\0000_1");
  size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(data, &other, &size, storage),
                   STATUS_WMI_INSTANCE_NOT_FOUND);
  UNICODE_STRING dynamic = RTL_CONSTANT_STRING(L"ToasterArrival_0");
  size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(data, &dynamic, &size, storage),
                   STATUS_WMI_INSTANCE_NOT_FOUND);

  /* Not opened for queries. */
  PVOID notify = open_block(&GUID_TOASTER_DEVICE_INFORMATION, NOTIFY_ACCESS);
  size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(notify, &name, &size, storage), STATUS_ACCESS_DENIED);
  ObDereferenceObject(notify);
  ObDereferenceObject(data);
}

static void test_set_block_and_item(void **state) {
  fixture *f = *state;
  PVOID data = open_block(&GUID_TOASTER_DEVICE_INFORMATION, DATA_ACCESS);
  UNICODE_STRING name = static_name();
  uint8_t info[18];

  /* Set the whole block: only DebugPrintLevel is writable, the rest is ignored. */
  uint8_t block[18];
  memset(block, 0x5A, sizeof block);
  put32(block, 12, 3);
  assert_int_equal(IoWMISetSingleInstance(data, &name, 0, sizeof block, block), STATUS_SUCCESS);
  assert_int_equal(f->ext->DebugPrintLevel, 3);
  uint8_t expected[18];
  expected_info(expected, 0, 3, false);
  query_info(data, info);
  assert_memory_equal(info, expected, 18);
  /* Shorter than the MOF layout: refused, nothing changed. */
  put32(block, 12, 4);
  assert_int_equal(IoWMISetSingleInstance(data, &name, 0, 17, block), STATUS_INFO_LENGTH_MISMATCH);
  query_info(data, info);
  assert_memory_equal(info, expected, 18);

  /* Set one item. */
  ULONG level = 9;
  assert_int_equal(
      IoWMISetSingleItem(data, &name, TOASTER_ITEM_DEBUG_PRINT_LEVEL, 0, sizeof level, &level),
      STATUS_SUCCESS);
  expected_info(expected, 0, 9, false);
  query_info(data, info);
  assert_memory_equal(info, expected, 18);
  /* Read-only items, unknown items, wrong sizes. */
  ULONG value = 2;
  assert_int_equal(
      IoWMISetSingleItem(data, &name, TOASTER_ITEM_CONNECTOR_TYPE, 0, sizeof value, &value),
      STATUS_WMI_READ_ONLY);
  assert_int_equal(
      IoWMISetSingleItem(data, &name, TOASTER_ITEM_TOASTS_MADE, 0, sizeof value, &value),
      STATUS_WMI_READ_ONLY);
  assert_int_equal(IoWMISetSingleItem(data, &name, 99, 0, sizeof value, &value),
                   STATUS_WMI_ITEMID_NOT_FOUND);
  USHORT small = 1;
  assert_int_equal(
      IoWMISetSingleItem(data, &name, TOASTER_ITEM_DEBUG_PRINT_LEVEL, 0, sizeof small, &small),
      STATUS_INFO_LENGTH_MISMATCH);
  UNICODE_STRING other = RTL_CONSTANT_STRING(L"ROOT\\TOASTER\\0000_1");
  assert_int_equal(
      IoWMISetSingleItem(data, &other, TOASTER_ITEM_DEBUG_PRINT_LEVEL, 0, sizeof level, &level),
      STATUS_WMI_INSTANCE_NOT_FOUND);
  query_info(data, info);
  assert_memory_equal(info, expected, 18);
  assert_int_equal(f->ext->ConnectorType, TOASTER_CONNECTOR_USB);

  /* The statistics block is read-only. */
  PVOID stats = open_block(&GUID_TOASTER_STATISTICS, WMIGUID_SET);
  ULONG zeros[4] = {0, 0, 0, 0};
  assert_int_equal(IoWMISetSingleInstance(stats, &name, 0, sizeof zeros, zeros),
                   STATUS_WMI_READ_ONLY);
  assert_int_equal(IoWMISetSingleItem(stats, &name, 1, 0, sizeof value, &value),
                   STATUS_WMI_READ_ONLY);
  ObDereferenceObject(stats);

  /* Without WMIGUID_SET the driver is not asked. */
  PVOID query = open_block(&GUID_TOASTER_DEVICE_INFORMATION, WMIGUID_QUERY);
  level = 1;
  assert_int_equal(
      IoWMISetSingleItem(query, &name, TOASTER_ITEM_DEBUG_PRINT_LEVEL, 0, sizeof level, &level),
      STATUS_ACCESS_DENIED);
  assert_int_equal(f->ext->DebugPrintLevel, 9);
  ObDereferenceObject(query);
  ObDereferenceObject(data);
}

static void test_method_make_toast(void **state) {
  fixture *f = *state;
  PVOID data = open_block(&GUID_TOASTER_DEVICE_INFORMATION, DATA_ACCESS);
  ULONG out = sizeof(ULONG);
  ULONG number = 0;
  assert_int_equal(make_toast(data, 5, sizeof(ULONG), &out, &number), STATUS_SUCCESS);
  assert_int_equal(out, sizeof(TOASTER_MAKE_TOAST_OUT));
  assert_int_equal(number, 1);
  out = 16;
  assert_int_equal(make_toast(data, TOASTER_DARKNESS_MAX, sizeof(ULONG), &out, &number),
                   STATUS_SUCCESS);
  assert_int_equal(out, sizeof(TOASTER_MAKE_TOAST_OUT));
  assert_int_equal(number, 2);

  /* No room declared for the output: WMI answers with the size it needs.
   * The input and output share one buffer, so WMI's request has room for
   * max(in, out) = 4 bytes of output: the driver's own "output too small"
   * check (before the toast) cannot trigger, the toast is made and its
   * number lost (requester.c: "the method ran ... the output is lost"). */
  out = 0;
  assert_int_equal(make_toast(data, 5, sizeof(ULONG), &out, NULL), STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(out, sizeof(TOASTER_MAKE_TOAST_OUT));
  assert_int_equal(f->ext->ToastsMade, 3);
  out = sizeof(ULONG);
  assert_int_equal(make_toast(data, 1, sizeof(ULONG), &out, &number), STATUS_SUCCESS);
  assert_int_equal(number, 4);

  /* Bad input: darkness out of range, input too short, unknown method (no toast). */
  out = 16;
  assert_int_equal(make_toast(data, 0, sizeof(ULONG), &out, NULL), STATUS_INVALID_PARAMETER);
  out = 16;
  assert_int_equal(make_toast(data, TOASTER_DARKNESS_MAX + 1, sizeof(ULONG), &out, NULL),
                   STATUS_INVALID_PARAMETER);
  out = 16;
  assert_int_equal(make_toast(data, 5, 2, &out, NULL), STATUS_INVALID_PARAMETER);
  UNICODE_STRING name = static_name();
  UCHAR buffer[16] = {5};
  out = 16;
  assert_int_equal(IoWMIExecuteMethod(data, &name, 2, sizeof(ULONG), &out, buffer),
                   STATUS_WMI_ITEMID_NOT_FOUND);
  /* Methods only on block 0. */
  PVOID stats = open_block(&GUID_TOASTER_STATISTICS, WMIGUID_EXECUTE);
  out = 16;
  assert_int_equal(
      IoWMIExecuteMethod(stats, &name, TOASTER_METHOD_MAKE_TOAST, sizeof(ULONG), &out, buffer),
      STATUS_INVALID_DEVICE_REQUEST);
  ObDereferenceObject(stats);

  /* Four toasts, and the query says so. */
  assert_int_equal(f->ext->ToastsMade, 4);
  uint8_t info[18], expected[18];
  expected_info(expected, 4, 0, false);
  query_info(data, info);
  assert_memory_equal(info, expected, 18);
  ObDereferenceObject(data);
}

/* ---- Collection control ------------------------------------------------------------------ */

static void test_collection_control(void **state) {
  fixture *f = *state;
  /* Opening for notifications only: no collection. */
  PVOID notify = open_block(&GUID_TOASTER_STATISTICS, NOTIFY_ACCESS);
  assert_int_equal(f->ext->StatisticsEnableCount, 0);
  assert_int_equal(f->ext->StatisticsCollecting, 0);

  /* The first data open: one ENABLE_COLLECTION, counters reset. */
  PVOID first = open_block(&GUID_TOASTER_STATISTICS, WMIGUID_QUERY);
  assert_int_equal(f->ext->StatisticsEnableCount, 1);
  assert_int_equal(f->ext->StatisticsCollecting, 1);
  assert_int_equal(statistics_stats().collection_enables_sent, 1);
  /* A second one (a portable handle) adds nothing. */
  wmiev_block_handle *handle = NULL;
  assert_int_equal(wmiev_bus_open_block(wmiev_host_bus(), &GUID_TOASTER_STATISTICS, &handle),
                   STATUS_SUCCESS);
  assert_int_equal(f->ext->StatisticsEnableCount, 1);
  assert_int_equal(statistics_stats().collection_enables_sent, 1);
  /* Opening the cheap block does not enable its collection. */
  PVOID data = open_block(&GUID_TOASTER_DEVICE_INFORMATION, DATA_ACCESS);
  wmiev_bus_stats info_stats;
  wmiev_bus_get_guid_stats(wmiev_host_bus(), &GUID_TOASTER_DEVICE_INFORMATION, &info_stats);
  assert_int_equal(info_stats.collection_enables_sent, 0);

  ULONG counters[4];
  query_statistics(first, counters);
  assert_int_equal(counters[0] + counters[1] + counters[2] + counters[3], 0);

  /* One of each: a query of block 0, a set, a method, an event. */
  uint8_t info[18];
  query_info(data, info);
  UNICODE_STRING name = static_name();
  ULONG level = 2;
  assert_int_equal(
      IoWMISetSingleItem(data, &name, TOASTER_ITEM_DEBUG_PRINT_LEVEL, 0, sizeof level, &level),
      STATUS_SUCCESS);
  ULONG out = sizeof(ULONG);
  assert_int_equal(make_toast(data, 3, sizeof(ULONG), &out, NULL), STATUS_SUCCESS);
  pconsumer p = {0};
  f->sub = portable_subscribe(&p);
  assert_int_equal(ToasterFireStatus(f->fdo, 1), STATUS_SUCCESS);
  wmiev_host_flush();
  assert_int_equal(p.count, 1);
  query_statistics(first, counters);
  assert_int_equal(counters[0], 1); /* QueryCount */
  assert_int_equal(counters[1], 1); /* SetCount */
  assert_int_equal(counters[2], 1); /* MethodCount */
  assert_int_equal(counters[3], 1); /* EventCount */

  /* Closing all but one: still collecting; the last close: one DISABLE_COLLECTION. */
  ObDereferenceObject(first);
  ObDereferenceObject(notify);
  assert_int_equal(f->ext->StatisticsCollecting, 1);
  assert_int_equal(statistics_stats().collection_disables_sent, 0);
  assert_int_equal(wmiev_bus_close_block(handle), STATUS_SUCCESS);
  assert_int_equal(f->ext->StatisticsCollecting, 0);
  wmiev_bus_stats s = statistics_stats();
  assert_int_equal(s.collection_enables_sent, 1);
  assert_int_equal(s.collection_disables_sent, 1);
  assert_int_equal(f->ext->StatisticsEnableCount, 1);

  /* Not collecting: the counters stand still. */
  query_info(data, info);
  assert_int_equal(f->ext->QueryCount, 1);

  /* Reopened: collecting again, from zero. */
  PVOID again = open_block(&GUID_TOASTER_STATISTICS, WMIGUID_QUERY);
  assert_int_equal(f->ext->StatisticsEnableCount, 2);
  query_statistics(again, counters);
  assert_int_equal(counters[0] + counters[1] + counters[2] + counters[3], 0);
  ObDereferenceObject(again);
  assert_int_equal(statistics_stats().collection_disables_sent, 2);
  assert_int_equal(f->ext->StatisticsCollecting, 0);

  /* The events' GUID saw no collection control, the statistics GUID no event control. */
  assert_int_equal(arrival_stats().collection_enables_sent, 0);
  assert_int_equal(statistics_stats().enables_sent, 0);
  assert_int_equal(wmiev_bus_unsubscribe(f->sub), STATUS_SUCCESS);
  f->sub = NULL;
  ObDereferenceObject(data);
}

/* ---- A consumer that waits for the device --------------------------------------------- */

static void test_consumer_before_device(void **state) {
  fixture *f = *state;
  /* Consumers for a GUID nobody provides yet. */
  assert_int_equal(registered_blocks(), 0);
  assert_int_equal(ToastMonStart(), STATUS_SUCCESS);
  pconsumer p = {0};
  f->sub = portable_subscribe(&p);
  assert_int_equal(arrival_stats().enables_sent, 0);

  /* The device registers at START; WMI enables the event as part of the
   * registration, and the driver announces its arrival right away. */
  add_device(f);
  assert_int_equal(f->ext->ArrivalEnableCount, 1);
  assert_int_equal(f->ext->ArrivalEventEnabled, 1);
  assert_int_equal(arrival_stats().enables_sent, 1);
  wmiev_host_flush();
  assert_int_equal(p.count, 1);
  uint8_t expected[256];
  uint32_t size = expected_arrival(expected, sizeof expected, f->provider_id, f->ext->DeviceNumber);
  assert_int_equal(p.wnode_size, size);
  assert_memory_equal(p.wnode, expected, size);
  TOASTMON_STATE mon;
  ToastMonGetState(&mon);
  assert_int_equal(mon.EventCount, 1);
  assert_int_equal(mon.LastEvent.EventType, TOASTER_EVENT_ARRIVAL);
  assert_int_equal(mon.LastEvent.Value, f->ext->DeviceNumber);

  ToastMonStop();
  assert_int_equal(wmiev_bus_unsubscribe(f->sub), STATUS_SUCCESS);
  f->sub = NULL;
  wmiev_bus_stats s = arrival_stats();
  assert_int_equal(s.enables_sent, 1);
  assert_int_equal(s.disables_sent, 1);
  f->expected[WMIEV_HOST_RULE_EVENT_NAME_MISMATCH] = 1;
}

/* ---- Strict mode --------------------------------------------------------------------------- */

static void test_strict_arrival_rejected(void **state) {
  fixture *f = *state;
  kconsumer k = {0};
  pconsumer p = {0};
  PVOID object = kernel_subscribe(&GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL, &k);
  f->sub = portable_subscribe(&p);

  /* The name mismatch is a rejection now: IoWMIWriteEvent fails, the WNODE
   * stays the driver's, and the driver frees it (the pool checks at unload
   * and the debug allocator at the end prove it did, exactly once). */
  NTSTATUS status = ToasterFireArrival(f->fdo);
  assert_false(NT_SUCCESS(status));
  assert_int_equal(status, STATUS_WMI_INSTANCE_NOT_FOUND);
  wmiev_host_flush();
  assert_int_equal(k.count, 0);
  assert_int_equal(p.count, 0);
  wmiev_bus_stats s = arrival_stats();
  assert_int_equal(s.fired, 1);
  assert_int_equal(s.rejected, 1);
  assert_int_equal(s.rejected_by[WMIEV_REJECT_STRICT], 1);
  assert_int_equal(s.delivered, 0);
  /* A rejection, not a warning: the host's verifier records no name mismatch. */
  assert_int_equal(s.warnings[WMIEV_WARN_DYNAMIC_FOR_STATIC], 0);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_EVENT_NAME_MISMATCH), 0);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN), 0);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_POOL_DOUBLE_FREE), 0);
  assert_int_equal(host_violations(WMIEV_HOST_RULE_POOL_BAD_FREE), 0);

  /* The status event is what strict WMI wants: delivered. */
  assert_int_equal(ToasterFireStatus(f->fdo, 5), STATUS_SUCCESS);
  wmiev_host_flush();
  assert_int_equal(k.count, 1);
  assert_int_equal(p.count, 1);
  uint8_t expected[256];
  uint32_t size = expected_status(expected, sizeof expected, f->provider_id, 5);
  assert_int_equal(k.last_size, size);
  assert_memory_equal(k.last, expected, size);
  /* The event stays enabled: the rejection was WMI's, not a consumer leaving. */
  assert_int_equal(f->ext->ArrivalEventEnabled, 1);
  ObDereferenceObject(object);
}

static void test_strict_arrival_at_start(void **state) {
  fixture *f = *state;
  /* A consumer waits; the device starts, its START-time arrival is rejected:
   * the device still starts and registers, and nothing leaks. */
  pconsumer p = {0};
  f->sub = portable_subscribe(&p);
  add_device(f);
  assert_int_equal(f->ext->PnpState, ToasterStarted);
  assert_int_equal(f->ext->ArrivalEnableCount, 1);
  wmiev_host_flush();
  assert_int_equal(p.count, 0);
  assert_int_equal(arrival_stats().rejected_by[WMIEV_REJECT_STRICT], 1);
  assert_int_equal(registered_blocks(), 3);
}

static int setup_strict_no_device(void **state) { return setup_common(state, true, false); }

/* ---- Removal and unload -------------------------------------------------------------------- */

static void test_removal_and_unload(void **state) {
  fixture *f = *state;
  /* Consumers of every kind still open when the device goes. */
  assert_int_equal(ToastMonStart(), STATUS_SUCCESS);
  pconsumer p = {0};
  f->sub = portable_subscribe(&p);
  PVOID data = open_block(&GUID_TOASTER_DEVICE_INFORMATION, DATA_ACCESS);
  PVOID stats = open_block(&GUID_TOASTER_STATISTICS, WMIGUID_QUERY);
  assert_int_equal(f->ext->ArrivalEventEnabled, 1);
  assert_int_equal(f->ext->StatisticsCollecting, 1);

  remove_device(f);
  /* Deregistered: no block left, and a provider that deregisters is sent
   * no DISABLE_EVENTS / DISABLE_COLLECTION. */
  assert_int_equal(registered_blocks(), 0);
  wmiev_registry_stats rs;
  wmiev_registry_get_stats(wmiev_bus_registry(wmiev_host_bus()), &rs);
  assert_int_equal(rs.deregistrations, 1);
  assert_int_equal(arrival_stats().disables_sent, 0);
  assert_int_equal(statistics_stats().collection_disables_sent, 0);

  /* What consumers see now. */
  ULONG size = 0;
  assert_int_equal(IoWMIQueryAllData(data, &size, NULL), STATUS_WMI_GUID_NOT_FOUND);
  UNICODE_STRING name = static_name();
  uint64_t storage[16];
  size = sizeof storage;
  assert_int_equal(IoWMIQuerySingleInstance(data, &name, &size, storage),
                   STATUS_WMI_GUID_NOT_FOUND);
  TOASTER_DEVICE_INFORMATION info;
  ULONG count = 9;
  assert_int_equal(ToastMonQuery(&info, &count), STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(count, 0);

  /* Consumers leave after the provider: still no DISABLE to anyone. */
  ToastMonStop();
  assert_int_equal(wmiev_bus_unsubscribe(f->sub), STATUS_SUCCESS);
  f->sub = NULL;
  ObDereferenceObject(data);
  ObDereferenceObject(stats);
  wmiev_bus_stats all;
  wmiev_bus_get_stats(wmiev_host_bus(), &all);
  assert_int_equal(all.disables_sent, 0);
  assert_int_equal(all.collection_disables_sent, 0);
  assert_int_equal(all.enables_sent, 1);
  assert_int_equal(all.collection_enables_sent, 1);

  /* A clean unload: STATUS_SUCCESS, nothing left behind. */
  wmiev_host_flush();
  unload_driver(f);
  assert_int_equal(wmiev_host_violation_count(WMIEV_HOST_RULE_LEAK), 0);
  assert_int_equal(registered_blocks(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_registration_handshake, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_enable_one_disable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_devices_one_enable_each, setup, teardown),
      cmocka_unit_test_setup_teardown(test_arrival_event_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_status_event_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_query_all_data_two_calls, setup, teardown),
      cmocka_unit_test_setup_teardown(test_query_single_instance, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_block_and_item, setup, teardown),
      cmocka_unit_test_setup_teardown(test_method_make_toast, setup, teardown),
      cmocka_unit_test_setup_teardown(test_collection_control, setup, teardown),
      cmocka_unit_test_setup_teardown(test_consumer_before_device, setup_no_device, teardown),
      cmocka_unit_test_setup_teardown(test_strict_arrival_rejected, setup_strict, teardown),
      cmocka_unit_test_setup_teardown(test_strict_arrival_at_start, setup_strict_no_device,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_removal_and_unload, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
