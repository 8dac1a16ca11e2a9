/*
 * Subscriber snapshots: what lets a delivery reach a GUID's subscribers
 * without taking the bus lock (docs/threading.md, "The fast path").
 *
 * Writers (subscribe, unsubscribe; `lock` held) build a new immutable array
 * of the GUID's live subscriptions and publish it; the one it replaces goes
 * on the GUID's retired list, together with the subscriptions that were
 * removed, each tagged with the reclamation epoch of its retirement (the
 * global epoch is bumped by every retirement).
 *
 * A delivery on a thread with a record (thread_state.h) stores the epoch it
 * read in its record before it loads the snapshot, and clears it after its
 * last callback. Something retired at epoch T is unreachable once no record
 * shows an epoch <= T: a delivery that entered later read the epoch after
 * the bump, hence after the new snapshot was published, and cannot hold the
 * old one. The records are read after a heavy fence (or with sequentially
 * consistent accesses on both sides), so a delivery that has stored its
 * epoch but not yet loaded the snapshot is seen too. A delivery on a thread
 * without a record counts itself in `readers` instead, and nothing is freed
 * while that count is not 0 (the scheme before decisions D22).
 *
 * Reclaiming is tried by every subscribe and unsubscribe of the GUID and by
 * a delivery leaving while something is retired (`has_retired`), and done at
 * destroy; never by waiting: an unsubscribe may run inside a callback, with
 * its own delivery in progress.
 *
 * That a callback never runs after wmiev_bus_unsubscribe() returned is a
 * different guarantee, given per subscription by `removed` and the records'
 * `running` pins (deliver.c, subscribe.c).
 */
#include <string.h>

#include "bus_internal.h"

static size_t snapshot_bytes(uint32_t capacity) {
  return sizeof(wmiev__snapshot) + (size_t)capacity * sizeof(wmiev_subscription *);
}

/* A tag for something retired now: deliveries that enter from here on get a
 * larger epoch. */
static uint64_t retirement_epoch(void) { return atomic_fetch_add(&wmiev__reclaim_epoch, 1); }

static void retire(bus_guid *g, wmiev__snapshot *old) {
  if (old != NULL) {
    old->retired_epoch = retirement_epoch();
    old->retired_next = g->retired;
    g->retired = old;
    atomic_store_explicit(&g->has_retired, true, memory_order_relaxed);
  }
}

bool wmiev__snapshot_publish(wmiev_bus *bus, bus_guid *g) {
  uint32_t live = atomic_load_explicit(&g->sub_count, memory_order_relaxed);
  wmiev__snapshot *next = NULL;
  if (live != 0) {
    next = wmiev__bus_alloc(bus, snapshot_bytes(live));
    if (next == NULL) {
      return false;
    }
    next->retired_next = NULL;
    next->capacity = live;
    next->count = 0;
    for (wmiev_subscription *s = g->subs_head; s != NULL && next->count < live; s = s->next) {
      if (!atomic_load_explicit(&s->removed, memory_order_relaxed)) {
        next->subs[next->count++] = s;
      }
    }
  }
  wmiev__snapshot *old = atomic_exchange(&g->snapshot, next);
  retire(g, old);
  return true;
}

/* Moves removed subscriptions that no published snapshot holds any more from
 * the GUID's list to its retired list (lock held). */
static void retire_removed(bus_guid *g) {
  wmiev__snapshot *current = atomic_load_explicit(&g->snapshot, memory_order_relaxed);
  wmiev_subscription *s = g->subs_head;
  while (s != NULL) {
    wmiev_subscription *next = s->next;
    bool held = false;
    for (uint32_t i = 0; current != NULL && i < current->count; i++) {
      held = held || current->subs[i] == s;
    }
    /* `released`: not while its unsubscribe still waits for its pins. */
    if (s->released && !held) {
      WMIEV__LIST_UNLINK_TAIL(g->subs_head, g->subs_tail, s);
      s->retired_epoch = retirement_epoch();
      s->retired_next = g->retired_subs;
      g->retired_subs = s;
      atomic_store_explicit(&g->has_retired, true, memory_order_relaxed);
    }
    s = next;
  }
}

/* Frees what was retired before epoch `safe` (everything: UINT64_MAX). */
static void free_retired(wmiev_bus *bus, bus_guid *g, uint64_t safe) {
  for (wmiev__snapshot **link = &g->retired; *link != NULL;) {
    wmiev__snapshot *s = *link;
    if (s->retired_epoch < safe) {
      *link = s->retired_next;
      wmiev__bus_free(bus, s, snapshot_bytes(s->capacity));
    } else {
      link = &s->retired_next;
    }
  }
  for (wmiev_subscription **link = &g->retired_subs; *link != NULL;) {
    wmiev_subscription *s = *link;
    if (s->retired_epoch < safe) {
      *link = s->retired_next;
      g->freed_callbacks += wmiev__counter_read(&s->delivered);
      wmiev__bus_free(bus, s, sizeof *s);
    } else {
      link = &s->retired_next;
    }
  }
  atomic_store_explicit(&g->has_retired, g->retired != NULL || g->retired_subs != NULL,
                        memory_order_relaxed);
}

/* The oldest retirement epoch among `g`'s retired items. */
static uint64_t oldest_retired(const bus_guid *g) {
  uint64_t oldest = UINT64_MAX;
  for (const wmiev__snapshot *s = g->retired; s != NULL; s = s->retired_next) {
    oldest = s->retired_epoch < oldest ? s->retired_epoch : oldest;
  }
  for (const wmiev_subscription *s = g->retired_subs; s != NULL; s = s->retired_next) {
    oldest = s->retired_epoch < oldest ? s->retired_epoch : oldest;
  }
  return oldest;
}

void wmiev__snapshot_reclaim(wmiev_bus *bus, bus_guid *g) {
  retire_removed(g);
  if (g->retired == NULL && g->retired_subs == NULL) {
    return;
  }
  /* A delivery without a record may hold anything retired. */
  if (atomic_load(&g->readers) != 0) {
    return;
  }
  /* The cheap look first: the heavy fence (a system call) only when
   * something is likely to be freed. */
  if (wmiev__thread_states_oldest() <= oldest_retired(g)) {
    return;
  }
  wmiev__thread_states_fence();
  free_retired(bus, g, wmiev__thread_states_oldest());
}

void wmiev__snapshot_free_all(wmiev_bus *bus, bus_guid *g) {
  retire(g, atomic_exchange(&g->snapshot, NULL));
  while (g->subs_head != NULL) {
    wmiev_subscription *s = g->subs_head;
    g->subs_head = s->next;
    s->retired_next = g->retired_subs;
    g->retired_subs = s;
  }
  g->subs_tail = NULL;
  free_retired(bus, g, UINT64_MAX);
}
