/*
 * The tick clock (lib/platform/tick_clock.c, decisions D20): the bus's
 * default clock, a process-wide value a ticker thread stores every
 * millisecond.
 *
 * Values are checked against the system clocks read around them: never
 * ahead of a precise reading taken after, never further behind a coarse
 * reading taken before than TICK_SLACK (a tick, plus what a loaded machine
 * may delay the ticker by). The thread's life is checked through the test
 * hooks (state, ticks, slow reads) and, where /proc/self/status exists, by
 * counting the process's threads: a stopped ticker has been joined.
 *
 * The clock is process-wide: every test starts and ends with no reference
 * held and no ticker (the teardown checks it).
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
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <wmiev/wmiev.h>

#include "platform/platform.h"
#include "platform/tick_clock.h"
#include "test_util.h"

#define MS (10000LL) /* 100-ns units */
#define TICK_SLACK TICK_SLACK_100NS

static int64_t precise(void) { return windows_time_100ns(false); }
static int64_t coarse(void) { return windows_time_100ns(true); }

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

/* The process's thread count, or -1 where /proc/self/status is missing. */
static int thread_count(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) {
    return -1;
  }
  char line[256];
  int n = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "Threads: %d", &n) == 1) {
      break;
    }
  }
  fclose(f);
  return n;
}

/* A read checked against the clocks around it. */
static int64_t checked_read(void) {
  int64_t low = coarse() - TICK_SLACK;
  int64_t v = wmiev__tick_clock_read();
  int64_t high = precise() + 1 * MS;
  if (v < low || v > high) {
    fail_msg("tick clock %lld outside [%lld, %lld] (%+lld ms from the coarse reading before)",
             (long long)v, (long long)low, (long long)high,
             (long long)((v - low - TICK_SLACK) / MS));
  }
  return v;
}

/* Polls until the ticker is in `state` (2 s at most); false if it never is. */
static bool wait_state(wmiev__tick_state state) {
  uint64_t deadline = now_ms() + 2000;
  while (wmiev__tick_clock_state() != state) {
    if (now_ms() > deadline) {
      return false;
    }
    sleep_us(200);
  }
  return true;
}

/* Polls until the ticker has stored `n` more ticks than `since` (2 s at most). */
static void wait_ticks(uint64_t since, uint64_t n) {
  uint64_t deadline = now_ms() + 2000;
  while (wmiev__tick_clock_ticks() < since + n) {
    assert_true(now_ms() < deadline);
    sleep_us(200);
  }
}

static int threads_before;

static int setup(void **state) {
  (void)state;
  threads_before = thread_count();
  return wmiev__tick_clock_state() == WMIEV__TICK_STOPPED ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  wmiev__platform_fail_nth(0);
  wmiev__tick_clock_set_idle_limit(0);
  /* Nothing left running: no reference leaked, the thread joined. */
  if (wmiev__tick_clock_state() != WMIEV__TICK_STOPPED) {
    return -1;
  }
  return thread_count() == threads_before ? 0 : -1;
}

/* ---- Without a reference --------------------------------------------------------------------- */

/* Nobody holds a reference (a bus with a virtual clock, wmilib's replies
 * outside a bus): every read is direct, no thread starts. */
static void reads_without_reference_are_direct(void **state) {
  (void)state;
  uint64_t ticks = wmiev__tick_clock_ticks();
  uint64_t slow = wmiev__tick_clock_slow_reads();
  int64_t prev = 0;
  for (int i = 0; i < 1000; i++) {
    int64_t v = checked_read();
    assert_true(v >= prev);
    prev = v;
  }
  assert_int_equal(wmiev__tick_clock_slow_reads(), slow + 1000);
  sleep_us(5000);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED);
  assert_int_equal(wmiev__tick_clock_ticks(), ticks);
  assert_int_equal(thread_count(), threads_before);
}

/* The system clock set back: by one second or less the clock holds still
 * (it never goes backwards for a small correction); by more it follows, as
 * Windows' system time does (tick_clock.h). Without a reference nothing
 * else writes the clock meanwhile; the last step puts it back to now. */
static void system_clock_set_back(void **state) {
  (void)state;
  const int64_t second = 1000 * MS;
  int64_t t = precise();
  assert_true(wmiev__tick_clock_test_publish(t) == t);
  assert_true(wmiev__tick_clock_test_publish(t - 5 * MS) == t);
  assert_true(wmiev__tick_clock_test_publish(t - second) == t);
  assert_true(wmiev__tick_clock_test_publish(t - second - 1) == t - second - 1);
  int64_t back = t - 3 * second; /* 2 s behind the value above */
  assert_true(wmiev__tick_clock_test_publish(back) == back);
  assert_true(wmiev__tick_clock_test_publish(back - 5 * MS) == back);
  assert_true(wmiev__tick_clock_test_publish(back + 1) == back + 1);
  int64_t now = precise();
  assert_true(wmiev__tick_clock_test_publish(now) == now);
}

