/*
 * fuzz_fire: the fire path (lib/bus/fire.c, deliver.c) fed arbitrary WNODEs
 * through a registered provider, as IoWMIWriteEvent.
 *
 * Each input runs twice, on a fresh synchronous bus each time (lenient, then
 * strict), so inputs are independent and every run ends with a leak check:
 *  - the bus allocates through the debug allocator (tests/support);
 *  - a portable provider (wmiev_provider_create, provider id 1) registers
 *    the four blocks of fuzz_common.h: BASENAME, PDO (named by a PDO device,
 *    id 2), dynamic, and one without consumers; it answers queries (event
 *    references) with fire_instance_size/byte data;
 *  - one subscriber on the first three GUIDs copies what it receives.
 * The input is copied into wmiev_bus_alloc_event memory of exactly its
 * length, so ASan catches any read past it, and fired with
 * wmiev_bus_write_event.
 *
 * Properties:
 *  1. The outcome is the one docs/decisions.md D11 gives, computed here
 *     from the table (with the validator deciding "malformed"): rejection
 *     reason and status, traced, not enabled, delivered, or reference
 *     failed, and exactly the warnings on the way; strict mode rejects at
 *     the first warning the lenient run counts.
 *  2. On success the event is delivered exactly once, with exactly the bytes
 *     fired except TimeStamp, which is the bus clock unless USE_TIMESTAMP;
 *     a resolved reference delivers the provider's answer for the instance
 *     it names, flagged EVENT_ITEM, with the reference's timestamp. The
 *     instance name the subscriber gets is the registered one.
 *  3. On failure nothing is delivered, stats.rejected grows by exactly one
 *     (one rejected_by reason), and the caller still owns the buffer: it
 *     frees it, and the debug allocator sees no double free. A TRACED_GUID
 *     buffer is never taken or changed.
 *  4. After every input fired == rejected + not_enabled + traced + dropped +
 *     discarded + reference_failed + delivered, and after teardown no
 *     allocation is live and the allocator saw no error.
 */
#include "fuzz_common.h"

#include "debug_alloc.h"

#define MAX_EVENT 1024u /* the bus's default max_event_size */
#define SUBSCRIBED 3    /* FIRE_G_STATIC, FIRE_G_PDO, FIRE_G_DYNAMIC */

typedef struct fire_env {
  debug_alloc *dbg;
  wmiev_bus *bus;
  wmiev_provider *provider;
  wmiev_device *pdo;
  wmiev_subscription *subs[SUBSCRIBED];
  wmiev_guid_reg guid_list[FIRE_G_COUNT];
  uint16_t base_name[8];
  size_t base_name_units;
  /* What the subscriber saw. */
  unsigned deliveries;
  uint8_t *got; /* copy of the delivered WNODE */
  uint32_t got_size;
  wmiev_event got_event; /* pointers in it are dead after the callback; fields only */
  wmiev_wnode_kind got_kind; /* wmiev_event_view(event)->kind */
  char got_name[600];
  uint64_t warnings[WMIEV_WARN_COUNT_]; /* seen by on_warning */
} fire_env;

static int64_t fixed_clock(void *ctx) {
  (void)ctx;
  return FIRE_CLOCK;
}

static void on_warning(wmiev_warning warning, const char *message, void *ctx) {
  fire_env *env = ctx;
  FUZZ_CHECK(message != NULL);
  if ((unsigned)warning < WMIEV_WARN_COUNT_) {
    env->warnings[warning]++;
  }
}

/* What bus.h promises about an event fired as a WNODE: the accessors return
 * that WNODE (the same pointers every time) and its view, its data and
 * name lie inside it, and data is NULL exactly when data_size is 0. */
