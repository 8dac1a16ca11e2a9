/* See debug_alloc.h. Live blocks sit in an open-addressing table keyed by
 * address, so frees are O(1) even in stress tests. */
#include "debug_alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct live_block {
  void *ptr; /* NULL = empty, (void *)1 = tombstone */
  size_t size;
  uint64_t serial;
} live_block;

struct debug_alloc {
  wmiev_allocator allocator;
  pthread_mutex_t lock;
  live_block *table;
  size_t capacity;
  size_t filled;
  uint64_t live_count, live_bytes, peak_bytes, total, errors, serial;
  uint64_t fail_at, seen_since_arm;
  bool sticky, hit;
};

#define TOMB ((void *)1)

static size_t slot_of(const debug_alloc *d, const void *p) {
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 17;
  x *= (uintptr_t)0x9e3779b97f4a7c15ull;
  x ^= x >> 29;
  return (size_t)x & (d->capacity - 1);
}

static void grow(debug_alloc *d) {
  size_t old_cap = d->capacity;
  live_block *old = d->table;
  d->capacity = old_cap == 0 ? 1024 : old_cap * 2;
  d->table = calloc(d->capacity, sizeof *d->table);
  if (d->table == NULL) {
    abort();
  }
  d->filled = 0;
  for (size_t i = 0; i < old_cap; i++) {
    if (old[i].ptr != NULL && old[i].ptr != TOMB) {
      size_t j = slot_of(d, old[i].ptr);
      while (d->table[j].ptr != NULL) {
        j = (j + 1) & (d->capacity - 1);
      }
      d->table[j] = old[i];
      d->filled++;
    }
  }
  free(old);
}

static void *dbg_alloc(size_t size, void *ctx) {
  debug_alloc *d = ctx;
  pthread_mutex_lock(&d->lock);
  d->seen_since_arm++;
  if (d->fail_at != 0 &&
      (d->seen_since_arm == d->fail_at || (d->sticky && d->seen_since_arm > d->fail_at))) {
    d->hit = true;
    pthread_mutex_unlock(&d->lock);
    return NULL;
  }
  void *p = malloc(size == 0 ? 1 : size);
  if (p == NULL) {
    pthread_mutex_unlock(&d->lock);
    return NULL;
  }
  /* Poison fresh memory so code relying on zeroed allocations shows up. */
  memset(p, 0xA5, size);
  if ((d->filled + 1) * 4 >= d->capacity * 3) {
    grow(d);
  }
  size_t j = slot_of(d, p);
  while (d->table[j].ptr != NULL && d->table[j].ptr != TOMB) {
    j = (j + 1) & (d->capacity - 1);
  }
  if (d->table[j].ptr == NULL) {
    d->filled++;
  }
  d->table[j].ptr = p;
  d->table[j].size = size;
  d->table[j].serial = ++d->serial;
  d->live_count++;
  d->live_bytes += size;
  if (d->live_bytes > d->peak_bytes) {
    d->peak_bytes = d->live_bytes;
  }
  d->total++;
  pthread_mutex_unlock(&d->lock);
  return p;
}

static void dbg_free(void *ptr, size_t size, void *ctx) {
  debug_alloc *d = ctx;
  if (ptr == NULL) {
    return;
  }
  pthread_mutex_lock(&d->lock);
  size_t j = d->capacity == 0 ? 0 : slot_of(d, ptr);
  live_block *found = NULL;
  for (size_t n = 0; d->capacity != 0 && n < d->capacity; n++) {
    live_block *b = &d->table[j];
    if (b->ptr == NULL) {
      break;
    }
    if (b->ptr == ptr) {
      found = b;
      break;
    }
    j = (j + 1) & (d->capacity - 1);
  }
  if (found == NULL) {
    d->errors++;
    fprintf(stderr, "debug_alloc: free of unknown or already freed pointer %p\n", ptr);
    pthread_mutex_unlock(&d->lock);
    return; /* never pass it to free(): it may be a double free */
  }
  if (found->size != size) {
    d->errors++;
    fprintf(stderr, "debug_alloc: %p allocated with %zu bytes, freed with %zu\n", ptr,
            found->size, size);
  }
  memset(ptr, 0x5A, found->size); /* poison: use-after-free reads garbage */
  d->live_count--;
  d->live_bytes -= found->size;
  found->ptr = TOMB;
  pthread_mutex_unlock(&d->lock);
  free(ptr);
}

debug_alloc *debug_alloc_create(void) {
  debug_alloc *d = calloc(1, sizeof *d);
  if (d == NULL) {
    abort();
  }
  pthread_mutex_init(&d->lock, NULL);
  d->allocator.alloc = dbg_alloc;
  d->allocator.free = dbg_free;
  d->allocator.ctx = d;
  return d;
}

void debug_alloc_destroy(debug_alloc *d) {
  if (d == NULL) {
    return;
  }
  for (size_t i = 0; i < d->capacity; i++) {
    if (d->table[i].ptr != NULL && d->table[i].ptr != TOMB) {
      free(d->table[i].ptr);
    }
  }
  free(d->table);
  pthread_mutex_destroy(&d->lock);
  free(d);
}

const wmiev_allocator *debug_alloc_allocator(debug_alloc *d) { return &d->allocator; }

void debug_alloc_fail_nth(debug_alloc *d, uint64_t n, bool sticky) {
  pthread_mutex_lock(&d->lock);
  d->fail_at = n;
  d->sticky = sticky;
  d->seen_since_arm = 0;
  d->hit = false;
  pthread_mutex_unlock(&d->lock);
}

#define GETTER(name, field)                                                                        \
  uint64_t debug_alloc_##name(debug_alloc *d) {                                                    \
    pthread_mutex_lock(&d->lock);                                                                  \
    uint64_t v = d->field;                                                                         \
    pthread_mutex_unlock(&d->lock);                                                                \
    return v;                                                                                      \
  }
GETTER(live_count, live_count)
GETTER(live_bytes, live_bytes)
GETTER(total_count, total)
GETTER(peak_bytes, peak_bytes)
GETTER(errors, errors)

bool debug_alloc_failure_hit(debug_alloc *d) {
  pthread_mutex_lock(&d->lock);
  bool hit = d->hit;
  pthread_mutex_unlock(&d->lock);
  return hit;
}

uint64_t debug_alloc_report_leaks(debug_alloc *d) {
  pthread_mutex_lock(&d->lock);
  uint64_t n = 0;
  for (size_t i = 0; i < d->capacity; i++) {
    if (d->table[i].ptr != NULL && d->table[i].ptr != TOMB) {
      fprintf(stderr, "debug_alloc: leak #%llu: %zu bytes at %p\n",
              (unsigned long long)d->table[i].serial, d->table[i].size, d->table[i].ptr);
      n++;
    }
  }
  pthread_mutex_unlock(&d->lock);
  return n;
}
