/*
 * The bounded queue events wait in between the fire call and delivery: a
 * byte ring of variable-size records, bounded both in events and in bytes,
 * allocated once at bus creation so that queuing never allocates. A record
 * is a 32-byte header plus its payload (a whole WNODE, or just the data of a
 * WmiFireEvent-style event, rebuilt into a WNODE at delivery), so a queued
 * 64-byte event costs 96 bytes. Not thread-safe: the bus lock guards it.
 */
#ifndef WMIEV_BUS_QUEUE_H
#define WMIEV_BUS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum wmiev__queued_kind {
  WMIEV__QUEUED_WRAP = 0,  /* filler to the end of the ring; skipped */
  WMIEV__QUEUED_WNODE = 1, /* payload: a complete, validated event WNODE */
  WMIEV__QUEUED_FIRE = 2,  /* payload: the data of a static-name single-instance event */
  WMIEV__QUEUED_FIRE_PDO = 3 /* the same, for a PDO-named block (PDO_INSTANCE_NAMES set) */
} wmiev__queued_kind;

typedef struct wmiev__queued {
  uint32_t record_size; /* header + payload, rounded up to 8 */
  uint32_t kind;        /* wmiev__queued_kind */
  uint32_t guid_slot;   /* the bus's GUID entry */
  uint32_t provider_id;
  uint32_t instance_index;
  uint32_t payload_size;
  int64_t timestamp;
} wmiev__queued;

_Static_assert(sizeof(wmiev__queued) == 32, "queue record header must stay 32 bytes");

typedef struct wmiev__queue {
  uint8_t *ring;
  size_t bytes;    /* ring size, a multiple of 8 */
  size_t head;     /* offset of the oldest record */
  size_t tail;     /* offset where the next record goes */
  size_t count;    /* records (not counting wrap fillers) */
  size_t capacity; /* most records at once */
} wmiev__queue;

/* Bytes a record with `payload` bytes takes. */
static inline size_t wmiev__queue_record_size(size_t payload) {
  return (sizeof(wmiev__queued) + payload + 7u) & ~(size_t)7u;
}

/* `ring` must be 8-aligned, `bytes` a multiple of 8. */
void wmiev__queue_init(wmiev__queue *q, uint8_t *ring, size_t bytes, size_t capacity);
/* Room for a record with `payload` bytes: the header is filled in
 * (record_size, payload_size), the rest is the caller's. NULL when full. */
wmiev__queued *wmiev__queue_push(wmiev__queue *q, size_t payload);
/* The oldest record, or NULL. It stays in place until popped. */
wmiev__queued *wmiev__queue_front(wmiev__queue *q);
void wmiev__queue_pop(wmiev__queue *q);
/* Iteration without popping, for a consumer that gives space back in
 * batches: the record at *offset (a wrap filler there is skipped: *offset
 * becomes 0), and the offset of the one after `record`. */
wmiev__queued *wmiev__queue_at(const wmiev__queue *q, size_t *offset);
size_t wmiev__queue_after(const wmiev__queue *q, size_t offset, const wmiev__queued *record);
/* Pops the `n` oldest records; `head_after` is the offset after the last
 * (from wmiev__queue_after). */
void wmiev__queue_consume(wmiev__queue *q, size_t n, size_t head_after);

#endif /* WMIEV_BUS_QUEUE_H */
