/*
 * libuv delivery (lib/uv/uv.c, include/wmiev/uv.h) end to end: a bus in
 * WMIEV_DELIVERY_LIBUV mode, portable providers (wmiev_provider_create) that
 * register three GUIDs with four static instances each, subscribers whose
 * callbacks must run on the loop's thread, and producers firing from the
 * loop thread and from 1, 2 and 4 other threads.
 *
 * Every event carries (producer, sequence, GUID index, size) and a pattern
 * derived from them, so a subscriber can check each payload byte for byte,
 * and per-producer order, without shared state with the producers. After a
 * run everything is accounted for exactly: the bus's and each GUID's
 * counters against what the producers were told (success / queue full),
 * each subscriber's callbacks and lost_before sums against them. A final
 * "sentinel" event per GUID, fired once the queue is empty, flushes the
 * losses still pending into lost_before.
 *
 * The bus runs on the debug allocator: every test ends with no leaks and no
 * allocator errors, and with uv_loop_close() succeeding (every handle closed).
 * Producer threads never call cmocka: they count, and the test asserts after
 * joining them. Subscriber callbacks (on the loop thread) record the first
 * error instead of asserting, so that a failure never longjmps out of
 * uv_run().
 */
/* <uv.h> needs POSIX types that strict C11 hides; must come before any header. */
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
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wmiev/uv.h>
#include <wmiev/wmiev.h>

#include "debug_alloc.h"
#include "status_assert.h"
#include "test_util.h"

/* Sanitized builds run the threaded scenarios with fewer events. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define WMIEV_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define WMIEV_TEST_SANITIZED 1
#endif
#endif
#ifdef WMIEV_TEST_SANITIZED
#define EVENTS_PER_PRODUCER 10000u /* TSan, ASan: about 10x, 3x slower */
#else
#define EVENTS_PER_PRODUCER 100000u
#endif

#define NGUIDS 3        /* 0 and 1: always subscribed; 2: only the churn thread's */
#define INSTANCES 4     /* static instances per block */
#define MAX_PRODUCERS 8 /* threads + loop producer + sentinel provider */
#define SUBS_PER_GUID 2 /* permanent subscribers of GUIDs 0 and 1 */
#define HDR 16u         /* payload header: producer, seq, GUID index, size */
#define MAX_PAYLOAD (HDR + 47u)
#define RUN_TIMEOUT_MS 100000u

static const GUID test_guids[NGUIDS] = {
    {0x6a1f0e01, 0x1111, 0x4a4a, {0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07}},
    {0x6a1f0e02, 0x2222, 0x4b4b, {0x81, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17}},
    {0x6a1f0e03, 0x3333, 0x4c4c, {0x82, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27}},
};

static const uint16_t base_name[3] = {'D', 'e', 'v'};

/* ---- Fixture ---------------------------------------------------------------------------- */

struct fixture;

typedef struct producer {
  struct fixture *f;
  uint32_t index;
  wmiev_provider *provider;
  wmiev_device *device;
  uint32_t provider_id;
  pthread_t thread;
  uint32_t events;   /* to fire */
  uint32_t next_seq; /* loop-thread and sentinel producers */
  /* What the fire calls answered (owned by the firing thread; read after it ended). */
  uint64_t accepted[NGUIDS];
  uint64_t dropped[NGUIDS];
  uint64_t failures;
  wmiev_status last_failure;
} producer;

typedef struct sub_state {
  struct fixture *f;
  uint32_t guid_index;
  wmiev_subscription *sub;
  /* Loop thread only. */
  uint64_t calls;
  uint64_t lost_before_sum;
  bool seen[MAX_PRODUCERS];
  uint32_t last_seq[MAX_PRODUCERS];
  uint64_t per_producer[MAX_PRODUCERS];
  uint32_t chain_to; /* chain test: fire the next event from the callback below this */
  bool detach_in_callback;
} sub_state;

typedef struct churn_rec {
  struct fixture *f;
  atomic_int gone; /* set once its unsubscribe returned */
  struct churn_rec *next;
} churn_rec;

typedef struct fixture {
  debug_alloc *alloc;
  wmiev_bus *bus;
  uv_loop_t loop;
  pthread_t loop_thread;
  wmiev_uv *uv;
  int closed_calls;
  uv_timer_t poll;
  bool (*done)(struct fixture *f);
  uint64_t deadline;
  bool timed_out;

  producer producers[MAX_PRODUCERS];
  uint32_t producer_count;
  sub_state subs[NGUIDS][SUBS_PER_GUID];
  atomic_uint enables[NGUIDS];
  atomic_uint disables[NGUIDS];

  /* Scenario state. */
  bool use_churn_guid;
  bool slow_consumer;
  uint32_t producers_expected;
  atomic_uint producers_done;
  producer *loop_producer;
  producer *sentinel;
  uv_idle_t idle;
  bool idle_open;
  bool sentinels_fired;
  bool reattach; /* detach and attach again on every poll while producers run */
  uint32_t reattaches;

  /* Churn thread. */
  pthread_t churn_thread;
  atomic_int stop_churn;
  atomic_uint churn_calls;
  atomic_uint late_callbacks;  /* callbacks after their unsubscribe returned */
  atomic_uint off_loop_thread; /* churn callbacks elsewhere than on the loop thread */
  atomic_uint churn_failures;
  uint64_t churn_iterations;
  churn_rec *churn_recs;

  /* Errors seen on the loop thread. */
  unsigned errors;
  char first_error[256];
} fixture;

static void error_at(fixture *f, const char *what, uint32_t who, uint32_t seq) {
  if (f->errors++ == 0) {
    snprintf(f->first_error, sizeof f->first_error, "%s (producer %u, seq %u)", what, (unsigned)who,
             (unsigned)seq);
  }
}

static wmiev_status cb_query_reginfo(wmiev_device *device, wmiev_reginfo_answer *answer,
                                     void *payload) {
  (void)device;
  (void)payload;
  answer->reg_flags = WMIREG_FLAG_INSTANCE_BASENAME;
  answer->base_name = base_name;
  answer->base_name_units = 3;
  return WMIEV_STATUS_SUCCESS;
}

/* Not used by these tests (nobody queries); answers 4 zero bytes per instance. */
static wmiev_status cb_query_data_block(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                        uint32_t instance_index, uint32_t instance_count,
                                        uint32_t *instance_lengths, uint32_t buffer_avail,
                                        uint8_t *buffer, void *payload) {
  (void)guid_index;
  (void)instance_index;
  (void)payload;
  uint32_t need = 8u * (instance_count - 1u) + 4u;
  if (instance_lengths == NULL || buffer_avail < need) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, need);
  }
  memset(buffer, 0, need);
  for (uint32_t k = 0; k < instance_count; k++) {
    instance_lengths[k] = 4;
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, need);
}

static wmiev_status cb_function_control(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                        wmiev_function_control function, bool enable,
                                        void *payload) {
  fixture *f = payload;
  if (function == WMIEV_EVENT_CONTROL && guid_index < NGUIDS) {
    atomic_fetch_add(enable ? &f->enables[guid_index] : &f->disables[guid_index], 1u);
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, 0);
}

static const wmiev_guid_reg guid_list[NGUIDS] = {
    {&test_guids[0], INSTANCES, 0},
    {&test_guids[1], INSTANCES, 0},
    {&test_guids[2], INSTANCES, 0},
};

