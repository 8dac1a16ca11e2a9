/*
 * IoWMIRegistrationControl: the registration handshake (spec §3.4, §4.3).
 *
 * REGISTER/REREGISTER/UPDATE_GUIDS ask the device for its WMIREGINFO with a
 * real IRP_MN_REGINFO_EX (falling back to IRP_MN_REGINFO), grow the buffer
 * as the device asks, validate the answer completely, build the new blocks
 * outside the lock, and only then commit them in one step: a malformed
 * answer or an allocation failure registers nothing. Observers hear of each
 * change after the lock is released.
 */
#include <string.h>

#include <wmiev/name.h>

#include "registry_internal.h"

/* A device asking for more than this for its registration data is broken. */
#define REGINFO_MAX_SIZE (16u * 1024u * 1024u)
/* Growth rounds before giving up on a device that keeps asking for more. */
#define REGINFO_MAX_ROUNDS 16

typedef struct reginfo_answer {
  uint8_t *bytes;
  uint32_t alloc_size;
  uint32_t size; /* Information: bytes the device wrote */
} reginfo_answer;

static void answer_free(wmiev_registry *registry, reginfo_answer *answer) {
  wmiev__free(registry, answer->bytes, answer->alloc_size);
  answer->bytes = NULL;
}

/* A REGINFO answer failed validation (not: we ran out of memory). */
static void count_rejected(wmiev_registry *registry) {
  wmiev__mutex_lock(&registry->lock);
  registry->stats.rejected_reginfo++;
  wmiev__mutex_unlock(&registry->lock);
}

/* True when the stack did not handle REGINFO_EX at all, so that the
 * Windows 2000 form is worth a try (spec §4.2): the status a stack completes
 * an unhandled IRP with, or the one drivers use for minors they do not know.
 * Our own failures (out of memory, IRPs blocked) and the device's real
 * answers are final. */
static bool reginfo_ex_unhandled(wmiev_status status) {
  return status == WMIEV_STATUS_NOT_SUPPORTED || status == WMIEV_STATUS_INVALID_DEVICE_REQUEST;
}

/* Sends REGINFO(_EX) until the device answers with a whole record. */
static wmiev_status query_reginfo(wmiev_device *device, uintptr_t data_path,
                                  reginfo_answer *answer, wmiev_diag *diag) {
  wmiev_registry *registry = device->registry;
  uint32_t size = registry->options.reginfo_initial_size;
  uint8_t minor = IRP_MN_REGINFO_EX;
  for (int round = 0; round < REGINFO_MAX_ROUNDS; round++) {
    uint8_t *buf = wmiev__alloc(registry, size);
    if (buf == NULL) {
      return wmiev_diag_set(diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "REGINFO buffer", 0,
                            "cannot allocate %u bytes for the registration query", size);
    }
    memset(buf, 0, size);
    wmiev_io_status io;
    wmiev_status status =
        wmiev__send_wmi_irp(device, minor, (void *)data_path, buf, size, true, &io);
    /* Two ways to say "too small": the documented STATUS_BUFFER_TOO_SMALL,
     * and STATUS_SUCCESS with only the 4-byte size written (Microsoft's
     * classpnp sample). Either way the needed size is the first ULONG. */
    bool asks_more = status == WMIEV_STATUS_BUFFER_TOO_SMALL ||
                     (status == WMIEV_STATUS_SUCCESS && io.Information == sizeof(uint32_t));
    if (WMIEV_SUCCESS(status) && !asks_more) {
      if (io.Information < sizeof(WMIREGINFOW) || io.Information > size) {
        wmiev__free(registry, buf, size);
        count_rejected(registry);
        if (io.Information > size) {
          wmiev__report_violation(registry, WMIEV_VIOLATION_BAD_REPLY,
                                  "device '%s' answered REGINFO with Information %zu for a "
                                  "%u-byte buffer",
                                  device->name, (size_t)io.Information, size);
        }
        return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "IoStatus.Information", 0,
                              "device '%s' answered REGINFO with %zu bytes for a %u-byte "
                              "buffer: not a WMIREGINFO",
                              device->name, (size_t)io.Information, size);
      }
      answer->bytes = buf;
      answer->alloc_size = size;
      answer->size = (uint32_t)io.Information;
      return WMIEV_STATUS_SUCCESS;
    }
    if (asks_more) {
      uint32_t needed = 0;
      if (size >= sizeof needed) {
        memcpy(&needed, buf, sizeof needed);
      }
      wmiev__free(registry, buf, size);
      if (needed <= size || needed > REGINFO_MAX_SIZE) {
        count_rejected(registry);
        return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "REGINFO size needed", 0,
                              "device '%s' asked for %u bytes of registration data with a "
                              "%u-byte buffer (must be larger, at most %u)",
                              device->name, needed, size, REGINFO_MAX_SIZE);
      }
      size = needed;
      continue;
    }
    wmiev__free(registry, buf, size);
    if (minor == IRP_MN_REGINFO_EX && reginfo_ex_unhandled(status)) {
      /* Not answered in the XP form: ask the Windows 2000 way (spec §4.2). */
      minor = IRP_MN_REGINFO;
      continue;
    }
    return wmiev_diag_set(diag, status, "IoStatus.Status", 0,
                          "device '%s' failed IRP_MN_REGINFO%s with %s", device->name,
                          minor == IRP_MN_REGINFO_EX ? "_EX" : "", wmiev_status_name(status));
  }
  count_rejected(registry);
  return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "REGINFO size needed", 0,
                        "device '%s' kept asking for a larger REGINFO buffer", device->name);
}