static void check_event(const wmiev_event *event) {
  uint32_t wnode_size = 0;
  const void *wnode = wmiev_event_wnode(event, &wnode_size);
  const wmiev_wnode_view *v = wmiev_event_view(event);
  FUZZ_CHECK(wnode != NULL && v != NULL && wnode_size == v->buffer_size && v->base == wnode);
  FUZZ_CHECK(wmiev_event_wnode(event, NULL) == wnode && wmiev_event_view(event) == v);
  uintptr_t lo = (uintptr_t)wnode, hi = lo + wnode_size;
  uintptr_t data = (uintptr_t)event->data;
  if (event->data_size == 0) {
    if (event->data != NULL) {
      fuzz_fail("event data %p with data_size 0 (%s, offset %lld)", event->data,
                wmiev_wnode_kind_name(v->kind), (long long)(data - lo));
    }
  } else {
    if (event->data == NULL) {
      fuzz_fail("event data NULL with data_size %u (%s)", (unsigned)event->data_size,
                wmiev_wnode_kind_name(v->kind));
    }
    if (data < lo || data > hi || event->data_size > hi - data) {
      fuzz_fail("event data [%lld, +%u) outside the %u-byte WNODE (%s)", (long long)(data - lo),
                (unsigned)event->data_size, (unsigned)wnode_size, wmiev_wnode_kind_name(v->kind));
    }
    /* An ALL_DATA event's data is its instances, never its fixed part. */
    uint64_t fixed = v->fixed_instance_size ? 64u : 60u + 8u * (uint64_t)v->instance_count;
    if (v->kind == WMIEV_WNODE_ALL_DATA && data - lo < fixed) {
      fuzz_fail("ALL_DATA event data at offset %llu, inside the %llu-byte fixed part",
                (unsigned long long)(data - lo), (unsigned long long)fixed);
    }
  }
  if (event->has_name) {
    uintptr_t name = (uintptr_t)event->name_utf16;
    FUZZ_CHECK(name >= lo && name <= hi && event->name_units <= (hi - name) / 2);
  }
}

static void on_event(const wmiev_event *event, void *payload) {
  fire_env *env = payload;
  check_event(event);
  env->deliveries++;
  if (env->got == NULL) {
    uint32_t wnode_size = 0;
    const void *wnode = wmiev_event_wnode(event, &wnode_size);
    env->got = malloc(wnode_size == 0 ? 1 : wnode_size);
    FUZZ_CHECK(env->got != NULL);
    memcpy(env->got, wnode, wnode_size);
    env->got_size = wnode_size;
    env->got_event = *event;
    env->got_kind = wmiev_event_view(event)->kind;
    const char *name = wmiev_event_name_utf8(event);
    FUZZ_CHECK(name != NULL);
    size_t len = strlen(name);
    FUZZ_CHECK(len < sizeof env->got_name);
    memcpy(env->got_name, name, len + 1);
  }
}

/* ---- The provider's callbacks (wmilib.h) ---------------------------------------------------- */

static wmiev_status query_reginfo(wmiev_device *device, wmiev_reginfo_answer *answer,
                                  void *payload) {
  fire_env *env = payload;
  (void)device;
  answer->base_name = env->base_name;
  answer->base_name_units = env->base_name_units;
  answer->pdo = (uintptr_t)env->pdo;
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status query_data_block(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                     uint32_t instance_index, uint32_t instance_count,
                                     uint32_t *instance_lengths, uint32_t buffer_avail,
                                     uint8_t *buffer, void *payload) {
  (void)payload;
  /* Instances back to back, each 8-aligned, as the callback contract asks. */
  uint64_t used = 0;
  for (uint32_t k = 0; k < instance_count; k++) {
    used = (used + 7u) & ~(uint64_t)7u;
    used += fire_instance_size(guid_index, instance_index + k);
  }
  if (instance_lengths == NULL || used > buffer_avail) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL,
                                         (uint32_t)used);
  }
  uint64_t at = 0;
  for (uint32_t k = 0; k < instance_count; k++) {
    at = (at + 7u) & ~(uint64_t)7u;
    uint32_t n = fire_instance_size(guid_index, instance_index + k);
    for (uint32_t i = 0; i < n; i++) {
      buffer[at + i] = fire_instance_byte(guid_index, instance_index + k, i);
    }
    instance_lengths[k] = n;
    at += n;
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, (uint32_t)used);
}

