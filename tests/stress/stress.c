/*
 * wmiev-stress: every part of the bus at once, for a bounded time, then
 * exact accounting.
 *
 * Threads (all at once, for --duration-ms):
 *  - the libuv loop thread: the bus (WMIEV_DELIVERY_LIBUV) delivers there,
 *    and resolves event references there (QUERY_SINGLE_INSTANCE IRPs);
 *  - N producer threads ("firers" 0..N-1), each firing numbered events as
 *    fast as it can: wmiev_bus_fire_event() and wmiev_bus_write_event()
 *    through its own stable provider, event references, TRACED_GUID
 *    headers, events through the two volatile providers (by provider id:
 *    they come and go), and a few events the bus must reject (index out of
 *    range, unregistered GUID, malformed, too large);
 *  - a churn thread: temporary subscribers come and go on every GUID, block
 *    handles open and close (ENABLE/DISABLE_COLLECTION for EXPENSIVE blocks);
 *  - a registry thread ("firer" N): the two volatile providers are created,
 *    REGISTERed, BLOCK_IRPS'd, given a new instance count (UPDATE_GUIDS then
 *    REREGISTER), DEREGISTERed, registered again and destroyed; it fires
 *    through them too, where it knows exactly what the bus must answer;
 *  - a query thread: QUERY_ALL_DATA (two-call), QUERY_SINGLE_INSTANCE and
 *    EXECUTE_METHOD against stable and volatile providers.
 *
 * GUIDs: EV0 (stable + volatile providers), EV1 (stable, EXPENSIVE), CHURN
 * (stable + volatile; only the churn thread subscribes), REF (stable; the
 * target of event references, 2^24 static instances) and VOL (volatile
 * only, EXPENSIVE, instance count changing). EV0, EV1, REF and VOL have a
 * permanent subscriber from before the first fire to after the drain.
 *
 * Every event carries a 40-byte header (magic, firer, provider id, GUID,
 * instance index, size, sequence, FNV-1a checksum of everything else) and a
 * body derived from them; every subscriber regenerates and compares the
 * whole payload, and checks that the sequence per (firer, GUID) strictly
 * increases. Sequences are per (firer, GUID), every call takes the next one
 * whatever its outcome. For REF the sequence is the firer's reference number,
 * the reference names instance (number mod 2^24), and the provider's answer
 * carries that index (the consumer rebuilds the number).
 *
 * At the end (stop the threads, drain, detach, unsubscribe), what is checked,
 * per GUID and bus-wide (the firers' counts are of fire-call return values):
 *   stats.fired = delivered + dropped + rejected + not_enabled + discarded
 *                 + reference_failed + traced           (queued_now = 0)
 *   calls                       = stats.fired
 *   STATUS_SUCCESS, non-traced  = delivered + not_enabled + discarded + reference_failed
 *   STATUS_SUCCESS, traced      = traced
 *   STATUS_INSUFFICIENT_RESOURCES = dropped   (libuv mode: the queue was full)
 *   STATUS_WMI_GUID_NOT_FOUND   = rejected_by[GUID_NOT_REGISTERED]
 *   STATUS_WMI_INSTANCE_NOT_FOUND = rejected_by[BAD_INSTANCE]
 *   STATUS_DEVICE_DOES_NOT_EXIST = rejected_by[UNKNOWN_PROVIDER]
 *   validator statuses          = rejected_by[MALFORMED]
 *   STATUS_BUFFER_OVERFLOW      = rejected_by[TOO_LARGE]
 *   callbacks                   = callbacks counted by the subscribers
 * and for the permanently subscribed GUIDs: not_enabled = discarded =
 * reference_failed = 0, the permanent subscriber's callbacks = delivered,
 * its lost count = dropped, and the set of (firer, sequence) it received is
 * exactly the set of calls that returned STATUS_SUCCESS (bitmaps).
 *
 * Function control: every provider logs ENABLE/DISABLE per (GUID, events or
 * collection); two ENABLEs without a DISABLE between, or a DISABLE while not
 * enabled, is an error. A provider that deregisters (DEREGISTER, destroy, or
 * REREGISTER after BLOCK_IRPS) while enabled gets no DISABLE (Windows sends
 * none; docs/decisions.md D11): the registry thread ends its enabled state
 * there and counts it. At the end, with no consumer left, every provider
 * (incarnation) has enables = disables + ended-by-deregistration, and none
 * is enabled.
 *
 * Memory: the bus and its registry run on the debug allocator
 * (tests/support): zero live allocations and zero allocator errors at the
 * end; the peak is reported and must stay under a bound computed from the
 * bounded queue (baseline after setup, which includes the ring, plus a
 * fixed per-thread allowance): --slow-consumer makes the permanent
 * subscribers sleep so that the producers outrun the loop for the whole run.
 *
 * Options: --duration-ms MS (2000), --producers N (3, 1..16), --seed S,
 *          --queue N (1024 events), --slow-consumer, --quiet.
 * Exit status 0 when every check passed. docs/reliability.md, "Stress".
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep, clock_gettime; <uv.h> needs POSIX types */

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wmiev/uv.h>
#include <wmiev/wmiev.h>

#include "debug_alloc.h"
#include "test_util.h"

/* ---- Constants ------------------------------------------------------------------------------ */

#define MAX_PRODUCERS 16
#define MAX_FIRERS (MAX_PRODUCERS + 1) /* + the registry thread */
#define NVOL 2                         /* volatile providers */
#define INSTANCES 8                    /* static instances of EV0, EV1, CHURN; VOL's maximum */
#define REF_INSTANCES (1u << 24)       /* static instances of REF */
#define MAX_EVENT 1024u                /* the bus's max_event_size (its default) */
#define MAX_DATA (MAX_EVENT - 64u)     /* data of a static-name single-instance event */
#define MAX_TEMP_SUBS 6
#define MAX_HANDLES 3
#define MAGIC 0x52545357u /* "WSTR" */
#define HDR_SIZE 40u

enum { G_EV0, G_EV1, G_CHURN, G_REF, G_VOL, NGUIDS };

static const GUID guids[NGUIDS] = {
    {0x57a7e500, 0x0001, 0x4e00, {0x8a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}},
    {0x57a7e500, 0x0002, 0x4e00, {0x8a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02}},
    {0x57a7e500, 0x0003, 0x4e00, {0x8a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03}},
    {0x57a7e500, 0x0004, 0x4e00, {0x8a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04}},
    {0x57a7e500, 0x0005, 0x4e00, {0x8a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05}},
};
static const char *const guid_names[NGUIDS] = {"EV0", "EV1", "CHURN", "REF", "VOL"};
static const bool permanent_guid[NGUIDS] = {true, true, false, true, true};

/* Stable providers: EV0, EV1 (EXPENSIVE), CHURN, REF. */
static const wmiev_guid_reg stable_list[4] = {
    {&guids[G_EV0], INSTANCES, 0},
    {&guids[G_EV1], INSTANCES, WMIREG_FLAG_EXPENSIVE},
    {&guids[G_CHURN], INSTANCES, 0},
    {&guids[G_REF], REF_INSTANCES, 0},
};
static const int stable_map[4] = {G_EV0, G_EV1, G_CHURN, G_REF};

/* Volatile providers: EV0, CHURN, VOL (EXPENSIVE) with 1..8 instances. */
#define VOL_LIST(n)                                                                                \
  {                                                                                                \
    {&guids[G_EV0], INSTANCES, 0}, {&guids[G_CHURN], INSTANCES, 0}, {                              \
      &guids[G_VOL], n, WMIREG_FLAG_EXPENSIVE                                                      \
    }                                                                                              \
  }
static const wmiev_guid_reg vol_lists[INSTANCES][3] = {VOL_LIST(1), VOL_LIST(2), VOL_LIST(3),
                                                       VOL_LIST(4), VOL_LIST(5), VOL_LIST(6),
                                                       VOL_LIST(7), VOL_LIST(8)};
static const int vol_map[3] = {G_EV0, G_CHURN, G_VOL};

static const uint16_t base_name[6] = {'S', 't', 'r', 'e', 's', 's'};

/* ---- Small helpers --------------------------------------------------------------------------- */

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000L, (us % 1000000L) * 1000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static uint64_t align8(uint64_t x) { return (x + 7u) & ~(uint64_t)7u; }

/* A growable bitmap: bit i = sequence i. */
typedef struct bitmap {
  uint64_t *w;
  size_t words;
} bitmap;

static void bit_set(bitmap *b, uint64_t i) {
  size_t word = (size_t)(i / 64u);
  if (word >= b->words) {
    size_t words = b->words == 0 ? 1024 : b->words;
    while (words <= word) {
      words *= 2;
    }
    uint64_t *w = realloc(b->w, words * sizeof *w);
    if (w == NULL) {
      fprintf(stderr, "wmiev-stress: out of memory (bitmap)\n");
      abort();
    }
    memset(w + b->words, 0, (words - b->words) * sizeof *w);
    b->w = w;
    b->words = words;
  }
  b->w[word] |= UINT64_C(1) << (i % 64u);
}

/* Index of the first bit where a and b differ, or UINT64_MAX. */
static uint64_t bit_first_difference(const bitmap *a, const bitmap *b) {
  size_t n = a->words > b->words ? a->words : b->words;
  for (size_t i = 0; i < n; i++) {
    uint64_t x = i < a->words ? a->w[i] : 0;
    uint64_t y = i < b->words ? b->w[i] : 0;
    if (x != y) {
      uint64_t d = x ^ y;
      unsigned bit = 0;
      while ((d & 1u) == 0) {
        d >>= 1;
        bit++;
      }
      return (uint64_t)i * 64u + bit;
    }
  }
  return UINT64_MAX;
}

/* ---- Payloads -------------------------------------------------------------------------------- */

typedef struct payload_hdr {
  uint32_t magic;
  uint32_t firer;       /* firing thread (events), owner (query answers) */
  uint32_t provider_id; /* the provider the event comes from */
  uint32_t guid;        /* G_* */
  uint32_t index;       /* static instance index */
  uint32_t size;        /* bytes of the whole payload */
  uint64_t seq;         /* per (firer, GUID); the instance index for query answers */
  uint32_t csum;        /* FNV-1a of bytes [0, 32) and [40, size) */
  uint32_t pad;
} payload_hdr;

