/* The bus tests' shared fixture (bus_fixture.h). */
#include "bus_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- GUIDs, bytes ------------------------------------------------------------------------------
 */

const GUID guid_ev = {0x0a0b0c0d, 0x1122, 0x3344, {0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc}};
const GUID guid_ev2 = {
    0x0a0b0c0e, 0x1122, 0x3344, {0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc}};
const GUID guid_pdo = {
    0x5a5a5a5a, 0x1111, 0x2222, {0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66}};
const GUID guid_dyn = {
    0xa1a2a3a4, 0xb1b2, 0xc1c2, {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8}};
const GUID guid_data = {
    0x01020304, 0x0506, 0x0708, {0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}};
const GUID guid_other = {
    0x0b0b0b0b, 0x0000, 0x0000, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02}};
const GUID guid_never = {
    0x0c0c0c0c, 0x0000, 0x0000, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03}};

const GUID *const all_guids[GUID_COUNT] = {&guid_ev,   &guid_ev2,   &guid_pdo,  &guid_dyn,
                                           &guid_data, &guid_other, &guid_never};

size_t guid_ix(const GUID *g) {
  for (size_t i = 0; i < GUID_COUNT; i++) {
    if (memcmp(all_guids[i], g, sizeof *g) == 0) {
      return i;
    }
  }
  fail_msg("unknown test GUID");
  return 0;
}

void put32(uint8_t *p, size_t at, uint32_t v) { memcpy(p + at, &v, sizeof v); }

uint32_t get32(const uint8_t *p, size_t at) {
  uint32_t v;
  memcpy(&v, p + at, sizeof v);
  return v;
}

uint8_t pattern_byte(size_t i, uint32_t seed) {
  return (uint8_t)((i * 31u + (i >> 8) + seed * 17u + 5u) & 0xffu);
}

void pattern(uint8_t *out, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    out[i] = pattern_byte(i, seed);
  }
}

bool is_pattern(const uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != pattern_byte(i, seed)) {
      return false;
    }
  }
  return true;
}

size_t utf16(const char *s, uint16_t *out, size_t cap) {
  size_t n = strlen(s);
  assert_true(n <= cap);
  for (size_t i = 0; i < n; i++) {
    out[i] = (uint16_t)(unsigned char)s[i];
  }
  return n;
}

/* ---- the fixture ----------------------------------------------------------------------------- */

static int64_t virtual_now(void *ctx) { return atomic_load(&((fixture *)ctx)->now); }

static void on_warning(wmiev_warning w, const char *message, void *ctx) {
  fixture *f = ctx;
  /* No cmocka assertion here: threaded tests fire from other threads. A
   * message that is not one line of printable text (never stale stack
   * bytes), or a kind out of range, is counted under kind 0, which
   * check_accounting() requires to stay 0. */
  size_t len = message != NULL ? strlen(message) : 0;
  bool bad =
      len == 0 || len >= sizeof f->last_warning[0] || (int)w <= 0 || (int)w >= WMIEV_WARN_COUNT_;
  for (size_t i = 0; i < len; i++) {
    bad = bad || message[i] < 0x20 || message[i] >= 0x7f;
  }
  pthread_mutex_lock(&f->mu);
  if (bad) {
    f->warned[0]++;
  } else {
    f->warned[w]++;
    memcpy(f->last_warning[w], message, len + 1);
  }
  pthread_mutex_unlock(&f->mu);
}

uint64_t warned(fixture *f, wmiev_warning w) {
  pthread_mutex_lock(&f->mu);
  uint64_t n = f->warned[w];
  pthread_mutex_unlock(&f->mu);
  return n;
}

int fixture_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->d = debug_alloc_create();
  pthread_mutex_init(&f->mu, NULL);
  atomic_init(&f->now, T0);
  f->opts.delivery = WMIEV_DELIVERY_SYNC;
  f->opts.allocator = debug_alloc_allocator(f->d);
  f->opts.clock.now = virtual_now;
  f->opts.clock.ctx = f;
  f->opts.on_warning = on_warning;
  f->opts.warning_ctx = f;
  *state = f;
  return 0;
}

