/*
 * The fire path (IoWMIWriteEvent / WmiFireEvent semantics, spec §5.2, §5.3,
 * §6; decisions D11). In order:
 *   1. ETW forms (TRACED_GUID) are counted and left alone;
 *   2. size limit, then the WNODE validator;
 *   3. the registration: provider id, its block for the GUID, instance
 *      addressing against the registered names (mismatches Windows delivers
 *      anyway are warnings; strict mode rejects them);
 *   4. no subscriber: counted not_enabled, nothing delivered, success;
 *   5. timestamp from the bus clock unless USE_TIMESTAMP;
 *   6. delivered at once (sync) or queued (pumped, libuv); a full queue
 *      drops the event and returns STATUS_INSUFFICIENT_RESOURCES.
 * Ownership: on success the bus frees the WNODE; on failure the caller keeps it.
 *
 * Locks per call (docs/performance.md): the bus lock once to count the call
 * (which also reads whether the GUID is listened to and the provider
 * enabled), the registry lock once for the block, then the bus lock once
 * more when there is no subscriber (not_enabled); queuing takes none (a
 * lock-free queue, queue.h), nor does sync delivery (deliver.c). An event the bus builds itself
 * (fire_event) is described by wmiev__fire_event_fill() without a WNODE; the WNODE is built (not
 * validated) only if a subscriber asks for it (decisions D21). Sources (source.c) skip steps 1-4
 * when their cached registration says nothing would be reported, and share steps 5-6
 * (wmiev__fire_checked).
 */
#include <string.h>

#include "bus_internal.h"

typedef struct fire_ctx {
  wmiev_bus *bus;
  wmiev_diag *diag;
  bus_guid *g;   /* NULL until known */
  bool listened; /* the GUID had a subscriber when the call was counted */
  bool enabled;  /* ... and the firing provider was enabled for it */
} fire_ctx;

static wmiev_status reject(fire_ctx *f, wmiev_reject_reason reason, wmiev_status status,
                           const char *field, uint32_t offset, const char *fmt, const char *what) {
  wmiev__mutex_lock(&f->bus->lock);
  WMIEV__COUNT(f->bus, f->g, rejected);
  f->bus->stats.rejected_by[reason]++;
  if (f->g != NULL) {
    f->g->stats.rejected_by[reason]++;
  }
  wmiev__mutex_unlock(&f->bus->lock);
  return wmiev_diag_set(f->diag, status, field, offset, fmt, what);
}

/* Every fire call is counted once, on the GUID it is accounted to (the
 * TargetGuid of an event reference, else WnodeHeader.Guid). The same lock
 * acquisition reads whether the GUID has a subscriber and whether
 * `provider_id` is enabled for it, for check_registration() (perf: this used
 * to take the lock twice more per event there). */
static void count_fired(fire_ctx *f, const GUID *guid, uint32_t provider_id) {
  wmiev__mutex_lock(&f->bus->lock);
  f->g = guid != NULL ? wmiev__bus_guid_find(f->bus, guid) : NULL;
  WMIEV__COUNT(f->bus, f->g, fired);
  f->listened = f->g != NULL && f->g->sub_count > 0;
  f->enabled = f->listened && wmiev__bus_provider_enabled_locked(f->g, provider_id);
  wmiev__mutex_unlock(&f->bus->lock);
}

/* A mismatch Windows lets through: a warning, or in strict mode a rejection. */
static bool mismatch(fire_ctx *f, wmiev_warning warning, wmiev_status strict_status,
                     const char *message, wmiev_status *status) {
  if (f->bus->options.strict) {
    *status = reject(f, WMIEV_REJECT_STRICT, strict_status, "WnodeHeader.Flags", 44, "%s", message);
    return true;
  }
  wmiev__bus_warn(f->bus, f->g, warning, "%s", message);
  return false;
}

/* Checks the instance addressing of a validated event against its block.
 * Returns true if the event was rejected (status in *status). */
