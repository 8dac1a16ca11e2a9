/*
 * The bus's multi-producer byte ring (lib/bus/queue.h, decisions D23),
 * driven directly: no bus, no callbacks, so every record, offset and count
 * the queue hands out can be checked against what queue.h promises.
 *
 * The single-threaded tests pin the accounting down exactly: the queue is
 * bounded both in records (`capacity`) and in bytes (records rounded up to
 * 8, plus the filler wasted at the ring's end when a record does not fit
 * there), a record never straddles the end, the consumer skips fillers,
 * stops at a record reserved and not committed yet, and gives bytes back
 * only when it releases. One of them runs a model of that accounting next
 * to the queue over hundreds of laps of a small ring, with commits out of
 * order, and compares every answer and every record's place.
 *
 * The wake tests check the `awake` protocol: exactly one reservation per
 * idle period is told to wake the consumer, and a consumer that goes idle
 * is never left asleep with records waiting.
 *
 * The threaded tests fill a small ring from four producers at once while a
 * consumer drains it, so that the lock, the BUSY bit, the fillers and the
 * positions are crossed constantly; every record carries its producer, its
 * sequence number and a checksum of its body, so a lost, repeated,
 * reordered or torn record shows. They are meant to run under
 * ThreadSanitizer and AddressSanitizer too (.ci/run).
 */
#define _POSIX_C_SOURCE 200809L

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bus/queue.h"
#include "test_util.h"

/* ThreadSanitizer runs the threaded tests with half the records: the same
 * interleavings, in about the time of the other builds. */
#if defined(__SANITIZE_THREAD__)
#define THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define THREAD_SANITIZER 1
#endif
#endif
#ifndef THREAD_SANITIZER
#define THREAD_SANITIZER 0
#endif

/* ---- Fixture ----------------------------------------------------------------------------- */

#define RING_MAX 8192u

/* Filled with POISON before each test: a header word of 0x5A5A5A5A reads
 * as a committed record (kind 1, BUSY clear), so a consumer that read a
 * header nobody wrote would hand out garbage, not stop quietly. */
#define POISON 0x5Au

static _Alignas(8) uint8_t ring_memory[RING_MAX];
static wmiev__queue the_queue; /* padded to several cache lines: not on the stack */

static wmiev__queue *fresh_queue(uint32_t bytes, uint32_t capacity) {
  assert_true(bytes <= RING_MAX && bytes % 8u == 0);
  memset(ring_memory, POISON, sizeof ring_memory);
  memset(&the_queue, 0xCC, sizeof the_queue); /* init must set every field it uses */
  wmiev__queue_init(&the_queue, ring_memory, bytes, capacity);
  return &the_queue;
}

static uint8_t *ring_at(uint32_t offset) { return ring_memory + offset; }

/* The first header word at `offset`, as the consumer would read it. */
static uint32_t word_at(uint32_t offset) {
  return atomic_load(&((wmiev__queued *)(void *)ring_at(offset))->size_kind);
}

static uint8_t *payload_of(wmiev__queued *record) { return (uint8_t *)(record + 1); }
static const uint8_t *cpayload_of(const wmiev__queued *record) {
  return (const uint8_t *)(record + 1);
}

/* Payload byte i of the record stamped `seed`. */
static uint8_t pattern_byte(uint32_t seed, size_t i) {
  return (uint8_t)(seed * 131u + (uint32_t)i * 7u + (uint32_t)(i >> 5));
}

/* Reserves a record of `payload` bytes, fills its header from `seed` and
 * its payload with the pattern; does not commit. */
static bool reserve_stamped(wmiev__queue *q, uint32_t payload, wmiev__queued_kind kind,
                            uint32_t seed, wmiev__queue_ticket *t) {
  memset(t, 0, sizeof *t);
  if (!wmiev__queue_reserve(q, payload, kind, t)) {
    return false;
  }
  t->record->guid_slot = seed;
  t->record->provider_id = ~seed;
  t->record->instance_index = payload;
  t->record->timestamp = -(int64_t)seed * 1000003;
  for (uint32_t i = 0; i < payload; i++) {
    payload_of(t->record)[i] = pattern_byte(seed, i);
  }
  return true;
}

/* Checks a record the consumer got against the one stamped `seed`. */
static void check_stamped(const wmiev__queued *record, uint32_t size_kind, uint32_t payload,
                          wmiev__queued_kind kind, uint32_t seed) {
  assert_non_null(record);
  assert_int_equal(size_kind & WMIEV__QUEUED_BUSY, 0);
  assert_int_equal(wmiev__queued_size(size_kind), payload);
  assert_int_equal(wmiev__queued_kind_of(size_kind), kind);
  assert_int_equal(atomic_load(&((wmiev__queued *)(uintptr_t)record)->size_kind), size_kind);
  assert_int_equal(record->guid_slot, seed);
  assert_int_equal(record->provider_id, ~seed);
  assert_int_equal(record->instance_index, payload);
  assert_true(record->timestamp == -(int64_t)seed * 1000003);
  for (uint32_t i = 0; i < payload; i++) {
    if (cpayload_of(record)[i] != pattern_byte(seed, i)) {
      fail_msg("record %u: payload byte %u is %u, expected %u", seed, i, cpayload_of(record)[i],
               pattern_byte(seed, i));
    }
  }
}

/* The consumer's next record, checked against the one stamped `seed`. */
static const wmiev__queued *take_stamped(wmiev__queue *q, uint32_t payload, wmiev__queued_kind kind,
                                         uint32_t seed) {
  uint32_t size_kind = 0;
  const wmiev__queued *record = wmiev__queue_next(q, &size_kind);
  check_stamped(record, size_kind, payload, kind, seed);
  return record;
}

/* ---- Sizes ------------------------------------------------------------------------------- */

/* A record is the 24-byte header plus its payload, rounded up to 8 (queue.h:
 * "a queued 64-byte event takes 88 bytes"); the size and kind fields of the
 * first header word come back apart. */
