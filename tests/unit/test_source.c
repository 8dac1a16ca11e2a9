/*
 * Event sources (include/wmiev/source.h, docs/decisions.md D17): a
 * pre-resolved handle for one provider's block, the fast form of
 * wmiev_bus_fire_event().
 *
 * The contract under test: firing through a source does exactly what
 * wmiev_bus_fire_event(bus, device, guid, ...) does for the same arguments.
 * Most tests therefore run the same list of fire calls twice, once through
 * sources and once through wmiev_bus_fire_event() (run_pair()), at the same
 * virtual times, and require identical results: the statuses and every diag
 * field, the differences of every bus and per-GUID counter, the warnings the
 * hook saw, the per-subscription counts and the delivered events byte for
 * byte (the whole WNODE and every field of wmiev_event). They then check
 * the exact values themselves, so that a bug common to both paths shows too.
 *
 * Section 11 covers the lazy event descriptor (decisions D21): no WNODE is
 * built for a subscriber that does not ask for it (counted allocations),
 * one built on request equals the write_event WNODE of the same event byte
 * for byte, sync data is the caller's buffer and pumped data a copy.
 *
 * The rest covers what only sources have (opening before registration,
 * surviving deregistration, UPDATE_GUIDS and the device, wmiev_source_enabled,
 * closing and leftovers at destroy, out of memory while opening) and the
 * delivery semantics the lock-free delivery path must keep: unsubscribing
 * from inside callbacks, subscribing from inside them, and unsubscribing on
 * one thread while another fires through a source (TSan must stay silent).
 *
 * Providers are portable providers (wmilib.h) registered through the real
 * REGINFO handshake. Every test runs on the debug allocator and a virtual
 * clock; teardown checks the accounting invariant of bus.h (every fired
 * event ends in exactly one counter, or is still queued) for the bus and
 * every GUID, that the warning hook saw what the statistics count, and that
 * nothing leaked (the fixture test_bus.c uses too: tests/support/bus_fixture.h).
 */
#define _XOPEN_SOURCE 700 /* nanosleep, clock_gettime */

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_fixture.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define MAX_SPECS 64

/* One snapshot of everything a fire call can change. */
typedef struct shot {
  wmiev_bus_stats bus;
  wmiev_bus_stats guid[GUID_COUNT];
  uint64_t warned[WMIEV_WARN_COUNT_];
  size_t n[MAX_SINKS];
  uint64_t delivered[MAX_SINKS], lost[MAX_SINKS];
} shot;

/* One fire call, made through `src` or through wmiev_bus_fire_event(p->device, g). */
typedef struct fire_spec {
  tprov *p;
  const GUID *g;
  wmiev_source *src;
  uint32_t index;
  uint32_t size;
  uint32_t seed;
} fire_spec;

/* One run of a list of fire calls. */
typedef struct batch {
  bool via_source;
  size_t n;
  shot before, after;
  wmiev_status st[MAX_SPECS];
  wmiev_diag diag[MAX_SPECS];
} batch;

/* This file's own fixture state (fixture.ext): run_pair()'s two runs,
 * through sources and through fire_event. */
typedef struct pair_runs {
  batch a, b;
} pair_runs;

static int setup(void **state) {
  int rc = fixture_setup(state);
  fixture *f = *state;
  f->ext = calloc(1, sizeof(pair_runs));
  assert_non_null(f->ext);
  return rc;
}

static pair_runs *runs(fixture *f) { return f->ext; }

/* ---- statistics ------------------------------------------------------------------------------ */

/* Every counter of wmiev_bus_stats, by name (the table must cover the struct). */
typedef struct stat_field {
  const char *name;
  size_t offset;
  size_t count;
} stat_field;