void bus_start(fixture *f) {
  assert_null(f->bus);
  assert_status(wmiev_bus_create(&f->opts, &f->bus), WMIEV_STATUS_SUCCESS);
}

void bus_start_mode(fixture *f, wmiev_delivery delivery) {
  f->opts.delivery = delivery;
  bus_start(f);
}

wmiev_registry *reg(fixture *f) { return wmiev_bus_registry(f->bus); }

bool pumped(fixture *f) { return wmiev_bus_delivery(f->bus) != WMIEV_DELIVERY_SYNC; }

wmiev_bus_stats stats(fixture *f) {
  wmiev_bus_stats s;
  wmiev_bus_get_stats(f->bus, &s);
  return s;
}

wmiev_bus_stats guid_stats(fixture *f, const GUID *g) {
  wmiev_bus_stats s;
  wmiev_bus_get_guid_stats(f->bus, g, &s);
  return s;
}

/* ---- accounting ------------------------------------------------------------------------------ */

static uint64_t ended(const wmiev_bus_stats *s) {
  return s->rejected + s->not_enabled + s->traced + s->dropped + s->discarded +
         s->reference_failed + s->delivered;
}

static void check_rejected_sum(const wmiev_bus_stats *s) {
  uint64_t sum = 0;
  for (int r = 0; r < WMIEV_REJECT_COUNT_; r++) {
    sum += s->rejected_by[r];
  }
  assert_int_equal(sum, s->rejected);
}

/* bus.h: every fired event ends in exactly one counter, or is still queued;
 * per GUID too (events still queued are spread over the GUIDs). */
void check_accounting(fixture *f) {
  wmiev_bus_stats s = stats(f);
  size_t pending = wmiev_bus_pending(f->bus);
  assert_int_equal(s.queued_now, pending);
  check_rejected_sum(&s);
  assert_int_equal(s.fired, ended(&s) + pending);
  uint64_t queued_in_guids = 0;
  uint64_t fired_in_guids = 0;
  for (size_t i = 0; i < GUID_COUNT; i++) {
    wmiev_bus_stats g = guid_stats(f, all_guids[i]);
    check_rejected_sum(&g);
    assert_true(g.fired >= ended(&g));
    queued_in_guids += g.fired - ended(&g);
    fired_in_guids += g.fired;
  }
  assert_int_equal(queued_in_guids, pending);
  assert_true(fired_in_guids <= s.fired);
  /* The hook saw every warning the statistics count, and no malformed one. */
  assert_int_equal(warned(f, (wmiev_warning)0), 0);
  for (int w = 1; w < WMIEV_WARN_COUNT_; w++) {
    assert_int_equal(s.warnings[w], warned(f, (wmiev_warning)w));
  }
}

/* ---- providers ------------------------------------------------------------------------------- */

static void log_fc(tprov *p, uint32_t guid_index, wmiev_function_control fn, bool enable) {
  fixture *f = p->f;
  /* No assertion here: this may run on a thread cmocka cannot jump from. A
   * full log is checked by the readers (fc_count). */
  pthread_mutex_lock(&f->mu);
  if (f->nfc < MAX_FC) {
    f->fc[f->nfc] = (fc_rec){p->tag, guid_index, fn, enable};
  }
  f->nfc++;
  pthread_mutex_unlock(&f->mu);
}

static void log_query(tprov *p, uint32_t index, uint32_t avail) {
  fixture *f = p->f;
  pthread_mutex_lock(&f->mu);
  if (f->nq < MAX_Q) {
    f->q[f->nq] = (q_rec){p->tag, index, avail};
  }
  f->nq++;
  pthread_mutex_unlock(&f->mu);
}