static void test_record_size_and_word(void **state) {
  (void)state;
  assert_int_equal(wmiev__queue_record_size(0), 24);
  assert_int_equal(wmiev__queue_record_size(1), 32);
  assert_int_equal(wmiev__queue_record_size(8), 32);
  assert_int_equal(wmiev__queue_record_size(9), 40);
  assert_int_equal(wmiev__queue_record_size(40), 64);
  assert_int_equal(wmiev__queue_record_size(64), 88);
  uint32_t word = 12345u | ((uint32_t)WMIEV__QUEUED_FIRE_PDO << WMIEV__QUEUED_KIND_SHIFT);
  assert_int_equal(wmiev__queued_size(word), 12345u);
  assert_int_equal(wmiev__queued_kind_of(word), WMIEV__QUEUED_FIRE_PDO);
  assert_int_equal(wmiev__queued_size(word | WMIEV__QUEUED_BUSY), 12345u);
  assert_int_equal(wmiev__queued_size(WMIEV__QUEUED_SIZE_MASK), (1u << 29) - 1u);
}

/* ---- Capacity ---------------------------------------------------------------------------- */

/* With room for many more bytes, `capacity` records at most: the fifth of
 * four fails, and stays failing until the consumer releases (passing a
 * record with next() gives nothing back yet). Count and peak are exact. */
static void test_capacity_in_records(void **state) {
  (void)state;
  wmiev__queue *q = fresh_queue(4096, 4);
  assert_int_equal(wmiev__queue_count(q), 0);
  assert_int_equal(wmiev__queue_peak(q), 0);
  wmiev__queue_ticket t[6];
  for (uint32_t i = 0; i < 4; i++) {
    assert_true(reserve_stamped(q, 16, WMIEV__QUEUED_FIRE, i, &t[i]));
    assert_ptr_equal(t[i].record, ring_at(i * 40u));
    wmiev__queue_commit(&t[i]);
    assert_int_equal(wmiev__queue_count(q), i + 1u);
    assert_int_equal(wmiev__queue_peak(q), i + 1u);
  }
  assert_false(wmiev__queue_reserve(q, 16, WMIEV__QUEUED_FIRE, &t[4]));
  assert_false(wmiev__queue_reserve(q, 0, WMIEV__QUEUED_FIRE, &t[4]));
  assert_int_equal(wmiev__queue_count(q), 4);
  assert_int_equal(wmiev__queue_peak(q), 4);

  uint32_t size_kind = 0;
  const wmiev__queued *r = wmiev__queue_next(q, &size_kind);
  check_stamped(r, size_kind, 16, WMIEV__QUEUED_FIRE, 0);
  assert_ptr_equal(r, t[0].record);
  /* Passed, not released: still counted, still full. */
  assert_int_equal(wmiev__queue_count(q), 4);
  assert_false(wmiev__queue_reserve(q, 16, WMIEV__QUEUED_FIRE, &t[4]));

  wmiev__queue_release(q);
  assert_int_equal(wmiev__queue_count(q), 3);
  assert_int_equal(wmiev__queue_peak(q), 4);
  assert_true(reserve_stamped(q, 16, WMIEV__QUEUED_FIRE, 4, &t[4]));
  assert_ptr_equal(t[4].record, ring_at(160)); /* after the others: not the freed slot */
  wmiev__queue_commit(&t[4]);
  assert_int_equal(wmiev__queue_count(q), 4);
  assert_int_equal(wmiev__queue_peak(q), 4);
  assert_false(wmiev__queue_reserve(q, 16, WMIEV__QUEUED_FIRE, &t[5]));

  for (uint32_t i = 1; i <= 4; i++) {
    r = wmiev__queue_next(q, &size_kind);
    check_stamped(r, size_kind, 16, WMIEV__QUEUED_FIRE, i);
  }
  assert_null(wmiev__queue_next(q, &size_kind));
  wmiev__queue_release(q);
  assert_int_equal(wmiev__queue_count(q), 0);
  assert_int_equal(wmiev__queue_peak(q), 4);
}

/* A 256-byte ring holds exactly four 64-byte records (40-byte payloads);
 * then not even a header fits. After one is released, exactly its 64 bytes
 * are free again: a 64-byte record fits (at offset 0: the tail reached the
 * end exactly, so no filler), a 72-byte one does not. */
static void test_capacity_in_bytes(void **state) {
  (void)state;
  wmiev__queue *q = fresh_queue(256, 100);
  assert_int_equal(wmiev__queue_record_size(40), 64);
  wmiev__queue_ticket t[6];
  for (uint32_t i = 0; i < 4; i++) {
    assert_true(reserve_stamped(q, 40, WMIEV__QUEUED_WNODE, 10u + i, &t[i]));
    assert_ptr_equal(t[i].record, ring_at(i * 64u));
    wmiev__queue_commit(&t[i]);
  }
  assert_int_equal(wmiev__queue_count(q), 4);
  assert_false(wmiev__queue_reserve(q, 0, WMIEV__QUEUED_WNODE, &t[4]));
  assert_int_equal(wmiev__queue_count(q), 4);
  assert_int_equal(wmiev__queue_peak(q), 4);

  uint32_t size_kind = 0;
  take_stamped(q, 40, WMIEV__QUEUED_WNODE, 10);
  wmiev__queue_release(q);
  assert_int_equal(wmiev__queue_count(q), 3);
  assert_false(wmiev__queue_reserve(q, 41, WMIEV__QUEUED_WNODE, &t[4])); /* 72 bytes */
  assert_true(reserve_stamped(q, 40, WMIEV__QUEUED_WNODE, 14, &t[4]));   /* 64 bytes */
  assert_ptr_equal(t[4].record, ring_memory);
  wmiev__queue_commit(&t[4]);
  assert_int_equal(wmiev__queue_count(q), 4);
  assert_false(wmiev__queue_reserve(q, 0, WMIEV__QUEUED_WNODE, &t[5]));

  for (uint32_t i = 11; i <= 14; i++) {
    take_stamped(q, 40, WMIEV__QUEUED_WNODE, i);
  }
  assert_null(wmiev__queue_next(q, &size_kind));
  wmiev__queue_release(q);
  assert_int_equal(wmiev__queue_count(q), 0);
  assert_int_equal(wmiev__queue_peak(q), 4);

  /* Empty, tail at 64: a record larger than the ring never fits; one larger
   * than the 192 bytes up to the end does not either, since it would waste
   * them (hence "at least two of the largest records", queue.h); one of
   * exactly 192 goes right at the tail. */
  assert_false(wmiev__queue_reserve(q, 256 - 24 + 1, WMIEV__QUEUED_WNODE, &t[5]));
  assert_false(wmiev__queue_reserve(q, 200 - 24, WMIEV__QUEUED_WNODE, &t[5]));
  assert_true(reserve_stamped(q, 192 - 24, WMIEV__QUEUED_WNODE, 15, &t[5]));
  assert_ptr_equal(t[5].record, ring_at(64));
  wmiev__queue_commit(&t[5]);
  take_stamped(q, 192 - 24, WMIEV__QUEUED_WNODE, 15);
  wmiev__queue_release(q);
  assert_int_equal(wmiev__queue_count(q), 0);
}

