/*
 * Subscriber snapshots: what lets a delivery reach a GUID's subscribers
 * without taking the bus lock (docs/threading.md, "The fast path").
 *
 * Writers (subscribe, unsubscribe; `lock` held) build a new immutable array
 * of the GUID's live subscriptions and publish it; the one it replaces goes
 * on the GUID's retired list, together with the subscriptions that were
 * removed. A delivery announces itself in `readers` before it loads the
 * snapshot and leaves after its last callback. Everything retired before a
 * moment at which `readers` was 0 is unreachable: a delivery that loaded the
 * old snapshot had counted itself in before loading it, hence before the new
 * one was published, and had left again by that moment (all four accesses
 * are sequentially consistent). Reclaiming is tried by every subscribe and
 * unsubscribe of the GUID and by a delivery leaving while something is
 * retired (`has_retired`), and done at destroy; never by waiting: an
 * unsubscribe may run inside a callback, with its own delivery counted in
 * `readers`.
 *
 * That a callback never runs after wmiev_bus_unsubscribe() returned is a
 * different guarantee, given per subscription by `removed` and `active`
 * (deliver.c, subscribe.c).
 */
#include <string.h>

#include "bus_internal.h"

static size_t snapshot_bytes(uint32_t capacity) {
  return sizeof(wmiev__snapshot) + (size_t)capacity * sizeof(wmiev_subscription *);
}

static void retire(bus_guid *g, wmiev__snapshot *old) {
  if (old != NULL) {
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
      if (s->prev != NULL) {
        s->prev->next = s->next;
      } else {
        g->subs_head = s->next;
      }
      if (s->next != NULL) {
        s->next->prev = s->prev;
      } else {
        g->subs_tail = s->prev;
      }
      s->retired_next = g->retired_subs;
      g->retired_subs = s;
      atomic_store_explicit(&g->has_retired, true, memory_order_relaxed);
    }
    s = next;
  }
}

static void free_retired(wmiev_bus *bus, bus_guid *g) {
  while (g->retired != NULL) {
    wmiev__snapshot *s = g->retired;
    g->retired = s->retired_next;
    wmiev__bus_free(bus, s, snapshot_bytes(s->capacity));
  }
  while (g->retired_subs != NULL) {
    wmiev_subscription *s = g->retired_subs;
    g->retired_subs = s->retired_next;
    g->freed_callbacks += atomic_load_explicit(&s->delivered, memory_order_relaxed);
    wmiev__bus_free(bus, s, sizeof *s);
  }
  atomic_store_explicit(&g->has_retired, false, memory_order_relaxed);
}

void wmiev__snapshot_reclaim(wmiev_bus *bus, bus_guid *g) {
  retire_removed(g);
  if (g->retired == NULL && g->retired_subs == NULL) {
    return;
  }
  /* The subscriptions just retired may still be pinned by a delivery that
   * read them from an older snapshot; the reader count covers that too. */
  if (atomic_load(&g->readers) == 0) {
    free_retired(bus, g);
  }
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
  free_retired(bus, g);
}
