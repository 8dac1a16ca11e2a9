/*
 * Owner-counted counters (lib/bus/counter.h, decisions D22): the first
 * thread to bump a counter owns it and counts with a plain load and store;
 * every other thread, and every thread without a delivery record, counts
 * with an atomic add. Whatever the mix of threads, the total read is exact.
 *
 * The records are this file's own: a counter only compares their
 * addresses, so which record owns a counter is decided here, not by the
 * process's table. Threads start together and bump in tight loops, so that
 * a path that is not safe against the others (a second writer of `mine`, a
 * plain increment of `shared`, two owners at once) shows here at once;
 * firing through the bus (test_source.c's parallel_fire) shows it only now
 * and then, or not at all.
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

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "bus/counter.h"

#define BUMPS 500000u
#define MAX_BUMPERS 4

static wmiev__thread_state records[MAX_BUMPERS]; /* only their addresses are used */

typedef struct bumper {
  wmiev__counter *c;
  const wmiev__thread_state *me; /* NULL: a thread without a record */
  atomic_bool *go;
  pthread_t thread;
} bumper;

static void *bump_loop(void *arg) {
  bumper *b = arg;
  while (!atomic_load(b->go)) {
  }
  for (uint32_t i = 0; i < BUMPS; i++) {
    wmiev__counter_bump(b->c, b->me);
  }
  return NULL;
}

/* Bumps `c` BUMPS times from each of `n` threads at once, thread k as mes[k]. */
static void bump_together(wmiev__counter *c, const wmiev__thread_state *const *mes, size_t n) {
  assert_true(n <= MAX_BUMPERS);
  bumper b[MAX_BUMPERS];
  atomic_bool go;
  atomic_init(&go, false);
  for (size_t k = 0; k < n; k++) {
    b[k] = (bumper){c, mes[k], &go, 0};
    assert_int_equal(pthread_create(&b[k].thread, NULL, bump_loop, &b[k]), 0);
  }
  atomic_store(&go, true);
  for (size_t k = 0; k < n; k++) {
    assert_int_equal(pthread_join(b[k].thread, NULL), 0);
  }
}

static wmiev__counter *new_counter(void) {
  wmiev__counter *c = test_calloc(1, sizeof *c);
  atomic_init(&c->owner, NULL);
  atomic_init(&c->mine, 0);
  atomic_init(&c->shared, 0);
  return c;
}

/* One thread alone: it owns the counter and counts into `mine`. */
static void test_owner_alone(void **state) {
  (void)state;
  wmiev__counter *c = new_counter();
  const wmiev__thread_state *mes[] = {&records[0]};
  bump_together(c, mes, 1);
  assert_int_equal(wmiev__counter_read(c), BUMPS);
  assert_ptr_equal(atomic_load(&c->owner), &records[0]);
  assert_int_equal(atomic_load(&c->mine), BUMPS);
  assert_int_equal(atomic_load(&c->shared), 0);
  test_free(c);
}

/* Owned by one record (its first bump here, before the threads start);
 * then the owner and three other records bump at once: the others count
 * into `shared`, and nothing is lost. */
static void test_others_beside_the_owner(void **state) {
  (void)state;
  wmiev__counter *c = new_counter();
  wmiev__counter_bump(c, &records[0]);
  const wmiev__thread_state *mes[] = {&records[0], &records[1], &records[2], &records[3]};
  bump_together(c, mes, 4);
  assert_int_equal(wmiev__counter_read(c), 4u * BUMPS + 1u);
  assert_ptr_equal(atomic_load(&c->owner), &records[0]);
  assert_int_equal(atomic_load(&c->mine), BUMPS + 1u);
  assert_int_equal(atomic_load(&c->shared), 3u * BUMPS);
  test_free(c);
}

/* Threads without a record never own a counter, even an unowned one. */
static void test_threads_without_records(void **state) {
  (void)state;
  wmiev__counter *c = new_counter();
  const wmiev__thread_state *mes[] = {NULL, NULL, NULL};
  bump_together(c, mes, 3);
  assert_int_equal(wmiev__counter_read(c), 3u * BUMPS);
  assert_null(atomic_load(&c->owner));
  assert_int_equal(atomic_load(&c->shared), 3u * BUMPS);
  test_free(c);
}

/* Two records race for an unowned counter, round after round: exactly one
 * wins (and counts every one of its bumps into `mine`), and the total is
 * exact. One racer is this thread, the other spins between rounds on the
 * other core; this one waits a little longer each round before its first
 * bump, so that over the rounds the two first bumps meet. */
#define RACE_ROUNDS 20000u
#define RACE_BUMPS 16u

typedef struct race {
  wmiev__counter c;
  atomic_uint round; /* the round the other racer may run; 0: none yet */
  atomic_uint done;  /* rounds the other racer finished */
  atomic_bool stop;
} race;

static void *race_loop(void *arg) {
  race *r = arg;
  unsigned seen = 0;
  for (;;) {
    unsigned now;
    while ((now = atomic_load(&r->round)) == seen) {
      if (atomic_load(&r->stop)) {
        return NULL;
      }
    }
    seen = now;
    for (uint32_t i = 0; i < RACE_BUMPS; i++) {
      wmiev__counter_bump(&r->c, &records[0]);
    }
    atomic_store(&r->done, now);
  }
}

static void test_race_for_ownership(void **state) {
  (void)state;
  race *r = test_calloc(1, sizeof *r);
  atomic_init(&r->round, 0);
  atomic_init(&r->done, 0);
  atomic_init(&r->stop, false);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, race_loop, r), 0);
  unsigned bad_total = 0, bad_split = 0;
  for (unsigned round = 1; round <= RACE_ROUNDS; round++) {
    atomic_store(&r->c.owner, NULL);
    atomic_store(&r->c.mine, 0);
    atomic_store(&r->c.shared, 0);
    atomic_store(&r->round, round);
    for (unsigned spin = round % 512u; spin > 0; spin--) {
      (void)atomic_load(&r->done);
    }
    for (uint32_t i = 0; i < RACE_BUMPS; i++) {
      wmiev__counter_bump(&r->c, &records[1]);
    }
    while (atomic_load(&r->done) != round) {
    }
    const wmiev__thread_state *owner = atomic_load(&r->c.owner);
    bad_total += wmiev__counter_read(&r->c) != 2u * RACE_BUMPS;
    bad_split += (owner != &records[0] && owner != &records[1]) ||
                 atomic_load(&r->c.mine) != RACE_BUMPS || atomic_load(&r->c.shared) != RACE_BUMPS;
  }
  atomic_store(&r->stop, true);
  assert_int_equal(pthread_join(t, NULL), 0);
  test_free(r);
  assert_int_equal(bad_total, 0);
  assert_int_equal(bad_split, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_owner_alone),
      cmocka_unit_test(test_others_beside_the_owner),
      cmocka_unit_test(test_threads_without_records),
      cmocka_unit_test(test_race_for_ownership),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
