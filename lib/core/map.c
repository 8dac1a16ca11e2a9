/* Open addressing with linear probing; see map.h for why. */
#include "map.h"

#include <string.h>

#define TOMBSTONE(map) ((void *)(map))

wmiev__key wmiev__key_from_guid(const GUID *guid) {
  wmiev__key k;
  memcpy(&k, guid, sizeof k);
  return k;
}

wmiev__key wmiev__key_from_u64(uint64_t value) {
  wmiev__key k = {value, 0x9e3779b97f4a7c15ull};
  return k;
}

static bool key_equal(wmiev__key a, wmiev__key b) { return a.lo == b.lo && a.hi == b.hi; }

/* A 64-bit finaliser (splitmix64 style) over both halves. */
static uint64_t key_hash(wmiev__key k) {
  uint64_t h = k.lo ^ (k.hi * 0xbf58476d1ce4e5b9ull);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

void wmiev__map_init(wmiev__map *map, const wmiev_allocator *allocator) {
  memset(map, 0, sizeof *map);
  map->allocator = allocator;
}

void wmiev__map_free(wmiev__map *map) {
  if (map->slots != NULL) {
    map->allocator->free(map->slots, map->capacity * sizeof *map->slots, map->allocator->ctx);
  }
  map->slots = NULL;
  map->capacity = map->used = map->filled = 0;
}

static wmiev__map_slot *find_slot(const wmiev__map *map, wmiev__key key) {
  if (map->capacity == 0) {
    return NULL;
  }
  size_t mask = map->capacity - 1;
  for (size_t i = (size_t)key_hash(key) & mask;; i = (i + 1) & mask) {
    wmiev__map_slot *slot = &map->slots[i];
    if (slot->value == NULL) {
      return NULL;
    }
    if (slot->value != TOMBSTONE(map) && key_equal(slot->key, key)) {
      return slot;
    }
  }
}

void *wmiev__map_get(const wmiev__map *map, wmiev__key key) {
  wmiev__map_slot *slot = find_slot(map, key);
  return slot != NULL ? slot->value : NULL;
}

static wmiev_status rehash(wmiev__map *map, size_t capacity) {
  wmiev__map_slot *slots =
      map->allocator->alloc(capacity * sizeof *slots, map->allocator->ctx);
  if (slots == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  memset(slots, 0, capacity * sizeof *slots);
  wmiev__map_slot *old = map->slots;
  size_t old_capacity = map->capacity;
  map->slots = slots;
  map->capacity = capacity;
  map->filled = map->used;
  for (size_t i = 0; i < old_capacity; i++) {
    if (old[i].value != NULL && old[i].value != TOMBSTONE(map)) {
      size_t mask = capacity - 1;
      size_t j = (size_t)key_hash(old[i].key) & mask;
      while (slots[j].value != NULL) {
        j = (j + 1) & mask;
      }
      slots[j] = old[i];
    }
  }
  if (old != NULL) {
    map->allocator->free(old, old_capacity * sizeof *old, map->allocator->ctx);
  }
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev__map_reserve(wmiev__map *map, size_t extra) {
  /* Keep the load (live + tombstones) under 3/4 so probes stay short. */
  size_t need = map->filled + extra;
  if (need * 4 < map->capacity * 3) {
    return WMIEV_STATUS_SUCCESS;
  }
  size_t capacity = map->capacity == 0 ? 16 : map->capacity;
  while ((map->used + extra) * 4 >= capacity * 3) {
    capacity *= 2;
  }
  return rehash(map, capacity);
}

wmiev_status wmiev__map_put(wmiev__map *map, wmiev__key key, void *value) {
  wmiev__map_slot *slot = find_slot(map, key);
  if (slot != NULL) {
    slot->value = value;
    return WMIEV_STATUS_SUCCESS;
  }
  wmiev_status status = wmiev__map_reserve(map, 1);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  size_t mask = map->capacity - 1;
  size_t i = (size_t)key_hash(key) & mask;
  while (map->slots[i].value != NULL && map->slots[i].value != TOMBSTONE(map)) {
    i = (i + 1) & mask;
  }
  if (map->slots[i].value == NULL) {
    map->filled++;
  }
  map->slots[i].key = key;
  map->slots[i].value = value;
  map->used++;
  return WMIEV_STATUS_SUCCESS;
}

void *wmiev__map_remove(wmiev__map *map, wmiev__key key) {
  wmiev__map_slot *slot = find_slot(map, key);
  if (slot == NULL) {
    return NULL;
  }
  void *value = slot->value;
  slot->value = TOMBSTONE(map);
  map->used--;
  return value;
}