#define SF(field)                                                                                  \
  { #field, offsetof(wmiev_bus_stats, field), 1 }
#define SFA(field, n)                                                                              \
  { #field, offsetof(wmiev_bus_stats, field), (n) }
static const stat_field stat_fields[] = {
    SF(fired),
    SF(rejected),
    SFA(rejected_by, WMIEV_REJECT_COUNT_),
    SF(not_enabled),
    SF(traced),
    SF(dropped),
    SF(discarded),
    SF(reference_failed),
    SF(delivered),
    SF(callbacks),
    SFA(warnings, WMIEV_WARN_COUNT_),
    SF(enables_sent),
    SF(disables_sent),
    SF(collection_enables_sent),
    SF(collection_disables_sent),
    SF(queued_now),
    SF(queue_peak),
};
#undef SF
#undef SFA

static uint64_t stat_at(const wmiev_bus_stats *s, const stat_field *sf, size_t i) {
  uint64_t v;
  memcpy(&v, (const uint8_t *)s + sf->offset + i * sizeof v, sizeof v);
  return v;
}

static void check_stat_table(void) {
  size_t words = 0;
  for (size_t k = 0; k < sizeof stat_fields / sizeof stat_fields[0]; k++) {
    assert_int_equal(stat_fields[k].offset, words * sizeof(uint64_t));
    words += stat_fields[k].count;
  }
  assert_int_equal(words * sizeof(uint64_t), sizeof(wmiev_bus_stats));
}

/* after_a - before_a == after_b - before_b for every counter but queue_peak
 * (a maximum, not a count: it depends on what was queued before). */
static void assert_stats_diff_equal(const wmiev_bus_stats *a0, const wmiev_bus_stats *a1,
                                    const wmiev_bus_stats *b0, const wmiev_bus_stats *b1,
                                    const char *what) {
  check_stat_table();
  for (size_t k = 0; k < sizeof stat_fields / sizeof stat_fields[0]; k++) {
    const stat_field *sf = &stat_fields[k];
    if (strcmp(sf->name, "queue_peak") == 0) {
      continue;
    }
    for (size_t i = 0; i < sf->count; i++) {
      uint64_t da = stat_at(a1, sf, i) - stat_at(a0, sf, i);
      uint64_t db = stat_at(b1, sf, i) - stat_at(b0, sf, i);
      if (da != db) {
        fail_msg("%s: %s[%zu] moved by %llu through the source, by %llu through fire_event", what,
                 sf->name, i, (unsigned long long)da, (unsigned long long)db);
      }
    }
  }
}

/* ---- sources --------------------------------------------------------------------------------- */

static wmiev_source *src_open(fixture *f, tprov *p, const GUID *g) {
  assert_true(f->nsrc < MAX_SRC);
  wmiev_source *s = NULL;
  assert_status(wmiev_source_open(f->bus, p->device, g, &s), WMIEV_STATUS_SUCCESS);
  assert_non_null(s);
  f->src[f->nsrc++] = s;
  return s;
}

/* ---- subscribers ----------------------------------------------------------------------------- */

static void sub_counts(const sink *s, uint64_t *delivered, uint64_t *lost) {
  *delivered = 0;
  *lost = 0;
  if (s->sub != NULL) {
    wmiev_subscription_counts(s->sub, delivered, lost);
  }
}

/* ---- comparing events ------------------------------------------------------------------------ */

static void assert_view_equal(const wmiev_wnode_view *a, const wmiev_wnode_view *b,
                              const char *what) {
#define VEQ(field)                                                                                 \
  do {                                                                                             \
    if (a->field != b->field) {                                                                    \
      fail_msg("%s: view." #field " %llu != %llu", what, (unsigned long long)a->field,             \
               (unsigned long long)b->field);                                                      \
    }                                                                                              \
  } while (0)
  VEQ(kind);
  VEQ(buffer_size);
  VEQ(provider_id);
  VEQ(historical_context);
  VEQ(timestamp);
  assert_guid_equal(&a->guid, &b->guid);
  VEQ(client_context);
  VEQ(flags);
  VEQ(is_event);
  VEQ(static_names);
  VEQ(severity);
  VEQ(warnings);
  VEQ(instance.has_name);
  VEQ(instance.name_bytes);
  VEQ(instance.name_offset);
  VEQ(instance.index);
  VEQ(instance.data_offset);
  VEQ(instance.size);
  VEQ(item_id);
  VEQ(data_block_offset);
  VEQ(instance_count);
  VEQ(fixed_instance_size);
  VEQ(fixed_size);
  VEQ(names_present);
  assert_guid_equal(&a->target_guid, &b->target_guid);
  VEQ(size_needed);
#undef VEQ
}

/* Two delivered events are the same in every byte and field. */
static void assert_same_event(const got *a, const got *b) {
  assert_int_equal(a->wnode_size, b->wnode_size);
  assert_memory_equal(a->wnode, b->wnode, a->wnode_size);
  assert_guid_equal(&a->guid, &b->guid);
  assert_int_equal(a->provider_id, b->provider_id);
  assert_true(a->timestamp == b->timestamp);
  assert_int_equal(a->has_name, b->has_name);
  assert_int_equal(a->instance_index, b->instance_index);
  assert_int_equal(a->name_units, b->name_units);
  assert_memory_equal(a->name16, b->name16, sizeof a->name16);
  assert_string_equal(a->name, b->name);
  assert_int_equal(a->data_at, b->data_at);
  assert_int_equal(a->data_size, b->data_size);
  assert_int_equal(a->lost_before, b->lost_before);
  assert_int_equal(a->from_reference, b->from_reference);
  assert_view_equal(&a->view, &b->view, "source vs fire_event");
  assert_true(a->view_base_off == b->view_base_off);
  assert_true(a->view_data_off == b->view_data_off);
}

/* A delivered event is the WNODE WmiFireEvent builds (spec §2.8 worked
 * layout), written out here field by field, and its view is the validator's. */
/* The WNODE WmiFireEvent builds, written out field by field: 64 + size
 * bytes at w, the data pattern(seed). */
static void fill_fire_wnode(uint8_t *w, const GUID *guid, uint32_t provider_id, uint32_t index,
                            bool pdo, int64_t ts, uint32_t size, uint32_t seed) {
  memset(w, 0, 64);
  put32(w, 0, 64u + size);                     /* BufferSize */
  put32(w, 4, provider_id);                    /* ProviderId */
  memcpy(w + 16, &ts, 8);                      /* TimeStamp */
  memcpy(w + 24, guid, 16);                    /* Guid */
  put32(w, 44, 0x8au | (pdo ? 0x10000u : 0u)); /* SINGLE_INSTANCE|EVENT_ITEM|STATIC[|PDO] */
  put32(w, 52, index);                         /* InstanceIndex */
  put32(w, 56, 64);                            /* DataBlockOffset */
  put32(w, 60, size);                          /* SizeDataBlock */
  pattern(w + 64, size, seed);
}

static void assert_fire_wnode(const got *g, const GUID *guid, uint32_t provider_id, uint32_t index,
                              bool pdo, int64_t ts, uint32_t size, uint32_t seed) {
  uint8_t want[4200];
  assert_true(64u + size <= sizeof want);
  fill_fire_wnode(want, guid, provider_id, index, pdo, ts, size, seed);
  assert_int_equal(g->wnode_size, 64u + size);
  assert_memory_equal(g->wnode, want, 64u + size);
  assert_guid_equal(&g->guid, guid);
  assert_int_equal(g->provider_id, provider_id);
  assert_true(g->timestamp == ts);
  assert_false(g->has_name);
  assert_int_equal(g->instance_index, index);
  assert_int_equal(g->data_size, size);
  if (size != 0) {
    assert_int_equal(g->data_at, 64);
  }
  assert_false(g->from_reference);
  assert_true(g->view_base_off == 0);
  assert_status(g->revalid, WMIEV_STATUS_SUCCESS);
  assert_view_equal(&g->view, &g->reval, "delivered view vs validator");
  assert_true(g->view_data_off == g->reval_data_off);
}

/* ---- running fire calls through both paths --------------------------------------------------- */

#define DIAG_FILL 0x5a

static void take_shot(fixture *f, shot *s) {
  memset(s, 0, sizeof *s);
  s->bus = stats(f);
  for (size_t i = 0; i < GUID_COUNT; i++) {
    s->guid[i] = guid_stats(f, all_guids[i]);
  }
  pthread_mutex_lock(&f->mu);
  memcpy(s->warned, f->warned, sizeof s->warned);
  for (size_t k = 0; k < f->nsinks; k++) {
    s->n[k] = f->sinks[k].n;
  }
  pthread_mutex_unlock(&f->mu);
  for (size_t k = 0; k < f->nsinks; k++) {
    sub_counts(&f->sinks[k], &s->delivered[k], &s->lost[k]);
  }
}

/* Spec i fires at virtual time T0 + 1000 * (i + 1). */
static int64_t spec_time(size_t i) { return T0 + 1000 * (int64_t)(i + 1); }

static wmiev_status fire_spec_now(fixture *f, const fire_spec *s, bool via_source,
                                  wmiev_diag *diag) {
  static uint8_t data[4096];
  assert_true(s->size <= sizeof data);
  pattern(data, s->size, s->seed);
  const void *p = s->size != 0 ? data : NULL;
  memset(diag, DIAG_FILL, sizeof *diag);
  if (via_source) {
    return wmiev_source_fire(s->src, s->index, p, s->size, diag);
  }
  return wmiev_bus_fire_event(f->bus, s->p->device, s->g, s->index, p, s->size, diag);
}

/* Fires the specs in order, each at its own virtual time; in pumped mode then
 * dispatches everything at a later time (the stamp is the firing time). */
static void run_batch(fixture *f, const fire_spec *specs, size_t n, bool via_source, batch *b) {
  assert_true(n <= MAX_SPECS);
  b->via_source = via_source;
  b->n = n;
  take_shot(f, &b->before);
  for (size_t i = 0; i < n; i++) {
    atomic_store(&f->now, spec_time(i));
    b->st[i] = fire_spec_now(f, &specs[i], via_source, &b->diag[i]);
  }
  if (pumped(f)) {
    atomic_store(&f->now, T0 + 999999);
    (void)wmiev_bus_dispatch(f->bus, 0);
    assert_int_equal(wmiev_bus_pending(f->bus), 0);
  }
  take_shot(f, &b->after);
}

static void assert_diag_equal(const wmiev_diag *a, const wmiev_diag *b, wmiev_status st, size_t i) {
  if (WMIEV_SUCCESS(st)) {
    /* diag.h: left untouched on success. */
    uint8_t fill[sizeof(wmiev_diag)];
    memset(fill, DIAG_FILL, sizeof fill);
    assert_memory_equal(a, fill, sizeof fill);
    assert_memory_equal(b, fill, sizeof fill);
    return;
  }
  assert_status(a->status, st);
  assert_status(b->status, st);
  if (a->field == NULL || b->field == NULL) {
    fail_msg("spec %zu: diag.field NULL after a failure", i);
  }
  if (strcmp(a->field, b->field) != 0) {
    fail_msg("spec %zu: diag.field \"%s\" through the source, \"%s\" through fire_event", i,
             a->field, b->field);
  }
  assert_int_equal(a->offset, b->offset);
  if (strcmp(a->message, b->message) != 0) {
    fail_msg("spec %zu: diag.message \"%s\" through the source, \"%s\" through fire_event", i,
             a->message, b->message);
  }
}

/* Batch a (through sources) and batch b (through fire_event) had the same
 * effect in every respect. */
static void assert_batches_equal(fixture *f, const batch *a, const batch *b) {
  assert_int_equal(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    if (a->st[i] != b->st[i]) {
      fail_msg("spec %zu: %s through the source, %s through fire_event", i,
               wmiev_status_name(a->st[i]), wmiev_status_name(b->st[i]));
    }
    assert_diag_equal(&a->diag[i], &b->diag[i], a->st[i], i);
  }
  assert_stats_diff_equal(&a->before.bus, &a->after.bus, &b->before.bus, &b->after.bus, "bus");
  for (size_t g = 0; g < GUID_COUNT; g++) {
    char what[32];
    snprintf(what, sizeof what, "GUID #%zu", g);
    assert_stats_diff_equal(&a->before.guid[g], &a->after.guid[g], &b->before.guid[g],
                            &b->after.guid[g], what);
  }
  for (int w = 0; w < WMIEV_WARN_COUNT_; w++) {
    if (a->after.warned[w] - a->before.warned[w] != b->after.warned[w] - b->before.warned[w]) {
      fail_msg("warning hook: %s called %llu times through the source, %llu through fire_event",
               wmiev_warning_name((wmiev_warning)w),
               (unsigned long long)(a->after.warned[w] - a->before.warned[w]),
               (unsigned long long)(b->after.warned[w] - b->before.warned[w]));
    }
  }
  for (size_t k = 0; k < f->nsinks; k++) {
    size_t na = a->after.n[k] - a->before.n[k];
    size_t nb = b->after.n[k] - b->before.n[k];
    assert_int_equal(na, nb);
    for (size_t j = 0; j < na; j++) {
      assert_same_event(&f->sinks[k].ev[a->before.n[k] + j], &f->sinks[k].ev[b->before.n[k] + j]);
    }
    assert_int_equal(a->after.delivered[k] - a->before.delivered[k],
                     b->after.delivered[k] - b->before.delivered[k]);
    assert_int_equal(a->after.lost[k] - a->before.lost[k], b->after.lost[k] - b->before.lost[k]);
  }
}

/* Runs the specs through their sources, then through fire_event; requires
 * the same outcome; returns the run through the sources. */
static const batch *run_pair(fixture *f, const fire_spec *specs, size_t n) {
  run_batch(f, specs, n, true, &runs(f)->a);
  run_batch(f, specs, n, false, &runs(f)->b);
  assert_batches_equal(f, &runs(f)->a, &runs(f)->b);
  check_accounting(f);
  return &runs(f)->a;
}

/* Every fire call of the batch returned `want`. */
static void assert_all_status(const batch *b, wmiev_status want) {
  for (size_t i = 0; i < b->n; i++) {
    assert_status(b->st[i], want);
  }
}

#define BD(b, field) ((b)->after.bus.field - (b)->before.bus.field)
#define GD(b, g, field) ((b)->after.guid[guid_ix(g)].field - (b)->before.guid[guid_ix(g)].field)
#define WD(b, w) ((b)->after.warned[w] - (b)->before.warned[w])
#define SD(b, s) ((b)->after.n[(s) - (s)->f->sinks] - (b)->before.n[(s) - (s)->f->sinks])

/* Exactly `n` calls fired, each ending as `what` says (the rest must be 0). */
typedef struct expect_end {
  uint64_t rejected, not_enabled, dropped, discarded, delivered;
} expect_end;

static void assert_ends(const wmiev_bus_stats *b0, const wmiev_bus_stats *b1, uint64_t fired,
                        expect_end e) {
  assert_int_equal(b1->fired - b0->fired, fired);
  assert_int_equal(b1->rejected - b0->rejected, e.rejected);
  assert_int_equal(b1->not_enabled - b0->not_enabled, e.not_enabled);
  assert_int_equal(b1->dropped - b0->dropped, e.dropped);
  assert_int_equal(b1->discarded - b0->discarded, e.discarded);
  assert_int_equal(b1->delivered - b0->delivered, e.delivered);
  assert_int_equal(b1->traced - b0->traced, 0);
  assert_int_equal(b1->reference_failed - b0->reference_failed, 0);
}

/* The expected instance name of a static event of `p`. */
static void expected_name(const tprov *p, const GUID *g, uint32_t index, char *out, size_t cap) {
  (void)g;
  if ((p->reg_flags & WMIREG_FLAG_INSTANCE_PDO) != 0) {
    snprintf(out, cap, "%s_%u", PDO_ID, index);
  } else if (p->base_str != NULL) {
    snprintf(out, cap, "%s%u", p->base_str, index);
  } else {
    out[0] = '\0';
  }
}

/* Every sink subscribed to a spec's GUID got exactly its successful specs, in
 * order, as the WNODE WmiFireEvent builds at the spec's time. */
static void assert_batch_events(fixture *f, const batch *b, const fire_spec *specs) {
  for (size_t k = 0; k < f->nsinks; k++) {
    sink *s = &f->sinks[k];
    if (s->sub == NULL) {
      continue;
    }
    size_t at = b->before.n[k];
    for (size_t i = 0; i < b->n; i++) {
      const fire_spec *sp = &specs[i];
      if (!WMIEV_SUCCESS(b->st[i]) || memcmp(sp->g, s->g, sizeof(GUID)) != 0) {
        continue;
      }
      assert_true(at < b->after.n[k]);
      const got *g = &s->ev[at++];
      bool pdo = (sp->p->reg_flags & WMIREG_FLAG_INSTANCE_PDO) != 0;
      assert_fire_wnode(g, sp->g, pid(sp->p), sp->index, pdo, spec_time(i), sp->size, sp->seed);
      char want[160];
      expected_name(sp->p, sp->g, sp->index, want, sizeof want);
      assert_string_equal(g->name, want);
    }
    assert_int_equal(at, b->after.n[k]);
  }
}

/* ==== 1. Equivalence ========================================================================== */

/* For a static-name and a PDO-named block, events fired through sources are
 * delivered exactly as those of wmiev_bus_fire_event(), and count the same. */
static void equivalence(fixture *f, wmiev_delivery mode) {
  f->opts.max_event_size = 4096; /* room for events past any stack buffer */
  bus_start_mode(f, mode);
  tprov *a = toaster(f, 'A', 4);
  tprov *p = pdo_toaster(f, 'P', 2);
  sink *s1 = subscribe(f, NULL, &guid_ev);
  sink *s2 = subscribe(f, NULL, &guid_ev);
  sink *sp = subscribe(f, NULL, &guid_pdo);
  wmiev_source *sa = src_open(f, a, &guid_ev);
  wmiev_source *spd = src_open(f, p, &guid_pdo);
  assert_true(wmiev_source_enabled(sa));
  assert_true(wmiev_source_enabled(spd));

  fire_spec specs[MAX_SPECS] = {
      {a, &guid_ev, sa, 3, 5, 1},      {p, &guid_pdo, spd, 1, 2, 2},
      {p, &guid_pdo, spd, 0, 0, 0},    {a, &guid_ev, sa, 0, 960, 3},
      {a, &guid_ev, sa, 2, 3000, 4},   {a, &guid_ev, sa, 1, 4096 - 64, 5},
      {p, &guid_pdo, spd, 1, 1100, 6},
  };
  size_t n = 7;
  for (uint32_t i = 0; n < 40; i++, n++) {
    bool on_a = i % 3 != 0;
    specs[n] = (fire_spec){on_a ? a : p,     on_a ? &guid_ev : &guid_pdo,
                           on_a ? sa : spd,  on_a ? i % 4 : i % 2,
                           (i * 37u) % 200u, 100 + i};
  }
  uint64_t n_ev = 0, n_pdo = 0;
  for (size_t i = 0; i < n; i++) {
    if (specs[i].src == sa) {
      n_ev++;
    } else {
      n_pdo++;
    }
  }

  const batch *b = run_pair(f, specs, n);
  assert_all_status(b, WMIEV_STATUS_SUCCESS);
  assert_ends(&b->before.bus, &b->after.bus, n, (expect_end){.delivered = n});
  assert_int_equal(BD(b, callbacks), 2 * n_ev + n_pdo);
  for (int w = 0; w < WMIEV_WARN_COUNT_; w++) {
    assert_int_equal(BD(b, warnings[w]), 0);
    assert_int_equal(WD(b, w), 0);
  }
  assert_int_equal(BD(b, enables_sent), 0);
  assert_int_equal(GD(b, &guid_ev, fired), n_ev);
  assert_int_equal(GD(b, &guid_ev, delivered), n_ev);
  assert_int_equal(GD(b, &guid_ev, callbacks), 2 * n_ev);
  assert_int_equal(GD(b, &guid_pdo, fired), n_pdo);
  assert_int_equal(GD(b, &guid_pdo, delivered), n_pdo);
  assert_int_equal(GD(b, &guid_pdo, callbacks), n_pdo);
  assert_int_equal(SD(b, s1), n_ev);
  assert_int_equal(SD(b, s2), n_ev);
  assert_int_equal(SD(b, sp), n_pdo);
  assert_batch_events(f, b, specs);
  assert_batch_events(f, &runs(f)->b, specs);
  /* The spec's worked names. */
  assert_string_equal(s1->ev[0].name, "Toaster3");
  assert_string_equal(sp->ev[0].name, "ROOT\\TOASTER\\0000_1");
  assert_int_equal(get32(sp->ev[0].wnode, 44), 0x1008a);

  uint64_t delivered = 0, lost = 9;
  wmiev_subscription_counts(s1->sub, &delivered, &lost);
  assert_int_equal(delivered, 2 * n_ev);
  assert_int_equal(lost, 0);
  wmiev_subscription_counts(sp->sub, &delivered, &lost);
  assert_int_equal(delivered, 2 * n_pdo);
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.fired, 2 * n);
  assert_int_equal(st.queued_now, 0);
  assert_int_equal(st.queue_peak, mode == WMIEV_DELIVERY_SYNC ? 0 : n);
}

static void test_equivalence_sync(void **state) { equivalence(*state, WMIEV_DELIVERY_SYNC); }
static void test_equivalence_pumped(void **state) { equivalence(*state, WMIEV_DELIVERY_PUMPED); }

/* Two providers of one GUID, a source each: each source fires as its own
 * provider (ProviderId, names), never as the other. */
static void test_equivalence_two_providers(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  tprov *b = prov_new(f, 'B', WMIREG_FLAG_INSTANCE_BASENAME, "Kettle");
  prov_guid(b, &guid_ev, 3, 0);
  prov_up(b);
  sink *s = subscribe(f, NULL, &guid_ev);
  wmiev_source *sa = src_open(f, a, &guid_ev);
  wmiev_source *sb = src_open(f, b, &guid_ev);
  wmiev_source *sa2 = src_open(f, a, &guid_ev); /* a second source for the same block */
  const fire_spec specs[] = {
      {a, &guid_ev, sa, 1, 4, 1},  {b, &guid_ev, sb, 2, 4, 2}, {a, &guid_ev, sa2, 0, 4, 3},
      {b, &guid_ev, sb, 0, 0, 0},  {b, &guid_ev, sb, 3, 4, 4}, /* beyond B's 3 */
      {a, &guid_ev, sa2, 2, 4, 5},                             /* beyond A's 2 */
  };
  const batch *bt = run_pair(f, specs, 6);
  static const wmiev_status want[] = {WMIEV_STATUS_SUCCESS,
                                      WMIEV_STATUS_SUCCESS,
                                      WMIEV_STATUS_SUCCESS,
                                      WMIEV_STATUS_SUCCESS,
                                      WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                                      WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND};
  for (size_t i = 0; i < 6; i++) {
    assert_status(bt->st[i], want[i]);
  }
  assert_ends(&bt->before.bus, &bt->after.bus, 6, (expect_end){.rejected = 2, .delivered = 4});
  assert_int_equal(BD(bt, rejected_by[WMIEV_REJECT_BAD_INSTANCE]), 2);
  assert_batch_events(f, bt, specs);
  assert_string_equal(s->ev[1].name, "Kettle2");
  assert_int_equal(s->ev[1].provider_id, pid(b));
  assert_int_equal(s->ev[0].provider_id, pid(a));
}

/* ==== 2. No subscriber ======================================================================== */

static void test_no_subscriber(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  wmiev_source *src = src_open(f, a, &guid_ev);
  assert_false(wmiev_source_enabled(src));

  const fire_spec specs[] = {
      {a, &guid_ev, src, 0, 4, 1}, {a, &guid_ev, src, 1, 0, 0}, {a, &guid_ev, src, 1, 900, 2}};
  const batch *b = run_pair(f, specs, 3);
  assert_all_status(b, WMIEV_STATUS_SUCCESS);
  assert_ends(&b->before.bus, &b->after.bus, 3, (expect_end){.not_enabled = 3});
  assert_ends(&b->before.guid[guid_ix(&guid_ev)], &b->after.guid[guid_ix(&guid_ev)], 3,
              (expect_end){.not_enabled = 3});
  assert_int_equal(BD(b, warnings[WMIEV_WARN_NOT_ENABLED]), 3);
  assert_int_equal(GD(b, &guid_ev, warnings[WMIEV_WARN_NOT_ENABLED]), 3);
  assert_int_equal(WD(b, WMIEV_WARN_NOT_ENABLED), 3);
  for (int w = 0; w < WMIEV_WARN_COUNT_; w++) {
    if (w != WMIEV_WARN_NOT_ENABLED) {
      assert_int_equal(WD(b, w), 0);
      assert_int_equal(BD(b, warnings[w]), 0);
    }
  }
  assert_int_equal(BD(b, callbacks), 0);
  assert_false(wmiev_source_enabled(src));

  /* A subscriber turns it on (and the provider gets its ENABLE); a second
   * one changes nothing; it goes off with the last. */
  sink *s = subscribe(f, NULL, &guid_ev);
  assert_true(wmiev_source_enabled(src));
  assert_int_equal(atomic_load(&a->enables), 1);
  sink *other = subscribe(f, NULL, &guid_ev2);   /* another GUID: nothing to do with it */
  wmiev_source *late = src_open(f, a, &guid_ev); /* opened while enabled: on at once */
  assert_true(wmiev_source_enabled(late));
  assert_status(wmiev_source_fire(src, 1, "abcd", 4, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, 1);
  sink *s2 = subscribe(f, NULL, &guid_ev);
  unsubscribe(s);
  assert_true(wmiev_source_enabled(src));
  unsubscribe(s2);
  assert_false(wmiev_source_enabled(src));
  assert_false(wmiev_source_enabled(late));
  assert_int_equal(atomic_load(&a->disables), 1);
  unsubscribe(other);

  /* Off again: not_enabled again, exactly as before. */
  b = run_pair(f, specs, 1);
  assert_ends(&b->before.bus, &b->after.bus, 1, (expect_end){.not_enabled = 1});
  assert_int_equal(WD(b, WMIEV_WARN_NOT_ENABLED), 1);
  assert_int_equal(stats(f).warnings[WMIEV_WARN_NOT_ENABLED], 8);
  assert_int_equal(stats(f).delivered, 1);
}

/* Pumped: an event queued while a subscriber listens, which leaves before the
 * dispatch, is discarded; the same through both paths. */
static void test_discarded_pumped(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  wmiev_source *src = src_open(f, a, &guid_ev);
  wmiev_bus_stats r[2][2];
  for (int path = 0; path < 2; path++) {
    r[path][0] = stats(f);
    sink *s = subscribe(f, NULL, &guid_ev);
    assert_true(wmiev_source_enabled(src));
    assert_status(path == 0 ? wmiev_source_fire(src, 0, "abcd", 4, NULL)
                            : wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, "abcd", 4, NULL),
                  WMIEV_STATUS_SUCCESS);
    assert_int_equal(wmiev_bus_pending(f->bus), 1);
    unsubscribe(s);
    assert_false(wmiev_source_enabled(src));
    assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
    assert_int_equal(s->n, 0);
    r[path][1] = stats(f);
  }
  assert_stats_diff_equal(&r[0][0], &r[0][1], &r[1][0], &r[1][1], "bus");
  assert_ends(&r[0][0], &r[0][1], 1, (expect_end){.discarded = 1});
  assert_int_equal(r[0][1].enables_sent - r[0][0].enables_sent, 1);
  assert_int_equal(r[0][1].disables_sent - r[0][0].disables_sent, 1);
}

/* ==== 3. Rejections =========================================================================== */

static void test_rejections(void **state) {
  fixture *f = *state;
  f->opts.max_event_size = 128;
  bus_start(f);
  tprov *a = toaster(f, 'A', 4);
  tprov *b = prov_new(f, 'B', WMIREG_FLAG_INSTANCE_BASENAME, "Other");
  prov_guid(b, &guid_other, 1, 0);
  prov_up(b);
  sink *s = subscribe(f, NULL, &guid_ev);
  wmiev_source *sa = src_open(f, a, &guid_ev);
  wmiev_source *sa_other = src_open(f, a, &guid_other); /* A never registered it */
  wmiev_source *sb = src_open(f, b, &guid_other);       /* nobody listens */
  const fire_spec specs[] = {
      {a, &guid_ev, sa, 0, 65, 1},         /* 0: 129 bytes > 128 */
      {a, &guid_ev, sa, 0, 64, 2},         /* 1: exactly 128: delivered */
      {a, &guid_ev, sa, 4, 4, 3},          /* 2: beyond the 4 instances */
      {a, &guid_ev, sa, UINT32_MAX, 4, 3}, /* 3: far beyond */
      {a, &guid_ev, sa, 3, 4, 4},          /* 4: the last one: delivered */
      {a, &guid_other, sa_other, 0, 4, 5}, /* 5: GUID not registered by A */
      {b, &guid_other, sb, 0, 65, 6},      /* 6: too large beats not-enabled */
      {b, &guid_other, sb, 1, 4, 7},       /* 7: bad instance beats not-enabled */
      {b, &guid_other, sb, 0, 4, 8},       /* 8: not enabled */
      {a, &guid_ev, sa, 5, 200, 9},        /* 9: too large and bad instance: too large */
  };
  const size_t n = sizeof specs / sizeof specs[0];
  const batch *bt = run_pair(f, specs, n);
  static const wmiev_status want[] = {WMIEV_STATUS_BUFFER_OVERFLOW,
                                      WMIEV_STATUS_SUCCESS,
                                      WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                                      WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                                      WMIEV_STATUS_SUCCESS,
                                      WMIEV_STATUS_WMI_GUID_NOT_FOUND,
                                      WMIEV_STATUS_BUFFER_OVERFLOW,
                                      WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND,
                                      WMIEV_STATUS_SUCCESS,
                                      WMIEV_STATUS_BUFFER_OVERFLOW};
  static const char *const field[] = {"EventDataSize",
                                      NULL,
                                      "InstanceIndex",
                                      "InstanceIndex",
                                      NULL,
                                      "WnodeHeader.Guid",
                                      "EventDataSize",
                                      "InstanceIndex",
                                      NULL,
                                      "EventDataSize"};
  for (size_t i = 0; i < n; i++) {
    assert_status(bt->st[i], want[i]);
    if (field[i] != NULL) {
      assert_string_equal(bt->diag[i].field, field[i]);
      assert_status(bt->diag[i].status, want[i]);
      assert_true(bt->diag[i].message[0] != '\0');
    }
  }
  assert_ends(&bt->before.bus, &bt->after.bus, n,
              (expect_end){.rejected = 7, .not_enabled = 1, .delivered = 2});
  assert_int_equal(BD(bt, rejected_by[WMIEV_REJECT_TOO_LARGE]), 3);
  assert_int_equal(BD(bt, rejected_by[WMIEV_REJECT_BAD_INSTANCE]), 3);
  assert_int_equal(BD(bt, rejected_by[WMIEV_REJECT_GUID_NOT_REGISTERED]), 1);
  assert_int_equal(BD(bt, rejected_by[WMIEV_REJECT_UNKNOWN_PROVIDER]), 0);
  assert_int_equal(BD(bt, rejected_by[WMIEV_REJECT_MALFORMED]), 0);
  assert_int_equal(GD(bt, &guid_ev, rejected), 4);
  assert_int_equal(GD(bt, &guid_ev, fired), 6);
  assert_int_equal(GD(bt, &guid_other, rejected), 3);
  assert_int_equal(GD(bt, &guid_other, fired), 4);
  assert_int_equal(GD(bt, &guid_other, not_enabled), 1);
  assert_int_equal(WD(bt, WMIEV_WARN_NOT_ENABLED), 1);
  assert_int_equal(SD(bt, s), 2);
  assert_batch_events(f, bt, specs);
}

/* Opened before the block is registered: fails as fire_event does, then
 * works once it is; a source opened before a subscriber exists sees the
 * ENABLE a late registration gets. */
static void test_open_before_registration(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
  prov_guid(a, &guid_ev, 2, 0);
  prov_create(a); /* the device exists; nothing is registered */
  wmiev_source *src = src_open(f, a, &guid_ev);
  assert_false(wmiev_source_enabled(src));
  sink *s = subscribe(f, NULL, &guid_ev);
  const fire_spec specs[] = {{a, &guid_ev, src, 0, 4, 1}, {a, &guid_ev, src, 1, 0, 2}};
  const batch *b = run_pair(f, specs, 2);
  for (size_t i = 0; i < 2; i++) {
    assert_status(b->st[i], WMIEV_STATUS_WMI_GUID_NOT_FOUND);
    assert_string_equal(b->diag[i].field, "WnodeHeader.Guid");
  }
  assert_ends(&b->before.bus, &b->after.bus, 2, (expect_end){.rejected = 2});
  assert_int_equal(BD(b, rejected_by[WMIEV_REJECT_GUID_NOT_REGISTERED]), 2);
  assert_int_equal(GD(b, &guid_ev, rejected), 2);
  assert_int_equal(s->n, 0);

  /* Registered now, while a subscriber waits: ENABLE during REGISTER, and
   * the events go through, from an enabled provider (no warning). */
  prov_control(a, WMIREG_ACTION_REGISTER);
  assert_int_equal(atomic_load(&a->enables), 1);
  assert_true(wmiev_source_enabled(src));
  b = run_pair(f, specs, 2);
  assert_all_status(b, WMIEV_STATUS_SUCCESS);
  assert_ends(&b->before.bus, &b->after.bus, 2, (expect_end){.delivered = 2});
  assert_int_equal(WD(b, WMIEV_WARN_PROVIDER_NOT_ENABLED), 0);
  assert_batch_events(f, b, specs);
}

/* The source stays valid across DEREGISTER, REGISTER again and the device's
 * destruction. */
static void test_across_deregistration(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  sink *s = subscribe(f, NULL, &guid_ev);
  wmiev_source *src = src_open(f, a, &guid_ev);
  const fire_spec specs[] = {{a, &guid_ev, src, 1, 4, 1}};
  const batch *b = run_pair(f, specs, 1);
  assert_status(b->st[0], WMIEV_STATUS_SUCCESS);

  prov_control(a, WMIREG_ACTION_DEREGISTER); /* no DISABLE to a provider that leaves */
  assert_int_equal(atomic_load(&a->disables), 0);
  b = run_pair(f, specs, 1);
  assert_status(b->st[0], WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_string_equal(b->diag[0].field, "WnodeHeader.Guid");
  assert_int_equal(BD(b, rejected_by[WMIEV_REJECT_GUID_NOT_REGISTERED]), 1);
  assert_ends(&b->before.bus, &b->after.bus, 1, (expect_end){.rejected = 1});

  /* Back: ENABLE during the REGISTER, and no PROVIDER_NOT_ENABLED. */
  prov_control(a, WMIREG_ACTION_REGISTER);
  assert_int_equal(atomic_load(&a->enables), 2);
  b = run_pair(f, specs, 1);
  assert_status(b->st[0], WMIEV_STATUS_SUCCESS);
  assert_ends(&b->before.bus, &b->after.bus, 1, (expect_end){.delivered = 1});
  assert_int_equal(WD(b, WMIEV_WARN_PROVIDER_NOT_ENABLED), 0);
  assert_batch_events(f, b, specs);
  assert_int_equal(s->n, 4);

  /* The device is gone: fire_event cannot be called any more (its device
   * pointer is dangling), a source can. It fails as a WNODE with that
   * ProviderId does: STATUS_DEVICE_DOES_NOT_EXIST, UNKNOWN_PROVIDER. */
  uint32_t old_id = pid(a);
  prov_destroy(a);
  wmiev_bus_stats s0 = stats(f);
  wmiev_diag d;
  memset(&d, 0, sizeof d);
  assert_status(wmiev_source_fire(src, 1, "abcd", 4, &d), WMIEV_STATUS_DEVICE_DOES_NOT_EXIST);
  assert_status(d.status, WMIEV_STATUS_DEVICE_DOES_NOT_EXIST);
  assert_non_null(d.field);
  wmiev_bus_stats s1 = stats(f);
  assert_ends(&s0, &s1, 1, (expect_end){.rejected = 1});
  assert_int_equal(s1.rejected_by[WMIEV_REJECT_UNKNOWN_PROVIDER] -
                       s0.rejected_by[WMIEV_REJECT_UNKNOWN_PROVIDER],
                   1);
  assert_int_equal(guid_stats(f, &guid_ev).rejected_by[WMIEV_REJECT_UNKNOWN_PROVIDER], 1);
  /* The same through write_event. */
  wmiev_wnode_header_params h;
  memset(&h, 0, sizeof h);
  h.guid = guid_ev;
  h.provider_id = old_id;
  h.extra_flags = WNODE_FLAG_EVENT_ITEM;
  wmiev_wnode_instance in = {.index = 1, .data = "abcd", .size = 4};
  size_t need = 0;
  assert_status(wmiev_wnode_build_single_instance(NULL, 0, &h, &in, &need, NULL),
                WMIEV_STATUS_BUFFER_TOO_SMALL);
  uint8_t *w = wmiev_bus_alloc_event(f->bus, need);
  assert_non_null(w);
  assert_status(wmiev_wnode_build_single_instance(w, need, &h, &in, &need, NULL),
                WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_write_event(f->bus, w, NULL), WMIEV_STATUS_DEVICE_DOES_NOT_EXIST);
  wmiev_bus_free_event(f->bus, w);
  assert_int_equal(guid_stats(f, &guid_ev).rejected_by[WMIEV_REJECT_UNKNOWN_PROVIDER], 2);
  assert_int_equal(s->n, 4);
}

/* UPDATE_GUIDS changes the instance count, the naming, removes the block
 * and adds it again: the source follows every step as fire_event does. */
static void test_follows_update(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  make_pdo(f);
  sink *s = subscribe(f, NULL, &guid_ev);
  wmiev_source *src = src_open(f, a, &guid_ev);
  fire_spec specs[] = {{a, &guid_ev, src, 0, 4, 1},
                       {a, &guid_ev, src, 1, 4, 2},
                       {a, &guid_ev, src, 2, 4, 3},
                       {a, &guid_ev, src, 3, 4, 4},
                       {a, &guid_ev, src, 4, 4, 5}};
  /* Instances that exist for each count. */
  static const uint32_t counts[] = {2, 4, 1, 5};
  for (size_t step = 0; step < 4; step++) {
    if (step != 0) {
      a->guids[0].instance_count = counts[step];
      prov_control(a, WMIREG_ACTION_UPDATE_GUIDS);
    }
    const batch *b = run_pair(f, specs, 5);
    for (uint32_t i = 0; i < 5; i++) {
      assert_status(b->st[i],
                    i < counts[step] ? WMIEV_STATUS_SUCCESS : WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
    }
    assert_ends(&b->before.bus, &b->after.bus, 5,
                (expect_end){.rejected = 5 - counts[step], .delivered = counts[step]});
    assert_int_equal(BD(b, rejected_by[WMIEV_REJECT_BAD_INSTANCE]), 5 - counts[step]);
    assert_batch_events(f, b, specs);
  }

  /* PDO names now: the events carry PDO_INSTANCE_NAMES and the PDO's names. */
  a->reg_flags = WMIREG_FLAG_INSTANCE_PDO;
  a->pdo = f->pdo;
  a->base_units = 0;
  a->base_str = NULL;
  prov_control(a, WMIREG_ACTION_UPDATE_GUIDS);
  const batch *b = run_pair(f, specs, 2);
  assert_all_status(b, WMIEV_STATUS_SUCCESS);
  assert_batch_events(f, b, specs);
  assert_int_equal(get32(s->ev[s->n - 1].wnode, 44), 0x1008a);
  assert_string_equal(s->ev[s->n - 1].name, "ROOT\\TOASTER\\0000_1");
  assert_int_equal(WD(b, WMIEV_WARN_PDO_FLAG_MISMATCH), 0);

  /* Removed by UPDATE_GUIDS: GUID not found. */
  a->guids[0].flags = WMIREG_FLAG_REMOVE_GUID;
  prov_control(a, WMIREG_ACTION_UPDATE_GUIDS);
  b = run_pair(f, specs, 1);
  assert_status(b->st[0], WMIEV_STATUS_WMI_GUID_NOT_FOUND);
  assert_int_equal(BD(b, rejected_by[WMIEV_REJECT_GUID_NOT_REGISTERED]), 1);

  /* Added again, BASENAME, 3 instances. */
  a->guids[0].flags = 0;
  a->guids[0].instance_count = 3;
  a->reg_flags = WMIREG_FLAG_INSTANCE_BASENAME;
  a->pdo = NULL;
  a->base_units = utf16("Again", a->base, 32);
  a->base_str = "Again";
  prov_control(a, WMIREG_ACTION_UPDATE_GUIDS);
  b = run_pair(f, specs, 4);
  assert_status(b->st[2], WMIEV_STATUS_SUCCESS);
  assert_status(b->st[3], WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_batch_events(f, b, specs);
  assert_string_equal(s->ev[s->n - 1].name, "Again2");
}

/* A started bus with provider D registering guid_dyn with dynamic names, a
 * subscriber (*s) and D's source for it. */
static wmiev_source *dynamic_block_setup(fixture *f, tprov **d, sink **s) {
  bus_start(f);
  *d = prov_new(f, 'D', 0, NULL);
  prov_guid(*d, &guid_dyn, 0, 0);
  prov_up(*d);
  *s = subscribe(f, NULL, &guid_dyn);
  return src_open(f, *d, &guid_dyn);
}

/* A dynamic-name block: WmiFireEvent's static-name event gets the
 * STATIC_FOR_DYNAMIC warning and is delivered (no index check). */
static void test_dynamic_block(void **state) {
  fixture *f = *state;
  tprov *d;
  sink *s;
  wmiev_source *src = dynamic_block_setup(f, &d, &s);
  const fire_spec specs[] = {{d, &guid_dyn, src, 0, 4, 1}, {d, &guid_dyn, src, 7, 0, 0}};
  const batch *b = run_pair(f, specs, 2);
  assert_all_status(b, WMIEV_STATUS_SUCCESS);
  assert_ends(&b->before.bus, &b->after.bus, 2, (expect_end){.delivered = 2});
  assert_int_equal(BD(b, warnings[WMIEV_WARN_STATIC_FOR_DYNAMIC]), 2);
  assert_int_equal(GD(b, &guid_dyn, warnings[WMIEV_WARN_STATIC_FOR_DYNAMIC]), 2);
  assert_int_equal(WD(b, WMIEV_WARN_STATIC_FOR_DYNAMIC), 2);
  assert_int_equal(WD(b, WMIEV_WARN_PDO_FLAG_MISMATCH), 0);
  assert_batch_events(f, b, specs);
  assert_string_equal(s->ev[0].name, "");
}

/* Strict mode: the same mismatch is a rejection, through both paths. */
static void test_dynamic_block_strict(void **state) {
  fixture *f = *state;
  f->opts.strict = true;
  tprov *d;
  sink *s;
  wmiev_source *src = dynamic_block_setup(f, &d, &s);
  const fire_spec specs[] = {{d, &guid_dyn, src, 0, 4, 1}};
  const batch *b = run_pair(f, specs, 1);
  assert_status(b->st[0], WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  assert_string_equal(b->diag[0].field, "WnodeHeader.Flags");
  assert_int_equal(BD(b, rejected_by[WMIEV_REJECT_STRICT]), 1);
  assert_ends(&b->before.bus, &b->after.bus, 1, (expect_end){.rejected = 1});
  assert_int_equal(WD(b, WMIEV_WARN_STATIC_FOR_DYNAMIC), 0);
  assert_int_equal(s->n, 0);
}

/* ==== 4. A provider whose ENABLE failed ======================================================= */

static void test_provider_not_enabled(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  tprov *b = toaster(f, 'B', 2);
  /* The sources are opened while both providers are enabled, then the
   * subscriber leaves (DISABLE): what they knew about "enabled" is stale
   * unless the bus tells them. */
  sink *s = subscribe(f, NULL, &guid_ev);
  wmiev_source *sa = src_open(f, a, &guid_ev);
  wmiev_source *sb = src_open(f, b, &guid_ev);
  unsubscribe(s);
  assert_int_equal(atomic_load(&a->disables), 1);
  a->enable_status = WMIEV_STATUS_UNSUCCESSFUL; /* A's driver refuses next time */
  s = subscribe(f, NULL, &guid_ev);
  assert_int_equal(warned(f, WMIEV_WARN_ENABLE_FAILED), 1);
  /* The GUID has a subscriber: firing delivers, so "enabled" (source.h). */
  assert_true(wmiev_source_enabled(sa));
  assert_true(wmiev_source_enabled(sb));

  const fire_spec specs[] = {
      {a, &guid_ev, sa, 0, 4, 1}, {b, &guid_ev, sb, 0, 4, 2}, {a, &guid_ev, sa, 1, 0, 3}};
  const batch *bt = run_pair(f, specs, 3);
  assert_all_status(bt, WMIEV_STATUS_SUCCESS);
  assert_ends(&bt->before.bus, &bt->after.bus, 3, (expect_end){.delivered = 3});
  assert_int_equal(BD(bt, warnings[WMIEV_WARN_PROVIDER_NOT_ENABLED]), 2);
  assert_int_equal(GD(bt, &guid_ev, warnings[WMIEV_WARN_PROVIDER_NOT_ENABLED]), 2);
  assert_int_equal(WD(bt, WMIEV_WARN_PROVIDER_NOT_ENABLED), 2);
  assert_int_equal(SD(bt, s), 3);
  assert_batch_events(f, bt, specs);

  /* Next time A's ENABLE succeeds: no warning any more. */
  unsubscribe(s);
  a->enable_status = WMIEV_STATUS_SUCCESS;
  s = subscribe(f, NULL, &guid_ev);
  bt = run_pair(f, specs, 3);
  assert_ends(&bt->before.bus, &bt->after.bus, 3, (expect_end){.delivered = 3});
  assert_int_equal(WD(bt, WMIEV_WARN_PROVIDER_NOT_ENABLED), 0);
  assert_int_equal(SD(bt, s), 3);
  assert_int_equal(stats(f).warnings[WMIEV_WARN_PROVIDER_NOT_ENABLED], 4);
}

/* ==== 5. Queue full =========================================================================== */

static wmiev_status src_seq(wmiev_source *src, uint32_t seq, wmiev_diag *d) {
  return wmiev_source_fire(src, 0, &seq, 4, d);
}

static void test_queue_full(void **state) {
  fixture *f = *state;
  f->opts.queue_capacity = 4;
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 1);
  sink *s1 = subscribe(f, NULL, &guid_ev);
  sink *s2 = subscribe(f, NULL, &guid_ev);
  wmiev_source *src = src_open(f, a, &guid_ev);
  for (uint32_t i = 0; i < 4; i++) {
    assert_status(src_seq(src, i, NULL), WMIEV_STATUS_SUCCESS);
  }
  /* Full: dropped, through the source and through fire_event alike. */
  wmiev_diag d1, d2;
  wmiev_bus_stats b0 = stats(f);
  assert_status(src_seq(src, 100, &d1), WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  wmiev_bus_stats b1 = stats(f);
  uint32_t seq = 101;
  assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, &seq, 4, &d2),
                WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  wmiev_bus_stats b2 = stats(f);
  assert_stats_diff_equal(&b0, &b1, &b1, &b2, "bus");
  assert_status(d1.status, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  assert_string_equal(d1.field, "queue");
  assert_string_equal(d1.field, d2.field);
  assert_string_equal(d1.message, d2.message);
  assert_int_equal(d1.offset, d2.offset);
  assert_status(src_seq(src, 102, NULL), WMIEV_STATUS_INSUFFICIENT_RESOURCES);
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.dropped, 3);
  assert_int_equal(st.fired, 7);
  assert_int_equal(st.queued_now, 4);
  assert_int_equal(st.queue_peak, 4);
  assert_int_equal(guid_stats(f, &guid_ev).dropped, 3);
  for (int k = 0; k < 2; k++) {
    uint64_t delivered = 9, lost = 0;
    wmiev_subscription_counts((k == 0 ? s1 : s2)->sub, &delivered, &lost);
    assert_int_equal(delivered, 0);
    assert_int_equal(lost, 3);
  }
  check_accounting(f);

  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 4);
  /* Room again. */
  assert_status(src_seq(src, 9, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
  sink *both[2] = {s1, s2};
  for (int k = 0; k < 2; k++) {
    sink *s = both[k];
    assert_int_equal(s->n, 5);
    for (uint32_t i = 0; i < 4; i++) {
      assert_int_equal(seq_of(&s->ev[i]), i);
      assert_int_equal(s->ev[i].lost_before, i == 0 ? 3 : 0); /* the next event says how many */
    }
    assert_int_equal(seq_of(&s->ev[4]), 9);
    assert_int_equal(s->ev[4].lost_before, 0);
    uint64_t delivered = 0, lost = 0;
    wmiev_subscription_counts(s->sub, &delivered, &lost);
    assert_int_equal(delivered, 5);
    assert_int_equal(lost, 3);
  }
  st = stats(f);
  assert_int_equal(st.delivered, 5);
  assert_int_equal(st.callbacks, 10);
}

/* ==== 6. Unsubscribe and subscribe from callbacks ============================================= */

typedef struct reentry {
  fixture *f;
  wmiev_source *src;
  sink *spawner, *self, *killer, *victim, *after_victim, *spawned, *early_victim;
} reentry;

static void hook_self(sink *s, const wmiev_event *e) {
  (void)e;
  if (s->state++ == 0) {
    /* Returns at once from inside its own callback, with success. */
    unsubscribe(s);
  }
}

static void hook_killer(sink *s, const wmiev_event *e) {
  (void)e;
  reentry *r = s->ctx;
  if (s->state++ == 0) {
    unsubscribe(r->victim);       /* later in this delivery: not called for it */
    unsubscribe(r->early_victim); /* earlier in it: already called, never again */
  }
}

static void hook_spawner(sink *s, const wmiev_event *e) {
  (void)e;
  reentry *r = s->ctx;
  if (s->state++ == 0) {
    r->spawned = subscribe(r->f, NULL, &guid_ev);
  }
}

static void reentrant(fixture *f, wmiev_delivery mode) {
  bus_start_mode(f, mode);
  tprov *a = toaster(f, 'A', 1);
  reentry r = {.f = f};
  r.src = src_open(f, a, &guid_ev);
  /* Delivery order is subscription order. */
  r.early_victim = sink_new(f);
  r.spawner = sink_new(f);
  r.self = sink_new(f);
  r.killer = sink_new(f);
  r.victim = sink_new(f);
  r.after_victim = sink_new(f);
  sink *order[] = {r.early_victim, r.spawner, r.self, r.killer, r.victim, r.after_victim};
  sink_hook hooks[] = {NULL, hook_spawner, hook_self, hook_killer, NULL, NULL};
  for (size_t i = 0; i < 6; i++) {
    order[i]->hook = hooks[i];
    order[i]->ctx = &r;
    subscribe(f, order[i], &guid_ev);
  }
  for (uint32_t seq = 0; seq < 3; seq++) {
    assert_status(src_seq(r.src, seq, NULL), WMIEV_STATUS_SUCCESS);
    if (mode != WMIEV_DELIVERY_SYNC) {
      assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
    }
  }
  static const uint32_t all[] = {0, 1, 2};
  static const uint32_t zero[] = {0};
  static const uint32_t later[] = {1, 2};
  seqs(r.early_victim, zero, 1); /* called for 0 before the killer ran */
  seqs(r.spawner, all, 3);
  seqs(r.self, zero, 1); /* unsubscribed itself during 0 */
  seqs(r.killer, all, 3);
  seqs(r.victim, NULL, 0); /* unsubscribed before its turn came */
  seqs(r.after_victim, all, 3);
  assert_non_null(r.spawned);
  seqs(r.spawned, later, 2); /* subscribed during 0: gets 1 and 2, not 0 */
  assert_null(r.self->sub);
  assert_null(r.victim->sub);
  uint64_t delivered = 0, lost = 9;
  wmiev_subscription_counts(r.spawned->sub, &delivered, &lost);
  assert_int_equal(delivered, 2);
  assert_int_equal(lost, 0);
  wmiev_subscription_counts(r.after_victim->sub, &delivered, &lost);
  assert_int_equal(delivered, 3);
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.fired, 3);
  assert_int_equal(st.delivered, 3);
  assert_int_equal(st.callbacks, 1 + 3 + 1 + 3 + 0 + 3 + 2);
  assert_int_equal(guid_stats(f, &guid_ev).callbacks, 13);
  assert_true(wmiev_source_enabled(r.src));
}

static void test_reentrant_sync(void **state) { reentrant(*state, WMIEV_DELIVERY_SYNC); }
static void test_reentrant_pumped(void **state) { reentrant(*state, WMIEV_DELIVERY_PUMPED); }

/* (d) One thread fires through a source without pause; another subscribes
 * and unsubscribes CHURN_ROUNDS times. A callback that runs (starts, or is
 * still running) after wmiev_bus_unsubscribe() returned is an error. */
#define CHURN_ROUNDS 2000

typedef struct churn churn;

typedef struct churn_sub {
  churn *ch;
  atomic_bool unsubscribed; /* set right after wmiev_bus_unsubscribe() returned */
  atomic_uint calls;
} churn_sub;

struct churn {
  fixture *f;
  wmiev_source *src;
  bool fallback; /* the delivering thread (the firer when sync, else the dispatcher)
                    delivers without a thread record */
  atomic_bool stop;
  atomic_uint errors; /* callbacks after unsubscribe */
  atomic_uint bad;    /* unexpected statuses */
  atomic_uint_fast64_t fired_ok, fired_dropped, base_calls, base_lost;
  churn_sub subs[CHURN_ROUNDS];
};

static void churn_cb(const wmiev_event *e, void *payload) {
  churn_sub *c = payload;
  (void)e;
  if (atomic_load(&c->unsubscribed)) {
    atomic_fetch_add(&c->ch->errors, 1);
  }
  atomic_fetch_add(&c->calls, 1);
  /* Stay a little, so that unsubscribes meet running callbacks. */
  for (int i = 0; i < 50; i++) {
    (void)atomic_load(&c->ch->stop);
  }
  if (atomic_load(&c->unsubscribed)) {
    atomic_fetch_add(&c->ch->errors, 1); /* still running after unsubscribe returned */
  }
}

static void churn_base_cb(const wmiev_event *e, void *payload) {
  churn *ch = payload;
  atomic_fetch_add(&ch->base_calls, 1);
  atomic_fetch_add(&ch->base_lost, e->lost_before);
}

/* Test hook (lib/bus/thread_state.c): the calling thread delivers with the
 * atomic reader count and pins instead of its record. */
void wmiev__thread_state_test_refuse(void);
uint32_t wmiev__thread_states_in_use(void);

static void *churn_firer(void *arg) {
  churn *ch = arg;
  uint32_t seq = 0;
  if (ch->fallback && !pumped(ch->f)) {
    wmiev__thread_state_test_refuse();
  }
  while (!atomic_load(&ch->stop)) {
    (void)wmiev_source_enabled(ch->src);
    wmiev_status st = wmiev_source_fire(ch->src, 0, &seq, 4, NULL);
    seq++;
    if (st == WMIEV_STATUS_SUCCESS) {
      atomic_fetch_add(&ch->fired_ok, 1);
    } else if (st == WMIEV_STATUS_INSUFFICIENT_RESOURCES && pumped(ch->f)) {
      atomic_fetch_add(&ch->fired_dropped, 1);
    } else {
      atomic_fetch_add(&ch->bad, 1);
    }
  }
  return NULL;
}

typedef struct dispatcher {
  fixture *f;
  bool fallback; /* deliver without a thread record */
  atomic_bool stop;
} dispatcher;

static void *dispatcher_main(void *arg) {
  dispatcher *d = arg;
  if (d->fallback) {
    wmiev__thread_state_test_refuse();
  }
  while (!atomic_load(&d->stop)) {
    if (wmiev_bus_dispatch(d->f->bus, 64) == 0) {
      sched_yield();
    }
  }
  return NULL;
}

/* Retired snapshots and subscriptions may wait for a delivery in flight, but
 * no longer: during the churn, never more than this many allocations beyond
 * the quiet count (each round retires about three; a delivery holds back
 * at most the rounds it overlaps). */
#define CHURN_RETIRED_MAX 24u

static void unsubscribe_race(fixture *f, wmiev_delivery mode, bool base, bool fallback) {
  f->opts.queue_capacity = 256;
  bus_start_mode(f, mode);
  tprov *a = toaster(f, 'A', 1);
  churn *ch = calloc(1, sizeof *ch);
  assert_non_null(ch);
  ch->f = f;
  ch->fallback = fallback;
  ch->src = src_open(f, a, &guid_ev);
  atomic_init(&ch->stop, false);
  atomic_init(&ch->errors, 0);
  atomic_init(&ch->bad, 0);
  atomic_init(&ch->fired_ok, 0);
  atomic_init(&ch->fired_dropped, 0);
  atomic_init(&ch->base_calls, 0);
  atomic_init(&ch->base_lost, 0);
  for (size_t i = 0; i < CHURN_ROUNDS; i++) {
    ch->subs[i].ch = ch;
    atomic_init(&ch->subs[i].unsubscribed, false);
    atomic_init(&ch->subs[i].calls, 0);
  }
  /* Once on and off first: what the first ENABLE makes the bus allocate for
   * good (its set of enabled providers) is there before the count below. */
  wmiev_subscription *base_sub = NULL;
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, churn_base_cb, ch, &base_sub),
                WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_unsubscribe(base_sub), WMIEV_STATUS_SUCCESS);
  base_sub = NULL;
  if (base) {
    assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, churn_base_cb, ch, &base_sub),
                  WMIEV_STATUS_SUCCESS);
  }
  uint64_t live = debug_alloc_live_count(f->d);
  dispatcher disp = {.f = f, .fallback = fallback};
  atomic_init(&disp.stop, false);
  pthread_t firer, dt;
  bool with_dispatcher = mode != WMIEV_DELIVERY_SYNC;
  if (with_dispatcher) {
    assert_int_equal(pthread_create(&dt, NULL, dispatcher_main, &disp), 0);
  }
  assert_int_equal(pthread_create(&firer, NULL, churn_firer, ch), 0);

  unsigned waited_out = 0;
  uint64_t peak_extra = 0;
  for (size_t i = 0; i < CHURN_ROUNDS; i++) {
    churn_sub *c = &ch->subs[i];
    wmiev_subscription *sub = NULL;
    assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, churn_cb, c, &sub), WMIEV_STATUS_SUCCESS);
    if (i % 2 == 0) {
      /* Even rounds: until the callback ran at least once (bounded). */
      double until = wall_seconds() + 5.0;
      while (atomic_load(&c->calls) == 0 && wall_seconds() < until) {
        sched_yield();
      }
      waited_out += atomic_load(&c->calls) == 0;
    } /* odd rounds: at once, racing with deliveries that may have picked it up */
    assert_status(wmiev_bus_unsubscribe(sub), WMIEV_STATUS_SUCCESS);
    atomic_store(&c->unsubscribed, true);
    uint64_t now_live = debug_alloc_live_count(f->d);
    if (now_live > live && now_live - live > peak_extra) {
      peak_extra = now_live - live;
    }
  }
  atomic_store(&ch->stop, true);
  assert_int_equal(pthread_join(firer, NULL), 0);
  if (with_dispatcher) {
    atomic_store(&disp.stop, true);
    assert_int_equal(pthread_join(dt, NULL), 0);
    (void)wmiev_bus_dispatch(f->bus, 0);
  }
  assert_int_equal(wmiev_bus_pending(f->bus), 0);

  assert_int_equal(atomic_load(&ch->errors), 0);
  assert_int_equal(atomic_load(&ch->bad), 0);
  assert_int_equal(waited_out, 0);
  /* Reclamation kept up with the churn (queued events hold no subscription
   * memory, so this holds in pumped mode too). */
  if (peak_extra > CHURN_RETIRED_MAX) {
    fail_msg("%llu allocations held back during the churn (at most %u expected)",
             (unsigned long long)peak_extra, CHURN_RETIRED_MAX);
  }
  uint64_t ok = atomic_load(&ch->fired_ok);
  uint64_t dropped = atomic_load(&ch->fired_dropped);
  uint64_t churn_calls = 0;
  for (size_t i = 0; i < CHURN_ROUNDS; i++) {
    churn_calls += atomic_load(&ch->subs[i].calls);
  }
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.fired, ok + dropped);
  assert_int_equal(st.dropped, dropped);
  assert_int_equal(st.callbacks, churn_calls + atomic_load(&ch->base_calls));
  assert_int_equal(st.rejected, 0);
  if (base) {
    /* Always listened to: every event that was not dropped is delivered. */
    assert_int_equal(st.delivered, ok);
    assert_int_equal(st.not_enabled + st.discarded, 0);
    assert_int_equal(atomic_load(&ch->base_calls), ok);
    uint64_t delivered = 0, lost = 0;
    wmiev_subscription_counts(base_sub, &delivered, &lost);
    assert_int_equal(delivered, ok);
    assert_int_equal(lost, dropped);
    assert_status(wmiev_bus_unsubscribe(base_sub), WMIEV_STATUS_SUCCESS);
    assert_int_equal(st.enables_sent, 2); /* the warm-up's and the base subscription's */
    assert_int_equal(st.disables_sent, 1);
  } else {
    assert_int_equal(st.delivered + st.not_enabled + st.discarded, ok);
    assert_int_equal(st.warnings[WMIEV_WARN_NOT_ENABLED], st.not_enabled);
    /* Each round was the first and the last subscriber. */
    assert_int_equal(st.enables_sent, CHURN_ROUNDS + 1); /* + the warm-up's */
    assert_int_equal(st.disables_sent, CHURN_ROUNDS + 1);
    assert_int_equal(atomic_load(&a->enables), CHURN_ROUNDS + 1);
    assert_int_equal(atomic_load(&a->disables), CHURN_ROUNDS + 1);
    /* PROVIDER_NOT_ENABLED may show: a fire between the subscription and its
     * ENABLE comes from a provider not enabled yet (counted, checked in teardown). */
  }
  assert_false(wmiev_source_enabled(ch->src));
  /* Quiet now: one more subscribe and unsubscribe frees whatever the churn
   * left retired while deliveries were in flight. */
  wmiev_subscription *extra = NULL;
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, churn_base_cb, ch, &extra),
                WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_unsubscribe(extra), WMIEV_STATUS_SUCCESS);
  uint64_t left = debug_alloc_live_count(f->d);
  if (base) {
    /* The base subscription and its snapshot are gone too: two fewer. */
    assert_int_equal(left + 2, live);
  } else {
    assert_int_equal(left, live);
  }
  free(ch);
}

