/*
 * wmiev's cases. Every bus has real providers (wmilib.h, registered through
 * the REGINFO handshake) and real subscriptions (so the bus has sent its
 * ENABLE_EVENTS); events go through the public API only:
 *   wmiev.sync_write     IoWMIWriteEvent form: alloc_event + copy + write_event,
 *                        synchronous delivery (validate, registration check,
 *                        timestamp, callback; the bus frees the WNODE)
 *   wmiev.sync_fire      WmiFireEvent form (wmiev_bus_fire_event), synchronous
 *   wmiev.sync_source    the same through the provider's event source
 *                        (wmiev_source_fire, source.h): the form the targets use
 *   wmiev.pumped_fire    fire_event into a pumped bus, wmiev_bus_dispatch() every 256
 *   wmiev.uv_fire_1p/2p  fire_event from one / two producer threads, libuv delivery
 *   wmiev.uv_source_1p/2p  the same with wmiev_source_fire
 *   wmiev.disabled_fire  fire_event for a registered GUID nobody subscribed to
 *   wmiev.disabled_source  the same with wmiev_source_fire
 *   wmiev.*_1000g        the same with 1000 GUIDs registered by 100 providers
 *   wmiev.sync_reference a WNODE_EVENT_REFERENCE: the bus queries the instance
 *                        (IRP_MN_QUERY_SINGLE_INSTANCE) and delivers the answer
 *   wmiev.fanout_N       fire_event to N subscribers, synchronous
 *   wmiev.memory         bytes per queued event, peak memory with a stalled consumer
 * Heap allocations are counted by an allocator hook (wmiev_allocator) in a
 * separate, untimed pass of each case, in steady state.
 */
#include <stdlib.h>

#include <wmiev/uv.h>
#include <wmiev/wmiev.h>

#include "bench.h"

/* ---- A counting allocator ----------------------------------------------------------------------
 */

typedef struct counting_alloc {
  wmiev_allocator hook;
  _Atomic uint64_t allocs, frees;
  _Atomic int64_t live, peak;
} counting_alloc;

static void *count_alloc(size_t size, void *ctx) {
  counting_alloc *c = ctx;
  void *p = malloc(size != 0 ? size : 1);
  if (p != NULL) {
    atomic_fetch_add_explicit(&c->allocs, 1, memory_order_relaxed);
    int64_t live =
        atomic_fetch_add_explicit(&c->live, (int64_t)size, memory_order_relaxed) + (int64_t)size;
    int64_t peak = atomic_load_explicit(&c->peak, memory_order_relaxed);
    while (live > peak && !atomic_compare_exchange_weak_explicit(
                              &c->peak, &peak, live, memory_order_relaxed, memory_order_relaxed)) {
    }
  }
  return p;
}

static void count_free(void *ptr, size_t size, void *ctx) {
  counting_alloc *c = ctx;
  atomic_fetch_add_explicit(&c->frees, 1, memory_order_relaxed);
  atomic_fetch_sub_explicit(&c->live, (int64_t)size, memory_order_relaxed);
  free(ptr);
}

static void counting_init(counting_alloc *c) {
  c->hook.alloc = count_alloc;
  c->hook.free = count_free;
  c->hook.ctx = c;
  atomic_init(&c->allocs, 0);
  atomic_init(&c->frees, 0);
  atomic_init(&c->live, 0);
  atomic_init(&c->peak, 0);
}

/* ---- Providers and a bus
 * ------------------------------------------------------------------------- */

#define MAX_PROVIDERS 128

typedef struct fixture {
  wmiev_bus *bus;
  size_t provider_count, per_provider;
  wmiev_provider *providers[MAX_PROVIDERS];
  wmiev_guid_reg *regs;  /* provider p's list starts at regs + p * (per_provider + 1) */
  GUID *guids;           /* provider p's GUIDs start at guids + p * per_provider */
  const GUID *guid;      /* the GUID the case fires */
  wmiev_device *device;  /* a provider of it */
  wmiev_device *device2; /* a second provider of it (two producers), or NULL */
  wmiev_source *source;  /* device's source for the GUID (source.h) */
  wmiev_source *source2; /* device2's, or NULL */
  uint32_t payload;
  uint8_t *answer; /* what query_data_block answers (event references) */
  uint8_t *wnode;  /* the WNODE template write_event and write_reference send */
  size_t wnode_size;
  wmiev_subscription *subs[16];
  size_t sub_count;
  uint32_t since_dispatch; /* pumped mode */
} fixture;

