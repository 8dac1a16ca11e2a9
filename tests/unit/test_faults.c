/*
 * Fault injection: whole scenarios walked with the debug allocator failing
 * allocation N = 1, 2, ... (tests/support/debug_alloc.h), once ("single") and
 * from N on ("sticky"), until a run no longer reaches N; and providers that
 * misbehave in every way a driver can, talking to a real bus.
 *
 * Walked scenarios (each on its own bus, set up with injection off, then
 * run with it armed; docs/reliability.md lists how many N each walks):
 *   registration  provider create, REGISTER (the REGINFO answer needs a grown
 *                 buffer; a consumer is already there, so REGISTER sends an
 *                 ENABLE), UPDATE_GUIDS (a count changes, a GUID is added),
 *                 DEREGISTER, REGISTER again
 *   subscription  subscribe (ENABLE), open an EXPENSIVE block
 *                 (ENABLE_COLLECTION), a second subscriber, 20 more GUIDs (the
 *                 bus's GUID table grows), unsubscribe and close everything
 *                 (DISABLE, DISABLE_COLLECTION), subscribe and leave again
 *   fire          fire_event and write_event, small, large (its WNODE built
 *                 on the heap when the subscriber asks for it), a dynamic
 *                 name long enough to be converted on the heap; sync and pumped
 *   reference     event references resolved by the dispatcher (the first
 *                 reply buffer is too small and grows)
 *   queries       QUERY_ALL_DATA two-call over two providers (buffers grow),
 *                 QUERY_SINGLE_INSTANCE by provider+index and by static name,
 *                 EXECUTE_METHOD
 *   teardown      unsubscribe, close (their DISABLEs need IRPs, so memory),
 *                 destroy providers, destroy the bus with a subscription, a
 *                 handle and queued events left (these need no memory at all)
 * For every N: a call that fails returns STATUS_INSUFFICIENT_RESOURCES (its
 * diag says the same); a failed registration action changes nothing; an
 * injected failure always shows (a failed call, NULL from
 * wmiev_bus_alloc_event, or an ENABLE_FAILED / REFERENCE_FAILED warning:
 * nothing is swallowed); every delivered WNODE validates and its data is
 * byte-exact (no half event); every fired event is accounted for; no
 * provider sees two ENABLEs or two DISABLEs in a row (a DISABLE that could
 * not be sent leaves the provider enabled, and it goes out when the last
 * consumer leaves next time: every GUID gets a consumer and loses it again
 * after the run, and then no provider may be left enabled); then, with
 * injection off, the bus still fires, delivers and answers queries (smoke);
 * and nothing leaks.
 * In single mode a failed call is repeated and must then succeed, and the
 * scenario goes on; in sticky mode it goes on with what succeeded.
 *
 * Misbehaving providers (what test_wmilib, test_requester and test_bus do
 * not already cover): answers with lengths past the buffer, more bytes used
 * than the buffer has, a size needed of 0xFFFFFFFF, a failure status, no
 * completion at all, completion late from another thread, and never
 * completing (bounded by the registry's irp_timeout_ms, 100 ms here:
 * STATUS_IO_TIMEOUT), for event-reference resolution, queries and
 * function control. None may crash or wedge the bus.
 *
 * Regression tests for bugs found by wmiev-stress and these walks are at
 * the end.
 */

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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wmiev/wmiev.h>

#include "debug_alloc.h"
#include "status_assert.h"
#include "test_util.h"

/* ---- GUIDs, data ----------------------------------------------------------------------------- */

static const GUID guid_a = {0x7a000001, 0x1111, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 1}};
static const GUID guid_b = {0x7a000002, 0x1111, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 2}};
static const GUID guid_c = {0x7a000003, 0x1111, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 3}};
static const GUID guid_smoke = {0x7a0000ff, 0x1111, 0x4000, {0x80, 0, 0, 0, 0, 0, 0, 0xff}};

/* More GUIDs than the bus's first GUID table holds (16). */
#define EXTRA_GUIDS 20
static GUID extra_guid(uint32_t i) {
  GUID g = {0x7b000000u + i, 0x2222, 0x4000, {0x81, 0, 0, 0, 0, 0, 0, 0}};
  return g;
}

static uint8_t pattern_byte(uint32_t i, uint32_t seed) {
  return (uint8_t)((i * 131u + (i >> 7) + seed * 29u + 7u) & 0xffu);
}

/* Instance data: its size as a ULONG, then bytes derived from (size, index). */
static void fill_data(uint8_t *out, uint32_t size, uint32_t index) {
  assert_true(size >= 4);
  memcpy(out, &size, 4);
  for (uint32_t i = 4; i < size; i++) {
    out[i] = pattern_byte(i, size * 7u + index);
  }
}

static bool data_ok(const uint8_t *p, uint32_t size, uint32_t index) {
  uint32_t stored;
  if (p == NULL || size < 4) {
    return false;
  }
  memcpy(&stored, p, 4);
  if (stored != size) {
    return false;
  }
  for (uint32_t i = 4; i < size; i++) {
    if (p[i] != pattern_byte(i, size * 7u + index)) {
      return false;
    }
  }
  return true;
}

/* ---- Fixture --------------------------------------------------------------------------------- */

#define MAX_PROV 6
#define MAX_SINKS 32
#define MAX_GUIDS 4
#define TIMEOUT_MS 100u /* the registry's irp_timeout_ms in these tests */
#define LATE_MS 20      /* "late" completions come this long after the request */

typedef struct fx fx;

/* How a provider answers QUERY_ALL_DATA / QUERY_SINGLE_INSTANCE. */
typedef enum qmode {
  Q_OK = 0,
  Q_FAIL,         /* STATUS_UNSUCCESSFUL */
  Q_LENGTHS_PAST, /* an instance length past the bytes it says it used */
  Q_USED_PAST,    /* more bytes used than the buffer has */
  Q_ABSURD,       /* "too small, I need 0xFFFFFFFF bytes" */
  Q_NO_COMPLETE,  /* returns without completing (SDV WmiComplete) */
  Q_LATE,         /* pends, a thread completes LATE_MS later */
  Q_NEVER         /* pends; completed only when the test says so */
} qmode;

/* How a provider answers ENABLE/DISABLE. */
typedef enum cmode { C_OK = 0, C_LATE, C_NEVER } cmode;

typedef struct fprov {
  fx *f;
  const char *base; /* BASENAME (at most 4 characters) */
  uint16_t base16[4];
  wmiev_provider *provider;
  wmiev_device *device;
  uint32_t id;
  wmiev_guid_reg list[MAX_GUIDS];
  uint32_t count;
  bool big_reginfo; /* long registry path and MOF name: REGINFO needs a grown buffer */
  uint32_t data_size;
  _Atomic int qmode;
  _Atomic int cmode;
  pthread_mutex_t m;
  bool on[MAX_GUIDS][2];
  uint64_t enables, disables, bad;
  /* One pended IRP at a time. */
  wmiev_irp *pended;
  wmiev_status pend_status;
  uint32_t pend_used;
  pthread_t late;
  bool late_running;
  /* Called inside ENABLE/DISABLE, before completing it (on the sender's thread). */
  void (*on_control)(struct fprov *p, uint32_t guid_index, bool enable);
  /* Called first thing in a query callback. */
  void (*on_query)(struct fprov *p);
  void *hook_ctx;
} fprov;

typedef struct sink {
  fx *f;
  wmiev_subscription *sub;
  atomic_uint_fast64_t n;
  atomic_uint_fast64_t bad;
  atomic_uint_fast64_t names_lost; /* "" for a name: its conversion ran out of memory */
  atomic_uint_fast64_t wnodes_lost; /* NULL from wmiev_event_wnode(): building it ran out */
} sink;

struct fx {
  debug_alloc *d;
  wmiev_bus *bus;
  wmiev_bus_options opts;
  bool sticky;
  uint64_t failures; /* calls that reported an injected failure */
  pthread_mutex_t mu;
  uint64_t warned[WMIEV_WARN_COUNT_];
  char last_warning[WMIEV_WARN_COUNT_][256];
  atomic_uint_fast64_t violations[8];
  fprov *smoke;
  fprov *prov[MAX_PROV];
  size_t nprov;
  sink *sinks[MAX_SINKS];
  size_t nsinks;
  wmiev_block_handle *handle; /* teardown walk */
};

static const uint16_t long_units[300] = {'x'}; /* registry path / MOF name: 600 bytes */

static void on_warning(wmiev_warning w, const char *message, void *ctx) {
  fx *f = ctx;
  pthread_mutex_lock(&f->mu);
  f->warned[w]++;
  snprintf(f->last_warning[w], sizeof f->last_warning[w], "%s", message);
  pthread_mutex_unlock(&f->mu);
}

static uint64_t warned(fx *f, wmiev_warning w) {
  pthread_mutex_lock(&f->mu);
  uint64_t n = f->warned[w];
  pthread_mutex_unlock(&f->mu);
  return n;
}

static void on_violation(wmiev_violation rule, const char *message, void *ctx) {
  fx *f = ctx;
  (void)message;
  if ((int)rule > 0 && (int)rule < 8) {
    atomic_fetch_add(&f->violations[rule], 1u);
  }
}

static uint64_t violations(fx *f, wmiev_violation rule) {
  return atomic_load(&f->violations[rule]);
}