static bool check_names(fire_ctx *f, const wmiev_wnode_view *view, const wmiev_block_info *block,
                        wmiev_status *status) {
  bool block_static = block->names != WMIEV_NAMES_DYNAMIC;
  bool pdo_block = block->names == WMIEV_NAMES_PDO;
  if (view->static_names && !block_static) {
    if (mismatch(f, WMIEV_WARN_STATIC_FOR_DYNAMIC, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                 "static-name event (STATIC_INSTANCE_NAMES) for a block registered with dynamic "
                 "names",
                 status)) {
      return true;
    }
  } else if (!view->static_names && block_static) {
    /* Microsoft's toaster sample does this (a dynamic-name arrival event for
     * a PDO-named block) and Windows consumers receive it. */
    if (mismatch(f, WMIEV_WARN_DYNAMIC_FOR_STATIC, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                 "dynamic-name event for a block registered with static names", status)) {
      return true;
    }
  }
  if (view->static_names && block_static) {
    uint32_t highest =
        view->kind == WMIEV_WNODE_ALL_DATA ? view->instance_count : view->instance.index + 1u;
    bool fits = view->kind == WMIEV_WNODE_ALL_DATA ? highest <= block->instance_count
                                                   : view->instance.index < block->instance_count;
    if (!fits) {
      *status = reject(f, WMIEV_REJECT_BAD_INSTANCE, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                       view->kind == WMIEV_WNODE_ALL_DATA ? "InstanceCount" : "InstanceIndex", 52,
                       "%s", "static instance index beyond the registered instance count");
      return true;
    }
  }
  bool pdo_flag = (view->flags & WNODE_FLAG_PDO_INSTANCE_NAMES) != 0;
  if (view->static_names && pdo_flag != pdo_block) {
    if (mismatch(f, WMIEV_WARN_PDO_FLAG_MISMATCH, WMIEV_STATUS_INVALID_PARAMETER,
                 pdo_block ? "static-name event for a PDO-named block without "
                             "WNODE_FLAG_PDO_INSTANCE_NAMES"
                           : "WNODE_FLAG_PDO_INSTANCE_NAMES on an event for a block not "
                             "registered with WMIREG_FLAG_INSTANCE_PDO",
                 status)) {
      return true;
    }
  }
  return false;
}

/* Step 3a: the provider's block for the GUID (the registry lock, once per
 * fire call). False (rejected, status in *status) if there is none. */
static bool lookup_block(fire_ctx *f, uint32_t provider_id, const GUID *guid,
                         wmiev_block_info *block, wmiev_status *status) {
  bool device_found = false;
  if (wmiev__registry_find_block(f->bus->registry, provider_id, guid, block, &device_found)) {
    return true;
  }
  if (!device_found) {
    *status = reject(f, WMIEV_REJECT_UNKNOWN_PROVIDER, WMIEV_STATUS_DEVICE_DOES_NOT_EXIST,
                     "WnodeHeader.ProviderId", 4, "%s",
                     "ProviderId names no device (use the device's provider id)");
  } else {
    *status = reject(f, WMIEV_REJECT_GUID_NOT_REGISTERED, WMIEV_STATUS_WMI_GUID_NOT_FOUND,
                     "WnodeHeader.Guid", 24, "%s", "the provider has not registered this GUID");
  }
  return false;
}

void wmiev__warn_not_enabled_hook(wmiev_bus *bus) {
  bus->options.on_warning(WMIEV_WARN_NOT_ENABLED,
                          "event fired for a GUID nobody subscribed to: not delivered",
                          bus->options.warning_ctx);
}

/* No subscriber: counted not_enabled and warned (one lock for both counters;
 * what wmiev__bus_warn() does, with the message it would format). */
static void count_not_enabled(fire_ctx *f) {
  wmiev_bus *bus = f->bus;
  wmiev__mutex_lock(&bus->lock);
  WMIEV__COUNT(bus, f->g, not_enabled);
  bus->stats.warnings[WMIEV_WARN_NOT_ENABLED]++;
  if (f->g != NULL) {
    f->g->stats.warnings[WMIEV_WARN_NOT_ENABLED]++;
  }
  wmiev__mutex_unlock(&bus->lock);
  if (bus->options.on_warning != NULL) {
    wmiev__warn_not_enabled_hook(bus);
  }
}