static void on_closed(void *ctx) {
  fixture *f = ctx;
  f->closed_calls++;
}

static fixture *fixture_create(wmiev_delivery delivery, uint32_t queue_capacity,
                               uint32_t queue_bytes) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->alloc = debug_alloc_create();
  assert_non_null(f->alloc);
  wmiev_bus_options options;
  memset(&options, 0, sizeof options);
  options.delivery = delivery;
  options.allocator = debug_alloc_allocator(f->alloc);
  options.queue_capacity = queue_capacity;
  options.queue_bytes = queue_bytes;
  assert_status(wmiev_bus_create(&options, &f->bus), WMIEV_STATUS_SUCCESS);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(uv_timer_init(&f->loop, &f->poll), 0);
  f->poll.data = f;
  f->loop_thread = pthread_self();
  for (size_t i = 0; i < NGUIDS; i++) {
    atomic_init(&f->enables[i], 0u);
    atomic_init(&f->disables[i], 0u);
  }
  atomic_init(&f->producers_done, 0u);
  atomic_init(&f->stop_churn, 0);
  atomic_init(&f->churn_calls, 0u);
  atomic_init(&f->late_callbacks, 0u);
  atomic_init(&f->off_loop_thread, 0u);
  atomic_init(&f->churn_failures, 0u);
  return f;
}

static producer *add_producer(fixture *f, uint32_t events) {
  assert_true(f->producer_count < MAX_PRODUCERS);
  producer *p = &f->producers[f->producer_count];
  p->f = f;
  p->index = f->producer_count;
  p->events = events;
  wmiev_provider_options options;
  memset(&options, 0, sizeof options);
  options.context.guid_count = NGUIDS;
  options.context.guid_list = guid_list;
  options.context.callbacks.query_reginfo = cb_query_reginfo;
  options.context.callbacks.query_data_block = cb_query_data_block;
  options.context.callbacks.function_control = cb_function_control;
  options.context.payload = f;
  options.name = "uv-test-provider";
  assert_status(wmiev_provider_create(wmiev_bus_registry(f->bus), &options, &p->provider),
                WMIEV_STATUS_SUCCESS);
  p->device = wmiev_provider_device(p->provider);
  assert_status(wmiev_registration_control(p->device, WMIREG_ACTION_REGISTER, NULL),
                WMIEV_STATUS_SUCCESS);
  p->provider_id = wmiev_device_provider_id(p->device);
  f->producer_count++;
  return p;
}

/* Detaches (if attached), closes the poll timer, lets the loop finish, and
 * destroys everything; asserts that nothing leaked. */
static void fixture_destroy(fixture *f) {
  if (f->uv != NULL) {
    int before = f->closed_calls;
    wmiev_uv_detach(f->uv, on_closed, f);
    f->uv = NULL;
    uv_close((uv_handle_t *)&f->poll, NULL);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(f->closed_calls, before + 1);
  } else {
    uv_close((uv_handle_t *)&f->poll, NULL);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  }
  assert_int_equal(uv_loop_close(&f->loop), 0);
  for (uint32_t i = 0; i < f->producer_count; i++) {
    assert_status(wmiev_provider_destroy(f->producers[i].provider), WMIEV_STATUS_SUCCESS);
  }
  /* Subscriptions still there are released by the bus (with their DISABLEs). */
  wmiev_bus_destroy(f->bus);
  assert_int_equal(debug_alloc_report_leaks(f->alloc), 0);
  assert_int_equal(debug_alloc_errors(f->alloc), 0);
  debug_alloc_destroy(f->alloc);
  while (f->churn_recs != NULL) {
    churn_rec *r = f->churn_recs;
    f->churn_recs = r->next;
    free(r);
  }
  free(f);
}

static void on_poll(uv_timer_t *timer) {
  fixture *f = timer->data;
  if (f->done(f)) {
    uv_timer_stop(timer);
    uv_stop(&f->loop);
  } else if (uv_now(&f->loop) >= f->deadline) {
    f->timed_out = true;
    uv_timer_stop(timer);
    uv_stop(&f->loop);
  }
}

/* Runs the loop until done(f) (checked every millisecond on the loop thread). */
static void run_until(fixture *f, bool (*done)(fixture *f), uint32_t timeout_ms) {
  f->done = done;
  f->timed_out = false;
  uv_update_time(&f->loop);
  f->deadline = uv_now(&f->loop) + timeout_ms;
  assert_int_equal(uv_timer_start(&f->poll, on_poll, 1, 1), 0);
  (void)uv_run(&f->loop, UV_RUN_DEFAULT);
  if (f->timed_out) {
    fail_msg("timed out after %u ms (pending %zu)", (unsigned)timeout_ms,
             wmiev_bus_pending(f->bus));
  }
}

/* ---- Payloads ------------------------------------------------------------------------------ */

static uint32_t payload_size(uint32_t who, uint32_t seq) {
  return HDR + (seq * 11u + who * 5u) % 48u;
}

static uint32_t make_payload(uint8_t *out, uint32_t who, uint32_t seq, uint32_t gi) {
  uint32_t size = payload_size(who, seq);
  uint32_t header[4] = {who, seq, gi, size};
  memcpy(out, header, HDR);
  for (uint32_t i = HDR; i < size; i++) {
    out[i] = (uint8_t)(who * 31u + seq * 7u + i * 13u + 0x5au);
  }
  return size;
}

/* Fires one event: every third one as a driver-built WNODE through
 * wmiev_bus_write_event() (IoWMIWriteEvent), the others with
 * wmiev_bus_fire_event() (WmiFireEvent), so both kinds of queue record and
 * both ownership rules are exercised. Any thread. */
static wmiev_status fire_one(fixture *f, producer *p, uint32_t seq, uint32_t gi) {
  uint8_t payload[MAX_PAYLOAD];
  uint32_t size = make_payload(payload, p->index, seq, gi);
  wmiev_status status;
  if (seq % 3u == 2u) {
    size_t total = sizeof(WNODE_SINGLE_INSTANCE) + size;
    uint8_t *wnode = wmiev_bus_alloc_event(f->bus, total);
    if (wnode == NULL) {
      status = WMIEV_STATUS_NO_MEMORY;
    } else {
      WNODE_SINGLE_INSTANCE head;
      memset(&head, 0, sizeof head);
      head.WnodeHeader.BufferSize = (uint32_t)total;
      head.WnodeHeader.ProviderId = p->provider_id;
      head.WnodeHeader.Guid = test_guids[gi];
      head.WnodeHeader.Flags =
          WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES;
      head.InstanceIndex = seq % INSTANCES;
      head.DataBlockOffset = (uint32_t)sizeof head;
      head.SizeDataBlock = size;
      memcpy(wnode, &head, sizeof head);
      memcpy(wnode + sizeof head, payload, size);
      status = wmiev_bus_write_event(f->bus, wnode, NULL);
      if (!WMIEV_SUCCESS(status)) {
        wmiev_bus_free_event(f->bus, wnode); /* a failed write leaves it with us */
      }
    }
  } else {
    status = wmiev_bus_fire_event(f->bus, p->device, &test_guids[gi], seq % INSTANCES, payload,
                                  size, NULL);
  }
  if (status == WMIEV_STATUS_SUCCESS) {
    p->accepted[gi]++;
  } else if (status == WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
    p->dropped[gi]++; /* queue full */
  } else {
    p->failures++;
    p->last_failure = status;
  }
  return status;
}