static void test_unsubscribe_race_sync(void **state) {
  unsubscribe_race(*state, WMIEV_DELIVERY_SYNC, true, false);
}
static void test_unsubscribe_race_sync_enable_churn(void **state) {
  unsubscribe_race(*state, WMIEV_DELIVERY_SYNC, false, false);
}
static void test_unsubscribe_race_pumped(void **state) {
  unsubscribe_race(*state, WMIEV_DELIVERY_PUMPED, true, false);
}
/* The same with the delivering thread (the firer, the dispatcher) on the
 * fallback (no thread record: a process with more threads than records,
 * or nesting deeper than 16). */
static void test_unsubscribe_race_sync_fallback(void **state) {
  unsubscribe_race(*state, WMIEV_DELIVERY_SYNC, true, true);
}
static void test_unsubscribe_race_pumped_fallback(void **state) {
  unsubscribe_race(*state, WMIEV_DELIVERY_PUMPED, true, true);
}

/* ---- Deliveries nested deeper than a thread record holds ----------------------------------- */

#define NEST_DEPTH 20 /* deeper than WMIEV__NEST_MAX (16) */

typedef struct nester {
  wmiev_source *src;
  wmiev_subscription *victim;
  int depth;
  int calls;
  int victim_calls;
  wmiev_status inner_status;
} nester;