/* A queue without a ring refuses everything and has nothing to give. */
static void test_queue_without_ring(void **state) {
  (void)state;
  wmiev__queue *q = &the_queue;
  memset(q, 0xCC, sizeof *q);
  wmiev__queue_init(q, NULL, 4096, 64);
  wmiev__queue_ticket t;
  assert_false(wmiev__queue_reserve(q, 0, WMIEV__QUEUED_WNODE, &t));
  assert_false(wmiev__queue_reserve(q, 100, WMIEV__QUEUED_FIRE, &t));
  uint32_t size_kind = 0;
  assert_null(wmiev__queue_next(q, &size_kind));
  assert_false(wmiev__queue_ready(q));
  assert_true(wmiev__queue_try_idle(q));
  assert_false(wmiev__queue_rearm(q));
  assert_int_equal(wmiev__queue_count(q), 0);
  assert_int_equal(wmiev__queue_peak(q), 0);
}

/* ---- Wrapping ---------------------------------------------------------------------------- */

/* Ring of 256: A (104 bytes) at 0, B (104) at 104, 48 bytes left at the end.
 * After A is released, a 64-byte C does not fit before the end but does at
 * the start: a filler covers 208..255 and C goes to offset 0, D after it.
 * The filler counts as used bytes (a 112-byte record, which 152 free bytes
 * would hold, does not fit around it) but not as a record. The consumer gets
 * B, C, D in order, whole. */
static void test_wrap_with_filler(void **state) {
  (void)state;
  wmiev__queue *q = fresh_queue(256, 16);
  assert_int_equal(wmiev__queue_record_size(80), 104);
  wmiev__queue_ticket a, b, c, d, e;
  assert_true(reserve_stamped(q, 80, WMIEV__QUEUED_WNODE, 1, &a));
  assert_true(reserve_stamped(q, 80, WMIEV__QUEUED_FIRE, 2, &b));
  assert_ptr_equal(a.record, ring_memory);
  assert_ptr_equal(b.record, ring_at(104));
  wmiev__queue_commit(&a);
  wmiev__queue_commit(&b);

  uint32_t size_kind = 0;
  take_stamped(q, 80, WMIEV__QUEUED_WNODE, 1);
  wmiev__queue_release(q);
  assert_int_equal(wmiev__queue_count(q), 1);

  /* 104 used + 48 wasted + 112 > 256: refused, and it leaves no filler. */
  assert_false(wmiev__queue_reserve(q, 88, WMIEV__QUEUED_FIRE, &e));
  assert_int_equal(word_at(208), 0x5A5A5A5Au);
  assert_int_equal(wmiev__queue_count(q), 1);

  assert_true(reserve_stamped(q, 40, WMIEV__QUEUED_FIRE_PDO, 3, &c));
  assert_ptr_equal(c.record, (void *)ring_memory);
  assert_int_equal(word_at(208), 0); /* the filler */
  assert_true(reserve_stamped(q, 16, WMIEV__QUEUED_WNODE, 4, &d));
  assert_ptr_equal(d.record, ring_at(64));
  /* B, C and D: the filler is not a record. */
  assert_int_equal(wmiev__queue_count(q), 3);
  assert_int_equal(wmiev__queue_peak(q), 3);
  /* 104 (B) + 48 (filler) + 64 (C) + 40 (D) = 256: full. */
  assert_false(wmiev__queue_reserve(q, 0, WMIEV__QUEUED_WNODE, &e));
  wmiev__queue_commit(&d);
  wmiev__queue_commit(&c);

  take_stamped(q, 80, WMIEV__QUEUED_FIRE, 2);
  const wmiev__queued *r = wmiev__queue_next(q, &size_kind);
  assert_ptr_equal(r, ring_memory);
  check_stamped(r, size_kind, 40, WMIEV__QUEUED_FIRE_PDO, 3);
  r = wmiev__queue_next(q, &size_kind);
  assert_ptr_equal(r, ring_at(64));
  check_stamped(r, size_kind, 16, WMIEV__QUEUED_WNODE, 4);
  assert_null(wmiev__queue_next(q, &size_kind));
  assert_false(wmiev__queue_ready(q));
  assert_int_equal(wmiev__queue_count(q), 3);
  wmiev__queue_release(q);
  assert_int_equal(wmiev__queue_count(q), 0);

  /* Empty again, tail at 104: half the ring fits, right there. */
  assert_true(reserve_stamped(q, 128 - 24, WMIEV__QUEUED_WNODE, 5, &e));
  assert_ptr_equal(e.record, ring_at(104));
  wmiev__queue_commit(&e);
  take_stamped(q, 104, WMIEV__QUEUED_WNODE, 5);
  wmiev__queue_release(q);
}

/* ---- Commit order ------------------------------------------------------------------------ */

/* A reserved, uncommitted record ends the consumer's pass even when the one
 * after it is committed: FIFO, whatever order the producers finish in. */
