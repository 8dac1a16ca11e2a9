/*
 * Delivery: from a validated WNODE to every subscriber of its GUID, with no
 * library lock held during a callback; event references resolved by a real
 * IRP_MN_QUERY_SINGLE_INSTANCE; and wmiev_bus_dispatch(), which drains the
 * queue in pumped and libuv mode.
 *
 * No library lock and no atomic read-modify-write is taken per event: a
 * delivery walks the GUID's published subscriber snapshot (snapshot.c) and
 * runs each callback with its subscription pinned in the thread's record
 * (thread_state.h), so an unsubscribe on another thread waits for it, and
 * one from inside the callback only marks it.
 */
#include <string.h>

#include "bus_internal.h"
#include "event_view.h"

/* The subscriptions whose callbacks this thread is inside, innermost first:
 * lets wmiev_bus_unsubscribe() tell "from inside my own callback". */
typedef struct callback_frame {
  const wmiev_subscription *sub;
  const struct callback_frame *outer;
} callback_frame;

static _Thread_local const callback_frame *innermost_callback;

bool wmiev__in_callback_of(const wmiev_subscription *sub) {
  for (const callback_frame *f = innermost_callback; f != NULL; f = f->outer) {
    if (f->sub == sub) {
      return true;
    }
  }
  return false;
}

/* ---- The delivery's context: the WNODE and the name, computed on demand ------------------- */

/* Room on the stack for most names; longer ones are allocated for the callback. */
#define NAME_STACK_BYTES 512u

/* What wmiev_event_wnode(), wmiev_event_view() and wmiev_event_name_utf8()
 * keep for one delivery (ev->internal points here). A delivery sets the
 * first seven fields; the rest is written only when something is built
 * (perf: no zeroing, decisions D21). */
typedef struct event_ctx {
  wmiev_bus *bus;
  const char *name;             /* NULL until asked */
  char *heap;                   /* a long name, heap_size bytes */
  const uint8_t *wnode;         /* the WNODE: the origin's, or built here; NULL until built */
  const wmiev_wnode_view *view; /* its view (when wnode != NULL) */
  uint8_t wnode_state;          /* WNODE_* below */
  uint8_t *wnode_heap;          /* a built WNODE too big for wnode_stack */
  size_t heap_size;
  size_t wnode_heap_size;
  wmiev_wnode_view built_view;
  char stack[NAME_STACK_BYTES];
  _Alignas(8) uint8_t wnode_stack[WMIEV__STACK_EVENT_BYTES];
} event_ctx;

enum {
  WNODE_HELD = 0,     /* the event was fired as a WNODE: `wnode` and `view` are it */
  WNODE_LAZY = 1,     /* built on request, without PDO_INSTANCE_NAMES */
  WNODE_LAZY_PDO = 2, /* ... with it */
  WNODE_FAILED = 3    /* building it ran out of memory: NULL for this delivery */
};

static void *name_alloc(size_t size, void *bus) { return wmiev__bus_alloc(bus, size); }

static const char *convert_units(event_ctx *c, const void *units, size_t count) {
  return wmiev__event_name_utf8(units, count, c->stack, sizeof c->stack, name_alloc, c->bus,
                                &c->heap, &c->heap_size);
}

const char *wmiev_event_name_utf8(const wmiev_event *event) {
  if (event == NULL || event->internal == NULL) {
    return "";
  }
  event_ctx *c = event->internal;
  if (c->name != NULL) {
    return c->name;
  }
  c->name = "";
  /* A built WNODE is always single-instance; only a held one can be ALL_DATA. */
  bool all_data = c->wnode_state == WNODE_HELD && c->view->kind == WMIEV_WNODE_ALL_DATA;
  if (event->has_name) {
    c->name = convert_units(c, event->name_utf16, event->name_units);
  } else if (!all_data) {
    uint16_t units[NAME_STACK_BYTES / 2];
    size_t needed = 0;
    wmiev_status st =
        wmiev_registry_instance_name(c->bus->registry, &event->guid, event->provider_id,
                                     event->instance_index, units, sizeof units / 2, &needed);
    if (WMIEV_SUCCESS(st)) {
      c->name = convert_units(c, units, needed);
    } else if (st == WMIEV_STATUS_BUFFER_TOO_SMALL) {
      uint16_t *big = wmiev__bus_alloc(c->bus, needed * 2);
      if (big != NULL && WMIEV_SUCCESS(wmiev_registry_instance_name(
                             c->bus->registry, &event->guid, event->provider_id,
                             event->instance_index, big, needed, &needed))) {
        c->name = convert_units(c, big, needed);
      }
      wmiev__bus_free(c->bus, big, needed * 2);
    }
  }
  return c->name;
}