static void env_create(fire_env *env, bool strict) {
  memset(env, 0, sizeof *env);
  env->dbg = debug_alloc_create();
  static const char base[] = FIRE_BASE_NAME;
  env->base_name_units = sizeof base - 1;
  for (size_t i = 0; i < env->base_name_units; i++) {
    env->base_name[i] = (uint16_t)base[i];
  }
  wmiev_bus_options o;
  memset(&o, 0, sizeof o);
  o.delivery = WMIEV_DELIVERY_SYNC;
  o.allocator = debug_alloc_allocator(env->dbg);
  o.queue_capacity = 4; /* sync mode queues nothing: keep creation cheap */
  o.strict = strict;
  o.clock.now = fixed_clock;
  o.on_warning = on_warning;
  o.warning_ctx = env;
  FUZZ_CHECK(wmiev_bus_create(&o, &env->bus) == WMIEV_STATUS_SUCCESS);
  wmiev_registry *registry = wmiev_bus_registry(env->bus);

  /* The BASENAME block is event-only: the bus still resolves references to
   * it (decisions D14), consumers may not query it. */
  static const uint32_t flags[FIRE_G_COUNT] = {
      WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_EVENT_ONLY_GUID, WMIREG_FLAG_INSTANCE_PDO, 0,
      WMIREG_FLAG_INSTANCE_BASENAME};
  for (int g = 0; g < FIRE_G_COUNT; g++) {
    env->guid_list[g].guid = &fire_guids[g];
    env->guid_list[g].instance_count = fire_instance_counts[g];
    env->guid_list[g].flags = flags[g];
  }
  wmiev_provider_options po;
  memset(&po, 0, sizeof po);
  po.context.guid_count = FIRE_G_COUNT;
  po.context.guid_list = env->guid_list;
  po.context.callbacks.query_reginfo = query_reginfo;
  po.context.callbacks.query_data_block = query_data_block;
  po.context.payload = env;
  po.name = "fuzz provider";
  FUZZ_CHECK(wmiev_provider_create(registry, &po, &env->provider) == WMIEV_STATUS_SUCCESS);
  wmiev_device_options d;
  memset(&d, 0, sizeof d);
  d.instance_id = FIRE_PDO_INSTANCE_ID;
  d.name = "fuzz pdo";
  FUZZ_CHECK(wmiev_device_create(registry, &d, &env->pdo) == WMIEV_STATUS_SUCCESS);
  wmiev_device *device = wmiev_provider_device(env->provider);
  FUZZ_CHECK(wmiev_device_provider_id(device) == FIRE_PROVIDER_ID);
  FUZZ_CHECK(wmiev_device_provider_id(env->pdo) == FIRE_PDO_ID);
  FUZZ_CHECK(wmiev_registration_control(device, WMIREG_ACTION_REGISTER, NULL) ==
             WMIEV_STATUS_SUCCESS);
  for (int g = 0; g < SUBSCRIBED; g++) {
    FUZZ_CHECK(wmiev_bus_subscribe(env->bus, &fire_guids[g], on_event, env, &env->subs[g]) ==
               WMIEV_STATUS_SUCCESS);
  }
}

static void env_destroy(fire_env *env) {
  for (int g = 0; g < SUBSCRIBED; g++) {
    FUZZ_CHECK(wmiev_bus_unsubscribe(env->subs[g]) == WMIEV_STATUS_SUCCESS);
  }
  FUZZ_CHECK(wmiev_provider_destroy(env->provider) == WMIEV_STATUS_SUCCESS);
  FUZZ_CHECK(wmiev_device_destroy(env->pdo) == WMIEV_STATUS_SUCCESS);
  wmiev_bus_destroy(env->bus);
  FUZZ_CHECK_NO_LEAKS(env->dbg);
  debug_alloc_destroy(env->dbg);
  free(env->got);
}

/* ---- Property 1: the decision table (docs/decisions.md D11) ---------------------------------- */

typedef enum outcome {
  OUT_REJECTED,
  OUT_TRACED,
  OUT_NOT_ENABLED,
  OUT_DELIVERED,
  OUT_REF_FAILED
} outcome;

typedef struct expected {
  outcome out;
  wmiev_reject_reason reason; /* OUT_REJECTED */
  wmiev_status status;        /* OUT_REJECTED */
  uint64_t warnings[WMIEV_WARN_COUNT_];
  bool reference;        /* OUT_DELIVERED: resolved from a reference */
  int g;                 /* the block, when registered */
  wmiev_wnode_view view; /* when valid */
} expected;

/* A mismatch Windows delivers: a warning, or (strict) a rejection. True if rejected. */
static bool mismatch(expected *e, bool strict, wmiev_warning warning, wmiev_status strict_status) {
  if (strict) {
    e->out = OUT_REJECTED;
    e->reason = WMIEV_REJECT_STRICT;
    e->status = strict_status;
    return true;
  }
  e->warnings[warning]++;
  return false;
}