/* ---- Providers ------------------------------------------------------------------------------- */

static wmiev_status cb_reginfo(wmiev_device *device, wmiev_reginfo_answer *answer, void *payload) {
  fprov *p = payload;
  (void)device;
  size_t n = strlen(p->base);
  assert_true(n <= 4);
  for (size_t i = 0; i < n; i++) {
    p->base16[i] = (uint16_t)(unsigned char)p->base[i];
  }
  answer->reg_flags = WMIREG_FLAG_INSTANCE_BASENAME;
  answer->base_name = p->base16;
  answer->base_name_units = n;
  if (p->big_reginfo) {
    answer->registry_path = long_units;
    answer->registry_path_units = 300;
    answer->mof_resource = long_units;
    answer->mof_resource_units = 300;
  }
  return WMIEV_STATUS_SUCCESS;
}

typedef struct late_arg {
  fprov *p;
  wmiev_device *device;
  wmiev_irp *irp;
  wmiev_status status;
  uint32_t used;
} late_arg;

static late_arg late_args[MAX_PROV * 4];
static atomic_uint late_next;

static void *late_main(void *arg) {
  late_arg *a = arg;
  sleep_ms(LATE_MS);
  (void)wmiev_wmilib_complete_request(a->device, a->irp, a->status, a->used);
  return NULL;
}

static void join_late(fprov *p) {
  if (p->late_running) {
    assert_int_equal(pthread_join(p->late, NULL), 0);
    p->late_running = false;
  }
}

/* Pends the IRP with its answer decided now: completed by a thread later
 * (late) or by complete_pended() (never). */
static wmiev_status pend(fprov *p, wmiev_device *device, wmiev_irp *irp, wmiev_status status,
                         uint32_t used, bool late) {
  if (late) {
    join_late(p); /* a provider completes one late request at a time */
    late_arg *a = &late_args[atomic_fetch_add(&late_next, 1u) % (MAX_PROV * 4)];
    *a = (late_arg){p, device, irp, status, used};
    assert_int_equal(pthread_create(&p->late, NULL, late_main, a), 0);
    p->late_running = true;
  } else {
    assert_null(p->pended);
    p->pended = irp;
    p->pend_status = status;
    p->pend_used = used;
  }
  return WMIEV_STATUS_PENDING;
}

static void complete_pended(fprov *p) {
  assert_non_null(p->pended);
  wmiev_irp *irp = p->pended;
  p->pended = NULL;
  (void)wmiev_wmilib_complete_request(p->device, irp, p->pend_status, p->pend_used);
}

static wmiev_status cb_query(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                             uint32_t instance_index, uint32_t instance_count,
                             uint32_t *instance_lengths, uint32_t buffer_avail, uint8_t *buffer,
                             void *payload) {
  fprov *p = payload;
  (void)guid_index;
  if (p->on_query != NULL) {
    p->on_query(p);
  }
  qmode mode = (qmode)atomic_load(&p->qmode);
  uint32_t size = p->data_size;
  uint64_t need = 0;
  for (uint32_t i = 0; i < instance_count; i++) {
    need = ((need + 7u) & ~(uint64_t)7u) + size;
  }
  switch (mode) {
  case Q_FAIL:
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_UNSUCCESSFUL, 0);
  case Q_ABSURD:
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, 0xFFFFFFFFu);
  case Q_NO_COMPLETE:
    return WMIEV_STATUS_SUCCESS; /* forgot to complete */
  default:
    break;
  }
  wmiev_status status = WMIEV_STATUS_SUCCESS;
  uint32_t used = (uint32_t)need;
  if (instance_lengths == NULL || buffer_avail < need) {
    status = WMIEV_STATUS_BUFFER_TOO_SMALL;
  } else {
    uint64_t at = 0;
    for (uint32_t i = 0; i < instance_count; i++) {
      at = (at + 7u) & ~(uint64_t)7u;
      fill_data(buffer + at, size, instance_index + i);
      instance_lengths[i] = size;
      at += size;
    }
    if (mode == Q_LENGTHS_PAST) {
      instance_lengths[instance_count - 1u] = size + 4096u; /* past the bytes used */
    } else if (mode == Q_USED_PAST) {
      used = buffer_avail + 64u; /* more than the buffer has */
    }
  }
  if (mode == Q_LATE || mode == Q_NEVER) {
    return pend(p, device, irp, status, used, mode == Q_LATE);
  }
  return wmiev_wmilib_complete_request(device, irp, status, used);
}

static wmiev_status cb_control(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                               wmiev_function_control fn, bool enable, void *payload) {
  fprov *p = payload;
  cmode mode = (cmode)atomic_load(&p->cmode);
  if (mode != C_NEVER) {
    /* A request the driver never completes never took effect: not logged. */
    pthread_mutex_lock(&p->m);
    bool *on = &p->on[guid_index][fn == WMIEV_DATA_BLOCK_CONTROL ? 1 : 0];
    if (*on == enable) {
      p->bad++;
    }
    *on = enable;
    if (enable) {
      p->enables++;
    } else {
      p->disables++;
    }
    pthread_mutex_unlock(&p->m);
  }
  if (p->on_control != NULL) {
    p->on_control(p, guid_index, enable);
  }
  if (mode != C_OK) {
    return pend(p, device, irp, WMIEV_STATUS_SUCCESS, 0, mode == C_LATE);
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, 0);
}

static fprov *prov_alloc(fx *f, const char *base) {
  assert_true(f->nprov < MAX_PROV);
  fprov *p = calloc(1, sizeof *p);
  assert_non_null(p);
  p->f = f;
  p->base = base;
  p->data_size = 24;
  pthread_mutex_init(&p->m, NULL);
  atomic_init(&p->qmode, Q_OK);
  atomic_init(&p->cmode, C_OK);
  f->prov[f->nprov++] = p;
  return p;
}

static uint32_t prov_guid(fprov *p, const GUID *guid, uint32_t count, uint32_t flags) {
  assert_true(p->count < MAX_GUIDS);
  p->list[p->count] = (wmiev_guid_reg){guid, count, flags};
  return p->count++;
}

static wmiev_status prov_create(fprov *p) {
  wmiev_provider_options o;
  memset(&o, 0, sizeof o);
  o.context.guid_list = p->list;
  o.context.guid_count = p->count;
  o.context.callbacks.query_reginfo = cb_reginfo;
  o.context.callbacks.query_data_block = cb_query;
  o.context.callbacks.function_control = cb_control;
  o.context.callbacks.execute_method = xor_method;
  o.context.payload = p;
  o.name = p->base;
  wmiev_status s = wmiev_provider_create(wmiev_bus_registry(p->f->bus), &o, &p->provider);
  if (WMIEV_SUCCESS(s)) {
    p->device = wmiev_provider_device(p->provider);
    p->id = wmiev_device_provider_id(p->device);
  } else {
    assert_null(p->provider);
  }
  return s;
}

static wmiev_status reg_ctl(fprov *p, uint32_t action) {
  wmiev_diag d;
  memset(&d, 0, sizeof d);
  wmiev_status s = wmiev_registration_control(p->device, action, &d);
  if (!WMIEV_SUCCESS(s) && d.status != s) {
    fail_msg("registration action %u: %s, but its diag says %s (%s: %s)", (unsigned)action,
             wmiev_status_name(s), wmiev_status_name(d.status), d.field ? d.field : "-", d.message);
  }
  return s;
}

/* Created and registered, with injection off. */
static fprov *prov_up(fx *f, const char *base, const GUID *g1, uint32_t n1, uint32_t flags1) {
  fprov *p = prov_alloc(f, base);
  prov_guid(p, g1, n1, flags1);
  assert_status(prov_create(p), WMIEV_STATUS_SUCCESS);
  assert_status(reg_ctl(p, WMIREG_ACTION_REGISTER), WMIEV_STATUS_SUCCESS);
  return p;
}

/* Blocks `p` has in the registry now. */
static size_t blocks_of(fx *f, const fprov *p, const GUID *guid, uint32_t *instance_count) {
  wmiev_block_info info[16];
  size_t n = wmiev_registry_blocks(wmiev_bus_registry(f->bus), guid, info, 16);
  size_t mine = 0;
  for (size_t i = 0; i < n && i < 16; i++) {
    if (info[i].provider_id == p->id) {
      mine++;
      if (instance_count != NULL) {
        *instance_count = info[i].instance_count;
      }
    }
  }
  return mine;
}

/* Its function control alternated, and nothing is left enabled. */
static void prov_check_quiet(const fprov *p) {
  if (p->bad != 0) {
    fail_msg("provider %s saw two ENABLEs or two DISABLEs in a row", p->base);
  }
  for (uint32_t g = 0; g < MAX_GUIDS; g++) {
    for (int fn = 0; fn < 2; fn++) {
      if (p->on[g][fn]) {
        fail_msg("provider %s still enabled for GUID %u (%s) with nobody listening", p->base, g,
                 fn ? "collection" : "events");
      }
    }
  }
}

static void prov_destroy(fprov *p) {
  join_late(p);
  if (p->provider != NULL) {
    assert_status(wmiev_provider_destroy(p->provider), WMIEV_STATUS_SUCCESS);
    p->provider = NULL;
  }
  assert_int_equal(p->bad, 0);
}

