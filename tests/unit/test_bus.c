/*
 * The in-process bus (lib/bus) end to end, with real providers.
 *
 * Providers are portable providers (wmilib.h) registered through the real
 * REGINFO handshake, so every ENABLE/DISABLE the bus sends travels as an IRP
 * through wmilib to a function_control callback that logs it (provider tag,
 * GUID index, function, enable) in one ordered log. One device is written
 * out by hand instead: it answers QUERY_SINGLE_INSTANCE for a dynamic name,
 * which wmilib cannot express (spec §3.5), for event references by name.
 *
 * Every test runs on the debug allocator and a virtual clock, and its
 * teardown checks the accounting invariant of bus.h (every fired event ends
 * in exactly one counter, or is still queued) for the bus and for every GUID,
 * that the warning hook saw exactly what the statistics count, and that no
 * allocation is left and no allocator error happened. That fixture is shared
 * with test_source.c: tests/support/bus_fixture.h.
 */
#define _XOPEN_SOURCE 700 /* pthread barriers, nanosleep, clock_gettime */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus_internal.h" /* the queue, for the dispatch that waits for a commit */
#include "bus_fixture.h"
#include "wnode_params.h"

/* ---- bytes, GUIDs ---------------------------------------------------------------------------- */

#define U32(v)                                                                                     \
  (uint8_t)((v)&0xffu), (uint8_t)(((v) >> 8) & 0xffu), (uint8_t)(((v) >> 16) & 0xffu),             \
      (uint8_t)(((v) >> 24) & 0xffu)
#define I64(v) U32((uint32_t)((uint64_t)(v)&0xffffffffu)), U32((uint32_t)((uint64_t)(v) >> 32))

/* The wire bytes of guid_ev and guid_pdo (bus_fixture.c). */
#define GUID_EV_BYTES                                                                              \
  0x0d, 0x0c, 0x0b, 0x0a, 0x22, 0x11, 0x44, 0x33, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc
#define GUID_PDO_BYTES                                                                             \
  0x5a, 0x5a, 0x5a, 0x5a, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66

/* ---- function-control log -------------------------------------------------------------------- */

static size_t fc_count(fixture *f) {
  pthread_mutex_lock(&f->mu);
  size_t n = f->nfc;
  pthread_mutex_unlock(&f->mu);
  assert_true(n <= MAX_FC);
  return n;
}

/* The log from `from` on is exactly `want`. */
static void expect_fc(fixture *f, size_t from, const fc_rec *want, size_t n) {
  assert_int_equal(fc_count(f), from + n);
  for (size_t i = 0; i < n; i++) {
    const fc_rec *g = &f->fc[from + i];
    if (g->tag != want[i].tag || g->guid_index != want[i].guid_index || g->fn != want[i].fn ||
        g->enable != want[i].enable) {
      fail_msg("function control #%zu: got %c/%u/%d/%d, want %c/%u/%d/%d", from + i, g->tag,
               g->guid_index, (int)g->fn, (int)g->enable, want[i].tag, want[i].guid_index,
               (int)want[i].fn, (int)want[i].enable);
    }
  }
}

#define EXPECT_FC(f, from, ...)                                                                    \
  expect_fc((f), (from), (const fc_rec[]){__VA_ARGS__},                                            \
            sizeof((const fc_rec[]){__VA_ARGS__}) / sizeof(fc_rec))
#define EXPECT_NO_FC(f, from) assert_int_equal(fc_count(f), (from))
#define ENABLE_EV(tag, index)                                                                      \
  { (tag), (index), WMIEV_EVENT_CONTROL, true }
#define DISABLE_EV(tag, index)                                                                     \
  { (tag), (index), WMIEV_EVENT_CONTROL, false }
#define ENABLE_COLL(tag, index)                                                                    \
  { (tag), (index), WMIEV_DATA_BLOCK_CONTROL, true }
#define DISABLE_COLL(tag, index)                                                                   \
  { (tag), (index), WMIEV_DATA_BLOCK_CONTROL, false }

/* Counts entries equal to `want` from `from` on (for sets whose order is not promised). */
static size_t fc_matches(fixture *f, size_t from, fc_rec want) {
  size_t n = 0;
  for (size_t i = from; i < fc_count(f); i++) {
    const fc_rec *g = &f->fc[i];
    n += g->tag == want.tag && g->guid_index == want.guid_index && g->fn == want.fn &&
         g->enable == want.enable;
  }
  return n;
}

/* ---- events ---------------------------------------------------------------------------------- */

typedef enum shape { SHAPE_SINGLE, SHAPE_ITEM, SHAPE_ALL, SHAPE_REF } shape;

static wmiev_wnode_header_params hdr_for(const GUID *g, uint32_t provider_id, uint32_t extra) {
  wmiev_wnode_header_params h;
  memset(&h, 0, sizeof h);
  h.guid = *g;
  h.provider_id = provider_id;
  h.extra_flags = extra;
  return h;
}

/* Builds an event WNODE in wmiev_bus_alloc_event() memory (NULL if that
 * fails). `n` is the item id (SHAPE_ITEM), the instance count (SHAPE_ALL) or
 * the severity (SHAPE_REF). */
static uint8_t *build(fixture *f, shape k, const wmiev_wnode_header_params *h,
                      const wmiev_wnode_instance *in, uint32_t n) {
  size_t need = 0;
  wmiev_status st;
  for (int round = 0; round < 2; round++) {
    uint8_t *buf = round == 0 ? NULL : wmiev_bus_alloc_event(f->bus, need);
    size_t size = round == 0 ? 0 : need;
    if (round == 1 && buf == NULL) {
      return NULL; /* out of memory (fault injection) */
    }
    switch (k) {
    case SHAPE_SINGLE:
      st = wmiev_wnode_build_single_instance(buf, size, h, in, &need, NULL);
      break;
    case SHAPE_ITEM:
      st = wmiev_wnode_build_single_item(buf, size, h, in, n, &need, NULL);
      break;
    case SHAPE_ALL:
      st = wmiev_wnode_build_all_data(buf, size, h, in, n, WMIEV_ALL_DATA_AUTO, &need, NULL);
      break;
    default:
      st = wmiev_wnode_build_event_reference(buf, size, h, in, (uint8_t)n, &need, NULL);
      break;
    }
    if (round == 0) {
      assert_status(st, WMIEV_STATUS_BUFFER_TOO_SMALL);
    } else {
      assert_status(st, WMIEV_STATUS_SUCCESS);
      return buf;
    }
  }
  return NULL;
}

/* A static-name single-instance event of guid `g` from `p`, data pattern(seed). */
static uint8_t *single(fixture *f, const GUID *g, const tprov *p, uint32_t index, uint32_t size,
                       uint32_t seed) {
  uint8_t data[4096];
  assert_true(size <= sizeof data);
  pattern(data, size, seed);
  wmiev_wnode_header_params h = hdr_for(g, pid(p), WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance in = by_index(index, data, size);
  return build(f, SHAPE_SINGLE, &h, &in, 0);
}

static wmiev_status write_ev(fixture *f, uint8_t *w) {
  wmiev_diag d;
  memset(&d, 0, sizeof d);
  wmiev_status st = wmiev_bus_write_event(f->bus, w, &d);
  if (!WMIEV_SUCCESS(st)) {
    assert_int_equal(d.status, st);
    assert_non_null(d.field);
  }
  return st;
}

static wmiev_status fire(fixture *f, const tprov *p, const GUID *g, uint32_t index, uint32_t size,
                         uint32_t seed) {
  uint8_t data[4096];
  assert_true(size <= sizeof data);
  pattern(data, size, seed);
  return wmiev_bus_fire_event(f->bus, p->device, g, index, data, size, NULL);
}

/* ==== 1. Enable/disable reference counting ==================================================== */

static void test_enable_refcount(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
  prov_guid(a, &guid_data, 1, 0);
  uint32_t ix = prov_guid(a, &guid_ev, 4, WMIREG_FLAG_EVENT_ONLY_GUID);
  prov_up(a);
  EXPECT_NO_FC(f, 0); /* registering asks for nothing while nobody listens */

  sink *s1 = subscribe(f, NULL, &guid_ev); /* the first: one ENABLE, before subscribe returns */
  EXPECT_FC(f, 0, ENABLE_EV('A', ix));
  sink *s2 = subscribe(f, NULL, &guid_ev); /* the second: nothing */
  EXPECT_NO_FC(f, 1);
  unsubscribe(s1); /* not the last: nothing */
  EXPECT_NO_FC(f, 1);
  unsubscribe(s2); /* the last: one DISABLE */
  EXPECT_FC(f, 1, DISABLE_EV('A', ix));

  /* Everybody left; a new first subscriber enables again. */
  sink *s3 = subscribe(f, NULL, &guid_ev);
  EXPECT_FC(f, 2, ENABLE_EV('A', ix));
  assert_status(fire(f, a, &guid_ev, 0, 4, 1), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s3->n, 1);
  unsubscribe(s3);
  EXPECT_FC(f, 3, DISABLE_EV('A', ix));

  wmiev_bus_stats s = stats(f);
  assert_int_equal(s.enables_sent, 2);
  assert_int_equal(s.disables_sent, 2);
  assert_int_equal(s.collection_enables_sent, 0);
  wmiev_bus_stats g = guid_stats(f, &guid_ev);
  assert_int_equal(g.enables_sent, 2);
  assert_int_equal(g.disables_sent, 2);
  assert_int_equal(guid_stats(f, &guid_data).enables_sent, 0);
  assert_int_equal(s.warnings[WMIEV_WARN_ENABLE_FAILED], 0);
}

static void test_enable_late_registration(void **state) {
  fixture *f = *state;
  bus_start(f);
  sink *s = subscribe(f, NULL, &guid_ev); /* nobody provides it yet */
  EXPECT_NO_FC(f, 0);
  assert_int_equal(stats(f).enables_sent, 0);

  /* Each provider that registers the GUID later gets its ENABLE during its
   * REGISTER: registration is synchronous, so it is in the log on return. */
  tprov *a = toaster(f, 'A', 2);
  EXPECT_FC(f, 0, ENABLE_EV('A', 0));
  tprov *b = toaster(f, 'B', 2);
  EXPECT_FC(f, 1, ENABLE_EV('B', 0));

  assert_status(fire(f, a, &guid_ev, 1, 4, 1), WMIEV_STATUS_SUCCESS);
  assert_status(fire(f, b, &guid_ev, 0, 4, 2), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 2);
  assert_int_equal(s->ev[0].provider_id, pid(a));
  assert_int_equal(s->ev[1].provider_id, pid(b));
  assert_int_equal(stats(f).warnings[WMIEV_WARN_PROVIDER_NOT_ENABLED], 0);

  unsubscribe(s); /* one DISABLE to each (order not promised) */
  assert_int_equal(fc_count(f), 4);
  assert_int_equal(fc_matches(f, 2, (fc_rec)DISABLE_EV('A', 0)), 1);
  assert_int_equal(fc_matches(f, 2, (fc_rec)DISABLE_EV('B', 0)), 1);
  assert_int_equal(stats(f).enables_sent, 2);
  assert_int_equal(stats(f).disables_sent, 2);
}

static void test_enable_two_providers_and_failure(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  tprov *b = toaster(f, 'B', 2);
  a->enable_status = WMIEV_STATUS_UNSUCCESSFUL; /* A's driver refuses */

  sink *s = subscribe(f, NULL, &guid_ev); /* both asked, in registration order */
  EXPECT_FC(f, 0, ENABLE_EV('A', 0), ENABLE_EV('B', 0));
  assert_int_equal(warned(f, WMIEV_WARN_ENABLE_FAILED), 1);
  assert_int_equal(stats(f).warnings[WMIEV_WARN_ENABLE_FAILED], 1);
  assert_int_equal(guid_stats(f, &guid_ev).warnings[WMIEV_WARN_ENABLE_FAILED], 1);
  assert_int_equal(stats(f).enables_sent, 2); /* sent, successful or not */

  /* A fires anyway: delivered, with a warning that it was not enabled. */
  assert_status(fire(f, a, &guid_ev, 0, 4, 1), WMIEV_STATUS_SUCCESS);
  assert_status(fire(f, b, &guid_ev, 0, 4, 2), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 2);
  assert_int_equal(warned(f, WMIEV_WARN_PROVIDER_NOT_ENABLED), 1);

  unsubscribe(s); /* the provider that was not enabled gets no DISABLE */
  EXPECT_FC(f, 2, DISABLE_EV('B', 0));
  assert_int_equal(stats(f).disables_sent, 1);

  /* It may succeed next time: a new first subscriber asks both again. */
  a->enable_status = WMIEV_STATUS_SUCCESS;
  s = subscribe(f, NULL, &guid_ev);
  EXPECT_FC(f, 3, ENABLE_EV('A', 0), ENABLE_EV('B', 0));
  unsubscribe(s);
  assert_int_equal(fc_matches(f, 5, (fc_rec)DISABLE_EV('A', 0)), 1);
  assert_int_equal(fc_matches(f, 5, (fc_rec)DISABLE_EV('B', 0)), 1);
  assert_int_equal(fc_count(f), 7);
}

static void test_enable_provider_leaves(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  tprov *b = toaster(f, 'B', 2);
  sink *s = subscribe(f, NULL, &guid_ev);
  EXPECT_FC(f, 0, ENABLE_EV('A', 0), ENABLE_EV('B', 0));

  prov_destroy(a); /* deregisters while enabled: Windows sends it nothing */
  EXPECT_NO_FC(f, 2);
  unsubscribe(s); /* only B is left to disable */
  EXPECT_FC(f, 2, DISABLE_EV('B', 0));
  prov_destroy(b);

  /* Everybody gone; a subscriber, then a new provider: ENABLE again. */
  s = subscribe(f, NULL, &guid_ev);
  EXPECT_NO_FC(f, 3);
  tprov *c = toaster(f, 'C', 1);
  EXPECT_FC(f, 3, ENABLE_EV('C', 0));
  assert_status(fire(f, c, &guid_ev, 0, 4, 1), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 1);
  unsubscribe(s);
  EXPECT_FC(f, 4, DISABLE_EV('C', 0));
  assert_int_equal(stats(f).enables_sent, 3);
  assert_int_equal(stats(f).disables_sent, 2);
}

static void test_collection_refcount(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Meter");
  prov_guid(a, &guid_ev, 1, WMIREG_FLAG_EVENT_ONLY_GUID);
  uint32_t ia = prov_guid(a, &guid_data, 2, WMIREG_FLAG_EXPENSIVE);
  prov_up(a);
  tprov *b = prov_new(f, 'B', WMIREG_FLAG_INSTANCE_BASENAME, "Meter");
  prov_guid(b, &guid_data, 1, 0); /* same block, not EXPENSIVE */
  prov_up(b);

  wmiev_block_handle *h1, *h2, *h3;
  assert_status(wmiev_bus_open_block(f->bus, &guid_data, &h1), WMIEV_STATUS_SUCCESS);
  EXPECT_FC(f, 0, ENABLE_COLL('A', ia)); /* only the EXPENSIVE provider */
  assert_status(wmiev_bus_open_block(f->bus, &guid_data, &h2), WMIEV_STATUS_SUCCESS);
  EXPECT_NO_FC(f, 1);
  assert_status(wmiev_bus_close_block(h1), WMIEV_STATUS_SUCCESS);
  EXPECT_NO_FC(f, 1);
  assert_status(wmiev_bus_close_block(h2), WMIEV_STATUS_SUCCESS);
  EXPECT_FC(f, 1, DISABLE_COLL('A', ia));

  /* An EXPENSIVE provider that registers while the block is open is enabled too. */
  assert_status(wmiev_bus_open_block(f->bus, &guid_data, &h3), WMIEV_STATUS_SUCCESS);
  EXPECT_FC(f, 2, ENABLE_COLL('A', ia));
  tprov *c = prov_new(f, 'C', WMIREG_FLAG_INSTANCE_BASENAME, "Meter");
  prov_guid(c, &guid_data, 1, WMIREG_FLAG_EXPENSIVE);
  prov_up(c);
  EXPECT_FC(f, 3, ENABLE_COLL('C', 0));
  /* A block that is not EXPENSIVE: opening it sends nothing. */
  wmiev_block_handle *h4;
  assert_status(wmiev_bus_open_block(f->bus, &guid_ev, &h4), WMIEV_STATUS_SUCCESS);
  EXPECT_NO_FC(f, 4);
  assert_status(wmiev_bus_close_block(h4), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_close_block(h3), WMIEV_STATUS_SUCCESS);
  assert_int_equal(fc_count(f), 6);
  assert_int_equal(fc_matches(f, 4, (fc_rec)DISABLE_COLL('A', ia)), 1);
  assert_int_equal(fc_matches(f, 4, (fc_rec)DISABLE_COLL('C', 0)), 1);

  wmiev_bus_stats s = stats(f);
  assert_int_equal(s.collection_enables_sent, 3);
  assert_int_equal(s.collection_disables_sent, 3);
  assert_int_equal(s.enables_sent, 0);
  assert_int_equal(s.disables_sent, 0);
  assert_int_equal(guid_stats(f, &guid_data).collection_enables_sent, 3);
}

/* wmiev_provider_system_control is the Windows backend's entry point: on the
 * emulator the provider's own device dispatches, so it says "not here" and
 * the provider keeps working. */
static void test_provider_system_control_is_windows_only(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Meter");
  prov_guid(a, &guid_ev, 1, 0);
  prov_up(a);
  int dummy_irp = 0;
  assert_status(wmiev_provider_system_control(a->provider, &dummy_irp), WMIEV_STATUS_NOT_SUPPORTED);
  sink *s = subscribe(f, sink_new(f), &guid_ev);
  EXPECT_FC(f, 0, ENABLE_EV('A', 0));
  unsubscribe(s);
}

/* Every warning and rejection reason has its own name; out-of-range values
 * say so instead of reading past the tables. */
static void test_names_cover_every_value(void **state) {
  (void)state;
  for (int w = 1; w < WMIEV_WARN_COUNT_; w++) {
    const char *name = wmiev_warning_name((wmiev_warning)w);
    assert_non_null(name);
    assert_null(strstr(name, "<unknown>"));
    for (int v = 1; v < w; v++) {
      assert_string_not_equal(name, wmiev_warning_name((wmiev_warning)v));
    }
  }
  assert_string_equal(wmiev_warning_name((wmiev_warning)0), "WARN_<unknown>");
  assert_string_equal(wmiev_warning_name(WMIEV_WARN_COUNT_), "WARN_<unknown>");
  for (int r = 0; r < WMIEV_REJECT_COUNT_; r++) {
    const char *name = wmiev_reject_reason_name((wmiev_reject_reason)r);
    assert_non_null(name);
    assert_null(strstr(name, "<unknown>"));
    for (int v = 0; v < r; v++) {
      assert_string_not_equal(name, wmiev_reject_reason_name((wmiev_reject_reason)v));
    }
  }
  assert_string_equal(wmiev_reject_reason_name(WMIEV_REJECT_COUNT_), "REJECT_<unknown>");
}

/* UPDATE_GUIDS that makes an open block EXPENSIVE starts its collection; one
 * that takes the flag away stops it; closing afterwards sends nothing more. */
static void test_collection_follows_update(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Meter");
  uint32_t ia = prov_guid(a, &guid_data, 1, 0);
  prov_up(a);
  wmiev_block_handle *h;
  assert_status(wmiev_bus_open_block(f->bus, &guid_data, &h), WMIEV_STATUS_SUCCESS);
  EXPECT_NO_FC(f, 0);
  a->guids[ia].flags = WMIREG_FLAG_EXPENSIVE;
  assert_status(wmiev_registration_control(a->device, WMIREG_ACTION_UPDATE_GUIDS, NULL),
                WMIEV_STATUS_SUCCESS);
  EXPECT_FC(f, 0, ENABLE_COLL('A', ia));
  /* The same again changes nothing (identical entry: no change event). */
  assert_status(wmiev_registration_control(a->device, WMIREG_ACTION_UPDATE_GUIDS, NULL),
                WMIEV_STATUS_SUCCESS);
  EXPECT_NO_FC(f, 1);
  a->guids[ia].flags = 0;
  assert_status(wmiev_registration_control(a->device, WMIREG_ACTION_UPDATE_GUIDS, NULL),
                WMIEV_STATUS_SUCCESS);
  EXPECT_FC(f, 1, DISABLE_COLL('A', ia));
  assert_status(wmiev_bus_close_block(h), WMIEV_STATUS_SUCCESS);
  assert_int_equal(fc_count(f), 2);
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.collection_enables_sent, 1);
  assert_int_equal(st.collection_disables_sent, 1);
}