_Static_assert(sizeof(payload_hdr) == HDR_SIZE, "payload header layout");

static uint8_t body_byte(const payload_hdr *h, uint32_t i) {
  uint32_t x = (uint32_t)h->seq * 0x9E3779B1u ^ (uint32_t)(h->seq >> 32) ^ h->firer * 0x85EBCA6Bu ^
               h->guid * 0xC2B2AE35u ^ h->provider_id * 31u ^ i * 0x27D4EB2Fu;
  x ^= x >> 15;
  return (uint8_t)(x ^ (x >> 8));
}

static uint32_t payload_csum(const uint8_t *p, uint32_t size) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < size; i++) {
    if (i >= 32u && i < HDR_SIZE) {
      continue;
    }
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

static void make_payload(uint8_t *out, uint32_t firer, uint32_t provider_id, uint32_t guid,
                         uint32_t index, uint64_t seq, uint32_t size) {
  payload_hdr h = {MAGIC, firer, provider_id, guid, index, size, seq, 0, 0};
  for (uint32_t i = HDR_SIZE; i < size; i++) {
    out[i] = body_byte(&h, i);
  }
  memcpy(out, &h, sizeof h);
  h.csum = payload_csum(out, size);
  memcpy(out, &h, sizeof h);
}

/* NULL if `data` is a whole, unaltered payload (header in *h), else why not. */
static const char *check_payload(const void *data, uint32_t size, payload_hdr *h) {
  const uint8_t *p = data;
  if (p == NULL || size < HDR_SIZE) {
    return "payload shorter than its header";
  }
  memcpy(h, p, sizeof *h);
  if (h->magic != MAGIC) {
    return "bad magic";
  }
  if (h->size != size) {
    return "payload size differs from the size delivered";
  }
  if (h->csum != payload_csum(p, size)) {
    return "checksum mismatch";
  }
  for (uint32_t i = HDR_SIZE; i < size; i++) {
    if (p[i] != body_byte(h, i)) {
      return "body differs from what was fired";
    }
  }
  return NULL;
}

static uint32_t event_size(uint64_t *rng) {
  uint32_t r = test_rng_below(rng, 64);
  if (r == 0) {
    return 600u + test_rng_below(rng, MAX_DATA - 600u + 1u); /* up to the bus's limit */
  }
  return HDR_SIZE + test_rng_below(rng, 260);
}

/* Sizes of query answers: REF instances are large (some need a grown buffer). */
static uint32_t ref_size(uint32_t index) { return HDR_SIZE + (index * 37u) % 1500u; }
static uint32_t query_size(uint32_t index) { return HDR_SIZE + (index * 13u) % 60u; }

/* ---- Global state ---------------------------------------------------------------------------- */

typedef struct stress stress;

/* ENABLE/DISABLE as one provider incarnation saw them, for one (GUID, function). */
typedef struct tracker {
  bool on;
  uint64_t enables, disables;
  uint64_t ended; /* enabled when it deregistered: no DISABLE is due */
  uint64_t bad;   /* two ENABLEs in a row, or a DISABLE while off */
} tracker;

typedef struct prov {
  stress *st;
  bool is_vol;
  uint32_t owner; /* firer index (stable), 100 + slot (volatile) */
  wmiev_provider *provider;
  wmiev_device *device;
  uint32_t id;
  const int *map; /* guid_index -> G_* */
  pthread_mutex_t m;
  tracker t[NGUIDS][2];
} prov;

/* What a firer's calls returned, per GUID. */
typedef struct fire_counts {
  uint64_t calls, ok, traced, dropped;
  uint64_t rej_guid, rej_inst, rej_unknown, rej_malformed, rej_too_large, rej_other;
} fire_counts;

typedef struct firer {
  stress *st;
  uint32_t k;
  pthread_t thread;
  uint64_t rng;
  prov *stable; /* NULL for the registry thread */
  uint64_t seq[NGUIDS];
  fire_counts c[NGUIDS];
  bitmap ok_bits[NGUIDS]; /* permanent GUIDs: sequences whose call returned STATUS_SUCCESS */
} firer;

typedef struct order_state {
  bool seen;
  uint64_t last;
} order_state;

#define SUB_ALIVE 0x5B5B5B5Bu

typedef struct subscriber {
  stress *st;
  int g;
  bool permanent;
  _Atomic uint32_t alive;
  wmiev_subscription *sub;
  /* Loop thread only (read by others after unsubscribe or join): */
  uint64_t calls, lost_before;
  order_state ord[MAX_FIRERS];
  bitmap got[MAX_FIRERS]; /* permanent subscribers */
} subscriber;

typedef enum vol_state { VS_ABSENT, VS_REGISTERED, VS_UNREGISTERED } vol_state;

typedef struct vol_slot {
  prov *p;
  vol_state state;
  uint32_t count;           /* VOL's instance count in the registered list */
  _Atomic uint32_t fire_id; /* producers fire at this id (stale once destroyed) */
} vol_slot;

/* Query outcomes, for the summary. */
typedef struct status_count {
  wmiev_status status;
  uint64_t n;
} status_count;

#define MAX_STATUS_KINDS 12

struct stress {
  /* Options. */
  uint32_t duration_ms, nprod, queue_capacity;
  uint64_t seed;
  bool slow, quiet;

  debug_alloc *alloc;
  wmiev_bus *bus;
  wmiev_registry *reg;
  uv_loop_t loop;
  uv_async_t stopper;
  wmiev_uv *uv;
  pthread_t loop_thread, loop_tid;
  int detached;

  firer firers[MAX_FIRERS];
  uint32_t nfirers;
  prov *stable[MAX_PRODUCERS];
  vol_slot vol[NVOL];
  subscriber *perm[NGUIDS];
  atomic_bool stop;
  pthread_t churn_thread, registry_thread, query_thread;

  /* Churn thread (read after join). */
  uint64_t temp_calls[NGUIDS];
  uint64_t subscribes, unsubscribes, opens, closes;
  /* Registry thread (read after join). */
  uint64_t reg_ops[8];
  tracker vol_done[NGUIDS][2]; /* summed over destroyed volatile incarnations */
  uint64_t vol_incarnations;
  /* Query thread (read after join). */
  status_count qs[MAX_STATUS_KINDS];
  uint64_t queries, query_instances, methods, query_retries;

  atomic_uint_fast64_t warnings[WMIEV_WARN_COUNT_];
  atomic_uint_fast64_t violations;

  pthread_mutex_t err_m;
  atomic_uint errors;
};

static void fail(stress *st, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void fail(stress *st, const char *fmt, ...) {
  unsigned n = atomic_fetch_add(&st->errors, 1u);
  if (n < 20) {
    pthread_mutex_lock(&st->err_m);
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "wmiev-stress: FAIL: ");
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    pthread_mutex_unlock(&st->err_m);
  }
}

#define CHECK(st, cond, ...)                                                                       \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fail((st), __VA_ARGS__);                                                                     \
    }                                                                                              \
  } while (0)

/* ---- Provider callbacks ---------------------------------------------------------------------- */

static wmiev_status cb_reginfo(wmiev_device *device, wmiev_reginfo_answer *answer, void *payload) {
  (void)device;
  (void)payload;
  answer->reg_flags = WMIREG_FLAG_INSTANCE_BASENAME;
  answer->base_name = base_name;
  answer->base_name_units = sizeof base_name / sizeof base_name[0];
  return WMIEV_STATUS_SUCCESS;
}

/* Every instance answers a payload derived from (owner, provider, GUID, index). */
static wmiev_status cb_query(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                             uint32_t instance_index, uint32_t instance_count,
                             uint32_t *instance_lengths, uint32_t buffer_avail, uint8_t *buffer,
                             void *payload) {
  prov *p = payload;
  int g = p->map[guid_index];
  if (instance_count > 64) {
    /* Nobody asks REF for all its 2^24 instances; a provider may refuse. */
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_INVALID_DEVICE_REQUEST, 0);
  }
  uint64_t need = 0;
  for (uint32_t i = 0; i < instance_count; i++) {
    uint32_t index = instance_index + i;
    need = align8(need) + (g == G_REF ? ref_size(index) : query_size(index));
  }
  if (instance_lengths == NULL || buffer_avail < need) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL,
                                         (uint32_t)need);
  }
  uint64_t at = 0;
  for (uint32_t i = 0; i < instance_count; i++) {
    uint32_t index = instance_index + i;
    uint32_t size = g == G_REF ? ref_size(index) : query_size(index);
    at = align8(at);
    make_payload(buffer + at, p->owner, p->id, (uint32_t)g, index, index, size);
    instance_lengths[i] = size;
    at += size;
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, (uint32_t)need);
}

static wmiev_status cb_control(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                               wmiev_function_control function, bool enable, void *payload) {
  prov *p = payload;
  int g = p->map[guid_index];
  pthread_mutex_lock(&p->m);
  tracker *t = &p->t[g][function == WMIEV_DATA_BLOCK_CONTROL ? 1 : 0];
  bool bad = enable == t->on;
  if (bad) {
    t->bad++;
  }
  t->on = enable;
  if (enable) {
    t->enables++;
  } else {
    t->disables++;
  }
  pthread_mutex_unlock(&p->m);
  if (bad) {
    fail(p->st, "provider %u (owner %u) got %s %s for %s while %s", p->id, p->owner,
         enable ? "ENABLE" : "DISABLE",
         function == WMIEV_DATA_BLOCK_CONTROL ? "COLLECTION" : "EVENTS", guid_names[g],
         enable ? "already enabled" : "not enabled");
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, 0);
}