typedef struct fixture_options {
  wmiev_delivery delivery;
  uint32_t payload;
  size_t providers, per_provider; /* 0: 1 and 1 */
  size_t target_provider, target_index;
  bool second_provider; /* provider 1 registers the target GUID too */
  bool reference;       /* the template is a WNODE_EVENT_REFERENCE to instance 0 */
  const wmiev_allocator *allocator;
  uint32_t queue_capacity, queue_bytes;
} fixture_options;

static const uint16_t base_name[] = {'B', 'e', 'n', 'c', 'h'};

static wmiev_status reginfo(wmiev_device *device, wmiev_reginfo_answer *answer, void *payload) {
  (void)device, (void)payload;
  answer->reg_flags = WMIREG_FLAG_INSTANCE_BASENAME;
  answer->base_name = base_name;
  answer->base_name_units = sizeof base_name / sizeof base_name[0];
  return WMIEV_STATUS_SUCCESS;
}

/* Answers the query behind an event reference with the case's payload. */
static wmiev_status query(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                          uint32_t instance_index, uint32_t instance_count, uint32_t *lengths,
                          uint32_t avail, uint8_t *buffer, void *payload) {
  (void)guid_index, (void)instance_index, (void)instance_count;
  fixture *f = payload;
  if (lengths == NULL || avail < f->payload) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, f->payload);
  }
  memcpy(buffer, f->answer, f->payload);
  lengths[0] = f->payload;
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, f->payload);
}

static void make_guid(GUID *g, size_t provider, size_t index) {
  memset(g, 0, sizeof *g);
  g->Data1 = 0x57494556u; /* "WIEV" */
  g->Data2 = (uint16_t)provider;
  g->Data3 = (uint16_t)index;
  g->Data4[0] = 0xbe;
  g->Data4[7] = (uint8_t)(provider * 31u + index);
}

static void must(wmiev_status st, const char *what) {
  if (!WMIEV_SUCCESS(st)) {
    fprintf(stderr, "wmiev-bench: %s: %s\n", what, wmiev_status_name(st));
    abort();
  }
}