static wmiev_status cb_reginfo(wmiev_device *device, wmiev_reginfo_answer *answer, void *payload) {
  tprov *p = payload;
  (void)device;
  answer->reg_flags = p->reg_flags;
  answer->base_name = p->base_units != 0 ? p->base : NULL;
  answer->base_name_units = p->base_units;
  answer->pdo = (uintptr_t)p->pdo;
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status cb_query(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                             uint32_t instance_index, uint32_t instance_count,
                             uint32_t *instance_lengths, uint32_t buffer_avail, uint8_t *buffer,
                             void *payload) {
  tprov *p = payload;
  (void)guid_index;
  if (instance_count != 1) {
    /* The bus only asks for single instances. */
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_INVALID_DEVICE_REQUEST, 0);
  }
  log_query(p, instance_index, buffer_avail);
  if (p->query_status != WMIEV_STATUS_SUCCESS) {
    return wmiev_wmilib_complete_request(device, irp, p->query_status, 0);
  }
  if (instance_lengths == NULL || buffer_avail < p->data_size) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, p->data_size);
  }
  pattern(buffer, p->data_size, instance_index);
  instance_lengths[0] = p->data_size;
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, p->data_size);
}

static wmiev_status cb_control(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                               wmiev_function_control fn, bool enable, void *payload) {
  tprov *p = payload;
  log_fc(p, guid_index, fn, enable);
  if (fn == WMIEV_EVENT_CONTROL) {
    atomic_fetch_add(enable ? &p->enables : &p->disables, 1);
  }
  if (p->on_control != NULL) {
    p->on_control(p, guid_index, fn, enable);
  }
  wmiev_status status = enable ? p->enable_status : WMIEV_STATUS_SUCCESS;
  return wmiev_wmilib_complete_request(device, irp, status, 0);
}

static const wmiev_wmilib_callbacks callbacks = {
    .query_reginfo = cb_reginfo, .query_data_block = cb_query, .function_control = cb_control};

/* The hand-dispatched device: QUERY_SINGLE_INSTANCE by dynamic name is
 * answered here, everything else by the wmilib logic (REGINFO, function
 * control), as a driver with its own DispatchSystemControl does. */
static wmiev_status answer_by_name(tprov *p, wmiev_irp *irp, const wmiev_wnode_view *v) {
  uint16_t want[32];
  size_t units = utf16(p->dyn_name, want, 32);
  size_t got_units = v->instance.name_bytes / 2u;
  log_query(p, UINT32_MAX, irp->Wmi.BufferSize);
  if (got_units != units || memcmp(v->instance.name, want, units * 2) != 0) {
    return wmiev_irp_complete(irp, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND, 0);
  }
  uint8_t data[4096];
  assert_true(p->data_size <= sizeof data);
  pattern(data, p->data_size, 77);
  wmiev_wnode_header_params hdr = {.guid = v->guid};
  wmiev_wnode_instance inst = {
      .dynamic_name = true, .name = want, .name_units = units, .data = data, .size = p->data_size};
  size_t need = 0;
  wmiev_status st = wmiev_wnode_build_single_instance(irp->Wmi.Buffer, irp->Wmi.BufferSize, &hdr,
                                                      &inst, &need, NULL);
  if (st == WMIEV_STATUS_BUFFER_TOO_SMALL) {
    size_t small = 0;
    assert_status(wmiev_wnode_build_too_small(irp->Wmi.Buffer, irp->Wmi.BufferSize, (uint32_t)need,
                                              &small, NULL),
                  WMIEV_STATUS_SUCCESS);
    return wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, small);
  }
  assert_status(st, WMIEV_STATUS_SUCCESS);
  return wmiev_irp_complete(irp, WMIEV_STATUS_SUCCESS, need);
}

static wmiev_status hand_dispatch(wmiev_device *device, wmiev_irp *irp, void *payload) {
  tprov *p = payload;
  if (irp->MinorFunction == IRP_MN_QUERY_SINGLE_INSTANCE &&
      irp->Wmi.ProviderId == wmiev_device_irp_provider_id(device)) {
    wmiev_wnode_view v;
    if (WMIEV_SUCCESS(wmiev_wnode_validate(irp->Wmi.Buffer, irp->Wmi.BufferSize, 0, &v, NULL)) &&
        v.kind == WMIEV_WNODE_SINGLE_INSTANCE && !v.static_names) {
      return answer_by_name(p, irp, &v);
    }
  }
  wmiev_irp_disposition disposition;
  wmiev_status status = wmiev_wmilib_system_control(&p->ctx, device, irp, &disposition);
  switch (disposition) {
  case WMIEV_IRP_PROCESSED:
    return status;
  case WMIEV_IRP_NOT_COMPLETED:
    return wmiev_irp_complete(irp, irp->IoStatus.Status, irp->IoStatus.Information);
  default:
    return wmiev_irp_forward(device, irp);
  }
}