/* Steps 3b-4 shared by both fire calls, for the block lookup_block() found.
 * On return *deliver tells whether the event goes on (false: not enabled,
 * success). */
static wmiev_status check_registration(fire_ctx *f, uint32_t provider_id,
                                       const wmiev_block_info *found, const wmiev_wnode_view *view,
                                       bool *deliver) {
  wmiev_bus *bus = f->bus;
  *deliver = false;
  wmiev_status status = WMIEV_STATUS_SUCCESS;
  if (view != NULL) {
    if ((view->warnings & WMIEV_WNODE_WARN_UNDEFINED_FLAGS) != 0 &&
        mismatch(f, WMIEV_WARN_UNDEFINED_FLAGS, WMIEV_STATUS_INVALID_PARAMETER,
                 "undefined WNODE flag bits set", &status)) {
      return status;
    }
    if ((view->warnings & WMIEV_WNODE_WARN_TARGET_GUID_MISMATCH) != 0 &&
        mismatch(f, WMIEV_WARN_TARGET_GUID_MISMATCH, WMIEV_STATUS_INVALID_PARAMETER,
                 "event reference whose WnodeHeader.Guid differs from TargetGuid", &status)) {
      return status;
    }
    if (check_names(f, view, found, &status)) {
      return status;
    }
  }
  /* Both read when the call was counted (count_fired). */
  if (!f->listened) {
    count_not_enabled(f);
    return WMIEV_STATUS_SUCCESS;
  }
  if (!f->enabled) {
    wmiev__bus_warn(bus, f->g, WMIEV_WARN_PROVIDER_NOT_ENABLED,
                    "event from provider %lu, which was not (successfully) enabled",
                    (unsigned long)provider_id);
  }
  *deliver = true;
  return WMIEV_STATUS_SUCCESS;
}

/* The queue refused an event: counted as dropped, and every live
 * subscriber told how many it lost (rare: takes `lock`). */
static void count_dropped(wmiev_bus *bus, bus_guid *g) {
  wmiev__mutex_lock(&bus->lock);
  WMIEV__COUNT(bus, g, dropped);
  for (wmiev_subscription *s = g->subs_head; s != NULL; s = s->next) {
    if (!atomic_load_explicit(&s->removed, memory_order_relaxed)) {
      atomic_fetch_add_explicit(&s->lost_pending, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&s->lost_total, 1, memory_order_relaxed);
    }
  }
  wmiev__mutex_unlock(&bus->lock);
}

bool wmiev__enqueue(wmiev_bus *bus, bus_guid *g, wmiev__queued_kind kind, uint32_t provider_id,
                    uint32_t instance_index, int64_t timestamp, const void *payload,
                    size_t payload_size) {
  wmiev__queue_ticket ticket;
  if (WMIEV__UNLIKELY(!wmiev__queue_reserve(&bus->queue, (uint32_t)payload_size, kind, &ticket))) {
    count_dropped(bus, g);
    return false;
  }
  wmiev__queued *record = ticket.record;
  record->guid_slot = g->slot;
  record->provider_id = provider_id;
  record->instance_index = instance_index;
  record->timestamp = timestamp;
  if (payload_size != 0) {
    memcpy(record + 1, payload, payload_size);
  }
  wmiev__queue_commit(&ticket);
  if (ticket.wake) {
    wmiev__bus_call_wakeup(bus); /* the consumer was idle (queue.h) */
  }
  return true;
}

wmiev_status wmiev__dropped_status(wmiev_diag *diag) {
  return wmiev_diag_set(diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "queue", 0, "%s",
                        "the bus's event queue is full: the event was dropped (counted)");
}

