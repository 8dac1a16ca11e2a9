/*
 * Pool: ExAllocatePool* / ExFreePool*, with a header per block and a table
 * of every block the pool knows, so that misuse is reported instead of
 * corrupting memory:
 *  - freeing a pointer the pool never returned (or an interior pointer),
 *    or with the wrong tag: POOL_BAD_FREE;
 *  - freeing a block twice: POOL_DOUBLE_FREE;
 *  - freeing a block that IoWMIWriteEvent/WmiFireEvent took: POOL_FREE_AFTER_TAKEN;
 *  - blocks a driver still holds when it is unloaded: LEAK, grouped by tag.
 * Freed and taken blocks stay in a quarantine for a while (memory kept,
 * state recorded) so that the second free is recognised; beyond the
 * quarantine's size the oldest are released for real.
 *
 * Every pool type is accepted (they are all the same memory here); paged
 * pool above APC_LEVEL and any pool above DISPATCH_LEVEL are IRQL
 * violations, as Driver Verifier reports them.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#include "host_private.h"

enum { BLOCK_LIVE = 1, BLOCK_FREED = 2, BLOCK_TAKEN = 3 };

#define POOL_MAGIC 0x5077704c6f6f5021ull /* checked on every lookup hit */
#define QUARANTINE_BLOCKS 256
#define QUARANTINE_BYTES ((size_t)4 << 20)
#define POOL_ALIGN                                                                                 \
  ((size_t)MEMORY_ALLOCATION_ALIGNMENT < 16 ? 16 : (size_t)MEMORY_ALLOCATION_ALIGNMENT)

typedef struct pool_block {
  uint64_t magic;
  LIST_ENTRY link;          /* g_blocks: all blocks, newest first */
  struct pool_block *qnext; /* quarantine FIFO */
  size_t size;              /* requested bytes */
  size_t alloc_size;        /* header + size */
  PDRIVER_OBJECT owner;     /* compared, never dereferenced */
  ULONG tag;
  int state;
  bool paged;
  bool reported; /* already listed in a leak report */
} pool_block;

#define HEADER_SIZE ((sizeof(pool_block) + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1))

/* Open-addressing set of user pointers → block, so a pointer can be checked
 * before anything is read in front of it. */
typedef struct {
  pool_block **slots;
  size_t capacity; /* power of two */
  size_t used;
  size_t tombstones;
} block_table;

static pthread_mutex_t g_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_ENTRY g_blocks = {&g_blocks, &g_blocks};
static block_table g_table;
static pool_block *g_quarantine_head;
static pool_block *g_quarantine_tail;
static size_t g_quarantine_count;
static size_t g_quarantine_bytes;
static pool_block g_tombstone;

static void *user_ptr(pool_block *b) { return (unsigned char *)b + HEADER_SIZE; }

static size_t hash_ptr(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x;
}

static bool table_grow(void) {
  size_t capacity = g_table.capacity == 0 ? 64 : g_table.capacity * 2;
  if (g_table.used * 2 < g_table.capacity) {
    capacity = g_table.capacity; /* only tombstones to clear */
  }
  pool_block **slots = wmiev__host_alloc(capacity * sizeof *slots);
  if (slots == NULL) {
    return false;
  }
  for (size_t i = 0; i < g_table.capacity; i++) {
    pool_block *b = g_table.slots[i];
    if (b != NULL && b != &g_tombstone) {
      size_t j = hash_ptr(user_ptr(b)) & (capacity - 1);
      while (slots[j] != NULL) {
        j = (j + 1) & (capacity - 1);
      }
      slots[j] = b;
    }
  }
  wmiev__host_free(g_table.slots, g_table.capacity * sizeof *g_table.slots);
  g_table.slots = slots;
  g_table.capacity = capacity;
  g_table.tombstones = 0;
  return true;
}