static fixture *fixture_create(const fixture_options *o) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) {
    abort();
  }
  f->provider_count = o->providers != 0 ? o->providers : 1;
  f->per_provider = o->per_provider != 0 ? o->per_provider : 1;
  f->payload = o->payload;
  if (f->provider_count > MAX_PROVIDERS) {
    abort();
  }
  wmiev_bus_options bo;
  memset(&bo, 0, sizeof bo);
  bo.delivery = o->delivery;
  bo.allocator = o->allocator;
  bo.max_event_size = 4096; /* a 1024-byte payload is a 1088-byte WNODE */
  bo.queue_capacity = o->queue_capacity != 0 ? o->queue_capacity : BENCH_QUEUE_EVENTS;
  /* Room for queue_capacity events of this payload (fire_event records). */
  bo.queue_bytes =
      o->queue_bytes != 0 ? o->queue_bytes : bo.queue_capacity * ((32u + o->payload + 7u) & ~7u);
  must(wmiev_bus_create(&bo, &f->bus), "bus");

  f->answer = bench_payload_new(o->payload);
  f->regs = calloc(f->provider_count * (f->per_provider + 1), sizeof *f->regs);
  f->guids = calloc(f->provider_count * f->per_provider, sizeof *f->guids);
  if (f->regs == NULL || f->guids == NULL) {
    abort();
  }
  f->guid = &f->guids[o->target_provider * f->per_provider + o->target_index];
  for (size_t p = 0; p < f->provider_count; p++) {
    wmiev_guid_reg *list = f->regs + p * (f->per_provider + 1);
    uint32_t count = 0;
    for (size_t i = 0; i < f->per_provider; i++) {
      GUID *g = &f->guids[p * f->per_provider + i];
      make_guid(g, p, i);
      list[count++] = (wmiev_guid_reg){g, 1, 0};
    }
    if (p == 1 && o->second_provider) {
      list[count++] = (wmiev_guid_reg){f->guid, 1, 0};
    }
    wmiev_provider_options po;
    memset(&po, 0, sizeof po);
    po.context.guid_count = count;
    po.context.guid_list = list;
    po.context.callbacks.query_reginfo = reginfo;
    po.context.callbacks.query_data_block = query;
    po.context.payload = f;
    po.name = "bench";
    must(wmiev_provider_create(wmiev_bus_registry(f->bus), &po, &f->providers[p]), "provider");
    must(wmiev_registration_control(wmiev_provider_device(f->providers[p]), WMIREG_ACTION_REGISTER,
                                    NULL),
         "register");
  }
  f->device = wmiev_provider_device(f->providers[o->target_provider]);
  f->device2 = o->second_provider ? wmiev_provider_device(f->providers[1]) : NULL;
  must(wmiev_source_open(f->bus, f->device, f->guid, &f->source), "source");
  if (f->device2 != NULL) {
    must(wmiev_source_open(f->bus, f->device2, f->guid, &f->source2), "source2");
  }

  /* The WNODE template: a static-name single-instance event, data at 64; or
   * an event reference to instance 0, whose data (payload bytes) the bus
   * queries from the provider. */
  wmiev_wnode_header_params hdr;
  memset(&hdr, 0, sizeof hdr);
  hdr.guid = *f->guid;
  hdr.provider_id = wmiev_device_provider_id(f->device);
  wmiev_wnode_instance inst;
  memset(&inst, 0, sizeof inst);
  inst.size = o->payload;
  f->wnode_size =
      o->reference ? sizeof(WNODE_EVENT_REFERENCE) : sizeof(WNODE_SINGLE_INSTANCE) + o->payload;
  f->wnode = malloc(f->wnode_size);
  size_t needed = 0;
  if (f->wnode == NULL) {
    abort();
  }
  if (o->reference) {
    must(wmiev_wnode_build_event_reference(f->wnode, f->wnode_size, &hdr, &inst, 0, &needed, NULL),
         "build reference");
  } else {
    hdr.extra_flags = WNODE_FLAG_EVENT_ITEM;
    inst.data = f->answer;
    must(wmiev_wnode_build_single_instance(f->wnode, f->wnode_size, &hdr, &inst, &needed, NULL),
         "build");
  }
  if (needed != f->wnode_size) {
    abort();
  }
  return f;
}

static void on_event(const wmiev_event *ev, void *payload) {
  bench_sink_event(payload, ev->data, ev->data_size);
}

static void fixture_subscribe(fixture *f, bench_sink *sink, size_t count) {
  for (size_t i = 0; i < count; i++) {
    must(wmiev_bus_subscribe(f->bus, f->guid, on_event, sink, &f->subs[f->sub_count++]),
         "subscribe");
  }
}

static void fixture_destroy(fixture *f) {
  for (size_t i = 0; i < f->sub_count; i++) {
    (void)wmiev_bus_unsubscribe(f->subs[i]);
  }
  wmiev_source_close(f->source);
  wmiev_source_close(f->source2);
  for (size_t p = 0; p < f->provider_count; p++) {
    (void)wmiev_provider_destroy(f->providers[p]);
  }
  wmiev_bus_destroy(f->bus);
  free(f->wnode);
  free(f->answer);
  free(f->regs);
  free(f->guids);
  free(f);
}

/* ---- Fire functions
 * ---------------------------------------------------------------------------------- */

static void fire_event(void *ctx, const uint8_t *data, uint32_t size) {
  fixture *f = ctx;
  must(wmiev_bus_fire_event(f->bus, f->device, f->guid, 0, data, size, NULL), "fire_event");
}

/* The same through the pre-resolved source (source.h). */
static void fire_source(void *ctx, const uint8_t *data, uint32_t size) {
  fixture *f = ctx;
  must(wmiev_source_fire(f->source, 0, data, size, NULL), "source_fire");
}

/* The IoWMIWriteEvent form: a WNODE from alloc_event, the template's first
 * `head` bytes then `size` bytes of data; on failure the caller still owns
 * it and frees it. */
static wmiev_status write_wnode(fixture *f, size_t head, const uint8_t *data, uint32_t size) {
  uint8_t *w = wmiev_bus_alloc_event(f->bus, head + size);
  if (w == NULL) {
    abort();
  }
  memcpy(w, f->wnode, head);
  if (size != 0) {
    memcpy(w + head, data, size);
  }
  wmiev_status st = wmiev_bus_write_event(f->bus, w, NULL);
  if (!WMIEV_SUCCESS(st)) {
    wmiev_bus_free_event(f->bus, w);
  }
  return st;
}

