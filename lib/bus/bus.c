/* The bus object: creation, the GUID table, clock, statistics, event memory. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus_internal.h"

/* ---- Memory ------------------------------------------------------------------ */

void *wmiev__bus_alloc(wmiev_bus *bus, size_t size) {
  return bus->allocator.alloc(size, bus->allocator.ctx);
}

void wmiev__bus_free(wmiev_bus *bus, void *ptr, size_t size) {
  if (ptr != NULL) {
    bus->allocator.free(ptr, size, bus->allocator.ctx);
  }
}

/* Event memory carries its size in front, so wmiev_bus_write_event() knows
 * how many bytes it may read (whatever BufferSize claims) and how many to
 * give back to the allocator. 16 bytes keep the WNODE 16-aligned: the size
 * asked for at 0, the size allocated at 8. At least a whole WNODE_HEADER is
 * allocated (zeroed), so that write_event may read Flags before it looks at
 * this prefix: a TRACED_GUID WNODE may live on the caller's stack, and the
 * bytes in front of it are not ours to read. */
#define EVENT_PREFIX 16u

void *wmiev_bus_alloc_event(wmiev_bus *bus, size_t size) {
  if (bus == NULL || size > SIZE_MAX - EVENT_PREFIX - sizeof(WNODE_HEADER)) {
    return NULL;
  }
  size_t body = size < sizeof(WNODE_HEADER) ? sizeof(WNODE_HEADER) : size;
  uint8_t *block = wmiev__bus_alloc(bus, body + EVENT_PREFIX);
  if (block == NULL) {
    return NULL;
  }
  memset(block, 0, body + EVENT_PREFIX);
  uint64_t stored[2] = {size, body};
  memcpy(block, stored, sizeof stored);
  return block + EVENT_PREFIX;
}

size_t wmiev__bus_event_size(const void *wnode) {
  uint64_t stored;
  memcpy(&stored, (const uint8_t *)wnode - EVENT_PREFIX, sizeof stored);
  return (size_t)stored;
}

void wmiev_bus_free_event(wmiev_bus *bus, void *wnode) {
  if (bus == NULL || wnode == NULL) {
    return;
  }
  uint64_t body;
  memcpy(&body, (const uint8_t *)wnode - EVENT_PREFIX + sizeof body, sizeof body);
  wmiev__bus_free(bus, (uint8_t *)wnode - EVENT_PREFIX, (size_t)body + EVENT_PREFIX);
}

/* ---- Clock ------------------------------------------------------------------- */

/* Windows stamps events with KeQuerySystemTime, which reads a time the clock
 * interrupt updates once per tick: a tick-granular clock is the faithful one
 * (decisions D18), and the tick clock reads it with one load (D20). The fire
 * path calls the inline wmiev__bus_now() (bus_internal.h). */
int64_t wmiev_bus_now(wmiev_bus *bus) {
  return bus != NULL ? wmiev__bus_now(bus) : wmiev__tick_clock_now();
}

/* The registry's clock (wmilib's reply TimeStamp): the bus's. */
static int64_t registry_clock(void *bus) { return wmiev__bus_now(bus); }

/* Whether the bus reads the tick clock, and so holds a reference to it. */
static bool uses_tick_clock(const wmiev_bus_options *options) {
  return options->clock.now == NULL && !options->precise_clock;
}

/* ---- GUID table ---------------------------------------------------------------- */

bus_guid *wmiev__bus_guid_find(wmiev_bus *bus, const GUID *guid) {
  return wmiev__map_get(&bus->guids, wmiev__key_from_guid(guid));
}

/* The slot table (slot number -> GUID entry) grows by doubling; the tables
 * it outgrows are kept until destroy, because a dispatcher reads the one it
 * saw under `lock` after releasing it (deliver.c). At most twice the last
 * table's size in all. */
struct wmiev__slot_table {
  struct wmiev__slot_table *older;
  size_t capacity;
  bus_guid *slots[];
};

static size_t slot_table_bytes(size_t capacity) {
  return sizeof(struct wmiev__slot_table) + capacity * sizeof(bus_guid *);
}

