/*
 * Windows kernel backend of the portable API (DESIGN.md, "Windows backend";
 * docs/windows.md, "The Windows backend"): pool, bus and registry handles,
 * and the portable calls that have no kernel counterpart.
 *
 * The rest is in provider.c (providers, WmiSystemControl, registration),
 * fire.c (WmiFireEvent, IoWMIWriteEvent, deferral to work items),
 * source.c (event sources) and consumer.c (notifications, block handles,
 * queries).
 */
#include "backend.h"

/* The wire structs follow the target's pointer size (WMIREGGUIDW.Pdo). */
WMIEV_STATIC_ASSERT(sizeof(void *) == sizeof(uintptr_t), "pointer-sized wire fields");
#if defined(_WIN64)
WMIEV_STATIC_ASSERT(sizeof(WMIREGGUIDW) == 32, "WMIREGGUIDW is 32 bytes on x64");
#else
WMIEV_STATIC_ASSERT(sizeof(WMIREGGUIDW) == 28, "WMIREGGUIDW is 28 bytes on x86");
#endif
/* wmiev_status is NTSTATUS: values pass through unchanged in both directions. */
WMIEV_STATIC_ASSERT(sizeof(wmiev_status) == sizeof(NTSTATUS), "wmiev_status is an NTSTATUS");
WMIEV_STATIC_ASSERT(WMIEV_STATUS_BUFFER_TOO_SMALL == STATUS_BUFFER_TOO_SMALL, "NTSTATUS values");
WMIEV_STATIC_ASSERT(WMIEV_STATUS_NOT_SUPPORTED == STATUS_NOT_SUPPORTED, "NTSTATUS values");

/* ---- Pool ------------------------------------------------------------------------------ */

void *wmiev__win_alloc(size_t size) {
  if (size == 0) {
    return NULL;
  }
  void *p = ExAllocatePoolWithTag(WMIEV_POOL_TYPE, size, WMIEV_POOL_TAG);
  if (p != NULL) {
    RtlZeroMemory(p, size);
  }
  return p;
}

void wmiev__win_free(void *p) {
  if (p != NULL) {
    ExFreePoolWithTag(p, WMIEV_POOL_TAG);
  }
}