static void write_event(void *ctx, const uint8_t *data, uint32_t size) {
  must(write_wnode(ctx, sizeof(WNODE_SINGLE_INSTANCE), data, size), "write_event");
}

/* The event reference of a `reference` fixture (the data comes from the query). */
static void write_reference(void *ctx, const uint8_t *data, uint32_t size) {
  (void)data, (void)size;
  fixture *f = ctx;
  must(write_wnode(f, f->wnode_size, NULL, 0), "write_event (reference)");
}

static void fire_pumped(void *ctx, const uint8_t *data, uint32_t size) {
  fixture *f = ctx;
  wmiev_status st;
  while ((st = wmiev_bus_fire_event(f->bus, f->device, f->guid, 0, data, size, NULL)) ==
         WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
    (void)wmiev_bus_dispatch(f->bus, 0);
    f->since_dispatch = 0;
  }
  must(st, "fire_event (pumped)");
  if (++f->since_dispatch == 256) {
    (void)wmiev_bus_dispatch(f->bus, 0);
    f->since_dispatch = 0;
  }
}

/* ---- Allocations per event (untimed)
 * ------------------------------------------------------------------- */

/* Runs `fire` in steady state on a fixture with the counting allocator and
 * records allocs_per_event (and bytes). */
static void count_allocations(const char *name, const fixture_options *base, uint32_t payload,
                              size_t subscribers, bench_fire_fn fire, bool pumped) {
  counting_alloc ca;
  counting_init(&ca);
  fixture_options o = *base;
  o.allocator = &ca.hook;
  fixture *f = fixture_create(&o);
  bench_sink sink;
  bench_sink_reset(&sink, UINT64_MAX, NULL);
  fixture_subscribe(f, &sink, subscribers);
  uint8_t *data = bench_payload_new(payload);
  for (int i = 0; i < 2000; i++) {
    fire(f, data, payload);
  }
  if (pumped) {
    (void)wmiev_bus_dispatch(f->bus, 0);
  }
  uint64_t a0 = atomic_load(&ca.allocs);
  const int n = 20000;
  for (int i = 0; i < n; i++) {
    fire(f, data, payload);
  }
  if (pumped) {
    (void)wmiev_bus_dispatch(f->bus, 0);
  }
  uint64_t a1 = atomic_load(&ca.allocs);
  bench_record(name, payload, "allocs_per_event", (double)(a1 - a0) / n);
  free(data);
  fixture_destroy(f);
  if (atomic_load(&ca.live) != 0) {
    fprintf(stderr, "wmiev-bench: %s: %lld bytes leaked\n", name, (long long)atomic_load(&ca.live));
    abort();
  }
}

/* ---- Synchronous cases
 * ------------------------------------------------------------------------------------- */

/* The fixtures' shapes (the payload is set per run): one provider of one
 * GUID; 100 providers x 10 GUIDs, the case firing a GUID in the middle; one
 * GUID whose template is an event reference. */
static const fixture_options one = {.delivery = WMIEV_DELIVERY_SYNC};
static const fixture_options big = {.delivery = WMIEV_DELIVERY_SYNC,
                                    .providers = 100,
                                    .per_provider = 10,
                                    .target_provider = 50,
                                    .target_index = 5};
static const fixture_options reference = {.delivery = WMIEV_DELIVERY_SYNC, .reference = true};

static void sync_case(const bench_config *cfg, const char *name, uint32_t payload, int rep,
                      const fixture_options *shape, size_t subscribers, bench_fire_fn fire,
                      uint64_t base_count, bool paced) {
  fixture_options o = *shape;
  o.payload = payload;
  fixture *f = fixture_create(&o);
  bench_sink sink;
  bench_sink_reset(&sink, 0, NULL);
  fixture_subscribe(f, &sink, subscribers);
  /* fire_source is timed as the library call itself (bench.h, bench_sync_target). */
  bench_sync_target target = {fire, f, NULL, NULL};
  if (fire == fire_source) {
    target.source_fire = wmiev_source_fire;
    target.source = f->source;
  }
  bench_sync(cfg, name, payload, bench_events(cfg, payload, base_count), &target, &sink,
             (uint32_t)subscribers, paced);
  fixture_destroy(f);
  if (rep == 0) {
    count_allocations(name, &o, payload, subscribers, fire, false);
  }
}

