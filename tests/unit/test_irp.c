/*
 * Devices, device stacks and WMI IRPs (lib/core/device.c, lib/core/irp.c).
 *
 * Every device here runs one recording dispatch routine (`level_dispatch`)
 * that notes who saw the IRP and what it carried, then does what its
 * `level.act` says: forward (the default), complete, pend, misbehave. Each
 * test runs against a registry on the debug allocator and ends with zero
 * live allocations and zero allocator errors; the last tests walk every
 * allocation failure of a whole device/IRP scenario.
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
#include <string.h>

#include <wmiev/wmiev.h>

#include "debug_alloc.h"
#include "test_util.h"

/* ---- fixture: registry on the debug allocator, violations counted ------- */

#define MAX_RULE 8

typedef struct fixture {
  debug_alloc *alloc;
  wmiev_registry *registry;
  pthread_mutex_t lock; /* violations may be reported from any thread */
  int violations[MAX_RULE];
  int violation_total;
} fixture;

static void on_violation(wmiev_violation rule, const char *message, void *ctx) {
  fixture *f = ctx;
  assert_non_null(message);
  assert_true(message[0] != '\0');
  assert_true((int)rule > 0 && (int)rule < MAX_RULE);
  pthread_mutex_lock(&f->lock);
  f->violations[rule]++;
  f->violation_total++;
  pthread_mutex_unlock(&f->lock);
}

static int violations(fixture *f, wmiev_violation rule) {
  pthread_mutex_lock(&f->lock);
  int n = f->violations[rule];
  pthread_mutex_unlock(&f->lock);
  return n;
}

static int violation_total(fixture *f) {
  pthread_mutex_lock(&f->lock);
  int n = f->violation_total;
  pthread_mutex_unlock(&f->lock);
  return n;
}

/* timeout_ms 0: the registry's default. */
static fixture *fixture_new(uint32_t timeout_ms) {
  fixture *f = test_calloc(1, sizeof *f);
  assert_non_null(f);
  pthread_mutex_init(&f->lock, NULL);
  f->alloc = debug_alloc_create();
  wmiev_registry_options options = {0};
  options.allocator = debug_alloc_allocator(f->alloc);
  options.irp_timeout_ms = timeout_ms;
  options.on_violation = on_violation;
  options.violation_ctx = f;
  assert_int_equal(wmiev_registry_create(&options, &f->registry), WMIEV_STATUS_SUCCESS);
  assert_non_null(f->registry);
  return f;
}

/* Destroys the registry and checks that nothing leaked or was misfreed. */
static void fixture_done(fixture *f) {
  wmiev_registry_destroy(f->registry);
  if (debug_alloc_live_count(f->alloc) != 0) {
    (void)debug_alloc_report_leaks(f->alloc);
  }
  assert_int_equal(debug_alloc_live_count(f->alloc), 0);
  assert_int_equal(debug_alloc_errors(f->alloc), 0);
  debug_alloc_destroy(f->alloc);
  pthread_mutex_destroy(&f->lock);
  test_free(f);
}

/* ---- recording devices ------------------------------------------------------ */

/* Who saw the IRP, in order, shared by the levels of one stack. */
typedef struct trace {
  pthread_mutex_t lock;
  const char *who[16];
  size_t count;
} trace;

typedef struct level level;
typedef wmiev_status (*act_fn)(wmiev_device *device, wmiev_irp *irp, level *lv);

struct level {
  const char *name;
  trace *trace;
  act_fn act; /* NULL: forward */
  /* What this level saw last. */
  int calls;
  uint8_t minor;
  uintptr_t provider_id;
  void *data_path;
  uint32_t buffer_size;
  /* Scratch for the acts below. */
  wmiev_irp *held;        /* a pended IRP */
  wmiev_status returned2; /* second completion's return */
  uint32_t bytes;         /* bytes to write / Information to report */
  pthread_t thread;
  bool thread_started;
  wmiev_registry *registry; /* for acts that call back into the library */
  wmiev_device *other;      /* for acts that send to another device */
  wmiev_status nested_status;
  int completed_late; /* set (atomically) by complete_later once it completed */
};

static void trace_init(trace *t) {
  memset(t, 0, sizeof *t);
  pthread_mutex_init(&t->lock, NULL);
}

static void trace_done(trace *t) { pthread_mutex_destroy(&t->lock); }