/* Copies a wire string, dropping one trailing NUL unit (decisions: names). */
static uint16_t *copy_wire_units(wmiev_registry *registry, wmiev_wire_string s, size_t *units) {
  size_t n = s.bytes / 2u;
  if (n > 0 && s.chars[2 * n - 2] == 0 && s.chars[2 * n - 1] == 0) {
    n--;
  }
  *units = n;
  return wmiev__units_dup(registry, s.chars, n);
}

/* Longest device instance id accepted (Windows' MAX_DEVICE_ID_LEN is 200). */
#define INSTANCE_ID_MAX 512

/* Copies the PDO's instance id into `copy` while the lock is held, so a PDO
 * destroyed during the registration cannot leave us reading freed memory. */
static wmiev_status resolve_pdo(wmiev_registry *registry, uintptr_t pdo,
                                char copy[INSTANCE_ID_MAX]) {
  const char *instance_id = NULL;
  if (registry->options.resolve_pdo != NULL) {
    wmiev_status status =
        registry->options.resolve_pdo(pdo, &instance_id, registry->options.resolve_pdo_ctx);
    if (!WMIEV_SUCCESS(status) || instance_id == NULL || strlen(instance_id) >= INSTANCE_ID_MAX) {
      return WMIEV_STATUS_INVALID_PARAMETER;
    }
    memcpy(copy, instance_id, strlen(instance_id) + 1);
    return WMIEV_STATUS_SUCCESS;
  }
  wmiev_status status = WMIEV_STATUS_INVALID_PARAMETER;
  wmiev__mutex_lock(&registry->lock);
  wmiev_device *device = wmiev__map_get(&registry->devices_by_ptr, wmiev__key_from_u64(pdo));
  if (device != NULL && device->instance_id != NULL &&
      strlen(device->instance_id) < INSTANCE_ID_MAX) {
    memcpy(copy, device->instance_id, strlen(device->instance_id) + 1);
    status = WMIEV_STATUS_SUCCESS;
  }
  wmiev__mutex_unlock(&registry->lock);
  return status;
}

static wmiev_status fill_pdo_name(wmiev_registry *registry, wmiev__block *block, uintptr_t pdo,
                                  uint32_t entry_offset, wmiev_diag *diag) {
  char instance_id[INSTANCE_ID_MAX];
  if (!WMIEV_SUCCESS(resolve_pdo(registry, pdo, instance_id))) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "WmiRegGuid.Pdo",
                          entry_offset + (uint32_t)offsetof(WMIREGGUIDW, Pdo),
                          "Pdo 0x%zx is not a device with a device instance id (of at most "
                          "%d characters)",
                          (size_t)pdo, INSTANCE_ID_MAX - 1);
  }
  size_t len = strlen(instance_id);
  size_t units = 0;
  /* The sizing call "fails" with BUFFER_TOO_SMALL by design: keep that out
   * of the caller's diag, which must describe the call's own outcome. */
  wmiev_diag sizing;
  wmiev_status status = wmiev_name_utf8_to_utf16(instance_id, len, 0, NULL, 0, &units, &sizing);
  if (status != WMIEV_STATUS_BUFFER_TOO_SMALL && !WMIEV_SUCCESS(status)) {
    if (diag != NULL) {
      *diag = sizing;
    }
    return status;
  }
  block->units = wmiev__alloc(registry, units == 0 ? 1 : units * 2);
  if (block->units == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  block->units_count = units;
  if (units != 0) {
    status = wmiev_name_utf8_to_utf16(instance_id, len, 0, block->units, units, &units, diag);
  }
  return WMIEV_SUCCESS(status) || units == 0 ? WMIEV_STATUS_SUCCESS : status;
}