static void test_uncommitted_record_stops_the_consumer(void **state) {
  (void)state;
  wmiev__queue *q = fresh_queue(1024, 16);
  wmiev__queue_ticket a, b;
  uint32_t size_kind = 0;
  assert_false(wmiev__queue_ready(q));
  assert_null(wmiev__queue_next(q, &size_kind));
  assert_true(reserve_stamped(q, 33, WMIEV__QUEUED_WNODE, 100, &a));
  assert_true(reserve_stamped(q, 7, WMIEV__QUEUED_FIRE, 101, &b));
  /* Reserved, not committed: the first word says BUSY. */
  assert_int_equal(atomic_load(&a.record->size_kind), a.size_kind | WMIEV__QUEUED_BUSY);
  assert_false(wmiev__queue_ready(q));
  assert_null(wmiev__queue_next(q, &size_kind));
  wmiev__queue_commit(&b);
  assert_false(wmiev__queue_ready(q));
  assert_null(wmiev__queue_next(q, &size_kind));
  assert_int_equal(wmiev__queue_count(q), 2);

  wmiev__queue_commit(&a);
  assert_int_equal(atomic_load(&a.record->size_kind), a.size_kind);
  assert_true(wmiev__queue_ready(q));
  const wmiev__queued *r = wmiev__queue_next(q, &size_kind);
  assert_ptr_equal(r, a.record);
  check_stamped(r, size_kind, 33, WMIEV__QUEUED_WNODE, 100);
  assert_true(wmiev__queue_ready(q));
  r = wmiev__queue_next(q, &size_kind);
  assert_ptr_equal(r, b.record);
  check_stamped(r, size_kind, 7, WMIEV__QUEUED_FIRE, 101);
  assert_false(wmiev__queue_ready(q));
  assert_null(wmiev__queue_next(q, &size_kind));
  wmiev__queue_release(q);
  assert_int_equal(wmiev__queue_count(q), 0);
}

/* ---- Many laps against a model ----------------------------------------------------------- */

static uint64_t rng_state; /* test_rng_below(): picks sizes and actions */

/* The queue's accounting as queue.h describes it, kept independently. */
typedef struct model {
  uint32_t bytes, capacity;
  uint32_t tail_off;
  uint64_t tail_pos, tail_count; /* reserved, fillers included */
  uint64_t head_pos, head_count; /* released */
  uint64_t next_pos, next_count; /* passed by the consumer */
  uint64_t peak;
} model;

typedef struct expected_record {
  uint32_t offset, payload, seed;
  uint32_t waste; /* the filler before it, until the consumer skipped it */
  wmiev__queued_kind kind;
  bool committed;
  wmiev__queue_ticket ticket;
} expected_record;

#define MODEL_RING 1024u
#define MODEL_CAPACITY 12u
#define MODEL_LAPS 200u
#define MODEL_MAX_PAYLOAD 300u
#define MODEL_PENDING 3u

/* Where a record of `need` bytes goes, or false if it does not fit. */
static bool model_reserve(model *m, uint32_t need, uint32_t *offset, uint32_t *waste) {
  if (need > m->bytes) {
    return false;
  }
  *waste = need <= m->bytes - m->tail_off ? 0 : m->bytes - m->tail_off;
  if (m->tail_count - m->head_count >= m->capacity ||
      m->tail_pos - m->head_pos + *waste + need > m->bytes) {
    return false;
  }
  *offset = *waste != 0 ? 0 : m->tail_off;
  m->tail_pos += *waste + need;
  m->tail_count++;
  m->tail_off = (*offset + need) % m->bytes;
  if (m->tail_count - m->head_count > m->peak) {
    m->peak = m->tail_count - m->head_count;
  }
  return true;
}

/* Random reservations (0..300-byte payloads, three kinds, a quarter of them
 * committed later and out of order) and random consumption (a few records,
 * released most of the time) over 200 laps of a 1 KiB ring: every answer
 * of reserve, next, ready, count and peak equals the model's, every record
 * lands where the model says, and comes back whole and in order. An empty
 * queue always takes a record of half the ring. */