wmiev_status wmiev_bus_write_event(wmiev_bus *bus, void *wnode, wmiev_diag *diag) {
  if (bus == NULL || wnode == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "WnodeEventItem", 0, "%s",
                          "NULL bus or WNODE");
  }
  fire_ctx f = {bus, diag, NULL, false, false};
  uint8_t *bytes = wnode;
  /* Flags first, from the header itself: a TRACED_GUID WNODE need not come
   * from wmiev_bus_alloc_event() (it may be on the caller's stack), so the
   * allocation prefix in front of it must not be read. Every WNODE passed
   * here has a whole header (wmiev_bus_alloc_event() allocates at least one). */
  uint32_t flags = 0;
  GUID header_guid;
  memcpy(&flags, bytes + offsetof(WNODE_HEADER, Flags), sizeof flags);
  memcpy(&header_guid, bytes + offsetof(WNODE_HEADER, Guid), sizeof header_guid);
  if ((flags & WNODE_FLAG_TRACED_GUID) != 0) {
    /* For an ETW logger, which the bus does not have; the caller keeps the
     * buffer whatever happens. */
    count_fired(&f, &header_guid, 0);
    wmiev__mutex_lock(&bus->lock);
    WMIEV__COUNT(bus, f.g, traced);
    wmiev__mutex_unlock(&bus->lock);
    return WMIEV_STATUS_SUCCESS;
  }
  /* The allocation's own size bounds every other read, whatever BufferSize claims. */
  size_t allocated = wmiev__bus_event_size(wnode);
  uint32_t buffer_size = 0;
  if (allocated >= sizeof(WNODE_HEADER)) {
    memcpy(&buffer_size, bytes + offsetof(WNODE_HEADER, BufferSize), sizeof buffer_size);
  }
  if (buffer_size > bus->options.max_event_size) {
    count_fired(&f, &header_guid, 0);
    return reject(&f, WMIEV_REJECT_TOO_LARGE, WMIEV_STATUS_BUFFER_OVERFLOW,
                  "WnodeHeader.BufferSize", 0, "%s",
                  "event larger than the bus's maximum event size (send a "
                  "WNODE_EVENT_REFERENCE instead)");
  }
  wmiev_wnode_view view;
  wmiev_diag vdiag;
  wmiev_status status =
      wmiev_wnode_validate(bytes, allocated, WMIEV_VALIDATE_REQUIRE_EVENT, &view, &vdiag);
  if (!WMIEV_SUCCESS(status)) {
    count_fired(&f, allocated >= sizeof(WNODE_HEADER) ? &header_guid : NULL, 0);
    return reject(&f, WMIEV_REJECT_MALFORMED, status, vdiag.field, vdiag.offset, "%s",
                  vdiag.message);
  }
  const GUID *guid = view.kind == WMIEV_WNODE_EVENT_REFERENCE ? &view.target_guid : &view.guid;
  count_fired(&f, guid, view.provider_id);
  wmiev_block_info block;
  if (!lookup_block(&f, view.provider_id, guid, &block, &status)) {
    return status;
  }
  bool deliver = false;
  status = check_registration(&f, view.provider_id, &block, &view, &deliver);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  if (!deliver) {
    wmiev_bus_free_event(bus, wnode);
    return WMIEV_STATUS_SUCCESS;
  }
  if ((view.flags & WNODE_FLAG_USE_TIMESTAMP) == 0) {
    int64_t now = wmiev__bus_now(bus);
    memcpy(bytes + offsetof(WNODE_HEADER, TimeStamp), &now, sizeof now);
    view.timestamp = now;
  }
  if (bus->options.delivery == WMIEV_DELIVERY_SYNC) {
    if (view.kind == WMIEV_WNODE_EVENT_REFERENCE) {
      wmiev__deliver_reference(bus, bytes, &view, f.g);
    } else {
      wmiev__delivery how = {f.g, false};
      wmiev__deliver(bus, bytes, &view, &how);
    }
    wmiev_bus_free_event(bus, wnode);
    return WMIEV_STATUS_SUCCESS;
  }
  if (!wmiev__enqueue(bus, f.g, WMIEV__QUEUED_WNODE, view.provider_id, 0, view.timestamp, bytes,
                      view.buffer_size)) {
    return wmiev__dropped_status(diag);
  }
  wmiev_bus_free_event(bus, wnode);
  return WMIEV_STATUS_SUCCESS;
}