static wmiev_status fill_list_names(wmiev_registry *registry, const wmiev_reginfo_view *view,
                                    const wmiev_reginfo_block_view *bv, wmiev__block *block) {
  size_t total = 0;
  for (uint32_t i = 0; i < bv->instance_count; i++) {
    wmiev_wire_string s;
    (void)wmiev_reginfo_list_name(view, bv, i, &s); /* validated already */
    total += s.bytes / 2u;
  }
  block->list_start =
      wmiev__alloc(registry, ((size_t)bv->instance_count + 1) * sizeof block->list_start[0]);
  block->units = wmiev__alloc(registry, total == 0 ? 1 : total * 2);
  block->units_count = total;
  if (block->list_start == NULL || block->units == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  size_t at = 0;
  for (uint32_t i = 0; i < bv->instance_count; i++) {
    wmiev_wire_string s;
    (void)wmiev_reginfo_list_name(view, bv, i, &s);
    size_t n = s.bytes / 2u;
    if (n > 0) {
      memcpy(block->units + at, s.chars, n * 2);
    }
    block->list_start[i] = (uint32_t)at;
    /* Drop a trailing NUL from the stored name (decisions: names). */
    if (n > 0 && block->units[at + n - 1] == 0) {
      n--;
    }
    at += n;
  }
  block->list_start[bv->instance_count] = (uint32_t)at;
  return WMIEV_STATUS_SUCCESS;
}

/* Builds one block from a validated entry (outside the lock). */
static wmiev_status build_block(wmiev_device *device, const wmiev_reginfo_view *view,
                                const wmiev_reginfo_block_view *bv, wmiev__block **out,
                                wmiev_diag *diag) {
  wmiev_registry *registry = device->registry;
  wmiev__block *block = wmiev__alloc(registry, sizeof *block);
  if (block == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "block", bv->entry_offset,
                          "out of memory");
  }
  memset(block, 0, sizeof *block);
  block->guid = bv->guid;
  block->device = device;
  block->flags = bv->flags;
  block->names = bv->names;
  block->instance_count = bv->names == WMIEV_NAMES_DYNAMIC ? 0 : bv->instance_count;
  wmiev_status status = WMIEV_STATUS_SUCCESS;
  switch (bv->names) {
  case WMIEV_NAMES_BASENAME:
    block->units = copy_wire_units(registry, bv->base_name, &block->units_count);
    status = block->units != NULL ? WMIEV_STATUS_SUCCESS : WMIEV_STATUS_INSUFFICIENT_RESOURCES;
    break;
  case WMIEV_NAMES_PDO:
    status = fill_pdo_name(registry, block, bv->pdo, bv->entry_offset, diag);
    break;
  case WMIEV_NAMES_LIST:
    status = fill_list_names(registry, view, bv, block);
    break;
  case WMIEV_NAMES_DYNAMIC:
  default:
    break;
  }
  if (!WMIEV_SUCCESS(status)) {
    wmiev__block_free(registry, block);
    if (status == WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
      wmiev_diag_set(diag, status, "block", bv->entry_offset, "out of memory");
    }
    return status;
  }
  *out = block;
  return WMIEV_STATUS_SUCCESS;
}

static void free_block_list(wmiev_registry *registry, wmiev__block *list) {
  while (list != NULL) {
    wmiev__block *next = list->next;
    wmiev__block_free(registry, list);
    list = next;
  }
}

static bool same_block(const wmiev__block *a, const wmiev__block *b) {
  if (a->flags != b->flags || a->instance_count != b->instance_count || a->names != b->names ||
      a->units_count != b->units_count) {
    return false;
  }
  if (a->units_count != 0 && memcmp(a->units, b->units, a->units_count * 2) != 0) {
    return false;
  }
  return a->names != WMIEV_NAMES_LIST ||
         memcmp(a->list_start, b->list_start,
                ((size_t)a->instance_count + 1) * sizeof a->list_start[0]) == 0;
}