/* The WNODE WmiFireEvent builds for the event, built once per delivery: in
 * the context when it fits, else on the heap (freed by release_ctx). */
static void build_wnode(event_ctx *c, const wmiev_event *event) {
  size_t total = sizeof(WNODE_SINGLE_INSTANCE) + (size_t)event->data_size;
  uint8_t *out = c->wnode_stack;
  if (total > sizeof c->wnode_stack) {
    out = wmiev__bus_alloc(c->bus, total);
    if (out == NULL) {
      c->wnode_state = WNODE_FAILED;
      return;
    }
    c->wnode_heap = out;
    c->wnode_heap_size = total;
  }
  wmiev__build_fire_wnode(out, &c->built_view, &event->guid, event->provider_id,
                          event->instance_index, c->wnode_state == WNODE_LAZY_PDO, event->timestamp,
                          event->data, event->data_size);
  c->wnode = out;
  c->view = &c->built_view;
}

/* The context's WNODE, built if it is due and was not yet. */
static event_ctx *ctx_with_wnode(const wmiev_event *event) {
  if (event == NULL || event->internal == NULL) {
    return NULL;
  }
  event_ctx *c = event->internal;
  if (c->wnode == NULL && c->wnode_state != WNODE_FAILED) {
    build_wnode(c, event);
  }
  return c->wnode != NULL ? c : NULL;
}

const void *wmiev_event_wnode(const wmiev_event *event, uint32_t *size) {
  event_ctx *c = ctx_with_wnode(event);
  if (size != NULL) {
    *size = c != NULL ? c->view->buffer_size : 0;
  }
  return c != NULL ? c->wnode : NULL;
}

const wmiev_wnode_view *wmiev_event_view(const wmiev_event *event) {
  event_ctx *c = ctx_with_wnode(event);
  return c != NULL ? c->view : NULL;
}

/* Frees what the delivery's callbacks had built on the heap. */
static void release_ctx(event_ctx *c) {
  if (c->heap != NULL) {
    wmiev__bus_free(c->bus, c->heap, c->heap_size);
  }
  if (c->wnode_heap != NULL) {
    wmiev__bus_free(c->bus, c->wnode_heap, c->wnode_heap_size);
  }
}

/* ---- Delivery ------------------------------------------------------------------------------ */

/* Lets an unsubscriber waiting for this subscription's callbacks go on. */
static void wake_unsubscriber(wmiev_bus *bus) {
  wmiev__mutex_lock(&bus->lock);
  wmiev__cond_broadcast(&bus->released);
  wmiev__mutex_unlock(&bus->lock);
}

/* Runs `sub`'s callback (the caller has pinned it and seen it not removed). */
static void run_callback(wmiev_subscription *sub, wmiev_event *ev, const wmiev__thread_state *me) {
  ev->lost_before = 0;
  if (atomic_load_explicit(&sub->lost_pending, memory_order_relaxed) != 0) {
    ev->lost_before = atomic_exchange_explicit(&sub->lost_pending, 0, memory_order_relaxed);
  }
  callback_frame frame = {sub, innermost_callback};
  innermost_callback = &frame;
  sub->callback(ev, sub->payload);
  innermost_callback = frame.outer;
  wmiev__counter_bump(&sub->delivered, me);
}

/* The usual delivery: the thread's record says which snapshot epoch it may
 * hold and which callback it runs (thread_state.h); no atomic
 * read-modify-write. A subscription made by a callback during this delivery
 * is not in the snapshot: it gets the next event, not this one. */