static prov *prov_create(stress *st, bool is_vol, uint32_t owner, uint32_t vol_count) {
  prov *p = calloc(1, sizeof *p);
  if (p == NULL) {
    abort();
  }
  p->st = st;
  p->is_vol = is_vol;
  p->owner = owner;
  p->map = is_vol ? vol_map : stable_map;
  pthread_mutex_init(&p->m, NULL);
  wmiev_provider_options o;
  memset(&o, 0, sizeof o);
  o.context.guid_list = is_vol ? vol_lists[vol_count - 1u] : stable_list;
  o.context.guid_count = is_vol ? 3u : 4u;
  o.context.callbacks.query_reginfo = cb_reginfo;
  o.context.callbacks.query_data_block = cb_query;
  o.context.callbacks.function_control = cb_control;
  o.context.callbacks.execute_method = xor_method;
  o.context.payload = p;
  o.name = is_vol ? "volatile" : "stable";
  wmiev_status s = wmiev_provider_create(st->reg, &o, &p->provider);
  if (!WMIEV_SUCCESS(s)) {
    fail(st, "wmiev_provider_create: %s", wmiev_status_name(s));
    abort();
  }
  p->device = wmiev_provider_device(p->provider);
  p->id = wmiev_device_provider_id(p->device);
  return p;
}

/* The provider no longer provides its blocks: what was enabled stays without
 * a DISABLE (D11). Called with no WMI IRP able to reach it. */
static void prov_end_registration(prov *p) {
  pthread_mutex_lock(&p->m);
  for (int g = 0; g < NGUIDS; g++) {
    for (int fn = 0; fn < 2; fn++) {
      if (p->t[g][fn].on) {
        p->t[g][fn].on = false;
        p->t[g][fn].ended++;
      }
    }
  }
  pthread_mutex_unlock(&p->m);
}

/* Checks a provider's log once nobody listens any more. */
static void prov_check_quiet(stress *st, prov *p) {
  pthread_mutex_lock(&p->m);
  for (int g = 0; g < NGUIDS; g++) {
    for (int fn = 0; fn < 2; fn++) {
      const tracker *t = &p->t[g][fn];
      CHECK(st, !t->on, "provider %u (owner %u) still enabled for %s %s at the end", p->id,
            p->owner, guid_names[g], fn ? "collection" : "events");
      CHECK(st, t->enables == t->disables + t->ended,
            "provider %u (owner %u) %s %s: %" PRIu64 " enables, %" PRIu64 " disables, %" PRIu64
            " ended by deregistration",
            p->id, p->owner, guid_names[g], fn ? "collection" : "events", t->enables, t->disables,
            t->ended);
      CHECK(st, t->bad == 0, "provider %u: %" PRIu64 " out-of-order function controls", p->id,
            t->bad);
    }
  }
  pthread_mutex_unlock(&p->m);
}

static void prov_destroy(stress *st, prov *p, tracker sum[NGUIDS][2]) {
  wmiev_status s = wmiev_provider_destroy(p->provider);
  CHECK(st, s == WMIEV_STATUS_SUCCESS, "wmiev_provider_destroy: %s", wmiev_status_name(s));
  prov_end_registration(p);
  prov_check_quiet(st, p);
  if (sum != NULL) {
    for (int g = 0; g < NGUIDS; g++) {
      for (int fn = 0; fn < 2; fn++) {
        sum[g][fn].enables += p->t[g][fn].enables;
        sum[g][fn].disables += p->t[g][fn].disables;
        sum[g][fn].ended += p->t[g][fn].ended;
      }
    }
  }
  pthread_mutex_destroy(&p->m);
  free(p);
}

/* ---- Subscribers (loop thread) --------------------------------------------------------------- */

static void on_event(const wmiev_event *ev, void *payload) {
  subscriber *s = payload;
  stress *st = s->st;
  if (atomic_load(&s->alive) != SUB_ALIVE) {
    fail(st, "callback of a subscription after its unsubscribe returned");
    return;
  }
  if (!pthread_equal(pthread_self(), st->loop_tid)) {
    fail(st, "callback off the loop thread");
  }
  s->calls++;
  s->lost_before += ev->lost_before;
  if (memcmp(&ev->guid, &guids[s->g], sizeof(GUID)) != 0) {
    fail(st, "%s subscriber got an event for another GUID", guid_names[s->g]);
    return;
  }
  /* The WNODE as delivered (or built on request) is whole: it validates to
   * the accessor's view, and the event's data is its data. */
  wmiev_wnode_view view;
  uint32_t wnode_size = 0;
  const void *wnode = wmiev_event_wnode(ev, &wnode_size);
  const wmiev_wnode_view *ev_view = wmiev_event_view(ev);
  wmiev_status vs = wnode == NULL ? WMIEV_STATUS_INSUFFICIENT_RESOURCES
                                  : wmiev_wnode_validate(wnode, wnode_size,
                                                         WMIEV_VALIDATE_REQUIRE_EVENT, &view, NULL);
  if (!WMIEV_SUCCESS(vs) || ev_view == NULL || view.kind != WMIEV_WNODE_SINGLE_INSTANCE ||
      ev_view->kind != view.kind || ev_view->instance.data != view.instance.data ||
      view.instance.size != ev->data_size ||
      (ev->data_size != 0 && memcmp(view.instance.data, ev->data, ev->data_size) != 0)) {
    fail(st, "%s: delivered WNODE does not validate as the event (%s)", guid_names[s->g],
         wmiev_status_name(vs));
    return;
  }
  payload_hdr h;
  const char *why = check_payload(ev->data, ev->data_size, &h);
  if (why != NULL) {
    fail(st, "%s: %s", guid_names[s->g], why);
    return;
  }
  if (h.guid != (uint32_t)s->g || h.provider_id != ev->provider_id || h.firer >= st->nfirers ||
      ev->has_name || ev->instance_index != h.index) {
    fail(st, "%s: event fields differ from its payload (firer %u, provider %u/%u, index %u/%u)",
         guid_names[s->g], h.firer, h.provider_id, ev->provider_id, h.index, ev->instance_index);
    return;
  }
  if (ev->from_reference != (s->g == G_REF)) {
    fail(st, "%s: from_reference is %d", guid_names[s->g], (int)ev->from_reference);
  }
  order_state *o = &s->ord[h.firer];
  uint64_t seq = h.seq;
  if (s->g == G_REF) {
    /* The answer names the instance (reference number mod 2^24): rebuild the number. */
    if (h.seq != h.index || h.index >= REF_INSTANCES) {
      fail(st, "REF: answer for instance %u carries sequence %" PRIu64, h.index, h.seq);
      return;
    }
    if (o->seen) {
      uint64_t delta = (h.index - (o->last % REF_INSTANCES)) % REF_INSTANCES;
      if (delta == 0 || delta > REF_INSTANCES / 2u) {
        fail(st, "REF: per-provider order broken (firer %u: instance %u after number %" PRIu64 ")",
             h.firer, h.index, o->last);
        return;
      }
      seq = o->last + delta;
    }
  } else if (o->seen && seq <= o->last) {
    fail(st, "%s: per-(firer, GUID) order broken: firer %u sequence %" PRIu64 " after %" PRIu64,
         guid_names[s->g], h.firer, seq, o->last);
    return;
  }
  o->seen = true;
  o->last = seq;
  if (s->permanent) {
    bit_set(&s->got[h.firer], seq);
    if (st->slow && s->calls % 2u == 0) {
      sleep_us(100); /* a consumer slower than the producers: the queue fills */
    }
  }
}

static subscriber *subscribe(stress *st, int g, bool permanent) {
  subscriber *s = calloc(1, sizeof *s);
  if (s == NULL) {
    abort();
  }
  s->st = st;
  s->g = g;
  s->permanent = permanent;
  atomic_init(&s->alive, SUB_ALIVE);
  wmiev_status status = wmiev_bus_subscribe(st->bus, &guids[g], on_event, s, &s->sub);
  if (!WMIEV_SUCCESS(status)) {
    fail(st, "subscribe %s: %s", guid_names[g], wmiev_status_name(status));
    free(s);
    return NULL;
  }
  return s;
}

static void subscriber_free(subscriber *s) {
  atomic_store(&s->alive, 0u);
  for (uint32_t i = 0; i < MAX_FIRERS; i++) {
    free(s->got[i].w);
  }
  free(s);
}

/* ---- Firing ---------------------------------------------------------------------------------- */

enum {
  EXPECT_OK = 1u << 0,        /* STATUS_SUCCESS */
  EXPECT_DROP = 1u << 1,      /* STATUS_INSUFFICIENT_RESOURCES */
  EXPECT_GUID = 1u << 2,      /* STATUS_WMI_GUID_NOT_FOUND */
  EXPECT_INST = 1u << 3,      /* STATUS_WMI_INSTANCE_NOT_FOUND */
  EXPECT_UNKNOWN = 1u << 4,   /* STATUS_DEVICE_DOES_NOT_EXIST */
  EXPECT_MALFORMED = 1u << 5, /* a validator status */
  EXPECT_TOO_LARGE = 1u << 6  /* STATUS_BUFFER_OVERFLOW */
};

static void account(firer *f, int g, uint64_t seq, wmiev_status s, const wmiev_diag *diag,
                    unsigned expect, bool traced) {
  stress *st = f->st;
  fire_counts *c = &f->c[g];
  c->calls++;
  unsigned got;
  if (s == WMIEV_STATUS_SUCCESS) {
    got = EXPECT_OK;
    if (traced) {
      c->traced++;
    } else {
      c->ok++;
      if (permanent_guid[g]) {
        bit_set(&f->ok_bits[g], seq);
      }
    }
  } else if (s == WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
    got = EXPECT_DROP;
    c->dropped++;
  } else if (s == WMIEV_STATUS_WMI_GUID_NOT_FOUND) {
    got = EXPECT_GUID;
    c->rej_guid++;
  } else if (s == WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND) {
    got = EXPECT_INST;
    c->rej_inst++;
  } else if (s == WMIEV_STATUS_DEVICE_DOES_NOT_EXIST) {
    got = EXPECT_UNKNOWN;
    c->rej_unknown++;
  } else if (s == WMIEV_STATUS_BUFFER_OVERFLOW) {
    got = EXPECT_TOO_LARGE;
    c->rej_too_large++;
  } else if ((expect & EXPECT_MALFORMED) != 0 &&
             (s == WMIEV_STATUS_INVALID_BUFFER_SIZE || s == WMIEV_STATUS_INVALID_PARAMETER ||
              s == WMIEV_STATUS_BUFFER_TOO_SMALL || s == WMIEV_STATUS_DATATYPE_MISALIGNMENT)) {
    got = EXPECT_MALFORMED;
    c->rej_malformed++;
  } else {
    got = 0;
    c->rej_other++;
  }
  if ((got & expect) == 0) {
    fail(st, "firer %u, %s: fire returned %s (expected mask 0x%x)", f->k, guid_names[g],
         wmiev_status_name(s), expect);
  }
  if (s != WMIEV_STATUS_SUCCESS && diag != NULL && diag->status != s) {
    fail(st, "firer %u, %s: diag says %s, the call returned %s", f->k, guid_names[g],
         wmiev_status_name(diag->status), wmiev_status_name(s));
  }
}