void case_sync_write(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.sync_write", payload, rep, &one, 1, write_event, 400000, true);
}

void case_sync_fire(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.sync_fire", payload, rep, &one, 1, fire_event, 400000, true);
}

void case_sync_source(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.sync_source", payload, rep, &one, 1, fire_source, 1000000, true);
}

void case_disabled_source(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.disabled_source", payload, rep, &one, 0, fire_source, 2000000, false);
}

void case_disabled(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.disabled_fire", payload, rep, &one, 0, fire_event, 1000000, false);
}

void case_disabled_1000g(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.disabled_fire_1000g", payload, rep, &big, 0, fire_event, 1000000, false);
}

void case_sync_fire_1000g(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.sync_fire_1000g", payload, rep, &big, 1, fire_event, 400000, false);
}

void case_disabled_source_1000g(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.disabled_source_1000g", payload, rep, &big, 0, fire_source, 2000000, false);
}

void case_sync_source_1000g(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.sync_source_1000g", payload, rep, &big, 1, fire_source, 1000000, false);
}

void case_reference(const bench_config *cfg, uint32_t payload, int rep) {
  sync_case(cfg, "wmiev.sync_reference", payload, rep, &reference, 1, write_reference, 100000,
            false);
}

static void fanout(const bench_config *cfg, const char *name, uint32_t payload, int rep, size_t n) {
  sync_case(cfg, name, payload, rep, &one, n, fire_event, 400000 / n + 20000, false);
}

void case_fanout_1(const bench_config *cfg, uint32_t payload, int rep) {
  fanout(cfg, "wmiev.fanout_1", payload, rep, 1);
}
void case_fanout_4(const bench_config *cfg, uint32_t payload, int rep) {
  fanout(cfg, "wmiev.fanout_4", payload, rep, 4);
}
void case_fanout_16(const bench_config *cfg, uint32_t payload, int rep) {
  fanout(cfg, "wmiev.fanout_16", payload, rep, 16);
}

/* ---- Pumped
 * -------------------------------------------------------------------------------------------------
 */

/* The two halves of queued delivery, timed apart on one thread: source_fire
 * into a pumped bus (the producer's cost: reserve, copy, commit) in rounds
 * of 256, and the wmiev_bus_dispatch() that delivers each round (the
 * consumer's). Cross-thread cases overlap the two; this shows which bounds
 * them. */
void case_pumped_source(const bench_config *cfg, uint32_t payload, int rep) {
  (void)rep;
  fixture_options o = {.delivery = WMIEV_DELIVERY_PUMPED, .payload = payload};
  fixture *f = fixture_create(&o);
  bench_sink sink;
  const uint64_t round = 256;
  uint64_t n = bench_events(cfg, payload, 400000) / round * round + round;
  fixture_subscribe(f, &sink, 1);
  uint8_t *data = bench_payload_new(payload);
  bench_sink_reset(&sink, UINT64_MAX, NULL);
  for (uint64_t i = 0; i < 16 * round; i++) {
    fire_source(f, data, payload);
    if (i % round == round - 1) {
      (void)wmiev_bus_dispatch(f->bus, 0);
    }
  }
  bench_sink_reset(&sink, n, NULL);
  uint64_t fire_ns = 0, dispatch_ns = 0;
  for (uint64_t done = 0; done < n; done += round) {
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < round; i++) {
      BENCH_BARRIER();
      fire_source(f, data, payload);
    }
    uint64_t t1 = bench_now_ns();
    if (wmiev_bus_dispatch(f->bus, 0) != round) {
      abort();
    }
    dispatch_ns += bench_now_ns() - t1;
    fire_ns += t1 - t0;
  }
  if (atomic_load(&sink.count) != n) {
    abort();
  }
  bench_record("wmiev.pumped_source", payload, "ns_per_event",
               (double)(fire_ns + dispatch_ns) / (double)n);
  bench_record("wmiev.pumped_source", payload, "fire_ns_per_event", (double)fire_ns / (double)n);
  bench_record("wmiev.pumped_source", payload, "dispatch_ns_per_event",
               (double)dispatch_ns / (double)n);
  free(data);
  fixture_destroy(f);
}