/* ---- Lifetime -------------------------------------------------------------------------------- */

/* A reference starts nothing; the first read does; releasing the last
 * reference stops the thread and joins it. */
static void starts_on_first_read_stops_on_last_release(void **state) {
  (void)state;
  wmiev__tick_clock_acquire();
  wmiev__tick_clock_acquire();
  sleep_us(5000);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED);
  assert_int_equal(thread_count(), threads_before);

  uint64_t ticks = wmiev__tick_clock_ticks();
  checked_read();
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_RUNNING);
  wait_ticks(ticks, 3);
  if (threads_before >= 0) {
    assert_int_equal(thread_count(), threads_before + 1);
  }
  /* One reference left: still running. */
  wmiev__tick_clock_release();
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_RUNNING);
  ticks = wmiev__tick_clock_ticks();
  checked_read();
  wait_ticks(ticks, 2);
  /* The last one: stopped and joined when release returns. */
  wmiev__tick_clock_release();
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED);
  assert_int_equal(thread_count(), threads_before);
  ticks = wmiev__tick_clock_ticks();
  sleep_us(5000);
  assert_int_equal(wmiev__tick_clock_ticks(), ticks);
  /* And reads are direct again. */
  uint64_t slow = wmiev__tick_clock_slow_reads();
  checked_read();
  assert_int_equal(wmiev__tick_clock_slow_reads(), slow + 1);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED);

  /* It starts again for the next user. */
  wmiev__tick_clock_acquire();
  checked_read();
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_RUNNING);
  wmiev__tick_clock_release();
}

/* The bus takes the reference for its default clock only: a precise clock
 * or a virtual one never starts the ticker. */
static int64_t virtual_now(void *ctx) { return *(int64_t *)ctx; }

static void bus_holds_reference_for_default_clock_only(void **state) {
  (void)state;
  int64_t virtual_time = 42;
  for (int kind = 0; kind < 2; kind++) {
    wmiev_bus_options opts;
    memset(&opts, 0, sizeof opts);
    if (kind == 0) {
      opts.precise_clock = true;
    } else {
      opts.clock.now = virtual_now;
      opts.clock.ctx = &virtual_time;
    }
    wmiev_bus *bus = NULL;
    assert_int_equal(wmiev_bus_create(&opts, &bus), WMIEV_STATUS_SUCCESS);
    int64_t low = coarse();
    int64_t v = wmiev_bus_now(bus);
    if (kind == 0) {
      assert_true(v >= low && v <= precise());
    } else {
      assert_true(v == 42);
    }
    assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED);
    wmiev_bus_destroy(bus);
  }

  wmiev_bus *bus = NULL;
  assert_int_equal(wmiev_bus_create(NULL, &bus), WMIEV_STATUS_SUCCESS);
  sleep_us(2000);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED); /* not at create */
  int64_t low = coarse() - TICK_SLACK;
  int64_t v = wmiev_bus_now(bus);
  assert_true(v >= low && v <= precise());
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_RUNNING);
  /* A second bus shares the ticker; destroying the first leaves it running. */
  wmiev_bus *other = NULL;
  assert_int_equal(wmiev_bus_create(NULL, &other), WMIEV_STATUS_SUCCESS);
  wmiev_bus_destroy(bus);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_RUNNING);
  wmiev_bus_destroy(other);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED);
  assert_int_equal(thread_count(), threads_before);
}

/* Buses created and destroyed on two threads at once, each reading the clock
 * (starts, stops and joins race; TSan and the teardown check the rest). */
static void *churn(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++) {
    wmiev__tick_clock_acquire();
    checked_read();
    if (i % 10 == 0) {
      sleep_us(1500);
      checked_read();
    }
    wmiev__tick_clock_release();
  }
  return NULL;
}

static void concurrent_start_and_stop(void **state) {
  (void)state;
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pthread_create(&t[i], NULL, churn, NULL), 0);
  }
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
  }
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED);
}

/* ---- Values ---------------------------------------------------------------------------------- */

/* While the ticker runs, a read is the fast path (no slow read) and the
 * value moves in ticks. */
static void running_reads_are_fast(void **state) {
  (void)state;
  wmiev__tick_clock_acquire();
  uint64_t ticks = wmiev__tick_clock_ticks();
  checked_read();
  wait_ticks(ticks, 2);
  uint64_t slow = wmiev__tick_clock_slow_reads();
  for (int i = 0; i < 1000; i++) {
    checked_read();
  }
  assert_int_equal(wmiev__tick_clock_slow_reads(), slow);
  wmiev__tick_clock_release();
}

