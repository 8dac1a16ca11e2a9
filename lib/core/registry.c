/* The registry object: allocation helpers, the GUID table, queries, stats. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "registry_internal.h"

/* ---- Allocation ------------------------------------------------------------ */

void *wmiev__alloc(wmiev_registry *registry, size_t size) {
  return registry->allocator.alloc(size, registry->allocator.ctx);
}

void wmiev__free(wmiev_registry *registry, void *ptr, size_t size) {
  if (ptr != NULL) {
    registry->allocator.free(ptr, size, registry->allocator.ctx);
  }
}

char *wmiev__strdup(wmiev_registry *registry, const char *s) {
  size_t n = strlen(s) + 1;
  char *copy = wmiev__alloc(registry, n);
  if (copy != NULL) {
    memcpy(copy, s, n);
  }
  return copy;
}

void wmiev__strfree(wmiev_registry *registry, char *s) {
  if (s != NULL) {
    wmiev__free(registry, s, strlen(s) + 1);
  }
}

uint16_t *wmiev__units_dup(wmiev_registry *registry, const void *units_le, size_t units) {
  uint16_t *copy = wmiev__alloc(registry, units == 0 ? 1 : units * sizeof *copy);
  if (copy != NULL && units != 0) {
    memcpy(copy, units_le, units * sizeof *copy);
  }
  return copy;
}

void wmiev__units_free(wmiev_registry *registry, uint16_t *units, size_t count) {
  wmiev__free(registry, units, count == 0 ? 1 : count * sizeof *units);
}

void wmiev__report_violation(wmiev_registry *registry, wmiev_violation rule, const char *fmt, ...) {
  char message[256];
  va_list args;
  va_start(args, fmt);
  (void)vsnprintf(message, sizeof message, fmt, args);
  va_end(args);
  wmiev__mutex_lock(&registry->lock);
  registry->stats.violations++;
  wmiev__mutex_unlock(&registry->lock);
  if (registry->options.on_violation != NULL) {
    registry->options.on_violation(rule, message, registry->options.violation_ctx);
  }
}

/* ---- Create / destroy ------------------------------------------------------ */