/* wmiev_bus_write_event() of a static-name single-instance event. */
static wmiev_status write_single(stress *st, uint32_t provider_id, int g, uint32_t index,
                                 const uint8_t *data, uint32_t size, uint32_t lie, wmiev_diag *d) {
  size_t total = sizeof(WNODE_SINGLE_INSTANCE) + size;
  uint8_t *w = wmiev_bus_alloc_event(st->bus, total);
  if (w == NULL) {
    fail(st, "wmiev_bus_alloc_event(%zu) failed", total);
    return WMIEV_STATUS_NO_MEMORY;
  }
  wmiev_wnode_header_params h;
  memset(&h, 0, sizeof h);
  h.guid = guids[g];
  h.provider_id = provider_id;
  h.extra_flags = WNODE_FLAG_EVENT_ITEM;
  wmiev_wnode_instance in;
  memset(&in, 0, sizeof in);
  in.index = index;
  in.data = data;
  in.size = size;
  size_t needed = 0;
  wmiev_status s = wmiev_wnode_build_single_instance(w, total, &h, &in, &needed, NULL);
  if (!WMIEV_SUCCESS(s) || needed != total) {
    fail(st, "building a single-instance event: %s", wmiev_status_name(s));
    wmiev_bus_free_event(st->bus, w);
    return WMIEV_STATUS_NO_MEMORY;
  }
  if (lie != 0) {
    /* BufferSize beyond the allocation: the validator must refuse it. */
    uint32_t claimed = (uint32_t)total + lie;
    memcpy(w + offsetof(WNODE_HEADER, BufferSize), &claimed, sizeof claimed);
  }
  s = wmiev_bus_write_event(st->bus, w, d);
  if (!WMIEV_SUCCESS(s)) {
    wmiev_bus_free_event(st->bus, w); /* a failed write leaves it with the caller */
  }
  return s;
}

static wmiev_status write_reference(stress *st, uint32_t provider_id, uint32_t index, uint32_t hint,
                                    wmiev_diag *d) {
  uint8_t *w = wmiev_bus_alloc_event(st->bus, sizeof(WNODE_EVENT_REFERENCE));
  if (w == NULL) {
    fail(st, "wmiev_bus_alloc_event(reference) failed");
    return WMIEV_STATUS_NO_MEMORY;
  }
  wmiev_wnode_header_params h;
  memset(&h, 0, sizeof h);
  h.guid = guids[G_REF];
  h.provider_id = provider_id;
  wmiev_wnode_instance in;
  memset(&in, 0, sizeof in);
  in.index = index;
  in.size = hint;
  size_t needed = 0;
  wmiev_status s = wmiev_wnode_build_event_reference(w, sizeof(WNODE_EVENT_REFERENCE), &h, &in, 0,
                                                     &needed, NULL);
  if (!WMIEV_SUCCESS(s)) {
    fail(st, "building an event reference: %s", wmiev_status_name(s));
    wmiev_bus_free_event(st->bus, w);
    return WMIEV_STATUS_NO_MEMORY;
  }
  s = wmiev_bus_write_event(st->bus, w, d);
  if (!WMIEV_SUCCESS(s)) {
    wmiev_bus_free_event(st->bus, w);
  }
  return s;
}

/* One fire call of a producer thread. */
static void produce_one(firer *f) {
  stress *st = f->st;
  prov *mine = f->stable;
  uint8_t data[MAX_DATA + 1200];
  wmiev_diag d;
  memset(&d, 0, sizeof d);
  uint32_t r = test_rng_below(&f->rng, 1000);
  static const int stable_event_guids[3] = {G_EV0, G_EV1, G_CHURN};
  if (r < 300) {
    /* WmiFireEvent, portable form. */
    int g = stable_event_guids[test_rng_below(&f->rng, 3)];
    uint32_t index = test_rng_below(&f->rng, INSTANCES);
    uint64_t seq = f->seq[g]++;
    uint32_t size = event_size(&f->rng);
    make_payload(data, f->k, mine->id, (uint32_t)g, index, seq, size);
    wmiev_status s = wmiev_bus_fire_event(st->bus, mine->device, &guids[g], index, data, size, &d);
    account(f, g, seq, s, &d, EXPECT_OK | EXPECT_DROP, false);
  } else if (r < 550) {
    /* IoWMIWriteEvent with a driver-built WNODE. */
    int g = stable_event_guids[test_rng_below(&f->rng, 3)];
    uint32_t index = test_rng_below(&f->rng, INSTANCES);
    uint64_t seq = f->seq[g]++;
    uint32_t size = event_size(&f->rng);
    make_payload(data, f->k, mine->id, (uint32_t)g, index, seq, size);
    wmiev_status s = write_single(st, mine->id, g, index, data, size, 0, &d);
    account(f, g, seq, s, &d, EXPECT_OK | EXPECT_DROP, false);
  } else if (r < 700) {
    /* An event reference: resolved on the loop thread by a query. Half of
     * them announce no size, so large answers need a grown buffer. */
    uint64_t seq = f->seq[G_REF]++;
    uint32_t index = (uint32_t)(seq % REF_INSTANCES);
    uint32_t hint = (seq & 1u) != 0 ? ref_size(index) : 0u;
    wmiev_status s = write_reference(st, mine->id, index, hint, &d);
    account(f, G_REF, seq, s, &d, EXPECT_OK | EXPECT_DROP, false);
  } else if (r < 920) {
    /* Through a volatile provider, by id: registered, blocked, deregistered or gone. */
    static const int vol_event_guids[3] = {G_EV0, G_CHURN, G_VOL};
    vol_slot *v = &st->vol[test_rng_below(&f->rng, NVOL)];
    uint32_t id = atomic_load(&v->fire_id);
    int g = vol_event_guids[test_rng_below(&f->rng, 3)];
    uint32_t index = test_rng_below(&f->rng, INSTANCES);
    uint64_t seq = f->seq[g]++;
    uint32_t size = event_size(&f->rng);
    make_payload(data, f->k, id, (uint32_t)g, index, seq, size);
    wmiev_status s = write_single(st, id, g, index, data, size, 0, &d);
    account(f, g, seq, s, &d, EXPECT_OK | EXPECT_DROP | EXPECT_GUID | EXPECT_INST | EXPECT_UNKNOWN,
            false);
  } else if (r < 940) {
    /* TRACED_GUID: for an ETW logger; counted, never delivered, never freed. */
    int g = (int)test_rng_below(&f->rng, NGUIDS);
    WNODE_HEADER h;
    memset(&h, 0, sizeof h);
    h.BufferSize = (uint32_t)sizeof h;
    h.ProviderId = mine->id;
    h.Guid = guids[g];
    h.Flags = WNODE_FLAG_TRACED_GUID;
    wmiev_status s = wmiev_bus_write_event(st->bus, &h, &d);
    account(f, g, 0, s, &d, EXPECT_OK, true);
  } else if (r < 955) {
    /* Static index past the registered count. */
    int g = stable_event_guids[test_rng_below(&f->rng, 3)];
    uint32_t index = INSTANCES + test_rng_below(&f->rng, 4);
    uint64_t seq = f->seq[g]++;
    make_payload(data, f->k, mine->id, (uint32_t)g, index, seq, HDR_SIZE);
    wmiev_status s =
        wmiev_bus_fire_event(st->bus, mine->device, &guids[g], index, data, HDR_SIZE, &d);
    account(f, g, seq, s, &d, EXPECT_INST, false);
  } else if (r < 970) {
    /* A GUID this provider did not register. */
    uint64_t seq = f->seq[G_VOL]++;
    make_payload(data, f->k, mine->id, G_VOL, 0, seq, HDR_SIZE);
    wmiev_status s =
        wmiev_bus_fire_event(st->bus, mine->device, &guids[G_VOL], 0, data, HDR_SIZE, &d);
    account(f, G_VOL, seq, s, &d, EXPECT_GUID, false);
  } else if (r < 985) {
    /* Malformed: BufferSize claims more than was allocated. */
    int g = stable_event_guids[test_rng_below(&f->rng, 3)];
    uint64_t seq = f->seq[g]++;
    make_payload(data, f->k, mine->id, (uint32_t)g, 0, seq, HDR_SIZE);
    wmiev_status s =
        write_single(st, mine->id, g, 0, data, HDR_SIZE, 8u + test_rng_below(&f->rng, 64), &d);
    account(f, g, seq, s, &d, EXPECT_MALFORMED, false);
  } else {
    /* Over the bus's maximum event size. */
    int g = stable_event_guids[test_rng_below(&f->rng, 3)];
    uint64_t seq = f->seq[g]++;
    uint32_t size = MAX_DATA + 1u + test_rng_below(&f->rng, 1000);
    make_payload(data, f->k, mine->id, (uint32_t)g, 0, seq, size);
    wmiev_status s = wmiev_bus_fire_event(st->bus, mine->device, &guids[g], 0, data, size, &d);
    account(f, g, seq, s, &d, EXPECT_TOO_LARGE, false);
  }
}

static void *producer_main(void *arg) {
  firer *f = arg;
  while (!atomic_load_explicit(&f->st->stop, memory_order_relaxed)) {
    produce_one(f);
  }
  return NULL;
}