/* The WNODE WmiFireEvent builds (spec §2.8 worked layout), built on request
 * (wmiev_event_wnode, deliver.c), and its view. */
void wmiev__build_fire_wnode(uint8_t *out, wmiev_wnode_view *v, const GUID *guid,
                             uint32_t provider_id, uint32_t instance_index, bool pdo_names,
                             int64_t timestamp, const void *data, uint32_t size) {
  uint32_t flags = WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM |
                   WNODE_FLAG_STATIC_INSTANCE_NAMES |
                   (pdo_names ? WNODE_FLAG_PDO_INSTANCE_NAMES : 0u);
  uint32_t total = (uint32_t)sizeof(WNODE_SINGLE_INSTANCE) + size;
  /* Written in place, field by field (`out` is 8-aligned): building it in a
   * local and copying it over stalled on store forwarding (perf). */
  WNODE_SINGLE_INSTANCE *w = (WNODE_SINGLE_INSTANCE *)(void *)out;
  memset(w, 0, sizeof *w);
  w->WnodeHeader.BufferSize = total;
  w->WnodeHeader.ProviderId = provider_id;
  w->WnodeHeader.TimeStamp.QuadPart = timestamp;
  w->WnodeHeader.Guid = *guid;
  w->WnodeHeader.Flags = flags;
  w->InstanceIndex = instance_index;
  w->DataBlockOffset = (uint32_t)sizeof *w;
  w->SizeDataBlock = size;
  if (size != 0) {
    memcpy(out + sizeof *w, data, size);
  }
  /* The view wmiev_wnode_validate() returns for this WNODE, written directly
   * (perf: the validator costs about 1100 instructions per event, and a
   * WNODE the bus built is valid by construction). Keep in step with it:
   * tests/unit/test_source.c compares every built view with the
   * validator's. Every field by name, without zeroing the view first:
   * compilers turn that into `rep stos`, whose start-up cost showed in the
   * profile. A field added to wmiev_wnode_view must be added here. */
  v->kind = WMIEV_WNODE_SINGLE_INSTANCE;
  v->base = out;
  v->buffer_size = total;
  v->provider_id = provider_id;
  v->historical_context = 0;
  v->timestamp = timestamp;
  v->guid = *guid;
  v->client_context = 0;
  v->flags = flags;
  v->is_event = true;
  v->static_names = true;
  v->severity = 0;
  v->warnings = 0;
  v->instance.has_name = false;
  v->instance.name = NULL;
  v->instance.name_bytes = 0;
  v->instance.name_offset = 0;
  v->instance.index = instance_index;
  v->instance.data = size != 0 ? out + sizeof(WNODE_SINGLE_INSTANCE) : NULL;
  v->instance.data_offset = (uint32_t)sizeof(WNODE_SINGLE_INSTANCE);
  v->instance.size = size;
  v->item_id = 0;
  v->data_block_offset = (uint32_t)sizeof(WNODE_SINGLE_INSTANCE);
  v->instance_count = 1;
  v->fixed_instance_size = false;
  v->fixed_size = 0;
  v->names_present = false;
  memset(&v->target_guid, 0, sizeof v->target_guid);
  v->size_needed = 0;
}

void wmiev__fire_event_fill(wmiev_event *ev, wmiev__event_origin *origin, const GUID *guid,
                            uint32_t provider_id, uint32_t instance_index, bool pdo_names,
                            int64_t timestamp, const void *data, uint32_t size) {
  /* What wmiev__event_fill() makes of the WNODE this event would be, and
   * what building it later takes (the fields, the PDO flag): no WNODE, no
   * copy of the data (decisions D21). Every field by name, without zeroing
   * the event first: compilers turn that into `rep stos`, whose start-up
   * cost showed in the profile. A field added to wmiev_event must be added
   * here. */
  origin->wnode = NULL;
  origin->view = NULL;
  origin->pdo_names = pdo_names;
  ev->guid = *guid;
  ev->provider_id = provider_id;
  ev->timestamp = timestamp;
  ev->has_name = false;
  ev->instance_index = instance_index;
  ev->name_utf16 = NULL;
  ev->name_units = 0;
  ev->data = size != 0 ? data : NULL;
  ev->data_size = size;
  ev->lost_before = 0;
  ev->from_reference = false;
  ev->internal = NULL;
}

