/*
 * Internal shape of the bus (include/wmiev/bus.h). Files:
 *   bus.c        creation, GUID table, clock, statistics, event memory
 *   bus_info.c   read-only facts for lib/uv: the delivery mode, whether a wakeup hook is set
 *   names.c      the names of warnings and rejection reasons (bus.h), for logs
 *   event_view.c from a validated WNODE to the wmiev_event a subscriber gets (event_view.h)
 *   queue.c      the bounded byte ring events wait in (queue.h)
 *   fire.c       the fire path: validation, registration checks, stamping, enqueue
 *   deliver.c    delivery to subscribers, event references, wmiev_bus_dispatch
 *   subscribe.c  subscriptions, block handles, ENABLE/DISABLE reference counting
 *   snapshot.c   the published subscriber lists deliveries read without a lock
 *   source.c     event sources (source.h): the cached registration, the fast fire path
 *   thread_state.c  per-thread delivery records: epochs and pins without atomics (D22)
 *   counter.h    counters with an owning thread that bumps them without a `lock` prefix
 *
 * Locks, always taken in this order:
 *   control (recursive) serialises enable/disable transitions; IRPs to
 *                       providers are sent while holding it (not `lock`),
 *                       so the fire path never takes it; taken through
 *                       wmiev__control_lock() so a thread knows it holds it;
 *   dispatch_lock       one dispatcher at a time drains the queue; held
 *                       while the dispatcher's callbacks run, so code that
 *                       holds `control` only tries it (deliver.c);
 *   lock                the GUID table, subscriber lists, statistics;
 *                       never held across a callback or an IRP;
 *   wakeup_setter       serialises wmiev_bus_set_wakeup() (taken alone).
 *
 * The queue takes no lock (queue.h, decisions D23): producers reserve and
 * commit records with atomics, the dispatcher (under dispatch_lock) reads
 * them and gives their bytes back.
 *
 * Lock-free parts (docs/threading.md, "The fast path"): deliveries read a
 * GUID's published subscriber snapshot under the thread's record (or, as a
 * fallback, a reader count) instead of `lock`; each callback runs with its
 * subscription pinned in the record (or `active`); the
 * fast fire path (source.c) reads a source's cached registration `shape`
 * and counts into owner-counted counters (counter.h). Those counters are added to the locked
 * statistics when they are read (wmiev__bus_fold_stats).
 */
#ifndef WMIEV_BUS_INTERNAL_H
#define WMIEV_BUS_INTERNAL_H

#include <stdatomic.h>

#include <wmiev/bus.h>
#include <wmiev/source.h>

#include "core/list.h"
#include "core/map.h"
#include "core/registry_internal.h"
#include "counter.h"
#include "platform/platform.h"
#include "platform/tick_clock.h"
#include "queue.h"
#include "thread_state.h"

/* A GUID's live subscriptions in subscription order, immutable once
 * published: deliveries walk it without a lock (snapshot.c). */
typedef struct wmiev__snapshot {
  struct wmiev__snapshot *retired_next; /* on the GUID's retired list */
  uint64_t retired_epoch;               /* when it was retired (snapshot.c) */
  uint32_t count;
  uint32_t capacity;
  wmiev_subscription *subs[];
} wmiev__snapshot;

/* Counters the lock-free paths bump (counter.h), folded into the
 * statistics when read. Producer-side ones live in each source. */
typedef struct wmiev__hot_counts {
  wmiev__counter delivered;
  wmiev__counter discarded;
} wmiev__hot_counts;

/* Keeps the counters a producer bumps off the lines a consumer bumps. */
#define WMIEV__CACHE_LINE 64

/* Everything the bus knows about one GUID. Created on first use, kept until
 * the bus is destroyed (queued events refer to it by slot number). */