static wmiev_status level_dispatch(wmiev_device *device, wmiev_irp *irp, void *payload) {
  level *lv = payload;
  assert_ptr_equal(wmiev_device_payload(device), lv);
  assert_int_equal(irp->MajorFunction, IRP_MJ_SYSTEM_CONTROL);
  lv->calls++;
  lv->minor = irp->MinorFunction;
  lv->provider_id = irp->Wmi.ProviderId;
  lv->data_path = irp->Wmi.DataPath;
  lv->buffer_size = irp->Wmi.BufferSize;
  if (lv->trace != NULL) {
    pthread_mutex_lock(&lv->trace->lock);
    if (lv->trace->count < 16) {
      lv->trace->who[lv->trace->count++] = lv->name;
    }
    pthread_mutex_unlock(&lv->trace->lock);
  }
  if (lv->act == NULL) {
    return wmiev_irp_forward(device, irp);
  }
  return lv->act(device, irp, lv);
}

static wmiev_device *make_device(fixture *f, level *lv, wmiev_device *lower) {
  wmiev_device_options options = {0};
  options.dispatch = level_dispatch;
  options.payload = lv;
  options.lower = lower;
  options.name = lv->name;
  wmiev_device *device = NULL;
  assert_int_equal(wmiev_device_create(f->registry, &options, &device), WMIEV_STATUS_SUCCESS);
  assert_non_null(device);
  return device;
}

static void destroy_ok(wmiev_device *device) {
  assert_int_equal(wmiev_device_destroy(device), WMIEV_STATUS_SUCCESS);
}

/* Fills the IRP's buffer with 0xC0 + i and completes with `bytes`. */
static wmiev_status act_complete(wmiev_device *device, wmiev_irp *irp, level *lv) {
  (void)device;
  uint8_t *buffer = irp->Wmi.Buffer;
  for (uint32_t i = 0; i < lv->bytes && i < irp->Wmi.BufferSize; i++) {
    buffer[i] = (uint8_t)(0xC0u + i);
  }
  return wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, lv->bytes);
}

/* A filter that handles nothing but sets a status before passing it on. */
static wmiev_status act_set_status_and_forward(wmiev_device *device, wmiev_irp *irp, level *lv) {
  irp->IoStatus.Status = WMIEV_STATUS_WMI_GUID_NOT_FOUND;
  irp->IoStatus.Information = lv->bytes;
  return wmiev_irp_forward(device, irp);
}

static wmiev_status act_pend_and_hold(wmiev_device *device, wmiev_irp *irp, level *lv) {
  (void)device;
  wmiev_irp_mark_pending(irp);
  /* Atomic: another thread may be polling for it. */
  __atomic_store_n(&lv->held, irp, __ATOMIC_RELEASE);
  return WMIEV_STATUS_PENDING;
}

static void *complete_later(void *arg) {
  level *lv = arg;
  sleep_ms(20);
  uint8_t *buffer = lv->held->Wmi.Buffer;
  memset(buffer, 0x5C, lv->bytes);
  /* Flagged just before completing: whoever waits for the completion sees it. */
  __atomic_store_n(&lv->completed_late, 1, __ATOMIC_RELEASE);
  (void)wmiev_irp_complete(lv->held, WMIEV_STATUS_SUCCESS, lv->bytes);
  return NULL;
}

static wmiev_status act_pend_thread(wmiev_device *device, wmiev_irp *irp, level *lv) {
  (void)act_pend_and_hold(device, irp, lv);
  assert_int_equal(pthread_create(&lv->thread, NULL, complete_later, lv), 0);
  lv->thread_started = true;
  return WMIEV_STATUS_PENDING;
}

static void *complete_now(void *arg) {
  level *lv = arg;
  (void)wmiev_irp_complete(lv->held, WMIEV_STATUS_SUCCESS, lv->bytes);
  return NULL;
}

/* The completion wins the race: it is done before the dispatch returns. */
static wmiev_status act_pend_complete_first(wmiev_device *device, wmiev_irp *irp, level *lv) {
  (void)act_pend_and_hold(device, irp, lv);
  assert_int_equal(pthread_create(&lv->thread, NULL, complete_now, lv), 0);
  assert_int_equal(pthread_join(lv->thread, NULL), 0);
  assert_true(wmiev_irp_is_completed(irp));
  return WMIEV_STATUS_PENDING;
}

static wmiev_status act_return_without_completing(wmiev_device *device, wmiev_irp *irp, level *lv) {
  (void)device;
  (void)irp;
  (void)lv;
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status act_complete_twice(wmiev_device *device, wmiev_irp *irp, level *lv) {
  (void)device;
  wmiev_status first = wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, lv->bytes);
  assert_true(wmiev_irp_is_completed(irp));
  lv->returned2 = wmiev_irp_complete(irp, WMIEV_STATUS_UNSUCCESSFUL, 99);
  return first;
}