NTSTATUS wmiev__win_string_copy(UNICODE_STRING *s, const uint16_t *units, size_t count) {
  /* The count is checked before it is multiplied: on a 32-bit kernel a huge
   * count would wrap to a small size and be copied truncated. */
  if (count > WMIEV_NAME_MAX_BYTES / sizeof(WCHAR)) {
    return STATUS_NAME_TOO_LONG;
  }
  size_t bytes = count * sizeof(WCHAR);
  PWCH copy = wmiev__win_alloc(bytes != 0 ? bytes : sizeof(WCHAR));
  if (copy == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  if (bytes != 0) {
    RtlCopyMemory(copy, units, bytes);
  }
  s->Buffer = copy;
  s->Length = (USHORT)bytes;
  s->MaximumLength = (USHORT)(bytes != 0 ? bytes : sizeof(WCHAR));
  return STATUS_SUCCESS;
}

static void *pool_alloc(size_t size, void *ctx) {
  (void)ctx;
  return wmiev__win_alloc(size == 0 ? 1 : size);
}

static void pool_free(void *ptr, size_t size, void *ctx) {
  (void)size;
  (void)ctx;
  wmiev__win_free(ptr);
}

static const wmiev_allocator pool_allocator = {pool_alloc, pool_free, NULL};

/* Portable code allocates through this (there is no malloc in a driver):
 * nonpaged pool with the wmiev tag, IRQL <= DISPATCH_LEVEL. */
const wmiev_allocator *wmiev_allocator_default(void) { return &pool_allocator; }

wmiev_status wmiev__win_fail(wmiev_diag *diag, wmiev_status status, const char *routine) {
  return wmiev_diag_set(diag, status, routine, 0, "%s returned %s (0x%08x)", routine,
                        wmiev_status_name(status), (unsigned)status);
}

/* ---- Bus --------------------------------------------------------------------------------- */

wmiev_status wmiev_bus_create(const wmiev_bus_options *options, wmiev_bus **out) {
  if (out != NULL) {
    *out = NULL;
  }
  if (out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev_bus_options opts;
  if (options != NULL) {
    opts = *options;
  } else {
    RtlZeroMemory(&opts, sizeof opts);
  }
  /* No libuv in a driver; the other modes mean nothing here (WMI delivers)
   * and are accepted so that the same creation code builds both ways. */
  if (opts.delivery == WMIEV_DELIVERY_LIBUV) {
    return WMIEV_STATUS_NOT_SUPPORTED;
  }
  wmiev_bus *bus = wmiev__win_alloc(sizeof *bus);
  if (bus == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  bus->registry.bus = bus;
  bus->options = opts;
  bus->deferred_capacity =
      opts.queue_capacity != 0 ? opts.queue_capacity : WMIEV_WIN_DEFAULT_DEFERRED;
  KeInitializeSpinLock(&bus->lock);
  InitializeListHead(&bus->subscriptions);
  InitializeListHead(&bus->handles);
  InitializeListHead(&bus->sources);
  *out = bus;
  return WMIEV_STATUS_SUCCESS;
}

void wmiev_bus_destroy(wmiev_bus *bus) {
  if (bus == NULL) {
    return;
  }
  /* Providers were destroyed first (as with the portable bus), and each
   * waited for its deferred events; what is left are consumer objects and
   * sources. */
  wmiev__win_consumer_close_all(bus);
  wmiev__win_sources_close_all(bus);
  wmiev__win_free(bus);
}

wmiev_registry *wmiev_bus_registry(wmiev_bus *bus) { return bus != NULL ? &bus->registry : NULL; }

int64_t wmiev_bus_now(wmiev_bus *bus) {
  if (bus != NULL && bus->options.clock.now != NULL) {
    return bus->options.clock.now(bus->options.clock.ctx);
  }
  LARGE_INTEGER now;
  KeQuerySystemTime(&now);
  return now.QuadPart;
}

void wmiev_bus_get_stats(wmiev_bus *bus, wmiev_bus_stats *out) {
  if (out == NULL) {
    return;
  }
  RtlZeroMemory(out, sizeof *out);
  if (bus == NULL) {
    return;
  }
  /* WMI does the queueing and fan-out; only what passes through the
   * backend is counted (docs/windows.md). */
  win_counters *c = &bus->counters;
  out->fired = wmiev__win_load(&c->fired);
  out->rejected = wmiev__win_load(&c->rejected);
  out->traced = wmiev__win_load(&c->traced);
  out->dropped = wmiev__win_load(&c->dropped);
  out->delivered = wmiev__win_load(&c->delivered);
  out->callbacks = wmiev__win_load(&c->callbacks);
  out->queued_now = wmiev__win_load(&c->queued_now);
  out->queue_peak = wmiev__win_load(&c->queue_peak);
}

void wmiev_bus_get_guid_stats(wmiev_bus *bus, const GUID *guid, wmiev_bus_stats *out) {
  (void)bus;
  (void)guid;
  /* No per-GUID bookkeeping on Windows: zeros, like a GUID the bus never saw. */
  if (out != NULL) {
    RtlZeroMemory(out, sizeof *out);
  }
}

/* Delivery is WMI's: nothing is ever queued in the backend for consumers. */
size_t wmiev_bus_dispatch(wmiev_bus *bus, size_t max_events) {
  (void)bus;
  (void)max_events;
  return 0;
}

size_t wmiev_bus_dispatch_spin(wmiev_bus *bus, size_t max_events, uint32_t spin_ns) {
  (void)bus;
  (void)max_events;
  (void)spin_ns;
  return 0;
}

size_t wmiev_bus_pending(wmiev_bus *bus) {
  (void)bus;
  return 0;
}

void wmiev_bus_set_wakeup(wmiev_bus *bus, void (*wakeup)(void *ctx), void *ctx) {
  (void)bus;
  (void)wakeup;
  (void)ctx;
}

wmiev_delivery wmiev_bus_delivery(wmiev_bus *bus) {
  return bus != NULL ? bus->options.delivery : WMIEV_DELIVERY_SYNC;
}

bool wmiev_bus_has_wakeup(wmiev_bus *bus) {
  (void)bus;
  return false;
}

/* ---- The registry: WMI's own on Windows ------------------------------------------------- */
/*
 * The in-process registry stands in for the kernel's WMI service; on Windows
 * that service is real and has no such interface. These calls keep their
 * signatures so portable code links, and do nothing: creating a registry or
 * a bare device, sending IRPs and reading registrations is what WMI does.
 */

wmiev_status wmiev_registry_create(const wmiev_registry_options *options, wmiev_registry **out) {
  (void)options;
  if (out != NULL) {
    *out = NULL;
  }
  return WMIEV_STATUS_NOT_SUPPORTED;
}

void wmiev_registry_destroy(wmiev_registry *registry) { (void)registry; }

wmiev_status wmiev_device_create(wmiev_registry *registry, const wmiev_device_options *options,
                                 wmiev_device **out) {
  (void)registry;
  (void)options;
  if (out != NULL) {
    *out = NULL;
  }
  return WMIEV_STATUS_NOT_SUPPORTED;
}

wmiev_status wmiev_device_destroy(wmiev_device *device) {
  (void)device;
  return WMIEV_STATUS_NOT_SUPPORTED;
}

wmiev_device *wmiev_registry_device_by_provider_id(wmiev_registry *registry, uint32_t id) {
  (void)registry;
  (void)id;
  return NULL;
}

wmiev_device *wmiev_registry_device_by_irp_provider_id(wmiev_registry *registry, uintptr_t id) {
  (void)registry;
  (void)id;
  return NULL;
}

wmiev_status wmiev_device_send_wmi_irp(wmiev_device *device, uint8_t minor, void *data_path,
                                       void *buffer, uint32_t buffer_size,
                                       wmiev_io_status *io_status) {
  (void)device;
  (void)minor;
  (void)data_path;
  (void)buffer;
  (void)buffer_size;
  if (io_status != NULL) {
    io_status->Status = WMIEV_STATUS_NOT_SUPPORTED;
    io_status->Information = 0;
  }
  return WMIEV_STATUS_NOT_SUPPORTED;
}

size_t wmiev_registry_blocks(wmiev_registry *registry, const GUID *guid, wmiev_block_info *out,
                             size_t capacity) {
  (void)registry;
  (void)guid;
  (void)out;
  (void)capacity;
  return 0;
}

wmiev_status wmiev_registry_instance_name(wmiev_registry *registry, const GUID *guid,
                                          uint32_t provider_id, uint32_t index, uint16_t *out,
                                          size_t out_units, size_t *units_needed) {
  (void)registry;
  (void)guid;
  (void)provider_id;
  (void)index;
  (void)out;
  (void)out_units;
  if (units_needed != NULL) {
    *units_needed = 0;
  }
  return WMIEV_STATUS_NOT_SUPPORTED;
}

wmiev_status wmiev_registry_find_instance(wmiev_registry *registry, const GUID *guid,
                                          const uint16_t *name, size_t name_units,
                                          uint32_t *provider_id, uint32_t *index) {
  (void)registry;
  (void)guid;
  (void)name;
  (void)name_units;
  (void)provider_id;
  (void)index;
  return WMIEV_STATUS_NOT_SUPPORTED;
}

void wmiev_registry_get_stats(wmiev_registry *registry, wmiev_registry_stats *out) {
  (void)registry;
  if (out != NULL) {
    RtlZeroMemory(out, sizeof *out);
  }
}