static void nest_cb(const wmiev_event *e, void *payload) {
  nester *n = payload;
  (void)e;
  int depth = ++n->depth;
  n->calls++;
  if (depth == NEST_DEPTH - 2) {
    /* From inside a delivery on the fallback: the victim's callback is not
     * running anywhere, so this returns at once, and none of the deliveries
     * still on this thread's stack calls it afterwards. */
    n->inner_status = wmiev_bus_unsubscribe(n->victim);
  }
  if (depth < NEST_DEPTH) {
    uint32_t v = (uint32_t)depth;
    (void)wmiev_source_fire(n->src, 0, &v, sizeof v, NULL);
  }
  n->depth--;
}

static void victim_cb(const wmiev_event *e, void *payload) {
  (void)e;
  ((nester *)payload)->victim_calls++;
}

static void test_nesting_deeper_than_record(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_SYNC);
  tprov *a = toaster(f, 'A', 1);
  nester n = {.src = src_open(f, a, &guid_ev), .inner_status = WMIEV_STATUS_UNSUCCESSFUL};
  wmiev_subscription *outer = NULL;
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, nest_cb, &n, &outer), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, victim_cb, &n, &n.victim),
                WMIEV_STATUS_SUCCESS);
  uint64_t live = debug_alloc_live_count(f->d);
  uint32_t v = 0;
  assert_status(wmiev_source_fire(n.src, 0, &v, sizeof v, NULL), WMIEV_STATUS_SUCCESS);
  assert_status(n.inner_status, WMIEV_STATUS_SUCCESS);
  assert_int_equal(n.calls, NEST_DEPTH);
  assert_int_equal(n.victim_calls, 0);
  assert_int_equal(n.depth, 0);
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.fired, NEST_DEPTH);
  assert_int_equal(st.delivered, NEST_DEPTH);
  assert_int_equal(st.callbacks, NEST_DEPTH);
  uint64_t delivered = 0;
  wmiev_subscription_counts(outer, &delivered, NULL);
  assert_int_equal(delivered, NEST_DEPTH);
  /* The victim was retired while deliveries (on the fallback too) still
   * held it; once they are over, the next change frees it. */
  assert_status(wmiev_bus_unsubscribe(outer), WMIEV_STATUS_SUCCESS);
  assert_true(debug_alloc_live_count(f->d) < live);
  assert_status(wmiev_source_fire(n.src, 0, &v, sizeof v, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(n.calls, NEST_DEPTH);
}

/* ---- Thread records are given back when threads exit --------------------------------------- */

#define RECORD_THREADS 600 /* more than the table holds (512) */

typedef struct record_user {
  wmiev_source *src;
  wmiev_status status;
} record_user;

static void *fire_once_and_exit(void *arg) {
  record_user *u = arg;
  uint32_t v = 7;
  u->status = wmiev_source_fire(u->src, 0, &v, sizeof v, NULL);
  return NULL;
}

static void test_thread_records_recycled(void **state) {
  fixture *f = *state;
  bus_start_mode(f, WMIEV_DELIVERY_SYNC);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, sink_new(f), &guid_ev);
  record_user u = {.src = src_open(f, a, &guid_ev)};
  uint32_t v = 1;
  assert_status(wmiev_source_fire(u.src, 0, &v, sizeof v, NULL), WMIEV_STATUS_SUCCESS);
  uint32_t in_use = wmiev__thread_states_in_use(); /* this thread's (and other tests' threads') */
  for (int i = 0; i < RECORD_THREADS; i++) {
    pthread_t t;
    u.status = WMIEV_STATUS_UNSUCCESSFUL;
    assert_int_equal(pthread_create(&t, NULL, fire_once_and_exit, &u), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_status(u.status, WMIEV_STATUS_SUCCESS);
    /* The exited thread's record is free again. */
    assert_int_equal(wmiev__thread_states_in_use(), in_use);
  }
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.fired, RECORD_THREADS + 1);
  assert_int_equal(st.delivered, RECORD_THREADS + 1);
  assert_int_equal(st.callbacks, RECORD_THREADS + 1);
  assert_int_equal(s->n, RECORD_THREADS + 1);
}