void make_pdo(fixture *f) {
  if (f->pdo == NULL) {
    wmiev_device_options o = {.instance_id = PDO_ID, .name = "toaster pdo"};
    assert_status(wmiev_device_create(reg(f), &o, &f->pdo), WMIEV_STATUS_SUCCESS);
  }
}

tprov *prov_new(fixture *f, int tag, uint32_t reg_flags, const char *base) {
  assert_true(f->nprov < MAX_PROV);
  tprov *p = &f->prov[f->nprov++];
  memset(p, 0, sizeof *p);
  p->f = f;
  p->tag = tag;
  p->reg_flags = reg_flags;
  p->base_str = base;
  atomic_init(&p->enables, 0);
  atomic_init(&p->disables, 0);
  if (base != NULL) {
    p->base_units = utf16(base, p->base, 32);
  }
  if ((reg_flags & WMIREG_FLAG_INSTANCE_PDO) != 0) {
    make_pdo(f);
    p->pdo = f->pdo;
  }
  p->data_size = 8;
  return p;
}

uint32_t prov_guid(tprov *p, const GUID *g, uint32_t count, uint32_t flags) {
  assert_true(p->guid_count < 4);
  p->guids[p->guid_count] = (wmiev_guid_reg){g, count, flags};
  return p->guid_count++;
}

/* Creates the device without asserting: it may fail under fault injection. */
static wmiev_status try_create(tprov *p) {
  wmiev_wmilib_context ctx = {p->guid_count, p->guids, callbacks, p};
  if (p->by_hand) {
    p->ctx = ctx;
    wmiev_device_options o = {.dispatch = hand_dispatch, .payload = p, .name = "by hand"};
    return wmiev_device_create(reg(p->f), &o, &p->device);
  }
  wmiev_provider_options o = {.context = ctx, .name = "test provider"};
  wmiev_status st = wmiev_provider_create(reg(p->f), &o, &p->provider);
  if (WMIEV_SUCCESS(st)) {
    p->device = wmiev_provider_device(p->provider);
  }
  return st;
}

tprov *prov_create(tprov *p) {
  assert_null(p->device);
  assert_status(try_create(p), WMIEV_STATUS_SUCCESS);
  return p;
}

/* The provider's current block list, for registration control. */
static void set_guid_list(tprov *p) {
  if (p->by_hand) {
    p->ctx.guid_list = p->guids;
    p->ctx.guid_count = p->guid_count;
  } else {
    wmiev_provider_set_guid_list(p->provider, p->guids, p->guid_count);
  }
}

void prov_control(tprov *p, uint32_t action) {
  if (action != WMIREG_ACTION_DEREGISTER) {
    set_guid_list(p);
  }
  assert_status(wmiev_registration_control(p->device, action, NULL), WMIEV_STATUS_SUCCESS);
}

wmiev_status prov_register(tprov *p) {
  if (p->device == NULL) {
    wmiev_status st = try_create(p);
    if (!WMIEV_SUCCESS(st)) {
      return st;
    }
  }
  set_guid_list(p);
  return wmiev_registration_control(p->device, WMIREG_ACTION_REGISTER, NULL);
}

tprov *prov_up(tprov *p) {
  assert_status(prov_register(p), WMIEV_STATUS_SUCCESS);
  return p;
}

uint32_t pid(const tprov *p) { return wmiev_device_provider_id(p->device); }

void prov_destroy(tprov *p) {
  if (p->provider != NULL) {
    assert_status(wmiev_provider_destroy(p->provider), WMIEV_STATUS_SUCCESS);
  } else if (p->device != NULL) {
    assert_status(wmiev_device_destroy(p->device), WMIEV_STATUS_SUCCESS);
  }
  p->provider = NULL;
  p->device = NULL;
}