/* The answer's blocks, built and in order; removals kept apart (UPDATE). */
typedef struct built_answer {
  wmiev__block *adds; /* in answer order */
  size_t add_count;
  GUID *removes;
  size_t remove_count;
  size_t remove_capacity; /* GUIDs allocated: remove_count is short if building failed */
  uint16_t *registry_path;
  size_t registry_path_units;
  uint16_t *mof_resource;
  size_t mof_resource_units;
} built_answer;

static void built_free(wmiev_registry *registry, built_answer *built) {
  free_block_list(registry, built->adds);
  wmiev__free(registry, built->removes, built->remove_capacity * sizeof(GUID));
  if (built->registry_path != NULL) {
    wmiev__units_free(registry, built->registry_path, built->registry_path_units);
  }
  if (built->mof_resource != NULL) {
    wmiev__units_free(registry, built->mof_resource, built->mof_resource_units);
  }
  memset(built, 0, sizeof *built);
}

static wmiev_status build_answer(wmiev_device *device, const reginfo_answer *answer,
                                 bool update, built_answer *built, wmiev_diag *diag) {
  wmiev_registry *registry = device->registry;
  memset(built, 0, sizeof *built);
  wmiev_reginfo_view view;
  wmiev_status status = wmiev_reginfo_validate(answer->bytes, answer->size,
                                               update ? WMIEV_REGINFO_UPDATE : 0, &view, diag);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  if (!update) {
    wmiev_reginfo_record_view record;
    (void)wmiev_reginfo_record(&view, 0, &record);
    if (record.registry_path.chars != NULL) {
      built->registry_path =
          copy_wire_units(registry, record.registry_path, &built->registry_path_units);
    }
    if (record.mof_resource.chars != NULL) {
      built->mof_resource =
          copy_wire_units(registry, record.mof_resource, &built->mof_resource_units);
    }
    if ((record.registry_path.chars != NULL && built->registry_path == NULL) ||
        (record.mof_resource.chars != NULL && built->mof_resource == NULL)) {
      built_free(registry, built);
      return wmiev_diag_set(diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "WMIREGINFO", 0,
                            "out of memory");
    }
  }
  size_t removes = 0;
  for (uint32_t i = 0; i < view.block_count; i++) {
    wmiev_reginfo_block_view bv;
    (void)wmiev_reginfo_block(&view, i, &bv);
    removes += bv.remove ? 1u : 0u;
  }
  if (removes != 0) {
    built->removes = wmiev__alloc(registry, removes * sizeof(GUID));
    built->remove_capacity = built->removes != NULL ? removes : 0;
    if (built->removes == NULL) {
      built_free(registry, built);
      return wmiev_diag_set(diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "WMIREGINFO", 0,
                            "out of memory");
    }
  }
  wmiev__block **tail = &built->adds;
  for (uint32_t i = 0; i < view.block_count; i++) {
    wmiev_reginfo_block_view bv;
    (void)wmiev_reginfo_block(&view, i, &bv);
    if (bv.remove) {
      built->removes[built->remove_count++] = bv.guid;
      continue;
    }
    for (const wmiev__block *b = built->adds; b != NULL; b = b->next) {
      if (memcmp(&b->guid, &bv.guid, sizeof(GUID)) == 0) {
        built_free(registry, built);
        return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "WmiRegGuid.Guid",
                              bv.entry_offset,
                              "the same GUID appears twice in one registration answer");
      }
    }
    wmiev__block *block = NULL;
    status = build_block(device, &view, &bv, &block, diag);
    if (!WMIEV_SUCCESS(status)) {
      built_free(registry, built);
      return status;
    }
    *tail = block;
    tail = &block->next;
    built->add_count++;
  }
  return WMIEV_STATUS_SUCCESS;
}

/* ---- Change notifications ---------------------------------------------------- */

typedef struct change_list {
  wmiev_registry_event *events;
  size_t count;
  size_t capacity;
} change_list;