static wmiev_status act_destroy_self(wmiev_device *device, wmiev_irp *irp, level *lv) {
  lv->nested_status = wmiev_device_destroy(device);
  return wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, 0);
}

static wmiev_status act_send_to_other(wmiev_device *device, wmiev_irp *irp, level *lv) {
  (void)device;
  uint8_t inner[8] = {0};
  wmiev_io_status io;
  lv->nested_status =
      wmiev_device_send_wmi_irp(lv->other, IRP_MN_QUERY_ALL_DATA, NULL, inner, sizeof inner, &io);
  return wmiev_irp_complete(irp, lv->nested_status, io.Information);
}

static wmiev_status send_simple(wmiev_device *device, wmiev_io_status *io) {
  uint8_t buffer[16] = {0};
  return wmiev_device_send_wmi_irp(device, IRP_MN_QUERY_ALL_DATA, NULL, buffer, sizeof buffer, io);
}

/* ---- provider ids ----------------------------------------------------------- */

static void test_provider_ids(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  enum { N = 8 };
  level lv[N];
  wmiev_device *dev[N];
  uint32_t ids[N];
  memset(lv, 0, sizeof lv);
  for (int i = 0; i < N; i++) {
    lv[i].name = "dev";
    dev[i] = make_device(f, &lv[i], NULL);
    ids[i] = wmiev_device_provider_id(dev[i]);
    assert_int_not_equal(ids[i], 0);
    assert_int_not_equal(wmiev_device_irp_provider_id(dev[i]), 0);
    for (int j = 0; j < i; j++) {
      assert_int_not_equal(ids[i], ids[j]);
      assert_int_not_equal(wmiev_device_irp_provider_id(dev[i]),
                           wmiev_device_irp_provider_id(dev[j]));
    }
  }
  for (int i = 0; i < N; i++) {
    assert_ptr_equal(wmiev_registry_device_by_provider_id(f->registry, ids[i]), dev[i]);
    assert_ptr_equal(
        wmiev_registry_device_by_irp_provider_id(f->registry, wmiev_device_irp_provider_id(dev[i])),
        dev[i]);
    assert_ptr_equal(wmiev_device_registry(dev[i]), f->registry);
    assert_string_equal(wmiev_device_name(dev[i]), "dev");
  }
  assert_null(wmiev_registry_device_by_provider_id(f->registry, 0));
  assert_null(wmiev_registry_device_by_irp_provider_id(f->registry, 0));
  assert_null(wmiev_registry_device_by_provider_id(NULL, ids[0]));

  /* Destroyed devices are no longer found, and their ids are not handed out again. */
  uintptr_t gone_irp_id = wmiev_device_irp_provider_id(dev[3]);
  destroy_ok(dev[3]);
  assert_null(wmiev_registry_device_by_provider_id(f->registry, ids[3]));
  assert_null(wmiev_registry_device_by_irp_provider_id(f->registry, gone_irp_id));
  assert_ptr_equal(wmiev_registry_device_by_provider_id(f->registry, ids[4]), dev[4]);
  level fresh = {.name = "fresh"};
  wmiev_device *again = make_device(f, &fresh, NULL);
  for (int i = 0; i < N; i++) {
    assert_int_not_equal(wmiev_device_provider_id(again), ids[i]);
  }
  destroy_ok(again);
  for (int i = 0; i < N; i++) {
    if (i != 3) {
      destroy_ok(dev[i]);
    }
  }
  assert_int_equal(wmiev_device_destroy(NULL), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_device_create(f->registry, NULL, NULL), WMIEV_STATUS_INVALID_PARAMETER);
  fixture_done(f);
}

/* A device with no dispatch routine and no options at all is valid: it forwards. */
static void test_default_device_forwards(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  wmiev_device *bare = NULL;
  assert_int_equal(wmiev_device_create(f->registry, NULL, &bare), WMIEV_STATUS_SUCCESS);
  assert_non_null(wmiev_device_name(bare));
  assert_null(wmiev_device_lower(bare));
  assert_ptr_equal(wmiev_device_top(bare), bare);
  wmiev_io_status io = {0, 77};
  assert_int_equal(send_simple(bare, &io), WMIEV_STATUS_NOT_SUPPORTED);
  assert_int_equal(io.Status, WMIEV_STATUS_NOT_SUPPORTED);
  assert_int_equal(io.Information, 0);
  destroy_ok(bare);
  fixture_done(f);
}

/* ---- stacks ----------------------------------------------------------------- */