static void expect(const uint8_t *data, size_t size, bool strict, expected *e) {
  memset(e, 0, sizeof *e);
  e->g = -1;
  /* The header as the bus reads it: from a block of at least 48 zeroed bytes. */
  uint8_t header[sizeof(WNODE_HEADER)] = {0};
  memcpy(header, data, size < sizeof header ? size : sizeof header);
  uint32_t flags, buffer_size;
  memcpy(&flags, header + offsetof(WNODE_HEADER, Flags), 4);
  memcpy(&buffer_size, header + offsetof(WNODE_HEADER, BufferSize), 4);
  if ((flags & WNODE_FLAG_TRACED_GUID) != 0) {
    e->out = OUT_TRACED;
    return;
  }
  if (size >= sizeof(WNODE_HEADER) && buffer_size > MAX_EVENT) {
    e->out = OUT_REJECTED;
    e->reason = WMIEV_REJECT_TOO_LARGE;
    e->status = WMIEV_STATUS_BUFFER_OVERFLOW;
    return;
  }
  wmiev_status st = wmiev_wnode_validate(data, size, WMIEV_VALIDATE_REQUIRE_EVENT, &e->view, NULL);
  if (st != WMIEV_STATUS_SUCCESS) {
    e->out = OUT_REJECTED;
    e->reason = WMIEV_REJECT_MALFORMED;
    e->status = st;
    return;
  }
  const wmiev_wnode_view *v = &e->view;
  bool reference = v->kind == WMIEV_WNODE_EVENT_REFERENCE;
  const GUID *guid = reference ? &v->target_guid : &v->guid;
  if (v->provider_id != FIRE_PROVIDER_ID) {
    e->out = OUT_REJECTED;
    e->reason = v->provider_id == FIRE_PDO_ID ? WMIEV_REJECT_GUID_NOT_REGISTERED
                                              : WMIEV_REJECT_UNKNOWN_PROVIDER;
    e->status = v->provider_id == FIRE_PDO_ID ? WMIEV_STATUS_WMI_GUID_NOT_FOUND
                                              : WMIEV_STATUS_DEVICE_DOES_NOT_EXIST;
    return;
  }
  for (int g = 0; g < FIRE_G_COUNT; g++) {
    if (memcmp(guid, &fire_guids[g], sizeof *guid) == 0) {
      e->g = g;
    }
  }
  if (e->g < 0) {
    e->out = OUT_REJECTED;
    e->reason = WMIEV_REJECT_GUID_NOT_REGISTERED;
    e->status = WMIEV_STATUS_WMI_GUID_NOT_FOUND;
    return;
  }
  if ((v->warnings & WMIEV_WNODE_WARN_UNDEFINED_FLAGS) != 0 &&
      mismatch(e, strict, WMIEV_WARN_UNDEFINED_FLAGS, WMIEV_STATUS_INVALID_PARAMETER)) {
    return;
  }
  if ((v->warnings & WMIEV_WNODE_WARN_TARGET_GUID_MISMATCH) != 0 &&
      mismatch(e, strict, WMIEV_WARN_TARGET_GUID_MISMATCH, WMIEV_STATUS_INVALID_PARAMETER)) {
    return;
  }
  bool block_static = e->g != FIRE_G_DYNAMIC;
  if (v->static_names && !block_static &&
      mismatch(e, strict, WMIEV_WARN_STATIC_FOR_DYNAMIC, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND)) {
    return;
  }
  if (!v->static_names && block_static &&
      mismatch(e, strict, WMIEV_WARN_DYNAMIC_FOR_STATIC, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND)) {
    return;
  }
  if (v->static_names && block_static) {
    uint32_t count = fire_instance_counts[e->g];
    bool fits =
        v->kind == WMIEV_WNODE_ALL_DATA ? v->instance_count <= count : v->instance.index < count;
    if (!fits) {
      e->out = OUT_REJECTED;
      e->reason = WMIEV_REJECT_BAD_INSTANCE;
      e->status = WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND;
      return;
    }
  }
  bool pdo_flag = (v->flags & WNODE_FLAG_PDO_INSTANCE_NAMES) != 0;
  if (v->static_names && pdo_flag != (e->g == FIRE_G_PDO) &&
      mismatch(e, strict, WMIEV_WARN_PDO_FLAG_MISMATCH, WMIEV_STATUS_INVALID_PARAMETER)) {
    return;
  }
  if (e->g == FIRE_G_QUIET) {
    e->out = OUT_NOT_ENABLED;
    e->warnings[WMIEV_WARN_NOT_ENABLED]++;
    return;
  }
  if (!reference) {
    e->out = OUT_DELIVERED;
    return;
  }
  /* A reference is resolved by IRP_MN_QUERY_SINGLE_INSTANCE to the provider:
   * wmilib serves static indexes of static blocks only. */
  if (v->static_names && block_static) {
    e->out = OUT_DELIVERED;
    e->reference = true;
  } else {
    e->out = OUT_REF_FAILED;
    e->warnings[WMIEV_WARN_REFERENCE_FAILED]++;
  }
}