/* ---- Registry thread: volatile providers come and go ----------------------------------------- */

enum { OP_CREATE, OP_BLOCK_UPDATE, OP_UPDATE_SAME, OP_DEREGISTER, OP_REGISTER, OP_DESTROY };
static const char *const op_names[] = {"create+register", "block+update+reregister",
                                       "update (same)",   "deregister",
                                       "register again",  "destroy"};

static wmiev_status reg_action(stress *st, prov *p, uint32_t action) {
  wmiev_diag d;
  memset(&d, 0, sizeof d);
  wmiev_status s = wmiev_registration_control(p->device, action, &d);
  CHECK(st, s == WMIEV_STATUS_SUCCESS, "registration action %u on provider %u: %s (%s)",
        (unsigned)action, p->id, wmiev_status_name(s), d.message);
  return s;
}

/* The registry thread fires too, through the volatile provider it just
 * changed: here the answer is known exactly. */
static void registry_fire(stress *st, vol_slot *v, uint32_t index, unsigned expect) {
  firer *f = &st->firers[st->nprod];
  uint8_t data[HDR_SIZE + 64];
  uint64_t seq = f->seq[G_VOL]++;
  uint32_t size = HDR_SIZE + test_rng_below(&f->rng, 64);
  make_payload(data, f->k, v->p->id, G_VOL, index, seq, size);
  wmiev_diag d;
  memset(&d, 0, sizeof d);
  wmiev_status s =
      wmiev_bus_fire_event(st->bus, v->p->device, &guids[G_VOL], index, data, size, &d);
  account(f, G_VOL, seq, s, &d, expect, false);
}

static void vol_create(stress *st, uint32_t j, uint32_t count) {
  vol_slot *v = &st->vol[j];
  v->p = prov_create(st, true, 100u + j, count);
  v->count = count;
  st->vol_incarnations++;
  (void)reg_action(st, v->p, WMIREG_ACTION_REGISTER);
  v->state = VS_REGISTERED;
  atomic_store(&v->fire_id, v->p->id);
}

static void vol_destroy(stress *st, uint32_t j) {
  vol_slot *v = &st->vol[j];
  prov_destroy(st, v->p, st->vol_done); /* stale id stays published: UNKNOWN_PROVIDER */
  v->p = NULL;
  v->state = VS_ABSENT;
}

static void *registry_main(void *arg) {
  firer *f = arg;
  stress *st = f->st;
  while (!atomic_load(&st->stop)) {
    uint32_t j = test_rng_below(&f->rng, NVOL);
    vol_slot *v = &st->vol[j];
    uint32_t r = test_rng_below(&f->rng, 100);
    int op;
    if (v->state == VS_ABSENT) {
      op = OP_CREATE;
    } else if (v->state == VS_UNREGISTERED) {
      op = r < 60 ? OP_REGISTER : OP_DESTROY;
    } else {
      op = r < 30 ? OP_BLOCK_UPDATE : r < 45 ? OP_UPDATE_SAME : r < 75 ? OP_DEREGISTER : OP_DESTROY;
    }
    st->reg_ops[op]++;
    switch (op) {
    case OP_CREATE:
      vol_create(st, j, 1u + test_rng_below(&f->rng, INSTANCES));
      registry_fire(st, v, v->count - 1u, EXPECT_OK | EXPECT_DROP);
      break;
    case OP_BLOCK_UPDATE: {
      /* No WMI IRP reaches a blocked device (D8): its GUID list may change. */
      if (!WMIEV_SUCCESS(reg_action(st, v->p, WMIREG_ACTION_BLOCK_IRPS))) {
        break;
      }
      uint32_t count = 1u + test_rng_below(&f->rng, INSTANCES);
      wmiev_provider_set_guid_list(v->p->provider, vol_lists[count - 1u], 3);
      (void)reg_action(st, v->p, WMIREG_ACTION_UPDATE_GUIDS);
      v->count = count;
      /* Blocked and registered: events still go through (to the new count). */
      registry_fire(st, v, count - 1u, EXPECT_OK | EXPECT_DROP);
      registry_fire(st, v, count, EXPECT_INST);
      /* REREGISTER replaces every block: the bus forgets what it enabled
       * (no DISABLE) and enables the new blocks if they have consumers. */
      prov_end_registration(v->p);
      (void)reg_action(st, v->p, WMIREG_ACTION_REREGISTER);
      break;
    }
    case OP_UPDATE_SAME:
      (void)reg_action(st, v->p, WMIREG_ACTION_UPDATE_GUIDS);
      registry_fire(st, v, test_rng_below(&f->rng, v->count), EXPECT_OK | EXPECT_DROP);
      break;
    case OP_DEREGISTER:
      (void)reg_action(st, v->p, WMIREG_ACTION_DEREGISTER);
      prov_end_registration(v->p);
      v->state = VS_UNREGISTERED;
      registry_fire(st, v, 0, EXPECT_GUID);
      break;
    case OP_REGISTER:
      (void)reg_action(st, v->p, WMIREG_ACTION_REGISTER);
      v->state = VS_REGISTERED;
      registry_fire(st, v, v->count, EXPECT_INST);
      break;
    case OP_DESTROY:
    default:
      vol_destroy(st, j);
      break;
    }
    sleep_us(500 + (long)test_rng_below(&f->rng, 1500));
  }
  return NULL;
}

/* ---- Query thread ---------------------------------------------------------------------------- */

static void query_count(stress *st, wmiev_status s) {
  for (int i = 0; i < MAX_STATUS_KINDS; i++) {
    if (st->qs[i].n == 0 || st->qs[i].status == s) {
      st->qs[i].status = s;
      st->qs[i].n++;
      return;
    }
  }
}

/* Checks one instance of a query answer. */
static void check_instance(stress *st, const char *what, int g, uint32_t provider_id,
                           uint32_t index, const uint8_t *data, uint32_t size) {
  payload_hdr h;
  const char *why = check_payload(data, size, &h);
  if (why != NULL) {
    fail(st, "%s %s: %s", what, guid_names[g], why);
    return;
  }
  uint32_t want = g == G_REF ? ref_size(index) : query_size(index);
  if (h.guid != (uint32_t)g || h.provider_id != provider_id || h.index != index || h.seq != index ||
      size != want) {
    fail(st, "%s %s: instance %u of provider %u answered as instance %u of provider %u", what,
         guid_names[g], index, provider_id, h.index, h.provider_id);
  }
  st->query_instances++;
}

/* QUERY_ALL_DATA, two calls (the size may change in between: try again). */
static void query_all(stress *st, int g) {
  uint32_t size = 0;
  wmiev_diag d;
  wmiev_status s = wmiev_query_all_data(st->reg, &guids[g], NULL, &size, &d);
  uint8_t *buf = NULL;
  for (int round = 0; round < 8 && s == WMIEV_STATUS_BUFFER_TOO_SMALL; round++) {
    free(buf);
    buf = malloc(size);
    if (buf == NULL) {
      abort();
    }
    uint32_t got = size;
    s = wmiev_query_all_data(st->reg, &guids[g], buf, &got, &d);
    if (s == WMIEV_STATUS_BUFFER_TOO_SMALL) {
      st->query_retries++;
    }
    size = got;
  }
  query_count(st, s);
  st->queries++;
  bool stable_only = g == G_EV1;
  if (!WMIEV_SUCCESS(s)) {
    /* Only the volatile providers' GUIDs may have nobody to answer. */
    CHECK(st,
          !stable_only &&
              (s == WMIEV_STATUS_WMI_GUID_NOT_FOUND || s == WMIEV_STATUS_WMI_GUID_DISCONNECTED),
          "QUERY_ALL_DATA %s: %s (%s)", guid_names[g], wmiev_status_name(s), d.message);
    free(buf);
    return;
  }
  uint32_t at = 0, providers = 0;
  for (;;) {
    wmiev_wnode_view view;
    wmiev_status vs = wmiev_wnode_validate(buf + at, size - at, 0, &view, NULL);
    if (!WMIEV_SUCCESS(vs) || view.kind != WMIEV_WNODE_ALL_DATA ||
        memcmp(&view.guid, &guids[g], sizeof(GUID)) != 0) {
      fail(st, "QUERY_ALL_DATA %s: reply %u does not validate (%s)", guid_names[g], providers,
           wmiev_status_name(vs));
      break;
    }
    providers++;
    for (uint32_t i = 0; i < view.instance_count; i++) {
      wmiev_wnode_instance_view in;
      if (!WMIEV_SUCCESS(wmiev_wnode_view_instance(&view, i, &in))) {
        fail(st, "QUERY_ALL_DATA %s: instance %u", guid_names[g], i);
        break;
      }
      check_instance(st, "QUERY_ALL_DATA", g, view.provider_id, i, in.data, in.size);
    }
    uint32_t linkage;
    memcpy(&linkage, buf + at + offsetof(WNODE_HEADER, Linkage), sizeof linkage);
    if (linkage == 0) {
      break;
    }
    if (linkage % 8u != 0 || linkage > size - at) {
      fail(st, "QUERY_ALL_DATA %s: bad Linkage %u", guid_names[g], linkage);
      break;
    }
    at += linkage;
  }
  if (stable_only) {
    CHECK(st, providers == st->nprod, "QUERY_ALL_DATA %s: %u replies for %u stable providers",
          guid_names[g], providers, st->nprod);
  }
  free(buf);
}