static wmiev_status changes_reserve(wmiev_registry *registry, change_list *changes, size_t n) {
  changes->count = 0;
  changes->capacity = n;
  changes->events = NULL;
  if (n == 0) {
    return WMIEV_STATUS_SUCCESS;
  }
  changes->events = wmiev__alloc(registry, n * sizeof *changes->events);
  return changes->events != NULL ? WMIEV_STATUS_SUCCESS : WMIEV_STATUS_INSUFFICIENT_RESOURCES;
}

static void event_of(wmiev_registry_event_kind kind, const wmiev__block *block,
                     wmiev_registry_event *e) {
  e->kind = kind;
  e->guid = block->guid;
  e->device = block->device;
  e->provider_id = block->device->provider_id;
  e->flags = block->flags;
}

/* Callers size the list under the lock they change the blocks under, so
 * nothing is ever dropped here; NULL means "nobody collects". */
static void changes_add(change_list *changes, wmiev_registry_event_kind kind,
                        const wmiev__block *block) {
  if (changes != NULL && changes->count < changes->capacity) {
    event_of(kind, block, &changes->events[changes->count++]);
  }
}

/* REMOVED for every block of a detached list, which stays alive until the
 * caller frees it afterwards: no event list to allocate, so DEREGISTER (and
 * with it wmiev_device_destroy) cannot fail for want of memory. */
static void publish_removed(wmiev_registry *registry, const wmiev__block *list) {
  if (registry->options.observer == NULL) {
    return;
  }
  for (const wmiev__block *b = list; b != NULL; b = b->next) {
    wmiev_registry_event e;
    event_of(WMIEV_BLOCK_REMOVED, b, &e);
    registry->options.observer(&e, registry->options.observer_ctx);
  }
}

static void changes_notify(wmiev_registry *registry, const change_list *changes, size_t from,
                           size_t to) {
  if (registry->options.observer != NULL) {
    for (size_t i = from; i < to; i++) {
      registry->options.observer(&changes->events[i], registry->options.observer_ctx);
    }
  }
}

static void changes_publish(wmiev_registry *registry, change_list *changes) {
  changes_notify(registry, changes, 0, changes->count);
  wmiev__free(registry, changes->events, changes->capacity * sizeof *changes->events);
}

/* ---- Actions ------------------------------------------------------------------ */

static size_t count_blocks(const wmiev__block *list) {
  size_t n = 0;
  for (; list != NULL; list = list->next) {
    n++;
  }
  return n;
}

/* Waits (lock held) until no WMI IRP to the device is in flight, at most the
 * IRP timeout. Returns false if some are still out. */
static bool drain_inflight(wmiev_registry *registry, wmiev_device *device) {
  uint64_t deadline =
      wmiev__monotonic_ns() + (uint64_t)registry->options.irp_timeout_ms * 1000000u;
  while (device->inflight != 0) {
    uint64_t now = wmiev__monotonic_ns();
    if (now >= deadline) {
      return false;
    }
    (void)wmiev__cond_timedwait(&registry->irp_done, &registry->lock,
                                (uint32_t)((deadline - now + 999999u) / 1000000u));
  }
  return true;
}

/* Removes every block of the device from the GUID table (lock held) and
 * returns the detached list. */
static wmiev__block *detach_all_blocks(wmiev_registry *registry, wmiev_device *device,
                                       change_list *changes) {
  wmiev__block *list = device->blocks;
  for (wmiev__block *b = list; b != NULL; b = b->next) {
    wmiev__guid_entry_remove(registry, b);
    changes_add(changes, WMIEV_BLOCK_REMOVED, b);
  }
  device->blocks = NULL;
  return list;
}

/* Adds a list of blocks to the GUID table (lock held); all or nothing. */
static wmiev_status attach_blocks(wmiev_registry *registry, wmiev__block *list) {
  for (wmiev__block *b = list; b != NULL; b = b->next) {
    b->order = registry->next_block_order++;
    wmiev_status status = wmiev__guid_entry_add(registry, b);
    if (!WMIEV_SUCCESS(status)) {
      for (wmiev__block *undo = list; undo != b; undo = undo->next) {
        wmiev__guid_entry_remove(registry, undo);
      }
      return status;
    }
  }
  return WMIEV_STATUS_SUCCESS;
}