static void test_many_laps_against_a_model(void **state) {
  (void)state;
  wmiev__queue *q = fresh_queue(MODEL_RING, MODEL_CAPACITY);
  model m = {.bytes = MODEL_RING, .capacity = MODEL_CAPACITY};
  /* Records reserved and not released: at most `capacity`, a ring of them. */
  expected_record fifo[MODEL_CAPACITY + 1];
  uint64_t fifo_tail = 0, fifo_next = 0, fifo_head = 0; /* counts, as the model's */
  size_t pending[MODEL_PENDING];                        /* fifo indexes not committed yet */
  size_t pending_count = 0;
  uint32_t seed = 0;
  unsigned refused = 0, fillers = 0, empty_fits = 0, stopped_at_busy = 0;
  rng_state = 0x9E3779B97F4A7C15ull;

  while (m.tail_pos < (uint64_t)MODEL_LAPS * MODEL_RING) {
    uint32_t action = test_rng_below(&rng_state, 100u);
    if (action < 55u) {
      uint32_t payload = test_rng_below(&rng_state, MODEL_MAX_PAYLOAD + 1u);
      uint32_t need = (uint32_t)wmiev__queue_record_size(payload);
      bool was_empty = m.tail_count == m.head_count;
      uint32_t offset = 0, waste = 0;
      bool fits = model_reserve(&m, need, &offset, &waste);
      wmiev__queued_kind kind = (wmiev__queued_kind)(1u + seed % 3u);
      wmiev__queue_ticket t;
      bool got = reserve_stamped(q, payload, kind, seed, &t);
      assert_int_equal(got, fits);
      if (was_empty && need <= MODEL_RING / 2u) {
        assert_true(got);
        empty_fits++;
      }
      if (!got) {
        refused++;
        continue;
      }
      assert_ptr_equal(t.record, ring_at(offset));
      if (waste != 0) {
        fillers++;
        assert_int_equal(word_at(MODEL_RING - waste), 0);
      }
      assert_int_equal(atomic_load(&t.record->size_kind), t.size_kind | WMIEV__QUEUED_BUSY);
      expected_record *e = &fifo[fifo_tail % (MODEL_CAPACITY + 1u)];
      *e = (expected_record){offset, payload, seed, waste, kind, false, t};
      if (pending_count < MODEL_PENDING && test_rng_below(&rng_state, 4u) == 0) {
        pending[pending_count++] = (size_t)(fifo_tail % (MODEL_CAPACITY + 1u));
      } else {
        wmiev__queue_commit(&t);
        e->committed = true;
      }
      fifo_tail++;
      seed++;
    } else if (action < 70u && pending_count != 0) {
      /* Commit one of the held records, not necessarily the oldest. */
      size_t k = test_rng_below(&rng_state, (uint32_t)pending_count);
      expected_record *e = &fifo[pending[k]];
      wmiev__queue_commit(&e->ticket);
      e->committed = true;
      pending[k] = pending[--pending_count];
    } else {
      uint32_t take = 1u + test_rng_below(&rng_state, 4u);
      for (uint32_t i = 0; i < take; i++) {
        expected_record *e = &fifo[fifo_next % (MODEL_CAPACITY + 1u)];
        bool expect = fifo_next != fifo_tail && e->committed;
        if (fifo_next != fifo_tail && e->waste != 0) {
          /* The cursor goes past the filler before this record at its first
           * look, committed or not: those bytes are given back with it. */
          m.next_pos += e->waste;
          e->waste = 0;
        }
        assert_int_equal(wmiev__queue_ready(q), expect);
        uint32_t size_kind = 0;
        const wmiev__queued *r = wmiev__queue_next(q, &size_kind);
        if (!expect) {
          assert_null(r);
          stopped_at_busy += fifo_next != fifo_tail;
          break;
        }
        assert_ptr_equal(r, ring_at(e->offset));
        check_stamped(r, size_kind, e->payload, e->kind, e->seed);
        fifo_next++;
        m.next_count++;
        m.next_pos += wmiev__queue_record_size(e->payload);
      }
      if (test_rng_below(&rng_state, 4u) != 0) {
        wmiev__queue_release(q);
        m.head_pos = m.next_pos;
        m.head_count = m.next_count;
        fifo_head = fifo_next;
      }
    }
    assert_true(fifo_tail - fifo_head <= MODEL_CAPACITY);
    assert_int_equal(wmiev__queue_count(q), m.tail_count - m.head_count);
    assert_int_equal(wmiev__queue_peak(q), m.peak);
  }
  print_message("    %u records, %u refused, %u fillers, %u stops at a BUSY record\n", seed,
                refused, fillers, stopped_at_busy);
  assert_true(refused > 0);
  assert_true(fillers >= 50u);
  assert_true(empty_fits > 0);
  assert_true(stopped_at_busy > 0);
}

/* ---- Waking the consumer ----------------------------------------------------------------- */

static bool reserve_and_commit(wmiev__queue *q, uint32_t seed, wmiev__queue_ticket *t) {
  if (!reserve_stamped(q, 8, WMIEV__QUEUED_FIRE, seed, t)) {
    return false;
  }
  wmiev__queue_commit(t);
  return true;
}

/* A fresh queue's consumer is idle: the first reservation wakes it, the
 * next ones do not. set_awake(false) makes the next one wake it again.
 * try_idle fails while anything is reserved past the cursor (committed or
 * not), succeeds once the cursor passed everything (released or not), and
 * then the next reservation wakes the consumer. */
static void test_wake_flag(void **state) {
  (void)state;
  wmiev__queue *q = fresh_queue(1024, 16);
  wmiev__queue_ticket t;
  uint32_t size_kind = 0;
  assert_true(reserve_and_commit(q, 1, &t));
  assert_true(t.wake);
  assert_true(reserve_and_commit(q, 2, &t));
  assert_false(t.wake);
  assert_true(reserve_and_commit(q, 3, &t));
  assert_false(t.wake);

  wmiev__queue_set_awake(q, false);
  assert_true(reserve_and_commit(q, 4, &t));
  assert_true(t.wake);
  wmiev__queue_set_awake(q, true);
  assert_true(reserve_and_commit(q, 5, &t));
  assert_false(t.wake);

  /* Five waiting: not idle, and still awake afterwards. */
  assert_false(wmiev__queue_try_idle(q));
  assert_true(reserve_and_commit(q, 6, &t));
  assert_false(t.wake);
  for (uint32_t i = 1; i <= 5; i++) {
    take_stamped(q, 8, WMIEV__QUEUED_FIRE, i);
    assert_false(wmiev__queue_try_idle(q));
  }
  take_stamped(q, 8, WMIEV__QUEUED_FIRE, 6);
  /* The cursor passed everything, nothing released yet: idle is allowed. */
  assert_true(wmiev__queue_try_idle(q));
  assert_int_equal(wmiev__queue_count(q), 6);
  wmiev__queue_release(q);
  assert_true(wmiev__queue_try_idle(q));
  assert_true(reserve_and_commit(q, 7, &t));
  assert_true(t.wake);
  assert_true(reserve_and_commit(q, 8, &t));
  assert_false(t.wake);

  /* A reservation not committed yet counts as reserved past the cursor. */
  take_stamped(q, 8, WMIEV__QUEUED_FIRE, 7);
  take_stamped(q, 8, WMIEV__QUEUED_FIRE, 8);
  wmiev__queue_release(q);
  wmiev__queue_ticket held;
  assert_true(reserve_stamped(q, 8, WMIEV__QUEUED_FIRE, 9, &held));
  assert_false(held.wake);
  assert_null(wmiev__queue_next(q, &size_kind));
  assert_false(wmiev__queue_try_idle(q));
  /* Still awake: its producer will not wake the consumer, which must wait. */
  assert_true(reserve_and_commit(q, 10, &t));
  assert_false(t.wake);
  wmiev__queue_commit(&held);
  take_stamped(q, 8, WMIEV__QUEUED_FIRE, 9);
  take_stamped(q, 8, WMIEV__QUEUED_FIRE, 10);
  assert_true(wmiev__queue_try_idle(q));
  wmiev__queue_release(q);

  /* A wrapped ring: with the cursor parked at the filler, the record beyond
   * it (at offset 0) is still reserved past the cursor; once the cursor
   * skipped the filler and passed that record, idle. */
  wmiev__queue *w = fresh_queue(256, 16);
  assert_true(reserve_and_commit(w, 20, &t)); /* 32 bytes at 0 */
  assert_true(t.wake);
  assert_true(reserve_stamped(w, 180, WMIEV__QUEUED_WNODE, 21, &t)); /* 208 at 32: 16 left */
  wmiev__queue_commit(&t);
  take_stamped(w, 8, WMIEV__QUEUED_FIRE, 20);
  wmiev__queue_release(w);
  assert_true(reserve_and_commit(w, 22, &t)); /* 32 bytes: filler at 240, record at 0 */
  assert_ptr_equal(t.record, ring_memory);
  take_stamped(w, 180, WMIEV__QUEUED_WNODE, 21);
  assert_false(wmiev__queue_try_idle(w));
  take_stamped(w, 8, WMIEV__QUEUED_FIRE, 22);
  assert_true(wmiev__queue_try_idle(w));
  wmiev__queue_release(w);
  assert_true(reserve_and_commit(w, 23, &t));
  assert_true(t.wake);
}