static void query_single(stress *st, int g, uint32_t provider_id, uint32_t index, bool must) {
  _Alignas(8) uint8_t buf[2048];
  uint32_t size = sizeof buf;
  wmiev_instance_ref ref;
  memset(&ref, 0, sizeof ref);
  ref.provider_id = provider_id;
  ref.index = index;
  wmiev_diag d;
  wmiev_status s = wmiev_query_single_instance(st->reg, &guids[g], &ref, buf, &size, &d);
  query_count(st, s);
  st->queries++;
  if (!WMIEV_SUCCESS(s)) {
    CHECK(st,
          !must &&
              (s == WMIEV_STATUS_WMI_GUID_NOT_FOUND || s == WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND ||
               s == WMIEV_STATUS_WMI_GUID_DISCONNECTED),
          "QUERY_SINGLE_INSTANCE %s provider %u index %u: %s (%s)", guid_names[g], provider_id,
          index, wmiev_status_name(s), d.message);
    return;
  }
  wmiev_wnode_view view;
  wmiev_status vs = wmiev_wnode_validate(buf, size, 0, &view, NULL);
  if (!WMIEV_SUCCESS(vs) || view.kind != WMIEV_WNODE_SINGLE_INSTANCE ||
      view.provider_id != provider_id || view.instance.index != index) {
    fail(st, "QUERY_SINGLE_INSTANCE %s: reply does not validate (%s)", guid_names[g],
         wmiev_status_name(vs));
    return;
  }
  check_instance(st, "QUERY_SINGLE_INSTANCE", g, provider_id, index, view.instance.data,
                 view.instance.size);
}

static void *query_main(void *arg) {
  stress *st = arg;
  uint64_t rng = st->seed * 7919u + 17u;
  while (!atomic_load(&st->stop)) {
    uint32_t r = test_rng_below(&rng, 100);
    prov *p = st->stable[test_rng_below(&rng, st->nprod)];
    if (r < 30) {
      static const int all_guids[4] = {G_EV0, G_EV1, G_CHURN, G_VOL};
      int g = all_guids[test_rng_below(&rng, 4)];
      /* As a WMI consumer does: open the block (EXPENSIVE: collection on), query, close. */
      wmiev_block_handle *h = NULL;
      wmiev_status s = wmiev_bus_open_block(st->bus, &guids[g], &h);
      CHECK(st, s == WMIEV_STATUS_SUCCESS, "open_block %s: %s", guid_names[g],
            wmiev_status_name(s));
      query_all(st, g);
      if (h != NULL) {
        s = wmiev_bus_close_block(h);
        CHECK(st, s == WMIEV_STATUS_SUCCESS, "close_block: %s", wmiev_status_name(s));
      }
    } else if (r < 60) {
      static const int guids3[3] = {G_EV0, G_EV1, G_CHURN};
      query_single(st, guids3[test_rng_below(&rng, 3)], p->id, test_rng_below(&rng, INSTANCES),
                   true);
    } else if (r < 75) {
      query_single(st, G_REF, p->id, test_rng_below(&rng, REF_INSTANCES), true);
    } else if (r < 88) {
      vol_slot *v = &st->vol[test_rng_below(&rng, NVOL)];
      query_single(st, test_rng_below(&rng, 2) ? G_VOL : G_EV0, atomic_load(&v->fire_id),
                   test_rng_below(&rng, INSTANCES), false);
    } else {
      uint8_t in[24], out[24];
      for (uint32_t i = 0; i < sizeof in; i++) {
        in[i] = (uint8_t)test_rng_next(&rng);
      }
      wmiev_instance_ref ref;
      memset(&ref, 0, sizeof ref);
      ref.provider_id = p->id;
      ref.index = test_rng_below(&rng, INSTANCES);
      uint32_t out_size = sizeof out;
      wmiev_diag d;
      wmiev_status s =
          wmiev_execute_method(st->reg, &guids[G_EV1], &ref, 1, in, sizeof in, out, &out_size, &d);
      query_count(st, s);
      st->methods++;
      CHECK(st, s == WMIEV_STATUS_SUCCESS && out_size == sizeof in, "EXECUTE_METHOD: %s (%s)",
            wmiev_status_name(s), d.message);
      for (uint32_t i = 0; s == WMIEV_STATUS_SUCCESS && i < sizeof in; i++) {
        if (out[i] != (uint8_t)(in[i] ^ XOR_METHOD_KEY)) {
          fail(st, "EXECUTE_METHOD: output byte %u is wrong", i);
          break;
        }
      }
    }
    sleep_us(100 + (long)test_rng_below(&rng, 300));
  }
  return NULL;
}

/* ---- Churn thread ---------------------------------------------------------------------------- */

static void temp_unsubscribe(stress *st, subscriber *s) {
  wmiev_status status = wmiev_bus_unsubscribe(s->sub);
  CHECK(st, status == WMIEV_STATUS_SUCCESS, "unsubscribe: %s", wmiev_status_name(status));
  /* Its callback is not running and never runs again: its counts are final. */
  st->temp_calls[s->g] += s->calls;
  st->unsubscribes++;
  subscriber_free(s);
}

static void *churn_main(void *arg) {
  stress *st = arg;
  uint64_t rng = st->seed * 104729u + 3u;
  subscriber *temps[MAX_TEMP_SUBS];
  uint32_t nt = 0;
  wmiev_block_handle *handles[MAX_HANDLES];
  uint32_t nh = 0;
  static const int churn_guids[8] = {G_CHURN, G_CHURN, G_CHURN, G_EV0, G_EV1, G_REF, G_VOL, G_VOL};
  static const int open_guids[3] = {G_EV1, G_VOL, G_CHURN};
  while (!atomic_load(&st->stop)) {
    uint32_t r = test_rng_below(&rng, 100);
    if (r < 45 && nt < MAX_TEMP_SUBS) {
      subscriber *s = subscribe(st, churn_guids[test_rng_below(&rng, 8)], false);
      if (s != NULL) {
        temps[nt++] = s;
        st->subscribes++;
      }
    } else if (r < 85 && nt > 0) {
      uint32_t i = test_rng_below(&rng, nt);
      temp_unsubscribe(st, temps[i]);
      temps[i] = temps[--nt];
    } else if (r < 93 && nh < MAX_HANDLES) {
      wmiev_status s =
          wmiev_bus_open_block(st->bus, &guids[open_guids[test_rng_below(&rng, 3)]], &handles[nh]);
      CHECK(st, s == WMIEV_STATUS_SUCCESS, "open_block: %s", wmiev_status_name(s));
      if (WMIEV_SUCCESS(s)) {
        nh++;
        st->opens++;
      }
    } else if (nh > 0) {
      uint32_t i = test_rng_below(&rng, nh);
      wmiev_status s = wmiev_bus_close_block(handles[i]);
      CHECK(st, s == WMIEV_STATUS_SUCCESS, "close_block: %s", wmiev_status_name(s));
      handles[i] = handles[--nh];
      st->closes++;
    }
    sleep_us(100 + (long)test_rng_below(&rng, 200));
  }
  while (nt > 0) {
    temp_unsubscribe(st, temps[--nt]);
  }
  while (nh > 0) {
    wmiev_status s = wmiev_bus_close_block(handles[--nh]);
    CHECK(st, s == WMIEV_STATUS_SUCCESS, "close_block: %s", wmiev_status_name(s));
    st->closes++;
  }
  return NULL;
}

/* ---- Loop thread ----------------------------------------------------------------------------- */

static void on_detached(void *ctx) {
  stress *st = ctx;
  st->detached++;
}

static void on_stop(uv_async_t *handle) {
  stress *st = handle->data;
  wmiev_uv_detach(st->uv, on_detached, st);
  st->uv = NULL;
  uv_close((uv_handle_t *)handle, NULL);
}

static void *loop_main(void *arg) {
  stress *st = arg;
  st->loop_tid = pthread_self();
  (void)uv_run(&st->loop, UV_RUN_DEFAULT);
  return NULL;
}

/* ---- Hooks ----------------------------------------------------------------------------------- */

static void on_warning(wmiev_warning warning, const char *message, void *ctx) {
  stress *st = ctx;
  (void)message;
  if ((int)warning > 0 && warning < WMIEV_WARN_COUNT_) {
    atomic_fetch_add(&st->warnings[warning], 1u);
  }
}

static void on_violation(wmiev_violation rule, const char *message, void *ctx) {
  stress *st = ctx;
  atomic_fetch_add(&st->violations, 1u);
  fail(st, "driver rule violation %d: %s", (int)rule, message);
}

/* ---- Final checks ---------------------------------------------------------------------------- */

static void check_stats_sum(stress *st, const char *what, const wmiev_bus_stats *s) {
  uint64_t rejected_sum = 0;
  for (int i = 0; i < WMIEV_REJECT_COUNT_; i++) {
    rejected_sum += s->rejected_by[i];
  }
  CHECK(st, rejected_sum == s->rejected, "%s: rejected %" PRIu64 " but the reasons sum to %" PRIu64,
        what, s->rejected, rejected_sum);
  uint64_t ends = s->delivered + s->dropped + s->rejected + s->not_enabled + s->discarded +
                  s->reference_failed + s->traced;
  CHECK(st, s->fired == ends,
        "%s: fired %" PRIu64 " != delivered %" PRIu64 " + dropped %" PRIu64 " + rejected %" PRIu64
        " + not_enabled %" PRIu64 " + discarded %" PRIu64 " + reference_failed %" PRIu64
        " + traced %" PRIu64,
        what, s->fired, s->delivered, s->dropped, s->rejected, s->not_enabled, s->discarded,
        s->reference_failed, s->traced);
}