/* ---- Sinks ----------------------------------------------------------------------------------- */

static void sink_cb(const wmiev_event *e, void *payload) {
  sink *s = payload;
  /* The data is whole, and so is the WNODE: it validates as an event, to
   * the view the accessor gives, and what the event shows is in it. A big
   * WNODE built on request is NULL when that ran out of memory (and the
   * view with it). */
  bool whole = data_ok(e->data, e->data_size, e->has_name ? 0u : e->instance_index);
  uint32_t size = 1;
  const void *w = wmiev_event_wnode(e, &size);
  const wmiev_wnode_view *ev_view = wmiev_event_view(e);
  if (w == NULL) {
    whole = whole && size == 0 && ev_view == NULL;
    atomic_fetch_add(&s->wnodes_lost, 1u);
  } else {
    wmiev_wnode_view v;
    whole = whole && ev_view != NULL &&
            WMIEV_SUCCESS(wmiev_wnode_validate(w, size, WMIEV_VALIDATE_REQUIRE_EVENT, &v, NULL)) &&
            v.kind == ev_view->kind && v.buffer_size == ev_view->buffer_size &&
            v.instance.data == ev_view->instance.data && v.instance.size == e->data_size &&
            (e->data_size == 0 || memcmp(v.instance.data, e->data, e->data_size) == 0);
  }
  const char *name = wmiev_event_name_utf8(e);
  if (e->has_name) {
    /* 600 'n's: converted on the heap, or "" when that ran out of memory. */
    if (name[0] == '\0') {
      atomic_fetch_add(&s->names_lost, 1u);
    } else if (strlen(name) != e->name_units || name[0] != 'n') {
      whole = false;
    }
  }
  if (!whole) {
    atomic_fetch_add(&s->bad, 1u);
  }
  atomic_fetch_add(&s->n, 1u);
}

static sink *sink_new(fx *f) {
  assert_true(f->nsinks < MAX_SINKS);
  sink *s = calloc(1, sizeof *s);
  assert_non_null(s);
  s->f = f;
  atomic_init(&s->n, 0u);
  atomic_init(&s->bad, 0u);
  atomic_init(&s->names_lost, 0u);
  atomic_init(&s->wnodes_lost, 0u);
  f->sinks[f->nsinks++] = s;
  return s;
}

static wmiev_status sub(fx *f, sink *s, const GUID *guid) {
  assert_null(s->sub);
  wmiev_status st = wmiev_bus_subscribe(f->bus, guid, sink_cb, s, &s->sub);
  if (!WMIEV_SUCCESS(st)) {
    assert_null(s->sub);
  }
  return st;
}

static void unsub(sink *s) {
  if (s->sub != NULL) {
    assert_status(wmiev_bus_unsubscribe(s->sub), WMIEV_STATUS_SUCCESS);
    s->sub = NULL;
  }
}

/* ---- Fixture life ---------------------------------------------------------------------------- */

static fx *fx_new(wmiev_delivery mode) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->d = debug_alloc_create();
  pthread_mutex_init(&f->mu, NULL);
  for (int i = 0; i < 8; i++) {
    atomic_init(&f->violations[i], 0u);
  }
  f->opts.delivery = mode;
  f->opts.allocator = debug_alloc_allocator(f->d);
  f->opts.max_event_size = 4096;
  f->opts.irp_timeout_ms = TIMEOUT_MS;
  f->opts.on_warning = on_warning;
  f->opts.warning_ctx = f;
  f->opts.on_violation = on_violation;
  f->opts.violation_ctx = f;
  assert_status(wmiev_bus_create(&f->opts, &f->bus), WMIEV_STATUS_SUCCESS);
  f->smoke = prov_up(f, "Smok", &guid_smoke, 2, 0);
  f->smoke->data_size = 40;
  return f;
}

static void check_accounting(fx *f) {
  wmiev_bus_stats s;
  wmiev_bus_get_stats(f->bus, &s);
  uint64_t rejected = 0;
  for (int i = 0; i < WMIEV_REJECT_COUNT_; i++) {
    rejected += s.rejected_by[i];
  }
  assert_int_equal(rejected, s.rejected);
  assert_int_equal(s.queued_now, wmiev_bus_pending(f->bus));
  assert_int_equal(s.fired, s.delivered + s.dropped + s.rejected + s.not_enabled + s.discarded +
                                s.reference_failed + s.traced + s.queued_now);
  for (int w = 1; w < WMIEV_WARN_COUNT_; w++) {
    assert_int_equal(s.warnings[w], warned(f, (wmiev_warning)w));
  }
  /* What the sinks counted is what the bus says it delivered (one sink per GUID here). */
  uint64_t callbacks = 0, bad = 0;
  for (size_t i = 0; i < f->nsinks; i++) {
    callbacks += atomic_load(&f->sinks[i]->n);
    bad += atomic_load(&f->sinks[i]->bad);
  }
  assert_int_equal(s.callbacks, callbacks);
  assert_int_equal(bad, 0);
}

/* With injection off the bus does everything still: subscribe, fire,
 * deliver (pumped: dispatch), query, unsubscribe. */
