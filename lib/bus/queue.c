/* The bus's multi-producer byte ring; queue.h says how it works. */
#include "queue.h"

#include "platform/platform.h" /* wmiev__thread_yield */

/* Spins before a waiting producer yields the CPU: about the time the lock
 * is held, a few times over. */
#define SPINS_BEFORE_YIELD 64

static void lock_reserve(wmiev__queue *q) {
  int spins = 0;
  while (atomic_exchange_explicit(&q->reserve_lock, true, memory_order_acquire)) {
    /* Wait reading, not writing: the line stays shared until it is free. */
    while (atomic_load_explicit(&q->reserve_lock, memory_order_relaxed)) {
      if (++spins < SPINS_BEFORE_YIELD) {
        wmiev__cpu_relax();
      } else {
        wmiev__thread_yield(); /* the holder may have been preempted */
        spins = 0;
      }
    }
  }
}

static void unlock_reserve(wmiev__queue *q) {
  atomic_store_explicit(&q->reserve_lock, false, memory_order_release);
}

/* A filler's first header word. Every record's is non-zero (its kind is),
 * so the consumer tells them apart by this word alone. */
#define FILLER_WORD ((uint32_t)WMIEV__QUEUED_FILLER << WMIEV__QUEUED_KIND_SHIFT)
_Static_assert(FILLER_WORD == 0 && WMIEV__QUEUED_WNODE != 0 && WMIEV__QUEUED_FIRE != 0 &&
                   WMIEV__QUEUED_FIRE_PDO != 0,
               "fillers, and only fillers, have a zero first word");

static wmiev__queued *record_at(const wmiev__queue *q, uint32_t offset) {
  return (wmiev__queued *)(void *)(q->ring + offset);
}

void wmiev__queue_init(wmiev__queue *q, uint8_t *ring, uint32_t bytes, uint32_t capacity) {
  q->ring = ring;
  q->bytes = ring != NULL ? bytes : 0;
  q->capacity = ring != NULL ? capacity : 0;
  atomic_init(&q->reserve_lock, false);
  q->awake = false;
  q->tail_off = 0;
  q->seen_pos = q->seen_count = 0;
  atomic_init(&q->tail_pos, 0);
  atomic_init(&q->tail_count, 0);
  atomic_init(&q->peak, 0);
  atomic_init(&q->head_pos, 0);
  atomic_init(&q->head_count, 0);
  q->next_pos = q->next_count = 0;
  q->next_off = 0;
  q->known_tail = 0;
}

/* Re-reads the consumer's position (lock held). Acquire: the consumer is
 * done with every byte below it. */
static void refresh_seen(wmiev__queue *q) {
  q->seen_count = atomic_load_explicit(&q->head_count, memory_order_acquire);
  q->seen_pos = atomic_load_explicit(&q->head_pos, memory_order_acquire);
}

bool wmiev__queue_reserve(wmiev__queue *q, uint32_t payload, wmiev__queued_kind kind,
                          wmiev__queue_ticket *t) {
  uint32_t need = (uint32_t)wmiev__queue_record_size(payload);
  if (need > q->bytes) {
    return false; /* also a queue without a ring */
  }
  lock_reserve(q);
  /* Only this thread writes them now. */
  uint64_t tail_pos = atomic_load_explicit(&q->tail_pos, memory_order_relaxed);
  uint64_t tail_count = atomic_load_explicit(&q->tail_count, memory_order_relaxed);
  /* A record never straddles the end: what is left there is skipped. */
  uint32_t waste = need <= q->bytes - q->tail_off ? 0 : q->bytes - q->tail_off;
  bool refreshed = false;
  for (;;) {
    /* The copy is older than the consumer: these overstate what is in use. */
    uint64_t used = tail_pos - q->seen_pos;
    uint64_t count = tail_count - q->seen_count;
    if (count < q->capacity && used + waste + need <= q->bytes) {
      break;
    }
    if (refreshed) {
      unlock_reserve(q);
      return false;
    }
    refresh_seen(q);
    refreshed = true;
  }
  if (waste != 0) {
    /* waste >= 8: the filler's first word fits. */
    atomic_store_explicit(&record_at(q, q->tail_off)->size_kind, FILLER_WORD, memory_order_relaxed);
    q->tail_off = 0;
  }
  t->wake = !q->awake;
  q->awake = true;
  t->record = record_at(q, q->tail_off);
  t->size_kind = payload | ((uint32_t)kind << WMIEV__QUEUED_KIND_SHIFT);
  atomic_store_explicit(&t->record->size_kind, t->size_kind | WMIEV__QUEUED_BUSY,
                        memory_order_relaxed);
  q->tail_off += need;
  if (q->tail_off == q->bytes) {
    q->tail_off = 0;
  }
  /* Release: the headers written above are there for whoever reads these. */
  atomic_store_explicit(&q->tail_pos, tail_pos + waste + need, memory_order_release);
  atomic_store_explicit(&q->tail_count, tail_count + 1u, memory_order_release);
  /* A new high is checked against the consumer itself before it counts. */
  uint64_t peak = atomic_load_explicit(&q->peak, memory_order_relaxed);
  if (tail_count + 1u - q->seen_count > peak) {
    refresh_seen(q);
    if (tail_count + 1u - q->seen_count > peak) {
      atomic_store_explicit(&q->peak, tail_count + 1u - q->seen_count, memory_order_relaxed);
    }
  }
  unlock_reserve(q);
  return true;
}