/* After 20 ms of sleep the value has moved by about 20 ms: at least 10 (the
 * ticker may be a little late), at most what the system clocks moved. */
static void value_advances(void **state) {
  (void)state;
  wmiev__tick_clock_acquire();
  int64_t p0 = coarse();
  int64_t t0 = checked_read();
  sleep_us(20000);
  int64_t t1 = checked_read();
  int64_t p1 = precise();
  /* On a loaded machine the ticker may lag right now: give it time. */
  uint64_t deadline = now_ms() + 1000;
  while (t1 - t0 < 10 * MS && now_ms() < deadline) {
    sleep_us(1000);
    t1 = checked_read();
    p1 = precise();
  }
  if (t1 - t0 < 10 * MS || t1 - t0 > p1 - p0 + TICK_SLACK) {
    fail_msg("the clock moved %lld ms (the system clock %lld ms)", (long long)((t1 - t0) / MS),
             (long long)((p1 - p0) / MS));
  }
  wmiev__tick_clock_release();
}

/* Reads over 200 ms, in bursts and with pauses, each within the bounds, in
 * steps of a tick: at least 100 different values (about 200 here, under
 * load too; the coarse clock's 4 ms steps would give 50 at most). */
static void values_within_bounds(void **state) {
  (void)state;
  wmiev__tick_clock_acquire();
  uint64_t end = now_ms() + 200;
  int64_t prev = 0;
  int distinct = 0;
  while (now_ms() < end) {
    for (int i = 0; i < 100; i++) {
      int64_t v = checked_read();
      assert_true(v >= prev);
      distinct += v != prev;
      prev = v;
    }
    sleep_us(300);
  }
  if (distinct < 100) {
    fail_msg("%d different values in 200 ms", distinct);
  }
  wmiev__tick_clock_release();
}

/* Two threads read as fast as they can, pausing now and then long enough
 * for the ticker to park (limit: 2 idle ticks), so that fast reads, slow
 * reads and wake-ups interleave. Each thread's values never decrease, and a
 * value read after another thread published its own is not smaller. */
typedef struct mono_ctx {
  _Atomic int64_t seen; /* the largest value any thread has read */
  _Atomic bool failed;
  _Atomic uint64_t reads;
  _Atomic uint64_t slow_reads;
} mono_ctx;

static void *monotonic_reader(void *arg) {
  mono_ctx *c = arg;
  int64_t prev = 0;
  uint64_t end = now_ms() + 150;
  uint64_t n = 0;
  uint64_t slow = wmiev__tick_clock_slow_reads();
  for (uint64_t now = now_ms(); now < end; now = now_ms()) {
    /* Both threads pause in the same 5 ms of every 20: the ticker parks. */
    if ((long)now % 20 < 5) {
      sleep_us(1000);
      continue;
    }
    for (int i = 0; i < 200; i++) {
      int64_t floor = atomic_load(&c->seen);
      int64_t v = wmiev__tick_clock_read();
      if (v < prev || v < floor) {
        atomic_store(&c->failed, true);
      }
      prev = v;
      int64_t m = atomic_load(&c->seen);
      while (m < v && !atomic_compare_exchange_weak(&c->seen, &m, v)) {
      }
      n++;
    }
  }
  atomic_fetch_add(&c->reads, n);
  atomic_fetch_add(&c->slow_reads, wmiev__tick_clock_slow_reads() - slow);
  return NULL;
}

static void monotonic_across_threads(void **state) {
  (void)state;
  wmiev__tick_clock_set_idle_limit(2);
  wmiev__tick_clock_acquire();
  mono_ctx c;
  memset(&c, 0, sizeof c);
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pthread_create(&t[i], NULL, monotonic_reader, &c), 0);
  }
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pthread_join(t[i], NULL), 0);
  }
  print_message("%llu reads, %llu of them slow\n", (unsigned long long)atomic_load(&c.reads),
                (unsigned long long)atomic_load(&c.slow_reads));
  assert_false(atomic_load(&c.failed));
  assert_true(atomic_load(&c.reads) > 1000);
  wmiev__tick_clock_release();
}

/* ---- Idle parking ---------------------------------------------------------------------------- */

/* Not read for 64 ticks, the ticker parks (no more ticks, the word is stale);
 * the next read is direct and wakes it; reads every half millisecond keep it
 * running. */
