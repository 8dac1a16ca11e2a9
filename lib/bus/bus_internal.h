/*
 * Internal shape of the bus (include/wmiev/bus.h). Files:
 *   bus.c        creation, GUID table, clock, statistics, event memory
 *   queue.c      the bounded byte ring events wait in (queue.h)
 *   fire.c       the fire path: validation, registration checks, stamping, enqueue
 *   deliver.c    delivery to subscribers, event references, wmiev_bus_dispatch
 *   subscribe.c  subscriptions, block handles, ENABLE/DISABLE reference counting
 *
 * Locks, always taken in this order, never held across a callback or an IRP:
 *   control (recursive) serialises enable/disable transitions; IRPs to
 *                       providers are sent while holding it (not `lock`),
 *                       so the fire path never takes it;
 *   dispatch_lock       one dispatcher at a time drains the queue;
 *   lock                the GUID table, subscriber lists, the queue, statistics.
 */
#ifndef WMIEV_BUS_INTERNAL_H
#define WMIEV_BUS_INTERNAL_H

#include <wmiev/bus.h>

#include "core/map.h"
#include "core/registry_internal.h"
#include "platform/platform.h"
#include "queue.h"

/* Everything the bus knows about one GUID. Created on first use, kept until
 * the bus is destroyed (queued events refer to it by slot number). */
typedef struct bus_guid {
  GUID guid;
  uint32_t slot;
  /* Under `lock`: */
  wmiev_subscription *subs_head;
  wmiev_subscription *subs_tail;
  uint32_t sub_count;  /* live (not removed) subscriptions */
  wmiev_bus_stats stats;
  /* Changed under `control` and `lock` both, so the fire path can read
   * them under `lock` alone and never waits for a function-control IRP: */
  uint32_t *enabled;   /* providers enabled (ENABLE_EVENTS sent or being sent, not failed) */
  size_t enabled_count, enabled_capacity;
  uint32_t *collecting; /* the same for ENABLE_COLLECTION */
  size_t collecting_count, collecting_capacity;
  /* Under `control`: */
  uint32_t open_count; /* block handles */
  bool events_on;       /* sub_count went above 0 and the enables went out */
} bus_guid;

struct wmiev_subscription {
  wmiev_bus *bus;
  bus_guid *g;
  wmiev_event_cb callback;
  void *payload;
  wmiev_subscription *prev, *next;
  /* Under `lock`: */
  uint32_t active;       /* callbacks in progress (pins) */
  bool removed;          /* unsubscribed: never called again, freed at active == 0 */
  bool free_on_release;  /* unsubscribed from inside its own callback */
  uint64_t seq;          /* order of creation: a delivery skips subscriptions newer than it */
  uint64_t lost_pending; /* dropped since its last delivery */
  uint64_t delivered;
  uint64_t lost_total;
};

struct wmiev_block_handle {
  wmiev_bus *bus;
  bus_guid *g;
  wmiev_block_handle *prev, *next; /* the bus's open handles (under `control`) */
};

struct wmiev_bus {
  wmiev_allocator allocator;
  wmiev_bus_options options;
  wmiev_registry *registry;
  wmiev__mutex control;
  wmiev__mutex dispatch_lock;
  wmiev__mutex lock;
  wmiev__cond released; /* a subscription's active count dropped */
  wmiev__map guids;     /* GUID -> bus_guid */
  bus_guid **slots;     /* slot number -> bus_guid */
  size_t slot_count, slot_capacity;
  wmiev__queue queue;
  wmiev_block_handle *handles; /* open block handles (under `control`) */
  bool wake_pending;
  void (*wakeup)(void *ctx);
  void *wakeup_ctx;
  uint32_t wakeups_running; /* hook calls in progress: set_wakeup waits for them */
  wmiev_bus_stats stats;
  uint64_t sub_seq; /* the newest subscription's seq (under `lock`) */
  /* Dispatcher scratch (under dispatch_lock): a WNODE rebuilt from a queued
   * record, and the UTF-8 name of the event being delivered. */
  uint8_t *scratch;
  size_t scratch_size;
};