/* ==== 7. Two threads firing through one source ================================================ */

#define FIRERS 2
#define PER_FIRER 20000u
#define PAR_SUBS 2

typedef struct par par;

typedef struct par_sub {
  par *p;
  wmiev_subscription *sub;
  uint32_t next[FIRERS]; /* under p->m */
  uint64_t got[FIRERS];
  uint64_t lost;
} par_sub;

struct par {
  fixture *f;
  wmiev_source *src;
  pthread_mutex_t m;
  bool order_bad;
  atomic_uint bad;
  atomic_uint running;
  uint64_t ok[FIRERS], drops[FIRERS]; /* each written by its firer, read after join */
  par_sub subs[PAR_SUBS];
};

typedef struct par_arg {
  par *p;
  uint32_t k;
} par_arg;

static void par_cb(const wmiev_event *e, void *payload) {
  par_sub *s = payload;
  uint32_t v[2] = {UINT32_MAX, 0};
  if (e->data_size == sizeof v) {
    memcpy(v, e->data, sizeof v);
  }
  pthread_mutex_lock(&s->p->m);
  if (v[0] >= FIRERS || v[1] < s->next[v[0]]) {
    s->p->order_bad = true;
  } else {
    s->next[v[0]] = v[1] + 1;
    s->got[v[0]]++;
  }
  s->lost += e->lost_before;
  pthread_mutex_unlock(&s->p->m);
}

