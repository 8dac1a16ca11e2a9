/*
 * Event sources on the real kernel (include/wmiev/source.h; docs/windows.md,
 * "Sources"). WMI keeps the registration, so a source only remembers its
 * provider (the device object) and the GUID, and fires with
 * wmiev_bus_fire_event(), i.e. a pool copy + WmiFireEvent.
 *
 * Enable state: the kernel has no call that says whether a block is
 * enabled; it sends the provider ENABLE_EVENTS/DISABLE_EVENTS. The
 * provider's function-control trampoline records them per GUID
 * (provider.c, struct wmiev__win_event_state); a source points at its
 * GUID's record, so wmiev_source_enabled() is one read, at any IRQL.
 *
 * Lifetime: open sources are on their bus's list. wmiev_provider_destroy()
 * detaches the provider's sources (they then fail with
 * STATUS_DEVICE_DOES_NOT_EXIST and report disabled, as the portable bus
 * does for a destroyed device); wmiev_bus_destroy() frees those still open.
 * Both need the source's bus to be its provider's, which open checks.
 */
#include "backend.h"

struct wmiev_source {
  LIST_ENTRY link; /* bus->sources, under bus->lock */
  wmiev_bus *bus;
  /* NULL once the provider is destroyed (written under bus->lock; readers
   * may not race with that, source.h: the device must stay alive). */
  struct wmiev_provider *provider;
  struct wmiev__win_event_state *state; /* the provider's record for guid */
  GUID guid;
};

wmiev_status wmiev_source_open(wmiev_bus *bus, wmiev_device *device, const GUID *guid,
                               wmiev_source **out) {
  if (out != NULL) {
    *out = NULL;
  }
  if (bus == NULL || device == NULL || guid == NULL || out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  struct wmiev_provider *p = device->provider;
  /* Provider destroy finds the sources to detach on its own bus's list. */
  if (p == NULL || p->bus != bus) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__win_irql_ok(DISPATCH_LEVEL)) {
    return WMIEV_WIN_STATUS_BAD_IRQL;
  }
  wmiev_source *s = wmiev__win_alloc(sizeof *s);
  if (s == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  /* The record exists from now on, so an ENABLE that arrives later lands
   * where the source reads. */
  s->state = wmiev__win_event_state(p, guid);
  if (s->state == NULL) {
    wmiev__win_free(s);
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  s->bus = bus;
  s->provider = p;
  s->guid = *guid;
  KIRQL old;
  KeAcquireSpinLock(&bus->lock, &old);
  InsertTailList(&bus->sources, &s->link);
  KeReleaseSpinLock(&bus->lock, old);
  *out = s;
  return WMIEV_STATUS_SUCCESS;
}

void wmiev_source_close(wmiev_source *source) {
  if (source == NULL) {
    return;
  }
  /* Above DISPATCH_LEVEL neither the spin lock nor the pool can be used;
   * the source stays on its bus's list and wmiev_bus_destroy() frees it. */
  if (!wmiev__win_irql_ok(DISPATCH_LEVEL)) {
    return;
  }
  KIRQL old;
  KeAcquireSpinLock(&source->bus->lock, &old);
  RemoveEntryList(&source->link);
  KeReleaseSpinLock(&source->bus->lock, old);
  wmiev__win_free(source);
}

bool wmiev_source_enabled(const wmiev_source *source) {
  /* A detached source has no record: disabled, as a destroyed device is. */
  const struct wmiev__win_event_state *state = source != NULL ? source->state : NULL;
  return state != NULL && state->enabled != 0;
}

wmiev_status wmiev_source_fire(wmiev_source *source, uint32_t instance_index, const void *data,
                               uint32_t size, wmiev_diag *diag) {
  if (source == NULL || (size != 0 && data == NULL)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "data", 0,
                          "no source, or data missing");
  }
  struct wmiev_provider *p = source->provider;
  if (p == NULL) {
    /* Counted as wmiev_bus_fire_event() counts a failed call. */
    wmiev__win_count(&source->bus->counters.fired, 1);
    wmiev__win_count(&source->bus->counters.rejected, 1);
    return wmiev_diag_set(diag, WMIEV_STATUS_DEVICE_DOES_NOT_EXIST, "device", 0,
                          "the source's provider has been destroyed");
  }
  return wmiev_bus_fire_event(source->bus, &p->device, &source->guid, instance_index, data, size,
                              diag);
}

/* ---- For provider.c and backend.c --------------------------------------------------------- */

void wmiev__win_sources_detach(struct wmiev_provider *p) {
  wmiev_bus *bus = p->bus;
  KIRQL old;
  KeAcquireSpinLock(&bus->lock, &old);
  for (LIST_ENTRY *e = bus->sources.Flink; e != &bus->sources; e = e->Flink) {
    wmiev_source *s = CONTAINING_RECORD(e, wmiev_source, link);
    if (s->provider == p) {
      s->provider = NULL;
      s->state = NULL; /* freed with the provider */
    }
  }
  KeReleaseSpinLock(&bus->lock, old);
}

void wmiev__win_sources_close_all(struct wmiev_bus *bus) {
  /* The bus is going away: no other thread may use it or its sources. */
  while (!IsListEmpty(&bus->sources)) {
    LIST_ENTRY *e = RemoveHeadList(&bus->sources);
    wmiev__win_free(CONTAINING_RECORD(e, wmiev_source, link));
  }
}