static const char *outcome_name(outcome o) {
  static const char *const names[] = {"rejected", "traced", "not enabled", "delivered",
                                      "reference failed"};
  return names[o];
}

/* ---- One run ------------------------------------------------------------------------------- */

static void check_stats_sum(const wmiev_bus_stats *s) {
  uint64_t rejected_by = 0;
  for (int r = 0; r < WMIEV_REJECT_COUNT_; r++) {
    rejected_by += s->rejected_by[r];
  }
  FUZZ_CHECK(rejected_by == s->rejected);
  if (s->fired != s->rejected + s->not_enabled + s->traced + s->dropped + s->discarded +
                      s->reference_failed + s->delivered) {
    fuzz_fail("fired %llu != rejected %llu + not_enabled %llu + traced %llu + dropped %llu + "
              "discarded %llu + reference_failed %llu + delivered %llu",
              (unsigned long long)s->fired, (unsigned long long)s->rejected,
              (unsigned long long)s->not_enabled, (unsigned long long)s->traced,
              (unsigned long long)s->dropped, (unsigned long long)s->discarded,
              (unsigned long long)s->reference_failed, (unsigned long long)s->delivered);
  }
}

static void check_name(const fire_env *env, const expected *e, uint32_t index) {
  char want[64];
  if (e->g == FIRE_G_STATIC) {
    (void)snprintf(want, sizeof want, "%s%u", FIRE_BASE_NAME, (unsigned)index);
  } else if (e->g == FIRE_G_PDO) {
    (void)snprintf(want, sizeof want, "%s_%u", FIRE_PDO_INSTANCE_ID, (unsigned)index);
  } else {
    return;
  }
  if (strcmp(env->got_name, want) != 0) {
    fuzz_fail("instance name '%s', expected '%s'", env->got_name, want);
  }
}

static void check_delivery(const fire_env *env, const expected *e, const uint8_t *data) {
  const wmiev_wnode_view *fired = &e->view;
  const wmiev_event *ev = &env->got_event;
  bool own_time = (fired->flags & WNODE_FLAG_USE_TIMESTAMP) != 0;
  int64_t stamp = own_time ? fired->timestamp : FIRE_CLOCK;
  const size_t ts_at = offsetof(WNODE_HEADER, TimeStamp);
  int64_t got_ts;
  memcpy(&got_ts, env->got + ts_at, sizeof got_ts);
  FUZZ_CHECK(got_ts == stamp && ev->timestamp == stamp);
  FUZZ_CHECK(ev->from_reference == e->reference);
  FUZZ_CHECK(ev->provider_id == FIRE_PROVIDER_ID);
  FUZZ_CHECK(ev->lost_before == 0);
  if (!e->reference) {
    /* Exactly the bytes fired, TimeStamp aside. */
    FUZZ_CHECK(env->got_size == fired->buffer_size);
    FUZZ_CHECK(memcmp(env->got, data, ts_at) == 0);
    FUZZ_CHECK(memcmp(env->got + ts_at + 8, data + ts_at + 8, fired->buffer_size - ts_at - 8) == 0);
    FUZZ_CHECK(memcmp(&ev->guid, &fired->guid, sizeof(GUID)) == 0);
    FUZZ_CHECK(env->got_kind == fired->kind);
    if (fired->kind != WMIEV_WNODE_ALL_DATA) {
      FUZZ_CHECK(ev->has_name == fired->instance.has_name);
      FUZZ_CHECK(ev->data_size == fired->instance.size);
      if (!ev->has_name && fired->static_names) {
        FUZZ_CHECK(ev->instance_index == fired->instance.index);
        check_name(env, e, fired->instance.index);
      }
    }
    return;
  }
  /* The provider's answer for the instance the reference names. */
  uint32_t index = fired->instance.index;
  FUZZ_CHECK(memcmp(&ev->guid, &fired->target_guid, sizeof(GUID)) == 0);
  wmiev_wnode_view answer;
  FUZZ_CHECK(wmiev_wnode_validate(env->got, env->got_size, WMIEV_VALIDATE_REQUIRE_EVENT, &answer,
                                  NULL) == WMIEV_STATUS_SUCCESS);
  FUZZ_CHECK(answer.kind == WMIEV_WNODE_SINGLE_INSTANCE);
  FUZZ_CHECK((answer.flags & WNODE_FLAG_EVENT_ITEM) != 0);
  FUZZ_CHECK(answer.static_names && answer.instance.index == index);
  uint32_t n = fire_instance_size((uint32_t)e->g, index);
  FUZZ_CHECK(answer.instance.size == n && ev->data_size == n);
  for (uint32_t i = 0; i < n; i++) {
    FUZZ_CHECK(answer.instance.data[i] == fire_instance_byte((uint32_t)e->g, index, i));
  }
  check_name(env, e, index);
}