static void replace_strings(wmiev_device *device, built_answer *built) {
  uint16_t *old_path = device->registry_path;
  size_t old_path_units = device->registry_path_units;
  uint16_t *old_mof = device->mof_resource;
  size_t old_mof_units = device->mof_resource_units;
  device->registry_path = built->registry_path;
  device->registry_path_units = built->registry_path_units;
  device->mof_resource = built->mof_resource;
  device->mof_resource_units = built->mof_resource_units;
  built->registry_path = old_path;
  built->registry_path_units = old_path_units;
  built->mof_resource = old_mof;
  built->mof_resource_units = old_mof_units;
}

/* REGISTER and REREGISTER: everything the device has is replaced. */
static wmiev_status do_register(wmiev_device *device, bool reregister, wmiev_diag *diag) {
  wmiev_registry *registry = device->registry;
  wmiev__mutex_lock(&registry->lock);
  wmiev__reg_state state = device->reg_state;
  wmiev__mutex_unlock(&registry->lock);
  if (!reregister && state != WMIEV__UNREGISTERED) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "Action", 0,
                          "device '%s' is already registered: use REREGISTER or UPDATE_GUIDS",
                          device->name);
  }
  reginfo_answer answer = {0};
  wmiev_status status = query_reginfo(device, WMIREGISTER, &answer, diag);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  built_answer built;
  status = build_answer(device, &answer, false, &built, diag);
  answer_free(registry, &answer);
  if (!WMIEV_SUCCESS(status)) {
    if (status != WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
      count_rejected(registry);
    }
    return status;
  }
  /* Under the lock that commits, look at the device again (another thread
   * may have registered, updated or deregistered it since the check above)
   * and size the event list from what is really there. */
  change_list changes = {0};
  wmiev__block *old = NULL;
  size_t removed = 0;
  wmiev__mutex_lock(&registry->lock);
  bool raced = !reregister && device->reg_state != WMIEV__UNREGISTERED;
  if (!raced) {
    status = changes_reserve(registry, &changes, count_blocks(device->blocks) + built.add_count);
    if (WMIEV_SUCCESS(status)) {
      status = attach_blocks(registry, built.adds);
    }
    if (WMIEV_SUCCESS(status)) {
      old = detach_all_blocks(registry, device, &changes);
      removed = changes.count;
      device->blocks = built.adds;
      built.adds = NULL;
      for (wmiev__block *b = device->blocks; b != NULL; b = b->next) {
        changes_add(&changes, WMIEV_BLOCK_ADDED, b);
      }
      replace_strings(device, &built);
      device->reg_state = WMIEV__REGISTERED;
      registry->stats.registrations++;
      /* REREGISTER is DEREGISTER + REGISTER (spec §5.1): until the observers
       * have heard the old blocks go, the device takes no WMI IRP. Otherwise
       * an ENABLE sent meanwhile for a new block (a first subscriber racing
       * this call) would be forgotten with the old block and sent again for
       * the new one: two ENABLEs in a row. */
      if (removed != 0) {
        device->deregistering = true;
      }
    }
  }
  wmiev__mutex_unlock(&registry->lock);
  if (raced || !WMIEV_SUCCESS(status)) {
    changes.count = 0;
    changes_publish(registry, &changes);
    built_free(registry, &built);
    if (raced) {
      return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "Action", 0,
                            "device '%s' was registered by another thread meanwhile", device->name);
    }
    return wmiev_diag_set(diag, status, "registry", 0, "out of memory");
  }
  if (removed != 0) {
    changes_notify(registry, &changes, 0, removed);
    wmiev__mutex_lock(&registry->lock);
    device->deregistering = false;
    wmiev__mutex_unlock(&registry->lock);
    changes_notify(registry, &changes, removed, changes.count);
    changes.count = 0;
  }
  changes_publish(registry, &changes);
  free_block_list(registry, old);
  built_free(registry, &built);
  return WMIEV_STATUS_SUCCESS;
}

static wmiev__block **find_own_block(wmiev_device *device, const GUID *guid) {
  for (wmiev__block **link = &device->blocks; *link != NULL; link = &(*link)->next) {
    if (memcmp(&(*link)->guid, guid, sizeof *guid) == 0) {
      return link;
    }
  }
  return NULL;
}

/* True if @p block of an UPDATE answer is new to the device once the
 * answer's REMOVE_GUID entries (applied first) are gone. Lock held. */