bus_guid *wmiev__bus_guid(wmiev_bus *bus, const GUID *guid) {
  bus_guid *g = wmiev__bus_guid_find(bus, guid);
  if (g != NULL) {
    return g;
  }
  if (bus->slot_count == bus->slot_capacity) {
    size_t capacity = bus->slot_capacity == 0 ? 16 : bus->slot_capacity * 2;
    struct wmiev__slot_table *table = wmiev__bus_alloc(bus, slot_table_bytes(capacity));
    if (table == NULL) {
      return NULL;
    }
    table->older = bus->slot_tables;
    table->capacity = capacity;
    if (bus->slot_count != 0) {
      memcpy(table->slots, bus->slots, bus->slot_count * sizeof *bus->slots);
    }
    bus->slot_tables = table;
    bus->slots = table->slots;
    atomic_store_explicit(&bus->slots_live, table->slots, memory_order_release);
    bus->slot_capacity = capacity;
  }
  if (!WMIEV_SUCCESS(wmiev__map_reserve(&bus->guids, 1))) {
    return NULL;
  }
  g = wmiev__bus_alloc(bus, sizeof *g);
  if (g == NULL) {
    return NULL;
  }
  memset(g, 0, sizeof *g);
  g->guid = *guid;
  g->slot = (uint32_t)bus->slot_count;
  bus->slots[bus->slot_count++] = g;
  (void)wmiev__map_put(&bus->guids, wmiev__key_from_guid(guid), g); /* reserved */
  return g;
}

static void free_guid(wmiev_bus *bus, bus_guid *g) {
  wmiev__snapshot_free_all(bus, g);
  wmiev__bus_free(bus, g->enabled, g->enabled_capacity * sizeof *g->enabled);
  wmiev__bus_free(bus, g->collecting, g->collecting_capacity * sizeof *g->collecting);
  wmiev__bus_free(bus, g, sizeof *g);
}

/* ---- Warnings ------------------------------------------------------------------ */

void wmiev__bus_warn(wmiev_bus *bus, bus_guid *g, wmiev_warning warning, const char *fmt, ...) {
  wmiev__mutex_lock(&bus->lock);
  bus->stats.warnings[warning]++;
  if (g != NULL) {
    g->stats.warnings[warning]++;
  }
  wmiev__mutex_unlock(&bus->lock);
  if (bus->options.on_warning != NULL) {
    char message[256];
    va_list args;
    va_start(args, fmt);
    (void)vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    bus->options.on_warning(warning, message, bus->options.warning_ctx);
  }
}

/* ---- Create / destroy ---------------------------------------------------------------- */