static void test_stack_order(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  trace t;
  trace_init(&t);
  level bottom = {.name = "bottom", .trace = &t};
  level middle = {.name = "middle", .trace = &t};
  level top = {.name = "top", .trace = &t};
  wmiev_device *b = make_device(f, &bottom, NULL);
  wmiev_device *m = make_device(f, &middle, b);
  /* Attaching "to b" lands on top of the stack, above m. */
  wmiev_device *tp = make_device(f, &top, b);
  assert_ptr_equal(wmiev_device_lower(m), b);
  assert_ptr_equal(wmiev_device_lower(tp), m);
  assert_null(wmiev_device_lower(b));
  assert_ptr_equal(wmiev_device_top(b), tp);
  assert_ptr_equal(wmiev_device_top(m), tp);
  assert_ptr_equal(wmiev_device_top(tp), tp);

  /* Sent to the bottom device: it starts at the top and walks down. */
  uint8_t buffer[12];
  memset(buffer, 0x11, sizeof buffer);
  wmiev_io_status io;
  static const GUID path = {0x1, 0x2, 0x3, {4, 5, 6, 7, 8, 9, 10, 11}};
  wmiev_status st = wmiev_device_send_wmi_irp(b, IRP_MN_QUERY_SINGLE_INSTANCE, (void *)&path,
                                              buffer, sizeof buffer, &io);
  assert_int_equal(st, WMIEV_STATUS_NOT_SUPPORTED);
  assert_int_equal(io.Status, WMIEV_STATUS_NOT_SUPPORTED);
  assert_int_equal(io.Information, 0);
  assert_int_equal(t.count, 3);
  assert_string_equal(t.who[0], "top");
  assert_string_equal(t.who[1], "middle");
  assert_string_equal(t.who[2], "bottom");
  /* Every level sees the same stack location: the target's id, path and size. */
  level *levels[] = {&bottom, &middle, &top};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(levels[i]->calls, 1);
    assert_int_equal(levels[i]->minor, IRP_MN_QUERY_SINGLE_INSTANCE);
    assert_int_equal(levels[i]->provider_id, wmiev_device_irp_provider_id(b));
    assert_ptr_equal(levels[i]->data_path, &path);
    assert_int_equal(levels[i]->buffer_size, sizeof buffer);
  }
  /* Nobody wrote: the caller's bytes come back as they were. */
  for (size_t i = 0; i < sizeof buffer; i++) {
    assert_int_equal(buffer[i], 0x11);
  }

  /* Sent to the middle device: still from the top. */
  t.count = 0;
  assert_int_equal(send_simple(m, &io), WMIEV_STATUS_NOT_SUPPORTED);
  assert_int_equal(t.count, 3);
  assert_string_equal(t.who[0], "top");
  assert_int_equal(top.provider_id, wmiev_device_irp_provider_id(m));

  /* Destroying from below is refused while something sits above. */
  assert_int_equal(wmiev_device_destroy(b), WMIEV_STATUS_INVALID_DEVICE_REQUEST);
  assert_int_equal(wmiev_device_destroy(m), WMIEV_STATUS_INVALID_DEVICE_REQUEST);
  assert_ptr_equal(wmiev_registry_device_by_provider_id(f->registry, wmiev_device_provider_id(b)),
                   b);
  destroy_ok(tp);
  assert_ptr_equal(wmiev_device_top(b), m);
  assert_int_equal(wmiev_device_destroy(b), WMIEV_STATUS_INVALID_DEVICE_REQUEST);
  destroy_ok(m);
  assert_ptr_equal(wmiev_device_top(b), b);
  /* A new device attaches where the old top was. */
  level again = {.name = "again", .trace = &t};
  wmiev_device *a = make_device(f, &again, b);
  assert_ptr_equal(wmiev_device_lower(a), b);
  destroy_ok(a);
  destroy_ok(b);
  trace_done(&t);
  fixture_done(f);
}