/* rearm (a new wakeup hook): awake and true while records wait, so the
 * caller wakes the consumer itself and producers do not; idle and false
 * when none do, so the next reservation wakes it. */
static void test_rearm(void **state) {
  (void)state;
  wmiev__queue *q = fresh_queue(1024, 16);
  wmiev__queue_ticket t;
  assert_false(wmiev__queue_rearm(q));
  assert_true(reserve_and_commit(q, 1, &t));
  assert_true(t.wake);

  wmiev__queue_set_awake(q, false);
  assert_true(wmiev__queue_rearm(q)); /* one waits */
  assert_true(reserve_and_commit(q, 2, &t));
  assert_false(t.wake);

  wmiev__queue_ticket held;
  take_stamped(q, 8, WMIEV__QUEUED_FIRE, 1);
  take_stamped(q, 8, WMIEV__QUEUED_FIRE, 2);
  wmiev__queue_release(q);
  assert_true(reserve_stamped(q, 8, WMIEV__QUEUED_FIRE, 3, &held));
  assert_false(wmiev__queue_try_idle(q));
  wmiev__queue_set_awake(q, false);
  assert_true(wmiev__queue_rearm(q)); /* reserved, not committed: waits too */
  wmiev__queue_commit(&held);
  assert_true(reserve_and_commit(q, 4, &t));
  assert_false(t.wake);

  take_stamped(q, 8, WMIEV__QUEUED_FIRE, 3);
  take_stamped(q, 8, WMIEV__QUEUED_FIRE, 4);
  wmiev__queue_release(q);
  wmiev__queue_set_awake(q, true);
  assert_false(wmiev__queue_rearm(q)); /* nothing waits: idle */
  assert_true(reserve_and_commit(q, 5, &t));
  assert_true(t.wake);
  assert_false(wmiev__queue_try_idle(q));
}

/* ---- Many producers ---------------------------------------------------------------------- */

#define PRODUCERS 4u
#define STRESS_RING 4096u
#define STRESS_CAPACITY 64u
#define STRESS_PER_PRODUCER (THREAD_SANITIZER ? 100000u : 200000u)
#define WAKE_PER_PRODUCER (THREAD_SANITIZER ? 20000u : 40000u)
#define WAKE_PHASES 20u
#define RELEASE_EVERY 8u
/* A consumer that finds nothing to take for this long gives up: a broken
 * queue fails the test instead of hanging it. */
#define STALL_MS 10000u
/* Payload: producer, sequence, checksum of the body, then the body. */
#define STRESS_HEAD 12u

static uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

/* Mostly small bodies (so the record limit binds too), a quarter up to 199
 * bytes (so the ring wraps at every offset). */
static uint32_t body_size(uint32_t producer, uint32_t seq) {
  uint32_t r = mix32(producer * 0x9E3779B9u ^ seq);
  return (r & 3u) == 0 ? (r >> 8) % 200u : (r >> 8) % 16u;
}

static uint32_t checksum(const uint8_t *p, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h = (h ^ p[i]) * 16777619u;
  }
  return h;
}

typedef struct stress {
  wmiev__queue *q;
  uint32_t per_producer;
  atomic_bool go;
  atomic_bool consumer_gone; /* producers stop waiting for room */
  atomic_ulong refused;      /* failed reservations, retried */
  atomic_uint wakes;         /* tickets with wake set */
  atomic_ullong consumed;
  /* The wake variant: the consumer sleeps when try_idle says so, a
   * producer whose ticket says wake rings the doorbell. The run is cut in
   * phases; between two, the producers wait until the consumer drained
   * everything and fell asleep, so that it goes idle at least that often
   * whatever the scheduler does. */
  bool use_wake;
  uint32_t phases;
  atomic_uint phase_done; /* producers that finished the current phase */
  atomic_uint phase_open; /* phases the producers may run */
  atomic_bool asleep;     /* the consumer waits for the doorbell */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  uint32_t doorbell; /* rings not yet answered (under lock) */
  /* The consumer's findings, read after it is joined. */
  uint64_t idles; /* successful try_idle */
  uint64_t errors;
  bool timed_out;
  char first_error[160];
} stress;

typedef struct producer {
  stress *s;
  uint32_t id;
  pthread_t thread;
} producer;

static void ring_doorbell(stress *s) {
  pthread_mutex_lock(&s->lock);
  s->doorbell++;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

/* Waits up to 10 s for a ring: false if none came (a lost wakeup). */
static bool wait_doorbell(stress *s) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  bool rung = true;
  pthread_mutex_lock(&s->lock);
  atomic_store(&s->asleep, true);
  while (s->doorbell == 0) {
    if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT) {
      rung = s->doorbell != 0;
      break;
    }
  }
  if (rung) {
    s->doorbell--;
  }
  atomic_store(&s->asleep, false);
  pthread_mutex_unlock(&s->lock);
  return rung;
}