static void check_counts(stress *st, const char *what, const fire_counts *c,
                         const wmiev_bus_stats *s) {
  CHECK(st, c->calls == s->fired, "%s: %" PRIu64 " fire calls, stats.fired %" PRIu64, what,
        c->calls, s->fired);
  CHECK(st, c->ok == s->delivered + s->not_enabled + s->discarded + s->reference_failed,
        "%s: %" PRIu64 " calls returned STATUS_SUCCESS, delivered + not_enabled + discarded + "
        "reference_failed = %" PRIu64,
        what, c->ok, s->delivered + s->not_enabled + s->discarded + s->reference_failed);
  CHECK(st, c->traced == s->traced, "%s: traced %" PRIu64 " / %" PRIu64, what, c->traced,
        s->traced);
  CHECK(st, c->dropped == s->dropped, "%s: %" PRIu64 " calls said queue full, dropped %" PRIu64,
        what, c->dropped, s->dropped);
  CHECK(st, c->rej_guid == s->rejected_by[WMIEV_REJECT_GUID_NOT_REGISTERED],
        "%s: GUID_NOT_FOUND %" PRIu64 " / %" PRIu64, what, c->rej_guid,
        s->rejected_by[WMIEV_REJECT_GUID_NOT_REGISTERED]);
  CHECK(st, c->rej_inst == s->rejected_by[WMIEV_REJECT_BAD_INSTANCE],
        "%s: INSTANCE_NOT_FOUND %" PRIu64 " / %" PRIu64, what, c->rej_inst,
        s->rejected_by[WMIEV_REJECT_BAD_INSTANCE]);
  CHECK(st, c->rej_unknown == s->rejected_by[WMIEV_REJECT_UNKNOWN_PROVIDER],
        "%s: DEVICE_DOES_NOT_EXIST %" PRIu64 " / %" PRIu64, what, c->rej_unknown,
        s->rejected_by[WMIEV_REJECT_UNKNOWN_PROVIDER]);
  CHECK(st, c->rej_malformed == s->rejected_by[WMIEV_REJECT_MALFORMED],
        "%s: malformed %" PRIu64 " / %" PRIu64, what, c->rej_malformed,
        s->rejected_by[WMIEV_REJECT_MALFORMED]);
  CHECK(st, c->rej_too_large == s->rejected_by[WMIEV_REJECT_TOO_LARGE],
        "%s: too large %" PRIu64 " / %" PRIu64, what, c->rej_too_large,
        s->rejected_by[WMIEV_REJECT_TOO_LARGE]);
  CHECK(st, c->rej_other == 0 && s->rejected_by[WMIEV_REJECT_STRICT] == 0,
        "%s: unexpected rejections", what);
}

static void add_counts(fire_counts *sum, const fire_counts *c) {
  sum->calls += c->calls;
  sum->ok += c->ok;
  sum->traced += c->traced;
  sum->dropped += c->dropped;
  sum->rej_guid += c->rej_guid;
  sum->rej_inst += c->rej_inst;
  sum->rej_unknown += c->rej_unknown;
  sum->rej_malformed += c->rej_malformed;
  sum->rej_too_large += c->rej_too_large;
  sum->rej_other += c->rej_other;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void usage(void) {
  fprintf(stderr, "usage: wmiev-stress [--duration-ms MS] [--producers N] [--seed S] [--queue N]\n"
                  "                    [--slow-consumer] [--quiet]\n");
}

static bool parse_u64(const char *s, uint64_t *out) {
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 0);
  if (end == s || *end != '\0') {
    return false;
  }
  *out = v;
  return true;
}