wmiev_status wmiev_registry_create(const wmiev_registry_options *options, wmiev_registry **out) {
  if (out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  *out = NULL;
  wmiev_registry_options opts = {0};
  if (options != NULL) {
    opts = *options;
  }
  const wmiev_allocator *allocator =
      opts.allocator != NULL ? opts.allocator : wmiev_allocator_default();
  if (allocator->alloc == NULL || allocator->free == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (opts.irp_timeout_ms == 0) {
    opts.irp_timeout_ms = 5000;
  }
  if (opts.reginfo_initial_size == 0) {
    opts.reginfo_initial_size = 256;
  }
  wmiev_registry *registry = allocator->alloc(sizeof *registry, allocator->ctx);
  if (registry == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  memset(registry, 0, sizeof *registry);
  registry->allocator = *allocator;
  opts.allocator = &registry->allocator;
  registry->options = opts;
  registry->next_provider_id = 1;
  if (!wmiev__mutex_init(&registry->lock)) {
    allocator->free(registry, sizeof *registry, allocator->ctx);
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  if (!wmiev__cond_init(&registry->irp_done)) {
    wmiev__mutex_destroy(&registry->lock);
    allocator->free(registry, sizeof *registry, allocator->ctx);
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  wmiev__map_init(&registry->devices_by_id, &registry->allocator);
  wmiev__map_init(&registry->devices_by_ptr, &registry->allocator);
  wmiev__map_init(&registry->guids, &registry->allocator);
  *out = registry;
  return WMIEV_STATUS_SUCCESS;
}

void wmiev_registry_destroy(wmiev_registry *registry) {
  if (registry == NULL) {
    return;
  }
  /* A driver may still complete an IRP whose sender timed out; that
   * completion takes the registry lock. Give it the IRP timeout once more,
   * then leave the registry allocated rather than let it write freed memory. */
  wmiev__mutex_lock(&registry->lock);
  uint64_t deadline =
      wmiev__monotonic_ns() + (uint64_t)registry->options.irp_timeout_ms * 1000000u;
  while (registry->abandoned_irps != 0 && wmiev__monotonic_ns() < deadline) {
    (void)wmiev__cond_timedwait(&registry->irp_done, &registry->lock,
                                registry->options.irp_timeout_ms);
  }
  size_t still_out = registry->abandoned_irps;
  wmiev__mutex_unlock(&registry->lock);
  if (still_out != 0) {
    wmiev__report_violation(registry, WMIEV_VIOLATION_PENDING_TIMEOUT,
                            "registry destroyed with %zu timed-out IRPs never completed: the "
                            "registry is leaked so their late completion stays safe",
                            still_out);
    return;
  }
  /* Devices must be gone (their blocks with them); the maps are then empty
   * apart from tombstones, and only their arrays remain to free. */
  wmiev__map_free(&registry->devices_by_id);
  wmiev__map_free(&registry->devices_by_ptr);
  wmiev__map_free(&registry->guids);
  wmiev__cond_destroy(&registry->irp_done);
  wmiev__mutex_destroy(&registry->lock);
  wmiev_allocator allocator = registry->allocator;
  allocator.free(registry, sizeof *registry, allocator.ctx);
}

/* ---- GUID table ------------------------------------------------------------ */

wmiev_status wmiev__guid_entry_add(wmiev_registry *registry, wmiev__block *block) {
  wmiev__key key = wmiev__key_from_guid(&block->guid);
  wmiev__guid_entry *entry = wmiev__map_get(&registry->guids, key);
  bool fresh = entry == NULL;
  if (fresh) {
    wmiev_status status = wmiev__map_reserve(&registry->guids, 1);
    if (!WMIEV_SUCCESS(status)) {
      return status;
    }
    entry = wmiev__alloc(registry, sizeof *entry);
    if (entry == NULL) {
      return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
    }
    memset(entry, 0, sizeof *entry);
    entry->guid = block->guid;
  }
  if (entry->count == entry->capacity) {
    size_t capacity = entry->capacity == 0 ? 2 : entry->capacity * 2;
    wmiev__block **blocks = wmiev__alloc(registry, capacity * sizeof *blocks);
    if (blocks == NULL) {
      if (fresh) {
        wmiev__free(registry, entry, sizeof *entry);
      }
      return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
    }
    if (entry->count != 0) {
      memcpy(blocks, entry->blocks, entry->count * sizeof *blocks);
    }
    wmiev__free(registry, entry->blocks, entry->capacity * sizeof *blocks);
    entry->blocks = blocks;
    entry->capacity = capacity;
  }
  entry->blocks[entry->count++] = block;
  if (fresh) {
    (void)wmiev__map_put(&registry->guids, key, entry); /* reserved above */
  }
  return WMIEV_STATUS_SUCCESS;
}

void wmiev__guid_entry_remove(wmiev_registry *registry, wmiev__block *block) {
  wmiev__key key = wmiev__key_from_guid(&block->guid);
  wmiev__guid_entry *entry = wmiev__map_get(&registry->guids, key);
  if (entry == NULL) {
    return;
  }
  for (size_t i = 0; i < entry->count; i++) {
    if (entry->blocks[i] == block) {
      /* Keep registration order: shift, do not swap. */
      memmove(&entry->blocks[i], &entry->blocks[i + 1],
              (entry->count - i - 1) * sizeof entry->blocks[0]);
      entry->count--;
      break;
    }
  }
  if (entry->count == 0) {
    (void)wmiev__map_remove(&registry->guids, key);
    wmiev__free(registry, entry->blocks, entry->capacity * sizeof entry->blocks[0]);
    wmiev__free(registry, entry, sizeof *entry);
  }
}

void wmiev__block_free(wmiev_registry *registry, wmiev__block *block) {
  if (block == NULL) {
    return;
  }
  if (block->units != NULL) {
    wmiev__units_free(registry, block->units, block->units_count);
  }
  if (block->list_start != NULL) {
    wmiev__free(registry, block->list_start,
                ((size_t)block->instance_count + 1) * sizeof block->list_start[0]);
  }
  wmiev__free(registry, block, sizeof *block);
}

/* ---- Queries --------------------------------------------------------------- */

static void fill_info(const wmiev__block *block, wmiev_block_info *info) {
  info->guid = block->guid;
  info->device = block->device;
  info->provider_id = block->device->provider_id;
  info->flags = block->flags;
  info->instance_count = block->instance_count;
  info->names = block->names;
}

/* The first block of @p entry registered after order @p after (any block when
 * @p any), or NULL. An entry's blocks are kept in registration order: they
 * are appended as they register and replaced in place when they change. */
static const wmiev__block *first_after(const wmiev__guid_entry *entry, bool any, uint64_t after) {
  size_t lo = 0;
  size_t hi = entry->count;
  while (!any && lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (entry->blocks[mid]->order <= after) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < entry->count ? entry->blocks[lo] : NULL;
}

size_t wmiev_registry_blocks(wmiev_registry *registry, const GUID *guid, wmiev_block_info *out,
                             size_t capacity) {
  if (registry == NULL) {
    return 0;
  }
  size_t total = 0;
  wmiev__mutex_lock(&registry->lock);
  if (guid != NULL) {
    wmiev__guid_entry *entry = wmiev__map_get(&registry->guids, wmiev__key_from_guid(guid));
    if (entry != NULL) {
      for (size_t i = 0; i < entry->count; i++, total++) {
        if (out != NULL && total < capacity) {
          fill_info(entry->blocks[i], &out[total]);
        }
      }
    }
  } else {
    /* Every block, merged over the GUIDs in registration order. No scratch
     * memory: a query must neither fail nor come back short when memory is
     * tight, and must not disturb fault-injection counts. */
    const wmiev__map *map = &registry->guids;
    for (size_t s = 0; s < map->capacity; s++) {
      const wmiev__map_slot *slot = &map->slots[s];
      if (slot->value != NULL && slot->value != (const void *)map) {
        total += ((const wmiev__guid_entry *)slot->value)->count;
      }
    }
    size_t n = out == NULL ? 0 : total < capacity ? total : capacity;
    uint64_t last = 0;
    for (size_t k = 0; k < n; k++) {
      const wmiev__block *best = NULL;
      for (size_t s = 0; s < map->capacity; s++) {
        const wmiev__map_slot *slot = &map->slots[s];
        if (slot->value == NULL || slot->value == (const void *)map) {
          continue;
        }
        const wmiev__block *b = first_after(slot->value, k == 0, last);
        if (b != NULL && (best == NULL || b->order < best->order)) {
          best = b;
        }
      }
      fill_info(best, &out[k]);
      last = best->order;
    }
  }
  wmiev__mutex_unlock(&registry->lock);
  return total;
}

static const wmiev__block *find_block(wmiev_registry *registry, const GUID *guid,
                                      uint32_t provider_id) {
  wmiev__guid_entry *entry = wmiev__map_get(&registry->guids, wmiev__key_from_guid(guid));
  if (entry == NULL) {
    return NULL;
  }
  for (size_t i = 0; i < entry->count; i++) {
    if (entry->blocks[i]->device->provider_id == provider_id) {
      return entry->blocks[i];
    }
  }
  return NULL;
}

wmiev_status wmiev_registry_instance_name(wmiev_registry *registry, const GUID *guid,
                                          uint32_t provider_id, uint32_t index, uint16_t *out,
                                          size_t out_units, size_t *units_needed) {
  if (registry == NULL || guid == NULL || units_needed == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev__mutex_lock(&registry->lock);
  const wmiev__block *block = find_block(registry, guid, provider_id);
  wmiev_status status = block == NULL ? WMIEV_STATUS_WMI_GUID_NOT_FOUND
                                      : wmiev__block_instance_name(block, index, out, out_units,
                                                                   units_needed);
  wmiev__mutex_unlock(&registry->lock);
  return status;
}

wmiev_status wmiev_registry_find_instance(wmiev_registry *registry, const GUID *guid,
                                          const uint16_t *name, size_t name_units,
                                          uint32_t *provider_id, uint32_t *index) {
  if (registry == NULL || guid == NULL || (name == NULL && name_units != 0) ||
      provider_id == NULL || index == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev_status status = WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND;
  wmiev__mutex_lock(&registry->lock);
  wmiev__guid_entry *entry = wmiev__map_get(&registry->guids, wmiev__key_from_guid(guid));
  for (size_t i = 0; entry != NULL && i < entry->count; i++) {
    uint32_t found;
    if (wmiev__block_find_instance(entry->blocks[i], name, name_units, &found)) {
      *provider_id = entry->blocks[i]->device->provider_id;
      *index = found;
      status = WMIEV_STATUS_SUCCESS;
      break;
    }
  }
  wmiev__mutex_unlock(&registry->lock);
  return status;
}

bool wmiev__registry_find_block(wmiev_registry *registry, uint32_t provider_id, const GUID *guid,
                                wmiev_block_info *out, bool *device_found) {
  wmiev__mutex_lock(&registry->lock);
  wmiev_device *device =
      wmiev__map_get(&registry->devices_by_id, wmiev__key_from_u64(provider_id));
  const wmiev__block *block = device != NULL ? find_block(registry, guid, provider_id) : NULL;
  if (block != NULL) {
    fill_info(block, out);
  }
  wmiev__mutex_unlock(&registry->lock);
  *device_found = device != NULL;
  return block != NULL;
}

void wmiev_registry_get_stats(wmiev_registry *registry, wmiev_registry_stats *out) {
  if (registry == NULL || out == NULL) {
    return;
  }
  wmiev__mutex_lock(&registry->lock);
  *out = registry->stats;
  wmiev__mutex_unlock(&registry->lock);
}