static bool is_new_block(wmiev_device *device, const built_answer *built,
                         const wmiev__block *block) {
  if (find_own_block(device, &block->guid) == NULL) {
    return true;
  }
  for (size_t i = 0; i < built->remove_count; i++) {
    if (memcmp(&built->removes[i], &block->guid, sizeof(GUID)) == 0) {
      return true;
    }
  }
  return false;
}

/* UPDATE_GUIDS: add new blocks, replace changed ones, remove REMOVE_GUID ones. */
static wmiev_status do_update(wmiev_device *device, wmiev_diag *diag) {
  wmiev_registry *registry = device->registry;
  wmiev__mutex_lock(&registry->lock);
  bool registered = device->reg_state != WMIEV__UNREGISTERED;
  wmiev__mutex_unlock(&registry->lock);
  if (!registered) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "Action", 0,
                          "UPDATE_GUIDS for device '%s', which is not registered", device->name);
  }
  reginfo_answer answer = {0};
  wmiev_status status = query_reginfo(device, WMIUPDATE, &answer, diag);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  built_answer built;
  status = build_answer(device, &answer, true, &built, diag);
  answer_free(registry, &answer);
  if (!WMIEV_SUCCESS(status)) {
    if (status != WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
      count_rejected(registry);
    }
    return status;
  }
  change_list changes;
  if (!WMIEV_SUCCESS(changes_reserve(registry, &changes, built.add_count + built.remove_count))) {
    built_free(registry, &built);
    return wmiev_diag_set(diag, WMIEV_STATUS_INSUFFICIENT_RESOURCES, "registry", 0,
                          "out of memory");
  }
  wmiev__block *retired = NULL; /* replaced or removed blocks, freed after publishing */
  wmiev__mutex_lock(&registry->lock);
  if (device->reg_state == WMIEV__UNREGISTERED) {
    /* Deregistered by another thread while we asked: nothing to update. */
    wmiev__mutex_unlock(&registry->lock);
    changes_publish(registry, &changes);
    built_free(registry, &built);
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "Action", 0,
                          "device '%s' was deregistered during UPDATE_GUIDS", device->name);
  }
  /* All or nothing: the blocks new to the device enter the GUID table first,
   * the only step that can fail (and is undone if it does); removals and
   * replacements below cannot fail. */
  wmiev__block *fresh = built.adds;
  for (; fresh != NULL; fresh = fresh->next) {
    if (is_new_block(device, &built, fresh)) {
      fresh->order = registry->next_block_order++;
      status = wmiev__guid_entry_add(registry, fresh);
      if (!WMIEV_SUCCESS(status)) {
        break;
      }
    }
  }
  if (!WMIEV_SUCCESS(status)) {
    for (wmiev__block *undo = built.adds; undo != fresh; undo = undo->next) {
      if (is_new_block(device, &built, undo)) {
        wmiev__guid_entry_remove(registry, undo);
      }
    }
    wmiev__mutex_unlock(&registry->lock);
    changes_publish(registry, &changes);
    built_free(registry, &built);
    return wmiev_diag_set(diag, status, "registry", 0, "out of memory while applying an update");
  }
  for (size_t i = 0; i < built.remove_count; i++) {
    wmiev__block **link = find_own_block(device, &built.removes[i]);
    if (link != NULL) {
      wmiev__block *gone = *link;
      *link = gone->next;
      wmiev__guid_entry_remove(registry, gone);
      changes_add(&changes, WMIEV_BLOCK_REMOVED, gone);
      gone->next = retired;
      retired = gone;
    }
  }
  while (built.adds != NULL) {
    fresh = built.adds;
    built.adds = fresh->next;
    fresh->next = NULL;
    wmiev__block **link = find_own_block(device, &fresh->guid);
    if (link == NULL) {
      /* New: already in the GUID table (above). Appended, so that the
       * device's list, and the REMOVED events of DEREGISTER, stay in
       * registration order. */
      wmiev__block **tail = &device->blocks;
      while (*tail != NULL) {
        tail = &(*tail)->next;
      }
      *tail = fresh;
      changes_add(&changes, WMIEV_BLOCK_ADDED, fresh);
      continue;
    }
    if (same_block(*link, fresh)) {
      fresh->next = retired; /* identical entry: nothing changes */
      retired = fresh;
      continue;
    }
    /* Changed: the new block takes the old one's place (and its order). */
    wmiev__block *old = *link;
    fresh->order = old->order;
    fresh->next = old->next;
    *link = fresh;
    wmiev__guid_entry *entry = wmiev__map_get(&registry->guids, wmiev__key_from_guid(&old->guid));
    for (size_t k = 0; entry != NULL && k < entry->count; k++) {
      if (entry->blocks[k] == old) {
        entry->blocks[k] = fresh;
      }
    }
    changes_add(&changes, WMIEV_BLOCK_CHANGED, fresh);
    old->next = retired;
    retired = old;
  }
  registry->stats.updates++;
  wmiev__mutex_unlock(&registry->lock);
  changes_publish(registry, &changes);
  free_block_list(registry, retired);
  built_free(registry, &built);
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status do_deregister(wmiev_device *device, wmiev_diag *diag) {
  wmiev_registry *registry = device->registry;
  if (wmiev__in_dispatch_for(device)) {
    wmiev__report_violation(registry, WMIEV_VIOLATION_DEREGISTER_IN_DISPATCH,
                            "device '%s' called DEREGISTER from inside its own system-control "
                            "dispatch: on Windows this waits for the IRP being dispatched and "
                            "deadlocks",
                            device->name);
    return wmiev_diag_set(diag, WMIEV_STATUS_POSSIBLE_DEADLOCK, "Action", 0,
                          "DEREGISTER from inside the device's own dispatch routine");
  }
  wmiev__mutex_lock(&registry->lock);
  if (device->reg_state == WMIEV__UNREGISTERED || device->deregistering) {
    wmiev__mutex_unlock(&registry->lock);
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "Action", 0,
                          "DEREGISTER for device '%s', which is not registered", device->name);
  }
  device->deregistering = true;
  bool drained = drain_inflight(registry, device);
  wmiev__block *old = detach_all_blocks(registry, device, NULL);
  device->reg_state = WMIEV__UNREGISTERED;
  device->deregistering = false;
  built_answer strings = {0};
  replace_strings(device, &strings); /* takes the old strings out, to free below */
  registry->stats.deregistrations++;
  wmiev__mutex_unlock(&registry->lock);
  if (!drained) {
    wmiev__report_violation(registry, WMIEV_VIOLATION_PENDING_TIMEOUT,
                            "DEREGISTER of device '%s' gave up waiting for WMI IRPs in flight "
                            "after %u ms",
                            device->name, (unsigned)registry->options.irp_timeout_ms);
  }
  publish_removed(registry, old);
  free_block_list(registry, old);
  built_free(registry, &strings);
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status do_block_irps(wmiev_device *device, wmiev_diag *diag) {
  wmiev_registry *registry = device->registry;
  if (wmiev__in_dispatch_for(device)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_POSSIBLE_DEADLOCK, "Action", 0,
                          "BLOCK_IRPS from inside the device's own dispatch routine");
  }
  wmiev__mutex_lock(&registry->lock);
  if (device->reg_state == WMIEV__UNREGISTERED) {
    wmiev__mutex_unlock(&registry->lock);
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "Action", 0,
                          "BLOCK_IRPS for device '%s', which is not registered", device->name);
  }
  device->reg_state = WMIEV__BLOCKED;
  bool drained = drain_inflight(registry, device);
  wmiev__mutex_unlock(&registry->lock);
  if (!drained) {
    return wmiev_diag_set(diag, WMIEV_STATUS_IO_TIMEOUT, "Action", 0,
                          "WMI IRPs to device '%s' still in flight after %u ms", device->name,
                          (unsigned)registry->options.irp_timeout_ms);
  }
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_registration_control(wmiev_device *device, uint32_t action, wmiev_diag *diag) {
  if (device == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "DeviceObject", 0,
                          "NULL device");
  }
  switch (action) {
  case WMIREG_ACTION_REGISTER:
    return do_register(device, false, diag);
  case WMIREG_ACTION_REREGISTER:
    return do_register(device, true, diag);
  case WMIREG_ACTION_UPDATE_GUIDS:
    return do_update(device, diag);
  case WMIREG_ACTION_DEREGISTER:
    return do_deregister(device, diag);
  case WMIREG_ACTION_BLOCK_IRPS:
    return do_block_irps(device, diag);
  default:
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "Action", 0,
                          "unknown registration action 0x%x (the undocumented callback mode, "
                          "0x80000000, is not supported)",
                          action);
  }
}
