/*
 * Event sources (include/wmiev/source.h; decisions D17) and the fast fire
 * path they make possible.
 *
 * wmiev_bus_fire_event() has to find the provider's block and ask whether
 * the provider is enabled and the GUID listened to: two lock acquisitions
 * and two table lookups per event. A source keeps the answers: `shape`
 * packs whether the block is registered with static (or PDO) names, how
 * many static instances it has, whether the bus has enabled the provider
 * for it and whether the GUID has a subscriber. The bus restamps the shapes
 * of a GUID's sources whenever one of those changes (registry observer,
 * ENABLE/DISABLE bookkeeping, first subscriber and last unsubscribe), so the
 * fast path is a load, a few compares, the clock and the delivery — no lock.
 *
 * The fast path only takes the case with nothing to report: a registered
 * static- or PDO-named block, an enabled provider, an instance index in
 * range, an event within max_event_size. Everything else (rejections,
 * warnings other than NOT_ENABLED) goes through the general path in fire.c,
 * which produces the same statuses, diagnostics and counters as before.
 *
 * wmiev_bus_fire_event() stays on the general path: keeping a source per
 * provider and GUID for it would cost an allocation the caller never asked
 * for, and one more way to fail (decisions D17).
 *
 * Shape writers hold `lock` and go through restamp(). The registry part is
 * read from the registry outside `lock` (the registry has its own) and
 * stored under it; a source being created concurrently notices through
 * `shape_gen` that a store happened meanwhile and reads again.
 */
#include <string.h>

#include "bus_internal.h"
#include "event_view.h"

/* ---- Shapes --------------------------------------------------------------------------------- */

#define SHAPE_ENABLED (UINT64_C(1) << 62)  /* the bus enabled the provider for the GUID */
#define SHAPE_LISTENED (UINT64_C(1) << 61) /* the GUID has a subscriber */
#define SHAPE_STATIC (UINT64_C(1) << 60)   /* registered with static (or PDO) names */
#define SHAPE_NAMES_SHIFT 32
#define SHAPE_NAMES_MASK (UINT64_C(3) << SHAPE_NAMES_SHIFT)
#define SHAPE_COUNT_MASK UINT64_C(0xffffffff)

/* The registry's part of a shape (0: not registered; a registered block with
 * dynamic names has no STATIC bit, so its events take the general path,
 * which warns). Takes the registry lock. */
static uint64_t registry_shape(wmiev_bus *bus, uint32_t provider_id, const GUID *guid) {
  wmiev_block_info block;
  bool device_found = false;
  if (!wmiev__registry_find_block(bus->registry, provider_id, guid, &block, &device_found)) {
    return 0;
  }
  return (block.names != WMIEV_NAMES_DYNAMIC ? SHAPE_STATIC : 0) |
         ((uint64_t)((unsigned)block.names & 3u) << SHAPE_NAMES_SHIFT) |
         (uint64_t)block.instance_count;
}

/* A source's shape from its registry part and the GUID's state (lock held):
 * every writer of a shape goes through here. */
static void restamp(const bus_guid *g, wmiev_source *s) {
  uint64_t shape = s->reg;
  if (wmiev__bus_provider_enabled_locked(g, s->provider_id)) {
    shape |= SHAPE_ENABLED;
  }
  if (atomic_load_explicit(&g->sub_count, memory_order_relaxed) != 0) {
    shape |= SHAPE_LISTENED;
  }
  atomic_store_explicit(&s->shape, shape, memory_order_release);
}

/* A new registry part for the GUID's sources of `provider_id` (lock held). */
static void store_registry_part(wmiev_bus *bus, bus_guid *g, uint32_t provider_id, uint64_t reg) {
  for (wmiev_source *s = g->sources; s != NULL; s = s->next) {
    if (s->provider_id == provider_id) {
      s->reg = reg;
      restamp(g, s);
    }
  }
  bus->shape_gen++;
}

void wmiev__sources_refresh(wmiev_bus *bus, bus_guid *g, uint32_t provider_id) {
  uint64_t reg = registry_shape(bus, provider_id, &g->guid);
  wmiev__mutex_lock(&bus->lock);
  store_registry_part(bus, g, provider_id, reg);
  wmiev__mutex_unlock(&bus->lock);
}

void wmiev__sources_update_enabled(bus_guid *g, uint32_t provider_id) {
  for (wmiev_source *s = g->sources; s != NULL; s = s->next) {
    if (s->provider_id == provider_id) {
      restamp(g, s);
    }
  }
}

void wmiev__sources_update_listened(bus_guid *g) {
  for (wmiev_source *s = g->sources; s != NULL; s = s->next) {
    restamp(g, s);
  }
}

/* ---- Creation ------------------------------------------------------------------------------ */

static void unlink_source(bus_guid *g, wmiev_source *s) { WMIEV__LIST_UNLINK(g->sources, s); }

/* Creates a source and links it into its GUID (takes `lock` and the
 * registry lock, never `control`, which a function-control IRP in progress
 * holds). */