static uint32_t deliver_recorded(wmiev_bus *bus, bus_guid *g, wmiev_event *ev,
                                 wmiev__thread_state *me) {
  uint32_t calls = 0;
  wmiev__thread_state_enter(me);
  const wmiev__snapshot *snap = atomic_load(&g->snapshot);
  uint32_t count = snap != NULL ? snap->count : 0;
  for (uint32_t i = 0; i < count; i++) {
    wmiev_subscription *sub = snap->subs[i];
    /* Pinned, then checked: an unsubscriber marks `removed` and then looks
     * for the pin, so one of the two sees the other. */
    wmiev__thread_state_pin(me, sub);
    if (!atomic_load(&sub->removed)) {
      run_callback(sub, ev, me);
      calls++;
    }
    wmiev__thread_state_unpin(me);
    /* The same pairing the other way round: an unsubscriber that saw the
     * pin says it waits before it looks again. */
    if (WMIEV__UNLIKELY(atomic_load(&sub->removed)) && atomic_load(&sub->unsub_waiting)) {
      wake_unsubscriber(bus);
    }
  }
  wmiev__thread_state_leave(me);
  return calls;
}

/* The fallback for a thread without a record, or nested deeper than the
 * record holds: a reader count per GUID and a pin count per subscription,
 * both atomic read-modify-writes. */
static uint32_t deliver_counted(wmiev_bus *bus, bus_guid *g, wmiev_event *ev,
                                const wmiev__thread_state *me) {
  uint32_t calls = 0;
  /* Counted in before the snapshot is loaded (snapshot.c says why). */
  atomic_fetch_add(&g->readers, 1);
  const wmiev__snapshot *snap = atomic_load(&g->snapshot);
  uint32_t count = snap != NULL ? snap->count : 0;
  for (uint32_t i = 0; i < count; i++) {
    wmiev_subscription *sub = snap->subs[i];
    atomic_fetch_add(&sub->active, 1);
    if (!atomic_load(&sub->removed)) {
      run_callback(sub, ev, me);
      calls++;
    }
    if (atomic_fetch_sub(&sub->active, 1) == 1 && atomic_load(&sub->removed)) {
      wake_unsubscriber(bus);
    }
  }
  atomic_fetch_sub(&g->readers, 1);
  return calls;
}

void wmiev__deliver_event(wmiev_bus *bus, bus_guid *g, wmiev_event *ev,
                          const wmiev__event_origin *origin) {
  /* A few stores: the buffers are written only when something is built. */
  event_ctx ctx;
  ctx.bus = bus;
  ctx.name = NULL;
  ctx.heap = NULL;
  ctx.wnode = origin->wnode;
  ctx.view = origin->view;
  ctx.wnode_state = origin->wnode != NULL ? WNODE_HELD
                    : origin->pdo_names   ? WNODE_LAZY_PDO
                                          : WNODE_LAZY;
  ctx.wnode_heap = NULL;
  ev->internal = &ctx;

  wmiev__thread_state *me = wmiev__thread_state_get();
  uint32_t calls = WMIEV__LIKELY(me != NULL && me->depth < WMIEV__NEST_MAX)
                       ? deliver_recorded(bus, g, ev, me)
                       : deliver_counted(bus, g, ev, me);
  if (WMIEV__UNLIKELY(atomic_load_explicit(&g->has_retired, memory_order_relaxed))) {
    /* A callback unsubscribed: free what no delivery reads any more. */
    wmiev__mutex_lock(&bus->lock);
    wmiev__snapshot_reclaim(bus, g);
    wmiev__mutex_unlock(&bus->lock);
  }
  /* (`callbacks` is the sum of the subscriptions' `delivered`.) */
  wmiev__counter_bump(calls != 0 ? &g->hot.delivered : &g->hot.discarded, me);
  release_ctx(&ctx);
}

void wmiev__deliver(wmiev_bus *bus, const uint8_t *wnode, const wmiev_wnode_view *view,
                    const wmiev__delivery *how) {
  wmiev_event ev;
  wmiev__event_fill(&ev, wnode, view);
  ev.from_reference = how->from_reference;
  wmiev__event_origin origin = {wnode, view, false};
  wmiev__deliver_event(bus, how->g, &ev, &origin);
}

/* Largest first buffer for resolving a reference (the requester grows past it). */
#define REFERENCE_FIRST_BUFFER_MAX (64u * 1024u)