/* ==== 2. WmiFireEvent: the spec §2.8 worked layout ============================================ */

/* clang-format off */
/* Static-name event, instance 3 of guid_ev, 5 bytes "ABCDE", at T0; ProviderId patched in. */
static const uint8_t golden_fire[69] = {
    U32(69),  U32(0),       /* BufferSize = 64 + N, ProviderId */
    U32(0),   U32(0),       /* Version, Linkage */
    I64(T0),                /* TimeStamp from the virtual clock */
    GUID_EV_BYTES,
    U32(0),   U32(0x8a),    /* ClientContext; SINGLE_INSTANCE | EVENT_ITEM | STATIC_INSTANCE_NAMES */
    U32(0),   U32(3),       /* OffsetInstanceName, InstanceIndex */
    U32(64),  U32(5),       /* DataBlockOffset, SizeDataBlock */
    'A', 'B', 'C', 'D', 'E',
};

/* The same for instance 1 of the PDO-named block, 2 bytes, at T0 + 10. */
static const uint8_t golden_fire_pdo[66] = {
    U32(66),  U32(0), U32(0), U32(0), I64(T0 + 10), GUID_PDO_BYTES,
    U32(0),   U32(0x1008a), /* ... | PDO_INSTANCE_NAMES */
    U32(0),   U32(1), U32(64), U32(2), 'h', 'i',
};
/* clang-format on */

static void check_golden(const got *g, const uint8_t *golden, size_t size, uint32_t provider_id) {
  uint8_t want[128];
  assert_true(size <= sizeof want);
  memcpy(want, golden, size);
  put32(want, 4, provider_id);
  assert_int_equal(g->wnode_size, size);
  assert_memory_equal(g->wnode, want, size);
}

static void fire_golden(fixture *f, bool pumped) {
  bus_start_mode(f, pumped ? WMIEV_DELIVERY_PUMPED : WMIEV_DELIVERY_SYNC);
  tprov *a = toaster(f, 'A', 4);
  tprov *p = prov_new(f, 'P', WMIREG_FLAG_INSTANCE_PDO, NULL);
  prov_guid(p, &guid_pdo, 2, 0);
  prov_up(p);
  sink *s = subscribe(f, NULL, &guid_ev);
  sink *sp = subscribe(f, NULL, &guid_pdo);

  assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 3, "ABCDE", 5, NULL),
                WMIEV_STATUS_SUCCESS);
  atomic_store(&f->now, T0 + 10);
  assert_status(wmiev_bus_fire_event(f->bus, p->device, &guid_pdo, 1, "hi", 2, NULL),
                WMIEV_STATUS_SUCCESS);
  if (pumped) {
    /* The time is the firing time, not the delivery time. */
    assert_int_equal(s->n + sp->n, 0);
    atomic_store(&f->now, T0 + 99);
    assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 2);
  }
  assert_int_equal(s->n, 1);
  assert_int_equal(sp->n, 1);

  const got *g = &s->ev[0];
  check_golden(g, golden_fire, sizeof golden_fire, pid(a));
  assert_guid_equal(&g->guid, &guid_ev);
  assert_int_equal(g->provider_id, pid(a));
  assert_true(g->timestamp == T0);
  assert_int_equal(g->instance_index, 3);
  assert_false(g->has_name);
  assert_int_equal(g->data_size, 5);
  assert_int_equal(g->data_at, 64);
  assert_memory_equal(got_data(g), "ABCDE", 5);
  assert_false(g->from_reference);
  assert_int_equal(g->lost_before, 0);
  assert_int_equal(g->kind, WMIEV_WNODE_SINGLE_INSTANCE);
  assert_string_equal(g->name, "Toaster3");

  g = &sp->ev[0];
  check_golden(g, golden_fire_pdo, sizeof golden_fire_pdo, pid(p));
  assert_true(g->timestamp == T0 + 10);
  assert_string_equal(g->name, "ROOT\\TOASTER\\0000_1");

  /* Instance 0 of the PDO block, for the name the spec shows. */
  assert_status(wmiev_bus_fire_event(f->bus, p->device, &guid_pdo, 0, NULL, 0, NULL),
                WMIEV_STATUS_SUCCESS);
  if (pumped) {
    assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
  }
  assert_int_equal(sp->n, 2);
  assert_string_equal(sp->ev[1].name, "ROOT\\TOASTER\\0000_0");
  assert_int_equal(sp->ev[1].data_size, 0);
  assert_int_equal(sp->ev[1].wnode_size, 64);
  assert_int_equal(stats(f).delivered, 3);
  assert_int_equal(stats(f).callbacks, 3);
}

static void test_fire_event_golden_sync(void **state) { fire_golden(*state, false); }
static void test_fire_event_golden_pumped(void **state) { fire_golden(*state, true); }

/* ==== 3. IoWMIWriteEvent with driver-built WNODEs ============================================= */

/* Writes `w` (a copy kept first) and checks that what arrived is those bytes,
 * apart from the TimeStamp the bus stamps (unless USE_TIMESTAMP). */
static const got *write_and_compare(fixture *f, sink *s, uint8_t *w, int64_t want_time) {
  uint32_t size = get32(w, 0);
  uint8_t copy[4096];
  assert_true(size <= sizeof copy);
  memcpy(copy, w, size);
  memcpy(copy + 16, &want_time, sizeof want_time);
  size_t before = s->n;
  assert_status(write_ev(f, w), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, before + 1);
  const got *g = &s->ev[before];
  assert_int_equal(g->wnode_size, size);
  assert_memory_equal(g->wnode, copy, size);
  assert_true(g->timestamp == want_time);
  return g;
}