static bool table_put(pool_block *b) {
  if ((g_table.used + g_table.tombstones + 1) * 4 > g_table.capacity * 3 && !table_grow()) {
    return false;
  }
  size_t j = hash_ptr(user_ptr(b)) & (g_table.capacity - 1);
  while (g_table.slots[j] != NULL && g_table.slots[j] != &g_tombstone) {
    j = (j + 1) & (g_table.capacity - 1);
  }
  if (g_table.slots[j] == &g_tombstone) {
    g_table.tombstones--;
  }
  g_table.slots[j] = b;
  g_table.used++;
  return true;
}

static size_t table_find_slot(const void *p) {
  if (g_table.capacity == 0) {
    return SIZE_MAX;
  }
  size_t j = hash_ptr(p) & (g_table.capacity - 1);
  while (g_table.slots[j] != NULL) {
    if (g_table.slots[j] != &g_tombstone && user_ptr(g_table.slots[j]) == p) {
      return j;
    }
    j = (j + 1) & (g_table.capacity - 1);
  }
  return SIZE_MAX;
}

static pool_block *table_get(const void *p) {
  size_t j = table_find_slot(p);
  return j == SIZE_MAX ? NULL : g_table.slots[j];
}

static void table_remove(const void *p) {
  size_t j = table_find_slot(p);
  if (j != SIZE_MAX) {
    g_table.slots[j] = &g_tombstone;
    g_table.used--;
    g_table.tombstones++;
  }
}

/* Under the lock: moves @p b to the quarantine; returns blocks evicted from it
 * (a chain through qnext) for the caller to free outside the lock. */
static pool_block *quarantine(pool_block *b) {
  b->qnext = NULL;
  if (g_quarantine_tail != NULL) {
    g_quarantine_tail->qnext = b;
  } else {
    g_quarantine_head = b;
  }
  g_quarantine_tail = b;
  g_quarantine_count++;
  g_quarantine_bytes += b->alloc_size;
  pool_block *evicted = NULL;
  pool_block **evicted_tail = &evicted;
  while (g_quarantine_count > QUARANTINE_BLOCKS ||
         (g_quarantine_bytes > QUARANTINE_BYTES && g_quarantine_head != b)) {
    pool_block *old = g_quarantine_head;
    g_quarantine_head = old->qnext;
    if (g_quarantine_head == NULL) {
      g_quarantine_tail = NULL;
    }
    g_quarantine_count--;
    g_quarantine_bytes -= old->alloc_size;
    table_remove(user_ptr(old));
    RemoveEntryList(&old->link);
    old->qnext = NULL;
    *evicted_tail = old;
    evicted_tail = &old->qnext;
  }
  return evicted;
}

static void release_chain(pool_block *chain) {
  while (chain != NULL) {
    pool_block *next = chain->qnext;
    chain->magic = 0;
    wmiev__host_free(chain, chain->alloc_size);
    chain = next;
  }
}

static bool is_paged(POOL_TYPE type) {
  return (type & 1) != 0 && type != NonPagedPoolNx && type != NonPagedPoolNxCacheAligned &&
         type != NonPagedPoolSessionNx;
}

static PVOID allocate(SIZE_T bytes, ULONG tag, bool paged, bool zero, const char *routine) {
  (void)wmiev__irql_at_most(paged ? APC_LEVEL : DISPATCH_LEVEL, routine);
  if (bytes > SIZE_MAX / 2) {
    return NULL;
  }
  size_t total = HEADER_SIZE + (size_t)bytes;
  pool_block *b = wmiev__host_alloc(total);
  if (b == NULL) {
    return NULL;
  }
  b->magic = POOL_MAGIC;
  b->size = (size_t)bytes;
  b->alloc_size = total;
  b->owner = wmiev__current_driver();
  b->tag = tag;
  b->state = BLOCK_LIVE;
  b->paged = paged;
  if (!zero) {
    /* Like special pool: uninitialised memory is not accidentally zero. */
    memset(user_ptr(b), 0xCD, (size_t)bytes);
  }
  pthread_mutex_lock(&g_pool_lock);
  if (!table_put(b)) {
    pthread_mutex_unlock(&g_pool_lock);
    wmiev__host_free(b, total);
    return NULL;
  }
  InsertHeadList(&g_blocks, &b->link);
  pthread_mutex_unlock(&g_pool_lock);
  return user_ptr(b);
}

PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
  return allocate(NumberOfBytes, Tag, is_paged(PoolType), false, "ExAllocatePoolWithTag");
}

PVOID NTAPI ExAllocatePoolUninitialized(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
  return allocate(NumberOfBytes, Tag, is_paged(PoolType), false, "ExAllocatePoolUninitialized");
}

PVOID NTAPI ExAllocatePoolZero(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag) {
  return allocate(NumberOfBytes, Tag, is_paged(PoolType), true, "ExAllocatePoolZero");
}

PVOID NTAPI ExAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes) {
  return allocate(NumberOfBytes, 'enoN', is_paged(PoolType), false, "ExAllocatePool");
}

PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag) {
  bool paged = (Flags & POOL_FLAG_PAGED) != 0;
  return allocate(NumberOfBytes, Tag, paged, (Flags & POOL_FLAG_UNINITIALIZED) == 0,
                  "ExAllocatePool2");
}

static void tag_text(ULONG tag, char out[5]) {
  /* Tags are written 'gaTT' and stored little-endian: print them as read in memory. */
  for (int i = 0; i < 4; i++) {
    unsigned char c = (unsigned char)(tag >> (8 * i));
    out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
  }
  out[4] = '\0';
}

static void free_block(PVOID P, ULONG tag, bool check_tag, const char *routine) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, routine);
  if (P == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_POOL_BAD_FREE, "%s(NULL)", routine);
    return;
  }
  pthread_mutex_lock(&g_pool_lock);
  pool_block *b = table_get(P);
  if (b == NULL || b->magic != POOL_MAGIC) {
    pthread_mutex_unlock(&g_pool_lock);
    wmiev__host_violation(WMIEV_HOST_RULE_POOL_BAD_FREE,
                          "%s(%p): not a pool block (never allocated, an interior pointer, or "
                          "freed long ago)",
                          routine, P);
    return;
  }
  int state = b->state;
  ULONG block_tag = b->tag;
  size_t size = b->size;
  pool_block *evicted = NULL;
  bool tag_ok = !check_tag || block_tag == tag;
  if (state == BLOCK_LIVE && tag_ok) {
    b->state = BLOCK_FREED;
    memset(P, 0xDD, size); /* freed memory does not keep looking valid */
    evicted = quarantine(b);
  }
  pthread_mutex_unlock(&g_pool_lock);
  release_chain(evicted);
  char t[5];
  tag_text(block_tag, t);
  if (state == BLOCK_FREED) {
    wmiev__host_violation(WMIEV_HOST_RULE_POOL_DOUBLE_FREE,
                          "%s(%p): block '%s' (%zu bytes) was already freed", routine, P, t, size);
  } else if (state == BLOCK_TAKEN) {
    wmiev__host_violation(WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN,
                          "%s(%p): block '%s' (%zu bytes) belongs to WMI since IoWMIWriteEvent/"
                          "WmiFireEvent succeeded with it",
                          routine, P, t, size);
  } else if (!tag_ok) {
    char given[5];
    tag_text(tag, given);
    wmiev__host_violation(WMIEV_HOST_RULE_POOL_BAD_FREE,
                          "%s(%p, '%s'): the block was allocated with tag '%s' (not freed)",
                          routine, P, given, t);
  }
}

VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag) { free_block(P, Tag, true, "ExFreePoolWithTag"); }

VOID NTAPI ExFreePool(PVOID P) { free_block(P, 0, false, "ExFreePool"); }

/* Under the lock: the live block that starts at @p p, or NULL. */
static pool_block *live_block_locked(const void *p) {
  pool_block *b = p != NULL ? table_get(p) : NULL;
  return b != NULL && b->magic == POOL_MAGIC && b->state == BLOCK_LIVE ? b : NULL;
}