wmiev_status wmiev_bus_fire_event(wmiev_bus *bus, wmiev_device *device, const GUID *guid,
                                  uint32_t instance_index, const void *data, uint32_t size,
                                  wmiev_diag *diag) {
  if (bus == NULL || device == NULL || guid == NULL || (data == NULL && size != 0)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "arguments", 0, "%s",
                          "NULL bus, device or GUID, or NULL data with a size");
  }
  /* Looked up by provider and GUID on every call; wmiev_source_fire() is
   * the form that does it once (source.c, decisions D17). */
  return wmiev__fire_event_general(bus, wmiev_device_provider_id(device), guid, instance_index,
                                   data, size, diag);
}

wmiev_status wmiev__fire_event_general(wmiev_bus *bus, uint32_t provider_id, const GUID *guid,
                                       uint32_t instance_index, const void *data, uint32_t size,
                                       wmiev_diag *diag) {
  fire_ctx f = {bus, diag, NULL, false, false};
  count_fired(&f, guid, provider_id);
  if ((uint64_t)sizeof(WNODE_SINGLE_INSTANCE) + size > bus->options.max_event_size) {
    return reject(&f, WMIEV_REJECT_TOO_LARGE, WMIEV_STATUS_BUFFER_OVERFLOW, "EventDataSize", 0,
                  "%s", "event larger than the bus's maximum event size");
  }
  /* The WNODE this builds is static-name by construction, PDO-flagged when
   * the block is PDO-named: check it like a driver-built one. */
  wmiev_block_info block;
  wmiev_status status;
  if (!lookup_block(&f, provider_id, guid, &block, &status)) {
    return status;
  }
  wmiev_wnode_view view;
  memset(&view, 0, sizeof view);
  view.kind = WMIEV_WNODE_SINGLE_INSTANCE;
  view.static_names = true;
  view.is_event = true;
  view.instance.index = instance_index;
  view.flags = block.names == WMIEV_NAMES_PDO ? WNODE_FLAG_PDO_INSTANCE_NAMES : 0u;
  bool deliver = false;
  status = check_registration(&f, provider_id, &block, &view, &deliver);
  if (!WMIEV_SUCCESS(status) || !deliver) {
    return status;
  }
  return wmiev__fire_checked(bus, f.g, provider_id, instance_index,
                             (view.flags & WNODE_FLAG_PDO_INSTANCE_NAMES) != 0, data, size, diag);
}

wmiev_status wmiev__fire_checked(wmiev_bus *bus, bus_guid *g, uint32_t provider_id,
                                 uint32_t instance_index, bool pdo_names, const void *data,
                                 uint32_t size, wmiev_diag *diag) {
  int64_t now = wmiev__bus_now(bus);
  if (bus->options.delivery != WMIEV_DELIVERY_SYNC) {
    if (!wmiev__enqueue(bus, g, pdo_names ? WMIEV__QUEUED_FIRE_PDO : WMIEV__QUEUED_FIRE,
                        provider_id, instance_index, now, data, size)) {
      return wmiev__dropped_status(diag);
    }
    return WMIEV_STATUS_SUCCESS;
  }
  /* Delivered with the caller's data in place: the WNODE is built only if
   * a subscriber asks for it (wmiev_event_wnode; decisions D21). */
  wmiev_event ev;
  wmiev__event_origin origin;
  wmiev__fire_event_fill(&ev, &origin, &g->guid, provider_id, instance_index, pdo_names, now, data,
                         size);
  wmiev__deliver_event(bus, g, &ev, &origin);
  return WMIEV_STATUS_SUCCESS;
}
