/*
 * Consumers and the reference counting that drives function control
 * (spec §6 #1-#3): the first subscriber of a GUID makes the bus send one
 * IRP_MN_ENABLE_EVENTS to every provider of it, and to any provider that
 * registers it later; the last one leaving sends one IRP_MN_DISABLE_EVENTS to
 * each provider that was enabled. Block handles do the same with
 * ENABLE/DISABLE_COLLECTION for the providers that registered the block
 * EXPENSIVE. A provider whose function control fails is not counted as
 * enabled (and gets no DISABLE); the failure is a warning.
 *
 * Transitions run under the recursive `control` lock, with IRPs sent while
 * it is held (never the data lock): a provider's function-control callback
 * may fire, subscribe or register.
 */
#include <string.h>

#include "bus_internal.h"

/* ---- The control lock ------------------------------------------------------------------ */

/* How many times this thread holds a bus's `control` (it is recursive). User
 * code runs under it: providers' ENABLE/DISABLE handlers and the
 * ENABLE_FAILED warning hook. wmiev_bus_dispatch() reads it so that such
 * code never waits for a dispatcher whose callbacks may be waiting for
 * `control` (deliver.c). */
static _Thread_local unsigned control_depth;

void wmiev__control_lock(wmiev_bus *bus) {
  wmiev__mutex_lock(&bus->control);
  control_depth++;
}

void wmiev__control_unlock(wmiev_bus *bus) {
  control_depth--;
  wmiev__mutex_unlock(&bus->control);
}

bool wmiev__control_held(void) { return control_depth != 0; }

/* ---- Provider id sets (control held) -------------------------------------------- */

static bool set_has(const uint32_t *ids, size_t count, uint32_t id) {
  for (size_t i = 0; i < count; i++) {
    if (ids[i] == id) {
      return true;
    }
  }
  return false;
}

static bool set_add(wmiev_bus *bus, uint32_t **ids, size_t *count, size_t *capacity, uint32_t id) {
  if (*count == *capacity) {
    size_t cap = *capacity == 0 ? 4 : *capacity * 2;
    uint32_t *grown = wmiev__bus_alloc(bus, cap * sizeof *grown);
    if (grown == NULL) {
      return false;
    }
    if (*count != 0) {
      memcpy(grown, *ids, *count * sizeof *grown);
    }
    wmiev__bus_free(bus, *ids, *capacity * sizeof **ids);
    *ids = grown;
    *capacity = cap;
  }
  (*ids)[(*count)++] = id;
  return true;
}

static void set_remove(uint32_t *ids, size_t *count, uint32_t id) {
  for (size_t i = 0; i < *count; i++) {
    if (ids[i] == id) {
      memmove(&ids[i], &ids[i + 1], (*count - i - 1) * sizeof *ids);
      (*count)--;
      return;
    }
  }
}

/* ---- Function control ----------------------------------------------------------------- */

static void count_sent(wmiev_bus *bus, bus_guid *g, uint8_t minor) {
  wmiev__mutex_lock(&bus->lock);
  switch (minor) {
  case IRP_MN_ENABLE_EVENTS:
    WMIEV__COUNT(bus, g, enables_sent);
    break;
  case IRP_MN_DISABLE_EVENTS:
    WMIEV__COUNT(bus, g, disables_sent);
    break;
  case IRP_MN_ENABLE_COLLECTION:
    WMIEV__COUNT(bus, g, collection_enables_sent);
    break;
  default:
    WMIEV__COUNT(bus, g, collection_disables_sent);
    break;
  }
  wmiev__mutex_unlock(&bus->lock);
}

/* Sends an enable to one provider, recorded as enabled unless it fails
 * (control held). Recorded before the IRP goes out: a driver may fire from
 * inside its ENABLE callback, and that event comes from an enabled provider. */
