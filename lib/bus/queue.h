/*
 * The bounded queue events wait in between the fire call and delivery
 * (pumped and libuv mode; decisions D23): a byte ring of variable-size
 * records that any number of threads fill at once and one consumer at a
 * time (the bus's dispatcher) drains, with no mutex on either side. Bounded
 * both in events (`capacity`) and in bytes; allocated once at bus creation,
 * so queuing never allocates.
 *
 * A record is a 24-byte header plus its payload (a whole WNODE, or just the
 * data of a WmiFireEvent-style event, rebuilt into a WNODE at delivery),
 * rounded up to 8: a queued 64-byte event takes 88 bytes.
 *
 * How a record goes through (the Linux BPF ring buffer has the same shape):
 *   1. reserve, under `reserve_lock`, a spin lock held for a dozen
 *      instructions: check the room against a recent copy of the
 *      consumer's position (re-read only when the copy says full), write
 *      the record's first header word with BUSY set (and a filler header
 *      where a record would not fit before the end), then publish the new
 *      `tail_pos` / `tail_count` (release);
 *   2. the producer writes the rest of the header and the payload, no lock;
 *   3. commit: a release store of the first header word without BUSY;
 *   4. the consumer reads records below `tail_pos` (acquire) in order: a
 *      BUSY one ends the pass (a dispatch that is running waits for its
 *      commit, deliver.c; an idle consumer is woken by that producer after
 *      the commit, fire.c), a filler sends it to the start of the ring. It gives
 *      the bytes back by publishing `head_pos` / `head_count` (release).
 * Positions count bytes (fillers included) and records since creation, in
 * 64 bits: they never wrap, so a stale copy only ever sees less room than
 * there is. Every header the consumer reads was written under the lock
 * before `tail_pos` covered it, so it never mistakes stale bytes for a
 * record. The spin lock yields the CPU after a short spin, so a producer
 * preempted while holding it costs the others a reschedule, not a spin.
 */
#ifndef WMIEV_BUS_QUEUE_H
#define WMIEV_BUS_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum wmiev__queued_kind {
  WMIEV__QUEUED_FILLER = 0,  /* the unused end of the ring: skipped */
  WMIEV__QUEUED_WNODE = 1,   /* payload: a complete, validated event WNODE */
  WMIEV__QUEUED_FIRE = 2,    /* payload: the data of a static-name single-instance event */
  WMIEV__QUEUED_FIRE_PDO = 3 /* the same, for a PDO-named block (PDO_INSTANCE_NAMES set) */
} wmiev__queued_kind;

typedef struct wmiev__queued {
  /* payload size | BUSY | kind << 30: written under the lock, BUSY cleared
   * by the commit. The only word the consumer reads before the commit. */
  _Atomic uint32_t size_kind;
  uint32_t guid_slot; /* the bus's GUID entry */
  uint32_t provider_id;
  uint32_t instance_index;
  int64_t timestamp;
} wmiev__queued;

_Static_assert(sizeof(wmiev__queued) == 24, "queue record header must stay 24 bytes");

/* Payloads are at most 2^26 bytes (max_event_size is capped there). */
#define WMIEV__QUEUED_KIND_SHIFT 30u
#define WMIEV__QUEUED_BUSY (1u << 29)
#define WMIEV__QUEUED_SIZE_MASK (WMIEV__QUEUED_BUSY - 1u)

/* Largest ring: offsets are 32-bit. */
#define WMIEV__QUEUE_MAX_BYTES (UINT32_MAX - 7u)

/* Room between the producers' and the consumer's words (not `_Alignas`:
 * the bus is allocated by the user's allocator, which may align to 8). */
#define WMIEV__QUEUE_PAD 64

typedef struct wmiev__queue {
  /* Fixed at init. */
  uint8_t *ring;
  uint32_t bytes;    /* ring size, a multiple of 8, at least two of the largest records */
  uint32_t capacity; /* most records at once */
  char pad0[WMIEV__QUEUE_PAD];
  /* The producers' own line: the lock and what it guards. */
  _Atomic bool reserve_lock;
  bool awake;        /* the consumer runs or was woken (under the lock) */
  uint32_t tail_off; /* where the next record goes (under the lock) */
  uint64_t seen_pos; /* head_pos and head_count as last read (under the lock) */
  uint64_t seen_count;
  _Atomic uint64_t peak; /* most records reserved at once (written under the lock) */
  char pad1[WMIEV__QUEUE_PAD];
  /* What the producers publish (written under the lock), on a line of its
   * own: the consumer reads it whenever it catches up, which must not take
   * the lock's line away from the next producer. */
  _Atomic uint64_t tail_pos;   /* bytes ever reserved */
  _Atomic uint64_t tail_count; /* records ever reserved */
  char pad1b[WMIEV__QUEUE_PAD];
  /* The consumer's side: published, then its own cursor. */
  _Atomic uint64_t head_pos;   /* bytes given back */
  _Atomic uint64_t head_count; /* records given back */
  uint64_t next_pos;           /* cursor: the next record's position, offset, number */
  uint64_t next_count;
  uint32_t next_off;
  uint64_t known_tail; /* tail_pos as last read by the consumer */
  char pad2[WMIEV__QUEUE_PAD];
} wmiev__queue;