typedef struct bus_guid {
  GUID guid;
  uint32_t slot;
  /* Read without a lock by deliveries: the published snapshot (NULL when
   * empty), and how many deliveries on threads without a delivery record
   * (thread_state.h) may be reading an older one. */
  _Atomic(wmiev__snapshot *) snapshot;
  _Atomic uint32_t readers;
  _Atomic bool has_retired; /* retired lists not empty: the last reader out reclaims */
  /* Live (not removed) subscriptions; changed under `lock`, read anywhere. */
  _Atomic uint32_t sub_count;
  /* Under `lock`: */
  wmiev_subscription *subs_head;
  wmiev_subscription *subs_tail;
  wmiev__snapshot *retired;         /* replaced snapshots not yet freed */
  wmiev_subscription *retired_subs; /* removed subscriptions not yet freed */
  wmiev_source *sources;            /* sources of this GUID (source.c) */
  uint64_t closed_fired;            /* counts of closed sources */
  uint64_t closed_not_enabled;
  uint64_t freed_callbacks; /* `delivered` of freed subscriptions */
  wmiev_bus_stats stats;
  /* Changed under `control` and `lock` both, so the fire path can read
   * them under `lock` alone and never waits for a function-control IRP: */
  uint32_t *enabled; /* providers enabled (ENABLE_EVENTS sent or being sent, not failed) */
  size_t enabled_count, enabled_capacity;
  uint32_t *collecting; /* the same for ENABLE_COLLECTION */
  size_t collecting_count, collecting_capacity;
  /* Under `control`: */
  uint32_t open_count; /* block handles */
  bool events_on;      /* sub_count went above 0 and the enables went out */
  /* Bumped by deliveries on any thread (consumer side). */
  _Alignas(WMIEV__CACHE_LINE) wmiev__hot_counts hot;
} bus_guid;

struct wmiev_subscription {
  wmiev_bus *bus;
  bus_guid *g;
  wmiev_event_cb callback;
  void *payload;
  wmiev_subscription *prev, *next; /* the GUID's list (under `lock`) */
  wmiev_subscription *retired_next;
  uint64_t retired_epoch; /* when it was retired (snapshot.c) */
  bool released;          /* its unsubscribe is over: may be freed (under `lock`) */
  /* Any thread: */
  _Atomic uint32_t active;       /* callbacks in progress on threads without a record (pins) */
  _Atomic bool removed;          /* unsubscribed: never called again */
  _Atomic bool unsub_waiting;    /* its unsubscriber waits for a callback to end */
  _Atomic uint64_t lost_pending; /* dropped since its last delivery */
  wmiev__counter delivered;      /* callbacks run: the GUID's `callbacks` are the sum */
  _Atomic uint64_t lost_total;
};

/* An event source (source.h). `shape` caches what the fast path checks:
 * whether the block is registered with static names and how many instances
 * it has (`reg`, the registry's part), whether the provider is enabled and
 * the GUID listened to; restamped under `lock` whenever one of those
 * changes (source.c). */
struct wmiev_source {
  wmiev_bus *bus;
  bus_guid *g;
  uint32_t provider_id;
  wmiev_source *prev, *next; /* the GUID's sources (under `lock`) */
  _Atomic uint64_t shape;
  uint64_t reg;      /* the registry's part of `shape` (under `lock`) */
  uint32_t max_data; /* largest data a single-instance event may carry */
  /* fired = fired + not_enabled; not_enabled also counts warnings[NOT_ENABLED]. */
  _Alignas(WMIEV__CACHE_LINE) wmiev__counter fired; /* fired past the no-subscriber check */
  /* A plain atomic: on the no-subscriber path an owner check (thread record,
   * owner, load and store) measured 0.6 ns slower than one `lock xadd`. */
  _Atomic uint64_t not_enabled;
};

/* WNODEs up to this size are built lazily inside the delivery's context, on
 * the stack (wmiev_event_wnode; deliver.c); larger ones on the heap. */
#define WMIEV__STACK_EVENT_BYTES 1152u

struct wmiev_block_handle {
  wmiev_bus *bus;
  bus_guid *g;
  wmiev_block_handle *prev, *next; /* the bus's open handles (under `control`) */
};

typedef void (*wmiev__wakeup_fn)(void *ctx);