void wmiev__deliver_reference(wmiev_bus *bus, const uint8_t *wnode, const wmiev_wnode_view *view,
                              bus_guid *g) {
  (void)wnode;
  /* WMI answers a reference with an IRP_MN_QUERY_SINGLE_INSTANCE to the
   * provider for the named instance (spec §6 #7), growing its buffer. */
  wmiev_instance_ref ref;
  memset(&ref, 0, sizeof ref);
  ref.provider_id = view->provider_id;
  uint16_t *name_copy = NULL;
  size_t name_units = 0;
  size_t name_alloc = 0;
  if (view->instance.has_name) {
    name_units = view->instance.name_bytes / 2u;
    name_alloc = name_units == 0 ? 2 : name_units * 2;
    name_copy = wmiev__bus_alloc(bus, name_alloc);
    if (name_copy == NULL) {
      wmiev__mutex_lock(&bus->lock);
      WMIEV__COUNT(bus, g, reference_failed);
      wmiev__mutex_unlock(&bus->lock);
      wmiev__bus_warn(bus, g, WMIEV_WARN_REFERENCE_FAILED,
                      "out of memory resolving an event reference");
      return;
    }
    memcpy(name_copy, view->instance.name, name_units * 2);
    if (name_units != 0 && name_copy[name_units - 1] == 0) {
      name_units--;
    }
    ref.name = name_copy;
    ref.name_units = name_units;
  } else {
    ref.index = view->instance.index;
  }
  /* Start with the size the reference announced; the requester grows it.
   * TargetDataBlockSize is the driver's word, so only a hint: capped, or a
   * reference claiming 4 GiB would make the bus try to allocate that much. */
  uint32_t size = (uint32_t)sizeof(WNODE_SINGLE_INSTANCE) + 512u;
  size += view->instance.size < REFERENCE_FIRST_BUFFER_MAX ? view->instance.size
                                                           : REFERENCE_FIRST_BUFFER_MAX;
  uint8_t *buf = NULL;
  /* The warning below quotes it, whichever step failed. */
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  wmiev_status status = WMIEV_STATUS_BUFFER_TOO_SMALL;
  for (int round = 0; round < 4 && status == WMIEV_STATUS_BUFFER_TOO_SMALL; round++) {
    buf = wmiev__bus_alloc(bus, size);
    if (buf == NULL) {
      status = wmiev_diag_set(&diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "buffer", 0,
                              "out of memory for a %lu-byte reply buffer", (unsigned long)size);
      break;
    }
    uint32_t got = size;
    status = wmiev__query_single_instance(bus->registry, &view->target_guid, &ref, buf, &got, true,
                                          &diag);
    if (status == WMIEV_STATUS_BUFFER_TOO_SMALL) {
      wmiev__bus_free(bus, buf, size);
      buf = NULL;
      size = got;
    }
  }
  wmiev__bus_free(bus, name_copy, name_alloc);
  wmiev_wnode_view answer;
  if (WMIEV_SUCCESS(status)) {
    /* The answer becomes the event: flagged as one, with the reference's time. */
    uint32_t flags;
    memcpy(&flags, buf + offsetof(WNODE_HEADER, Flags), sizeof flags);
    flags |= WNODE_FLAG_EVENT_ITEM;
    memcpy(buf + offsetof(WNODE_HEADER, Flags), &flags, sizeof flags);
    memcpy(buf + offsetof(WNODE_HEADER, TimeStamp), &view->timestamp, sizeof view->timestamp);
    status = wmiev_wnode_validate(buf, size, WMIEV_VALIDATE_REQUIRE_EVENT, &answer, &diag);
  }
  if (!WMIEV_SUCCESS(status)) {
    wmiev__bus_free(bus, buf, size);
    wmiev__mutex_lock(&bus->lock);
    WMIEV__COUNT(bus, g, reference_failed);
    wmiev__mutex_unlock(&bus->lock);
    wmiev__bus_warn(bus, g, WMIEV_WARN_REFERENCE_FAILED,
                    "query for event reference from provider %lu failed: %s (%s)",
                    (unsigned long)view->provider_id, wmiev_status_name(status), diag.message);
    return;
  }
  wmiev__delivery how = {g, true};
  wmiev__deliver(bus, buf, &answer, &how);
  wmiev__bus_free(bus, buf, size);
}