static void test_write_event_shapes(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 4);
  tprov *d = prov_new(f, 'D', 0, NULL); /* dynamic names */
  prov_guid(d, &guid_dyn, 0, WMIREG_FLAG_EVENT_ONLY_GUID);
  prov_up(d);
  sink *s = subscribe(f, NULL, &guid_ev);
  sink *sd = subscribe(f, NULL, &guid_dyn);
  atomic_store(&f->now, T0 + 1234);

  /* Single instance, static name: the driver's TimeStamp is overwritten. */
  wmiev_wnode_header_params h = hdr_for(&guid_ev, pid(a), WNODE_FLAG_EVENT_ITEM);
  h.timestamp = 42;
  wmiev_wnode_instance in = by_index(1, "hello", 5);
  const got *g = write_and_compare(f, s, build(f, SHAPE_SINGLE, &h, &in, 0), T0 + 1234);
  assert_int_equal(g->kind, WMIEV_WNODE_SINGLE_INSTANCE);
  assert_false(g->has_name);
  assert_int_equal(g->instance_index, 1);
  assert_int_equal(g->provider_id, pid(a));
  assert_guid_equal(&g->guid, &guid_ev);
  assert_int_equal(g->data_size, 5);
  assert_memory_equal(got_data(g), "hello", 5);
  assert_string_equal(g->name, "Toaster1");

  /* USE_TIMESTAMP: the driver's time stays. */
  h.extra_flags |= WNODE_FLAG_USE_TIMESTAMP;
  h.timestamp = INT64_C(0x0123456789abcdef);
  in = by_index(2, "t", 1);
  g = write_and_compare(f, s, build(f, SHAPE_SINGLE, &h, &in, 0), h.timestamp);
  assert_int_equal(g->instance_index, 2);

  /* Single instance, dynamic name (a trailing NUL is not part of the name). */
  uint16_t name[16];
  size_t units = utf16("Widget#1", name, 16);
  name[units] = 0;
  h = hdr_for(&guid_dyn, pid(d), WNODE_FLAG_EVENT_ITEM);
  in = by_name(name, units + 1, "dyn!", 4);
  g = write_and_compare(f, sd, build(f, SHAPE_SINGLE, &h, &in, 0), T0 + 1234);
  assert_true(g->has_name);
  assert_int_equal(g->name_units, units);
  assert_memory_equal(g->name16, name, units * 2);
  assert_string_equal(g->name, "Widget#1");
  assert_int_equal(g->instance_index, 0);
  assert_int_equal(g->data_size, 4);
  assert_memory_equal(got_data(g), "dyn!", 4);
  assert_int_equal(g->data_at, 88); /* ALIGN8(66 + 18) */

  /* Single item. */
  h = hdr_for(&guid_ev, pid(a), WNODE_FLAG_EVENT_ITEM);
  in = by_index(3, "xy", 2);
  g = write_and_compare(f, s, build(f, SHAPE_ITEM, &h, &in, 5), T0 + 1234);
  assert_int_equal(g->kind, WMIEV_WNODE_SINGLE_ITEM);
  assert_int_equal(g->item_id, 5);
  assert_int_equal(g->instance_index, 3);
  assert_int_equal(g->data_size, 2);
  assert_memory_equal(got_data(g), "xy", 2);
  assert_string_equal(g->name, "Toaster3");

  /* All data, two static instances of different sizes. */
  wmiev_wnode_instance two[2] = {by_index(0, "abc", 3), by_index(1, "defgh", 5)};
  g = write_and_compare(f, s, build(f, SHAPE_ALL, &h, two, 2), T0 + 1234);
  assert_int_equal(g->kind, WMIEV_WNODE_ALL_DATA);
  assert_false(g->has_name);
  assert_string_equal(g->name, ""); /* many instances: no one name */
  wmiev_wnode_view v;
  assert_status(wmiev_wnode_validate(g->wnode, g->wnode_size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(v.instance_count, 2);
  wmiev_wnode_instance_view iv;
  assert_status(wmiev_wnode_view_instance(&v, 1, &iv), WMIEV_STATUS_SUCCESS);
  assert_memory_equal(iv.data, "defgh", 5);
  assert_int_equal(g->data_at, v.data_block_offset);

  assert_int_equal(stats(f).delivered, 5);
  assert_int_equal(stats(f).fired, 5);
}

/*
 * Found by tests/fuzz/fuzz_fire (tests/fuzz/regressions/fire/all_data_*): an
 * ALL_DATA event's data is taken from DataBlockOffset, which the validator
 * checks only with FIXED_INSTANCE_SIZE. Whatever the driver put there, the
 * data must lie inside the WNODE after the fixed part and be NULL exactly
 * when data_size is 0 (record() asserts the contract of bus.h).
 */
static void test_all_data_event_data_span(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 4);
  sink *s = subscribe(f, NULL, &guid_ev);
  static const struct {
    uint32_t data_block_offset, instance_count, flags, data_at, data_size;
  } cases[] = {
      {0x1000, 1, 0, 0, 0}, /* array form: DataBlockOffset past the end */
      {0, 1, 0, 0, 0},      /* array form: DataBlockOffset into the header */
      {72, 1, 0, 72, 4},    /* array form, the first instance: the data */
      {64, 0, WNODE_FLAG_FIXED_INSTANCE_SIZE, 0, 0}, /* no instances, 12 bytes after them */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t *w = wmiev_bus_alloc_event(f->bus, 76);
    assert_non_null(w);
    put32(w, 0, 76);
    put32(w, 4, pid(a));
    memcpy(w + 24, &guid_ev, sizeof guid_ev);
    put32(w, 44,
          WNODE_FLAG_ALL_DATA | WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES |
              cases[i].flags);
    put32(w, 48, cases[i].data_block_offset);
    put32(w, 52, cases[i].instance_count);
    if (cases[i].instance_count != 0) {
      put32(w, 60, 72); /* OffsetInstanceDataAndLength[0] */
      put32(w, 64, 4);
      memcpy(w + 72, "data", 4);
    }
    assert_status(write_ev(f, w), WMIEV_STATUS_SUCCESS);
    assert_int_equal(s->n, i + 1);
    const got *g = &s->ev[i];
    assert_int_equal(g->data_size, cases[i].data_size);
    if (g->data_size != 0) {
      assert_int_equal(g->data_at, cases[i].data_at);
    }
  }
}

/* ==== 4. Rejections =========================================================================== */

/* Writes `w`, expects the rejection, and frees `w` (the caller still owns it;
 * the debug allocator would catch a second free). */
static void expect_reject(fixture *f, uint8_t *w, wmiev_status want, wmiev_reject_reason why,
                          const char *field) {
  wmiev_bus_stats before = stats(f);
  uint64_t live = debug_alloc_live_count(f->d);
  wmiev_diag d;
  memset(&d, 0, sizeof d);
  assert_status(wmiev_bus_write_event(f->bus, w, &d), want);
  assert_int_equal(d.status, want);
  if (field != NULL) {
    assert_string_equal(d.field, field);
  }
  assert_true(d.message[0] != '\0');
  wmiev_bus_stats after = stats(f);
  assert_int_equal(after.fired, before.fired + 1);
  assert_int_equal(after.rejected, before.rejected + 1);
  assert_int_equal(after.rejected_by[why], before.rejected_by[why] + 1);
  assert_int_equal(after.delivered, before.delivered);
  assert_int_equal(debug_alloc_live_count(f->d), live); /* not freed by the bus */
  wmiev_bus_free_event(f->bus, w);
  assert_int_equal(debug_alloc_live_count(f->d), live - 1);
}

static void expect_fire_reject(fixture *f, const tprov *p, const GUID *g, uint32_t index,
                               uint32_t size, wmiev_status want, wmiev_reject_reason why) {
  wmiev_bus_stats before = stats(f);
  uint8_t data[2048] = {0};
  wmiev_diag d;
  memset(&d, 0, sizeof d);
  assert_status(wmiev_bus_fire_event(f->bus, p->device, g, index, data, size, &d), want);
  assert_int_equal(d.status, want);
  assert_int_equal(stats(f).rejected_by[why], before.rejected_by[why] + 1);
}

static void test_reject_reasons(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 4);
  tprov *b = prov_new(f, 'B', WMIREG_FLAG_INSTANCE_BASENAME, "Other");
  prov_guid(b, &guid_other, 1, 0);
  prov_up(b);
  sink *s = subscribe(f, NULL, &guid_ev);
  subscribe(f, NULL, &guid_other);

  /* Too large: BufferSize 1025 > the default 1024; 1024 itself goes through. */
  expect_reject(f, single(f, &guid_ev, a, 0, 961, 1), WMIEV_STATUS_BUFFER_OVERFLOW,
                WMIEV_REJECT_TOO_LARGE, "WnodeHeader.BufferSize");
  assert_status(write_ev(f, single(f, &guid_ev, a, 0, 960, 1)), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 1);
  assert_int_equal(s->ev[0].wnode_size, 1024);
  assert_true(is_pattern(got_data(&s->ev[0]), 960, 1));
  expect_fire_reject(f, a, &guid_ev, 0, 961, WMIEV_STATUS_BUFFER_OVERFLOW, WMIEV_REJECT_TOO_LARGE);

  /* Malformed: whatever the validator says, with its field. */
  uint8_t *w = single(f, &guid_ev, a, 0, 8, 1);
  put32(w, 0, 60); /* BufferSize below the fixed part of a WNODE_SINGLE_INSTANCE */
  wmiev_diag vd;
  wmiev_wnode_view v;
  wmiev_status vs = wmiev_wnode_validate(w, 72, WMIEV_VALIDATE_REQUIRE_EVENT, &v, &vd);
  assert_status(vs, WMIEV_STATUS_INVALID_BUFFER_SIZE);
  expect_reject(f, w, vs, WMIEV_REJECT_MALFORMED, vd.field);
  w = single(f, &guid_ev, a, 0, 8, 1);
  put32(w, 44, WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_STATIC_INSTANCE_NAMES); /* not an event */
  vs = wmiev_wnode_validate(w, 72, WMIEV_VALIDATE_REQUIRE_EVENT, &v, &vd);
  assert_status(vs, WMIEV_STATUS_INVALID_PARAMETER);
  expect_reject(f, w, vs, WMIEV_REJECT_MALFORMED, vd.field);
  w = single(f, &guid_ev, a, 0, 8, 1);
  put32(w, 0, 200); /* more than was allocated: never read past the allocation */
  expect_reject(f, w, WMIEV_STATUS_INVALID_BUFFER_SIZE, WMIEV_REJECT_MALFORMED, NULL);
  w = wmiev_bus_alloc_event(f->bus, 20); /* not even a header */
  assert_non_null(w);
  expect_reject(f, w, WMIEV_STATUS_BUFFER_TOO_SMALL, WMIEV_REJECT_MALFORMED, NULL);

  /* ProviderId that names no device. */
  w = single(f, &guid_ev, a, 0, 8, 1);
  put32(w, 4, 0xabcdef);
  expect_reject(f, w, WMIEV_STATUS_DEVICE_DOES_NOT_EXIST, WMIEV_REJECT_UNKNOWN_PROVIDER,
                "WnodeHeader.ProviderId");
  /* A GUID that provider never registered (B has it; A does not). */
  expect_reject(f, single(f, &guid_other, a, 0, 8, 1), WMIEV_STATUS_WMI_GUID_NOT_FOUND,
                WMIEV_REJECT_GUID_NOT_REGISTERED, "WnodeHeader.Guid");
  expect_fire_reject(f, a, &guid_other, 0, 4, WMIEV_STATUS_WMI_GUID_NOT_FOUND,
                     WMIEV_REJECT_GUID_NOT_REGISTERED);

  /* Static index beyond the instance count, in every shape. */
  expect_reject(f, single(f, &guid_ev, a, 4, 8, 1), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                WMIEV_REJECT_BAD_INSTANCE, "InstanceIndex");
  wmiev_wnode_header_params h = hdr_for(&guid_ev, pid(a), WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance in = by_index(9, "x", 1);
  expect_reject(f, build(f, SHAPE_ITEM, &h, &in, 1), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                WMIEV_REJECT_BAD_INSTANCE, NULL);
  wmiev_wnode_instance five[5];
  for (uint32_t i = 0; i < 5; i++) {
    five[i] = by_index(i, "x", 1);
  }
  expect_reject(f, build(f, SHAPE_ALL, &h, five, 5), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                WMIEV_REJECT_BAD_INSTANCE, "InstanceCount");
  h = hdr_for(&guid_ev, pid(a), 0);
  in = by_index(4, NULL, 16);
  expect_reject(f, build(f, SHAPE_REF, &h, &in, 0), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                WMIEV_REJECT_BAD_INSTANCE, NULL);
  expect_fire_reject(f, a, &guid_ev, 4, 4, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                     WMIEV_REJECT_BAD_INSTANCE);

  assert_int_equal(s->n, 1);
  assert_int_equal(stats(f).rejected, 14);
  assert_int_equal(guid_stats(f, &guid_ev).rejected_by[WMIEV_REJECT_BAD_INSTANCE], 5);
  /* Names for logs. */
  assert_string_equal(wmiev_reject_reason_name(WMIEV_REJECT_STRICT), "STRICT");
  assert_string_equal(wmiev_warning_name(WMIEV_WARN_REFERENCE_FAILED), "REFERENCE_FAILED");
}

static void test_reject_max_event_size(void **state) {
  fixture *f = *state;
  f->opts.max_event_size = 128;
  bus_start(f);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  expect_reject(f, single(f, &guid_ev, a, 0, 65, 1), WMIEV_STATUS_BUFFER_OVERFLOW,
                WMIEV_REJECT_TOO_LARGE, "WnodeHeader.BufferSize");
  assert_status(write_ev(f, single(f, &guid_ev, a, 0, 64, 1)), WMIEV_STATUS_SUCCESS);
  expect_fire_reject(f, a, &guid_ev, 0, 65, WMIEV_STATUS_BUFFER_OVERFLOW, WMIEV_REJECT_TOO_LARGE);
  assert_status(fire(f, a, &guid_ev, 0, 64, 2), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 2);
  assert_int_equal(s->ev[1].wnode_size, 128);
}

/* The blocks the mismatch tests fire at: PDO-named, BASENAME, dynamic. */
typedef struct mismatch_env {
  tprov *pdo, *base, *dyn;
  sink *spdo, *sbase, *sdyn;
  uint16_t name[32];
  size_t units;
} mismatch_env;

static void mismatch_setup(fixture *f, mismatch_env *m) {
  m->pdo = prov_new(f, 'P', WMIREG_FLAG_INSTANCE_PDO, NULL);
  prov_guid(m->pdo, &guid_pdo, 2, 0);
  prov_up(m->pdo);
  m->base = toaster(f, 'A', 2);
  m->dyn = prov_new(f, 'D', 0, NULL);
  prov_guid(m->dyn, &guid_dyn, 0, 0);
  prov_up(m->dyn);
  m->spdo = subscribe(f, NULL, &guid_pdo);
  m->sbase = subscribe(f, NULL, &guid_ev);
  m->sdyn = subscribe(f, NULL, &guid_dyn);
  m->units = utf16("ToasterArrival", m->name, 32);
}