static uint32_t guid_for(const fixture *f, uint32_t seq) {
  if (f->use_churn_guid && seq % 5u == 4u) {
    return 2;
  }
  return seq % 2u;
}

/* ---- Subscribers ------------------------------------------------------------------------------
 */

static void on_event(const wmiev_event *ev, void *payload) {
  sub_state *s = payload;
  fixture *f = s->f;
  s->calls++;
  s->lost_before_sum += ev->lost_before;
  if (!pthread_equal(pthread_self(), f->loop_thread)) {
    error_at(f, "callback off the loop thread", 0, 0);
  }
  uint32_t header[4];
  if (ev->data == NULL || ev->data_size < HDR) {
    error_at(f, "payload shorter than its header", 0, 0);
    return;
  }
  memcpy(header, ev->data, HDR);
  uint32_t p = header[0], seq = header[1], gi = header[2], size = header[3];
  if (p >= f->producer_count) {
    error_at(f, "unknown producer", p, seq);
    return;
  }
  if (gi != s->guid_index || memcmp(&ev->guid, &test_guids[gi], sizeof(GUID)) != 0) {
    error_at(f, "event for another GUID", p, seq);
  }
  if (ev->provider_id != f->producers[p].provider_id) {
    error_at(f, "wrong provider id", p, seq);
  }
  if (ev->has_name || ev->instance_index != seq % INSTANCES) {
    error_at(f, "wrong instance", p, seq);
  }
  uint8_t expected[MAX_PAYLOAD];
  uint32_t expected_size = make_payload(expected, p, seq, gi);
  if (size != expected_size || ev->data_size != expected_size ||
      memcmp(ev->data, expected, expected_size) != 0) {
    error_at(f, "payload differs from what was fired", p, seq);
  }
  if (s->seen[p] && seq <= s->last_seq[p]) {
    error_at(f, "per-provider order broken", p, seq);
  }
  s->seen[p] = true;
  s->last_seq[p] = seq;
  s->per_producer[p]++;

  if (f->slow_consumer && s->calls % 256u == 0) {
    struct timespec pause = {0, 20 * 1000};
    nanosleep(&pause, NULL);
  }
  if (seq + 1u < s->chain_to) {
    /* Fired from inside a delivery on the loop thread. */
    if (fire_one(f, &f->producers[p], seq + 1u, gi) != WMIEV_STATUS_SUCCESS) {
      error_at(f, "chained fire failed", p, seq + 1u);
    }
  }
  if (s->detach_in_callback && f->uv != NULL) {
    s->detach_in_callback = false;
    wmiev_uv_detach(f->uv, on_closed, f);
    f->uv = NULL;
  }
}

static void subscribe(fixture *f, uint32_t gi, uint32_t k) {
  sub_state *s = &f->subs[gi][k];
  s->f = f;
  s->guid_index = gi;
  assert_status(wmiev_bus_subscribe(f->bus, &test_guids[gi], on_event, s, &s->sub),
                WMIEV_STATUS_SUCCESS);
}

static void assert_no_errors(fixture *f) {
  if (f->errors != 0) {
    fail_msg("%u error(s) in callbacks; first: %s", f->errors, f->first_error);
  }
}

static void attach(fixture *f, uint32_t batch) {
  wmiev_uv_options options;
  memset(&options, 0, sizeof options);
  options.batch = batch;
  assert_status(wmiev_uv_attach(f->bus, &f->loop, &options, &f->uv), WMIEV_STATUS_SUCCESS);
  assert_non_null(f->uv);
}

/* ---- Attach / detach ------------------------------------------------------------------------ */

static void attach_refuses_other_modes(void **state) {
  (void)state;
  static const wmiev_delivery modes[2] = {WMIEV_DELIVERY_SYNC, WMIEV_DELIVERY_PUMPED};
  for (size_t i = 0; i < 2; i++) {
    fixture *f = fixture_create(modes[i], 0, 0);
    assert_int_equal(wmiev_bus_delivery(f->bus), modes[i]);
    wmiev_uv *uv = (wmiev_uv *)(uintptr_t)1;
    assert_status(wmiev_uv_attach(f->bus, &f->loop, NULL, &uv), WMIEV_STATUS_INVALID_PARAMETER);
    assert_null(uv);
    assert_false(wmiev_bus_has_wakeup(f->bus));
    fixture_destroy(f);
  }
  assert_int_equal(wmiev_bus_delivery(NULL), WMIEV_DELIVERY_SYNC);
  assert_false(wmiev_bus_has_wakeup(NULL));
}

/* Declared in lib/platform/platform.h (internal), exported for the tests:
 * fail the Nth OS resource acquisition (mutexes, condition variables, the
 * attachment's loop handle). */
void wmiev__platform_fail_nth(uint64_t n);
bool wmiev__platform_failure_hit(void);

static void count_closed(void *ctx) { (*(int *)ctx)++; }

/* Creates a registry, a LIBUV bus and an attachment with resource failure
 * number n armed; every failure is STATUS_INSUFFICIENT_RESOURCES, leaves
 * nothing behind, and the walk ends when a run completes without one. */
static void resource_failures_are_clean(void **state) {
  (void)state;
  uint64_t n = 1;
  for (;; n++) {
    assert_true(n < 100);
    debug_alloc *d = debug_alloc_create();
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    wmiev__platform_fail_nth(n);
    wmiev_registry_options ropts;
    memset(&ropts, 0, sizeof ropts);
    ropts.allocator = debug_alloc_allocator(d);
    wmiev_registry *reg = NULL;
    wmiev_status st = wmiev_registry_create(&ropts, &reg);
    assert_true(st == WMIEV_STATUS_SUCCESS ||
                (st == WMIEV_STATUS_INSUFFICIENT_RESOURCES && reg == NULL));
    wmiev_bus_options opts;
    memset(&opts, 0, sizeof opts);
    opts.delivery = WMIEV_DELIVERY_LIBUV;
    opts.allocator = debug_alloc_allocator(d);
    wmiev_bus *bus = NULL;
    st = wmiev_bus_create(&opts, &bus);
    assert_true(st == WMIEV_STATUS_SUCCESS ||
                (st == WMIEV_STATUS_INSUFFICIENT_RESOURCES && bus == NULL));
    wmiev_uv *a = NULL;
    if (bus != NULL) {
      st = wmiev_uv_attach(bus, &loop, NULL, &a);
      assert_true(st == WMIEV_STATUS_SUCCESS ||
                  (st == WMIEV_STATUS_INSUFFICIENT_RESOURCES && a == NULL));
    }
    bool hit = wmiev__platform_failure_hit();
    wmiev__platform_fail_nth(0);
    int closed = 0;
    if (a != NULL) {
      wmiev_uv_detach(a, count_closed, &closed);
      assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
      assert_int_equal(closed, 1);
    }
    wmiev_bus_destroy(bus);
    wmiev_registry_destroy(reg);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(debug_alloc_live_count(d), 0);
    assert_int_equal(debug_alloc_errors(d), 0);
    debug_alloc_destroy(d);
    if (!hit) {
      break;
    }
  }
  /* registry: mutex + cond; bus: registry's two + its own five; attach: one. */
  assert_int_equal(n, 11);
}