static void *par_firer(void *arg) {
  par_arg *pa = arg;
  par *p = pa->p;
  for (uint32_t seq = 0; seq < PER_FIRER; seq++) {
    uint32_t v[2] = {pa->k, seq};
    if (!wmiev_source_enabled(p->src)) {
      atomic_fetch_add(&p->bad, 1);
    }
    wmiev_status st = wmiev_source_fire(p->src, 0, v, sizeof v, NULL);
    if (st == WMIEV_STATUS_SUCCESS) {
      p->ok[pa->k]++;
    } else if (st == WMIEV_STATUS_INSUFFICIENT_RESOURCES && pumped(p->f)) {
      p->drops[pa->k]++;
    } else {
      atomic_fetch_add(&p->bad, 1);
    }
  }
  atomic_fetch_sub(&p->running, 1);
  return NULL;
}

static void parallel_fire(fixture *f, wmiev_delivery mode) {
  f->opts.queue_capacity = 128; /* small: the firers outrun the dispatcher now and then */
  bus_start_mode(f, mode);
  tprov *a = toaster(f, 'A', 1);
  par *p = calloc(1, sizeof *p);
  assert_non_null(p);
  p->f = f;
  pthread_mutex_init(&p->m, NULL);
  atomic_init(&p->bad, 0);
  atomic_init(&p->running, FIRERS);
  p->src = src_open(f, a, &guid_ev);
  for (int k = 0; k < PAR_SUBS; k++) {
    p->subs[k].p = p;
    assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, par_cb, &p->subs[k], &p->subs[k].sub),
                  WMIEV_STATUS_SUCCESS);
  }
  pthread_t t[FIRERS];
  par_arg args[FIRERS];
  for (uint32_t k = 0; k < FIRERS; k++) {
    args[k] = (par_arg){p, k};
    assert_int_equal(pthread_create(&t[k], NULL, par_firer, &args[k]), 0);
  }
  dispatcher disp = {.f = f};
  atomic_init(&disp.stop, false);
  pthread_t dt;
  if (mode != WMIEV_DELIVERY_SYNC) {
    assert_int_equal(pthread_create(&dt, NULL, dispatcher_main, &disp), 0);
  }
  for (uint32_t k = 0; k < FIRERS; k++) {
    assert_int_equal(pthread_join(t[k], NULL), 0);
  }
  if (mode != WMIEV_DELIVERY_SYNC) {
    atomic_store(&disp.stop, true);
    assert_int_equal(pthread_join(dt, NULL), 0);
  }
  (void)wmiev_bus_dispatch(f->bus, 0);
  assert_int_equal(wmiev_bus_pending(f->bus), 0);
  assert_int_equal(atomic_load(&p->bad), 0);
  assert_false(p->order_bad);

  uint64_t ok = 0, drops = 0;
  for (int k = 0; k < FIRERS; k++) {
    assert_int_equal(p->ok[k] + p->drops[k], PER_FIRER);
    ok += p->ok[k];
    drops += p->drops[k];
  }
  if (mode == WMIEV_DELIVERY_SYNC) {
    assert_int_equal(drops, 0);
  }
  /* One more, so that drops at the very end are reported too. */
  uint32_t last[2] = {0, PER_FIRER};
  assert_status(wmiev_source_fire(p->src, 0, last, sizeof last, NULL), WMIEV_STATUS_SUCCESS);
  (void)wmiev_bus_dispatch(f->bus, 0);
  ok++;

  wmiev_bus_stats st = stats(f);
  wmiev_bus_stats gs = guid_stats(f, &guid_ev);
  const wmiev_bus_stats *both[2] = {&st, &gs};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(both[i]->fired, (uint64_t)FIRERS * PER_FIRER + 1);
    assert_int_equal(both[i]->delivered, ok);
    assert_int_equal(both[i]->dropped, drops);
    assert_int_equal(both[i]->callbacks, ok * PAR_SUBS);
    assert_int_equal(both[i]->rejected + both[i]->not_enabled + both[i]->discarded, 0);
    for (int w = 0; w < WMIEV_WARN_COUNT_; w++) {
      assert_int_equal(both[i]->warnings[w], 0);
    }
  }
  for (int k = 0; k < PAR_SUBS; k++) {
    par_sub *s = &p->subs[k];
    assert_int_equal(s->got[0], p->ok[0] + 1);
    assert_int_equal(s->got[1], p->ok[1]);
    assert_int_equal(s->lost, drops);
    uint64_t delivered = 0, lost = 0;
    wmiev_subscription_counts(s->sub, &delivered, &lost);
    assert_int_equal(delivered, ok);
    assert_int_equal(lost, drops);
    assert_status(wmiev_bus_unsubscribe(s->sub), WMIEV_STATUS_SUCCESS);
  }
  pthread_mutex_destroy(&p->m);
  free(p);
}

static void test_parallel_fire_sync(void **state) { parallel_fire(*state, WMIEV_DELIVERY_SYNC); }
static void test_parallel_fire_pumped(void **state) {
  parallel_fire(*state, WMIEV_DELIVERY_PUMPED);
}

/* ==== 8. Closing, leftovers, arguments ======================================================== */