wmiev_status wmiev_bus_create(const wmiev_bus_options *options, wmiev_bus **out) {
  if (out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  *out = NULL;
  wmiev_bus_options opts;
  memset(&opts, 0, sizeof opts);
  if (options != NULL) {
    opts = *options;
  }
  if ((unsigned)opts.delivery > WMIEV_DELIVERY_LIBUV) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  const wmiev_allocator *allocator =
      opts.allocator != NULL ? opts.allocator : wmiev_allocator_default();
  if (allocator->alloc == NULL || allocator->free == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (opts.max_event_size == 0) {
    opts.max_event_size = 1024;
  }
  if (opts.max_event_size < sizeof(WNODE_SINGLE_INSTANCE) || opts.max_event_size > (1u << 26)) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (opts.queue_capacity == 0) {
    opts.queue_capacity = 4096;
  }
  size_t min_bytes = 2 * wmiev__queue_record_size(opts.max_event_size);
  uint64_t bytes = opts.queue_bytes != 0 ? opts.queue_bytes : (uint64_t)opts.queue_capacity * 160u;
  if (bytes < min_bytes) {
    bytes = min_bytes;
  }
  bytes = (bytes + 7u) & ~(uint64_t)7u;
  /* Ring offsets are 32-bit (queue.h). */
  if (bytes > WMIEV__QUEUE_MAX_BYTES || bytes > SIZE_MAX / 2) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  /* Sync buses queue nothing: no ring (and a queue that refuses everything). */
  size_t ring_bytes = opts.delivery == WMIEV_DELIVERY_SYNC ? 0 : (size_t)bytes;

  wmiev_bus *bus = allocator->alloc(sizeof *bus, allocator->ctx);
  if (bus == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  memset(bus, 0, sizeof *bus);
  bus->allocator = *allocator;
  opts.allocator = &bus->allocator;
  bus->options = opts;
  wmiev__map_init(&bus->guids, &bus->allocator);

  uint8_t *ring = ring_bytes != 0 ? wmiev__bus_alloc(bus, ring_bytes) : NULL;
  if (ring_bytes != 0 && ring == NULL) {
    allocator->free(bus, sizeof *bus, allocator->ctx);
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  wmiev__queue_init(&bus->queue, ring, (uint32_t)ring_bytes, opts.queue_capacity);

  wmiev_registry_options ropts;
  memset(&ropts, 0, sizeof ropts);
  ropts.allocator = &bus->allocator;
  ropts.irp_timeout_ms = opts.irp_timeout_ms;
  ropts.observer = wmiev__bus_on_registry_event;
  ropts.observer_ctx = bus;
  ropts.on_violation = opts.on_violation;
  ropts.violation_ctx = opts.violation_ctx;
  ropts.resolve_pdo = opts.resolve_pdo;
  ropts.resolve_pdo_ctx = opts.resolve_pdo_ctx;
  ropts.now = registry_clock;
  ropts.now_ctx = bus;
  wmiev_status status = wmiev_registry_create(&ropts, &bus->registry);
  if (!WMIEV_SUCCESS(status)) {
    wmiev__bus_free(bus, ring, ring_bytes);
    allocator->free(bus, sizeof *bus, allocator->ctx);
    return status;
  }
  /* The five synchronisation objects, all or none. */
  int made = 0;
  bool ok = wmiev__mutex_init_recursive(&bus->control) && ++made &&
            wmiev__mutex_init(&bus->dispatch_lock) && ++made && wmiev__mutex_init(&bus->lock) &&
            ++made && wmiev__mutex_init(&bus->wakeup_setter) && ++made &&
            wmiev__cond_init(&bus->released) && ++made;
  if (!ok) {
    if (made >= 4) {
      wmiev__mutex_destroy(&bus->wakeup_setter);
    }
    if (made >= 3) {
      wmiev__mutex_destroy(&bus->lock);
    }
    if (made >= 2) {
      wmiev__mutex_destroy(&bus->dispatch_lock);
    }
    if (made >= 1) {
      wmiev__mutex_destroy(&bus->control);
    }
    wmiev_registry_destroy(bus->registry);
    wmiev__map_free(&bus->guids);
    wmiev__bus_free(bus, ring, ring_bytes);
    allocator->free(bus, sizeof *bus, allocator->ctx);
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  /* Starts nothing yet: the ticker starts at the first read (tick_clock.h). */
  if (uses_tick_clock(&bus->options)) {
    wmiev__tick_clock_acquire();
  }
  *out = bus;
  return WMIEV_STATUS_SUCCESS;
}

void wmiev_bus_destroy(wmiev_bus *bus) {
  if (bus == NULL) {
    return;
  }
  wmiev__bus_release_all(bus);
  /* What is still queued will never be delivered: count it. */
  if (bus->queue.ring != NULL) {
    const wmiev__queued *record;
    uint32_t size_kind;
    wmiev__mutex_lock(&bus->lock);
    while ((record = wmiev__queue_next(&bus->queue, &size_kind)) != NULL) {
      bus_guid *g = record->guid_slot < bus->slot_count ? bus->slots[record->guid_slot] : NULL;
      WMIEV__COUNT(bus, g, discarded);
    }
    wmiev__mutex_unlock(&bus->lock);
    wmiev__queue_release(&bus->queue);
  }
  wmiev_registry_destroy(bus->registry);
  wmiev__sources_free_all(bus);
  for (size_t i = 0; i < bus->slot_count; i++) {
    free_guid(bus, bus->slots[i]);
  }
  while (bus->slot_tables != NULL) {
    struct wmiev__slot_table *table = bus->slot_tables;
    bus->slot_tables = table->older;
    wmiev__bus_free(bus, table, slot_table_bytes(table->capacity));
  }
  wmiev__map_free(&bus->guids);
  wmiev__bus_free(bus, bus->queue.ring, bus->queue.bytes);
  wmiev__cond_destroy(&bus->released);
  wmiev__mutex_destroy(&bus->wakeup_setter);
  wmiev__mutex_destroy(&bus->lock);
  wmiev__mutex_destroy(&bus->dispatch_lock);
  wmiev__mutex_destroy(&bus->control);
  bool ticks = uses_tick_clock(&bus->options);
  wmiev_allocator allocator = bus->allocator;
  allocator.free(bus, sizeof *bus, allocator.ctx);
  if (ticks) {
    wmiev__tick_clock_release(); /* the last one stops and joins the ticker */
  }
}

wmiev_registry *wmiev_bus_registry(wmiev_bus *bus) { return bus != NULL ? bus->registry : NULL; }

void wmiev_bus_set_wakeup(wmiev_bus *bus, void (*wakeup)(void *ctx), void *ctx) {
  if (bus == NULL) {
    return;
  }
  wmiev__mutex_lock(&bus->wakeup_setter);
  /* Callers read the hook without a lock (wmiev__bus_call_wakeup): first none, then,
   * once no call of the old one is running (its context must be free to go
   * when this returns), the new context and then the new hook. A producer
   * counts itself in wakeups_running before it reads the hook, so one that
   * read the old hook is seen here. Hook calls are short and this is rare:
   * a yield loop, not a condition variable every producer would signal. */
  atomic_store(&bus->wakeup, (wmiev__wakeup_fn)NULL);
  while (atomic_load(&bus->wakeups_running) != 0) {
    wmiev__thread_yield();
  }
  atomic_store(&bus->wakeup_ctx, ctx);
  atomic_store(&bus->wakeup, wakeup);
  /* A new hook starts from a clean slate: if events are already waiting it
   * is called once now, or they would wait for the next fire (a producer
   * that found the consumer idle but read no hook yet counts as waiting
   * here); else the next event calls it. */
  bool call_now = wmiev__queue_rearm(&bus->queue) && wakeup != NULL;
  wmiev__mutex_unlock(&bus->wakeup_setter);
  if (call_now) {
    /* Whatever hook is set by now: a setter that replaced this one in the
     * meantime has made the same check for its own. */
    wmiev__bus_call_wakeup(bus);
  }
}

void wmiev__bus_call_wakeup(wmiev_bus *bus) {
  /* Counted in before the hook is read, so that wmiev_bus_set_wakeup()
   * waits for this call if it replaces the hook now. */
  atomic_fetch_add(&bus->wakeups_running, 1);
  wmiev__wakeup_fn wakeup = atomic_load(&bus->wakeup);
  if (wakeup != NULL) {
    wakeup(atomic_load_explicit(&bus->wakeup_ctx, memory_order_relaxed));
  }
  atomic_fetch_sub(&bus->wakeups_running, 1);
}

/* ---- Statistics ------------------------------------------------------------------------- */

void wmiev__bus_fold_stats(const bus_guid *g, wmiev_bus_stats *out) {
  uint64_t fired = g->closed_fired;
  uint64_t not_enabled = g->closed_not_enabled;
  for (const wmiev_source *s = g->sources; s != NULL; s = s->next) {
    uint64_t quiet = atomic_load_explicit(&s->not_enabled, memory_order_relaxed);
    fired += wmiev__counter_read(&s->fired) + quiet;
    not_enabled += quiet;
  }
  out->fired += fired;
  out->not_enabled += not_enabled;
  out->warnings[WMIEV_WARN_NOT_ENABLED] += not_enabled;
  out->delivered += wmiev__counter_read(&g->hot.delivered);
  out->discarded += wmiev__counter_read(&g->hot.discarded);
  /* Callbacks: what each subscription counted, alive or already freed. */
  uint64_t callbacks = g->freed_callbacks;
  for (const wmiev_subscription *s = g->subs_head; s != NULL; s = s->next) {
    callbacks += wmiev__counter_read(&s->delivered);
  }
  for (const wmiev_subscription *s = g->retired_subs; s != NULL; s = s->retired_next) {
    callbacks += wmiev__counter_read(&s->delivered);
  }
  out->callbacks += callbacks;
}

void wmiev_bus_get_stats(wmiev_bus *bus, wmiev_bus_stats *out) {
  if (bus == NULL || out == NULL) {
    return;
  }
  wmiev__mutex_lock(&bus->lock);
  *out = bus->stats;
  for (size_t i = 0; i < bus->slot_count; i++) {
    wmiev__bus_fold_stats(bus->slots[i], out);
  }
  out->queued_now = wmiev__queue_count(&bus->queue);
  out->queue_peak = wmiev__queue_peak(&bus->queue);
  wmiev__mutex_unlock(&bus->lock);
}

void wmiev_bus_get_guid_stats(wmiev_bus *bus, const GUID *guid, wmiev_bus_stats *out) {
  if (bus == NULL || guid == NULL || out == NULL) {
    return;
  }
  memset(out, 0, sizeof *out);
  wmiev__mutex_lock(&bus->lock);
  bus_guid *g = wmiev__bus_guid_find(bus, guid);
  if (g != NULL) {
    *out = g->stats;
    wmiev__bus_fold_stats(g, out);
  }
  wmiev__mutex_unlock(&bus->lock);
}

size_t wmiev_bus_pending(wmiev_bus *bus) {
  if (bus == NULL) {
    return 0;
  }
  return (size_t)wmiev__queue_count(&bus->queue);
}