/* The attachment comes from the bus's allocator: its failure is clean too. */
static void attach_allocation_failure_is_clean(void **state) {
  (void)state;
  debug_alloc *d = debug_alloc_create();
  wmiev_bus_options opts;
  memset(&opts, 0, sizeof opts);
  opts.delivery = WMIEV_DELIVERY_LIBUV;
  opts.allocator = debug_alloc_allocator(d);
  wmiev_bus *bus = NULL;
  assert_int_equal(wmiev_bus_create(&opts, &bus), WMIEV_STATUS_SUCCESS);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  uint64_t baseline = debug_alloc_live_count(d);
  debug_alloc_fail_nth(d, 1, false);
  wmiev_uv *a = NULL;
  assert_int_equal(wmiev_uv_attach(bus, &loop, NULL, &a), WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  assert_null(a);
  assert_true(debug_alloc_failure_hit(d));
  debug_alloc_fail_nth(d, 0, false);
  assert_int_equal(debug_alloc_live_count(d), baseline);
  assert_false(wmiev_bus_has_wakeup(bus));
  /* And the bus is still attachable afterwards. */
  assert_int_equal(wmiev_uv_attach(bus, &loop, NULL, &a), WMIEV_STATUS_SUCCESS);
  int closed = 0;
  wmiev_uv_detach(a, count_closed, &closed);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  wmiev_bus_destroy(bus);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(debug_alloc_live_count(d), 0);
  assert_int_equal(debug_alloc_errors(d), 0);
  debug_alloc_destroy(d);
}

static void attach_refuses_bad_arguments(void **state) {
  (void)state;
  fixture *f = fixture_create(WMIEV_DELIVERY_LIBUV, 0, 0);
  assert_int_equal(wmiev_bus_delivery(f->bus), WMIEV_DELIVERY_LIBUV);
  wmiev_uv *uv = NULL;
  assert_status(wmiev_uv_attach(NULL, &f->loop, NULL, &uv), WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_uv_attach(f->bus, NULL, NULL, &uv), WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_uv_attach(f->bus, &f->loop, NULL, NULL), WMIEV_STATUS_INVALID_PARAMETER);
  assert_null(uv);
  assert_false(wmiev_bus_has_wakeup(f->bus));
  wmiev_uv_detach(NULL, on_closed, f); /* harmless */
  assert_int_equal(f->closed_calls, 0);
  fixture_destroy(f);
}

static void embedder_hook(void *ctx) { (void)ctx; }

static void attach_refuses_second_attach(void **state) {
  (void)state;
  fixture *f = fixture_create(WMIEV_DELIVERY_LIBUV, 0, 0);
  attach(f, 0);
  assert_true(wmiev_bus_has_wakeup(f->bus));

  /* Same loop, then another loop: both refused, and nothing changes. */
  wmiev_uv *second = NULL;
  assert_status(wmiev_uv_attach(f->bus, &f->loop, NULL, &second), WMIEV_STATUS_INVALID_PARAMETER);
  assert_null(second);
  uv_loop_t other;
  assert_int_equal(uv_loop_init(&other), 0);
  assert_status(wmiev_uv_attach(f->bus, &other, NULL, &second), WMIEV_STATUS_INVALID_PARAMETER);
  assert_null(second);
  assert_int_equal(uv_loop_close(&other), 0); /* the refusal left no handle on it */

  /* Detach: the close callback runs on the loop, once; the hook is gone. */
  wmiev_uv_detach(f->uv, on_closed, f);
  f->uv = NULL;
  assert_false(wmiev_bus_has_wakeup(f->bus));
  assert_int_equal(f->closed_calls, 0);
  assert_int_equal(uv_run(&f->loop, UV_RUN_NOWAIT), 0);
  assert_int_equal(f->closed_calls, 1);

  /* Attaching again works after a detach... */
  attach(f, 0);
  wmiev_uv_detach(f->uv, NULL, NULL);
  f->uv = NULL;
  assert_int_equal(uv_run(&f->loop, UV_RUN_NOWAIT), 0);

  /* ...but not over an embedder's own hook. */
  wmiev_bus_set_wakeup(f->bus, embedder_hook, NULL);
  assert_status(wmiev_uv_attach(f->bus, &f->loop, NULL, &second), WMIEV_STATUS_INVALID_PARAMETER);
  wmiev_bus_set_wakeup(f->bus, NULL, NULL);
  fixture_destroy(f);
}

/* ---- Delivery on the loop ------------------------------------------------------------------ */

static uint64_t target_calls;

static bool sub00_reached_target(fixture *f) { return f->subs[0][0].calls >= target_calls; }

static void events_queued_before_attach_are_delivered(void **state) {
  (void)state;
  fixture *f = fixture_create(WMIEV_DELIVERY_LIBUV, 0, 0);
  producer *p = add_producer(f, 0);
  subscribe(f, 0, 0);
  subscribe(f, 1, 0);
  for (uint32_t seq = 0; seq < 50; seq++) {
    assert_status(fire_one(f, p, seq, seq % 2u), WMIEV_STATUS_SUCCESS);
  }
  assert_int_equal(wmiev_bus_pending(f->bus), 50);
  /* Nothing runs them without an attachment. */
  assert_int_equal(uv_run(&f->loop, UV_RUN_NOWAIT), 0);
  assert_int_equal(f->subs[0][0].calls, 0);

  attach(f, 0);
  target_calls = 25;
  run_until(f, sub00_reached_target, RUN_TIMEOUT_MS);
  assert_no_errors(f);
  assert_int_equal(f->subs[0][0].calls, 25);
  assert_int_equal(f->subs[1][0].calls, 25);
  assert_int_equal(wmiev_bus_pending(f->bus), 0);
  wmiev_bus_stats stats;
  wmiev_bus_get_stats(f->bus, &stats);
  assert_int_equal(stats.fired, 50);
  assert_int_equal(stats.delivered, 50);
  assert_int_equal(stats.callbacks, 50);
  fixture_destroy(f);
}

/* The batch bounds the events per loop iteration; the rest wait for the
 * next one, so other handles are not starved. */
static void batch_yields_to_the_loop(void **state) {
  (void)state;
  fixture *f = fixture_create(WMIEV_DELIVERY_LIBUV, 0, 0);
  producer *p = add_producer(f, 0);
  subscribe(f, 0, 0);
  for (uint32_t seq = 0; seq < 600; seq++) {
    assert_status(fire_one(f, p, seq * 2u, 0), WMIEV_STATUS_SUCCESS);
  }
  attach(f, 3);
  assert_int_equal(uv_run(&f->loop, UV_RUN_ONCE), 1);
  assert_int_equal(f->subs[0][0].calls, 3);
  assert_int_equal(uv_run(&f->loop, UV_RUN_ONCE), 1);
  assert_int_equal(f->subs[0][0].calls, 6);
  wmiev_uv_detach(f->uv, on_closed, f);
  f->uv = NULL;
  assert_int_equal(uv_run(&f->loop, UV_RUN_NOWAIT), 0);
  assert_int_equal(f->closed_calls, 1);
  assert_int_equal(wmiev_bus_pending(f->bus), 594); /* left in the bus by the detach */

  /* The default batch is 256. */
  attach(f, 0);
  assert_int_equal(uv_run(&f->loop, UV_RUN_ONCE), 1);
  assert_int_equal(f->subs[0][0].calls, 6 + 256);
  target_calls = 600;
  run_until(f, sub00_reached_target, RUN_TIMEOUT_MS);
  assert_no_errors(f);
  assert_int_equal(wmiev_bus_pending(f->bus), 0);
  fixture_destroy(f);
}

/* spin_ns reaches the dispatch (wmiev_bus_dispatch_spin): with nothing
 * more to come, the loop iteration that delivers an event then polls the
 * queue for that long before it returns to the loop. */
static void spin_keeps_the_loop_polling(void **state) {
  (void)state;
  fixture *f = fixture_create(WMIEV_DELIVERY_LIBUV, 0, 0);
  producer *p = add_producer(f, 0);
  subscribe(f, 0, 0);
  wmiev_uv_options options;
  memset(&options, 0, sizeof options);
  options.spin_ns = 200u * 1000u * 1000u;
  assert_status(wmiev_uv_attach(f->bus, &f->loop, &options, &f->uv), WMIEV_STATUS_SUCCESS);
  assert_status(fire_one(f, p, 0, 0), WMIEV_STATUS_SUCCESS);
  uint64_t start = now_ms();
  assert_int_equal(uv_run(&f->loop, UV_RUN_ONCE), 1);
  assert_int_equal(f->subs[0][0].calls, 1);
  assert_true(now_ms() - start >= 200);
  assert_no_errors(f);
  fixture_destroy(f);
}

/* Events fired from inside deliveries (on the loop thread) keep flowing:
 * the ones the running dispatch does not take wake the loop again. */
static void fire_from_callback_chain(void **state) {
  (void)state;
  fixture *f = fixture_create(WMIEV_DELIVERY_LIBUV, 0, 0);
  producer *p = add_producer(f, 0);
  subscribe(f, 0, 0);
  f->subs[0][0].chain_to = 2000;
  attach(f, 16);
  assert_status(fire_one(f, p, 0, 0), WMIEV_STATUS_SUCCESS);
  target_calls = 2000;
  run_until(f, sub00_reached_target, RUN_TIMEOUT_MS);
  assert_no_errors(f);
  assert_int_equal(f->subs[0][0].calls, 2000);
  assert_int_equal(f->subs[0][0].last_seq[0], 1999);
  fixture_destroy(f);
}

/* A detach from inside a callback stops the attachment (its close callback
 * runs after the callback), the event a callback fired before it is taken
 * by the same dispatch (it saw the consumer awake and raised no wakeup), and
 * a later attachment is woken by the next event. */
static void detach_in_callback_then_reattach(void **state) {
  (void)state;
  fixture *f = fixture_create(WMIEV_DELIVERY_LIBUV, 0, 0);
  producer *p = add_producer(f, 0);
  subscribe(f, 0, 0);
  f->subs[0][0].chain_to = 2;              /* seq 0 fires seq 1 from the callback... */
  f->subs[0][0].detach_in_callback = true; /* ...then detaches */
  attach(f, 0);
  assert_status(fire_one(f, p, 0, 0), WMIEV_STATUS_SUCCESS);
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0); /* ends: no handle left active */
  assert_int_equal(f->closed_calls, 1);
  assert_null(f->uv);
  assert_int_equal(f->subs[0][0].calls, 2); /* seq 1 was taken by the same dispatch */
  assert_int_equal(wmiev_bus_pending(f->bus), 0);

  attach(f, 0);
  assert_int_equal(uv_run(&f->loop, UV_RUN_NOWAIT), 1); /* nothing queued; its handle is active */
  assert_status(fire_one(f, p, 2, 0), WMIEV_STATUS_SUCCESS);
  target_calls = 3;
  run_until(f, sub00_reached_target, 5000);
  assert_no_errors(f);
  assert_int_equal(f->subs[0][0].calls, 3);
  fixture_destroy(f);
}