struct wmiev_bus {
  /* Lock-free (queue.h); first, so that the user's allocator's alignment
   * is all its padding has to work with. */
  wmiev__queue queue; /* its ring is allocated with the bus (NULL: sync) */
  wmiev_allocator allocator;
  wmiev_bus_options options;
  wmiev_registry *registry;
  wmiev__mutex control;
  wmiev__mutex dispatch_lock;
  wmiev__mutex lock;
  wmiev__cond released; /* a callback an unsubscriber waits for ended (subscribe.c) */
  wmiev__map guids;     /* GUID -> bus_guid */
  bus_guid **slots;     /* slot number -> bus_guid (under `lock`) */
  /* The same table for the dispatcher, which reads it without `lock`
   * (a queued record names its GUID by slot number). */
  _Atomic(bus_guid **) slots_live;
  size_t slot_count, slot_capacity;
  wmiev_block_handle *handles; /* open block handles (under `control`) */
  /* The wakeup hook (fire.c, wmiev_bus_set_wakeup), read without a lock. */
  wmiev__mutex wakeup_setter; /* one wmiev_bus_set_wakeup() at a time */
  _Atomic(wmiev__wakeup_fn) wakeup;
  _Atomic(void *) wakeup_ctx;
  _Atomic uint32_t wakeups_running; /* hook calls in progress: set_wakeup waits for them */
  wmiev_bus_stats stats;
  uint64_t shape_gen; /* bumped by every store of a source's shape (under `lock`) */
  struct wmiev__slot_table *slot_tables; /* every slot table ever used (freed at destroy) */
};

/* ---- subscribe.c -------------------------------------------------------------- */
/* `control`, taken and released through these so that a thread knows
 * whether it holds one (wmiev_bus_dispatch() must not wait then). */
void wmiev__control_lock(wmiev_bus *bus);
void wmiev__control_unlock(wmiev_bus *bus);
bool wmiev__control_held(void);

/* ---- bus.c ------------------------------------------------------------------ */
/* wmiev_bus_now() for the fire path, inlined (bus.c says why this clock). */
static inline int64_t wmiev__bus_now(wmiev_bus *bus) {
  if (bus->options.clock.now != NULL) {
    return bus->options.clock.now(bus->options.clock.ctx);
  }
  if (bus->options.precise_clock) {
    return wmiev__system_time_100ns();
  }
  return wmiev__tick_clock_now();
}
/* Calls the wakeup hook, if one is set (any thread, no lock held; counted
 * in wakeups_running, which wmiev_bus_set_wakeup() waits for). */
void wmiev__bus_call_wakeup(wmiev_bus *bus);
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

/* `out` += the lock-free counters of `g` and its sources (lock held). */
void wmiev__bus_fold_stats(const bus_guid *g, wmiev_bus_stats *out);

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

/* Where the WNODE behind a delivered event comes from (wmiev_event_wnode()). */
typedef struct wmiev__event_origin {
  /* The WNODE the event was fired in and its validated view, both valid
   * until the delivery ends; NULL: built from the event's fields on first
   * request (a WmiFireEvent-style event: sync fire, or a queued fire record). */
  const uint8_t *wnode;
  const wmiev_wnode_view *view;
  bool pdo_names; /* built: with PDO_INSTANCE_NAMES */
} wmiev__event_origin;

/* Delivers a validated event WNODE to the GUID's subscribers (no lock held).
 * Counts delivered / discarded. `wnode` must be 8-aligned. */
void wmiev__deliver(wmiev_bus *bus, const uint8_t *wnode, const wmiev_wnode_view *view,
                    const wmiev__delivery *how);
/* The same for an event already filled in (wmiev__event_fill or the fast
 * path's own) whose WNODE comes from `origin`; sets lost_before and internal. */
void wmiev__deliver_event(wmiev_bus *bus, bus_guid *g, wmiev_event *ev,
                          const wmiev__event_origin *origin);

/* ---- snapshot.c ----------------------------------------------------------------- */

/* Publishes the GUID's current list of live subscriptions (lock held). False
 * when out of memory (the old snapshot stays). Never fails when no
 * subscription is left (nothing to allocate). */
bool wmiev__snapshot_publish(wmiev_bus *bus, bus_guid *g);
/* Frees retired snapshots and subscriptions no delivery can still read:
 * those retired before a moment with no reader (lock held). */