/* ---- Draining the queue ------------------------------------------------------------------------
 */

/* Records delivered between two releases of their bytes to the producers. */
#define RELEASE_EVERY 64u

/* Delivers one queued record (no lock held). */
static void deliver_record(wmiev_bus *bus, bus_guid *g, const wmiev__queued *record,
                           uint32_t size_kind) {
  wmiev__queued_kind kind = wmiev__queued_kind_of(size_kind);
  uint32_t payload_size = wmiev__queued_size(size_kind);
  if (kind != WMIEV__QUEUED_WNODE) {
    /* A WmiFireEvent-style record: delivered with its data in place in the
     * queue; the WNODE is built only if a subscriber asks (decisions D21). */
    wmiev_event ev;
    wmiev__event_origin origin;
    wmiev__fire_event_fill(&ev, &origin, &g->guid, record->provider_id, record->instance_index,
                           kind == WMIEV__QUEUED_FIRE_PDO, record->timestamp, record + 1,
                           payload_size);
    wmiev__deliver_event(bus, g, &ev, &origin);
    return;
  }
  /* A driver's WNODE, copied: validated again before anyone reads it. */
  const uint8_t *wnode = (const uint8_t *)(record + 1);
  wmiev_wnode_view view;
  if (!WMIEV_SUCCESS(wmiev_wnode_validate(wnode, payload_size, 0, &view, NULL))) {
    /* Validated when fired, so this cannot happen; if it does, the event
     * still ends somewhere in the statistics. */
    wmiev__counter_bump(&g->hot.discarded, wmiev__thread_state_get());
    return;
  }
  if (view.kind == WMIEV_WNODE_EVENT_REFERENCE) {
    wmiev__deliver_reference(bus, wnode, &view, g);
  } else {
    wmiev__delivery how = {g, false};
    wmiev__deliver(bus, wnode, &view, &how);
  }
}

/* While waiting for a record, the queue is looked at once per this many
 * nanoseconds, and yields to other threads every YIELD_EVERY looks. */
#define LOOK_INTERVAL_NS 1000u
#define YIELD_EVERY 4u
/* The bus whose queue this thread is draining, if any. */
static _Thread_local const wmiev_bus *dispatching;

/* Delivers committed records until `budget` is reached or none is ready;
 * returns the new `taken`. Records are read in place, without a lock; their
 * bytes go back to the producers every RELEASE_EVERY records and at the
 * end. A record reserved but not committed yet ends the pass (the queue is
 * FIFO: nothing behind it goes first). */
static size_t drain(wmiev_bus *bus, size_t taken, size_t budget) {
  wmiev__queue *q = &bus->queue;
  size_t start = taken;
  while (taken < budget) {
    uint32_t size_kind;
    const wmiev__queued *record = wmiev__queue_next(q, &size_kind);
    if (record == NULL) {
      break;
    }
    /* Loaded after the record's commit: shows the table its GUID is in. */
    bus_guid *const *slots = atomic_load_explicit(&bus->slots_live, memory_order_acquire);
    deliver_record(bus, slots[record->guid_slot], record, size_kind);
    if (++taken % RELEASE_EVERY == 0) {
      wmiev__queue_release(q);
    }
  }
  if (taken != start) {
    wmiev__queue_release(q);
  }
  return taken;
}

/* Polls until a record is ready to deliver. With `spin_ns` 0, until one
 * is (a producer is between its reservation and its commit: a few hundred
 * instructions, or a preemption, hence the yield); else false once
 * `spin_ns` passed without one.
 *
 * It looks at the queue once per LOOK_INTERVAL_NS, not as often as it can:
 * a look reads the lines a producer is writing (the record's header, the
 * tail), and every such read makes the producer's next store to the line
 * fetch it back from this CPU, an event at a time. Looking less often lets
 * a few events pile up, and the drain that follows reads lines the producer
 * is done with (cross-thread runs on two CPUs, 64 B: 0.88-1.22x the ring
 * looking every 4 pauses, 1.18-1.23x every 64 pauses, which is about 1.6 us
 * here; decisions D24). The interval is measured with the clock, not in
 * pauses, whose length differs tenfold between CPUs. */