static void enable_one(wmiev_bus *bus, bus_guid *g, wmiev_device *device, bool collection) {
  uint32_t id = wmiev_device_provider_id(device);
  uint32_t **ids = collection ? &g->collecting : &g->enabled;
  size_t *count = collection ? &g->collecting_count : &g->enabled_count;
  size_t *capacity = collection ? &g->collecting_capacity : &g->enabled_capacity;
  wmiev__mutex_lock(&bus->lock);
  bool already = set_has(*ids, *count, id);
  bool added = !already && set_add(bus, ids, count, capacity, id);
  if (added && !collection) {
    wmiev__sources_update_enabled(g, id);
  }
  wmiev__mutex_unlock(&bus->lock);
  if (already) {
    return; /* never two enables without a disable between */
  }
  if (!added) {
    /* Not sent: an enable the bus cannot remember would never be disabled. */
    wmiev__bus_warn(bus, g, WMIEV_WARN_ENABLE_FAILED,
                    "out of memory recording provider %lu as enabled: %s not sent",
                    (unsigned long)id, collection ? "ENABLE_COLLECTION" : "ENABLE_EVENTS");
    return;
  }
  uint8_t minor = collection ? IRP_MN_ENABLE_COLLECTION : IRP_MN_ENABLE_EVENTS;
  count_sent(bus, g, minor);
  wmiev_status status = wmiev_send_function_control(device, &g->guid, minor, NULL);
  if (!WMIEV_SUCCESS(status)) {
    wmiev__mutex_lock(&bus->lock);
    set_remove(*ids, count, id);
    if (!collection) {
      wmiev__sources_update_enabled(g, id);
    }
    wmiev__mutex_unlock(&bus->lock);
    wmiev__bus_warn(bus, g, WMIEV_WARN_ENABLE_FAILED, "provider %lu failed %s: %s",
                    (unsigned long)id, collection ? "ENABLE_COLLECTION" : "ENABLE_EVENTS",
                    wmiev_status_name(status));
  }
}