void case_pumped_fire(const bench_config *cfg, uint32_t payload, int rep) {
  fixture_options o = {.delivery = WMIEV_DELIVERY_PUMPED, .payload = payload};
  fixture *f = fixture_create(&o);
  bench_sink sink;
  uint64_t n = bench_events(cfg, payload, 400000);
  fixture_subscribe(f, &sink, 1);
  uint8_t *data = bench_payload_new(payload);
  bench_sink_reset(&sink, UINT64_MAX, NULL);
  for (uint64_t i = 0; i < n / 16; i++) {
    fire_pumped(f, data, payload);
  }
  (void)wmiev_bus_dispatch(f->bus, 0);
  bench_sink_reset(&sink, n, NULL);
  f->since_dispatch = 0;
  uint64_t start = bench_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    BENCH_BARRIER();
    fire_pumped(f, data, payload);
  }
  (void)wmiev_bus_dispatch(f->bus, 0);
  uint64_t elapsed = bench_now_ns() - start;
  if (atomic_load(&sink.count) != n) {
    abort();
  }
  double ns = (double)elapsed / (double)n;
  bench_record("wmiev.pumped_fire", payload, "ns_per_event", ns);
  bench_record("wmiev.pumped_fire", payload, "events_per_s", 1e9 / ns);
  free(data);
  fixture_destroy(f);
  if (rep == 0) {
    count_allocations("wmiev.pumped_fire", &o, payload, 1, fire_pumped, true);
  }
}

/* ---- libuv
 * ----------------------------------------------------------------------------------------------------
 */

typedef struct uv_case {
  fixture *f;
  bench_loop *loop;
  wmiev_uv *attachment;
} uv_case;

static const wmiev_allocator *uv_case_allocator; /* the allocation pass sets it */
/* Fire calls refused because the queue was full (retried), over a run. */
static _Atomic uint64_t uvc_refused;
/* Producers fire through their sources (source.h) instead of fire_event. */
static bool uvc_use_source;

static void *uvc_create(uint32_t payload, bench_sink *sink, int producers) {
  uv_case *u = calloc(1, sizeof *u);
  if (u == NULL) {
    return NULL;
  }
  fixture_options o = {.delivery = WMIEV_DELIVERY_LIBUV,
                       .payload = payload,
                       .providers = producers == 2 ? 2 : 1,
                       .second_provider = producers == 2,
                       .allocator = uv_case_allocator};
  u->f = fixture_create(&o);
  fixture_subscribe(u->f, sink, 1);
  u->loop = bench_loop_create();
  if (u->loop == NULL) {
    abort();
  }
  must(wmiev_uv_attach(u->f->bus, bench_loop_uv(u->loop), NULL, &u->attachment), "uv_attach");
  bench_loop_start(u->loop);
  return u;
}

static void uvc_push(void *ctx, int producer, const uint8_t *data, uint32_t size) {
  uv_case *u = ctx;
  wmiev_device *device = producer == 0 ? u->f->device : u->f->device2;
  wmiev_source *source = producer == 0 ? u->f->source : u->f->source2;
  wmiev_status st;
  while ((st = uvc_use_source
                   ? wmiev_source_fire(source, 0, data, size, NULL)
                   : wmiev_bus_fire_event(u->f->bus, device, u->f->guid, 0, data, size, NULL)) ==
         WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
    /* Queue full: dropped (counted by the bus); the producer yields and
     * fires it again, as every other producer here retries. */
    atomic_fetch_add_explicit(&uvc_refused, 1, memory_order_relaxed);
    bench_yield();
  }
  must(st, "fire_event (libuv)");
}

static void uvc_stop(void *ctx) {
  uv_case *u = ctx;
  wmiev_uv_detach(u->attachment, NULL, NULL);
}

static void uvc_destroy(void *ctx) {
  uv_case *u = ctx;
  bench_loop_stop(u->loop, uvc_stop, u);
  fixture_destroy(u->f);
  free(u);
}

static const bench_xthread_impl uvc_impl = {uvc_create, uvc_push, NULL, uvc_destroy};

/* Allocations per event with libuv delivery: n events from one producer
 * through a counting bus. */