/* A reservation: the record to fill in and commit. */
typedef struct wmiev__queue_ticket {
  wmiev__queued *record;
  uint32_t size_kind; /* its first header word, without BUSY */
  bool wake;          /* the consumer was idle: the producer wakes it after the commit */
} wmiev__queue_ticket;

/* Bytes a record with `payload` bytes takes in the ring. */
static inline size_t wmiev__queue_record_size(size_t payload) {
  return (sizeof(wmiev__queued) + payload + 7u) & ~(size_t)7u;
}

static inline uint32_t wmiev__queued_size(uint32_t size_kind) {
  return size_kind & WMIEV__QUEUED_SIZE_MASK;
}
static inline wmiev__queued_kind wmiev__queued_kind_of(uint32_t size_kind) {
  return (wmiev__queued_kind)(size_kind >> WMIEV__QUEUED_KIND_SHIFT);
}

/* `ring` 8-aligned (NULL, 0: a queue that refuses everything). */
void wmiev__queue_init(wmiev__queue *q, uint8_t *ring, uint32_t bytes, uint32_t capacity);

/* ---- Producers (any thread, any number at once) --------------------------------------- */

/* Claims room for a record with `payload` bytes (<= 2^26) of `kind`; false
 * when full (events or bytes). On success the caller fills in the header
 * (all but size_kind) and the payload, then commits. */
bool wmiev__queue_reserve(wmiev__queue *q, uint32_t payload, wmiev__queued_kind kind,
                          wmiev__queue_ticket *t);
/* Makes the record visible to the consumer (a release store). */
static inline void wmiev__queue_commit(const wmiev__queue_ticket *t) {
  atomic_store_explicit(&t->record->size_kind, t->size_kind, memory_order_release);
}

/* ---- The consumer (one thread at a time) ---------------------------------------------- */

/* The next committed record, the cursor moved past it; NULL if there is
 * none, or the next one is not committed yet. Its bytes stay put until
 * wmiev__queue_release(). *size_kind: its first header word. */
const wmiev__queued *wmiev__queue_next(wmiev__queue *q, uint32_t *size_kind);
/* True if wmiev__queue_next() would return a record now. */
bool wmiev__queue_ready(wmiev__queue *q);
/* Gives the bytes of every record the cursor passed back to the producers. */
void wmiev__queue_release(wmiev__queue *q);

/* ---- Waking the consumer ----------------------------------------------------------------
 * `awake` says whether the consumer needs waking: false only after the
 * consumer found nothing left to do. A reservation that finds it false sets
 * it and tells its producer to wake the consumer (ticket.wake), after its
 * commit. Both sides change it under the reservation lock, so a consumer
 * going idle either sees a reservation made before (and waits for its
 * commit instead) or the reservation after it sees `awake` false: no
 * wakeup is lost, and none costs a fence per event. */

/* Marks the consumer awake (a dispatch begins), or idle (the next
 * reservation wakes it) whatever the queue holds. */
void wmiev__queue_set_awake(wmiev__queue *q, bool awake);
/* Marks the consumer idle if nothing is reserved past its cursor: true. */
bool wmiev__queue_try_idle(wmiev__queue *q);
/* For a new wakeup hook: awake if records wait (true: the caller wakes the
 * consumer itself), else idle. */
bool wmiev__queue_rearm(wmiev__queue *q);

/* ---- Anyone --------------------------------------------------------------------------- */

/* Records reserved and not yet given back (a moment's view). */
uint64_t wmiev__queue_count(const wmiev__queue *q);
/* Most records ever reserved at once (at least the count now). */
uint64_t wmiev__queue_peak(const wmiev__queue *q);

#endif /* WMIEV_BUS_QUEUE_H */