tprov *toaster(fixture *f, int tag, uint32_t count) {
  tprov *p = prov_new(f, tag, WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
  prov_guid(p, &guid_ev, count, WMIREG_FLAG_EVENT_ONLY_GUID);
  return prov_up(p);
}

tprov *pdo_toaster(fixture *f, int tag, uint32_t count) {
  tprov *p = prov_new(f, tag, WMIREG_FLAG_INSTANCE_PDO, NULL);
  prov_guid(p, &guid_pdo, count, 0);
  return prov_up(p);
}

/* ---- subscribers ----------------------------------------------------------------------------- */

/* The view with its pointers turned into offsets from the delivered WNODE. */
static void copy_view(wmiev_wnode_view *out, const wmiev_wnode_view *v, const uint8_t *wnode,
                      int64_t *base_off, int64_t *data_off) {
  memcpy(out, v, sizeof *out);
  if (base_off != NULL) {
    *base_off = (const uint8_t *)v->base - wnode;
  }
  *data_off = v->instance.data == NULL ? -1 : (int64_t)(v->instance.data - wnode);
  out->base = NULL;
  out->instance.data = NULL;
  out->instance.name = NULL;
}

static void record_push(sink *s, const got *g) {
  pthread_mutex_lock(&s->f->mu);
  if (s->n == s->cap) {
    s->cap = s->cap == 0 ? 8 : s->cap * 2;
    s->ev = realloc(s->ev, s->cap * sizeof *s->ev);
    assert_non_null(s->ev);
  }
  s->ev[s->n++] = *g;
  pthread_mutex_unlock(&s->f->mu);
}

static void record(sink *s, const wmiev_event *e) {
  got g;
  memset(&g, 0, sizeof g);
  g.guid = e->guid;
  g.provider_id = e->provider_id;
  g.timestamp = e->timestamp;
  g.has_name = e->has_name;
  g.instance_index = e->instance_index;
  g.lost_before = e->lost_before;
  g.from_reference = e->from_reference;
  /* The WNODE and view through the accessors: asked twice, the same
   * pointers (built once per delivery). */
  uint32_t wnode_size = 1;
  const uint8_t *w = wmiev_event_wnode(e, &wnode_size);
  const wmiev_wnode_view *v = wmiev_event_view(e);
  if (w == NULL && s->wnode_may_fail) {
    /* Building it ran out of memory: NULL for the whole delivery. */
    assert_int_equal(wnode_size, 0);
    assert_null(v);
    assert_null(wmiev_event_wnode(e, NULL));
    g.data_ptr = e->data;
    g.data_size = e->data_size;
    record_push(s, &g);
    return;
  }
  assert_non_null(w);
  assert_non_null(v);
  assert_ptr_equal(wmiev_event_wnode(e, NULL), w);
  assert_ptr_equal(wmiev_event_view(e), v);
  g.kind = v->kind;
  g.flags = v->flags;
  g.item_id = v->item_id;
  g.wnode_size = wnode_size;
  assert_int_equal(wnode_size, get32(w, 0));
  assert_int_equal(wnode_size, v->buffer_size);
  g.wnode = malloc(wnode_size);
  assert_non_null(g.wnode);
  memcpy(g.wnode, w, wnode_size);
  g.data_ptr = e->data;
  if (e->data_size != 0) {
    const uint8_t *d = e->data;
    g.data_in_wnode = d >= w && d + e->data_size <= w + wnode_size;
    if (g.data_in_wnode) {
      g.data_at = (uint32_t)(d - w);
    } else {
      /* The caller's buffer (sync fire) or the queue's copy (pumped fire):
       * the WNODE built for it carries the same bytes, where its view says. */
      assert_int_equal(v->kind, WMIEV_WNODE_SINGLE_INSTANCE);
      assert_int_equal(v->instance.size, e->data_size);
      const uint8_t *in = v->instance.data;
      assert_true(in >= w && in + e->data_size <= w + wnode_size);
      assert_memory_equal(in, d, e->data_size);
      g.data_at = (uint32_t)(in - w);
    }
  } else {
    assert_null(e->data);
  }
  g.data_size = e->data_size;
  if (e->has_name) {
    const uint8_t *n = (const uint8_t *)e->name_utf16;
    assert_true(n >= w && n + 2u * e->name_units <= w + wnode_size);
    assert_true(e->name_units <= 64);
    memcpy(g.name16, e->name_utf16, 2u * e->name_units);
    g.name_units = e->name_units;
  }
  const char *name = wmiev_event_name_utf8(e);
  assert_non_null(name);
  assert_true(strlen(name) < sizeof g.name);
  strcpy(g.name, name);
  /* Asked twice, the same answer (computed once). */
  assert_ptr_equal(wmiev_event_name_utf8(e), name);
  copy_view(&g.view, v, w, &g.view_base_off, &g.view_data_off);
  wmiev_wnode_view rv;
  memset(&rv, 0, sizeof rv);
  g.revalid = wmiev_wnode_validate(w, wnode_size, WMIEV_VALIDATE_REQUIRE_EVENT, &rv, NULL);
  copy_view(&g.reval, &rv, w, NULL, &g.reval_data_off);

  record_push(s, &g);
}

void sink_cb(const wmiev_event *e, void *payload) {
  sink *s = payload;
  record(s, e);
  if (s->hook != NULL) {
    s->hook(s, e);
  }
}

sink *sink_new(fixture *f) {
  assert_true(f->nsinks < MAX_SINKS);
  sink *s = &f->sinks[f->nsinks++];
  memset(s, 0, sizeof *s);
  s->f = f;
  return s;
}

sink *subscribe(fixture *f, sink *s, const GUID *g) {
  if (s == NULL) {
    s = sink_new(f);
  }
  s->g = g;
  assert_status(wmiev_bus_subscribe(f->bus, g, sink_cb, s, &s->sub), WMIEV_STATUS_SUCCESS);
  return s;
}

void unsubscribe(sink *s) {
  assert_status(wmiev_bus_unsubscribe(s->sub), WMIEV_STATUS_SUCCESS);
  s->sub = NULL;
}

const uint8_t *got_data(const got *g) { return g->wnode + g->data_at; }

uint32_t seq_of(const got *g) {
  assert_int_equal(g->data_size, 4);
  return get32(got_data(g), 0);
}

void seqs(const sink *s, const uint32_t *want, size_t n) {
  assert_int_equal(s->n, n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(seq_of(&s->ev[i]), want[i]);
  }
}

/* ---- teardown -------------------------------------------------------------------------------- */

/* Releases what a test left: subscriptions, providers (sources outlive their
 * devices), sources, the bus. */
void fixture_clear(fixture *f) {
  for (size_t i = 0; i < f->nsinks; i++) {
    if (f->bus != NULL && f->sinks[i].sub != NULL) {
      unsubscribe(&f->sinks[i]);
    }
  }
  for (size_t i = f->nprov; i-- > 0;) {
    prov_destroy(&f->prov[i]);
  }
  if (f->pdo != NULL) {
    assert_status(wmiev_device_destroy(f->pdo), WMIEV_STATUS_SUCCESS);
    f->pdo = NULL;
  }
  if (f->bus != NULL) {
    for (size_t i = 0; i < f->nsrc; i++) {
      wmiev_source_close(f->src[i]);
    }
  }
  f->nsrc = 0;
  wmiev_bus_destroy(f->bus);
  f->bus = NULL;
  for (size_t i = 0; i < f->nsinks; i++) {
    for (size_t j = 0; j < f->sinks[i].n; j++) {
      free(f->sinks[i].ev[j].wnode);
    }
    free(f->sinks[i].ev);
  }
  f->nsinks = 0;
  f->nprov = 0;
  f->nfc = 0;
  f->nq = 0;
  memset(f->warned, 0, sizeof f->warned);
  memset(f->last_warning, 0, sizeof f->last_warning);
}

void check_no_leaks(fixture *f) {
  if (debug_alloc_live_count(f->d) != 0) {
    (void)debug_alloc_report_leaks(f->d);
    fail_msg("%llu allocations left", (unsigned long long)debug_alloc_live_count(f->d));
  }
  assert_int_equal(debug_alloc_errors(f->d), 0);
}

int fixture_teardown(void **state) {
  fixture *f = *state;
  if (f->bus != NULL) {
    check_accounting(f);
  }
  fixture_clear(f);
  check_no_leaks(f);
  debug_alloc_destroy(f->d);
  pthread_mutex_destroy(&f->mu);
  free(f->ext);
  free(f);
  return 0;
}