static void uvc_count_allocations(const char *name, uint32_t payload) {
  counting_alloc ca;
  counting_init(&ca);
  uv_case_allocator = &ca.hook;
  bench_sink sink;
  const uint64_t warm = 2000, n = 20000;
  bench_sink_reset(&sink, warm, NULL);
  uv_case *u = uvc_create(payload, &sink, 1);
  uint8_t *data = bench_payload_new(payload);
  if (u == NULL) {
    abort();
  }
  for (uint64_t i = 0; i < warm; i++) {
    uvc_push(u, 0, data, payload);
  }
  (void)bench_sink_wait(&sink, NULL, NULL);
  uint64_t a0 = atomic_load(&ca.allocs);
  bench_sink_reset(&sink, n, NULL);
  for (uint64_t i = 0; i < n; i++) {
    uvc_push(u, 0, data, payload);
  }
  (void)bench_sink_wait(&sink, NULL, NULL);
  uint64_t a1 = atomic_load(&ca.allocs);
  uvc_destroy(u);
  uv_case_allocator = NULL;
  free(data);
  bench_record(name, payload, "allocs_per_event", (double)(a1 - a0) / (double)n);
}

/* Refusals per event of a run (the paced part adds none: the queue never fills). */
static void record_refused(const char *name, uint32_t payload, uint64_t n) {
  bench_record(name, payload, "refused_per_event",
               (double)atomic_exchange(&uvc_refused, 0) / (double)n);
}

/* One libuv case: `producers` threads firing through fire_event or through
 * their sources; the one-producer cases are also paced and, on the first
 * repetition, counted for allocations. */
static void run_uv_case(const bench_config *cfg, const char *name, uint32_t payload, int rep,
                        int producers, bool use_source, uint64_t base_count) {
  uint64_t n = bench_events(cfg, payload, base_count);
  atomic_store(&uvc_refused, 0);
  uvc_use_source = use_source;
  bench_xthread(cfg, name, payload, n, &uvc_impl, producers, producers == 1);
  record_refused(name, payload, n);
  if (rep == 0 && producers == 1) {
    uvc_count_allocations(name, payload);
  }
  uvc_use_source = false;
}

void case_uv_1p(const bench_config *cfg, uint32_t payload, int rep) {
  run_uv_case(cfg, "wmiev.uv_fire_1p", payload, rep, 1, false, 400000);
}

void case_uv_2p(const bench_config *cfg, uint32_t payload, int rep) {
  run_uv_case(cfg, "wmiev.uv_fire_2p", payload, rep, 2, false, 400000);
}

void case_uv_source_1p(const bench_config *cfg, uint32_t payload, int rep) {
  run_uv_case(cfg, "wmiev.uv_source_1p", payload, rep, 1, true, 1000000);
}

void case_uv_source_2p(const bench_config *cfg, uint32_t payload, int rep) {
  run_uv_case(cfg, "wmiev.uv_source_2p", payload, rep, 2, true, 1000000);
}

/* ---- Memory
 * ------------------------------------------------------------------------------------------------------
 */