/* The toaster case: a dynamic-name arrival event for the PDO-named block. */
static uint8_t *dynamic_for_pdo(fixture *f, mismatch_env *m) {
  wmiev_wnode_header_params h = hdr_for(&guid_pdo, pid(m->pdo), WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance in = by_name(m->name, m->units, "on", 2);
  return build(f, SHAPE_SINGLE, &h, &in, 0);
}

static uint8_t *static_for_dynamic(fixture *f, mismatch_env *m) {
  return single(f, &guid_dyn, m->dyn, 0, 4, 1);
}

/* A static event for the PDO block without PDO_INSTANCE_NAMES. */
static uint8_t *pdo_flag_missing(fixture *f, mismatch_env *m) {
  return single(f, &guid_pdo, m->pdo, 0, 4, 1);
}

/* PDO_INSTANCE_NAMES on a BASENAME block. */
static uint8_t *pdo_flag_extra(fixture *f, mismatch_env *m) {
  wmiev_wnode_header_params h =
      hdr_for(&guid_ev, pid(m->base), WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_PDO_INSTANCE_NAMES);
  wmiev_wnode_instance in = by_index(0, "p", 1);
  return build(f, SHAPE_SINGLE, &h, &in, 0);
}

/* An event reference whose WnodeHeader.Guid is not its TargetGuid. */
static uint8_t *target_mismatch(fixture *f, mismatch_env *m) {
  wmiev_wnode_header_params h = hdr_for(&guid_ev, pid(m->base), 0);
  wmiev_wnode_instance in = by_index(1, NULL, 8);
  uint8_t *w = build(f, SHAPE_REF, &h, &in, 0);
  memcpy(w + 24, &guid_ev2, sizeof(GUID));
  return w;
}

static void test_strict_mismatches(void **state) {
  fixture *f = *state;
  f->opts.strict = true;
  bus_start(f);
  mismatch_env m;
  mismatch_setup(f, &m);
  expect_reject(f, dynamic_for_pdo(f, &m), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND, WMIEV_REJECT_STRICT,
                NULL);
  expect_reject(f, static_for_dynamic(f, &m), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                WMIEV_REJECT_STRICT, NULL);
  expect_reject(f, pdo_flag_missing(f, &m), WMIEV_STATUS_INVALID_PARAMETER, WMIEV_REJECT_STRICT,
                NULL);
  expect_reject(f, pdo_flag_extra(f, &m), WMIEV_STATUS_INVALID_PARAMETER, WMIEV_REJECT_STRICT,
                NULL);
  expect_reject(f, target_mismatch(f, &m), WMIEV_STATUS_INVALID_PARAMETER, WMIEV_REJECT_STRICT,
                NULL);
  expect_fire_reject(f, m.dyn, &guid_dyn, 0, 4, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                     WMIEV_REJECT_STRICT);
  /* What matches its registration still goes through in strict mode. */
  assert_status(fire(f, m.pdo, &guid_pdo, 1, 4, 1), WMIEV_STATUS_SUCCESS);
  assert_int_equal(m.spdo->n, 1);
  assert_int_equal(m.sbase->n + m.sdyn->n, 0);
  wmiev_bus_stats s = stats(f);
  assert_int_equal(s.rejected_by[WMIEV_REJECT_STRICT], 6);
  for (int w = 1; w < WMIEV_WARN_COUNT_; w++) {
    assert_int_equal(s.warnings[w], 0); /* rejected, not warned */
  }
}

/* Non-strict: each mismatch is delivered, with its warning. */
static void expect_lenient(fixture *f, uint8_t *w, sink *s, wmiev_warning warning) {
  size_t n = s->n;
  uint64_t before = warned(f, warning);
  assert_status(write_ev(f, w), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, n + 1);
  assert_int_equal(warned(f, warning), before + 1);
}

static void test_lenient_mismatches(void **state) {
  fixture *f = *state;
  bus_start(f);
  mismatch_env m;
  mismatch_setup(f, &m);
  expect_lenient(f, dynamic_for_pdo(f, &m), m.spdo, WMIEV_WARN_DYNAMIC_FOR_STATIC);
  const got *g = &m.spdo->ev[0];
  assert_true(g->has_name);
  assert_string_equal(g->name, "ToasterArrival");
  expect_lenient(f, static_for_dynamic(f, &m), m.sdyn, WMIEV_WARN_STATIC_FOR_DYNAMIC);
  assert_string_equal(m.sdyn->ev[0].name, ""); /* no static name to show */
  expect_lenient(f, pdo_flag_missing(f, &m), m.spdo, WMIEV_WARN_PDO_FLAG_MISMATCH);
  expect_lenient(f, pdo_flag_extra(f, &m), m.sbase, WMIEV_WARN_PDO_FLAG_MISMATCH);
  /* A reference is resolved through its TargetGuid: delivered on guid_ev. */
  expect_lenient(f, target_mismatch(f, &m), m.sbase, WMIEV_WARN_TARGET_GUID_MISMATCH);
  assert_true(m.sbase->ev[1].from_reference);
  assert_guid_equal(&m.sbase->ev[1].guid, &guid_ev);
  assert_status(fire(f, m.dyn, &guid_dyn, 0, 4, 1), WMIEV_STATUS_SUCCESS);
  assert_int_equal(m.sdyn->n, 2);
  assert_int_equal(warned(f, WMIEV_WARN_STATIC_FOR_DYNAMIC), 2);
  assert_int_equal(stats(f).rejected, 0);
}

/* ==== 5. Ownership ============================================================================ */

static void test_ownership(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  uint64_t base = debug_alloc_live_count(f->d);

  /* Nobody subscribed: success, not delivered, freed by the bus, counted. */
  uint8_t *w = single(f, &guid_ev, a, 0, 8, 1);
  assert_int_equal(debug_alloc_live_count(f->d), base + 1);
  assert_status(write_ev(f, w), WMIEV_STATUS_SUCCESS);
  assert_int_equal(debug_alloc_live_count(f->d), base);
  assert_int_equal(stats(f).not_enabled, 1);
  assert_int_equal(warned(f, WMIEV_WARN_NOT_ENABLED), 1);
  assert_status(fire(f, a, &guid_ev, 1, 8, 1), WMIEV_STATUS_SUCCESS);
  assert_int_equal(stats(f).not_enabled, 2);
  assert_int_equal(warned(f, WMIEV_WARN_NOT_ENABLED), 2);

  /* Delivered: the bus frees it too. */
  sink *s = subscribe(f, NULL, &guid_ev);
  base = debug_alloc_live_count(f->d);
  w = single(f, &guid_ev, a, 1, 100, 3);
  assert_status(write_ev(f, w), WMIEV_STATUS_SUCCESS);
  assert_int_equal(debug_alloc_live_count(f->d), base);
  assert_int_equal(s->n, 1);
  assert_true(is_pattern(got_data(&s->ev[0]), 100, 3));
  assert_int_equal(guid_stats(f, &guid_ev).not_enabled, 2);
}

static void test_traced_guid(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  sink *s = subscribe(f, NULL, &guid_ev);
  uint64_t base = debug_alloc_live_count(f->d);

  /* On the caller's stack: nothing in front of it may be read, nothing freed. */
  _Alignas(8) uint8_t stack[64];
  memset(stack, 0xa5, sizeof stack);
  put32(stack, 0, 64);
  put32(stack, 4, pid(a));
  memcpy(stack + 24, &guid_ev, sizeof(GUID));
  put32(stack, 44, WNODE_FLAG_TRACED_GUID | WNODE_FLAG_USE_MOF_PTR);
  uint8_t copy[64];
  memcpy(copy, stack, sizeof copy);
  assert_status(write_ev(f, stack), WMIEV_STATUS_SUCCESS);
  assert_memory_equal(stack, copy, sizeof copy); /* not stamped either */
  assert_int_equal(debug_alloc_live_count(f->d), base);

  /* From wmiev_bus_alloc_event(): still the caller's afterwards. */
  uint8_t *w = single(f, &guid_ev, a, 0, 8, 1);
  put32(w, 44, get32(w, 44) | WNODE_FLAG_TRACED_GUID | WNODE_FLAG_LOG_WNODE);
  assert_status(write_ev(f, w), WMIEV_STATUS_SUCCESS);
  assert_int_equal(debug_alloc_live_count(f->d), base + 1);
  wmiev_bus_free_event(f->bus, w);

  assert_int_equal(s->n, 0);
  assert_int_equal(stats(f).traced, 2);
  assert_int_equal(guid_stats(f, &guid_ev).traced, 2);
}

/* ==== 6. Event references ===================================================================== */

static uint8_t *reference(fixture *f, const GUID *g, const tprov *p, uint32_t index,
                          uint32_t size) {
  wmiev_wnode_header_params h = hdr_for(g, pid(p), 0);
  wmiev_wnode_instance in = by_index(index, NULL, size);
  return build(f, SHAPE_REF, &h, &in, 0x40);
}

static void check_resolved(const got *g, const tprov *p, uint32_t index, uint32_t size) {
  assert_true(g->from_reference);
  assert_int_equal(g->kind, WMIEV_WNODE_SINGLE_INSTANCE);
  assert_true((g->flags & WNODE_FLAG_EVENT_ITEM) != 0);
  assert_true((g->flags & WNODE_FLAG_EVENT_REFERENCE) == 0);
  assert_int_equal(g->provider_id, pid(p));
  assert_int_equal(get32(g->wnode, 4), pid(p));
  assert_false(g->has_name);
  assert_int_equal(g->instance_index, index);
  assert_int_equal(g->data_size, size);
  assert_true(is_pattern(got_data(g), size, index));
}

static void test_reference_by_index(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 4);
  a->data_size = 3000; /* far over the 1024-byte event limit: what references are for */
  sink *s = subscribe(f, NULL, &guid_ev);
  uint64_t base = debug_alloc_live_count(f->d);

  atomic_store(&f->now, T0 + 500);
  assert_status(write_ev(f, reference(f, &guid_ev, a, 2, 3000)), WMIEV_STATUS_SUCCESS);
  assert_int_equal(debug_alloc_live_count(f->d), base);
  /* The bus asked the provider; its first buffer was too small and grew. */
  assert_true(f->nq >= 2 && f->nq <= MAX_Q);
  for (size_t i = 0; i < f->nq; i++) {
    assert_int_equal(f->q[i].tag, 'A');
    assert_int_equal(f->q[i].index, 2);
  }
  assert_true(f->q[0].avail < 3000);
  assert_true(f->q[f->nq - 1].avail >= 3000);
  assert_int_equal(s->n, 1);
  check_resolved(&s->ev[0], a, 2, 3000);
  assert_true(s->ev[0].timestamp == T0 + 500); /* the reference's time */
  assert_string_equal(s->ev[0].name, "Toaster2");

  /* A reference that understates the size: the bus grows its own buffer. */
  f->nq = 0;
  assert_status(write_ev(f, reference(f, &guid_ev, a, 3, 8)), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 2);
  check_resolved(&s->ev[1], a, 3, 3000);
  assert_true(f->q[f->nq - 1].avail >= 3000);

  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.delivered, 2);
  assert_int_equal(st.reference_failed, 0);
}

static void test_reference_by_name(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *h = prov_new(f, 'H', 0, NULL);
  h->by_hand = true;
  h->dyn_name = "Pump#7";
  h->data_size = 40;
  prov_guid(h, &guid_dyn, 0, 0);
  prov_up(h);
  sink *s = subscribe(f, NULL, &guid_dyn);
  EXPECT_FC(f, 0, ENABLE_EV('H', 0));

  uint16_t name[16];
  size_t units = utf16("Pump#7", name, 16);
  wmiev_wnode_header_params hp = hdr_for(&guid_dyn, pid(h), 0);
  wmiev_wnode_instance in = by_name(name, units, NULL, 40);
  assert_status(write_ev(f, build(f, SHAPE_REF, &hp, &in, 0xff)), WMIEV_STATUS_SUCCESS);
  assert_int_equal(f->nq, 1);
  assert_int_equal(f->q[0].index, UINT32_MAX); /* asked by name */
  assert_int_equal(s->n, 1);
  const got *g = &s->ev[0];
  assert_true(g->from_reference);
  assert_true(g->has_name);
  assert_int_equal(g->name_units, units);
  assert_memory_equal(g->name16, name, units * 2);
  assert_string_equal(g->name, "Pump#7");
  assert_int_equal(g->data_size, 40);
  assert_true(is_pattern(got_data(g), 40, 77));
  assert_true((g->flags & WNODE_FLAG_EVENT_ITEM) != 0);

  /* A name the provider does not have: the query fails, nothing delivered. */
  units = utf16("Pump#8", name, 16);
  in = by_name(name, units, NULL, 40);
  assert_status(write_ev(f, build(f, SHAPE_REF, &hp, &in, 0)), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 1);
  assert_int_equal(stats(f).reference_failed, 1);
  assert_int_equal(warned(f, WMIEV_WARN_REFERENCE_FAILED), 1);
}

static void test_reference_failed(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  a->query_status = WMIEV_STATUS_UNSUCCESSFUL;
  sink *s = subscribe(f, NULL, &guid_ev);
  uint64_t base = debug_alloc_live_count(f->d);
  assert_status(write_ev(f, reference(f, &guid_ev, a, 1, 8)), WMIEV_STATUS_SUCCESS);
  assert_int_equal(debug_alloc_live_count(f->d), base);
  assert_int_equal(f->nq, 1);
  assert_int_equal(s->n, 0);
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.reference_failed, 1);
  assert_int_equal(st.delivered, 0);
  assert_int_equal(st.warnings[WMIEV_WARN_REFERENCE_FAILED], 1);
  assert_int_equal(guid_stats(f, &guid_ev).reference_failed, 1);
  /* A huge TargetDataBlockSize is only a hint: no 4 GiB buffer is tried. */
  a->query_status = WMIEV_STATUS_SUCCESS;
  assert_status(write_ev(f, reference(f, &guid_ev, a, 1, UINT32_MAX)), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 1);
  check_resolved(&s->ev[0], a, 1, 8);
  assert_true(debug_alloc_peak_bytes(f->d) < 16u * 1024u * 1024u);
}

/* ==== 7. Pumped mode ========================================================================== */

static wmiev_status fire_seq(fixture *f, const tprov *p, uint32_t seq) {
  return wmiev_bus_fire_event(f->bus, p->device, &guid_ev, 0, &seq, 4, NULL);
}

static void test_pumped_order(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  tprov *b = toaster(f, 'B', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  for (uint32_t i = 0; i < 6; i++) {
    assert_status(fire_seq(f, i % 2 == 0 ? a : b, i), WMIEV_STATUS_SUCCESS);
  }
  assert_int_equal(s->n, 0); /* nothing until dispatch */
  assert_int_equal(wmiev_bus_pending(f->bus), 6);
  assert_int_equal(stats(f).queued_now, 6);
  assert_int_equal(stats(f).queue_peak, 6);
  check_accounting(f);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 2), 2);
  assert_int_equal(s->n, 2);
  assert_int_equal(wmiev_bus_pending(f->bus), 4);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 4);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 0);
  assert_int_equal(s->n, 6);
  for (uint32_t i = 0; i < 6; i++) {
    assert_int_equal(seq_of(&s->ev[i]), i);
    assert_int_equal(s->ev[i].provider_id, pid(i % 2 == 0 ? a : b));
  }
  uint64_t delivered = 0, lost = 7;
  wmiev_subscription_counts(s->sub, &delivered, &lost);
  assert_int_equal(delivered, 6);
  assert_int_equal(lost, 0);
}

/* wmiev_bus_dispatch() hands records over in batches of at most 256 (two
 * lock acquisitions each): budgets across batch boundaries, order kept. */
static void test_pumped_batches(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  for (uint32_t i = 0; i < 700; i++) {
    assert_status(fire_seq(f, a, i), WMIEV_STATUS_SUCCESS);
  }
  assert_int_equal(wmiev_bus_dispatch(f->bus, 300), 300); /* 256 + 44 */
  assert_int_equal(s->n, 300);
  assert_int_equal(wmiev_bus_pending(f->bus), 400);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 257), 257);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 143);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 0);
  assert_int_equal(s->n, 700);
  for (uint32_t i = 0; i < 700; i++) {
    assert_int_equal(seq_of(&s->ev[i]), i);
  }
  assert_int_equal(stats(f).delivered, 700);
  assert_int_equal(stats(f).queued_now, 0);
}

/* A callback that makes the bus grow its GUID table (here: by opening 40
 * new blocks) while the rest of its batch waits: the dispatcher goes on with
 * the table it read before, which must still be there (the old one used to
 * be freed on growth; ASan would see the dispatcher read freed memory). */
typedef struct grower {
  wmiev_block_handle *handles[40];
} grower;

static void hook_grow(sink *s, const wmiev_event *e) {
  (void)e;
  grower *g = s->ctx;
  if (s->state++ == 0) {
    for (uint32_t i = 0; i < 40; i++) {
      GUID guid = guid_ev;
      guid.Data1 = 0x7000 + i;
      assert_status(wmiev_bus_open_block(s->f->bus, &guid, &g->handles[i]), WMIEV_STATUS_SUCCESS);
    }
  }
}