static void parks_when_idle_and_wakes_on_read(void **state) {
  (void)state;
  wmiev__tick_clock_acquire();
  /* Kept busy for 150 ms: it does not park (a read would find the word
   * stale: allow two, for a test thread the machine stalled for 64 ms). */
  uint64_t ticks = wmiev__tick_clock_ticks();
  checked_read();
  wait_ticks(ticks, 1);
  uint64_t slow = wmiev__tick_clock_slow_reads();
  uint64_t end = now_ms() + 150;
  while (now_ms() < end) {
    checked_read();
    assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_RUNNING);
    sleep_us(500);
  }
  assert_true(wmiev__tick_clock_slow_reads() <= slow + 2);
  /* Left alone: not before 64 ticks (at least about 60 ms), but then. */
  uint64_t last_read = now_ms();
  checked_read();
  sleep_us(30000);
  wmiev__tick_state now = wmiev__tick_clock_state();
  if (now_ms() - last_read < 55) {
    assert_int_equal(now, WMIEV__TICK_RUNNING);
  }
  assert_true(wait_state(WMIEV__TICK_PARKED));
  assert_true(now_ms() - last_read >= 60);
  ticks = wmiev__tick_clock_ticks();
  sleep_us(20000);
  assert_int_equal(wmiev__tick_clock_ticks(), ticks); /* asleep */
  /* The next read: direct, and the ticker is up again. */
  slow = wmiev__tick_clock_slow_reads();
  checked_read();
  assert_int_equal(wmiev__tick_clock_slow_reads(), slow + 1);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_RUNNING);
  wait_ticks(ticks, 2);
  slow = wmiev__tick_clock_slow_reads();
  checked_read();
  assert_int_equal(wmiev__tick_clock_slow_reads(), slow);
  /* Released while parked: stopped and joined as well. */
  wmiev__tick_clock_set_idle_limit(3);
  assert_true(wait_state(WMIEV__TICK_PARKED));
  wmiev__tick_clock_release();
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED);
}

/* ---- Thread creation failure ----------------------------------------------------------------- */

/* The ticker cannot be created (injected, docs/reliability.md): the clock
 * goes on, every read direct; nothing is retried until the last reference
 * goes, after which the next user gets a ticker. */
static void thread_creation_failure_keeps_the_clock(void **state) {
  (void)state;
  wmiev_bus *bus = NULL;
  assert_int_equal(wmiev_bus_create(NULL, &bus), WMIEV_STATUS_SUCCESS);
  wmiev__platform_fail_nth(1);
  int64_t low = coarse();
  int64_t v = wmiev_bus_now(bus);
  assert_true(v >= low && v <= precise());
  assert_true(wmiev__platform_failure_hit());
  wmiev__platform_fail_nth(0);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_FAILED);
  assert_int_equal(thread_count(), threads_before);

  uint64_t slow = wmiev__tick_clock_slow_reads();
  int64_t first = checked_read();
  int64_t last = first;
  uint64_t end = now_ms() + 30;
  int n = 1;
  while (now_ms() < end) {
    int64_t t = checked_read();
    assert_true(t >= last);
    last = t;
    n++;
    sleep_us(200);
  }
  assert_true(last - first >= 10 * MS); /* it moves */
  assert_int_equal(wmiev__tick_clock_slow_reads(), slow + (uint64_t)n);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_FAILED);

  wmiev_bus_destroy(bus);
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_STOPPED);
  wmiev__tick_clock_acquire();
  checked_read();
  assert_int_equal(wmiev__tick_clock_state(), WMIEV__TICK_RUNNING);
  wmiev__tick_clock_release();
}

static void *nothing(void *arg) { return arg; }

int main(void) {
  /* ThreadSanitizer starts a thread of its own with the first thread the
   * program creates: let that happen before anything is counted. */
  pthread_t warm;
  if (pthread_create(&warm, NULL, nothing, NULL) != 0 || pthread_join(warm, NULL) != 0) {
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(reads_without_reference_are_direct, setup, teardown),
      cmocka_unit_test_setup_teardown(system_clock_set_back, setup, teardown),
      cmocka_unit_test_setup_teardown(starts_on_first_read_stops_on_last_release, setup, teardown),
      cmocka_unit_test_setup_teardown(bus_holds_reference_for_default_clock_only, setup, teardown),
      cmocka_unit_test_setup_teardown(concurrent_start_and_stop, setup, teardown),
      cmocka_unit_test_setup_teardown(running_reads_are_fast, setup, teardown),
      cmocka_unit_test_setup_teardown(value_advances, setup, teardown),
      cmocka_unit_test_setup_teardown(values_within_bounds, setup, teardown),
      cmocka_unit_test_setup_teardown(monotonic_across_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(parks_when_idle_and_wakes_on_read, setup, teardown),
      cmocka_unit_test_setup_teardown(thread_creation_failure_keeps_the_clock, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