void wmiev__snapshot_reclaim(wmiev_bus *bus, bus_guid *g);
/* Frees everything at destroy (no delivery can run). */
void wmiev__snapshot_free_all(wmiev_bus *bus, bus_guid *g);

/* Resolves an event reference by querying the provider, then delivers the
 * answer (no lock held). Counts reference_failed on failure. */
void wmiev__deliver_reference(wmiev_bus *bus, const uint8_t *wnode, const wmiev_wnode_view *view,
                              bus_guid *g);

/* ---- subscribe.c ------------------------------------------------------------------ */

/* The registry's observer: late registrations get their ENABLE. */
void wmiev__bus_on_registry_event(const wmiev_registry_event *event, void *ctx);
/* Releases every subscription and handle left at destroy. */
void wmiev__bus_release_all(wmiev_bus *bus);
/* The same with `lock` already held (the fire path reads it while counting the call). */
static inline bool wmiev__bus_provider_enabled_locked(const bus_guid *g, uint32_t provider_id) {
  for (size_t i = 0; i < g->enabled_count; i++) {
    if (g->enabled[i] == provider_id) {
      return true;
    }
  }
  return false;
}

/* ---- source.c -------------------------------------------------------------------- */

/* Rewrites the shape of the GUID's sources of `provider_id` from the registry
 * and the enabled set (control held, `lock` NOT held: reads the registry). */
void wmiev__sources_refresh(wmiev_bus *bus, bus_guid *g, uint32_t provider_id);
/* Restamps the GUID's sources after sub_count changed (lock held). */
void wmiev__sources_update_listened(bus_guid *g);
/* Restamps its sources of `provider_id` after the enabled set changed (lock held). */
void wmiev__sources_update_enabled(bus_guid *g, uint32_t provider_id);
/* Frees every source (destroy). */
void wmiev__sources_free_all(wmiev_bus *bus);

/* ---- fire.c --------------------------------------------------------------------- */

/* wmiev_bus_fire_event by provider id (no device pointer needed): the general path. */
wmiev_status wmiev__fire_event_general(wmiev_bus *bus, uint32_t provider_id, const GUID *guid,
                                       uint32_t instance_index, const void *data, uint32_t size,
                                       wmiev_diag *diag);
/* Queues a record without a lock (queue.h) and wakes the consumer if it
 * has to; false (and counted as dropped, subscribers told) when full. */
bool wmiev__enqueue(wmiev_bus *bus, bus_guid *g, wmiev__queued_kind kind, uint32_t provider_id,
                    uint32_t instance_index, int64_t timestamp, const void *payload,
                    size_t payload_size);
wmiev_status wmiev__dropped_status(wmiev_diag *diag);
/* Steps 5-6 of the fire path for a WmiFireEvent-style event that passed
 * every check (fire.c, or a source's cache): stamps it, then delivers it
 * (sync) or queues it. */
wmiev_status wmiev__fire_checked(wmiev_bus *bus, bus_guid *g, uint32_t provider_id,
                                 uint32_t instance_index, bool pdo_names, const void *data,
                                 uint32_t size, wmiev_diag *diag);
/* Calls the warning hook for a NOT_ENABLED event (no lock; hook set). */
void wmiev__warn_not_enabled_hook(wmiev_bus *bus);

/* The event a subscriber receives for a WmiFireEvent-style event, and its
 * origin (no WNODE yet: built on request from these fields and
 * `pdo_names`). `data` is used in place, not copied. */
void wmiev__fire_event_fill(wmiev_event *ev, wmiev__event_origin *origin, const GUID *guid,
                            uint32_t provider_id, uint32_t instance_index, bool pdo_names,
                            int64_t timestamp, const void *data, uint32_t size);
/* Builds the WNODE WmiFireEvent fires (static-name single instance, data at
 * 64) into `out` (8-aligned, 64 + size bytes) and the view
 * wmiev_wnode_validate() returns for it, without validating (valid by
 * construction). */
void wmiev__build_fire_wnode(uint8_t *out, wmiev_wnode_view *view, const GUID *guid,
                             uint32_t provider_id, uint32_t instance_index, bool pdo_names,
                             int64_t timestamp, const void *data, uint32_t size);

#endif /* WMIEV_BUS_INTERNAL_H */