static void test_pumped_guids_grow_during_dispatch(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  grower g;
  memset(&g, 0, sizeof g);
  sink *s = sink_new(f);
  s->hook = hook_grow;
  s->ctx = &g;
  subscribe(f, s, &guid_ev);
  for (uint32_t i = 0; i < 5; i++) {
    assert_status(fire_seq(f, a, i), WMIEV_STATUS_SUCCESS);
  }
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 5); /* one batch */
  assert_int_equal(s->n, 5);
  for (uint32_t i = 0; i < 5; i++) {
    assert_int_equal(seq_of(&s->ev[i]), i);
  }
  for (uint32_t i = 0; i < 40; i++) {
    assert_status(wmiev_bus_close_block(g.handles[i]), WMIEV_STATUS_SUCCESS);
  }
}

/* The clock without a virtual one (decisions D18, D20). By default the tick
 * clock: the value a ticker thread stores every millisecond (a precise
 * reading), or a direct coarse read until the ticker runs. With
 * precise_clock, a precise read per event.
 * - precise: each event's time lies between precise readings taken around
 *   its fire;
 * - default: it lies between a coarse reading before, less a generous slack
 *   (a tick plus the ticker's scheduling delay on a loaded machine), and a
 *   precise reading after; and some event's time is older than the precise
 *   reading taken just before its fire, which a precise read never is (a tick
 *   clock is, unless a tick lands between the two for all 20 events).
 * Each case fails with the other clock. The fires are 2 ms apart, so that
 * both the first direct reads and the ticker's values are stamped. */
static void clock_case(fixture *f, bool precise) {
  f->opts.clock.now = NULL;
  f->opts.precise_clock = precise;
  bus_start_mode(f, WMIEV_DELIVERY_SYNC);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  uint32_t older = 0; /* events stamped before the precise reading before their fire */
  for (uint32_t i = 0; i < 20; i++) {
    int64_t coarse_before = windows_time_100ns(true);
    int64_t before = windows_time_100ns(false);
    assert_status(fire_seq(f, a, i), WMIEV_STATUS_SUCCESS);
    int64_t after = windows_time_100ns(false);
    int64_t t = s->ev[i].timestamp;
    if (precise) {
      assert_true(t >= before);
    } else {
      assert_true(t >= coarse_before - TICK_SLACK_100NS);
    }
    assert_true(t <= after);
    older += t < before;
    assert_true(wmiev_bus_now(f->bus) >= t);
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
  }
  if (!precise) {
    assert_true(older > 0);
  }
}

static void test_clock_coarse_by_default(void **state) { clock_case(*state, false); }
static void test_clock_precise(void **state) { clock_case(*state, true); }

/* Fires sequence numbers first .. first + count - 1 of provider `a`, trying
 * again (after a yield) when the queue is full; a thread body. */
typedef struct seq_firer {
  fixture *f;
  tprov *a;
  uint32_t first, count;
} seq_firer;

static void *seq_firer_main(void *arg) {
  seq_firer *p = arg;
  for (uint32_t i = 0; i < p->count; i++) {
    wmiev_status st;
    while ((st = fire_seq(p->f, p->a, p->first + i)) == WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
      sched_yield();
    }
    if (st != WMIEV_STATUS_SUCCESS) {
      abort();
    }
  }
  return NULL;
}

/* Order across threads (threading.md): an event fired after another fire
 * call returned, on any thread, is delivered after it. Each thread fires
 * half of a sequence and hands over to the other through a join. */
static void test_pumped_order_follows_happens_before(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  uint32_t want[40];
  for (uint32_t round = 0; round < 4; round++) {
    seq_firer r = {f, a, round * 10, 10};
    if (round % 2 == 0) {
      pthread_t t;
      assert_int_equal(pthread_create(&t, NULL, seq_firer_main, &r), 0);
      assert_int_equal(pthread_join(t, NULL), 0);
    } else {
      (void)seq_firer_main(&r);
    }
    for (uint32_t i = 0; i < 10; i++) {
      want[round * 10 + i] = round * 10 + i;
    }
  }
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 40);
  seqs(s, want, 40);
}

static void test_pumped_queue_full(void **state) {
  fixture *f = *state;
  f->opts.queue_capacity = 4;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  sink *s1 = subscribe(f, NULL, &guid_ev);
  sink *s2 = subscribe(f, NULL, &guid_ev);
  for (uint32_t i = 0; i < 4; i++) {
    assert_status(fire_seq(f, a, i), WMIEV_STATUS_SUCCESS);
  }
  /* Full: the 5th is dropped and the caller told. */
  wmiev_diag d;
  assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, "xxxx", 4, &d),
                WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  assert_string_equal(d.field, "queue");
  /* write_event too, and the WNODE is still the caller's. */
  uint64_t live = debug_alloc_live_count(f->d);
  uint8_t *w = single(f, &guid_ev, a, 0, 4, 1);
  assert_status(write_ev(f, w), WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  assert_int_equal(debug_alloc_live_count(f->d), live + 1);
  wmiev_bus_free_event(f->bus, w);
  assert_int_equal(stats(f).dropped, 2);
  assert_int_equal(guid_stats(f, &guid_ev).dropped, 2);
  check_accounting(f);

  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 4);
  sink *both[2] = {s1, s2};
  for (int k = 0; k < 2; k++) {
    sink *s = both[k];
    assert_int_equal(s->n, 4);
    assert_int_equal(s->ev[0].lost_before, 2); /* the next event says how many were lost */
    for (uint32_t i = 0; i < 4; i++) {
      assert_int_equal(seq_of(&s->ev[i]), i);
      assert_int_equal(s->ev[i].lost_before, i == 0 ? 2 : 0);
    }
    uint64_t delivered = 0, lost = 0;
    wmiev_subscription_counts(s->sub, &delivered, &lost);
    assert_int_equal(delivered, 4);
    assert_int_equal(lost, 2);
  }
  /* Room again. */
  assert_status(fire_seq(f, a, 9), WMIEV_STATUS_SUCCESS);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
  assert_int_equal(s1->ev[4].lost_before, 0);
  assert_int_equal(seq_of(&s1->ev[4]), 9);
}

/* The wakeup hook (bus.h, decisions D23): called by the first event queued
 * after a dispatch ended, not by the ones behind it, and not by events
 * fired while a dispatch drains (that dispatch delivers them); a dispatch
 * stopped by its budget with events left calls it itself. */
static int hook_calls;
static void counting_hook(void *ctx) {
  (void)ctx;
  hook_calls++;
}

static void fire_once_more(sink *s, const wmiev_event *e) {
  if (seq_of(&s->ev[s->n - 1]) < 100) {
    (void)e;
    assert_status(fire_seq(s->f, s->ctx, 100 + seq_of(&s->ev[s->n - 1])), WMIEV_STATUS_SUCCESS);
  }
}

static void test_wakeup_hook_protocol(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  hook_calls = 0;
  wmiev_bus_set_wakeup(f->bus, counting_hook, NULL);
  assert_int_equal(hook_calls, 0); /* nothing waiting: not called */
  for (uint32_t i = 0; i < 3; i++) {
    assert_status(fire_seq(f, a, i), WMIEV_STATUS_SUCCESS);
  }
  assert_int_equal(hook_calls, 1); /* the first event only */
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 3);
  assert_int_equal(hook_calls, 1);
  assert_status(fire_seq(f, a, 3), WMIEV_STATUS_SUCCESS);
  assert_int_equal(hook_calls, 2); /* the dispatch ended: the next event wakes again */

  /* Events a callback fires while the dispatch drains need no wakeup: a
   * dispatch with room in its budget delivers them itself. */
  s->hook = fire_once_more;
  s->ctx = a;
  assert_int_equal(wmiev_bus_dispatch(f->bus, 10), 2); /* seq 3, then 103 fired by its callback */
  assert_int_equal(hook_calls, 2);
  assert_int_equal(wmiev_bus_pending(f->bus), 0);

  /* Budget exhausted with events left (one fired during the dispatch): the
   * dispatch calls the hook, since nothing else would. */
  assert_status(fire_seq(f, a, 4), WMIEV_STATUS_SUCCESS);
  assert_int_equal(hook_calls, 3);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 1), 1); /* seq 4; its callback fires 104 */
  assert_int_equal(wmiev_bus_pending(f->bus), 1);
  assert_int_equal(hook_calls, 4);
  s->hook = NULL;
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
  const uint32_t want[] = {0, 1, 2, 3, 103, 4, 104};
  seqs(s, want, 7);

  /* A new hook while events wait is called at once. */
  assert_status(fire_seq(f, a, 5), WMIEV_STATUS_SUCCESS);
  assert_int_equal(hook_calls, 5);
  wmiev_bus_set_wakeup(f->bus, NULL, NULL);
  wmiev_bus_set_wakeup(f->bus, counting_hook, NULL);
  assert_int_equal(hook_calls, 6);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
  wmiev_bus_set_wakeup(f->bus, NULL, NULL);
}

/* wmiev_bus_has_wakeup() while wmiev_bus_set_wakeup() replaces a hook that
 * is still running: the setter clears the hook while it waits for that
 * call, and the question must not see the gap (true throughout). */
static atomic_bool hook_entered, hook_release;
static void blocking_hook(void *ctx) {
  (void)ctx;
  atomic_store(&hook_entered, true);
  while (!atomic_load(&hook_release)) {
    sleep_ms(1);
  }
}

typedef struct hook_swap {
  fixture *f;
  tprov *a;
  bool installed;
} hook_swap;

static void *fire_into_hook(void *arg) {
  hook_swap *h = arg;
  if (fire_seq(h->f, h->a, 0) != WMIEV_STATUS_SUCCESS) {
    abort();
  }
  return NULL;
}

static void *replace_hook(void *arg) {
  wmiev_bus_set_wakeup(((hook_swap *)arg)->f->bus, counting_hook, NULL);
  return NULL;
}

static void *ask_has_wakeup(void *arg) {
  hook_swap *h = arg;
  h->installed = wmiev_bus_has_wakeup(h->f->bus);
  return NULL;
}

static void test_has_wakeup_during_replacement(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  (void)subscribe(f, NULL, &guid_ev);
  atomic_store(&hook_entered, false);
  atomic_store(&hook_release, false);
  wmiev_bus_set_wakeup(f->bus, blocking_hook, NULL);
  hook_swap h = {f, a, false};
  pthread_t firer, setter, asker;
  assert_int_equal(pthread_create(&firer, NULL, fire_into_hook, &h), 0);
  while (!atomic_load(&hook_entered)) {
    sleep_ms(1);
  }
  assert_int_equal(pthread_create(&setter, NULL, replace_hook, &h), 0);
  sleep_ms(20); /* the setter has cleared the hook and waits for the call */
  assert_int_equal(pthread_create(&asker, NULL, ask_has_wakeup, &h), 0);
  sleep_ms(20);
  atomic_store(&hook_release, true);
  assert_int_equal(pthread_join(firer, NULL), 0);
  assert_int_equal(pthread_join(setter, NULL), 0);
  assert_int_equal(pthread_join(asker, NULL), 0);
  assert_true(h.installed);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
  wmiev_bus_set_wakeup(f->bus, NULL, NULL);
  assert_false(wmiev_bus_has_wakeup(f->bus));
}

/* wmiev_bus_dispatch_spin() delivers what a producer thread fires while it
 * polls, and the producer calls no wakeup meanwhile. */
static void test_dispatch_spin_takes_a_stream(void **state) {
  fixture *f = *state;
  f->opts.queue_capacity = 64;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  hook_calls = 0;
  wmiev_bus_set_wakeup(f->bus, counting_hook, NULL);
  seq_firer p = {f, a, 0, 5000};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, seq_firer_main, &p), 0);
  size_t taken = 0;
  while (taken < p.count) {
    /* 50 ms of polling: covers any gap the producer leaves, even under a
     * sanitizer; the budget makes each call return now and then. */
    taken += wmiev_bus_dispatch_spin(f->bus, 1000, 50u * 1000u * 1000u);
  }
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(taken, p.count);
  assert_int_equal(s->n, p.count);
  for (uint32_t i = 0; i < p.count; i++) {
    assert_int_equal(seq_of(&s->ev[i]), i);
  }
  /* Wakeups: at most one per return of dispatch_spin (5 budgets of 1000)
   * plus the first event: not one per event. */
  assert_true(hook_calls <= 7);
  assert_int_equal(wmiev_bus_dispatch_spin(f->bus, 0, 1000), 0); /* 0: plain dispatch */
  wmiev_bus_set_wakeup(f->bus, NULL, NULL);
}

/* A dispatch that finds a record reserved and not yet committed waits for
 * the commit and delivers it (its producer saw the consumer awake and will
 * not wake it), then goes idle, so the next event calls the hook again
 * (deliver.c, dispatch_held). The producer is played by hand through the
 * queue, which is the only way to hold a record between reservation and
 * commit. */
typedef struct dispatch_call {
  wmiev_bus *bus;
  size_t taken;
  atomic_bool done;
} dispatch_call;

static void *dispatch_main(void *arg) {
  dispatch_call *c = arg;
  c->taken = wmiev_bus_dispatch(c->bus, 0);
  atomic_store(&c->done, true);
  return NULL;
}

static void test_dispatch_waits_for_commit(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  hook_calls = 0;
  wmiev_bus_set_wakeup(f->bus, counting_hook, NULL);
  assert_status(fire_seq(f, a, 0), WMIEV_STATUS_SUCCESS); /* makes the GUID's slot */
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
  assert_int_equal(hook_calls, 1);

  /* Count the call and reserve, as fire.c does, and stop before the commit. */
  bus_guid *g = wmiev__bus_guid_find(f->bus, &guid_ev);
  wmiev__mutex_lock(&f->bus->lock);
  WMIEV__COUNT(f->bus, g, fired);
  wmiev__mutex_unlock(&f->bus->lock);
  wmiev__queue_ticket t;
  assert_true(wmiev__queue_reserve(&f->bus->queue, 4, WMIEV__QUEUED_FIRE, &t));
  assert_true(t.wake); /* the consumer was idle */
  t.record->guid_slot = g->slot;
  t.record->provider_id = pid(a);
  t.record->instance_index = 0;
  t.record->timestamp = 1;
  uint32_t seq = 7;
  memcpy(t.record + 1, &seq, sizeof seq);

  dispatch_call c = {f->bus, 0, false};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, dispatch_main, &c), 0);
  sleep_ms(20);
  assert_false(atomic_load(&c.done)); /* waiting for the commit, not returned */
  assert_int_equal(s->n, 1);
  wmiev__queue_commit(&t);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(c.taken, 1);
  assert_int_equal(s->n, 2);
  assert_int_equal(seq_of(&s->ev[1]), 7);
  assert_int_equal(hook_calls, 1); /* (the producer would call it now: t.wake) */

  /* The dispatch went idle: the next event wakes the consumer again. */
  assert_status(fire_seq(f, a, 8), WMIEV_STATUS_SUCCESS);
  assert_int_equal(hook_calls, 2);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
  wmiev_bus_set_wakeup(f->bus, NULL, NULL);
}