/* ---- bus.c ------------------------------------------------------------------ */
void *wmiev__bus_alloc(wmiev_bus *bus, size_t size);
void wmiev__bus_free(wmiev_bus *bus, void *ptr, size_t size);
/* Bytes asked of wmiev_bus_alloc_event() for a WNODE (at least a header is
 * readable even when fewer were asked for). */
size_t wmiev__bus_event_size(const void *wnode);
/* The GUID's entry, created if needed (lock held). NULL only when out of memory. */
bus_guid *wmiev__bus_guid(wmiev_bus *bus, const GUID *guid);
/* The GUID's entry if the bus has one (lock held). */
bus_guid *wmiev__bus_guid_find(wmiev_bus *bus, const GUID *guid);
/* Counts a warning and calls the hook (lock NOT held). */
void wmiev__bus_warn(wmiev_bus *bus, bus_guid *g, wmiev_warning warning, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Every counter of `stats` that ends a fired event, bumped in both the bus
 * and the GUID (lock held). */
#define WMIEV__COUNT(bus, g, field)                                                                \
  do {                                                                                             \
    (bus)->stats.field++;                                                                          \
    if ((g) != NULL) {                                                                             \
      (g)->stats.field++;                                                                          \
    }                                                                                              \
  } while (0)

/* ---- deliver.c ---------------------------------------------------------------- */

/* What delivery needs besides the WNODE. */
typedef struct wmiev__delivery {
  bus_guid *g;
  bool from_reference;
} wmiev__delivery;

/* True if this thread is inside `sub`'s callback (unsubscribe then does not wait). */
bool wmiev__in_callback_of(const wmiev_subscription *sub);
/* Unlinks a subscription from its GUID's list and frees it (lock held). */
void wmiev__bus_unlink_subscription(wmiev_bus *bus, wmiev_subscription *sub);

/* Delivers a validated event WNODE to the GUID's subscribers (no lock held).
 * Counts delivered / discarded. `wnode` must be 8-aligned. */
void wmiev__deliver(wmiev_bus *bus, const uint8_t *wnode, const wmiev_wnode_view *view,
                    const wmiev__delivery *how);

/* Resolves an event reference by querying the provider, then delivers the
 * answer (no lock held). Counts reference_failed on failure. */
void wmiev__deliver_reference(wmiev_bus *bus, const uint8_t *wnode, const wmiev_wnode_view *view,
                              bus_guid *g);

/* ---- subscribe.c ------------------------------------------------------------------ */

/* The registry's observer: late registrations get their ENABLE. */
void wmiev__bus_on_registry_event(const wmiev_registry_event *event, void *ctx);
/* Releases every subscription and handle left at destroy. */
void wmiev__bus_release_all(wmiev_bus *bus);
/* True if the provider is enabled for the GUID's events (takes `lock`, not `control`). */
bool wmiev__bus_provider_enabled(wmiev_bus *bus, bus_guid *g, uint32_t provider_id);
/* The same with `lock` already held (the fire path reads it while counting the call). */
static inline bool wmiev__bus_provider_enabled_locked(const bus_guid *g, uint32_t provider_id) {
  for (size_t i = 0; i < g->enabled_count; i++) {
    if (g->enabled[i] == provider_id) {
      return true;
    }
  }
  return false;
}

/* ---- fire.c --------------------------------------------------------------------- */

/* Builds the WNODE WmiFireEvent fires (static-name single instance, data at 64). */
void wmiev__build_fire_wnode(uint8_t *out, const GUID *guid, uint32_t provider_id,
                             uint32_t instance_index, bool pdo_names, int64_t timestamp,
                             const void *data, uint32_t size);
/* Its view, exactly as wmiev_wnode_validate() would return it (no validation). */
void wmiev__fire_wnode_view(const uint8_t *wnode, const GUID *guid, uint32_t provider_id,
                            uint32_t instance_index, bool pdo_names, int64_t timestamp,
                            uint32_t size, wmiev_wnode_view *view);

#endif /* WMIEV_BUS_INTERNAL_H */