static void test_close_and_leftovers(void **state) {
  fixture *f = *state;
  wmiev_source_close(NULL); /* nothing */
  bus_start_mode(f, WMIEV_DELIVERY_PUMPED);
  tprov *a = toaster(f, 'A', 2);
  tprov *p = pdo_toaster(f, 'P', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  wmiev_source *sa = src_open(f, a, &guid_ev);
  (void)src_open(f, a, &guid_ev);
  (void)src_open(f, p, &guid_pdo);
  (void)src_open(f, a, &guid_ev2);   /* not registered */
  (void)src_open(f, a, &guid_never); /* never seen by the bus */
  /* Closed explicitly, one of them, and the bus works on. */
  wmiev_source *tmp = src_open(f, a, &guid_ev);
  f->nsrc--;
  wmiev_source_close(tmp);
  assert_status(src_seq(sa, 1, NULL), WMIEV_STATUS_SUCCESS);
  assert_status(src_seq(sa, 2, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(wmiev_bus_pending(f->bus), 2);
  check_accounting(f);
  /* Devices first (bus.h); the bus then releases the subscription, the
   * queued events and the five sources still open: the debug allocator
   * checks in teardown that all of it was freed. */
  for (size_t i = f->nprov; i-- > 0;) {
    prov_destroy(&f->prov[i]);
  }
  assert_status(wmiev_device_destroy(f->pdo), WMIEV_STATUS_SUCCESS);
  f->pdo = NULL;
  wmiev_bus_destroy(f->bus);
  f->bus = NULL;
  f->nsrc = 0;
  s->sub = NULL;
  assert_int_equal(s->n, 0);
}

/* What a source counted stays in the statistics after it is closed, and
 * sources opened later count on from there. */
static void test_close_keeps_counts(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  wmiev_source *src = src_open(f, a, &guid_ev);
  for (uint32_t i = 0; i < 3; i++) {
    assert_status(wmiev_source_fire(src, i % 2, "abcd", 4, NULL), WMIEV_STATUS_SUCCESS);
  }
  assert_status(wmiev_source_fire(src, 2, "abcd", 4, NULL), WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  sink *s = subscribe(f, NULL, &guid_ev);
  assert_status(wmiev_source_fire(src, 1, "abcd", 4, NULL), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_source_fire(src, 0, NULL, 0, NULL), WMIEV_STATUS_SUCCESS);
  unsubscribe(s);
  assert_status(wmiev_source_fire(src, 0, NULL, 0, NULL), WMIEV_STATUS_SUCCESS);
  wmiev_bus_stats b0 = stats(f);
  wmiev_bus_stats g0 = guid_stats(f, &guid_ev);
  assert_ends(&(wmiev_bus_stats){0}, &b0, 7,
              (expect_end){.rejected = 1, .not_enabled = 4, .delivered = 2});
  assert_ends(&(wmiev_bus_stats){0}, &g0, 7,
              (expect_end){.rejected = 1, .not_enabled = 4, .delivered = 2});
  assert_int_equal(b0.warnings[WMIEV_WARN_NOT_ENABLED], 4);
  assert_int_equal(g0.warnings[WMIEV_WARN_NOT_ENABLED], 4);
  wmiev_source_close(src);
  f->nsrc--;
  wmiev_bus_stats b1 = stats(f);
  wmiev_bus_stats g1 = guid_stats(f, &guid_ev);
  assert_memory_equal(&b0, &b1, sizeof b0);
  assert_memory_equal(&g0, &g1, sizeof g0);
  /* A new source for the same block counts on. */
  src = src_open(f, a, &guid_ev);
  assert_status(wmiev_source_fire(src, 0, "x", 1, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(stats(f).not_enabled, 5);
  assert_int_equal(guid_stats(f, &guid_ev).fired, 8);
  check_accounting(f);
}

static void test_arguments(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 1);
  wmiev_source *s = NULL;
  assert_status(wmiev_source_open(NULL, a->device, &guid_ev, &s), WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_source_open(f->bus, NULL, &guid_ev, &s), WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_source_open(f->bus, a->device, NULL, &s), WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_source_open(f->bus, a->device, &guid_ev, NULL),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_null(s);
  wmiev_source *src = src_open(f, a, &guid_ev);
  subscribe(f, NULL, &guid_ev);
  /* NULL data with a size: an argument error, as fire_event says it, and no fire call. */
  wmiev_diag d1, d2;
  memset(&d1, 0, sizeof d1);
  memset(&d2, 0, sizeof d2);
  assert_status(wmiev_source_fire(src, 0, NULL, 4, &d1), WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, NULL, 4, &d2),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(d1.status, WMIEV_STATUS_INVALID_PARAMETER);
  assert_non_null(d1.field);
  assert_string_equal(d1.field, d2.field);
  /* A NULL source, the same. */
  memset(&d1, 0, sizeof d1);
  assert_status(wmiev_source_fire(NULL, 0, "x", 1, &d1), WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(d1.status, WMIEV_STATUS_INVALID_PARAMETER);
  assert_false(wmiev_source_enabled(NULL));
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.fired, 0); /* argument errors are no fire calls */
  assert_int_equal(st.rejected, 0);
  /* NULL data without a size is fine. */
  assert_status(wmiev_source_fire(src, 0, NULL, 0, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(stats(f).delivered, 1);
}

/* ==== 9. Out of memory ======================================================================== */

/* Opening a source for a block the bus knows, with allocation n failing, for
 * n = 1, 2, ... until it succeeds: each failure is
 * STATUS_INSUFFICIENT_RESOURCES and leaves no memory behind. */
static void test_open_fault_walk(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 2);
  sink *s = subscribe(f, NULL, &guid_ev);
  /* Warm up: whatever the first fire makes the bus allocate for good. */
  assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, "ab", 2, NULL),
                WMIEV_STATUS_SUCCESS);
  uint64_t live = debug_alloc_live_count(f->d);
  uint64_t n = 1;
  wmiev_source *src = NULL;
  for (;; n++) {
    assert_true(n < 100);
    debug_alloc_fail_nth(f->d, n, false);
    wmiev_status st = wmiev_source_open(f->bus, a->device, &guid_ev, &src);
    bool hit = debug_alloc_failure_hit(f->d);
    debug_alloc_fail_nth(f->d, 0, false);
    if (WMIEV_SUCCESS(st)) {
      break;
    }
    assert_status(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
    assert_true(hit);
    assert_int_equal(debug_alloc_live_count(f->d), live);
    /* The bus works on. */
    assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, "ab", 2, NULL),
                  WMIEV_STATUS_SUCCESS);
  }
  assert_true(n >= 2); /* opening allocates: at least one failure was walked through */
  assert_non_null(src);
  f->src[f->nsrc++] = src;
  assert_true(wmiev_source_enabled(src));
  assert_status(wmiev_source_fire(src, 1, "cd", 2, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(s->n, n + 1);
  wmiev_source_close(src);
  f->nsrc--;
  assert_int_equal(debug_alloc_live_count(f->d), live);
}

/* The same for a GUID the bus has never seen (it may have to learn it), on
 * a fresh bus each round, torn down and checked for leaks each round. */
static void test_open_fault_walk_unseen_guid(void **state) {
  fixture *f = *state;
  uint64_t n = 1;
  for (;; n++) {
    assert_true(n < 100);
    bus_start(f);
    tprov *a = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
    prov_guid(a, &guid_ev, 1, 0);
    prov_create(a);
    wmiev_source *src = NULL;
    debug_alloc_fail_nth(f->d, n, false);
    wmiev_status st = wmiev_source_open(f->bus, a->device, &guid_never, &src);
    bool hit = debug_alloc_failure_hit(f->d);
    debug_alloc_fail_nth(f->d, 0, false);
    bool done = WMIEV_SUCCESS(st);
    if (done) {
      f->src[f->nsrc++] = src;
      assert_status(wmiev_source_fire(src, 0, NULL, 0, NULL), WMIEV_STATUS_WMI_GUID_NOT_FOUND);
      assert_int_equal(stats(f).rejected_by[WMIEV_REJECT_GUID_NOT_REGISTERED], 1);
    } else {
      assert_status(st, WMIEV_STATUS_INSUFFICIENT_RESOURCES);
      assert_true(hit);
    }
    check_accounting(f);
    fixture_clear(f);
    check_no_leaks(f);
    if (done) {
      break;
    }
  }
  assert_true(n >= 2);
}

/* Firing never allocates in steady state (bus.h): with every allocation
 * failing, events through a source (and through fire_event) still go. */
static void counting_cb(const wmiev_event *e, void *payload) {
  (void)e;
  atomic_fetch_add((atomic_uint *)payload, 1);
}

static void no_alloc_when_firing(fixture *f, wmiev_delivery mode) {
  bus_start_mode(f, mode);
  tprov *a = toaster(f, 'A', 2);
  atomic_uint calls;
  atomic_init(&calls, 0);
  wmiev_subscription *sub;
  assert_status(wmiev_bus_subscribe(f->bus, &guid_ev, counting_cb, &calls, &sub),
                WMIEV_STATUS_SUCCESS);
  wmiev_source *src = src_open(f, a, &guid_ev);
  uint8_t data[256];
  pattern(data, sizeof data, 1);
  /* Warm up: one of each, delivered. */
  assert_status(wmiev_source_fire(src, 0, data, sizeof data, NULL), WMIEV_STATUS_SUCCESS);
  assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 1, data, sizeof data, NULL),
                WMIEV_STATUS_SUCCESS);
  (void)wmiev_bus_dispatch(f->bus, 0);
  assert_int_equal(atomic_load(&calls), 2);
  debug_alloc_fail_nth(f->d, 1, true);
  for (uint32_t i = 0; i < 50; i++) {
    assert_status(wmiev_source_fire(src, i % 2, data, (uint32_t)(i * 5 % 256), NULL),
                  WMIEV_STATUS_SUCCESS);
    assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_ev, i % 2, data, i * 5 % 256, NULL),
                  WMIEV_STATUS_SUCCESS);
    if (i % 10 == 9) {
      (void)wmiev_bus_dispatch(f->bus, 0);
    }
  }
  bool hit = debug_alloc_failure_hit(f->d);
  debug_alloc_fail_nth(f->d, 0, false);
  assert_false(hit);
  assert_int_equal(atomic_load(&calls), 102);
  assert_int_equal(stats(f).delivered, 102);
  assert_status(wmiev_bus_unsubscribe(sub), WMIEV_STATUS_SUCCESS);
}

static void test_no_alloc_when_firing_sync(void **state) {
  no_alloc_when_firing(*state, WMIEV_DELIVERY_SYNC);
}
static void test_no_alloc_when_firing_pumped(void **state) {
  no_alloc_when_firing(*state, WMIEV_DELIVERY_PUMPED);
}

/* Out of memory building a big event's WNODE on request (sync, past the
 * delivery context's buffer): the fire itself allocates nothing, so it
 * succeeds and delivers through either path; the accessors give NULL (size
 * 0) for that delivery, the counters are those of any delivered event, and
 * nothing is left allocated (the fixture's teardown checks leaks; ASan). */
static void test_fire_fault(void **state) {
  fixture *f = *state;
  f->opts.max_event_size = 8192;
  bus_start(f);
  tprov *a = toaster(f, 'A', 1);
  sink *s = subscribe(f, NULL, &guid_ev);
  s->wnode_may_fail = true;
  wmiev_source *src = src_open(f, a, &guid_ev);
  static uint8_t data[8000];
  pattern(data, sizeof data, 3);
  uint64_t built = 0, failed = 0;
  for (int path = 0; path < 2; path++) {
    for (uint64_t n = 1; n <= 4; n++) {
      wmiev_bus_stats b0 = stats(f);
      size_t had = s->n;
      uint64_t live = debug_alloc_live_count(f->d);
      debug_alloc_fail_nth(f->d, n, false);
      wmiev_diag d;
      memset(&d, 0, sizeof d);
      wmiev_status st =
          path == 0 ? wmiev_source_fire(src, 0, data, sizeof data, &d)
                    : wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, data, sizeof data, &d);
      bool hit = debug_alloc_failure_hit(f->d);
      debug_alloc_fail_nth(f->d, 0, false);
      assert_status(st, WMIEV_STATUS_SUCCESS);
      wmiev_bus_stats b1 = stats(f);
      assert_ends(&b0, &b1, 1, (expect_end){.delivered = 1});
      assert_int_equal(b1.callbacks - b0.callbacks, 1);
      for (int w = 1; w < WMIEV_WARN_COUNT_; w++) {
        assert_int_equal(b1.warnings[w], b0.warnings[w]);
      }
      assert_int_equal(debug_alloc_live_count(f->d), live);
      assert_int_equal(s->n, had + 1);
      const got *g = &s->ev[had];
      assert_int_equal(g->data_size, sizeof data);
      assert_ptr_equal(g->data_ptr, data);
      assert_int_equal(g->instance_index, 0);
      if (hit) {
        assert_null(g->wnode);
        assert_int_equal(g->wnode_size, 0);
        failed++;
      } else {
        assert_non_null(g->wnode);
        assert_int_equal(g->wnode_size, 64u + sizeof data);
        assert_memory_equal(g->wnode + 64, data, sizeof data);
        built++;
      }
    }
  }
  /* The WNODE is the only allocation of such a delivery: N = 1 hit it, once per path. */
  assert_int_equal(failed, 2);
  assert_int_equal(built, 6);
  check_accounting(f);
}

/* ==== 10. What the fast path must not change in wmiev_bus_fire_event ========================== */

/* bus.h: wmiev_bus_get_guid_stats() gives zeros for a GUID the bus never saw
 * (no provider registered it, no consumer subscribed to or opened it); firing
 * it through fire_event is counted on the bus only, and leaves nothing
 * allocated behind (D11: memory grows with the GUIDs used, not with events). */
static void test_fire_event_unseen_guid(void **state) {
  fixture *f = *state;
  bus_start(f);
  tprov *a = toaster(f, 'A', 1);
  /* Warm up the fire path for a known GUID first. */
  assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, "x", 1, NULL),
                WMIEV_STATUS_SUCCESS);
  uint64_t live = debug_alloc_live_count(f->d);
  for (uint32_t i = 0; i < 3; i++) {
    wmiev_diag d;
    memset(&d, 0, sizeof d);
    assert_status(wmiev_bus_fire_event(f->bus, a->device, &guid_never, 0, "x", 1, &d),
                  WMIEV_STATUS_WMI_GUID_NOT_FOUND);
    assert_string_equal(d.field, "WnodeHeader.Guid");
  }
  wmiev_bus_stats st = stats(f);
  assert_int_equal(st.fired, 4);
  assert_int_equal(st.rejected_by[WMIEV_REJECT_GUID_NOT_REGISTERED], 3);
  wmiev_bus_stats g = guid_stats(f, &guid_never);
  wmiev_bus_stats zero;
  memset(&zero, 0, sizeof zero);
  assert_memory_equal(&g, &zero, sizeof g);
  assert_int_equal(debug_alloc_live_count(f->d), live);
}

/* Devices come and go (hot plug); each fires through fire_event and through
 * a source of its own while it lives. Once it is destroyed and its source
 * closed, nothing of it stays allocated in the bus. */
static void test_device_churn_memory(void **state) {
  fixture *f = *state;
  bus_start(f);
  sink *s = subscribe(f, NULL, &guid_ev);
  uint64_t live = 0;
  for (uint32_t round = 0; round < 21; round++) {
    tprov *p = prov_new(f, 'A', WMIREG_FLAG_INSTANCE_BASENAME, "Toaster");
    prov_guid(p, &guid_ev, 1, 0);
    prov_up(p);
    wmiev_source *src = src_open(f, p, &guid_ev);
    assert_status(wmiev_source_fire(src, 0, "ab", 2, NULL), WMIEV_STATUS_SUCCESS);
    assert_status(wmiev_bus_fire_event(f->bus, p->device, &guid_ev, 0, "cd", 2, NULL),
                  WMIEV_STATUS_SUCCESS);
    wmiev_source_close(src);
    f->nsrc--;
    prov_destroy(p);
    f->nprov--;
    if (round == 0) {
      live = debug_alloc_live_count(f->d); /* after one round of warm-up */
    } else if (debug_alloc_live_count(f->d) != live) {
      fail_msg("round %u: %llu allocations live, %llu after the first round", round,
               (unsigned long long)debug_alloc_live_count(f->d), (unsigned long long)live);
    }
  }
  assert_int_equal(s->n, 42);
  assert_int_equal(stats(f).delivered, 42);
}

/* ==== 11. The lazy event descriptor (decisions D21) =========================================== */

/* A subscriber that reads the descriptor, and asks for the WNODE and its
 * view only when `ask` is set (twice: the same pointers each time). It
 * records what it saw; pointers are kept for comparison, never read after
 * the callback. */
#define PROBE_MAX 16

typedef struct probe {
  wmiev_subscription *sub;
  bool ask;
  uint32_t seed; /* the data must be pattern(seed) (checked in the callback) */
  size_t n;
  const void *data[PROBE_MAX];
  bool data_ok[PROBE_MAX];
  const void *wnode[PROBE_MAX];
  uint32_t wnode_size[PROBE_MAX];
  const wmiev_wnode_view *view[PROBE_MAX];
  bool wnode_ok[PROBE_MAX]; /* stable, sized, and carrying the event's data */
} probe;

static void probe_cb(const wmiev_event *e, void *payload) {
  probe *p = payload;
  if (p->n >= PROBE_MAX) {
    return; /* the test then fails on n */
  }
  size_t i = p->n++;
  p->data[i] = e->data;
  p->data_ok[i] = e->data_size == 0 ? e->data == NULL : is_pattern(e->data, e->data_size, p->seed);
  if (!p->ask) {
    return;
  }
  uint32_t size = 0;
  const uint8_t *w = wmiev_event_wnode(e, &size);
  const wmiev_wnode_view *v = wmiev_event_view(e);
  p->wnode[i] = w;
  p->wnode_size[i] = size;
  p->view[i] = v;
  p->wnode_ok[i] = w != NULL && v != NULL && wmiev_event_wnode(e, NULL) == w &&
                   wmiev_event_view(e) == v && size == 64u + e->data_size &&
                   v->buffer_size == size && v->base == w &&
                   is_pattern(w + 64, e->data_size, p->seed);
}