/* wmiev_bus_dispatch_spin() on an empty queue polls for spin_ns, then
 * returns 0 (it looks once a microsecond meanwhile, D24). */
static void test_dispatch_spin_times_out(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  (void)toaster(f, 'A', 1);
  (void)subscribe(f, NULL, &guid_ev);
  uint64_t start = now_ms();
  assert_int_equal(wmiev_bus_dispatch_spin(f->bus, 10, 20u * 1000u * 1000u), 0);
  uint64_t elapsed = now_ms() - start;
  assert_true(elapsed >= 19); /* 20 ms, less the clocks' rounding */
  assert_true(elapsed < 2000);
}

static void test_pumped_queue_bytes(void **state) {
  fixture *f = *state;
  f->opts.queue_bytes = 2 * (24 + 1024); /* two events of the maximum size (queue.h) */
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 3);
  sink *s = subscribe(f, NULL, &guid_ev);
  for (uint32_t i = 0; i < 2; i++) {
    assert_status(write_ev(f, single(f, &guid_ev, a, i, 960, i)), WMIEV_STATUS_SUCCESS);
  }
  uint8_t *w = single(f, &guid_ev, a, 2, 960, 2);
  assert_status(write_ev(f, w), WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  /* A small one does not fit either: the ring is full to the byte. */
  assert_status(fire(f, a, &guid_ev, 0, 0, 0), WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 1), 1);
  /* One slot free again: the third fits now. */
  assert_status(write_ev(f, w), WMIEV_STATUS_SUCCESS);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 2);
  assert_int_equal(s->n, 3);
  for (uint32_t i = 0; i < 3; i++) {
    assert_int_equal(s->ev[i].wnode_size, 1024);
    assert_int_equal(s->ev[i].instance_index, i);
    assert_true(is_pattern(got_data(&s->ev[i]), 960, i));
  }
  /* Both drops happened before the first dispatch: its event tells. */
  assert_int_equal(s->ev[0].lost_before, 2);
  assert_int_equal(s->ev[1].lost_before + s->ev[2].lost_before, 0);
  assert_int_equal(stats(f).dropped, 2);
}

/* The ring test: events of varying size and shape through a small ring,
 * fired and dispatched in random bursts; every delivered byte is checked
 * against what was fired, in order. */
typedef struct ring_expect {
  uint32_t seq;
  bool named; /* a write_event with a dynamic name; else fire_event */
  uint32_t size;
} ring_expect;

typedef struct ring_state {
  fixture *f;
  ring_expect fifo[128];
  size_t head, tail;
  uint64_t dropped_since[2]; /* per GUID (its one subscriber): guid_ev, guid_ev2 */
  uint64_t checked;
  bool bad;
} ring_state;

static size_t ring_name(uint32_t seq, uint16_t *out) {
  size_t units = 1 + seq % 13; /* name lengths 1..13 move the data offset */
  for (size_t i = 0; i < units; i++) {
    out[i] = (uint16_t)('a' + (seq + i) % 26);
  }
  return units;
}

static void ring_cb(const wmiev_event *e, void *payload) {
  ring_state *r = payload;
  if (r->head == r->tail) {
    r->bad = true;
    return;
  }
  ring_expect x = r->fifo[r->head++ % 128];
  uint64_t *lost = &r->dropped_since[x.named ? 1 : 0];
  bool ok = e->data_size == x.size && is_pattern(e->data, x.size, x.seq) &&
            e->lost_before == *lost && e->has_name == x.named;
  if (x.named) {
    uint16_t name[16];
    size_t units = ring_name(x.seq, name);
    ok = ok && e->name_units == units && memcmp(e->name_utf16, name, units * 2) == 0;
  } else {
    uint32_t wnode_size = 0;
    ok = ok && e->instance_index == 0 && wmiev_event_wnode(e, &wnode_size) != NULL &&
         wnode_size == 64 + x.size;
  }
  *lost = 0;
  r->checked++;
  r->bad = r->bad || !ok;
}

static void test_pumped_ring_wraparound(void **state) {
  fixture *f = *state;
  f->opts.max_event_size = 256;
  f->opts.queue_bytes = 1000; /* a few events at most: the ring wraps constantly */
  f->opts.queue_capacity = 64;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  tprov *d = prov_new(f, 'D', 0, NULL);
  prov_guid(d, &guid_ev2, 0, 0);
  prov_up(d);
  ring_state *r = calloc(1, sizeof *r);
  assert_non_null(r);
  r->f = f;
  wmiev_subscription *s1, *s2;
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, ring_cb, r, &s1), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev2, ring_cb, r, &s2), WMIEV_STATUS_SUCCESS);

  uint64_t x = 0x2545f4914f6cdd1dull;
  uint32_t seq = 0;
  uint64_t fired = 0, dropped = 0;
  for (int round = 0; round < 1500; round++) {
    uint32_t burst = 1 + test_rng_below(&x, 6);
    for (uint32_t k = 0; k < burst; k++, seq++) {
      bool named = test_rng_below(&x, 3) == 0;
      uint32_t size = test_rng_below(&x, 161); /* 0..160 bytes of data */
      uint8_t data[256];
      pattern(data, size, seq);
      wmiev_status st;
      uint8_t *w = NULL;
      if (named) {
        uint16_t name[16];
        size_t units = ring_name(seq, name);
        wmiev_wnode_header_params h = hdr_for(&guid_ev2, pid(d), WNODE_FLAG_EVENT_ITEM);
        wmiev_wnode_instance in = by_name(name, units, data, size);
        w = build(f, SHAPE_SINGLE, &h, &in, 0);
        st = write_ev(f, w);
      } else {
        st = wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, data, size, NULL);
      }
      fired++;
      if (st == WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
        dropped++;
        r->dropped_since[named ? 1 : 0]++; /* told by the next event of that GUID */
        if (w != NULL) {
          wmiev_bus_free_event(f->bus, w);
        }
        continue;
      }
      assert_status(st, WMIEV_STATUS_SUCCESS);
      assert_true(r->tail - r->head < 128);
      r->fifo[r->tail++ % 128] = (ring_expect){seq, named, size};
    }
    size_t n = 1 + test_rng_below(&x, 4);
    (void)wmiev_bus_dispatch(f->bus, n);
    if (r->bad) {
      break;
    }
  }
  (void)wmiev_bus_dispatch(f->bus, 0);
  assert_false(r->bad);
  assert_int_equal(r->head, r->tail);
  assert_int_equal(r->checked, fired - dropped);
  assert_true(dropped > 0); /* the ring was really full now and then */
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.dropped, dropped);
  assert_int_equal(st.delivered, fired - dropped);
  uint64_t lost1 = 0, lost2 = 0;
  wmiev_subscription_counts(s1, NULL, &lost1);
  wmiev_subscription_counts(s2, NULL, &lost2);
  assert_int_equal(lost1 + lost2, dropped);
  assert_status(wmiev_bus_unsubscribe(s1), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_unsubscribe(s2), WMIEV_STATUS_SUCCESS);
  free(r);
}

/* ==== 8. Callbacks that subscribe, unsubscribe and fire ======================================= */

typedef struct reentry {
  fixture *f;
  tprov *a;
  sink *self, *killer, *victim, *spawner, *firer, *spawned, *spawned2;
} reentry;

static void hook_self(sink *s, const wmiev_event *e) {
  (void)e;
  if (s->state++ == 0) {
    /* Returns at once (no wait for this very callback); the subscription is
     * freed once the delivery that runs it is over (checked below). */
    assert_status(wmiev_bus_unsubscribe(s->sub), WMIEV_STATUS_SUCCESS);
    s->sub = NULL;
  }
}

static void hook_killer(sink *s, const wmiev_event *e) {
  (void)e;
  reentry *r = s->ctx;
  if (s->state++ == 0) {
    unsubscribe(r->victim);
  }
}

static void hook_spawner(sink *s, const wmiev_event *e) {
  (void)e;
  reentry *r = s->ctx;
  if (s->state++ == 0) {
    r->spawned = subscribe(r->f, NULL, &guid_ev);
    /* The first subscriber of another GUID: its ENABLE goes out from here. */
    size_t before = fc_count(r->f);
    r->spawned2 = subscribe(r->f, NULL, &guid_ev2);
    EXPECT_FC(r->f, before, ENABLE_EV('A', 1));
  }
}

static void hook_firer(sink *s, const wmiev_event *e) {
  (void)e;
  reentry *r = s->ctx;
  if (s->state++ == 0) {
    assert_status(fire_seq(r->f, r->a, 1), WMIEV_STATUS_SUCCESS);
    assert_status(fire(r->f, r->a, &guid_ev2, 0, 4, 2), WMIEV_STATUS_SUCCESS);
    /* Pumping from inside a callback: nothing (the running dispatch goes on),
     * and no self-deadlock on the dispatcher lock. */
    assert_int_equal(wmiev_bus_dispatch(r->f->bus, 0), 0);
  }
}

static void reentrant(fixture *f, bool pumped) {
  bus_start_mode(f, pumped ? WMIEV_DELIVERY_PUMPED : WMIEV_DELIVERY_SYNC);
  tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
  prov_guid(a, &guid_ev, 1, 0);
  prov_guid(a, &guid_ev2, 1, 0);
  prov_up(a);
  reentry r = {.f = f, .a = a};
  r.spawner = sink_new(f);
  r.self = sink_new(f);
  r.killer = sink_new(f);
  r.firer = sink_new(f);
  r.victim = sink_new(f);
  sink *order[] = {r.spawner, r.self, r.killer, r.firer, r.victim};
  sink_hook hooks[] = {hook_spawner, hook_self, hook_killer, hook_firer, NULL};
  for (size_t i = 0; i < 5; i++) {
    order[i]->hook = hooks[i];
    order[i]->ctx = &r;
    subscribe(f, order[i], &guid_ev);
  }
  /* guid_ev2 once had a subscriber, so the bus's own memory for it exists
   * and the live count below only moves with subscriptions. */
  unsubscribe(subscribe(f, NULL, &guid_ev2));
  uint64_t live = debug_alloc_live_count(f->d);

  assert_status(fire_seq(f, a, 0), WMIEV_STATUS_SUCCESS);
  if (pumped) {
    /* Events fired from a callback wait for the next round. */
    assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
    assert_int_equal(wmiev_bus_pending(f->bus), 2);
    assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 2);
  }
  static const uint32_t zero_one[] = {0, 1};
  static const uint32_t zero[] = {0};
  static const uint32_t one[] = {1};
  seqs(r.spawner, zero_one, 2);
  seqs(r.self, zero, 1); /* unsubscribed itself during 0 */
  seqs(r.killer, zero_one, 2);
  seqs(r.firer, zero_one, 2);
  seqs(r.victim, NULL, 0); /* unsubscribed before its turn came */
  seqs(r.spawned, one, 1); /* subscribed during 0: gets 1, not 0 */
  assert_int_equal(r.spawned2->n, 1);
  /* spawned and spawned2 are new, and so is guid_ev2's subscriber snapshot
   * (guid_ev's was replaced by one more). self and victim left guid_ev
   * after the spawner's subscribe published its snapshot: they are freed
   * when the next subscription of guid_ev replaces it. */
  assert_int_equal(debug_alloc_live_count(f->d), live + 1 + 2);
  /* This subscribe replaces it (self and victim freed); the subscription
   * it makes then stays in the new snapshot, marked, the same way. */
  unsubscribe(subscribe(f, NULL, &guid_ev));
  assert_int_equal(debug_alloc_live_count(f->d), live + 1 + 1);
  assert_int_equal(stats(f).callbacks, 2 + 1 + 2 + 2 + 1 + 1);
}

static void test_reentrant_sync(void **state) { reentrant(*state, false); }
static void test_reentrant_pumped(void **state) { reentrant(*state, true); }

/* Unsubscribe on one thread while the callback runs on another: it waits,
 * and once it returns the callback never runs again. */
typedef struct blocker {
  fixture *f;
  tprov *a;
  bool pumped;
  pthread_barrier_t entered;
  atomic_bool unsubscribing;
  atomic_bool finished;
  atomic_int calls;
} blocker;

static void blocking_cb(const wmiev_event *e, void *payload) {
  blocker *b = payload;
  (void)e;
  if (atomic_fetch_add(&b->calls, 1) == 0) {
    pthread_barrier_wait(&b->entered);
    while (!atomic_load(&b->unsubscribing)) {
      sleep_ms(1);
    }
    sleep_ms(100); /* the unsubscribe is now waiting for this */
    atomic_store(&b->finished, true);
  }
}

static void *deliver_thread(void *arg) {
  blocker *b = arg;
  if (b->pumped) {
    (void)wmiev_bus_dispatch(b->f->bus, 0);
  } else {
    (void)fire_seq(b->f, b->a, 0);
  }
  return NULL;
}

static void unsubscribe_waits(fixture *f, bool pumped) {
  bus_start_mode(f, pumped ? WMIEV_DELIVERY_PUMPED : WMIEV_DELIVERY_SYNC);
  tprov *a = toaster(f, 'A', 1);
  blocker b = {.f = f, .a = a, .pumped = pumped};
  atomic_init(&b.unsubscribing, false);
  atomic_init(&b.finished, false);
  atomic_init(&b.calls, 0);
  pthread_barrier_init(&b.entered, NULL, 2);
  wmiev_subscription *sub;
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, blocking_cb, &b, &sub), WMIEV_STATUS_SUCCESS);
  if (pumped) {
    assert_status(fire_seq(f, a, 0), WMIEV_STATUS_SUCCESS);
    assert_status(fire_seq(f, a, 1), WMIEV_STATUS_SUCCESS); /* still queued at unsubscribe */
  }
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, deliver_thread, &b), 0);
  pthread_barrier_wait(&b.entered);
  atomic_store(&b.unsubscribing, true);
  assert_status(wmiev_bus_unsubscribe(sub), WMIEV_STATUS_SUCCESS);
  assert_true(atomic_load(&b.finished)); /* it waited for the callback */
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_status(fire_seq(f, a, 2), WMIEV_STATUS_SUCCESS);
  (void)wmiev_bus_dispatch(f->bus, 0);
  assert_int_equal(atomic_load(&b.calls), 1);
  pthread_barrier_destroy(&b.entered);
  wmiev_bus_stats s = stats(f);
  assert_int_equal(s.delivered, 1);
  assert_int_equal(s.not_enabled + s.discarded, pumped ? 2 : 1);
}