/* ---- Producers on other threads ------------------------------------------------------------- */

static void *producer_main(void *arg) {
  producer *p = arg;
  fixture *f = p->f;
  for (uint32_t seq = 0; seq < p->events; seq++) {
    (void)fire_one(f, p, seq, guid_for(f, seq));
  }
  atomic_fetch_add(&f->producers_done, 1u);
  return NULL;
}

static void on_idle(uv_idle_t *idle) {
  fixture *f = idle->data;
  producer *p = f->loop_producer;
  for (int i = 0; i < 64 && p->next_seq < p->events; i++, p->next_seq++) {
    (void)fire_one(f, p, p->next_seq, guid_for(f, p->next_seq));
  }
  if (p->next_seq == p->events) {
    uv_idle_stop(idle);
    uv_close((uv_handle_t *)idle, NULL);
    atomic_fetch_add(&f->producers_done, 1u);
  }
}

static void on_churn_event(const wmiev_event *ev, void *payload) {
  (void)ev;
  churn_rec *r = payload;
  fixture *f = r->f;
  if (atomic_load(&r->gone) != 0) {
    atomic_fetch_add(&f->late_callbacks, 1u);
  }
  if (!pthread_equal(pthread_self(), f->loop_thread)) {
    atomic_fetch_add(&f->off_loop_thread, 1u);
  }
  /* Now and then stay a while, so that unsubscribe has a callback to wait for. */
  if (atomic_fetch_add(&f->churn_calls, 1u) % 64u == 0) {
    struct timespec pause = {0, 50 * 1000};
    nanosleep(&pause, NULL);
  }
}

/* Subscribes to GUID 0 (which has permanent subscribers too) and GUID 2
 * (which has no other: each round sends ENABLE and DISABLE), and
 * unsubscribes, over and over while events flow. */
static void *churn_main(void *arg) {
  fixture *f = arg;
  uint32_t round = 0;
  while (atomic_load(&f->stop_churn) == 0) {
    churn_rec *recs[2];
    wmiev_subscription *subs[2] = {NULL, NULL};
    static const uint32_t guids[2] = {0, 2};
    for (int i = 0; i < 2; i++) {
      recs[i] = calloc(1, sizeof *recs[i]);
      if (recs[i] == NULL) {
        atomic_fetch_add(&f->churn_failures, 1u);
        return NULL;
      }
      recs[i]->f = f;
      atomic_init(&recs[i]->gone, 0);
      recs[i]->next = f->churn_recs;
      f->churn_recs = recs[i];
      if (wmiev_bus_subscribe(f->bus, &test_guids[guids[i]], on_churn_event, recs[i], &subs[i]) !=
          WMIEV_STATUS_SUCCESS) {
        atomic_fetch_add(&f->churn_failures, 1u);
      }
    }
    struct timespec pause = {0, (long)(round % 8u) * 25 * 1000};
    nanosleep(&pause, NULL);
    for (int i = 0; i < 2; i++) {
      if (subs[i] != NULL) {
        if (wmiev_bus_unsubscribe(subs[i]) != WMIEV_STATUS_SUCCESS) {
          atomic_fetch_add(&f->churn_failures, 1u);
        }
        atomic_store(&recs[i]->gone, 1);
      }
    }
    round++;
    f->churn_iterations++;
  }
  return NULL;
}

/* All producers finished and the queue is empty: fire one sentinel per
 * GUID (the queue has room now), which carries the losses still pending
 * into lost_before; done when those are delivered too. */