static void run(const uint8_t *data, size_t size, bool strict, expected *e_out,
                wmiev_status *st_out) {
  fire_env env;
  env_create(&env, strict);
  expected e;
  expect(data, size, strict, &e);

  uint8_t *wnode = wmiev_bus_alloc_event(env.bus, size);
  FUZZ_CHECK(wnode != NULL);
  if (size != 0) {
    memcpy(wnode, data, size);
  }
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  wmiev_status st = wmiev_bus_write_event(env.bus, wnode, &diag);
  FUZZ_CHECK_STATUS_CLASS(st);

  wmiev_bus_stats s;
  wmiev_bus_get_stats(env.bus, &s);
  check_stats_sum(&s);
  FUZZ_CHECK(s.fired == 1);
  for (int w = 0; w < WMIEV_WARN_COUNT_; w++) {
    FUZZ_CHECK(env.warnings[w] == s.warnings[w]); /* the hook saw what the stats count */
    if (s.warnings[w] != e.warnings[w]) {
      fuzz_fail("warning %s counted %llu times, expected %llu (%s)",
                wmiev_warning_name((wmiev_warning)w), (unsigned long long)s.warnings[w],
                (unsigned long long)e.warnings[w], strict ? "strict" : "lenient");
    }
  }

  outcome got = !WMIEV_SUCCESS(st)        ? OUT_REJECTED
                : s.traced != 0           ? OUT_TRACED
                : s.not_enabled != 0      ? OUT_NOT_ENABLED
                : s.delivered != 0        ? OUT_DELIVERED
                : s.reference_failed != 0 ? OUT_REF_FAILED
                                          : OUT_REJECTED;
  if (got != e.out || (got == OUT_REJECTED && st != e.status)) {
    fuzz_fail("%s run: %s (%s; %s: %s), expected %s (%s)", strict ? "strict" : "lenient",
              outcome_name(got), wmiev_status_name(st), diag.field ? diag.field : "-", diag.message,
              outcome_name(e.out), e.out == OUT_REJECTED ? wmiev_status_name(e.status) : "success");
  }

  if (e.out == OUT_REJECTED) {
    /* Property 3. */
    FUZZ_CHECK(s.rejected == 1 && s.rejected_by[e.reason] == 1);
    FUZZ_CHECK(env.deliveries == 0);
    FUZZ_CHECK(diag.status == st && diag.field != NULL);
    FUZZ_CHECK(size == 0 || memcmp(wnode, data, size) == 0); /* not stamped, not taken */
    wmiev_bus_free_event(env.bus, wnode);
  } else if (e.out == OUT_TRACED) {
    FUZZ_CHECK(st == WMIEV_STATUS_SUCCESS && s.traced == 1 && env.deliveries == 0);
    FUZZ_CHECK(size == 0 || memcmp(wnode, data, size) == 0);
    wmiev_bus_free_event(env.bus, wnode); /* an ETW buffer is never the bus's */
  } else {
    /* Property 2: the bus took the buffer (it is freed by now). */
    FUZZ_CHECK(st == WMIEV_STATUS_SUCCESS && s.rejected == 0);
    if (e.out == OUT_DELIVERED) {
      FUZZ_CHECK(s.delivered == 1 && s.callbacks == 1 && env.deliveries == 1);
      check_delivery(&env, &e, data);
    } else {
      FUZZ_CHECK(env.deliveries == 0 && s.callbacks == 0);
    }
  }
  env_destroy(&env);
  *e_out = e;
  *st_out = st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  expected lenient, strict;
  wmiev_status lenient_st, strict_st;
  run(data, size, false, &lenient, &lenient_st);
  run(data, size, true, &strict, &strict_st);
  /* Strict mode changes nothing but turning warnings into rejections. */
  if (strict.out != OUT_REJECTED) {
    FUZZ_CHECK(lenient.out == strict.out && lenient_st == strict_st);
  }
  if (lenient.out == OUT_REJECTED) {
    FUZZ_CHECK(strict.out == OUT_REJECTED);
  }
  return 0;
}