static void test_unsubscribe_waits_sync(void **state) { unsubscribe_waits(*state, false); }
static void test_unsubscribe_waits_pumped(void **state) { unsubscribe_waits(*state, true); }

/* ---- A provider's ENABLE handler dispatching while another thread does -------------------- */

/* Thread D dispatches; its subscriber's callback subscribes to another GUID,
 * which needs the bus's control lock. Meanwhile this thread subscribes to
 * that GUID: the bus holds the control lock while the provider's ENABLE
 * handler runs, and the handler calls wmiev_bus_dispatch(). Waiting for D's
 * dispatch there would never end (D waits for the control lock); the call
 * returns 0 at once instead, and both threads finish. */
typedef struct control_vs_dispatch {
  fixture *f;
  atomic_bool in_callback;       /* D is inside its subscriber's callback */
  atomic_bool in_handler;        /* this thread is inside the ENABLE handler */
  atomic_bool subscribing;       /* D is about to subscribe (and block) */
  atomic_bool armed;             /* the handler dispatches once, when set */
  atomic_int handler_dispatched; /* what that dispatch returned (-1: not run) */
  wmiev_subscription *inner;     /* D's subscription from inside the callback */
  wmiev_status inner_status;
  size_t outer_dispatched;
  wmiev_subscription *mine; /* the subscription whose ENABLE runs the handler */
  wmiev_status mine_status;
  atomic_bool subscribed; /* that subscribe returned */
} control_vs_dispatch;

static control_vs_dispatch *cvd_current;

static void spin_until(atomic_bool *flag) {
  uint64_t until = now_ms() + 10000;
  while (!atomic_load(flag)) {
    if (now_ms() > until) {
      /* The two threads wait for each other: the bus would hang here. */
      fprintf(stderr, "control_vs_dispatch: deadlock (waited 10 s)\n");
      abort();
    }
    sched_yield();
  }
}

static void cvd_noop_cb(const wmiev_event *e, void *payload) {
  (void)e;
  (void)payload;
}

static void cvd_callback(const wmiev_event *e, void *payload) {
  control_vs_dispatch *c = payload;
  (void)e;
  atomic_store(&c->in_callback, true);
  spin_until(&c->in_handler);
  atomic_store(&c->subscribing, true);
  c->inner_status = wmiev_bus_subscribe(c->f->bus, &guid_ev2, cvd_noop_cb, NULL, &c->inner);
}

static void cvd_handler(tprov *p, uint32_t guid_index, wmiev_function_control fn, bool enable) {
  control_vs_dispatch *c = cvd_current;
  (void)p;
  (void)guid_index;
  if (fn != WMIEV_EVENT_CONTROL || !enable || !atomic_exchange(&c->armed, false)) {
    return;
  }
  atomic_store(&c->in_handler, true);
  spin_until(&c->subscribing);
  sleep_ms(50); /* D is now waiting for the control lock this thread holds */
  atomic_store(&c->handler_dispatched, (int)wmiev_bus_dispatch(c->f->bus, 0));
}

static void *cvd_dispatcher(void *arg) {
  control_vs_dispatch *c = arg;
  c->outer_dispatched = wmiev_bus_dispatch(c->f->bus, 0);
  return NULL;
}

static void *cvd_subscriber(void *arg) {
  control_vs_dispatch *c = arg;
  /* The first subscriber of guid_ev2: ENABLE_EVENTS goes to the handler. */
  c->mine_status = wmiev_bus_subscribe(c->f->bus, &guid_ev2, cvd_noop_cb, NULL, &c->mine);
  atomic_store(&c->subscribed, true);
  return NULL;
}

static void test_enable_handler_dispatch_does_not_wait(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *p = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
  prov_guid(p, &guid_ev, 1, WMIREG_FLAG_EVENT_ONLY_GUID);
  prov_guid(p, &guid_ev2, 1, WMIREG_FLAG_EVENT_ONLY_GUID);
  control_vs_dispatch c = {.f = f};
  atomic_init(&c.in_callback, false);
  atomic_init(&c.in_handler, false);
  atomic_init(&c.subscribing, false);
  atomic_init(&c.armed, false);
  atomic_init(&c.handler_dispatched, -1);
  atomic_init(&c.subscribed, false);
  cvd_current = &c;
  p->on_control = cvd_handler;
  prov_up(p);
  wmiev_subscription *outer = NULL;
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, cvd_callback, &c, &outer),
                WMIEV_STATUS_SUCCESS);
  assert_status(fire_seq(f, p, 0), WMIEV_STATUS_SUCCESS);
  pthread_t d;
  assert_int_equal(pthread_create(&d, NULL, cvd_dispatcher, &c), 0);
  spin_until(&c.in_callback);
  atomic_store(&c.armed, true);
  pthread_t b;
  assert_int_equal(pthread_create(&b, NULL, cvd_subscriber, &c), 0);
  spin_until(&c.subscribed); /* aborts if the two threads wait for each other */
  assert_int_equal(pthread_join(b, NULL), 0);
  assert_int_equal(pthread_join(d, NULL), 0);
  assert_status(c.mine_status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(atomic_load(&c.handler_dispatched), 0); /* returned at once */
  assert_int_equal(c.outer_dispatched, 1);
  assert_status(c.inner_status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(atomic_load(&p->enables), 2); /* guid_ev, then guid_ev2 once */
  assert_status(wmiev_bus_unsubscribe(c.inner), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_unsubscribe(c.mine), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_unsubscribe(outer), WMIEV_STATUS_SUCCESS);
  cvd_current = NULL;
}

/* A driver fires from a worker thread while its ENABLE callback waits for
 * that worker: firing must not wait for the bus's function-control lock. */
typedef struct worker {
  tprov *a;
  pthread_t thread;
  pthread_mutex_t m;
  pthread_cond_t c;
  bool started, done;
  bool ok;
  wmiev_status status;
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  wmiev_status st = fire(w->a->f, w->a, &guid_ev2, 0, 4, 3);
  pthread_mutex_lock(&w->m);
  w->status = st;
  w->done = true;
  pthread_cond_signal(&w->c);
  pthread_mutex_unlock(&w->m);
  return NULL;
}

static void enable_waits_for_worker(tprov *p, uint32_t guid_index, wmiev_function_control fn,
                                    bool enable) {
  worker *w = p->hook_ctx;
  if (!enable || fn != WMIEV_EVENT_CONTROL || guid_index != 0 || w->started) {
    return;
  }
  w->started = true;
  if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
    return;
  }
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 5;
  pthread_mutex_lock(&w->m);
  while (!w->done) {
    if (pthread_cond_timedwait(&w->c, &w->m, &until) != 0) {
      break;
    }
  }
  w->ok = w->done;
  pthread_mutex_unlock(&w->m);
}

static void test_fire_while_enabling(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
  prov_guid(a, &guid_ev, 1, 0);
  prov_guid(a, &guid_ev2, 1, 0);
  prov_up(a);
  worker w;
  memset(&w, 0, sizeof w);
  w.a = a;
  pthread_mutex_init(&w.m, NULL);
  pthread_cond_init(&w.c, NULL);
  a->hook_ctx = &w;
  sink *s2 = subscribe(f, NULL, &guid_ev2);
  a->on_control = enable_waits_for_worker;
  sink *s = subscribe(f, NULL, &guid_ev); /* ENABLE for guid_ev waits for the worker */
  a->on_control = NULL;
  assert_true(w.started);
  assert_int_equal(pthread_join(w.thread, NULL), 0);
  assert_true(w.ok); /* the worker's fire did not wait for the subscribe */
  assert_status(w.status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(s2->n, 1);
  assert_int_equal(s->n, 0);
  pthread_cond_destroy(&w.c);
  pthread_mutex_destroy(&w.m);
}

/* A driver that fires from inside its ENABLE callback fires as an enabled provider. */
static void fire_on_enable(tprov *p, uint32_t guid_index, wmiev_function_control fn, bool enable) {
  if (enable && fn == WMIEV_EVENT_CONTROL && guid_index == 0) {
    assert_status(fire(p->f, p, &guid_ev, 0, 4, 4), WMIEV_STATUS_SUCCESS);
  }
}

static void test_fire_inside_enable(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 1);
  a->on_control = fire_on_enable;
  sink *s = subscribe(f, NULL, &guid_ev);
  assert_int_equal(s->n, 1);
  assert_true(is_pattern(got_data(&s->ev[0]), 4, 4));
  assert_int_equal(warned(f, WMIEV_WARN_PROVIDER_NOT_ENABLED), 0);
}

/* A provider's DISABLE callback subscribes again (a function-control callback
 * may subscribe): the GUID is wanted again, so the providers not yet disabled
 * stay enabled and the one just disabled is enabled again. */
static void resubscribe_on_disable(tprov *p, uint32_t guid_index, wmiev_function_control fn,
                                   bool enable) {
  (void)guid_index;
  if (!enable && fn == WMIEV_EVENT_CONTROL && p->hook_ctx != NULL) {
    sink *s = p->hook_ctx;
    p->hook_ctx = NULL;
    subscribe(p->f, s, &guid_ev);
  }
}

static void test_subscribe_inside_disable(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 1);
  tprov *b = toaster(f, 'B', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  EXPECT_FC(f, 0, ENABLE_EV('A', 0), ENABLE_EV('B', 0));
  sink *again = sink_new(f);
  b->hook_ctx = again;
  b->on_control = resubscribe_on_disable;
  unsubscribe(s); /* B is disabled first (the latest enabled) and subscribes */
  b->on_control = NULL;
  EXPECT_FC(f, 2, DISABLE_EV('B', 0), ENABLE_EV('B', 0));
  assert_status(fire(f, a, &guid_ev, 0, 4, 1), WMIEV_STATUS_SUCCESS);
  assert_status(fire(f, b, &guid_ev, 0, 4, 2), WMIEV_STATUS_SUCCESS);
  assert_int_equal(again->n, 2);
  assert_int_equal(warned(f, WMIEV_WARN_PROVIDER_NOT_ENABLED), 0);
  unsubscribe(again);
  assert_int_equal(fc_matches(f, 4, (fc_rec)DISABLE_EV('A', 0)), 1);
  assert_int_equal(fc_matches(f, 4, (fc_rec)DISABLE_EV('B', 0)), 1);
  assert_int_equal(fc_count(f), 6);
}

/* Several drivers fire from their own threads while the owner dispatches and
 * a third party subscribes and unsubscribes (enabling and disabling another
 * GUID of the same providers): per-provider order holds, every event is
 * delivered or dropped-and-counted, and TSan sees no race. */
#define PRODUCERS 3
#define PER_PRODUCER 3000u

typedef struct stress {
  fixture *f;
  tprov *p[PRODUCERS];
  atomic_int running;
  atomic_bool stop_churn;
  /* Written by producers (own slot) and read after join. */
  uint32_t dropped[PRODUCERS];
  bool producer_bad;
  /* Written by callbacks, under `m` (sync mode delivers on producer threads). */
  pthread_mutex_t m;
  uint32_t next[PRODUCERS]; /* lowest seq still allowed */
  uint64_t got[PRODUCERS];
  uint64_t lost;
  bool order_bad;
  atomic_uint churns;
} stress;

typedef struct producer_arg {
  stress *st;
  int k;
} producer_arg;

static void stress_cb(const wmiev_event *e, void *payload) {
  stress *st = payload;
  uint32_t seq;
  memcpy(&seq, e->data, sizeof seq);
  pthread_mutex_lock(&st->m);
  int k = -1;
  for (int i = 0; i < PRODUCERS; i++) {
    if (pid(st->p[i]) == e->provider_id) {
      k = i;
    }
  }
  if (k < 0 || seq < st->next[k]) {
    st->order_bad = true;
  } else {
    st->next[k] = seq + 1;
    st->got[k]++;
  }
  st->lost += e->lost_before;
  pthread_mutex_unlock(&st->m);
}

/* The churning subscriber's callback: events reach it too, nothing to check. */
static void churn_cb(const wmiev_event *e, void *payload) {
  stress *st = payload;
  pthread_mutex_lock(&st->m);
  st->lost += e->lost_before;
  pthread_mutex_unlock(&st->m);
}

static void *producer_main(void *arg) {
  producer_arg *pa = arg;
  stress *st = pa->st;
  for (uint32_t seq = 0; seq < PER_PRODUCER; seq++) {
    wmiev_status s = fire_seq(st->f, st->p[pa->k], seq);
    if (s == WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
      st->dropped[pa->k]++;
    } else if (s != WMIEV_STATUS_SUCCESS) {
      st->producer_bad = true;
    }
  }
  atomic_fetch_sub(&st->running, 1);
  return NULL;
}

static void *churn_main(void *arg) {
  stress *st = arg;
  while (!atomic_load(&st->stop_churn)) {
    wmiev_subscription *a, *b;
    if (wmiev_bus_subscribe(st->f->bus, &guid_ev2, churn_cb, st, &a) != WMIEV_STATUS_SUCCESS ||
        wmiev_bus_subscribe(st->f->bus, &guid_ev, churn_cb, st, &b) != WMIEV_STATUS_SUCCESS) {
      st->producer_bad = true;
      break;
    }
    (void)wmiev_bus_unsubscribe(b);
    (void)wmiev_bus_unsubscribe(a);
    atomic_fetch_add(&st->churns, 1);
  }
  return NULL;
}