static void *produce(void *arg) {
  producer *p = arg;
  stress *s = p->s;
  while (!atomic_load(&s->go)) {
    sched_yield();
  }
  unsigned long refused = 0;
  uint32_t phase_length = s->phases != 0 ? s->per_producer / s->phases : s->per_producer;
  for (uint32_t seq = 0; seq < s->per_producer; seq++) {
    if (s->phases != 0 && seq != 0 && seq % phase_length == 0) {
      uint32_t phase = seq / phase_length;
      atomic_fetch_add(&s->phase_done, 1);
      while (atomic_load(&s->phase_open) < phase && !atomic_load(&s->consumer_gone)) {
        sched_yield();
      }
    }
    uint32_t body = body_size(p->id, seq);
    uint32_t payload = STRESS_HEAD + body;
    wmiev__queued_kind kind = (wmiev__queued_kind)(1u + (seq + p->id) % 3u);
    wmiev__queue_ticket t;
    while (!wmiev__queue_reserve(s->q, payload, kind, &t)) {
      if (atomic_load(&s->consumer_gone)) {
        atomic_fetch_add(&s->refused, refused);
        return NULL;
      }
      refused++;
      sched_yield();
    }
    t.record->guid_slot = p->id;
    t.record->provider_id = seq;
    t.record->instance_index = payload;
    t.record->timestamp = ((int64_t)p->id << 32) | seq;
    uint8_t *bytes = payload_of(t.record);
    uint32_t r = mix32(seq * 31u + p->id);
    for (uint32_t i = 0; i < body; i++) {
      bytes[STRESS_HEAD + i] = (uint8_t)(r >> (8u * (i % 4u))) ^ (uint8_t)i;
    }
    uint32_t sum = checksum(bytes + STRESS_HEAD, body);
    memcpy(bytes, &p->id, 4);
    memcpy(bytes + 4, &seq, 4);
    memcpy(bytes + 8, &sum, 4);
    wmiev__queue_commit(&t);
    if (t.wake) {
      atomic_fetch_add(&s->wakes, 1);
      if (s->use_wake) {
        ring_doorbell(s);
      }
    }
  }
  atomic_fetch_add(&s->refused, refused);
  return NULL;
}

typedef struct watchdog {
  uint64_t since; /* when the consumer began to find nothing (ms); 0: it took a record since */
  uint32_t polls;
} watchdog;

/* Called when nothing was ready: true once that lasted STALL_MS. */
static bool stalled(watchdog *w) {
  if (++w->polls % 256u != 0) {
    return false;
  }
  uint64_t now = now_ms();
  if (w->since == 0) {
    w->since = now;
    return false;
  }
  return now - w->since > STALL_MS;
}

static void progressed(watchdog *w) {
  w->since = 0;
  w->polls = 0;
}

static void consumer_error(stress *s, const char *what, uint32_t producer_id, uint32_t seq) {
  if (s->errors++ == 0) {
    snprintf(s->first_error, sizeof s->first_error, "%s (producer %u, sequence %u)", what,
             producer_id, seq);
  }
}

/* Checks one record: its producer's next in order, header and body whole. */
static void consume_one(stress *s, const wmiev__queued *r, uint32_t size_kind, uint32_t *expected) {
  uint32_t size = wmiev__queued_size(size_kind);
  const uint8_t *bytes = cpayload_of(r);
  uint32_t id = UINT32_MAX, seq = UINT32_MAX, sum = 0;
  if ((size_kind & WMIEV__QUEUED_BUSY) != 0 || size < STRESS_HEAD) {
    consumer_error(s, "BUSY or short record", id, seq);
    return;
  }
  memcpy(&id, bytes, 4);
  memcpy(&seq, bytes + 4, 4);
  memcpy(&sum, bytes + 8, 4);
  if (id >= PRODUCERS) {
    consumer_error(s, "no such producer", id, seq);
    return;
  }
  if (seq != expected[id]) {
    consumer_error(s, "out of order", id, seq);
  }
  expected[id] = seq + 1u;
  if (size != STRESS_HEAD + body_size(id, seq) ||
      wmiev__queued_kind_of(size_kind) != (wmiev__queued_kind)(1u + (seq + id) % 3u)) {
    consumer_error(s, "size or kind", id, seq);
  }
  if (r->guid_slot != id || r->provider_id != seq || r->instance_index != size ||
      r->timestamp != (((int64_t)id << 32) | seq)) {
    consumer_error(s, "header", id, seq);
  }
  if (checksum(bytes + STRESS_HEAD, size - STRESS_HEAD) != sum) {
    consumer_error(s, "checksum", id, seq);
  }
}

/* Drains until every record came: next/release only, polling with a yield
 * when nothing is ready. */
static void *consume_polling(void *arg) {
  stress *s = arg;
  uint32_t expected[PRODUCERS] = {0};
  uint64_t goal = (uint64_t)PRODUCERS * s->per_producer;
  uint32_t unreleased = 0;
  watchdog w = {0, 0};
  while (atomic_load(&s->consumed) < goal && s->errors < 100) {
    uint32_t size_kind = 0;
    const wmiev__queued *r = wmiev__queue_next(s->q, &size_kind);
    if (r == NULL) {
      if (unreleased != 0) {
        wmiev__queue_release(s->q);
        unreleased = 0;
      }
      if (stalled(&w)) {
        consumer_error(s, "nothing to take for 10 s", UINT32_MAX, UINT32_MAX);
        break;
      }
      sched_yield();
      continue;
    }
    progressed(&w);
    consume_one(s, r, size_kind, expected);
    atomic_fetch_add(&s->consumed, 1);
    if (++unreleased == RELEASE_EVERY) {
      wmiev__queue_release(s->q);
      unreleased = 0;
    }
  }
  wmiev__queue_release(s->q);
  atomic_store(&s->consumer_gone, true);
  return NULL;
}

/* The consumer as the bus's dispatcher runs it (deliver.c): asleep until a
 * producer rings, then drains; goes back to sleep only when try_idle says
 * nothing is reserved past its cursor; otherwise a producer is between its
 * reservation and its commit, and will not ring: wait for the commit. */
