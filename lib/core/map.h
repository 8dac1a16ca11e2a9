/*
 * A small open-addressing hash map from 16-byte keys to pointers. One type
 * serves every index of the core: GUIDs are 16 bytes, and provider ids and
 * device pointers are widened to 16. Lookups are O(1) so that the fire path
 * does not slow down as providers and GUIDs are added (issue: performance).
 * Not thread-safe: callers hold the registry lock.
 */
#ifndef WMIEV_CORE_MAP_H
#define WMIEV_CORE_MAP_H

#include <wmiev/alloc.h>
#include <wmiev/status.h>
#include <wmiev/wnode.h>

typedef struct wmiev__key {
  uint64_t lo, hi;
} wmiev__key;

typedef struct wmiev__map_slot {
  wmiev__key key;
  void *value; /* NULL = empty; a tombstone is the map's own address */
} wmiev__map_slot;

typedef struct wmiev__map {
  const wmiev_allocator *allocator;
  wmiev__map_slot *slots;
  size_t capacity; /* power of two, or 0 */
  size_t used;     /* live entries */
  size_t filled;   /* live entries + tombstones */
} wmiev__map;

wmiev__key wmiev__key_from_guid(const GUID *guid);
wmiev__key wmiev__key_from_u64(uint64_t value);

void wmiev__map_init(wmiev__map *map, const wmiev_allocator *allocator);
void wmiev__map_free(wmiev__map *map);
void *wmiev__map_get(const wmiev__map *map, wmiev__key key);
/* Inserts or replaces; STATUS_INSUFFICIENT_RESOURCES if growing fails (map unchanged). */
wmiev_status wmiev__map_put(wmiev__map *map, wmiev__key key, void *value);
/* Returns the removed value, or NULL. */
void *wmiev__map_remove(wmiev__map *map, wmiev__key key);
/* Makes room for `extra` more entries, so that the puts that follow cannot fail. */
wmiev_status wmiev__map_reserve(wmiev__map *map, size_t extra);

#endif /* WMIEV_CORE_MAP_H */