static void threads_stress(fixture *f, bool pumped) {
  f->opts.queue_capacity = 64; /* small: producers outrun the dispatcher now and then */
  bus_start_mode(f, pumped ? WMIEV_DELIVERY_PUMPED : WMIEV_DELIVERY_SYNC);
  stress *st = calloc(1, sizeof *st);
  assert_non_null(st);
  st->f = f;
  pthread_mutex_init(&st->m, NULL);
  for (int k = 0; k < PRODUCERS; k++) {
    st->p[k] = prov_new(f, 'A' + k, WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
    prov_guid(st->p[k], &guid_ev, 1, 0);
    prov_guid(st->p[k], &guid_ev2, 1, 0);
    prov_up(st->p[k]);
  }
  wmiev_subscription *sub;
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, stress_cb, st, &sub), WMIEV_STATUS_SUCCESS);
  atomic_init(&st->running, PRODUCERS);
  atomic_init(&st->stop_churn, false);
  atomic_init(&st->churns, 0);
  pthread_t churn, threads[PRODUCERS];
  producer_arg args[PRODUCERS];
  assert_int_equal(pthread_create(&churn, NULL, churn_main, st), 0);
  for (int k = 0; k < PRODUCERS; k++) {
    args[k] = (producer_arg){st, k};
    assert_int_equal(pthread_create(&threads[k], NULL, producer_main, &args[k]), 0);
  }
  /* Until the producers are done and the churn went round a few times. */
  while (atomic_load(&st->running) > 0 || atomic_load(&st->churns) < 5) {
    (void)wmiev_bus_dispatch(f->bus, 16);
  }
  for (int k = 0; k < PRODUCERS; k++) {
    assert_int_equal(pthread_join(threads[k], NULL), 0);
  }
  atomic_store(&st->stop_churn, true);
  assert_int_equal(pthread_join(churn, NULL), 0);
  (void)wmiev_bus_dispatch(f->bus, 0);
  assert_int_equal(wmiev_bus_pending(f->bus), 0);

  assert_false(st->producer_bad);
  assert_false(st->order_bad);
  uint64_t dropped = 0;
  for (int k = 0; k < PRODUCERS; k++) {
    assert_int_equal(st->got[k] + st->dropped[k], PER_PRODUCER);
    dropped += st->dropped[k];
  }
  wmiev_bus_stats s = stats(f);
  assert_int_equal(s.dropped, dropped);
  assert_int_equal(s.fired, (uint64_t)PRODUCERS * PER_PRODUCER);
  uint64_t lost = 0;
  wmiev_subscription_counts(sub, NULL, &lost);
  assert_int_equal(lost, dropped);
  assert_true(st->lost <= dropped * 2); /* the churning subscriber is told of some too */
  if (!pumped) {
    assert_int_equal(dropped, 0); /* sync mode has no queue to fill */
  }
  /* guid_ev2 went on and off with the churn: every ENABLE has its DISABLE. */
  wmiev_bus_stats g2 = guid_stats(f, &guid_ev2);
  assert_int_equal(g2.enables_sent, g2.disables_sent);
  assert_int_equal(g2.enables_sent, (uint64_t)atomic_load(&st->churns) * PRODUCERS);
  assert_status(wmiev_bus_unsubscribe(sub), WMIEV_STATUS_SUCCESS);
  pthread_mutex_destroy(&st->m);
  free(st);
}

static void test_threads_sync(void **state) { threads_stress(*state, false); }
static void test_threads_pumped(void **state) { threads_stress(*state, true); }

/* ==== 9. A provider leaves while its events are queued ======================================== */

static void test_provider_destroyed_while_queued(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 2);
  a->data_size = 16;
  sink *s = subscribe(f, NULL, &guid_ev);
  uint32_t id = pid(a);
  assert_status(fire(f, a, &guid_ev, 1, 12, 1), WMIEV_STATUS_SUCCESS);
  assert_status(write_ev(f, single(f, &guid_ev, a, 0, 20, 2)), WMIEV_STATUS_SUCCESS);
  assert_status(write_ev(f, reference(f, &guid_ev, a, 1, 16)), WMIEV_STATUS_SUCCESS);
  assert_int_equal(wmiev_bus_pending(f->bus), 3);
  prov_destroy(a);
  EXPECT_FC(f, 0, ENABLE_EV('A', 0)); /* no DISABLE to a provider that left */
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 3);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 0);
  /* The events it fired still arrive; its names are gone with it. */
  assert_int_equal(s->n, 2);
  assert_int_equal(s->ev[0].provider_id, id);
  assert_true(is_pattern(got_data(&s->ev[0]), 12, 1));
  assert_string_equal(s->ev[0].name, "");
  assert_true(is_pattern(got_data(&s->ev[1]), 20, 2));
  /* The reference cannot be resolved any more. */
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.reference_failed, 1);
  assert_int_equal(st.delivered, 2);
  assert_int_equal(f->nq, 0);
}

/* ==== 11. Fault injection ===================================================================== */

/* Checks everything a sink got is whole: exact data for what this scenario fires. */
static void check_whole(const sink *s, uint32_t ref_size) {
  for (size_t i = 0; i < s->n; i++) {
    const got *g = &s->ev[i];
    wmiev_wnode_view v;
    assert_status(
        wmiev_wnode_validate(g->wnode, g->wnode_size, WMIEV_VALIDATE_REQUIRE_EVENT, &v, NULL),
        WMIEV_STATUS_SUCCESS);
    if (g->from_reference) {
      assert_int_equal(g->data_size, ref_size);
      assert_true(is_pattern(got_data(g), ref_size, g->instance_index));
    } else {
      assert_int_equal(g->data_size, 24);
      assert_true(is_pattern(got_data(g), 24, 10 + g->instance_index));
    }
  }
}

static bool ok_or_oom(wmiev_status st) {
  return st == WMIEV_STATUS_SUCCESS || st == WMIEV_STATUS_INSUFFICIENT_RESOURCES;
}

/* One run of the whole scenario with allocation `n` failing. True when it
 * ran to the end without an injected failure. */
static bool fault_run(fixture *f, wmiev_delivery mode, uint64_t n) {
  f->opts.delivery = mode;
  debug_alloc_fail_nth(f->d, n, false);
  wmiev_status st = wmiev_bus_create(&f->opts, &f->bus);
  if (!WMIEV_SUCCESS(st)) {
    assert_status(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
    assert_null(f->bus);
    assert_true(debug_alloc_failure_hit(f->d));
    check_no_leaks(f);
    return false;
  }
  tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
  prov_guid(a, &guid_ev, 3, 0);
  a->data_size = 1500; /* the reference's query needs a grown buffer */
  st = prov_register(a);
  sink *s = NULL;
  if (WMIEV_SUCCESS(st)) {
    s = sink_new(f);
    st = wmiev_bus_subscribe(f->bus, &guid_ev, sink_cb, s, &s->sub);
    if (WMIEV_SUCCESS(st) && fc_count(f) == 0) {
      /* The ENABLE could not be sent: said so, not hidden. */
      assert_true(warned(f, WMIEV_WARN_ENABLE_FAILED) >= 1);
    }
  }
  if (WMIEV_SUCCESS(st)) {
    /* Firing reports out-of-memory, or succeeds; no half event either way. */
    st = fire(f, a, &guid_ev, 0, 24, 10);
    assert_true(ok_or_oom(st));
    /* A driver-built event and a reference; their memory may run out too. */
    uint8_t *ws[2] = {single(f, &guid_ev, a, 1, 24, 11), reference(f, &guid_ev, a, 2, 1500)};
    for (int i = 0; i < 2; i++) {
      if (ws[i] == NULL) {
        continue;
      }
      st = write_ev(f, ws[i]);
      assert_true(ok_or_oom(st));
      if (!WMIEV_SUCCESS(st)) {
        wmiev_bus_free_event(f->bus, ws[i]);
      }
    }
    (void)wmiev_bus_dispatch(f->bus, 0);
    check_whole(s, 1500);
    wmiev_bus_stats stt = stats(f);
    /* What was not delivered is accounted for, and said why. */
    assert_int_equal(stt.reference_failed, warned(f, WMIEV_WARN_REFERENCE_FAILED));
    if (stt.reference_failed != 0) {
      assert_non_null(
          strstr(f->last_warning[WMIEV_WARN_REFERENCE_FAILED], "STATUS_INSUFFICIENT_RESOURCES"));
    }
    st = wmiev_bus_unsubscribe(s->sub);
    assert_status(st, WMIEV_STATUS_SUCCESS);
    s->sub = NULL;
  } else {
    assert_status(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  }
  check_accounting(f);
  bool hit = debug_alloc_failure_hit(f->d);
  fixture_clear(f);
  check_no_leaks(f);
  return !hit;
}

static void fault_walk(fixture *f, wmiev_delivery mode) {
  uint64_t n = 1;
  while (!fault_run(f, mode, n)) {
    n++;
    assert_true(n < 2000);
  }
  debug_alloc_fail_nth(f->d, 0, false);
  assert_true(n > 10); /* the walk really went through the scenario */
}

static void test_fault_injection_sync(void **state) { fault_walk(*state, WMIEV_DELIVERY_SYNC); }
static void test_fault_injection_pumped(void **state) { fault_walk(*state, WMIEV_DELIVERY_PUMPED); }

/* ==== 12. Destroying a bus with things left =================================================== */

static void test_destroy_with_leftovers(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
  prov_guid(a, &guid_ev, 2, 0);
  prov_guid(a, &guid_data, 1, WMIREG_FLAG_EXPENSIVE);
  prov_up(a);
  wmiev_subscription *s1, *s2;
  sink *k = sink_new(f);
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, sink_cb, k, &s1), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_subscribe(f->bus, &guid_dyn, sink_cb, k, &s2), WMIEV_STATUS_SUCCESS);
  wmiev_block_handle *h1, *h2;
  assert_status(wmiev_bus_open_block(f->bus, &guid_data, &h1), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_open_block(f->bus, &guid_dyn, &h2), WMIEV_STATUS_SUCCESS);
  EXPECT_FC(f, 0, ENABLE_EV('A', 0), ENABLE_COLL('A', 1));
  for (uint32_t i = 0; i < 3; i++) {
    assert_status(fire_seq(f, a, i), WMIEV_STATUS_SUCCESS);
  }
  check_accounting(f);
  /* Devices go first (bus.h); a provider that deregisters is sent nothing. */
  prov_destroy(a);
  EXPECT_NO_FC(f, 2);
  /* Subscriptions, handles and queued events are the bus's to release: the
   * debug allocator checks they all are, and the queue never reaches k. */
  f->nprov = 0;
  wmiev_bus_destroy(f->bus);
  f->bus = NULL;
  assert_int_equal(k->n, 0);
  EXPECT_NO_FC(f, 2);
}

static void test_destroy_sync_with_leftovers(void **state) {
  fixture *f = *state;
  bus_start(f);
  wmiev_subscription *s;
  wmiev_block_handle *h;
  sink *k = sink_new(f);
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, sink_cb, k, &s), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_open_block(f->bus, &guid_ev, &h), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_open_block(f->bus, &guid_ev, &h), WMIEV_STATUS_SUCCESS);
  wmiev_bus_destroy(f->bus);
  f->bus = NULL;
}

/* ==== misc: arguments ========================================================================= */

static void test_arguments(void **state) {
  fixture *f = *state;
  wmiev_bus *bus = NULL;
  wmiev_bus_options o = f->opts;
  o.max_event_size = 32; /* not even a WNODE_SINGLE_INSTANCE */
  assert_status(wmiev_bus_create(&o, &bus), WMIEV_STATUS_INVALID_PARAMETER);
  o = f->opts;
  o.delivery = (wmiev_delivery)7;
  assert_status(wmiev_bus_create(&o, &bus), WMIEV_STATUS_INVALID_PARAMETER);
  assert_null(bus);
  /* The ring's offsets are 32-bit: a queue over 4 GiB - 8 bytes is refused
   * before anything is allocated, whether asked for (4 GiB - 1, rounded up
   * to 8) or the default for the capacity (26 843 546 x 160 bytes). */
  uint64_t live = debug_alloc_live_count(f->d);
  o = f->opts;
  o.delivery = WMIEV_DELIVERY_PUMPED;
  o.queue_bytes = UINT32_MAX;
  assert_status(wmiev_bus_create(&o, &bus), WMIEV_STATUS_INVALID_PARAMETER);
  o.queue_bytes = 0;
  o.queue_capacity = 26843546u;
  assert_status(wmiev_bus_create(&o, &bus), WMIEV_STATUS_INVALID_PARAMETER);
  assert_null(bus);
  assert_int_equal(debug_alloc_live_count(f->d), live);
  bus_start(f);
  wmiev_subscription *sub;
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, NULL, NULL, &sub),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_bus_write_event(f->bus, NULL, NULL), WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_bus_unsubscribe(NULL), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 0); /* sync: nothing to pump */
  assert_true(wmiev_bus_now(f->bus) == T0);
  assert_null(wmiev_bus_alloc_event(f->bus, SIZE_MAX));
  wmiev_bus_stats s = guid_stats(f, &guid_other); /* never seen: zeros */
  assert_int_equal(s.fired, 0);
  assert_int_equal(stats(f).fired, 0); /* argument errors are no fire calls */
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
  const struct CMUnitTest tests[] = {
      T(test_enable_refcount),
      T(test_enable_late_registration),
      T(test_enable_two_providers_and_failure),
      T(test_enable_provider_leaves),
      T(test_collection_refcount),
      T(test_collection_follows_update),
      cmocka_unit_test(test_names_cover_every_value),
      T(test_provider_system_control_is_windows_only),
      T(test_fire_event_golden_sync),
      T(test_fire_event_golden_pumped),
      T(test_write_event_shapes),
      T(test_all_data_event_data_span),
      T(test_reject_reasons),
      T(test_reject_max_event_size),
      T(test_strict_mismatches),
      T(test_lenient_mismatches),
      T(test_ownership),
      T(test_traced_guid),
      T(test_reference_by_index),
      T(test_reference_by_name),
      T(test_reference_failed),
      T(test_pumped_order),
      T(test_pumped_batches),
      T(test_pumped_guids_grow_during_dispatch),
      T(test_clock_coarse_by_default),
      T(test_clock_precise),
      T(test_wakeup_hook_protocol),
      T(test_has_wakeup_during_replacement),
      T(test_dispatch_spin_takes_a_stream),
      T(test_dispatch_waits_for_commit),
      T(test_dispatch_spin_times_out),
      T(test_pumped_order_follows_happens_before),
      T(test_pumped_queue_full),
      T(test_pumped_queue_bytes),
      T(test_pumped_ring_wraparound),
      T(test_reentrant_sync),
      T(test_reentrant_pumped),
      T(test_unsubscribe_waits_sync),
      T(test_unsubscribe_waits_pumped),
      T(test_enable_handler_dispatch_does_not_wait),
      T(test_fire_while_enabling),
      T(test_fire_inside_enable),
      T(test_subscribe_inside_disable),
      T(test_threads_sync),
      T(test_threads_pumped),
      T(test_provider_destroyed_while_queued),
      T(test_fault_injection_sync),
      T(test_fault_injection_pumped),
      T(test_destroy_with_leftovers),
      T(test_destroy_sync_with_leftovers),
      T(test_arguments),
  };
#undef T
  /* BUS_TEST_FILTER=test_pumped* runs a subset (cmocka's wildcard pattern). */
  const char *filter = getenv("BUS_TEST_FILTER");
  if (filter != NULL) {
    cmocka_set_test_filter(filter);
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