static void *consume_with_wakeups(void *arg) {
  stress *s = arg;
  uint32_t expected[PRODUCERS] = {0};
  uint64_t goal = (uint64_t)PRODUCERS * s->per_producer;
  watchdog w = {0, 0};
  bool rung = wait_doorbell(s);
  while (rung) {
    wmiev__queue_set_awake(s->q, true);
    uint32_t size_kind = 0;
    const wmiev__queued *r;
    uint32_t unreleased = 0;
    while ((r = wmiev__queue_next(s->q, &size_kind)) != NULL) {
      progressed(&w);
      consume_one(s, r, size_kind, expected);
      atomic_fetch_add(&s->consumed, 1);
      if (++unreleased == RELEASE_EVERY) {
        wmiev__queue_release(s->q);
        unreleased = 0;
      }
    }
    wmiev__queue_release(s->q);
    if (atomic_load(&s->consumed) == goal || s->errors >= 100) {
      break;
    }
    if (wmiev__queue_try_idle(s->q)) {
      s->idles++;
      rung = wait_doorbell(s);
      continue;
    }
    while (!wmiev__queue_ready(s->q) && !stalled(&w)) {
      sched_yield();
    }
    if (!wmiev__queue_ready(s->q)) {
      consumer_error(s, "a reserved record not committed for 10 s", UINT32_MAX, UINT32_MAX);
      break;
    }
  }
  s->timed_out = !rung;
  atomic_store(&s->consumer_gone, true);
  return NULL;
}

/* Opens the producers' phases one by one, each once the one before was
 * delivered and the consumer fell asleep. */
static void run_phases(stress *s) {
  uint32_t phase_length = s->per_producer / s->phases;
  for (uint32_t phase = 1; phase < s->phases; phase++) {
    uint64_t delivered = (uint64_t)PRODUCERS * phase_length * phase;
    while (!atomic_load(&s->consumer_gone) &&
           (atomic_load(&s->phase_done) != PRODUCERS * phase ||
            atomic_load(&s->consumed) != delivered || !atomic_load(&s->asleep))) {
      sched_yield();
    }
    atomic_store(&s->phase_open, phase);
  }
}

static void run_stress(stress *s, void *(*consumer_fn)(void *)) {
  s->q = fresh_queue(STRESS_RING, STRESS_CAPACITY);
  atomic_init(&s->go, false);
  atomic_init(&s->consumer_gone, false);
  atomic_init(&s->refused, 0);
  atomic_init(&s->wakes, 0);
  atomic_init(&s->consumed, 0);
  atomic_init(&s->phase_done, 0);
  atomic_init(&s->phase_open, 0);
  atomic_init(&s->asleep, false);
  assert_true(s->phases == 0 || s->per_producer % s->phases == 0);
  assert_int_equal(pthread_mutex_init(&s->lock, NULL), 0);
  assert_int_equal(pthread_cond_init(&s->cond, NULL), 0);
  pthread_t consumer;
  producer p[PRODUCERS];
  assert_int_equal(pthread_create(&consumer, NULL, consumer_fn, s), 0);
  for (uint32_t k = 0; k < PRODUCERS; k++) {
    p[k] = (producer){s, k, 0};
    assert_int_equal(pthread_create(&p[k].thread, NULL, produce, &p[k]), 0);
  }
  atomic_store(&s->go, true);
  if (s->phases != 0) {
    run_phases(s);
  }
  for (uint32_t k = 0; k < PRODUCERS; k++) {
    assert_int_equal(pthread_join(p[k].thread, NULL), 0);
  }
  assert_int_equal(pthread_join(consumer, NULL), 0);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->lock);
  if (s->errors != 0) {
    fail_msg("%llu bad records; first: %s", (unsigned long long)s->errors, s->first_error);
  }
  assert_false(s->timed_out);
  assert_int_equal(atomic_load(&s->consumed), (uint64_t)PRODUCERS * s->per_producer);
  assert_int_equal(wmiev__queue_count(s->q), 0);
  assert_false(wmiev__queue_ready(s->q));
  assert_true(wmiev__queue_peak(s->q) >= 1 && wmiev__queue_peak(s->q) <= STRESS_CAPACITY);
  print_message("    %u producers x %u records: %lu refused reservations, peak %llu, "
                "%u wakes, %llu idles\n",
                PRODUCERS, s->per_producer, atomic_load(&s->refused),
                (unsigned long long)wmiev__queue_peak(s->q), atomic_load(&s->wakes),
                (unsigned long long)s->idles);
}

/* Four producers fill a 4 KiB, 64-record ring at once while one consumer
 * drains it: every record arrives once, whole, in its producer's order. */
static void test_many_producers(void **state) {
  (void)state;
  static stress s;
  memset(&s, 0, sizeof s);
  s.per_producer = STRESS_PER_PRODUCER;
  run_stress(&s, consume_polling);
  /* The consumer never went idle: only the fresh queue's first ticket woke it. */
  assert_int_equal(atomic_load(&s.wakes), 1);
}

/* The same with the consumer sleeping whenever try_idle lets it: it is
 * always woken again (a lost wakeup leaves it asleep with records waiting
 * until its 10 s wait runs out), and by exactly one ticket per idle
 * period, plus the fresh queue's first. */
static void test_many_producers_with_wakeups(void **state) {
  (void)state;
  static stress s;
  memset(&s, 0, sizeof s);
  s.per_producer = WAKE_PER_PRODUCER;
  s.use_wake = true;
  s.phases = WAKE_PHASES;
  run_stress(&s, consume_with_wakeups);
  assert_true(s.idles >= WAKE_PHASES - 1u);
  assert_int_equal(atomic_load(&s.wakes), s.idles + 1u);
  assert_int_equal(s.doorbell, 0); /* every ring answered, none spare */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_record_size_and_word),
      cmocka_unit_test(test_capacity_in_records),
      cmocka_unit_test(test_capacity_in_bytes),
      cmocka_unit_test(test_queue_without_ring),
      cmocka_unit_test(test_wrap_with_filler),
      cmocka_unit_test(test_uncommitted_record_stops_the_consumer),
      cmocka_unit_test(test_many_laps_against_a_model),
      cmocka_unit_test(test_wake_flag),
      cmocka_unit_test(test_rearm),
      cmocka_unit_test(test_many_producers),
      cmocka_unit_test(test_many_producers_with_wakeups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