static bool wait_for_record(wmiev_bus *bus, uint32_t spin_ns) {
  uint64_t start = 0;
  for (uint32_t looks = 1;; looks++) {
    if (wmiev__queue_ready(&bus->queue)) {
      return true;
    }
    uint64_t now = wmiev__monotonic_ns();
    if (start == 0) {
      start = now;
    } else if (spin_ns != 0 && now - start >= spin_ns) {
      return false;
    }
    if (spin_ns == 0 && looks % YIELD_EVERY == 0) {
      wmiev__thread_yield(); /* the producer may have been preempted */
      continue;
    }
    uint64_t next_look = now + LOOK_INTERVAL_NS;
    do {
      for (int p = 0; p < 4; p++) {
        wmiev__cpu_relax();
      }
    } while (wmiev__monotonic_ns() < next_look);
  }
}

/*
 * The wakeup protocol (queue.h, "Waking the consumer"; the producer in fire.c calls the
 * hook). A dispatch marks the consumer awake, so producers do not call the
 * hook (for libuv, a system call) while it drains anyway; it returns only
 * after marking it idle, which succeeds only when nothing is reserved past
 * what it delivered. Records reserved and not committed yet are waited for
 * (their producers saw the consumer awake and will not wake it).
 *
 * With `spin_ns`, a dispatch that runs out of records polls for more for
 * that long before it tries to go idle (decisions D23): a stream of events
 * with short gaps is then delivered by one awake consumer, without a
 * wakeup (a system call and a context switch, for libuv) per gap.
 */
static size_t dispatch_held(wmiev_bus *bus, size_t max_events, uint32_t spin_ns) {
  wmiev__queue *q = &bus->queue;
  wmiev__queue_set_awake(q, true);
  size_t budget = max_events != 0 ? max_events : (size_t)wmiev__queue_count(q);
  size_t taken = drain(bus, 0, budget);
  for (;;) {
    if (taken >= budget) {
      /* Stopped by the budget. Events still waiting (some may have been
       * fired during this dispatch, without a wakeup) get one now: the
       * caller may not come back on its own. Else the next event calls it. */
      if (wmiev__queue_rearm(q)) {
        wmiev__bus_call_wakeup(bus);
      }
      return taken;
    }
    if (spin_ns != 0 && wait_for_record(bus, spin_ns)) {
      taken = drain(bus, taken, budget);
      continue;
    }
    if (wmiev__queue_try_idle(q)) {
      return taken;
    }
    /* Reserved, not committed: its producer counts on this dispatch. */
    (void)wait_for_record(bus, 0);
    taken = drain(bus, taken, budget);
  }
}

static size_t dispatch(wmiev_bus *bus, size_t max_events, uint32_t spin_ns) {
  if (bus == NULL || bus->options.delivery == WMIEV_DELIVERY_SYNC) {
    return 0;
  }
  if (dispatching == bus) {
    /* Called from one of its own callbacks: this thread already holds
     * dispatch_lock (waiting for it would never end), and the outer call
     * goes on draining the queue when the callback returns. */
    return 0;
  }
  /* One dispatcher at a time: records are read in place. A thread that
   * holds a bus's `control` (a provider's ENABLE/DISABLE handler, the
   * ENABLE_FAILED hook) does not wait for another dispatcher: that one's
   * callbacks may be waiting for `control` (subscribing, say), and neither
   * would ever go on. It returns 0 instead; the running dispatch delivers
   * what it took, and the rest waits for the next call. */
  if (wmiev__control_held()) {
    if (!wmiev__mutex_trylock(&bus->dispatch_lock)) {
      return 0;
    }
  } else {
    wmiev__mutex_lock(&bus->dispatch_lock);
  }
  const wmiev_bus *outer = dispatching; /* another bus's dispatch further up */
  dispatching = bus;
  size_t taken = dispatch_held(bus, max_events, spin_ns);
  dispatching = outer;
  wmiev__mutex_unlock(&bus->dispatch_lock);
  return taken;
}

size_t wmiev_bus_dispatch(wmiev_bus *bus, size_t max_events) {
  return dispatch(bus, max_events, 0);
}

size_t wmiev_bus_dispatch_spin(wmiev_bus *bus, size_t max_events, uint32_t spin_ns) {
  return dispatch(bus, max_events, max_events != 0 ? spin_ns : 0);
}