/* Enables every current provider of the GUID (control held). */
static void enable_all(wmiev_bus *bus, bus_guid *g, bool collection) {
  wmiev_block_info local[16];
  size_t n = wmiev_registry_blocks(bus->registry, &g->guid, local, 16);
  wmiev_block_info *blocks = local;
  if (n > 16) {
    blocks = wmiev__bus_alloc(bus, n * sizeof *blocks);
    if (blocks == NULL) {
      blocks = local;
      n = 16;
      wmiev__bus_warn(bus, g, WMIEV_WARN_ENABLE_FAILED,
                      "out of memory listing providers: only the first 16 are enabled");
    } else {
      n = wmiev_registry_blocks(bus->registry, &g->guid, blocks, n);
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (collection && (blocks[i].flags & WMIREG_FLAG_EXPENSIVE) == 0) {
      continue;
    }
    enable_one(bus, g, blocks[i].device, collection);
  }
  if (blocks != local) {
    wmiev__bus_free(bus, blocks, n * sizeof *blocks);
  }
}

/* Disables every provider that was enabled (control held). A provider's
 * DISABLE callback may subscribe (or open the block) again: the GUID is then
 * wanted again, that subscribe has re-enabled whoever was disabled so far,
 * and the providers still in the set stay enabled, so the loop stops. */
static void disable_all(wmiev_bus *bus, bus_guid *g, bool collection) {
  /* Re-read each round: the enable of such a subscribe may move the array. */
  uint32_t **ids = collection ? &g->collecting : &g->enabled;
  size_t *count = collection ? &g->collecting_count : &g->enabled_count;
  uint8_t minor = collection ? IRP_MN_DISABLE_COLLECTION : IRP_MN_DISABLE_EVENTS;
  /* A DISABLE that fails for want of memory (the IRP could not even be
   * allocated, or the provider says so) did not take effect: the provider
   * is still enabled. It stays in the set, so the next consumer does not
   * send it a second ENABLE, and the DISABLE goes out again when the last
   * consumer leaves next time. */
  uint32_t kept[16];
  size_t nkept = 0;
  while (*count != 0 && !(collection ? g->open_count != 0 : g->events_on)) {
    wmiev__mutex_lock(&bus->lock);
    uint32_t id = (*ids)[*count - 1];
    (*count)--;
    if (!collection) {
      wmiev__sources_update_enabled(g, id);
    }
    wmiev__mutex_unlock(&bus->lock);
    wmiev_device *device = wmiev_registry_device_by_provider_id(bus->registry, id);
    if (device != NULL) {
      count_sent(bus, g, minor);
      wmiev_status status = wmiev_send_function_control(device, &g->guid, minor, NULL);
      if (status == WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
        bool keep = nkept < sizeof kept / sizeof kept[0];
        if (keep) {
          kept[nkept++] = id;
        }
        wmiev__bus_warn(bus, g, WMIEV_WARN_ENABLE_FAILED, "%s to provider %lu failed: %s (%s)",
                        collection ? "DISABLE_COLLECTION" : "DISABLE_EVENTS", (unsigned long)id,
                        wmiev_status_name(status),
                        keep ? "it stays enabled; sent again when the last consumer leaves next"
                             : "too many at once: forgotten");
      }
    }
  }
  for (size_t i = 0; i < nkept; i++) {
    wmiev__mutex_lock(&bus->lock);
    /* Room is there (the set only shrank), unless a callback enabled others meanwhile. */
    bool readded = set_has(*ids, *count, kept[i]) ||
                   set_add(bus, ids, count,
                           collection ? &g->collecting_capacity : &g->enabled_capacity, kept[i]);
    if (!collection) {
      wmiev__sources_update_enabled(g, kept[i]);
    }
    wmiev__mutex_unlock(&bus->lock);
    if (!readded) {
      wmiev__bus_warn(bus, g, WMIEV_WARN_ENABLE_FAILED,
                      "out of memory keeping provider %lu enabled after a failed DISABLE",
                      (unsigned long)kept[i]);
    }
  }
}

/* ---- Subscriptions ----------------------------------------------------------------------- */

wmiev_status wmiev_bus_subscribe(wmiev_bus *bus, const GUID *guid, wmiev_event_cb callback,
                                 void *payload, wmiev_subscription **out) {
  if (bus == NULL || guid == NULL || callback == NULL || out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  *out = NULL;
  wmiev_subscription *sub = wmiev__bus_alloc(bus, sizeof *sub);
  if (sub == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  memset(sub, 0, sizeof *sub);
  sub->bus = bus;
  sub->callback = callback;
  sub->payload = payload;

  wmiev__control_lock(bus);
  wmiev__mutex_lock(&bus->lock);
  bus_guid *g = wmiev__bus_guid(bus, guid);
  if (g == NULL) {
    wmiev__mutex_unlock(&bus->lock);
    wmiev__control_unlock(bus);
    wmiev__bus_free(bus, sub, sizeof *sub);
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  sub->g = g;
  WMIEV__LIST_PUSH_BACK_TAIL(g->subs_head, g->subs_tail, sub);
  atomic_fetch_add(&g->sub_count, 1);
  wmiev__sources_update_listened(g);
  /* Published before the ENABLEs go out: a provider may fire from inside
   * its ENABLE callback, and that event reaches this subscriber. */
  if (!wmiev__snapshot_publish(bus, g)) {
    atomic_fetch_sub(&g->sub_count, 1);
    wmiev__sources_update_listened(g);
    WMIEV__LIST_UNLINK_TAIL(g->subs_head, g->subs_tail, sub);
    wmiev__mutex_unlock(&bus->lock);
    wmiev__control_unlock(bus);
    wmiev__bus_free(bus, sub, sizeof *sub);
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  wmiev__snapshot_reclaim(bus, g);
  wmiev__mutex_unlock(&bus->lock);
  if (!g->events_on) {
    g->events_on = true;
    enable_all(bus, g, false);
  }
  wmiev__control_unlock(bus);
  *out = sub;
  return WMIEV_STATUS_SUCCESS;
}

/* Waits (lock held) until no other thread runs `sub`'s callback: none shows
 * it in its record (thread_state.h) and none holds an atomic pin. `removed`
 * is set: a delivery that pins it from now on skips it. */
static void wait_for_callbacks(wmiev_bus *bus, wmiev_subscription *sub) {
  /* Between the mark and the look at the pins (deliveries pin, then read
   * the mark; deliver.c). */
  wmiev__thread_states_fence();
  while (atomic_load(&sub->active) > 0 || wmiev__thread_states_running(sub)) {
    /* Said before looking again; a delivery unpins, then reads this. */
    atomic_store(&sub->unsub_waiting, true);
    wmiev__thread_states_fence();
    if (atomic_load(&sub->active) == 0 && !wmiev__thread_states_running(sub)) {
      break;
    }
    wmiev__cond_wait(&bus->released, &bus->lock);
  }
  atomic_store(&sub->unsub_waiting, false);
}

wmiev_status wmiev_bus_unsubscribe(wmiev_subscription *sub) {
  if (sub == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev_bus *bus = sub->bus;
  bus_guid *g = sub->g;
  /* Not under `control` while waiting: the callback being waited for may
   * itself subscribe or unsubscribe, which needs it. */
  wmiev__mutex_lock(&bus->lock);
  if (atomic_load(&sub->removed)) {
    wmiev__mutex_unlock(&bus->lock);
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  /* Marked first, then the pins are read: a delivery pins first, then reads
   * the mark (deliver.c), so either it skips the callback or this waits. */
  atomic_store(&sub->removed, true);
  /* The published snapshot keeps it, skipped by its mark, until the next
   * subscribe publishes a new one (an unsubscribe never allocates, so never
   * fails); the last one out publishes the empty list, which needs no memory. */
  if (atomic_fetch_sub(&g->sub_count, 1) == 1) {
    (void)wmiev__snapshot_publish(bus, g);
    wmiev__sources_update_listened(g);
  }
  if (!wmiev__in_callback_of(sub)) {
    /* Unless its own callback is on this thread's stack: that call finishes
     * normally, and the mark keeps it from being called again. */
    wait_for_callbacks(bus, sub);
  }
  /* Freed once no delivery can still be reading it (snapshot.c). */
  sub->released = true;
  wmiev__snapshot_reclaim(bus, g);
  wmiev__mutex_unlock(&bus->lock);
  /* The last one out disables; decided under `control`, so a subscriber that
   * arrived meanwhile keeps the events on. */
  wmiev__control_lock(bus);
  bool last = atomic_load(&g->sub_count) == 0;
  if (last && g->events_on) {
    g->events_on = false;
    disable_all(bus, g, false);
  }
  wmiev__control_unlock(bus);
  return WMIEV_STATUS_SUCCESS;
}

void wmiev_subscription_counts(const wmiev_subscription *sub, uint64_t *delivered, uint64_t *lost) {
  if (sub == NULL) {
    return;
  }
  if (delivered != NULL) {
    *delivered = wmiev__counter_read(&sub->delivered);
  }
  if (lost != NULL) {
    *lost = atomic_load_explicit(&sub->lost_total, memory_order_relaxed);
  }
}

/* ---- Block handles (collection) ------------------------------------------------------------- */

wmiev_status wmiev_bus_open_block(wmiev_bus *bus, const GUID *guid, wmiev_block_handle **out) {
  if (bus == NULL || guid == NULL || out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  *out = NULL;
  wmiev_block_handle *h = wmiev__bus_alloc(bus, sizeof *h);
  if (h == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  wmiev__control_lock(bus);
  wmiev__mutex_lock(&bus->lock);
  bus_guid *g = wmiev__bus_guid(bus, guid);
  wmiev__mutex_unlock(&bus->lock);
  if (g == NULL) {
    wmiev__control_unlock(bus);
    wmiev__bus_free(bus, h, sizeof *h);
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  h->bus = bus;
  h->g = g;
  WMIEV__LIST_PUSH_FRONT(bus->handles, h);
  if (g->open_count++ == 0) {
    enable_all(bus, g, true);
  }
  wmiev__control_unlock(bus);
  *out = h;
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_bus_close_block(wmiev_block_handle *h) {
  if (h == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev_bus *bus = h->bus;
  bus_guid *g = h->g;
  wmiev__control_lock(bus);
  WMIEV__LIST_UNLINK(bus->handles, h);
  if (--g->open_count == 0) {
    disable_all(bus, g, true);
  }
  wmiev__control_unlock(bus);
  wmiev__bus_free(bus, h, sizeof *h);
  return WMIEV_STATUS_SUCCESS;
}

/* ---- Registry changes ------------------------------------------------------------------------ */

void wmiev__bus_on_registry_event(const wmiev_registry_event *event, void *ctx) {
  wmiev_bus *bus = ctx;
  wmiev__control_lock(bus);
  wmiev__mutex_lock(&bus->lock);
  /* A registered GUID gets its entry now, so its statistics count events
   * fired before anyone subscribed (not_enabled) too. Out of memory, it gets
   * one at its first subscription instead. */
  bus_guid *g = event->kind == WMIEV_BLOCK_ADDED ? wmiev__bus_guid(bus, &event->guid)
                                                 : wmiev__bus_guid_find(bus, &event->guid);
  wmiev__mutex_unlock(&bus->lock);
  if (g != NULL) {
    switch (event->kind) {
    case WMIEV_BLOCK_ADDED:
      /* A provider registering a GUID that already has consumers gets its
       * ENABLE now, as on Windows. */
      if (g->events_on) {
        enable_one(bus, g, event->device, false);
      }
      if (g->open_count != 0 && (event->flags & WMIREG_FLAG_EXPENSIVE) != 0) {
        enable_one(bus, g, event->device, true);
      }
      break;
    case WMIEV_BLOCK_REMOVED:
      /* Gone: no DISABLE goes to a provider that no longer provides the block. */
      wmiev__mutex_lock(&bus->lock);
      set_remove(g->enabled, &g->enabled_count, event->provider_id);
      set_remove(g->collecting, &g->collecting_count, event->provider_id);
      wmiev__sources_update_enabled(g, event->provider_id);
      wmiev__mutex_unlock(&bus->lock);
      break;
    case WMIEV_BLOCK_CHANGED:
      /* UPDATE_GUIDS can make a block EXPENSIVE or take the flag away while it
       * is open: collection follows the flag, as if the block had just been
       * registered (or removed) with the new one. */
      if (g->open_count != 0) {
        bool expensive = (event->flags & WMIREG_FLAG_EXPENSIVE) != 0;
        wmiev__mutex_lock(&bus->lock);
        bool collecting = set_has(g->collecting, g->collecting_count, event->provider_id);
        if (collecting && !expensive) {
          set_remove(g->collecting, &g->collecting_count, event->provider_id);
        }
        wmiev__mutex_unlock(&bus->lock);
        if (expensive && !collecting) {
          enable_one(bus, g, event->device, true);
        } else if (collecting && !expensive) {
          count_sent(bus, g, IRP_MN_DISABLE_COLLECTION);
          (void)wmiev_send_function_control(event->device, &g->guid, IRP_MN_DISABLE_COLLECTION,
                                            NULL);
        }
      }
      break;
    default:
      break;
    }
    /* The fast path's copy of the registration follows (source.c). */
    wmiev__sources_refresh(bus, g, event->provider_id);
  }
  wmiev__control_unlock(bus);
}

void wmiev__bus_release_all(wmiev_bus *bus) {
  /* Subscriptions and handles the owner left behind: disable what is
   * enabled, then free them. No callback can be running now. */
  wmiev__control_lock(bus);
  for (size_t i = 0; i < bus->slot_count; i++) {
    bus_guid *g = bus->slots[i];
    if (g->events_on) {
      g->events_on = false;
      disable_all(bus, g, false);
    }
    if (g->open_count != 0) {
      g->open_count = 0;
      disable_all(bus, g, true);
    }
    wmiev__mutex_lock(&bus->lock);
    atomic_store(&g->sub_count, 0);
    wmiev__sources_update_listened(g);
    wmiev__snapshot_free_all(bus, g);
    wmiev__mutex_unlock(&bus->lock);
  }
  while (bus->handles != NULL) {
    wmiev_block_handle *h = bus->handles;
    bus->handles = h->next;
    wmiev__bus_free(bus, h, sizeof *h);
  }
  wmiev__control_unlock(bus);
}