static wmiev_status create_source(wmiev_bus *bus, uint32_t provider_id, const GUID *guid,
                                  wmiev_source **out) {
  wmiev_source *s = wmiev__bus_alloc(bus, sizeof *s);
  if (s == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  memset(s, 0, sizeof *s);
  s->bus = bus;
  s->provider_id = provider_id;
  s->max_data = bus->options.max_event_size - (uint32_t)sizeof(WNODE_SINGLE_INSTANCE);
  wmiev__mutex_lock(&bus->lock);
  for (;;) {
    bus_guid *g = wmiev__bus_guid(bus, guid);
    if (g == NULL) {
      break;
    }
    uint64_t gen = bus->shape_gen;
    wmiev__mutex_unlock(&bus->lock);
    uint64_t reg = registry_shape(bus, provider_id, guid);
    wmiev__mutex_lock(&bus->lock);
    if (gen != bus->shape_gen) {
      continue; /* a shape changed meanwhile: the registry may have too */
    }
    s->g = g;
    WMIEV__LIST_PUSH_FRONT(g->sources, s);
    s->reg = reg;
    restamp(g, s);
    wmiev__mutex_unlock(&bus->lock);
    *out = s;
    return WMIEV_STATUS_SUCCESS;
  }
  wmiev__mutex_unlock(&bus->lock);
  wmiev__bus_free(bus, s, sizeof *s);
  return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
}

wmiev_status wmiev_source_open(wmiev_bus *bus, wmiev_device *device, const GUID *guid,
                               wmiev_source **out) {
  if (out != NULL) {
    *out = NULL;
  }
  if (bus == NULL || device == NULL || guid == NULL || out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  return create_source(bus, wmiev_device_provider_id(device), guid, out);
}

void wmiev_source_close(wmiev_source *s) {
  if (s == NULL) {
    return;
  }
  wmiev_bus *bus = s->bus;
  wmiev__mutex_lock(&bus->lock);
  unlink_source(s->g, s);
  /* Its counts stay in the statistics. */
  s->g->closed_fired +=
      wmiev__counter_read(&s->fired) + atomic_load_explicit(&s->not_enabled, memory_order_relaxed);
  s->g->closed_not_enabled += atomic_load_explicit(&s->not_enabled, memory_order_relaxed);
  wmiev__mutex_unlock(&bus->lock);
  wmiev__bus_free(bus, s, sizeof *s);
}

void wmiev__sources_free_all(wmiev_bus *bus) {
  for (size_t i = 0; i < bus->slot_count; i++) {
    bus_guid *g = bus->slots[i];
    while (g->sources != NULL) {
      wmiev_source *s = g->sources;
      unlink_source(g, s);
      wmiev__bus_free(bus, s, sizeof *s);
    }
  }
}

bool wmiev_source_enabled(const wmiev_source *s) {
  return s != NULL && (atomic_load_explicit(&s->shape, memory_order_relaxed) & SHAPE_LISTENED) != 0;
}

/* ---- Firing -------------------------------------------------------------------------------- */

/* The two ways on, kept out of line with at most six arguments so that
 * wmiev_source_fire() reaches them by a tail call and its no-subscriber path
 * saves no registers (perf: 0.3 ns of 3). */
#if defined(__GNUC__) || defined(__clang__)
#define OUT_OF_LINE __attribute__((noinline))
#else
#define OUT_OF_LINE
#endif

static OUT_OF_LINE wmiev_status fire_listened(wmiev_source *s, uint64_t shape,
                                              uint32_t instance_index, const void *data,
                                              uint32_t size, wmiev_diag *diag) {
  wmiev__counter_bump(&s->fired, wmiev__thread_state_get());
  bool pdo = ((shape & SHAPE_NAMES_MASK) >> SHAPE_NAMES_SHIFT) == WMIEV_NAMES_PDO;
  return wmiev__fire_checked(s->bus, s->g, s->provider_id, instance_index, pdo, data, size, diag);
}

static OUT_OF_LINE wmiev_status fire_general(wmiev_source *s, uint32_t instance_index,
                                             const void *data, uint32_t size, wmiev_diag *diag) {
  return wmiev__fire_event_general(s->bus, s->provider_id, &s->g->guid, instance_index, data, size,
                                   diag);
}

wmiev_status wmiev_source_fire(wmiev_source *s, uint32_t instance_index, const void *data,
                               uint32_t size, wmiev_diag *diag) {
  if (WMIEV__UNLIKELY(s == NULL || (data == NULL && size != 0))) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "arguments", 0, "%s",
                          "NULL source, or NULL data with a size");
  }
  uint64_t shape = atomic_load_explicit(&s->shape, memory_order_acquire);
  /* Only the case with nothing to report is taken here; a rejection or a
   * warning goes to the general path, which says which. One load decides
   * (perf: the no-subscriber case is a few instructions). */
  if (WMIEV__LIKELY((shape & SHAPE_STATIC) != 0 && instance_index < (shape & SHAPE_COUNT_MASK) &&
                    size <= s->max_data)) {
    if ((shape & SHAPE_LISTENED) == 0) {
      wmiev_bus *bus = s->bus;
      /* Nobody listens: counted (fired, not_enabled and its warning, all
       * three from this one counter) and done. */
      atomic_fetch_add_explicit(&s->not_enabled, 1, memory_order_relaxed);
      if (bus->options.on_warning != NULL) {
        wmiev__warn_not_enabled_hook(bus);
      }
      return WMIEV_STATUS_SUCCESS;
    }
    if ((shape & SHAPE_ENABLED) != 0) {
      return fire_listened(s, shape, instance_index, data, size, diag);
    }
  }
  return fire_general(s, instance_index, data, size, diag);
}
