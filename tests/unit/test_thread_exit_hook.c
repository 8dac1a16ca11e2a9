/*
 * A process in which the library cannot arrange to hear of its threads'
 * exits (wmiev__at_thread_exit, lib/platform/posix_threads.c, fails: no
 * pthread key was left for it). Then no thread may keep a delivery record
 * (lib/bus/thread_state.c): a record that could never be given back would
 * be lost for good. So a thread hands back the record it claimed at once
 * and delivers on the fallback (the atomic reader count and pins), and
 * nothing else changes: events are delivered and counted exactly, fired
 * from one thread or from several at once, and no record stays in use.
 *
 * The library creates its key once per process, when the first thread
 * claims a record; so this is a program of its own, whose one test uses up
 * the process's pthread keys before anything fires, fires once, and gives
 * the keys back. A test with records (the usual case) is test_source.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus_fixture.h"

/* Test hook (lib/bus/thread_state.c): the records handed to live threads now. */
uint32_t wmiev__thread_states_in_use(void);

#define KEYS_MAX 8192 /* more than any libc allows (glibc: 1024) */
#define FIRERS 2
#define PER_FIRER 5000u

typedef struct firer {
  wmiev_source *src;
  uint32_t k;
  uint64_t ok;
} firer;

static void *fire_many(void *arg) {
  firer *x = arg;
  for (uint32_t seq = 0; seq < PER_FIRER; seq++) {
    uint32_t v = x->k * PER_FIRER + seq;
    x->ok += wmiev_source_fire(x->src, 0, &v, sizeof v, NULL) == WMIEV_STATUS_SUCCESS;
  }
  return NULL;
}

static void test_no_records_without_exit_hook(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_SYNC);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  wmiev_source *src = NULL;
  assert_status(wmiev_source_open(f->bus, a->device, &guid_ev, &src), WMIEV_STATUS_SUCCESS);
  f->src[f->nsrc++] = src;
  /* Nothing delivered yet in this process: no thread has claimed a record. */
  assert_int_equal(wmiev__thread_states_in_use(), 0);

  /* The first delivery claims a record: with every key in use, the
   * library's own key cannot be created. */
  pthread_key_t *keys = calloc(KEYS_MAX, sizeof *keys);
  assert_non_null(keys);
  size_t nkeys = 0;
  int rc = 0;
  while (nkeys < KEYS_MAX && (rc = pthread_key_create(&keys[nkeys], NULL)) == 0) {
    nkeys++;
  }
  uint32_t v = UINT32_MAX;
  wmiev_status first = wmiev_source_fire(src, 0, &v, sizeof v, NULL);
  for (size_t i = 0; i < nkeys; i++) {
    assert_int_equal(pthread_key_delete(keys[i]), 0);
  }
  free(keys);
  assert_int_equal(rc, EAGAIN); /* the keys did run out */
  assert_status(first, WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 1);
  /* The record it claimed is free again. */
  assert_int_equal(wmiev__thread_states_in_use(), 0);

  /* Keys are to be had again, but the process has no hook: this thread
   * does not ask again, and threads started now keep no record either,
   * while they fire at once and after they exited. */
  assert_status(wmiev_source_fire(src, 0, &v, sizeof v, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(wmiev__thread_states_in_use(), 0);
  firer x[FIRERS];
  pthread_t t[FIRERS];
  for (uint32_t k = 0; k < FIRERS; k++) {
    x[k] = (firer){src, k, 0};
    assert_int_equal(pthread_create(&t[k], NULL, fire_many, &x[k]), 0);
  }
  for (uint32_t k = 0; k < FIRERS; k++) {
    assert_int_equal(pthread_join(t[k], NULL), 0);
    assert_int_equal(x[k].ok, PER_FIRER);
  }
  assert_int_equal(wmiev__thread_states_in_use(), 0);

  /* Every event delivered and counted, through the fallback. */
  const uint64_t total = 2u + (uint64_t)FIRERS * PER_FIRER;
  assert_int_equal(s->n, total);
  uint64_t next[FIRERS] = {0};
  for (size_t i = 2; i < s->n; i++) {
    uint32_t seq = seq_of(&s->ev[i]);
    uint32_t k = seq / PER_FIRER;
    assert_true(k < FIRERS);
    assert_int_equal(seq % PER_FIRER, next[k]); /* each firer's events in order */
    next[k]++;
  }
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.fired, total);
  assert_int_equal(st.delivered, total);
  assert_int_equal(st.callbacks, total);
  uint64_t delivered = 0, lost = 0;
  wmiev_subscription_counts(s->sub, &delivered, &lost);
  assert_int_equal(delivered, total);
  assert_int_equal(lost, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_no_records_without_exit_hook, fixture_setup,
                                      fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
