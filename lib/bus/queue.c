/* The bus's byte ring; see queue.h. */
#include "queue.h"

void wmiev__queue_init(wmiev__queue *q, uint8_t *ring, size_t bytes, size_t capacity) {
  q->ring = ring;
  q->bytes = bytes;
  q->head = q->tail = 0;
  q->count = 0;
  q->capacity = capacity;
}

static wmiev__queued *at(const wmiev__queue *q, size_t offset) {
  return (wmiev__queued *)(void *)(q->ring + offset);
}

wmiev__queued *wmiev__queue_push(wmiev__queue *q, size_t payload) {
  size_t need = wmiev__queue_record_size(payload);
  if (q->count == q->capacity || need > q->bytes) {
    return NULL;
  }
  if (q->count == 0) {
    q->head = q->tail = 0; /* an empty ring restarts at the front: no wrap waste */
  } else if (q->tail == q->head) {
    return NULL; /* full to the byte */
  }
  size_t place;
  if (q->tail >= q->head) {
    /* Data in [head, tail): room at the end, then at the front up to head. */
    if (need <= q->bytes - q->tail) {
      place = q->tail;
    } else if (need <= q->head) {
      if (q->tail < q->bytes) {
        wmiev__queued *filler = at(q, q->tail);
        filler->record_size = (uint32_t)(q->bytes - q->tail);
        filler->kind = WMIEV__QUEUED_WRAP;
      }
      place = 0;
    } else {
      return NULL;
    }
  } else {
    /* Wrapped: data in [head, bytes) and [0, tail); room in [tail, head). */
    if (need > q->head - q->tail) {
      return NULL;
    }
    place = q->tail;
  }
  wmiev__queued *record = at(q, place);
  record->record_size = (uint32_t)need;
  record->payload_size = (uint32_t)payload;
  q->tail = place + need;
  if (q->tail == q->bytes) {
    q->tail = 0;
  }
  q->count++;
  return record;
}

wmiev__queued *wmiev__queue_front(wmiev__queue *q) {
  if (q->count == 0) {
    return NULL;
  }
  wmiev__queued *record = at(q, q->head);
  if (record->kind == WMIEV__QUEUED_WRAP) {
    q->head = 0;
    record = at(q, 0);
  }
  return record;
}

void wmiev__queue_pop(wmiev__queue *q) {
  wmiev__queued *record = wmiev__queue_front(q);
  if (record == NULL) {
    return;
  }
  q->head += record->record_size;
  if (q->head == q->bytes) {
    q->head = 0;
  }
  q->count--;
  if (q->count == 0) {
    q->head = q->tail = 0;
  }
}

wmiev__queued *wmiev__queue_at(const wmiev__queue *q, size_t *offset) {
  wmiev__queued *record = at(q, *offset);
  if (record->kind == WMIEV__QUEUED_WRAP) {
    *offset = 0;
    record = at(q, 0);
  }
  return record;
}

size_t wmiev__queue_after(const wmiev__queue *q, size_t offset, const wmiev__queued *record) {
  size_t next = offset + record->record_size;
  return next == q->bytes ? 0 : next;
}

void wmiev__queue_consume(wmiev__queue *q, size_t n, size_t head_after) {
  q->count -= n;
  q->head = head_after;
  if (q->count == 0) {
    q->head = q->tail = 0;
  }
}