static bool scenario_done(fixture *f) {
  if (f->reattach && atomic_load(&f->producers_done) < f->producers_expected) {
    /* The documented teardown order detaches while producers still fire:
     * they may be about to call the old wakeup hook. Queued events stay in
     * the bus and the new attachment delivers them. */
    wmiev_uv_detach(f->uv, on_closed, f);
    f->uv = NULL;
    if (wmiev_uv_attach(f->bus, &f->loop, NULL, &f->uv) != WMIEV_STATUS_SUCCESS) {
      error_at(f, "re-attach failed", 0, f->reattaches);
    }
    f->reattaches++;
    return false;
  }
  if (atomic_load(&f->producers_done) < f->producers_expected || wmiev_bus_pending(f->bus) != 0) {
    return false;
  }
  if (!f->sentinels_fired) {
    atomic_store(&f->stop_churn, 1);
    for (uint32_t gi = 0; gi < 2; gi++) {
      if (fire_one(f, f->sentinel, f->sentinel->next_seq++, gi) != WMIEV_STATUS_SUCCESS) {
        error_at(f, "sentinel not accepted", f->sentinel->index, f->sentinel->next_seq - 1u);
      }
    }
    f->sentinels_fired = true;
    return false;
  }
  return true;
}

static void ignore_event(const wmiev_event *ev, void *payload) {
  (void)ev;
  (void)payload;
}

typedef struct scenario {
  uint32_t threads;
  bool loop_producer;
  uint32_t events;         /* per producer */
  uint32_t queue_capacity; /* 0: room for everything, and no drop is allowed */
  bool churn;
  bool slow_consumer;
  uint32_t batch;
  bool reattach;
} scenario;

static void run_scenario(const scenario *sc) {
  uint32_t producers = sc->threads + (sc->loop_producer ? 1u : 0u);
  uint32_t total = producers * sc->events;
  bool no_drops = sc->queue_capacity == 0;
  uint32_t capacity = no_drops ? total + 16u : sc->queue_capacity;
  /* Records are at most 24 + 64 + 63 bytes (queue.h); one wrap filler wastes less than one. */
  uint32_t bytes = capacity * 160u + 4096u;
  fixture *f = fixture_create(WMIEV_DELIVERY_LIBUV, capacity, bytes);
  f->use_churn_guid = sc->churn;
  f->slow_consumer = sc->slow_consumer;
  f->reattach = sc->reattach;
  f->producers_expected = producers;
  for (uint32_t t = 0; t < sc->threads; t++) {
    (void)add_producer(f, sc->events);
  }
  if (sc->loop_producer) {
    f->loop_producer = add_producer(f, sc->events);
  }
  f->sentinel = add_producer(f, 0);
  for (uint32_t gi = 0; gi < 2; gi++) {
    for (uint32_t k = 0; k < SUBS_PER_GUID; k++) {
      subscribe(f, gi, k);
    }
  }
  if (sc->churn) {
    /* The bus counts per GUID only once it knows the GUID: make it known. */
    wmiev_subscription *once = NULL;
    assert_status(wmiev_bus_subscribe(f->bus, &test_guids[2], ignore_event, NULL, &once),
                  WMIEV_STATUS_SUCCESS);
    assert_status(wmiev_bus_unsubscribe(once), WMIEV_STATUS_SUCCESS);
  }
  attach(f, sc->batch);
  if (sc->loop_producer) {
    assert_int_equal(uv_idle_init(&f->loop, &f->idle), 0);
    f->idle.data = f;
    assert_int_equal(uv_idle_start(&f->idle, on_idle), 0);
  }

  uint64_t start = uv_hrtime();
  for (uint32_t t = 0; t < sc->threads; t++) {
    assert_int_equal(pthread_create(&f->producers[t].thread, NULL, producer_main, &f->producers[t]),
                     0);
  }
  if (sc->churn) {
    assert_int_equal(pthread_create(&f->churn_thread, NULL, churn_main, f), 0);
  }
  run_until(f, scenario_done, RUN_TIMEOUT_MS);
  uint64_t elapsed_ns = uv_hrtime() - start;
  for (uint32_t t = 0; t < sc->threads; t++) {
    assert_int_equal(pthread_join(f->producers[t].thread, NULL), 0);
  }
  if (sc->churn) {
    assert_int_equal(pthread_join(f->churn_thread, NULL), 0);
  }
  assert_no_errors(f);

  /* What the producers were told. */
  uint64_t accepted[NGUIDS] = {0}, dropped[NGUIDS] = {0};
  for (uint32_t i = 0; i < f->producer_count; i++) {
    producer *p = &f->producers[i];
    if (p->failures != 0) {
      fail_msg("producer %u: %llu fire calls failed, last with %s", (unsigned)i,
               (unsigned long long)p->failures, wmiev_status_name(p->last_failure));
    }
    for (uint32_t gi = 0; gi < NGUIDS; gi++) {
      accepted[gi] += p->accepted[gi];
      dropped[gi] += p->dropped[gi];
    }
  }

  /* The bus: every fire call ends in exactly one counter. */
  wmiev_bus_stats bus;
  wmiev_bus_get_stats(f->bus, &bus);
  uint64_t fired = total + 2u;
  assert_int_equal(bus.fired, fired);
  assert_int_equal(bus.rejected, 0);
  assert_int_equal(bus.traced, 0);
  assert_int_equal(bus.reference_failed, 0);
  assert_int_equal(bus.fired, bus.delivered + bus.dropped + bus.not_enabled + bus.discarded);
  assert_int_equal(bus.dropped, dropped[0] + dropped[1] + dropped[2]);
  assert_int_equal(bus.queued_now, 0);
  if (!sc->churn) {
    assert_int_equal(bus.not_enabled, 0);
    assert_int_equal(bus.discarded, 0);
  }
  if (no_drops) {
    assert_int_equal(bus.dropped, 0);
    assert_int_equal(bus.delivered + bus.not_enabled + bus.discarded, fired);
  } else {
    assert_true(bus.dropped > 0); /* the scenario is meant to overflow the queue */
  }

  uint64_t sub_calls = 0;
  for (uint32_t gi = 0; gi < NGUIDS; gi++) {
    wmiev_bus_stats g;
    wmiev_bus_get_guid_stats(f->bus, &test_guids[gi], &g);
    assert_int_equal(g.fired, accepted[gi] + dropped[gi]);
    assert_int_equal(g.rejected, 0);
    assert_int_equal(g.dropped, dropped[gi]);
    assert_int_equal(g.fired, g.delivered + g.dropped + g.not_enabled + g.discarded);
    if (gi == 2) {
      /* The churn GUID: accepted events found a subscriber or were counted not. */
      assert_int_equal(accepted[2], g.delivered + g.not_enabled + g.discarded);
      assert_int_equal(atomic_load(&f->enables[2]), g.enables_sent);
      assert_int_equal(g.enables_sent, g.disables_sent); /* every round ended */
      continue;
    }
    /* Always subscribed: every accepted event reached both subscribers. */
    assert_int_equal(g.delivered, accepted[gi]);
    assert_int_equal(g.not_enabled, 0);
    assert_int_equal(g.discarded, 0);
    assert_int_equal(g.enables_sent, f->producer_count); /* one ENABLE per provider, ever */
    assert_int_equal(g.disables_sent, 0);
    for (uint32_t k = 0; k < SUBS_PER_GUID; k++) {
      sub_state *s = &f->subs[gi][k];
      assert_int_equal(s->calls, accepted[gi]);
      for (uint32_t i = 0; i < f->producer_count; i++) {
        assert_int_equal(s->per_producer[i], f->producers[i].accepted[gi]);
      }
      assert_int_equal(s->lost_before_sum, dropped[gi]);
      uint64_t delivered = 0, lost = 0;
      wmiev_subscription_counts(s->sub, &delivered, &lost);
      assert_int_equal(delivered, s->calls);
      assert_int_equal(lost, dropped[gi]);
      sub_calls += s->calls;
    }
  }
  assert_int_equal(bus.callbacks, sub_calls + atomic_load(&f->churn_calls));

  if (sc->reattach) {
    assert_int_equal(f->closed_calls, f->reattaches); /* each old handle closed once */
    print_message("      %u detach/attach cycles while producers fired\n", (unsigned)f->reattaches);
  }
  if (sc->churn) {
    assert_int_equal(atomic_load(&f->late_callbacks), 0);
    assert_int_equal(atomic_load(&f->off_loop_thread), 0);
    assert_int_equal(atomic_load(&f->churn_failures), 0);
    assert_true(f->churn_iterations > 0);
  }

  double seconds = (double)elapsed_ns / 1e9;
  print_message("      %u producer(s)%s x %u events, queue %u: %.0f events/s fired, %llu dropped, "
                "%llu delivered%s\n",
                (unsigned)sc->threads, sc->loop_producer ? " + loop" : "", (unsigned)sc->events,
                (unsigned)capacity, (double)total / seconds, (unsigned long long)bus.dropped,
                (unsigned long long)bus.delivered,
                sc->churn ? ", with subscribe/unsubscribe churn" : "");
  if (sc->churn) {
    print_message("      churn: %llu rounds, %u churn callbacks\n",
                  (unsigned long long)f->churn_iterations, atomic_load(&f->churn_calls));
  }
  fixture_destroy(f);
}