void case_memory(const bench_config *cfg, uint32_t payload, int rep) {
  (void)cfg;
  if (rep != 0) {
    return; /* deterministic: measured once */
  }
  uint8_t *data = bench_payload_new(payload);
  bench_sink sink;
  bench_sink_reset(&sink, UINT64_MAX, NULL);

  /* 1. Bytes per queued event: a pumped bus whose queue is bounded by bytes
   *    only, given exactly the target's budget for 8192 events (8192 x
   *    (payload + 32), rounded up to 8), filled until it refuses; nothing is
   *    dispatched. bytes / accepted is the memory one queued event takes:
   *    payload + 32 if all 8192 fit, more if fewer did. */
  for (int form = 0; form < 2; form++) {
    const uint32_t budget_events = 8192;
    const uint32_t ring = budget_events * ((payload + 32u + 7u) & ~7u);
    fixture_options o = {.delivery = WMIEV_DELIVERY_PUMPED,
                         .payload = payload,
                         .queue_capacity = 1u << 20,
                         .queue_bytes = ring};
    fixture *f = fixture_create(&o);
    fixture_subscribe(f, &sink, 1);
    uint64_t accepted = 0;
    for (;;) {
      wmiev_status st;
      if (form == 0) {
        st = wmiev_bus_fire_event(f->bus, f->device, f->guid, 0, data, payload, NULL);
      } else {
        st = write_wnode(f, sizeof(WNODE_SINGLE_INSTANCE), data, payload);
      }
      if (st == WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
        break;
      }
      must(st, "fire (memory)");
      accepted++;
    }
    bench_record(form == 0 ? "wmiev.queue_fire" : "wmiev.queue_write", payload,
                 "bytes_per_queued_event", (double)ring / (double)accepted);
    fixture_destroy(f);
  }

  /* 2. A stalled consumer: a pumped bus with queue_capacity N that is never
   *    dispatched, fired 10 N times. Peak memory from the counting allocator. */
  const uint32_t n = BENCH_QUEUE_EVENTS;
  counting_alloc ca;
  counting_init(&ca);
  fixture_options o = {.delivery = WMIEV_DELIVERY_PUMPED,
                       .payload = payload,
                       .allocator = &ca.hook,
                       .queue_capacity = n};
  fixture *f = fixture_create(&o);
  fixture_subscribe(f, &sink, 1);
  int64_t live_before = atomic_load(&ca.live);
  int64_t peak_before = atomic_load(&ca.peak);
  uint64_t accepted = 0, refused = 0;
  for (uint64_t i = 0; i < 10u * n; i++) {
    wmiev_status st = wmiev_bus_fire_event(f->bus, f->device, f->guid, 0, data, payload, NULL);
    if (st == WMIEV_STATUS_INSUFFICIENT_RESOURCES) {
      refused++;
    } else {
      must(st, "fire (stalled)");
      accepted++;
    }
  }
  int64_t peak_after = atomic_load(&ca.peak);
  bench_record("wmiev.stalled", payload, "peak_bytes", (double)peak_after);
  bench_record("wmiev.stalled", payload, "peak_growth_bytes", (double)(peak_after - peak_before));
  bench_record("wmiev.stalled", payload, "queued_events", (double)accepted);
  bench_record("wmiev.stalled", payload, "dropped_events", (double)refused);
  /* Everything the bus holds (queue, registry, providers, scratch) per queued event. */
  bench_record("wmiev.stalled", payload, "total_bytes_per_queued_event",
               (double)live_before / (double)accepted);
  fixture_destroy(f);
  free(data);
}

/* ---- --callgrind
 * ----------------------------------------------------------------------------------------------------
 */

static BENCH_NOINLINE void callgrind_fire_event(fixture *f, const uint8_t *data, uint32_t size,
                                                uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    BENCH_BARRIER();
    fire_event(f, data, size);
  }
}

static BENCH_NOINLINE void callgrind_write_event(fixture *f, const uint8_t *data, uint32_t size,
                                                 uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    BENCH_BARRIER();
    write_event(f, data, size);
  }
}

static BENCH_NOINLINE void callgrind_source_fire(fixture *f, const uint8_t *data, uint32_t size,
                                                 uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    BENCH_BARRIER();
    fire_source(f, data, size);
  }
}

int case_callgrind(uint64_t n, uint32_t payload, const char *path) {
  bool all = strcmp(path, "all") == 0;
  bool fire = all || strcmp(path, "fire") == 0;
  bool source = all || strcmp(path, "source") == 0;
  bool write = all || strcmp(path, "write") == 0;
  bool direct = all || strcmp(path, "direct") == 0;
  if (!fire && !source && !write && !direct) {
    fprintf(stderr, "wmiev-bench: --path must be fire, source, write, direct or all\n");
    return 2;
  }
  fixture_options o = {.delivery = WMIEV_DELIVERY_SYNC, .payload = payload};
  fixture *f = fixture_create(&o);
  bench_sink sink;
  bench_sink_reset(&sink, UINT64_MAX, NULL);
  fixture_subscribe(f, &sink, 1);
  uint8_t *data = bench_payload_new(payload);
  for (int i = 0; i < 100; i++) {
    fire_event(f, data, payload);
    write_event(f, data, payload);
  }
  if (fire) {
    callgrind_fire_event(f, data, payload, n);
  }
  if (source) {
    callgrind_source_fire(f, data, payload, n);
  }
  if (write) {
    callgrind_write_event(f, data, payload, n);
  }
  if (direct) {
    base_direct_callgrind(n);
  }
  free(data);
  fixture_destroy(f);
  printf("callgrind: %llu events (path %s) through callgrind_fire_event (wmiev_bus_fire_event), "
         "callgrind_source_fire (wmiev_source_fire), callgrind_write_event (alloc_event + "
         "wmiev_bus_write_event) and/or "
         "base_direct_callgrind (baseline a), %u-byte payload\n",
         (unsigned long long)n, path, (unsigned)payload);
  return 0;
}