/* The first header word of the record at the cursor (fillers skipped), or
 * 0 if nothing is reserved there. */
static uint32_t word_at_cursor(wmiev__queue *q) {
  for (;;) {
    if (q->next_pos == q->known_tail) {
      q->known_tail = atomic_load_explicit(&q->tail_pos, memory_order_acquire);
      if (q->next_pos == q->known_tail) {
        return 0; /* nothing reserved */
      }
    }
    uint32_t word =
        atomic_load_explicit(&record_at(q, q->next_off)->size_kind, memory_order_acquire);
    if (word != FILLER_WORD) {
      return word;
    }
    /* A filler: the rest of the ring is unused, the next record is at the start. */
    q->next_pos += q->bytes - q->next_off;
    q->next_off = 0;
  }
}

bool wmiev__queue_ready(wmiev__queue *q) {
  uint32_t word = word_at_cursor(q);
  return word != 0 && (word & WMIEV__QUEUED_BUSY) == 0;
}

const wmiev__queued *wmiev__queue_next(wmiev__queue *q, uint32_t *size_kind) {
  uint32_t word = word_at_cursor(q);
  if (word == 0 || (word & WMIEV__QUEUED_BUSY) != 0) {
    return NULL; /* nothing reserved, or reserved and not committed yet */
  }
  const wmiev__queued *record = record_at(q, q->next_off);
  uint32_t size = (uint32_t)wmiev__queue_record_size(wmiev__queued_size(word));
  q->next_pos += size;
  q->next_count++;
  q->next_off += size;
  if (q->next_off == q->bytes) {
    q->next_off = 0;
  }
  *size_kind = word;
  return record;
}

void wmiev__queue_release(wmiev__queue *q) {
  atomic_store_explicit(&q->head_count, q->next_count, memory_order_release);
  atomic_store_explicit(&q->head_pos, q->next_pos, memory_order_release);
}

void wmiev__queue_set_awake(wmiev__queue *q, bool awake) {
  lock_reserve(q);
  q->awake = awake;
  unlock_reserve(q);
}

bool wmiev__queue_try_idle(wmiev__queue *q) {
  lock_reserve(q);
  bool idle = atomic_load_explicit(&q->tail_pos, memory_order_relaxed) == q->next_pos;
  if (idle) {
    q->awake = false;
  }
  unlock_reserve(q);
  return idle;
}

bool wmiev__queue_rearm(wmiev__queue *q) {
  lock_reserve(q);
  q->awake = atomic_load_explicit(&q->tail_count, memory_order_relaxed) !=
             atomic_load_explicit(&q->head_count, memory_order_acquire);
  bool waiting = q->awake;
  unlock_reserve(q);
  return waiting;
}

uint64_t wmiev__queue_count(const wmiev__queue *q) {
  /* Head first: read after it, the tail is never behind it. */
  uint64_t head = atomic_load_explicit(&q->head_count, memory_order_acquire);
  uint64_t tail = atomic_load_explicit(&q->tail_count, memory_order_acquire);
  return tail - head;
}

uint64_t wmiev__queue_peak(const wmiev__queue *q) {
  uint64_t peak = atomic_load_explicit(&q->peak, memory_order_relaxed);
  uint64_t now = wmiev__queue_count(q);
  return now > peak ? now : peak;
}