/* The bottom completes what nobody handled with the status it carries. */
static void test_bottom_keeps_changed_status(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  trace t;
  trace_init(&t);
  level bottom = {.name = "bottom", .trace = &t};
  level filter = {.name = "filter", .trace = &t, .act = act_set_status_and_forward, .bytes = 5};
  wmiev_device *b = make_device(f, &bottom, NULL);
  wmiev_device *fl = make_device(f, &filter, b);
  wmiev_io_status io;
  assert_int_equal(send_simple(b, &io), WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(io.Status, WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(io.Information, 5);
  assert_int_equal(t.count, 2);
  assert_string_equal(t.who[0], "filter");
  assert_string_equal(t.who[1], "bottom");
  assert_int_equal(violation_total(f), 0);
  destroy_ok(fl);
  destroy_ok(b);
  trace_done(&t);
  fixture_done(f);
}

/* A middle level completes: the levels below never see the IRP. */
static void test_complete_copies_back(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  trace t;
  trace_init(&t);
  level bottom = {.name = "bottom", .trace = &t};
  level fdo = {.name = "fdo", .trace = &t, .act = act_complete, .bytes = 10};
  level filter = {.name = "filter", .trace = &t};
  wmiev_device *b = make_device(f, &bottom, NULL);
  wmiev_device *d = make_device(f, &fdo, b);
  wmiev_device *fl = make_device(f, &filter, d);
  uint8_t buffer[16];
  memset(buffer, 0xEE, sizeof buffer);
  wmiev_io_status io = {0};
  assert_int_equal(
      wmiev_device_send_wmi_irp(d, IRP_MN_QUERY_ALL_DATA, NULL, buffer, sizeof buffer, &io),
      WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 10);
  for (size_t i = 0; i < sizeof buffer; i++) {
    assert_int_equal(buffer[i], i < 10 ? 0xC0 + i : 0xEE);
  }
  assert_int_equal(t.count, 2);
  assert_string_equal(t.who[0], "filter");
  assert_string_equal(t.who[1], "fdo");
  assert_int_equal(bottom.calls, 0);

  /* io_status is optional; a zero-size request carries no buffer. */
  fdo.bytes = 0;
  assert_int_equal(wmiev_device_send_wmi_irp(d, IRP_MN_ENABLE_EVENTS, NULL, NULL, 0, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(fdo.buffer_size, 0);

  wmiev_registry_stats stats;
  wmiev_registry_get_stats(f->registry, &stats);
  assert_int_equal(stats.irps_sent, 2);
  assert_int_equal(stats.irps_timed_out, 0);
  assert_int_equal(stats.violations, 0);
  destroy_ok(fl);
  destroy_ok(d);
  destroy_ok(b);
  trace_done(&t);
  fixture_done(f);
}

/* ---- pending ---------------------------------------------------------------- */

static void test_pend_complete_from_thread(void **state) {
  (void)state;
  fixture *f = fixture_new(5000);
  level lv = {.name = "pender", .act = act_pend_thread, .bytes = 6};
  wmiev_device *d = make_device(f, &lv, NULL);
  uint8_t buffer[8];
  memset(buffer, 0, sizeof buffer);
  wmiev_io_status io;
  uint64_t start = now_ms();
  assert_int_equal(
      wmiev_device_send_wmi_irp(d, IRP_MN_QUERY_ALL_DATA, NULL, buffer, sizeof buffer, &io),
      WMIEV_STATUS_SUCCESS);
  /* The sender waited for the other thread (which sleeps 20 ms first). */
  assert_true(now_ms() - start >= 15);
  assert_int_equal(io.Information, 6);
  for (size_t i = 0; i < sizeof buffer; i++) {
    assert_int_equal(buffer[i], i < 6 ? 0x5C : 0);
  }
  assert_int_equal(pthread_join(lv.thread, NULL), 0);
  assert_int_equal(violation_total(f), 0);
  destroy_ok(d);
  fixture_done(f);
}

static void test_pend_completed_before_return(void **state) {
  (void)state;
  fixture *f = fixture_new(5000);
  level lv = {.name = "quick", .act = act_pend_complete_first, .bytes = 3};
  wmiev_device *d = make_device(f, &lv, NULL);
  wmiev_io_status io;
  assert_int_equal(send_simple(d, &io), WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 3);
  assert_int_equal(violation_total(f), 0);
  destroy_ok(d);
  fixture_done(f);
}

/* Pended and never completed in time: IO_TIMEOUT; the late completion is harmless. */
static void test_pend_timeout_then_late_completion(void **state) {
  (void)state;
  fixture *f = fixture_new(50);
  level lv = {.name = "sleeper", .act = act_pend_and_hold};
  wmiev_device *d = make_device(f, &lv, NULL);
  uint64_t live_before = debug_alloc_live_count(f->alloc);
  uint8_t buffer[8];
  memset(buffer, 0x33, sizeof buffer);
  wmiev_io_status io;
  uint64_t start = now_ms();
  assert_int_equal(
      wmiev_device_send_wmi_irp(d, IRP_MN_QUERY_ALL_DATA, NULL, buffer, sizeof buffer, &io),
      WMIEV_STATUS_IO_TIMEOUT);
  assert_true(now_ms() - start >= 45);
  assert_int_equal(io.Status, WMIEV_STATUS_IO_TIMEOUT);
  assert_int_equal(io.Information, 0);
  assert_int_equal(violations(f, WMIEV_VIOLATION_PENDING_TIMEOUT), 1);
  assert_int_equal(violation_total(f), 1);
  wmiev_registry_stats stats;
  wmiev_registry_get_stats(f->registry, &stats);
  assert_int_equal(stats.irps_timed_out, 1);
  assert_int_equal(stats.violations, 1);
  /* The abandoned IRP is the library's now; it is still alive. */
  assert_non_null(lv.held);
  assert_false(wmiev_irp_is_completed(lv.held));
  assert_true(debug_alloc_live_count(f->alloc) > live_before);

  /* The driver finally completes, writing into its (the library's) buffer. */
  memset(lv.held->Wmi.Buffer, 0x77, lv.held->Wmi.BufferSize);
  assert_int_equal(wmiev_irp_complete(lv.held, WMIEV_STATUS_SUCCESS, 8), WMIEV_STATUS_SUCCESS);
  assert_int_equal(debug_alloc_live_count(f->alloc), live_before);
  for (size_t i = 0; i < sizeof buffer; i++) {
    assert_int_equal(buffer[i], 0x33); /* the caller's memory is left alone */
  }
  assert_int_equal(violation_total(f), 1);
  /* The device is not stuck "busy": later IRPs go through normally. */
  lv.act = act_complete;
  lv.bytes = 1;
  assert_int_equal(send_simple(d, &io), WMIEV_STATUS_SUCCESS);
  destroy_ok(d);
  fixture_done(f);
}

static void *late_complete_thread(void *arg) {
  wmiev_irp *irp = arg;
  sleep_ms(10);
  (void)wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, 0);
  return NULL;
}

/* The device goes away between the timeout and the late completion. */
static void test_timeout_destroy_then_late_completion(void **state) {
  (void)state;
  fixture *f = fixture_new(50);
  level lv = {.name = "sleeper", .act = act_pend_and_hold};
  wmiev_device *d = make_device(f, &lv, NULL);
  wmiev_io_status io;
  assert_int_equal(send_simple(d, &io), WMIEV_STATUS_IO_TIMEOUT);
  /* Nobody waits for the abandoned IRP any more: destroy does not either
   * (if it did, it would hang here, as the completion comes only later). */
  destroy_ok(d);
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, late_complete_thread, lv.held), 0);
  assert_int_equal(pthread_join(thread, NULL), 0);
  assert_int_equal(violations(f, WMIEV_VIOLATION_PENDING_TIMEOUT), 1);
  fixture_done(f);
}

/* ---- rule breakers ---------------------------------------------------------- */

static void test_not_completed(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  level lv = {.name = "lazy", .act = act_return_without_completing};
  wmiev_device *d = make_device(f, &lv, NULL);
  wmiev_io_status io;
  assert_int_equal(send_simple(d, &io), WMIEV_STATUS_DRIVER_INTERNAL_ERROR);
  assert_int_equal(io.Status, WMIEV_STATUS_DRIVER_INTERNAL_ERROR);
  assert_int_equal(io.Information, 0);
  assert_int_equal(violations(f, WMIEV_VIOLATION_NOT_COMPLETED), 1);
  assert_int_equal(violation_total(f), 1);
  /* It did not leave the device looking busy: destroy does not wait. */
  destroy_ok(d);
  fixture_done(f);
}

static void test_completed_twice(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  level lv = {.name = "eager", .act = act_complete_twice, .bytes = 4};
  wmiev_device *d = make_device(f, &lv, NULL);
  wmiev_io_status io;
  assert_int_equal(send_simple(d, &io), WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Status, WMIEV_STATUS_SUCCESS); /* the first completion stands */
  assert_int_equal(io.Information, 4);
  assert_int_equal(lv.returned2, WMIEV_STATUS_INVALID_DEVICE_REQUEST);
  assert_int_equal(violations(f, WMIEV_VIOLATION_COMPLETED_TWICE), 1);
  assert_int_equal(violation_total(f), 1);
  destroy_ok(d);
  fixture_done(f);
}

/* IRP helpers on IRPs the library did not send, and on NULL. */
static void test_irp_helpers_edges(void **state) {
  (void)state;
  wmiev_irp irp;
  memset(&irp, 0, sizeof irp);
  assert_int_equal(wmiev_irp_complete(&irp, WMIEV_STATUS_WMI_READ_ONLY, 9),
                   WMIEV_STATUS_WMI_READ_ONLY);
  assert_int_equal(irp.IoStatus.Status, WMIEV_STATUS_WMI_READ_ONLY);
  assert_int_equal(irp.IoStatus.Information, 9);
  assert_false(wmiev_irp_is_completed(&irp)); /* untracked */
  wmiev_irp_mark_pending(&irp);
  wmiev_irp_mark_pending(NULL);
  assert_false(wmiev_irp_is_completed(NULL));
  assert_int_equal(wmiev_irp_complete(NULL, WMIEV_STATUS_SUCCESS, 0),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_irp_forward(NULL, &irp), WMIEV_STATUS_INVALID_PARAMETER);
}

static void test_send_bad_arguments(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  level lv = {.name = "d", .act = act_complete};
  wmiev_device *d = make_device(f, &lv, NULL);
  wmiev_io_status io = {0, 5};
  assert_int_equal(wmiev_device_send_wmi_irp(NULL, 0, NULL, NULL, 0, &io),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(io.Status, WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_device_send_wmi_irp(d, 0, NULL, NULL, 4, &io),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(lv.calls, 0);

  /* A size whose IRP allocation cannot be made fails cleanly, without
   * reading the caller's (small) buffer. On 32-bit hosts the IRP's size
   * would wrap around; on 64-bit the allocation is failed on purpose. */
  uint8_t small[4] = {0};
#if SIZE_MAX > UINT32_MAX
  debug_alloc_fail_nth(f->alloc, 1, false);
#endif
  assert_int_equal(wmiev_device_send_wmi_irp(d, 0, NULL, small, UINT32_MAX - 8u, &io),
                   WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  debug_alloc_fail_nth(f->alloc, 0, false);
  assert_int_equal(io.Status, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  assert_int_equal(lv.calls, 0);
  destroy_ok(d);
  fixture_done(f);
}

/* ---- destroy vs. IRPs in flight --------------------------------------------- */

typedef struct sender_arg {
  wmiev_device *device;
  wmiev_status status;
} sender_arg;

static void *sender_thread(void *arg) {
  sender_arg *s = arg;
  wmiev_io_status io;
  s->status = send_simple(s->device, &io);
  return NULL;
}

static void test_destroy_waits_for_inflight(void **state) {
  (void)state;
  fixture *f = fixture_new(5000);
  level lv = {.name = "pender", .act = act_pend_and_hold};
  wmiev_device *d = make_device(f, &lv, NULL);
  sender_arg s = {d, 0};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, sender_thread, &s), 0);
  while (__atomic_load_n(&lv.held, __ATOMIC_ACQUIRE) == NULL) {
    sleep_ms(1);
  }
  /* Complete 30 ms from now, from a third thread; destroy must wait for it
   * (and for the sender, who touches the device when it returns). */
  lv.bytes = 0;
  pthread_t completer;
  assert_int_equal(pthread_create(&completer, NULL, complete_later, &lv), 0);
  /* Ordering, not timing: destroy may return only after the completion
   * (a time bound would fail on a loaded machine). */
  destroy_ok(d);
  assert_int_equal(__atomic_load_n(&lv.completed_late, __ATOMIC_ACQUIRE), 1);
  assert_int_equal(pthread_join(completer, NULL), 0);
  assert_int_equal(pthread_join(thread, NULL), 0);
  assert_int_equal(s.status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(violation_total(f), 0);
  fixture_done(f);
}

static void test_destroy_from_own_dispatch(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  level lv = {.name = "suicidal", .act = act_destroy_self};
  wmiev_device *d = make_device(f, &lv, NULL);
  wmiev_io_status io;
  assert_int_equal(send_simple(d, &io), WMIEV_STATUS_SUCCESS);
  assert_int_equal(lv.nested_status, WMIEV_STATUS_POSSIBLE_DEADLOCK);
  assert_ptr_equal(wmiev_registry_device_by_provider_id(f->registry, wmiev_device_provider_id(d)),
                   d);
  destroy_ok(d);
  fixture_done(f);
}

/* A dispatch routine may send IRPs to other devices (nested dispatch). */
static void test_nested_send(void **state) {
  (void)state;
  fixture *f = fixture_new(0);
  level inner = {.name = "inner", .act = act_complete, .bytes = 2};
  level outer = {.name = "outer", .act = act_send_to_other};
  wmiev_device *in = make_device(f, &inner, NULL);
  outer.other = in;
  wmiev_device *out = make_device(f, &outer, NULL);
  wmiev_io_status io;
  assert_int_equal(send_simple(out, &io), WMIEV_STATUS_SUCCESS);
  assert_int_equal(outer.nested_status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(io.Information, 2);
  assert_int_equal(inner.provider_id, wmiev_device_irp_provider_id(in));
  destroy_ok(out);
  destroy_ok(in);
  fixture_done(f);
}

/* ---- fault injection --------------------------------------------------------- */

/*
 * create registry -> three devices (a two-level stack with instance ids and
 * a lone one) -> one IRP through the stack -> destroy. Any step may fail
 * with STATUS_INSUFFICIENT_RESOURCES; what exists is then torn down, and
 * nothing may leak. Returns true if the scenario ran to the end.
 */
static bool oom_scenario(debug_alloc *alloc, int *dispatch_calls) {
  wmiev_registry_options options = {0};
  options.allocator = debug_alloc_allocator(alloc);
  wmiev_registry *registry = NULL;
  wmiev_status st = wmiev_registry_create(&options, &registry);
  if (!WMIEV_SUCCESS(st)) {
    assert_int_equal(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
    assert_null(registry);
    return false;
  }
  static level fdo = {.name = "fdo", .act = act_complete, .bytes = 4};
  fdo.calls = 0;
  wmiev_device_options o[3] = {{0}, {0}, {0}};
  o[0].instance_id = "ROOT\\OOM\\0000";
  o[0].name = "pdo";
  o[1].dispatch = level_dispatch;
  o[1].payload = &fdo;
  o[1].name = "fdo";
  o[1].instance_id = "ROOT\\OOM\\0000";
  o[2].name = NULL; /* default name */
  wmiev_device *dev[3] = {NULL, NULL, NULL};
  bool ok = true;
  for (int i = 0; i < 3 && ok; i++) {
    o[1].lower = dev[0];
    st = wmiev_device_create(registry, &o[i], &dev[i]);
    if (!WMIEV_SUCCESS(st)) {
      assert_int_equal(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
      assert_null(dev[i]);
      ok = false;
    }
  }
  if (ok) {
    uint8_t buffer[8] = {0};
    wmiev_io_status io;
    st = wmiev_device_send_wmi_irp(dev[0], IRP_MN_QUERY_ALL_DATA, NULL, buffer, sizeof buffer, &io);
    if (WMIEV_SUCCESS(st)) {
      assert_int_equal(io.Information, 4);
      assert_int_equal(buffer[0], 0xC0);
      assert_int_equal(fdo.calls, 1);
    } else {
      /* Failed before any dispatch routine ran. */
      assert_int_equal(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
      assert_int_equal(io.Status, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
      assert_int_equal(fdo.calls, 0);
      ok = false;
    }
  }
  *dispatch_calls += fdo.calls;
  /* Teardown never allocates, so it succeeds even when every allocation fails. */
  for (int i = 2; i >= 0; i--) {
    if (dev[i] != NULL) {
      assert_int_equal(wmiev_device_destroy(dev[i]), WMIEV_STATUS_SUCCESS);
    }
  }
  wmiev_registry_destroy(registry);
  return ok;
}

static void oom_walk(bool sticky) {
  int calls = 0;
  uint64_t n = 1;
  for (;; n++) {
    assert_true(n < 500);
    debug_alloc *alloc = debug_alloc_create();
    debug_alloc_fail_nth(alloc, n, sticky);
    bool finished = oom_scenario(alloc, &calls);
    bool hit = debug_alloc_failure_hit(alloc);
    if (debug_alloc_live_count(alloc) != 0) {
      (void)debug_alloc_report_leaks(alloc);
    }
    assert_int_equal(debug_alloc_live_count(alloc), 0);
    assert_int_equal(debug_alloc_errors(alloc), 0);
    debug_alloc_destroy(alloc);
    /* A failure that was hit must show; a run without one must finish. */
    assert_true(hit || finished);
    if (!hit) {
      break;
    }
    assert_false(finished);
  }
  /* Registry, three devices with names and ids, maps, one IRP: many steps. */
  assert_true(n > 8);
  assert_int_equal(calls, 1); /* only the successful run reached the dispatch */
}

static void test_oom_walk(void **state) {
  (void)state;
  oom_walk(false);
}

static void test_oom_walk_sticky(void **state) {
  (void)state;
  oom_walk(true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_provider_ids),
      cmocka_unit_test(test_default_device_forwards),
      cmocka_unit_test(test_stack_order),
      cmocka_unit_test(test_bottom_keeps_changed_status),
      cmocka_unit_test(test_complete_copies_back),
      cmocka_unit_test(test_pend_complete_from_thread),
      cmocka_unit_test(test_pend_completed_before_return),
      cmocka_unit_test(test_pend_timeout_then_late_completion),
      cmocka_unit_test(test_timeout_destroy_then_late_completion),
      cmocka_unit_test(test_not_completed),
      cmocka_unit_test(test_completed_twice),
      cmocka_unit_test(test_irp_helpers_edges),
      cmocka_unit_test(test_send_bad_arguments),
      cmocka_unit_test(test_destroy_waits_for_inflight),
      cmocka_unit_test(test_destroy_from_own_dispatch),
      cmocka_unit_test(test_nested_send),
      cmocka_unit_test(test_oom_walk),
      cmocka_unit_test(test_oom_walk_sticky),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