static void loop_thread_producer(void **state) {
  (void)state;
  scenario sc = {.loop_producer = true, .events = EVENTS_PER_PRODUCER};
  run_scenario(&sc);
}

static void one_producer_thread(void **state) {
  (void)state;
  scenario sc = {.threads = 1, .events = EVENTS_PER_PRODUCER};
  run_scenario(&sc);
}

static void two_producer_threads(void **state) {
  (void)state;
  scenario sc = {.threads = 2, .events = EVENTS_PER_PRODUCER};
  run_scenario(&sc);
}

static void four_producer_threads_and_loop(void **state) {
  (void)state;
  scenario sc = {.threads = 4, .loop_producer = true, .events = EVENTS_PER_PRODUCER};
  run_scenario(&sc);
}

/* A queue of 16 under four producers: most events are dropped, and the
 * accounting must still be exact. Small batches, a consumer that pauses. */
static void small_queue_drops_are_counted(void **state) {
  (void)state;
  scenario sc = {.threads = 4,
                 .loop_producer = true,
                 .events = EVENTS_PER_PRODUCER,
                 .queue_capacity = 16,
                 .slow_consumer = true,
                 .batch = 8};
  run_scenario(&sc);
}

static void subscribe_unsubscribe_while_events_flow(void **state) {
  (void)state;
  scenario sc = {.threads = 4, .events = EVENTS_PER_PRODUCER, .churn = true};
  run_scenario(&sc);
}

static void churn_with_small_queue(void **state) {
  (void)state;
  scenario sc = {.threads = 2,
                 .loop_producer = true,
                 .events = EVENTS_PER_PRODUCER,
                 .queue_capacity = 64,
                 .churn = true,
                 .batch = 32};
  run_scenario(&sc);
}

static void reattach_while_producers_fire(void **state) {
  (void)state;
  scenario sc = {.threads = 4, .events = EVENTS_PER_PRODUCER, .reattach = true};
  run_scenario(&sc);
}

/* ---- The lazy event descriptor (decisions D21) ------------------------------------------------
 */

#define LAZY_TIME INT64_C(0x01d9a1b2c3d4e5f6)
#define LAZY_MAX_WNODE 3200u

static int64_t lazy_clock(void *ctx) {
  (void)ctx;
  return LAZY_TIME;
}

/* What a subscriber saw of one event: the WNODE (wmiev_event_wnode()) and
 * the view (wmiev_event_view()), pointers turned into offsets. */
typedef struct lazy_rec {
  uint8_t wnode[LAZY_MAX_WNODE];
  uint32_t size;
  wmiev_wnode_view view;
  ptrdiff_t base_off, data_off;
  bool data_in_wnode;
} lazy_rec;

typedef struct lazy_sub {
  fixture *f;
  wmiev_subscription *sub;
  size_t n;
  lazy_rec rec[4];
  const void *wnode_ptr[4]; /* compared across subscribers, never read */
} lazy_sub;

/* The view with its pointers made offsets from `wnode` (so two views of two
 * copies compare equal field by field). */
static void lazy_normalise(wmiev_wnode_view *v, const uint8_t *wnode, ptrdiff_t *base_off,
                           ptrdiff_t *data_off) {
  *base_off = v->base - wnode;
  *data_off = v->instance.data != NULL ? v->instance.data - wnode : -1;
  v->base = NULL;
  v->instance.data = NULL;
  v->instance.name = NULL;
}

/* The first field in which two normalised views differ, or NULL. */
static const char *lazy_view_diff(const wmiev_wnode_view *a, const wmiev_wnode_view *b) {
#define LAZY_VEQ(field)                                                                            \
  if (a->field != b->field) {                                                                      \
    return #field;                                                                                 \
  }
  LAZY_VEQ(kind)
  LAZY_VEQ(buffer_size)
  LAZY_VEQ(provider_id)
  LAZY_VEQ(historical_context)
  LAZY_VEQ(timestamp)
  LAZY_VEQ(client_context)
  LAZY_VEQ(flags)
  LAZY_VEQ(is_event)
  LAZY_VEQ(static_names)
  LAZY_VEQ(severity)
  LAZY_VEQ(warnings)
  LAZY_VEQ(instance.has_name)
  LAZY_VEQ(instance.name_bytes)
  LAZY_VEQ(instance.name_offset)
  LAZY_VEQ(instance.index)
  LAZY_VEQ(instance.data_offset)
  LAZY_VEQ(instance.size)
  LAZY_VEQ(item_id)
  LAZY_VEQ(data_block_offset)
  LAZY_VEQ(instance_count)
  LAZY_VEQ(fixed_instance_size)
  LAZY_VEQ(fixed_size)
  LAZY_VEQ(names_present)
  LAZY_VEQ(size_needed)
#undef LAZY_VEQ
  if (memcmp(&a->guid, &b->guid, sizeof(GUID)) != 0) {
    return "guid";
  }
  if (memcmp(&a->target_guid, &b->target_guid, sizeof(GUID)) != 0) {
    return "target_guid";
  }
  return NULL;
}