static void smoke(fx *f) {
  sink *s = sink_new(f);
  assert_status(sub(f, s, &guid_smoke), WMIEV_STATUS_SUCCESS);
  uint8_t data[40];
  fill_data(data, sizeof data, 1);
  assert_status(
      wmiev_bus_fire_event(f->bus, f->smoke->device, &guid_smoke, 1, data, sizeof data, NULL),
      WMIEV_STATUS_SUCCESS);
  (void)wmiev_bus_dispatch(f->bus, 0);
  assert_int_equal(atomic_load(&s->n), 1);
  assert_int_equal(atomic_load(&s->bad), 0);
  _Alignas(8) uint8_t buf[256];
  uint32_t size = sizeof buf;
  wmiev_instance_ref ref = {.provider_id = f->smoke->id, .index = 1};
  assert_status(
      wmiev_query_single_instance(wmiev_bus_registry(f->bus), &guid_smoke, &ref, buf, &size, NULL),
      WMIEV_STATUS_SUCCESS);
  wmiev_wnode_view v;
  assert_status(wmiev_wnode_validate(buf, size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
  assert_true(data_ok(v.instance.data, v.instance.size, 1));
  unsub(s);
}

/* Destroys everything (devices first, then the bus) and checks for leaks. */
static void fx_free(fx *f) {
  for (size_t i = 0; i < f->nsinks; i++) {
    unsub(f->sinks[i]);
  }
  if (f->bus != NULL) {
    (void)wmiev_bus_dispatch(f->bus, 0);
    check_accounting(f);
  }
  for (size_t i = 0; i < f->nprov; i++) {
    prov_check_quiet(f->prov[i]);
    prov_destroy(f->prov[i]);
  }
  if (f->bus != NULL) {
    wmiev_bus_destroy(f->bus);
  }
  if (debug_alloc_live_count(f->d) != 0) {
    (void)debug_alloc_report_leaks(f->d);
  }
  assert_int_equal(debug_alloc_live_count(f->d), 0);
  assert_int_equal(debug_alloc_errors(f->d), 0);
  debug_alloc_destroy(f->d);
  for (size_t i = 0; i < f->nprov; i++) {
    pthread_mutex_destroy(&f->prov[i]->m);
    free(f->prov[i]);
  }
  for (size_t i = 0; i < f->nsinks; i++) {
    free(f->sinks[i]);
  }
  pthread_mutex_destroy(&f->mu);
  free(f);
}

/* Every GUID gets a consumer and loses it again, and every block is opened
 * and closed: DISABLEs a failure left owed go out now, and no provider may
 * see a second ENABLE on the way (checked by its log). */
static void settle(fx *f) {
  const GUID *all[] = {&guid_a, &guid_b, &guid_c, &guid_smoke};
  sink *k = sink_new(f);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    wmiev_subscription *s;
    assert_status(wmiev_bus_subscribe(f->bus, all[i], sink_cb, k, &s), WMIEV_STATUS_SUCCESS);
    assert_status(wmiev_bus_unsubscribe(s), WMIEV_STATUS_SUCCESS);
    wmiev_block_handle *h;
    assert_status(wmiev_bus_open_block(f->bus, all[i], &h), WMIEV_STATUS_SUCCESS);
    assert_status(wmiev_bus_close_block(h), WMIEV_STATUS_SUCCESS);
  }
}

/* ---- The walker ------------------------------------------------------------------------------ */

/* A call that may fail only for want of memory. True if it succeeded; a
 * failure is counted (and must be an injected one). */
static bool ok_or_oom(fx *f, wmiev_status s, const char *what) {
  if (s == WMIEV_STATUS_SUCCESS) {
    return true;
  }
  if (s != WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
    fail_msg("%s: %s, expected STATUS_SUCCESS or STATUS_INSUFFICIENT_RESOURCES", what,
             wmiev_status_name(s));
  }
  if (!debug_alloc_failure_hit(f->d)) {
    fail_msg("%s: STATUS_INSUFFICIENT_RESOURCES without an injected failure", what);
  }
  f->failures++;
  return false;
}

/* TRY(f, call): the call; if it failed for want of memory, single mode
 * repeats it once (the one injected failure is used up: it must succeed now),
 * sticky mode leaves it failed. True if the call (or its repetition) succeeded. */
#define TRY(f, call)                                                                               \
  (ok_or_oom((f), (call), #call) || (!(f)->sticky && (assert_status_ok((call), #call), true)))

static void assert_status_ok(wmiev_status s, const char *what) {
  if (s != WMIEV_STATUS_SUCCESS) {
    fail_msg("%s repeated after the injected failure: %s", what, wmiev_status_name(s));
  }
}

/* wmiev_bus_alloc_event under injection: NULL is its out-of-memory answer. */
static uint8_t *alloc_event(fx *f, size_t size) {
  uint8_t *w = wmiev_bus_alloc_event(f->bus, size);
  if (w == NULL) {
    assert_true(debug_alloc_failure_hit(f->d));
    f->failures++;
    if (!f->sticky) {
      w = wmiev_bus_alloc_event(f->bus, size);
      assert_non_null(w);
    }
  }
  return w;
}

typedef struct walk_def {
  const char *name;
  wmiev_delivery mode;
  void (*setup)(fx *f); /* injection off */
  void (*run)(fx *f);   /* injection armed */
  void (*check)(fx *f); /* injection off, after run */
  bool no_smoke;        /* the run destroys the bus */
} walk_def;

/* Walks N = 1, 2, ... until a run no longer reaches allocation N. Returns
 * the number of runs that had a failure injected. */
static uint64_t walk(const walk_def *w, bool sticky) {
  uint64_t n = 1;
  for (;; n++) {
    assert_true(n < 5000);
    fx *f = fx_new(w->mode);
    f->sticky = sticky;
    if (getenv("FAULTS_TRACE") != NULL) {
      fprintf(stderr, "walk %s %s N=%llu\n", w->name, sticky ? "sticky" : "single",
              (unsigned long long)n);
    }
    if (w->setup != NULL) {
      w->setup(f);
    }
    debug_alloc_fail_nth(f->d, n, sticky);
    w->run(f);
    bool hit = debug_alloc_failure_hit(f->d);
    debug_alloc_fail_nth(f->d, 0, false);
    if (f->bus != NULL) {
      (void)wmiev_bus_dispatch(f->bus, 0);
      /* No injected failure goes unreported. */
      uint64_t visible = f->failures + warned(f, WMIEV_WARN_ENABLE_FAILED) +
                         warned(f, WMIEV_WARN_REFERENCE_FAILED);
      for (size_t i = 0; i < f->nsinks; i++) {
        visible += atomic_load(&f->sinks[i]->names_lost);
        visible += atomic_load(&f->sinks[i]->wnodes_lost);
      }
      if (hit && visible == 0) {
        fail_msg("%s (%s), N = %llu: an allocation failed and nobody was told", w->name,
                 sticky ? "sticky" : "single", (unsigned long long)n);
      }
      if (!hit) {
        assert_int_equal(visible, 0);
      }
    }
    if (w->check != NULL) {
      w->check(f);
    }
    if (f->bus != NULL) {
      settle(f);
    }
    if (!w->no_smoke && f->bus != NULL) {
      check_accounting(f);
      smoke(f);
    }
    fx_free(f);
    if (!hit) {
      break;
    }
  }
  print_message("%s (%s): failures injected at N = 1..%llu\n", w->name,
                sticky ? "sticky" : "single", (unsigned long long)(n - 1));
  return n - 1;
}

/* ---- (a) registration ------------------------------------------------------------------------ */

/* The bus's entry of every GUID used, made now: a registration that cannot
 * make one (out of memory) succeeds anyway, and the GUID's statistics then
 * start at its first subscription (bus/subscribe.c) -- the one allocation
 * failure that only shows in per-GUID statistics, so it is kept out of the
 * "nothing is swallowed" check. */
static void make_guid_entries(fx *f) {
  const GUID *all[] = {&guid_a, &guid_b, &guid_c};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    wmiev_block_handle *h;
    assert_status(wmiev_bus_open_block(f->bus, all[i], &h), WMIEV_STATUS_SUCCESS);
    assert_status(wmiev_bus_close_block(h), WMIEV_STATUS_SUCCESS);
  }
}

static void reg_setup(fx *f) {
  make_guid_entries(f);
  /* A consumer is already there: REGISTER sends ENABLE_EVENTS. */
  sink *s = sink_new(f);
  assert_status(sub(f, s, &guid_a), WMIEV_STATUS_SUCCESS);
}

static void reg_run(fx *f) {
  fprov *p = prov_alloc(f, "Areg");
  p->big_reginfo = true;
  prov_guid(p, &guid_a, 4, 0);
  prov_guid(p, &guid_b, 2, WMIREG_FLAG_EXPENSIVE);
  if (!TRY(f, prov_create(p))) {
    return;
  }
  wmiev_status s = reg_ctl(p, WMIREG_ACTION_REGISTER);
  if (!ok_or_oom(f, s, "REGISTER")) {
    assert_int_equal(blocks_of(f, p, NULL, NULL), 0); /* all or nothing */
    if (f->sticky) {
      return;
    }
    assert_status(reg_ctl(p, WMIREG_ACTION_REGISTER), WMIEV_STATUS_SUCCESS);
  }
  assert_int_equal(blocks_of(f, p, NULL, NULL), 2);
  /* UPDATE_GUIDS: B gets 5 instances, C is new. */
  p->list[1].instance_count = 5;
  prov_guid(p, &guid_c, 3, 0);
  wmiev_provider_set_guid_list(p->provider, p->list, p->count);
  s = reg_ctl(p, WMIREG_ACTION_UPDATE_GUIDS);
  uint32_t count = 0;
  if (!ok_or_oom(f, s, "UPDATE_GUIDS")) {
    /* The old registration stands. */
    assert_int_equal(blocks_of(f, p, &guid_b, &count), 1);
    assert_int_equal(count, 2);
    assert_int_equal(blocks_of(f, p, &guid_c, NULL), 0);
    if (!f->sticky) {
      assert_status(reg_ctl(p, WMIREG_ACTION_UPDATE_GUIDS), WMIEV_STATUS_SUCCESS);
    }
  }
  if (blocks_of(f, p, &guid_c, NULL) == 1) {
    assert_int_equal(blocks_of(f, p, &guid_b, &count), 1);
    assert_int_equal(count, 5);
  }
  /* DEREGISTER needs no memory: it succeeds whatever fails around it. */
  assert_status(reg_ctl(p, WMIREG_ACTION_DEREGISTER), WMIEV_STATUS_SUCCESS);
  assert_int_equal(blocks_of(f, p, NULL, NULL), 0);
  /* Gone while enabled: no DISABLE is due (D11). */
  pthread_mutex_lock(&p->m);
  memset(p->on, 0, sizeof p->on);
  pthread_mutex_unlock(&p->m);
  s = reg_ctl(p, WMIREG_ACTION_REGISTER);
  if (!ok_or_oom(f, s, "REGISTER again")) {
    assert_int_equal(blocks_of(f, p, NULL, NULL), 0);
    if (!f->sticky) {
      assert_status(reg_ctl(p, WMIREG_ACTION_REGISTER), WMIEV_STATUS_SUCCESS);
    }
  }
}

/* ---- (b) subscription ------------------------------------------------------------------------ */

static void sub_setup(fx *f) {
  fprov *p = prov_alloc(f, "Asub");
  prov_guid(p, &guid_a, 4, 0);
  prov_guid(p, &guid_b, 2, WMIREG_FLAG_EXPENSIVE);
  assert_status(prov_create(p), WMIEV_STATUS_SUCCESS);
  assert_status(reg_ctl(p, WMIREG_ACTION_REGISTER), WMIEV_STATUS_SUCCESS);
}

static void sub_run(fx *f) {
  sink *s1 = sink_new(f);
  sink *s2 = sink_new(f);
  (void)TRY(f, sub(f, s1, &guid_a));
  wmiev_block_handle *h = NULL;
  (void)TRY(f, wmiev_bus_open_block(f->bus, &guid_b, &h));
  (void)TRY(f, sub(f, s2, &guid_a));
  sink *extra[EXTRA_GUIDS];
  for (uint32_t i = 0; i < EXTRA_GUIDS; i++) {
    GUID g = extra_guid(i);
    extra[i] = sink_new(f);
    (void)TRY(f, sub(f, extra[i], &g));
  }
  for (uint32_t i = 0; i < EXTRA_GUIDS; i++) {
    unsub(extra[i]);
  }
  unsub(s1);
  unsub(s2); /* the last: DISABLE_EVENTS */
  if (h != NULL) {
    assert_status(wmiev_bus_close_block(h), WMIEV_STATUS_SUCCESS); /* DISABLE_COLLECTION */
  }
  /* Once more: a second ENABLE must follow a DISABLE, never another ENABLE. */
  (void)TRY(f, sub(f, s1, &guid_a));
  unsub(s1);
}

/* ---- (c) fire -------------------------------------------------------------------------------- */

static void fire_setup(fx *f) {
  fprov *p = prov_up(f, "Afir", &guid_a, 4, 0);
  (void)p;
  sink *s = sink_new(f);
  assert_status(sub(f, s, &guid_a), WMIEV_STATUS_SUCCESS);
}

static void write_single(fx *f, fprov *p, uint32_t index, uint32_t size, bool named) {
  static uint16_t name[600];
  for (size_t i = 0; i < 600; i++) {
    name[i] = 'n';
  }
  uint8_t data[3000];
  assert_true(size <= sizeof data);
  fill_data(data, size, named ? 0u : index);
  wmiev_wnode_header_params h = {
      .guid = guid_a, .provider_id = p->id, .extra_flags = WNODE_FLAG_EVENT_ITEM};
  wmiev_wnode_instance in = {.dynamic_name = named,
                             .name = named ? name : NULL,
                             .name_units = named ? 600u : 0u,
                             .index = index,
                             .data = data,
                             .size = size};
  size_t needed = 0;
  assert_status(wmiev_wnode_build_single_instance(NULL, 0, &h, &in, &needed, NULL),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  uint8_t *w = alloc_event(f, needed);
  if (w == NULL) {
    return;
  }
  assert_status(wmiev_wnode_build_single_instance(w, needed, &h, &in, &needed, NULL),
                WMIEV_STATUS_SUCCESS);
  wmiev_diag d;
  wmiev_status s = wmiev_bus_write_event(f->bus, w, &d);
  if (!WMIEV_SUCCESS(s)) {
    assert_status(d.status, s);
    wmiev_bus_free_event(f->bus, w); /* a failed write leaves it with the caller */
  }
  if (!ok_or_oom(f, s, "write_event") && !f->sticky) {
    fail_msg("write_event failed for want of memory, yet it allocates nothing");
  }
}

static wmiev_status fire(fx *f, fprov *p, uint32_t index, uint32_t size) {
  uint8_t data[3000];
  assert_true(size <= sizeof data);
  fill_data(data, size, index);
  wmiev_diag d;
  wmiev_status s = wmiev_bus_fire_event(f->bus, p->device, &guid_a, index, data, size, &d);
  if (!WMIEV_SUCCESS(s)) {
    assert_status(d.status, s);
  }
  return s;
}

static void fire_run(fx *f) {
  fprov *p = f->prov[1];
  (void)TRY(f, fire(f, p, 0, 100));
  (void)TRY(f, fire(f, p, 1, 2000)); /* its WNODE is built on the heap when asked for */
  write_single(f, p, 2, 64, false);
  write_single(f, p, 3, 2500, false);
  write_single(f, p, 0, 32, true); /* a 600-unit dynamic name, converted on the heap */
  (void)wmiev_bus_dispatch(f->bus, 0);
}

static void fire_check(fx *f) {
  /* Every event that was not refused reached the sink whole (checked there). */
  wmiev_bus_stats s;
  wmiev_bus_get_stats(f->bus, &s);
  assert_int_equal(s.delivered, atomic_load(&f->sinks[0]->n));
  assert_int_equal(s.not_enabled + s.discarded + s.reference_failed, 0);
  /* A name that could not be converted is "", a WNODE that could not be
   * built NULL, and only under injection. */
  assert_true(atomic_load(&f->sinks[0]->names_lost) <= 1);
  assert_true(atomic_load(&f->sinks[0]->wnodes_lost) <= 1);
}

/* ---- (d) event references -------------------------------------------------------------------- */

static void ref_setup(fx *f) {
  fprov *p = prov_up(f, "Aref", &guid_a, 4, 0);
  p->data_size = 3000; /* past the first reply buffer: the query grows */
  sink *s = sink_new(f);
  assert_status(sub(f, s, &guid_a), WMIEV_STATUS_SUCCESS);
}

static void ref_run(fx *f) {
  fprov *p = f->prov[1];
  for (uint32_t i = 0; i < 3; i++) {
    uint8_t *w = alloc_event(f, sizeof(WNODE_EVENT_REFERENCE));
    if (w == NULL) {
      continue;
    }
    wmiev_wnode_header_params h = {.guid = guid_a, .provider_id = p->id};
    wmiev_wnode_instance in = {.index = i, .size = i == 0 ? 0u : 3000u};
    size_t needed = 0;
    assert_status(wmiev_wnode_build_event_reference(w, sizeof(WNODE_EVENT_REFERENCE), &h, &in, 0,
                                                    &needed, NULL),
                  WMIEV_STATUS_SUCCESS);
    wmiev_status s = wmiev_bus_write_event(f->bus, w, NULL);
    assert_status(s, WMIEV_STATUS_SUCCESS); /* queued: nothing to allocate */
  }
  /* Resolution queries the provider here; a failure is reference_failed. */
  (void)wmiev_bus_dispatch(f->bus, 0);
}

static void ref_check(fx *f) {
  wmiev_bus_stats s;
  wmiev_bus_get_stats(f->bus, &s);
  assert_int_equal(s.delivered, atomic_load(&f->sinks[0]->n));
  assert_int_equal(s.reference_failed, warned(f, WMIEV_WARN_REFERENCE_FAILED));
  if (s.reference_failed != 0) {
    pthread_mutex_lock(&f->mu);
    bool says = strstr(f->last_warning[WMIEV_WARN_REFERENCE_FAILED],
                       "STATUS_INSUFFICIENT_RESOURCES") != NULL;
    pthread_mutex_unlock(&f->mu);
    assert_true(says);
  }
}

/* ---- (e) queries ----------------------------------------------------------------------------- */

static void query_setup(fx *f) {
  fprov *a = prov_up(f, "A", &guid_b, 3, 0);
  fprov *b = prov_up(f, "B", &guid_b, 3, 0);
  a->data_size = 700; /* 3 x 704 bytes: the first 1024-byte buffer is too small */
  b->data_size = 500;
}

static void check_all_data(fx *f, const uint8_t *buf, uint32_t size) {
  uint32_t at = 0;
  for (size_t k = 1; k <= 2; k++) {
    fprov *p = f->prov[k];
    wmiev_wnode_view v;
    assert_status(wmiev_wnode_validate(buf + at, size - at, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
    assert_int_equal(v.kind, WMIEV_WNODE_ALL_DATA);
    assert_int_equal(v.provider_id, p->id);
    assert_int_equal(v.instance_count, 3);
    for (uint32_t i = 0; i < 3; i++) {
      wmiev_wnode_instance_view in;
      assert_status(wmiev_wnode_view_instance(&v, i, &in), WMIEV_STATUS_SUCCESS);
      assert_int_equal(in.size, p->data_size);
      assert_true(data_ok(in.data, in.size, i));
    }
    uint32_t linkage;
    memcpy(&linkage, buf + at + offsetof(WNODE_HEADER, Linkage), 4);
    assert_int_equal(linkage == 0, k == 2);
    at += linkage;
  }
}

static wmiev_status query_sized(fx *f, uint32_t *size) {
  wmiev_diag d;
  *size = 0;
  wmiev_status s = wmiev_query_all_data(wmiev_bus_registry(f->bus), &guid_b, NULL, size, &d);
  if (s == WMIEV_STATUS_BUFFER_TOO_SMALL) {
    return WMIEV_STATUS_SUCCESS; /* the first of the two calls did its job */
  }
  assert_status(d.status, s);
  return s;
}

static void query_run(fx *f) {
  wmiev_registry *r = wmiev_bus_registry(f->bus);
  uint32_t size = 0;
  if (TRY(f, query_sized(f, &size))) {
    assert_true(size > 2000);
    uint8_t *buf = malloc(size);
    assert_non_null(buf);
    uint32_t got = size;
    wmiev_diag d;
    wmiev_status s = wmiev_query_all_data(r, &guid_b, buf, &got, &d);
    if (!ok_or_oom(f, s, "QUERY_ALL_DATA")) {
      assert_status(d.status, s);
      got = size;
      if (!f->sticky) {
        assert_status(wmiev_query_all_data(r, &guid_b, buf, &got, NULL), WMIEV_STATUS_SUCCESS);
      }
    }
    if (WMIEV_SUCCESS(s) || !f->sticky) {
      assert_int_equal(got, size);
      check_all_data(f, buf, got);
    }
    free(buf);
  }
  _Alignas(8) uint8_t one[1024];
  uint32_t one_size = sizeof one;
  wmiev_instance_ref by_index = {.provider_id = f->prov[2]->id, .index = 2};
  if (TRY(f, wmiev_query_single_instance(r, &guid_b, &by_index, one, &one_size, NULL))) {
    wmiev_wnode_view v;
    assert_status(wmiev_wnode_validate(one, one_size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
    assert_true(data_ok(v.instance.data, v.instance.size, 2));
  }
  static const uint16_t a1[2] = {'A', '1'};
  wmiev_instance_ref by_name = {.name = a1, .name_units = 2};
  one_size = sizeof one;
  if (TRY(f, wmiev_query_single_instance(r, &guid_b, &by_name, one, &one_size, NULL))) {
    wmiev_wnode_view v;
    assert_status(wmiev_wnode_validate(one, one_size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
    assert_int_equal(v.provider_id, f->prov[1]->id);
    assert_true(data_ok(v.instance.data, v.instance.size, 1));
  }
  uint8_t in[16], out[16];
  for (uint32_t i = 0; i < 16; i++) {
    in[i] = (uint8_t)(i * 9u);
  }
  uint32_t out_size = sizeof out;
  if (TRY(f, wmiev_execute_method(r, &guid_b, &by_index, 1, in, sizeof in, out, &out_size, NULL))) {
    assert_int_equal(out_size, sizeof in);
    for (uint32_t i = 0; i < 16; i++) {
      assert_int_equal(out[i], (uint8_t)(in[i] ^ XOR_METHOD_KEY));
    }
  }
}

/* ---- (f) teardown ---------------------------------------------------------------------------- */

static void teardown_setup(fx *f) {
  fprov *a = prov_alloc(f, "Atdn");
  prov_guid(a, &guid_a, 2, 0);
  prov_guid(a, &guid_b, 2, WMIREG_FLAG_EXPENSIVE);
  assert_status(prov_create(a), WMIEV_STATUS_SUCCESS);
  assert_status(reg_ctl(a, WMIREG_ACTION_REGISTER), WMIEV_STATUS_SUCCESS);
  fprov *b = prov_up(f, "Btdn", &guid_a, 2, 0);
  (void)b;
  sink *s1 = sink_new(f);
  sink *s2 = sink_new(f);
  sink *s3 = sink_new(f);
  assert_status(sub(f, s1, &guid_a), WMIEV_STATUS_SUCCESS);
  assert_status(sub(f, s2, &guid_a), WMIEV_STATUS_SUCCESS);
  assert_status(sub(f, s3, &guid_b), WMIEV_STATUS_SUCCESS);
  for (uint32_t i = 0; i < 3; i++) {
    assert_status(fire(f, a, i % 2u, 48), WMIEV_STATUS_SUCCESS); /* queued, never delivered */
  }
  assert_status(wmiev_bus_open_block(f->bus, &guid_b, &f->handle), WMIEV_STATUS_SUCCESS);
}

static void teardown_run(fx *f) {
  /* Unsubscribing and closing send DISABLEs, whose IRPs need memory: a
   * failure is a warning and the provider stays enabled (nothing else). */
  unsub(f->sinks[0]);                                                    /* not the last */
  unsub(f->sinks[2]);                                                    /* B's last: DISABLE */
  assert_status(wmiev_bus_close_block(f->handle), WMIEV_STATUS_SUCCESS); /* DISABLE_COLLECTION */
  bool hit = debug_alloc_failure_hit(f->d);
  if (hit) {
    assert_true(warned(f, WMIEV_WARN_ENABLE_FAILED) >= 1);
  } else {
    assert_int_equal(warned(f, WMIEV_WARN_ENABLE_FAILED), 0);
  }
  /* Destroying needs no memory at all. */
  debug_alloc_fail_nth(f->d, 1, true);
  for (size_t i = 0; i < f->nprov; i++) {
    prov_destroy(f->prov[i]);
    /* Gone while enabled: no DISABLE is due (D11). */
    pthread_mutex_lock(&f->prov[i]->m);
    memset(f->prov[i]->on, 0, sizeof f->prov[i]->on);
    pthread_mutex_unlock(&f->prov[i]->m);
  }
  /* The bus releases the subscription left (s2) and discards the queue. */
  wmiev_bus_destroy(f->bus);
  f->bus = NULL;
  f->sinks[1]->sub = NULL;
  assert_false(debug_alloc_failure_hit(f->d));
  /* Tell the walker whether this N was reached before the destroys. */
  debug_alloc_fail_nth(f->d, hit ? 1 : 0, false);
  if (hit) {
    (void)debug_alloc_allocator(f->d)->alloc(1, f->d); /* registers the hit: NULL */
  }
}

/* ---- The walks ------------------------------------------------------------------------------- */

static const walk_def walk_registration = {
    "registration", WMIEV_DELIVERY_SYNC, reg_setup, reg_run, NULL, false};
static const walk_def walk_subscription = {
    "subscription", WMIEV_DELIVERY_PUMPED, sub_setup, sub_run, NULL, false};
static const walk_def walk_fire_sync = {"fire (sync)", WMIEV_DELIVERY_SYNC, fire_setup,
                                        fire_run,      fire_check,          false};
static const walk_def walk_fire_pumped = {
    "fire (pumped)", WMIEV_DELIVERY_PUMPED, fire_setup, fire_run, fire_check, false};
static const walk_def walk_reference = {
    "reference", WMIEV_DELIVERY_PUMPED, ref_setup, ref_run, ref_check, false};
static const walk_def walk_queries = {"queries", WMIEV_DELIVERY_SYNC, query_setup, query_run, NULL,
                                      false};
static const walk_def walk_teardown = {
    "teardown", WMIEV_DELIVERY_PUMPED, teardown_setup, teardown_run, NULL, true};

static void test_walk_registration(void **state) {
  (void)state;
  assert_true(walk(&walk_registration, false) >= 20);
  assert_true(walk(&walk_registration, true) >= 20);
}

static void test_walk_subscription(void **state) {
  (void)state;
  assert_true(walk(&walk_subscription, false) >= 20);
  assert_true(walk(&walk_subscription, true) >= 20);
}

static void test_walk_fire(void **state) {
  (void)state;
  assert_true(walk(&walk_fire_sync, false) >= 4);
  assert_true(walk(&walk_fire_sync, true) >= 4);
  assert_true(walk(&walk_fire_pumped, false) >= 3);
  assert_true(walk(&walk_fire_pumped, true) >= 3);
}

static void test_walk_reference(void **state) {
  (void)state;
  assert_true(walk(&walk_reference, false) >= 6);
  assert_true(walk(&walk_reference, true) >= 6);
}

static void test_walk_queries(void **state) {
  (void)state;
  assert_true(walk(&walk_queries, false) >= 10);
  assert_true(walk(&walk_queries, true) >= 10);
}

static void test_walk_teardown(void **state) {
  (void)state;
  (void)walk(&walk_teardown, false);
  (void)walk(&walk_teardown, true);
}

static wmiev_status build_ref(uint8_t *w, const wmiev_wnode_header_params *h,
                              const wmiev_wnode_instance *in) {
  size_t needed = 0;
  return wmiev_wnode_build_event_reference(w, sizeof(WNODE_EVENT_REFERENCE), h, in, 0, &needed,
                                           NULL);
}

/* ==== Misbehaving providers =================================================================== */

typedef struct misbehaviour {
  qmode mode;
  wmiev_status single;       /* QUERY_SINGLE_INSTANCE (and so a reference's warning) */
  wmiev_status all;          /* QUERY_ALL_DATA */
  wmiev_violation violation; /* recorded by the registry, or 0 */
} misbehaviour;

/* A single instance's size is the bytes used (WmiCompleteRequest): the
 * length slot a callback scribbles on is not part of that reply. */
static const misbehaviour misbehaviours[] = {
    {Q_FAIL, WMIEV_STATUS_UNSUCCESSFUL, WMIEV_STATUS_UNSUCCESSFUL, (wmiev_violation)0},
    {Q_LENGTHS_PAST, WMIEV_STATUS_SUCCESS, WMIEV_STATUS_INVALID_BUFFER_SIZE,
     WMIEV_VIOLATION_BAD_REPLY},
    {Q_USED_PAST, WMIEV_STATUS_INVALID_BUFFER_SIZE, WMIEV_STATUS_INVALID_BUFFER_SIZE,
     WMIEV_VIOLATION_BAD_REPLY},
    {Q_ABSURD, WMIEV_STATUS_INVALID_BUFFER_SIZE, WMIEV_STATUS_INVALID_BUFFER_SIZE,
     WMIEV_VIOLATION_BAD_REPLY},
    {Q_NO_COMPLETE, WMIEV_STATUS_DRIVER_INTERNAL_ERROR, WMIEV_STATUS_DRIVER_INTERNAL_ERROR,
     WMIEV_VIOLATION_NOT_COMPLETED},
    {Q_NEVER, WMIEV_STATUS_IO_TIMEOUT, WMIEV_STATUS_IO_TIMEOUT, WMIEV_VIOLATION_PENDING_TIMEOUT},
    {Q_LATE, WMIEV_STATUS_SUCCESS, WMIEV_STATUS_SUCCESS, (wmiev_violation)0},
};

static const char *const qmode_names[] = {
    "ok", "fail", "lengths past", "used past", "absurd needed", "no completion", "late", "never"};

/* A provider whose query answers misbehave, asked through every bus path
 * that queries: event-reference resolution (pumped), QUERY_SINGLE_INSTANCE
 * and QUERY_ALL_DATA (which a healthy second provider also answers). The
 * bus keeps working in each case. */
static void test_misbehaving_queries(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof misbehaviours / sizeof misbehaviours[0]; c++) {
    const misbehaviour *m = &misbehaviours[c];
    fx *f = fx_new(WMIEV_DELIVERY_PUMPED);
    fprov *bad = prov_up(f, "Abad", &guid_a, 4, 0);
    fprov *good = prov_up(f, "Bgoo", &guid_a, 4, 0);
    bad->data_size = 1500; /* past the reference's first buffer: two requests */
    sink *s = sink_new(f);
    assert_status(sub(f, s, &guid_a), WMIEV_STATUS_SUCCESS);
    atomic_store(&bad->qmode, m->mode);

    /* 1. An event reference to it, between two ordinary events. */
    uint8_t data[64];
    fill_data(data, 64, 0);
    assert_status(wmiev_bus_fire_event(f->bus, good->device, &guid_a, 0, data, 64, NULL),
                  WMIEV_STATUS_SUCCESS);
    uint8_t *w = wmiev_bus_alloc_event(f->bus, sizeof(WNODE_EVENT_REFERENCE));
    assert_non_null(w);
    wmiev_wnode_header_params h = {.guid = guid_a, .provider_id = bad->id};
    wmiev_wnode_instance in = {.index = 3, .size = 0};
    assert_status(build_ref(w, &h, &in), WMIEV_STATUS_SUCCESS);
    assert_status(wmiev_bus_write_event(f->bus, w, NULL), WMIEV_STATUS_SUCCESS);
    fill_data(data, 64, 1);
    assert_status(wmiev_bus_fire_event(f->bus, good->device, &guid_a, 1, data, 64, NULL),
                  WMIEV_STATUS_SUCCESS);
    uint64_t t0 = now_ms();
    assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 3);
    uint64_t took = now_ms() - t0;
    wmiev_bus_stats st;
    wmiev_bus_get_stats(f->bus, &st);
    if (m->single == WMIEV_STATUS_SUCCESS) {
      assert_int_equal(atomic_load(&s->n), 3);
      assert_int_equal(st.reference_failed, 0);
    } else {
      /* The two ordinary events arrive; the reference fails, and says why. */
      if (atomic_load(&s->n) != 2) {
        fail_msg("%s: the reference was delivered", qmode_names[m->mode]);
      }
      assert_int_equal(st.reference_failed, 1);
      assert_int_equal(warned(f, WMIEV_WARN_REFERENCE_FAILED), 1);
      pthread_mutex_lock(&f->mu);
      if (strstr(f->last_warning[WMIEV_WARN_REFERENCE_FAILED], wmiev_status_name(m->single)) ==
          NULL) {
        fail_msg("%s: warning '%s' does not name %s", qmode_names[m->mode],
                 f->last_warning[WMIEV_WARN_REFERENCE_FAILED], wmiev_status_name(m->single));
      }
      pthread_mutex_unlock(&f->mu);
    }
    /* Bounded: a provider that never answers costs one IRP timeout, no more. */
    assert_true(took < 20u * TIMEOUT_MS);
    if (m->mode == Q_NEVER) {
      assert_true(took + 5u >= TIMEOUT_MS);
      complete_pended(bad); /* late, after its sender gave up: harmless */
    }
    join_late(bad);

    /* 2. QUERY_SINGLE_INSTANCE and QUERY_ALL_DATA through the requester. */
    wmiev_registry *r = wmiev_bus_registry(f->bus);
    static _Alignas(8) uint8_t buf[16384];
    uint32_t size = sizeof buf;
    wmiev_instance_ref ref = {.provider_id = bad->id, .index = 2};
    wmiev_diag d;
    memset(buf, 0xcc, sizeof buf);
    wmiev_status qs = wmiev_query_single_instance(r, &guid_a, &ref, buf, &size, &d);
    assert_status(qs, m->single);
    if (WMIEV_SUCCESS(qs)) {
      wmiev_wnode_view v;
      assert_status(wmiev_wnode_validate(buf, size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
      assert_true(data_ok(v.instance.data, v.instance.size, 2));
    } else {
      assert_status(d.status, qs);
      assert_int_equal(buf[0], 0xcc); /* nothing half-written */
    }
    if (m->mode == Q_NEVER) {
      complete_pended(bad);
    }
    join_late(bad);
    size = sizeof buf;
    qs = wmiev_query_all_data(r, &guid_a, buf, &size, &d);
    assert_status(qs, m->all); /* the first provider failure is the answer (D10) */
    if (m->mode == Q_NEVER) {
      complete_pended(bad);
    }
    join_late(bad);
    if (m->violation != 0) {
      assert_true(violations(f, m->violation) >= 1);
    }

    /* 3. The bus works: a well-behaved provider (and this one, behaving again). */
    atomic_store(&bad->qmode, Q_OK);
    size = sizeof buf;
    assert_status(wmiev_query_all_data(r, &guid_a, buf, &size, NULL), WMIEV_STATUS_SUCCESS);
    w = wmiev_bus_alloc_event(f->bus, sizeof(WNODE_EVENT_REFERENCE));
    assert_non_null(w);
    assert_status(build_ref(w, &h, &in), WMIEV_STATUS_SUCCESS);
    assert_status(wmiev_bus_write_event(f->bus, w, NULL), WMIEV_STATUS_SUCCESS);
    uint64_t before = atomic_load(&s->n);
    assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
    assert_int_equal(atomic_load(&s->n), before + 1);
    smoke(f);
    fx_free(f);
  }
}

/* ENABLE/DISABLE answered late from another thread, and never. */
static void test_function_control_pends(void **state) {
  (void)state;
  /* Late: the subscribe waits for the completion; everything else as usual. */
  fx *f = fx_new(WMIEV_DELIVERY_SYNC);
  fprov *p = prov_alloc(f, "Alat");
  prov_guid(p, &guid_a, 2, 0);
  prov_guid(p, &guid_b, 2, WMIREG_FLAG_EXPENSIVE);
  assert_status(prov_create(p), WMIEV_STATUS_SUCCESS);
  assert_status(reg_ctl(p, WMIREG_ACTION_REGISTER), WMIEV_STATUS_SUCCESS);
  atomic_store(&p->cmode, C_LATE);
  sink *s = sink_new(f);
  uint64_t t0 = now_ms();
  assert_status(sub(f, s, &guid_a), WMIEV_STATUS_SUCCESS);
  assert_true(now_ms() - t0 + 2u >= LATE_MS);
  join_late(p);
  assert_true(p->on[0][0]);
  wmiev_block_handle *h;
  assert_status(wmiev_bus_open_block(f->bus, &guid_b, &h), WMIEV_STATUS_SUCCESS);
  join_late(p);
  assert_true(p->on[1][1]);
  assert_int_equal(warned(f, WMIEV_WARN_ENABLE_FAILED), 0);
  assert_status(fire(f, p, 1, 40), WMIEV_STATUS_SUCCESS);
  assert_int_equal(atomic_load(&s->n), 1);
  assert_int_equal(warned(f, WMIEV_WARN_PROVIDER_NOT_ENABLED), 0);
  unsub(s);
  join_late(p);
  assert_status(wmiev_bus_close_block(h), WMIEV_STATUS_SUCCESS);
  join_late(p);
  assert_false(p->on[0][0]);
  assert_false(p->on[1][1]);
  smoke(f);
  fx_free(f);

  /* Never: each request costs one IRP timeout, fails with STATUS_IO_TIMEOUT
   * (a warning and a violation), and the provider is not counted enabled,
   * so it gets no DISABLE; the bus goes on. */
  f = fx_new(WMIEV_DELIVERY_SYNC);
  p = prov_up(f, "Anev", &guid_a, 2, 0);
  atomic_store(&p->cmode, C_NEVER);
  s = sink_new(f);
  t0 = now_ms();
  assert_status(sub(f, s, &guid_a), WMIEV_STATUS_SUCCESS);
  uint64_t took = now_ms() - t0;
  assert_true(took + 5u >= TIMEOUT_MS && took < 20u * TIMEOUT_MS);
  assert_int_equal(warned(f, WMIEV_WARN_ENABLE_FAILED), 1);
  pthread_mutex_lock(&f->mu);
  assert_non_null(strstr(f->last_warning[WMIEV_WARN_ENABLE_FAILED], "STATUS_IO_TIMEOUT"));
  pthread_mutex_unlock(&f->mu);
  assert_int_equal(violations(f, WMIEV_VIOLATION_PENDING_TIMEOUT), 1);
  /* Events still flow, flagged as from a provider that is not enabled. */
  assert_status(fire(f, p, 0, 40), WMIEV_STATUS_SUCCESS);
  assert_int_equal(atomic_load(&s->n), 1);
  assert_int_equal(warned(f, WMIEV_WARN_PROVIDER_NOT_ENABLED), 1);
  complete_pended(p); /* long after the sender gave up */
  atomic_store(&p->cmode, C_OK);
  unsub(s); /* no DISABLE: the ENABLE never took */
  assert_int_equal(p->disables, 0);
  /* Behaving again: ENABLE, DISABLE. */
  assert_status(sub(f, s, &guid_a), WMIEV_STATUS_SUCCESS);
  assert_int_equal(p->enables, 1);
  unsub(s);
  assert_int_equal(p->disables, 1);
  smoke(f);
  fx_free(f);
}

/* A provider stuck on a request does not hold up the others' events, its
 * DEREGISTER, or its destruction. */
static void test_stuck_provider_does_not_wedge(void **state) {
  (void)state;
  fx *f = fx_new(WMIEV_DELIVERY_PUMPED);
  fprov *stuck = prov_up(f, "Astk", &guid_a, 4, 0);
  fprov *good = prov_up(f, "Bgoo", &guid_a, 4, 0);
  sink *s = sink_new(f);
  assert_status(sub(f, s, &guid_a), WMIEV_STATUS_SUCCESS);
  atomic_store(&stuck->qmode, Q_NEVER);
  for (uint32_t i = 0; i < 4; i++) {
    uint8_t *w = wmiev_bus_alloc_event(f->bus, sizeof(WNODE_EVENT_REFERENCE));
    assert_non_null(w);
    wmiev_wnode_header_params h = {.guid = guid_a, .provider_id = i % 2u ? good->id : stuck->id};
    wmiev_wnode_instance in = {.index = i, .size = 24};
    assert_status(build_ref(w, &h, &in), WMIEV_STATUS_SUCCESS);
    assert_status(wmiev_bus_write_event(f->bus, w, NULL), WMIEV_STATUS_SUCCESS);
    assert_status(fire(f, good, i, 40), WMIEV_STATUS_SUCCESS);
    if (i == 0) {
      /* One timeout per reference to the stuck provider: dispatch this one now. */
      uint64_t t0 = now_ms();
      assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 2);
      assert_true(now_ms() - t0 < 20u * TIMEOUT_MS);
      complete_pended(stuck);
      atomic_store(&stuck->qmode, Q_NO_COMPLETE); /* fails at once from now on */
    }
  }
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 6);
  wmiev_bus_stats st;
  wmiev_bus_get_stats(f->bus, &st);
  assert_int_equal(st.reference_failed, 2);
  assert_int_equal(atomic_load(&s->n), 6); /* 4 events + the good provider's 2 references */
  /* A request left pending, then DEREGISTER and destroy: bounded by the timeout. */
  atomic_store(&stuck->qmode, Q_NEVER);
  _Alignas(8) uint8_t buf[512];
  uint32_t size = sizeof buf;
  wmiev_instance_ref ref = {.provider_id = stuck->id, .index = 0};
  assert_status(
      wmiev_query_single_instance(wmiev_bus_registry(f->bus), &guid_a, &ref, buf, &size, NULL),
      WMIEV_STATUS_IO_TIMEOUT);
  uint64_t t0 = now_ms();
  assert_status(reg_ctl(stuck, WMIREG_ACTION_DEREGISTER), WMIEV_STATUS_SUCCESS);
  assert_true(now_ms() - t0 < 20u * TIMEOUT_MS);
  complete_pended(stuck);
  pthread_mutex_lock(&stuck->m);
  stuck->on[0][0] = false; /* deregistered while enabled: no DISABLE (D11) */
  pthread_mutex_unlock(&stuck->m);
  smoke(f);
  fx_free(f);
}

/* ==== Regressions ============================================================================= */

/*
 * REREGISTER raced with a first subscriber (found by wmiev-stress): the
 * registry commits the new blocks, then tells the bus (REMOVED for the old
 * blocks, ADDED for the new ones). A subscribe that ran in between sent the
 * provider an ENABLE for its new block; the REMOVED then made the bus forget
 * it, and the ADDED sent a second ENABLE: two in a row, and one DISABLE too
 * few. REREGISTER is DEREGISTER + REGISTER (spec), so no WMI IRP reaches the
 * device until the bus has heard the old blocks go.
 *
 * Made deterministic: thread T1 subscribes to C; the provider of C holds
 * T1 inside its ENABLE (the bus's control lock held) until thread T2's
 * REREGISTER of V has committed (V's A block now has 3 instances), then
 * subscribes to A from there, which enables V while T2 waits to notify.
 */
typedef struct race {
  fx *f;
  fprov *v;
  sink *on_a;
  atomic_int stage; /* 1: T1 holds control; 2: T2 committed */
} race;

static void hold_and_subscribe(fprov *p, uint32_t guid_index, bool enable) {
  race *r = p->hook_ctx;
  (void)guid_index;
  if (!enable || atomic_load(&r->stage) != 0) {
    return;
  }
  atomic_store(&r->stage, 1);
  while (atomic_load(&r->stage) != 2) {
    sleep_ms(1);
  }
  (void)wmiev_bus_subscribe(r->f->bus, &guid_a, sink_cb, r->on_a, &r->on_a->sub);
}

static void *t1_subscribe_c(void *arg) {
  race *r = arg;
  sink *s = r->f->sinks[r->f->nsinks - 2];
  (void)wmiev_bus_subscribe(r->f->bus, &guid_c, sink_cb, s, &s->sub);
  return NULL;
}

static void *t2_reregister(void *arg) {
  race *r = arg;
  (void)wmiev_registration_control(r->v->device, WMIREG_ACTION_REREGISTER, NULL);
  return NULL;
}

static void test_reregister_races_first_subscriber(void **state) {
  (void)state;
  fx *f = fx_new(WMIEV_DELIVERY_SYNC);
  race r = {.f = f};
  atomic_init(&r.stage, 0);
  r.v = prov_up(f, "Avol", &guid_a, 2, 0);
  fprov *h = prov_up(f, "Bhld", &guid_c, 1, 0);
  h->on_control = hold_and_subscribe;
  h->hook_ctx = &r;
  sink *on_c = sink_new(f);
  (void)on_c;
  r.on_a = sink_new(f);
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, t1_subscribe_c, &r), 0);
  while (atomic_load(&r.stage) != 1) {
    sleep_ms(1);
  }
  r.v->list[0].instance_count = 3;
  wmiev_provider_set_guid_list(r.v->provider, r.v->list, r.v->count);
  assert_int_equal(pthread_create(&t2, NULL, t2_reregister, &r), 0);
  uint32_t count = 0;
  while (blocks_of(f, r.v, &guid_a, &count) != 1 || count != 3) {
    sleep_ms(1);
  }
  atomic_store(&r.stage, 2);
  assert_int_equal(pthread_join(t1, NULL), 0);
  assert_int_equal(pthread_join(t2, NULL), 0);
  assert_non_null(r.on_a->sub);
  /* V was enabled once for A, for its new registration. */
  assert_int_equal(r.v->bad, 0);
  assert_int_equal(r.v->enables, 1);
  assert_true(r.v->on[0][0]);
  /* The subscribe in between found V disconnected, and said so. */
  assert_int_equal(warned(f, WMIEV_WARN_ENABLE_FAILED), 1);
  pthread_mutex_lock(&f->mu);
  assert_non_null(strstr(f->last_warning[WMIEV_WARN_ENABLE_FAILED], "DISCONNECTED"));
  pthread_mutex_unlock(&f->mu);
  unsub(r.on_a);
  assert_int_equal(r.v->disables, 1);
  assert_false(r.v->on[0][0]);
  smoke(f);
  fx_free(f);
}

/*
 * A provider destroyed while a query is under way (found by wmiev-stress
 * under ASan): QUERY_ALL_DATA asks the providers of its snapshot one after
 * the other, and sent the IRP (and formatted its diagnostics) through the
 * snapshot's device pointer, freed meanwhile. Here the first provider's
 * answer destroys the second: the query must skip it as gone
 * (STATUS_WMI_GUID_DISCONNECTED, D10) and return the first one's data.
 */
static void destroy_other_once(fprov *p) {
  fprov *other = p->hook_ctx;
  if (other != NULL && other->provider != NULL) {
    assert_status(wmiev_provider_destroy(other->provider), WMIEV_STATUS_SUCCESS);
    other->provider = NULL;
  }
}

static void test_provider_destroyed_during_query(void **state) {
  (void)state;
  fx *f = fx_new(WMIEV_DELIVERY_SYNC);
  fprov *a = prov_up(f, "A", &guid_b, 2, 0);
  fprov *b = prov_up(f, "B", &guid_b, 2, 0);
  fprov *c = prov_up(f, "C", &guid_b, 2, 0);
  a->on_query = destroy_other_once;
  a->hook_ctx = b;
  static _Alignas(8) uint8_t buf[4096];
  uint32_t size = sizeof buf;
  wmiev_diag d;
  assert_status(wmiev_query_all_data(wmiev_bus_registry(f->bus), &guid_b, buf, &size, &d),
                WMIEV_STATUS_SUCCESS);
  assert_null(b->provider);
  /* A's reply, then C's: B is gone. */
  wmiev_wnode_view v;
  assert_status(wmiev_wnode_validate(buf, size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(v.provider_id, a->id);
  uint32_t linkage;
  memcpy(&linkage, buf + offsetof(WNODE_HEADER, Linkage), 4);
  assert_true(linkage != 0 && linkage < size);
  assert_status(wmiev_wnode_validate(buf + linkage, size - linkage, 0, &v, NULL),
                WMIEV_STATUS_SUCCESS);
  assert_int_equal(v.provider_id, c->id);
  memcpy(&linkage, buf + linkage + offsetof(WNODE_HEADER, Linkage), 4);
  assert_int_equal(linkage, 0);
  a->on_query = NULL;
  smoke(f);
  fx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_walk_registration),
      cmocka_unit_test(test_walk_subscription),
      cmocka_unit_test(test_walk_fire),
      cmocka_unit_test(test_walk_reference),
      cmocka_unit_test(test_walk_queries),
      cmocka_unit_test(test_walk_teardown),
      cmocka_unit_test(test_misbehaving_queries),
      cmocka_unit_test(test_function_control_pends),
      cmocka_unit_test(test_stuck_provider_does_not_wedge),
      cmocka_unit_test(test_reregister_races_first_subscriber),
      cmocka_unit_test(test_provider_destroyed_during_query),
  };
  /* FAULTS_TEST_FILTER=test_walk_* runs a subset (cmocka's wildcard pattern). */
  const char *filter = getenv("FAULTS_TEST_FILTER");
  if (filter != NULL) {
    cmocka_set_test_filter(filter);
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