int main(int argc, char **argv) {
  static stress sts;
  stress *st = &sts;
  st->duration_ms = 2000;
  st->nprod = 3;
  st->queue_capacity = 1024;
  st->seed = 1;
  for (int i = 1; i < argc; i++) {
    uint64_t v = 0;
    if (strcmp(argv[i], "--duration-ms") == 0 && i + 1 < argc && parse_u64(argv[i + 1], &v) &&
        v <= UINT32_MAX) {
      st->duration_ms = (uint32_t)v;
      i++;
    } else if (strcmp(argv[i], "--producers") == 0 && i + 1 < argc && parse_u64(argv[i + 1], &v) &&
               v >= 1 && v <= MAX_PRODUCERS) {
      st->nprod = (uint32_t)v;
      i++;
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc && parse_u64(argv[i + 1], &v)) {
      st->seed = v;
      i++;
    } else if (strcmp(argv[i], "--queue") == 0 && i + 1 < argc && parse_u64(argv[i + 1], &v) &&
               v >= 16 && v <= 1000000) {
      st->queue_capacity = (uint32_t)v;
      i++;
    } else if (strcmp(argv[i], "--slow-consumer") == 0) {
      st->slow = true;
    } else if (strcmp(argv[i], "--quiet") == 0) {
      st->quiet = true;
    } else {
      usage();
      return 2;
    }
  }
  pthread_mutex_init(&st->err_m, NULL);
  atomic_init(&st->stop, false);
  atomic_init(&st->errors, 0u);
  atomic_init(&st->violations, 0u);
  for (int i = 0; i < WMIEV_WARN_COUNT_; i++) {
    atomic_init(&st->warnings[i], 0u);
  }
  st->nfirers = st->nprod + 1u;

  /* ---- Setup ---- */
  st->alloc = debug_alloc_create();
  wmiev_bus_options o;
  memset(&o, 0, sizeof o);
  o.delivery = WMIEV_DELIVERY_LIBUV;
  o.allocator = debug_alloc_allocator(st->alloc);
  o.max_event_size = MAX_EVENT;
  o.queue_capacity = st->queue_capacity;
  o.on_warning = on_warning;
  o.warning_ctx = st;
  o.on_violation = on_violation;
  o.violation_ctx = st;
  wmiev_status s = wmiev_bus_create(&o, &st->bus);
  if (!WMIEV_SUCCESS(s)) {
    fprintf(stderr, "wmiev-stress: wmiev_bus_create: %s\n", wmiev_status_name(s));
    return 1;
  }
  st->reg = wmiev_bus_registry(st->bus);
  if (uv_loop_init(&st->loop) != 0 || uv_async_init(&st->loop, &st->stopper, on_stop) != 0) {
    fprintf(stderr, "wmiev-stress: libuv setup failed\n");
    return 1;
  }
  st->stopper.data = st;
  s = wmiev_uv_attach(st->bus, &st->loop, NULL, &st->uv);
  if (!WMIEV_SUCCESS(s)) {
    fprintf(stderr, "wmiev-stress: wmiev_uv_attach: %s\n", wmiev_status_name(s));
    return 1;
  }
  for (uint32_t k = 0; k < st->nfirers; k++) {
    firer *f = &st->firers[k];
    f->st = st;
    f->k = k;
    f->rng = (st->seed + 1u) * 0x9E3779B97F4A7C15ull + k * 0xBF58476D1CE4E5B9ull + 1u;
  }
  for (uint32_t k = 0; k < st->nprod; k++) {
    st->stable[k] = prov_create(st, false, k, 0);
    st->firers[k].stable = st->stable[k];
    (void)reg_action(st, st->stable[k], WMIREG_ACTION_REGISTER);
  }
  for (uint32_t j = 0; j < NVOL; j++) {
    atomic_init(&st->vol[j].fire_id, 0u);
    vol_create(st, j, 4);
  }
  for (int g = 0; g < NGUIDS; g++) {
    if (permanent_guid[g]) {
      st->perm[g] = subscribe(st, g, true);
      if (st->perm[g] == NULL) {
        return 1;
      }
    }
  }
  uint64_t baseline = debug_alloc_live_bytes(st->alloc);

  /* ---- Run ---- */
  uint64_t t0 = now_ms();
  if (pthread_create(&st->loop_thread, NULL, loop_main, st) != 0) {
    return 1;
  }
  for (uint32_t k = 0; k < st->nprod; k++) {
    if (pthread_create(&st->firers[k].thread, NULL, producer_main, &st->firers[k]) != 0) {
      return 1;
    }
  }
  if (pthread_create(&st->registry_thread, NULL, registry_main, &st->firers[st->nprod]) != 0 ||
      pthread_create(&st->churn_thread, NULL, churn_main, st) != 0 ||
      pthread_create(&st->query_thread, NULL, query_main, st) != 0) {
    return 1;
  }
  uint64_t next_report = t0 + 10000;
  while (now_ms() - t0 < st->duration_ms) {
    sleep_us(20000);
    if (!st->quiet && now_ms() >= next_report) {
      wmiev_bus_stats b;
      wmiev_bus_get_stats(st->bus, &b);
      printf("wmiev-stress: %" PRIu64 " s: %" PRIu64 " fired, %" PRIu64 " delivered, %" PRIu64
             " dropped, peak %" PRIu64 " bytes\n",
             (now_ms() - t0) / 1000u, b.fired, b.delivered, b.dropped,
             debug_alloc_peak_bytes(st->alloc));
      fflush(stdout);
      next_report += 10000;
    }
  }
  atomic_store(&st->stop, true);
  for (uint32_t k = 0; k < st->nprod; k++) {
    pthread_join(st->firers[k].thread, NULL);
  }
  uint64_t t_fire = now_ms() - t0;
  pthread_join(st->registry_thread, NULL);
  pthread_join(st->churn_thread, NULL);
  pthread_join(st->query_thread, NULL);

  /* ---- Drain, then stop the loop ---- */
  uint64_t drain_start = now_ms();
  while (wmiev_bus_pending(st->bus) != 0) {
    if (now_ms() - drain_start > 60000) {
      fail(st, "the queue did not drain in 60 s (%zu pending)", wmiev_bus_pending(st->bus));
      break;
    }
    sleep_us(1000);
  }
  uint64_t t_total = now_ms() - t0;
  uv_async_send(&st->stopper);
  pthread_join(st->loop_thread, NULL);
  CHECK(st, st->detached == 1, "the libuv attachment was not closed");
  CHECK(st, uv_loop_close(&st->loop) == 0, "uv_loop_close: handles left open");
  CHECK(st, wmiev_bus_pending(st->bus) == 0, "events still queued after the drain");

  /* ---- Accounting ---- */
  wmiev_bus_stats bus_stats;
  wmiev_bus_get_stats(st->bus, &bus_stats);
  check_stats_sum(st, "bus", &bus_stats);
  CHECK(st, bus_stats.queued_now == 0, "queued_now %" PRIu64, bus_stats.queued_now);
  CHECK(st, bus_stats.queue_peak <= st->queue_capacity, "queue peak %" PRIu64 " over capacity",
        bus_stats.queue_peak);
  fire_counts all;
  memset(&all, 0, sizeof all);
  wmiev_bus_stats gs[NGUIDS];
  wmiev_bus_stats sum_g;
  memset(&sum_g, 0, sizeof sum_g);
  for (int g = 0; g < NGUIDS; g++) {
    wmiev_bus_get_guid_stats(st->bus, &guids[g], &gs[g]);
    fire_counts c;
    memset(&c, 0, sizeof c);
    for (uint32_t k = 0; k < st->nfirers; k++) {
      add_counts(&c, &st->firers[k].c[g]);
    }
    add_counts(&all, &c);
    char what[32];
    snprintf(what, sizeof what, "GUID %s", guid_names[g]);
    check_stats_sum(st, what, &gs[g]);
    check_counts(st, what, &c, &gs[g]);
    sum_g.fired += gs[g].fired;
    sum_g.delivered += gs[g].delivered;
    sum_g.callbacks += gs[g].callbacks;
    uint64_t callbacks = st->temp_calls[g] + (st->perm[g] != NULL ? st->perm[g]->calls : 0);
    CHECK(st, gs[g].callbacks == callbacks,
          "%s: stats.callbacks %" PRIu64 ", subscribers counted %" PRIu64, what, gs[g].callbacks,
          callbacks);
    subscriber *p = st->perm[g];
    if (p != NULL) {
      CHECK(st, gs[g].not_enabled == 0 && gs[g].discarded == 0 && gs[g].reference_failed == 0,
            "%s: permanently subscribed, yet not_enabled %" PRIu64 ", discarded %" PRIu64
            ", reference_failed %" PRIu64,
            what, gs[g].not_enabled, gs[g].discarded, gs[g].reference_failed);
      CHECK(st, p->calls == gs[g].delivered,
            "%s: the permanent subscriber got %" PRIu64 " events, delivered %" PRIu64, what,
            p->calls, gs[g].delivered);
      uint64_t delivered = 0, lost = 0;
      wmiev_subscription_counts(p->sub, &delivered, &lost);
      CHECK(st, delivered == p->calls && lost == gs[g].dropped && p->lost_before <= lost,
            "%s: subscription counts %" PRIu64 " delivered, %" PRIu64 " lost (dropped %" PRIu64
            ", lost_before seen %" PRIu64 ")",
            what, delivered, lost, gs[g].dropped, p->lost_before);
      for (uint32_t k = 0; k < st->nfirers; k++) {
        uint64_t diff = bit_first_difference(&st->firers[k].ok_bits[g], &p->got[k]);
        CHECK(st, diff == UINT64_MAX, "%s: firer %u sequence %" PRIu64 " was %s but %s", what, k,
              diff, "accepted or not (see the bitmaps)", "the permanent subscriber disagrees");
      }
    }
  }
  check_counts(st, "bus", &all, &bus_stats);
  CHECK(st,
        sum_g.fired == bus_stats.fired && sum_g.delivered == bus_stats.delivered &&
            sum_g.callbacks == bus_stats.callbacks,
        "per-GUID statistics do not sum to the bus's");
  for (int w = 1; w < WMIEV_WARN_COUNT_; w++) {
    CHECK(st, atomic_load(&st->warnings[w]) == bus_stats.warnings[w],
          "warning %s: hook called %" PRIuFAST64 " times, counted %" PRIu64,
          wmiev_warning_name((wmiev_warning)w), atomic_load(&st->warnings[w]),
          bus_stats.warnings[w]);
  }
  CHECK(st, bus_stats.warnings[WMIEV_WARN_REFERENCE_FAILED] == 0, "references failed");

  /* ---- Function control: nobody listens any more ---- */
  for (int g = 0; g < NGUIDS; g++) {
    if (st->perm[g] != NULL) {
      s = wmiev_bus_unsubscribe(st->perm[g]->sub);
      CHECK(st, s == WMIEV_STATUS_SUCCESS, "unsubscribe: %s", wmiev_status_name(s));
    }
  }
  tracker stable_sum[NGUIDS][2];
  memset(stable_sum, 0, sizeof stable_sum);
  for (uint32_t j = 0; j < NVOL; j++) {
    if (st->vol[j].p != NULL) {
      prov_check_quiet(st, st->vol[j].p);
      vol_destroy(st, j);
    }
  }
  for (uint32_t k = 0; k < st->nprod; k++) {
    prov_check_quiet(st, st->stable[k]);
    prov_destroy(st, st->stable[k], stable_sum);
  }
  uint64_t enables = 0, disables = 0, ended = 0;
  for (int g = 0; g < NGUIDS; g++) {
    for (int fn = 0; fn < 2; fn++) {
      CHECK(st, stable_sum[g][fn].ended == 0, "a stable provider was deregistered while enabled");
      enables += stable_sum[g][fn].enables + st->vol_done[g][fn].enables;
      disables += stable_sum[g][fn].disables + st->vol_done[g][fn].disables;
      ended += st->vol_done[g][fn].ended;
    }
  }
  CHECK(st, enables == disables + ended,
        "function control: %" PRIu64 " enables, %" PRIu64 " disables, %" PRIu64
        " ended by deregistration",
        enables, disables, ended);
  CHECK(st, atomic_load(&st->violations) == 0, "driver rule violations reported");

  /* ---- Memory ---- */
  uint64_t peak = debug_alloc_peak_bytes(st->alloc);
  /* Everything that may be allocated at once beyond the baseline (which
   * holds the ring, the stable and volatile providers, subscriptions):
   * an event each firer is building; the loop thread resolving one
   * reference (two reply buffers and the IRP copy); the query thread's
   * replies and IRPs; the churn thread's subscriptions and handles; the
   * registry thread rebuilding one volatile provider (old and new blocks);
   * bookkeeping that grows with the number of providers (maps, enabled sets). */
  uint64_t bound = baseline + (uint64_t)st->nfirers * (MAX_EVENT + 64u) + 16u * 1024u +
                   (uint64_t)(st->nprod + NVOL) * 8u * 1024u + 8u * 1024u +
                   (MAX_TEMP_SUBS + MAX_HANDLES) * 512u + NVOL * 16u * 1024u + 32u * 1024u;
  CHECK(st, peak <= bound,
        "peak memory %" PRIu64 " bytes over the bound %" PRIu64 " (baseline %" PRIu64 ")", peak,
        bound, baseline);
  if (st->slow) {
    /* The queue filled (by events or by bytes, whichever bound came first). */
    CHECK(st, bus_stats.dropped > 0,
          "slow consumer: the queue never filled (dropped %" PRIu64 ", peak %" PRIu64 ")",
          bus_stats.dropped, bus_stats.queue_peak);
  }

  for (int g = 0; g < NGUIDS; g++) {
    if (st->perm[g] != NULL) {
      subscriber_free(st->perm[g]);
    }
  }
  wmiev_bus_destroy(st->bus);
  uint64_t leaks = debug_alloc_report_leaks(st->alloc);
  CHECK(st, leaks == 0, "%" PRIu64 " allocations leaked", leaks);
  CHECK(st, debug_alloc_errors(st->alloc) == 0, "%" PRIu64 " allocator errors",
        debug_alloc_errors(st->alloc));
  uint64_t allocations = debug_alloc_total_count(st->alloc);
  debug_alloc_destroy(st->alloc);

  /* ---- Summary ---- */
  double secs = (double)t_fire / 1000.0;
  printf("wmiev-stress: %s, seed %" PRIu64 ", %u producers + churn + registry + query + loop "
         "threads, %u ms (%" PRIu64 " ms with the drain)\n",
         st->slow ? "slow consumer" : "normal", st->seed, st->nprod, (unsigned)t_fire, t_total);
  printf("  fired %" PRIu64 " (%.0f/s): delivered %" PRIu64 ", dropped %" PRIu64
         ", rejected %" PRIu64 ", not_enabled %" PRIu64 ", discarded %" PRIu64
         ", reference_failed %" PRIu64 ", traced %" PRIu64 "\n",
         bus_stats.fired, secs > 0 ? (double)bus_stats.fired / secs : 0.0, bus_stats.delivered,
         bus_stats.dropped, bus_stats.rejected, bus_stats.not_enabled, bus_stats.discarded,
         bus_stats.reference_failed, bus_stats.traced);
  printf("  callbacks %" PRIu64 ", references resolved %" PRIu64 ", queue peak %" PRIu64 "/%u\n",
         bus_stats.callbacks, gs[G_REF].delivered + gs[G_REF].discarded, bus_stats.queue_peak,
         st->queue_capacity);
  printf("  function control: %" PRIu64 " enables, %" PRIu64 " disables, %" PRIu64
         " ended by deregistration; ENABLE_FAILED warnings %" PRIu64 "\n",
         enables, disables, ended, bus_stats.warnings[WMIEV_WARN_ENABLE_FAILED]);
  printf("  churn: %" PRIu64 " subscribes, %" PRIu64 " unsubscribes, %" PRIu64 " opens, %" PRIu64
         " closes\n",
         st->subscribes, st->unsubscribes, st->opens, st->closes);
  printf("  registry: %" PRIu64 " volatile incarnations;", st->vol_incarnations);
  for (int op = 0; op <= OP_DESTROY; op++) {
    printf(" %s %" PRIu64 "%s", op_names[op], st->reg_ops[op], op < OP_DESTROY ? "," : "\n");
  }
  printf("  queries: %" PRIu64 " (+%" PRIu64 " methods), %" PRIu64 " instances checked, %" PRIu64
         " two-call retries;",
         st->queries, st->methods, st->query_instances, st->query_retries);
  for (int i = 0; i < MAX_STATUS_KINDS && st->qs[i].n != 0; i++) {
    printf(" %s %" PRIu64, wmiev_status_name(st->qs[i].status), st->qs[i].n);
  }
  printf("\n  memory: peak %" PRIu64 " bytes (baseline %" PRIu64 " incl. the %u-event ring, "
         "bound %" PRIu64 "), %" PRIu64 " allocations, 0 leaks\n",
         peak, baseline, st->queue_capacity, bound, allocations);
  unsigned errors = atomic_load(&st->errors);
  for (uint32_t k = 0; k < st->nfirers; k++) {
    for (int g = 0; g < NGUIDS; g++) {
      free(st->firers[k].ok_bits[g].w);
    }
  }
  pthread_mutex_destroy(&st->err_m);
  if (errors != 0) {
    printf("wmiev-stress: FAILED (%u errors)\n", errors);
    return 1;
  }
  printf("wmiev-stress: OK\n");
  return 0;
}