bool wmiev__pool_size(const void *p, size_t *size) {
  pthread_mutex_lock(&g_pool_lock);
  pool_block *b = live_block_locked(p);
  if (b != NULL && size != NULL) {
    *size = b->size;
  }
  pthread_mutex_unlock(&g_pool_lock);
  return b != NULL;
}

ULONG wmiev__pool_tag(const void *p) {
  pthread_mutex_lock(&g_pool_lock);
  pool_block *b = live_block_locked(p);
  ULONG tag = b != NULL ? b->tag : 0;
  pthread_mutex_unlock(&g_pool_lock);
  return tag;
}

bool wmiev__pool_take(void *p) {
  pool_block *evicted = NULL;
  bool ok = false;
  pthread_mutex_lock(&g_pool_lock);
  pool_block *b = live_block_locked(p);
  if (b != NULL) {
    b->state = BLOCK_TAKEN;
    evicted = quarantine(b);
    ok = true;
  }
  pthread_mutex_unlock(&g_pool_lock);
  release_chain(evicted);
  return ok;
}

/* ---- Reports and shutdown ------------------------------------------------------------------ */

typedef struct tag_total {
  ULONG tag;
  size_t blocks;
  size_t bytes;
} tag_total;

size_t wmiev__pool_report(PDRIVER_OBJECT driver, const char *when) {
  enum { MAX_TAGS = 32 };
  tag_total totals[MAX_TAGS];
  size_t ntags = 0;
  size_t blocks = 0;
  size_t bytes = 0;
  pthread_mutex_lock(&g_pool_lock);
  for (PLIST_ENTRY e = g_blocks.Flink; e != &g_blocks; e = e->Flink) {
    pool_block *b = CONTAINING_RECORD(e, pool_block, link);
    if (b->state != BLOCK_LIVE || b->reported || (driver != NULL && b->owner != driver)) {
      continue;
    }
    b->reported = true;
    b->owner = NULL; /* the driver object is about to go; never compare against it again */
    blocks++;
    bytes += b->size;
    size_t i = 0;
    while (i < ntags && totals[i].tag != b->tag) {
      i++;
    }
    if (i == ntags && ntags < MAX_TAGS) {
      totals[ntags].tag = b->tag;
      totals[ntags].blocks = 0;
      totals[ntags].bytes = 0;
      ntags++;
    }
    if (i < ntags) {
      totals[i].blocks++;
      totals[i].bytes += b->size;
    }
  }
  pthread_mutex_unlock(&g_pool_lock);
  if (blocks == 0) {
    return 0;
  }
  char list[512];
  size_t used = 0;
  list[0] = '\0';
  for (size_t i = 0; i < ntags && used < sizeof list; i++) {
    char t[5];
    tag_text(totals[i].tag, t);
    int n = snprintf(list + used, sizeof list - used, "%s'%s': %zu block(s), %zu bytes",
                     i == 0 ? "" : "; ", t, totals[i].blocks, totals[i].bytes);
    if (n < 0) {
      break;
    }
    used += (size_t)n;
  }
  if (driver != NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "driver %s: %zu pool block(s), %zu bytes, still allocated %s: %s",
                          wmiev__driver_name(driver), blocks, bytes, when, list);
  } else {
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "%zu pool block(s), %zu bytes, still allocated %s: %s", blocks, bytes,
                          when, list);
  }
  return blocks;
}

void wmiev__pool_shutdown(void) {
  pthread_mutex_lock(&g_pool_lock);
  /* Live and quarantined blocks alike: all are on g_blocks. */
  while (!IsListEmpty(&g_blocks)) {
    pool_block *b = CONTAINING_RECORD(RemoveHeadList(&g_blocks), pool_block, link);
    b->magic = 0;
    wmiev__host_free(b, b->alloc_size);
  }
  wmiev__host_free(g_table.slots, g_table.capacity * sizeof *g_table.slots);
  memset(&g_table, 0, sizeof g_table);
  g_quarantine_head = g_quarantine_tail = NULL;
  g_quarantine_count = 0;
  g_quarantine_bytes = 0;
  pthread_mutex_unlock(&g_pool_lock);
}