static void lazy_cb(const wmiev_event *ev, void *payload) {
  lazy_sub *s = payload;
  fixture *f = s->f;
  if (!pthread_equal(pthread_self(), f->loop_thread)) {
    error_at(f, "callback off the loop thread", 0, 0);
  }
  if (s->n >= 4) {
    error_at(f, "more events than fired", 0, (uint32_t)s->n);
    return;
  }
  lazy_rec *r = &s->rec[s->n];
  uint32_t size = 0;
  const uint8_t *w = wmiev_event_wnode(ev, &size);
  const wmiev_wnode_view *v = wmiev_event_view(ev);
  s->wnode_ptr[s->n++] = w;
  if (w == NULL || v == NULL || size > sizeof r->wnode || v->buffer_size != size) {
    error_at(f, "no WNODE, or one of the wrong size", 0, (uint32_t)s->n);
    return;
  }
  if (wmiev_event_wnode(ev, NULL) != w || wmiev_event_view(ev) != v) {
    error_at(f, "the WNODE was built twice in one delivery", 0, (uint32_t)s->n);
  }
  memcpy(r->wnode, w, size);
  r->size = size;
  r->view = *v;
  lazy_normalise(&r->view, w, &r->base_off, &r->data_off);
  const uint8_t *d = ev->data;
  r->data_in_wnode = d != NULL && d >= w && d < w + size;
}

static lazy_sub *lazy_watch[2];

static bool lazy_both_reached_target(fixture *f) {
  (void)f;
  return lazy_watch[0]->n >= target_calls && lazy_watch[1]->n >= target_calls;
}

/* In libuv mode the WNODE built on request for a WmiFireEvent-style event
 * (small: in the delivery context; big: on the heap) is byte for byte the
 * one wmiev_bus_write_event() delivers for the same event, with the same
 * view, which is the validator's; two subscribers share it. */
static void lazy_wnode_matches_write_event(void **state) {
  (void)state;
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->alloc = debug_alloc_create();
  wmiev_bus_options options;
  memset(&options, 0, sizeof options);
  options.delivery = WMIEV_DELIVERY_LIBUV;
  options.allocator = debug_alloc_allocator(f->alloc);
  options.max_event_size = 4096;
  options.clock.now = lazy_clock;
  assert_status(wmiev_bus_create(&options, &f->bus), WMIEV_STATUS_SUCCESS);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  assert_int_equal(uv_timer_init(&f->loop, &f->poll), 0);
  f->poll.data = f;
  f->loop_thread = pthread_self();
  producer *p = add_producer(f, 0);
  lazy_sub one = {.f = f}, two = {.f = f};
  assert_status(wmiev_bus_subscribe(f->bus, &test_guids[0], lazy_cb, &one, &one.sub),
                WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_subscribe(f->bus, &test_guids[0], lazy_cb, &two, &two.sub),
                WMIEV_STATUS_SUCCESS);
  lazy_watch[0] = &one;
  lazy_watch[1] = &two;
  attach(f, 0);
  static const uint32_t sizes[2] = {40, 3000}; /* in the context; on the heap */
  static uint8_t data[3000];
  for (size_t k = 0; k < 2; k++) {
    uint32_t size = sizes[k];
    for (uint32_t i = 0; i < size; i++) {
      data[i] = (uint8_t)(i * 7u + k);
    }
    size_t at = one.n;
    assert_status(wmiev_bus_fire_event(f->bus, p->device, &test_guids[0], 2, data, size, NULL),
                  WMIEV_STATUS_SUCCESS);
    size_t total = sizeof(WNODE_SINGLE_INSTANCE) + size;
    uint8_t *wnode = wmiev_bus_alloc_event(f->bus, total);
    assert_non_null(wnode);
    WNODE_SINGLE_INSTANCE head;
    memset(&head, 0, sizeof head);
    head.WnodeHeader.BufferSize = (uint32_t)total;
    head.WnodeHeader.ProviderId = p->provider_id;
    head.WnodeHeader.Guid = test_guids[0];
    head.WnodeHeader.Flags =
        WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES;
    head.InstanceIndex = 2;
    head.DataBlockOffset = (uint32_t)sizeof head;
    head.SizeDataBlock = size;
    memcpy(wnode, &head, sizeof head);
    memcpy(wnode + sizeof head, data, size);
    assert_status(wmiev_bus_write_event(f->bus, wnode, NULL), WMIEV_STATUS_SUCCESS);
    memset(data, 0xee, size); /* queued: the subscribers see the bytes as fired */
    target_calls = at + 2;
    run_until(f, lazy_both_reached_target, RUN_TIMEOUT_MS);
    assert_no_errors(f);
    assert_int_equal(one.n, at + 2);
    assert_int_equal(two.n, at + 2);
    const lazy_rec *lazy = &one.rec[at];
    const lazy_rec *held = &one.rec[at + 1];
    assert_int_equal(lazy->size, total);
    assert_int_equal(held->size, total);
    assert_memory_equal(lazy->wnode, held->wnode, total);
    int64_t stamp;
    memcpy(&stamp, lazy->wnode + offsetof(WNODE_HEADER, TimeStamp), sizeof stamp);
    assert_true(stamp == LAZY_TIME);
    const char *diff = lazy_view_diff(&lazy->view, &held->view);
    if (diff != NULL) {
      fail_msg("%u bytes: built view and write_event view differ in %s", (unsigned)size, diff);
    }
    assert_true(lazy->base_off == 0 && held->base_off == 0);
    assert_true(lazy->data_off == held->data_off);
    wmiev_wnode_view reval;
    assert_status(
        wmiev_wnode_validate(lazy->wnode, lazy->size, WMIEV_VALIDATE_REQUIRE_EVENT, &reval, NULL),
        WMIEV_STATUS_SUCCESS);
    ptrdiff_t reval_base = 0, reval_data = 0;
    lazy_normalise(&reval, lazy->wnode, &reval_base, &reval_data);
    diff = lazy_view_diff(&lazy->view, &reval);
    if (diff != NULL) {
      fail_msg("%u bytes: built view and validator's view differ in %s", (unsigned)size, diff);
    }
    assert_true(reval_data == lazy->data_off);
    assert_false(lazy->data_in_wnode); /* in the queue record */
    assert_true(held->data_in_wnode);
    for (size_t j = at; j < at + 2; j++) {
      assert_ptr_equal(one.wnode_ptr[j], two.wnode_ptr[j]);
      assert_memory_equal(one.rec[j].wnode, two.rec[j].wnode, total);
    }
  }
  assert_status(wmiev_bus_unsubscribe(one.sub), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_unsubscribe(two.sub), WMIEV_STATUS_SUCCESS);
  fixture_destroy(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(attach_refuses_other_modes),
      cmocka_unit_test(attach_refuses_bad_arguments),
      cmocka_unit_test(resource_failures_are_clean),
      cmocka_unit_test(attach_allocation_failure_is_clean),
      cmocka_unit_test(attach_refuses_second_attach),
      cmocka_unit_test(events_queued_before_attach_are_delivered),
      cmocka_unit_test(batch_yields_to_the_loop),
      cmocka_unit_test(spin_keeps_the_loop_polling),
      cmocka_unit_test(fire_from_callback_chain),
      cmocka_unit_test(detach_in_callback_then_reattach),
      cmocka_unit_test(loop_thread_producer),
      cmocka_unit_test(one_producer_thread),
      cmocka_unit_test(two_producer_threads),
      cmocka_unit_test(four_producer_threads_and_loop),
      cmocka_unit_test(small_queue_drops_are_counted),
      cmocka_unit_test(subscribe_unsubscribe_while_events_flow),
      cmocka_unit_test(churn_with_small_queue),
      cmocka_unit_test(reattach_while_producers_fire),
      cmocka_unit_test(lazy_wnode_matches_write_event),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