static void probe_on(fixture *f, probe *p, const GUID *g, bool ask) {
  memset(p, 0, sizeof *p);
  p->ask = ask;
  assert_status(wmiev_bus_subscribe(f->bus, g, probe_cb, p, &p->sub), WMIEV_STATUS_SUCCESS);
}

static void probe_off(probe *p) {
  assert_status(wmiev_bus_unsubscribe(p->sub), WMIEV_STATUS_SUCCESS);
  p->sub = NULL;
}

/* Allocations (and frees) made while one event is fired and delivered. */
typedef struct alloc_use {
  uint64_t allocs;
  uint64_t left; /* still live afterwards */
} alloc_use;

static alloc_use fire_and_count(fixture *f, wmiev_source *src, tprov *a, bool via_source,
                                const uint8_t *data, uint32_t size) {
  uint64_t total = debug_alloc_total_count(f->d);
  uint64_t live = debug_alloc_live_count(f->d);
  wmiev_status st = via_source
                        ? wmiev_source_fire(src, 1, data, size, NULL)
                        : wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 1, data, size, NULL);
  assert_status(st, WMIEV_STATUS_SUCCESS);
  if (pumped(f)) {
    assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 1);
  }
  return (alloc_use){debug_alloc_total_count(f->d) - total, debug_alloc_live_count(f->d) - live};
}

/* No WNODE is built for a subscriber that does not ask for one: events
 * larger than the delivery context's buffer cost no allocation at all. One
 * that asks costs exactly one allocation, freed when the delivery ends, and
 * two subscribers of the same delivery share it (same pointers, one
 * allocation). An event that fits the context's buffer costs none either way. */
static void lazy_no_wnode_unless_asked(fixture *f, wmiev_delivery mode) {
  f->opts.max_event_size = 4096;
  bus_start_mode(f, mode);
  tprov *a = toaster(f, 'A', 2);
  wmiev_source *src = src_open(f, a, &guid_ev);
  static uint8_t data[3000];
  pattern(data, sizeof data, 7);
  const uint32_t sizes[] = {3000, 1089, 1088, 100, 0};

  probe quiet;
  probe_on(f, &quiet, &guid_ev, false);
  quiet.seed = 7;
  for (size_t k = 0; k < 5; k++) {
    for (int via = 0; via < 2; via++) {
      alloc_use u = fire_and_count(f, src, a, via != 0, data, sizes[k]);
      if (u.allocs != 0 || u.left != 0) {
        fail_msg("%u bytes, %s: %llu allocation(s) for a subscriber that never asked", sizes[k],
                 via ? "source" : "fire_event", (unsigned long long)u.allocs);
      }
    }
  }
  assert_int_equal(quiet.n, 10);
  for (size_t i = 0; i < quiet.n; i++) {
    assert_true(quiet.data_ok[i]);
  }
  probe_off(&quiet);

  probe one, two;
  probe_on(f, &one, &guid_ev, true);
  one.seed = 7;
  for (size_t k = 0; k < 5; k++) {
    for (int via = 0; via < 2; via++) {
      alloc_use u = fire_and_count(f, src, a, via != 0, data, sizes[k]);
      uint64_t want = 64u + sizes[k] > 1152u ? 1 : 0; /* WMIEV__STACK_EVENT_BYTES */
      if (u.allocs != want || u.left != 0) {
        fail_msg("%u bytes, %s: %llu allocation(s), %llu left; expected %llu, none left", sizes[k],
                 via ? "source" : "fire_event", (unsigned long long)u.allocs,
                 (unsigned long long)u.left, (unsigned long long)want);
      }
    }
  }
  assert_int_equal(one.n, 10);
  for (size_t i = 0; i < one.n; i++) {
    assert_true(one.data_ok[i]);
    assert_true(one.wnode_ok[i]);
  }

  probe_on(f, &two, &guid_ev, true);
  two.seed = 7;
  one.n = 0;
  for (size_t k = 0; k < 2; k++) {
    alloc_use u = fire_and_count(f, src, a, k == 0, data, 3000);
    assert_int_equal(u.allocs, 1); /* one WNODE for both subscribers */
    assert_int_equal(u.left, 0);
  }
  assert_int_equal(one.n, 2);
  assert_int_equal(two.n, 2);
  for (size_t i = 0; i < 2; i++) {
    assert_true(one.wnode_ok[i]);
    assert_true(two.wnode_ok[i]);
    assert_ptr_equal(one.wnode[i], two.wnode[i]);
    assert_ptr_equal(one.view[i], two.view[i]);
  }
  probe_off(&one);
  probe_off(&two);
  check_accounting(f);
}

static void test_lazy_no_wnode_unless_asked_sync(void **state) {
  lazy_no_wnode_unless_asked(*state, WMIEV_DELIVERY_SYNC);
}
static void test_lazy_no_wnode_unless_asked_pumped(void **state) {
  lazy_no_wnode_unless_asked(*state, WMIEV_DELIVERY_PUMPED);
}

/* Fires through wmiev_bus_write_event() the WNODE WmiFireEvent builds for
 * instance `index` of `p`'s block `g` (spec §2.8), stamped by the bus. */
static void write_fire_wnode(fixture *f, tprov *p, const GUID *g, uint32_t index, bool pdo,
                             uint32_t size, uint32_t seed) {
  uint8_t *w = wmiev_bus_alloc_event(f->bus, 64u + size);
  assert_non_null(w);
  fill_fire_wnode(w, g, pid(p), index, pdo, 0, size, seed); /* the bus stamps the time */
  assert_status(wmiev_bus_write_event(f->bus, w, NULL), WMIEV_STATUS_SUCCESS);
}

/* The WNODE built on request and its view are byte for byte, field for
 * field, those of the same event fired as a WNODE through
 * wmiev_bus_write_event() (same virtual time), for a static-name and a
 * PDO-named block, small events (built in the context) and big ones (on the
 * heap). Sync data is the caller's buffer; a WNODE event's data lies in it. */
static void lazy_matches_write_event(fixture *f, wmiev_delivery mode) {
  f->opts.max_event_size = 4096;
  bus_start_mode(f, mode);
  tprov *a = toaster(f, 'A', 2);
  tprov *p = pdo_toaster(f, 'P', 2);
  sink *s = subscribe(f, NULL, &guid_ev);
  sink *sp = subscribe(f, NULL, &guid_pdo);
  wmiev_source *sa = src_open(f, a, &guid_ev);
  wmiev_source *spd = src_open(f, p, &guid_pdo);
  static uint8_t data[4096];
  const uint32_t sizes[] = {0, 5, 1088, 1089, 3000};
  int64_t t = T0;
  for (int block = 0; block < 2; block++) {
    bool pdo = block == 1;
    tprov *prov = pdo ? p : a;
    const GUID *g = pdo ? &guid_pdo : &guid_ev;
    sink *k = pdo ? sp : s;
    for (size_t i = 0; i < 5; i++) {
      for (int via = 0; via < 2; via++) {
        uint32_t size = sizes[i];
        uint32_t seed = (uint32_t)(10 * i + (size_t)via);
        pattern(data, size, seed);
        atomic_store(&f->now, t += 1000);
        size_t at = k->n;
        wmiev_status st = via == 0
                              ? wmiev_source_fire(pdo ? spd : sa, 1, data, size, NULL)
                              : wmiev_bus_fire_event(f->bus, prov->device, g, 1, data, size, NULL);
        assert_status(st, WMIEV_STATUS_SUCCESS);
        write_fire_wnode(f, prov, g, 1, pdo, size, seed);
        if (pumped(f)) {
          atomic_store(&f->now, t + 500); /* the stamp is the firing time */
          assert_int_equal(wmiev_bus_dispatch(f->bus, 0), 2);
        }
        assert_int_equal(k->n, at + 2);
        const got *lazy = &k->ev[at];
        const got *held = &k->ev[at + 1];
        assert_fire_wnode(lazy, g, pid(prov), 1, pdo, t, size, seed);
        assert_fire_wnode(held, g, pid(prov), 1, pdo, t, size, seed);
        assert_same_event(lazy, held);
        assert_false(lazy->data_in_wnode);
        if (size != 0) {
          assert_true(held->data_in_wnode);
          if (!pumped(f)) {
            assert_ptr_equal(lazy->data_ptr, data); /* zero copy */
          }
        }
      }
    }
  }
  check_accounting(f);
}

static void test_lazy_matches_write_event_sync(void **state) {
  lazy_matches_write_event(*state, WMIEV_DELIVERY_SYNC);
}
static void test_lazy_matches_write_event_pumped(void **state) {
  lazy_matches_write_event(*state, WMIEV_DELIVERY_PUMPED);
}

/* Sync: `data` is the firing caller's own buffer (the fire call is still
 * running). Pumped: a copy in the queue; the caller may reuse its buffer
 * once the fire call returned, and subscribers (and the WNODE built for
 * them) still see the bytes it held when fired. No data: NULL, whatever the
 * caller passed. */
static void lazy_data(fixture *f, wmiev_delivery mode) {
  bus_start_mode(f, mode);
  tprov *a = toaster(f, 'A', 2);
  wmiev_source *src = src_open(f, a, &guid_ev);
  probe quiet, asks;
  probe_on(f, &quiet, &guid_ev, false);
  probe_on(f, &asks, &guid_ev, true);
  quiet.seed = asks.seed = 1;
  uint8_t buf[200];
  for (int via = 0; via < 2; via++) {
    pattern(buf, sizeof buf, 1);
    assert_status(via == 0
                      ? wmiev_source_fire(src, 0, buf, sizeof buf, NULL)
                      : wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, buf, sizeof buf, NULL),
                  WMIEV_STATUS_SUCCESS);
    pattern(buf, sizeof buf, 2); /* the caller reuses its buffer */
    (void)wmiev_bus_dispatch(f->bus, 0);
    assert_status(via == 0 ? wmiev_source_fire(src, 0, buf, 0, NULL)
                           : wmiev_bus_fire_event(f->bus, a->device, &guid_ev, 0, buf, 0, NULL),
                  WMIEV_STATUS_SUCCESS);
    (void)wmiev_bus_dispatch(f->bus, 0);
  }
  assert_int_equal(quiet.n, 4);
  assert_int_equal(asks.n, 4);
  for (size_t i = 0; i < 4; i++) {
    if (i % 2 == 1) {
      assert_null(quiet.data[i]);
      assert_true(asks.wnode_ok[i]);
      continue;
    }
    if (pumped(f)) {
      assert_true(quiet.data[i] != buf);
    } else {
      assert_ptr_equal(quiet.data[i], buf);
    }
    assert_ptr_equal(asks.data[i], quiet.data[i]);
    /* pattern 1, as fired, even after the caller overwrote it (pumped). */
    assert_true(quiet.data_ok[i]);
    assert_true(asks.data_ok[i]);
    assert_true(asks.wnode_ok[i]);
  }
  probe_off(&quiet);
  probe_off(&asks);
}

static void test_lazy_data_sync(void **state) { lazy_data(*state, WMIEV_DELIVERY_SYNC); }
static void test_lazy_data_pumped(void **state) { lazy_data(*state, WMIEV_DELIVERY_PUMPED); }

/* The accessors with no event, or with an event the bus did not deliver
 * (no context): NULL, size 0. */
static void test_lazy_accessor_arguments(void **state) {
  (void)state;
  uint32_t size = 5;
  assert_null(wmiev_event_wnode(NULL, &size));
  assert_int_equal(size, 0);
  assert_null(wmiev_event_wnode(NULL, NULL));
  assert_null(wmiev_event_view(NULL));
  wmiev_event ev;
  memset(&ev, 0, sizeof ev);
  ev.data_size = 4;
  size = 5;
  assert_null(wmiev_event_wnode(&ev, &size));
  assert_int_equal(size, 0);
  assert_null(wmiev_event_view(&ev));
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, fixture_teardown)
  const struct CMUnitTest tests[] = {
      T(test_equivalence_sync),
      T(test_equivalence_pumped),
      T(test_equivalence_two_providers),
      T(test_no_subscriber),
      T(test_discarded_pumped),
      T(test_rejections),
      T(test_open_before_registration),
      T(test_across_deregistration),
      T(test_follows_update),
      T(test_dynamic_block),
      T(test_dynamic_block_strict),
      T(test_provider_not_enabled),
      T(test_queue_full),
      T(test_reentrant_sync),
      T(test_reentrant_pumped),
      T(test_unsubscribe_race_sync),
      T(test_unsubscribe_race_sync_enable_churn),
      T(test_unsubscribe_race_pumped),
      T(test_unsubscribe_race_sync_fallback),
      T(test_unsubscribe_race_pumped_fallback),
      T(test_nesting_deeper_than_record),
      T(test_thread_records_recycled),
      T(test_parallel_fire_sync),
      T(test_parallel_fire_pumped),
      T(test_close_and_leftovers),
      T(test_close_keeps_counts),
      T(test_arguments),
      T(test_open_fault_walk),
      T(test_open_fault_walk_unseen_guid),
      T(test_no_alloc_when_firing_sync),
      T(test_no_alloc_when_firing_pumped),
      T(test_fire_fault),
      T(test_fire_event_unseen_guid),
      T(test_device_churn_memory),
      T(test_lazy_no_wnode_unless_asked_sync),
      T(test_lazy_no_wnode_unless_asked_pumped),
      T(test_lazy_matches_write_event_sync),
      T(test_lazy_matches_write_event_pumped),
      T(test_lazy_data_sync),
      T(test_lazy_data_pumped),
      T(test_lazy_accessor_arguments),
  };
#undef T
  /* SOURCE_TEST_FILTER=test_unsubscribe* runs a subset (cmocka's wildcard pattern). */
  const char *filter = getenv("SOURCE_TEST_FILTER");
  if (filter != NULL) {
    cmocka_set_test_filter(filter);
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
