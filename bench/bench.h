/*
 * wmiev-bench: wmiev against its baselines, in one run (docs/performance.md).
 *
 * Files, one concern each:
 *   main.c       options, the order of the runs (repetitions interleaved),
 *                the targets, the machine description, --callgrind mode
 *   stats.c      results (every repetition of every figure), medians,
 *                latency percentiles, the table and the BENCH/TARGET lines
 *   baselines.c  the baselines: (0) flag check, (a) direct call, (b) SPSC
 *                ring + uv_async_send, (c) mutex + condvar queue, (d) ZeroMQ
 *   cases.c      wmiev itself: IoWMIWriteEvent and WmiFireEvent forms and
 *                event sources (source.h), sync, pumped, libuv with one and
 *                two producers, no subscriber, event reference, fan-out, big
 *                registry, memory per queued event, stalled consumer
 *
 * Every event carries the same payload layout: bytes 0..7 a fire time
 * (monotonic ns) when the event is sampled for latency, else 0; the rest
 * filler. Every consumer runs bench_sink_event() on it, so the work done
 * per delivered event is the same in every case.
 */
#ifndef WMIEV_BENCH_H
#define WMIEV_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <wmiev/source.h>

/* Not inlined, and (GCC) not cloned with constant arguments either: a call
 * through a pointer stays a call. */
#if defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline))
#elif defined(__GNUC__)
#define BENCH_NOINLINE __attribute__((noinline, noclone))
#else
#define BENCH_NOINLINE
#endif

/* Keeps the compiler from moving memory accesses across it (no instruction). */
#if defined(__GNUC__) || defined(__clang__)
#define BENCH_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define BENCH_BARRIER() ((void)0)
#endif

/* Events a cross-thread queue holds in every case (wmiev's default capacity). */
#define BENCH_QUEUE_EVENTS 4096u
/* One event in this many carries a fire time (latency sample) in saturated runs. */
#define BENCH_SAMPLE_EVERY 16u

typedef struct bench_config {
  int reps;               /* repetitions of every timed figure */
  bool quick;             /* short run (CI smoke) */
  double scale;           /* multiplies every event count */
  uint32_t paced_samples; /* events per paced-latency run */
  uint32_t paced_interval_ns;
  const char *only; /* run only cases whose name contains this (NULL: all) */
} bench_config;

/* ---- stats.c ------------------------------------------------------------------------ */

uint64_t bench_now_ns(void);
/* Spins until the monotonic clock reaches `deadline_ns`. */
void bench_spin_until(uint64_t deadline_ns);
/* Sleeps, then spins, until the monotonic clock reaches `deadline_ns` (paced runs). */
void bench_pace_until(uint64_t deadline_ns);
/* Gives the CPU away for a moment (a full queue, waiting for a consumer). */
void bench_yield(void);

/* Appends one repetition's value of a figure. */
void bench_record(const char *name, uint32_t payload, const char *metric, double value);
/* The median over the repetitions; false if the figure was not measured. */
bool bench_median(const char *name, uint32_t payload, const char *metric, double *out);

/* Latency samples of one run (single writer). */
typedef struct bench_lat {
  uint64_t *v;
  size_t n, cap;
} bench_lat;

void bench_lat_init(bench_lat *l, size_t cap);
void bench_lat_free(bench_lat *l);
static inline void bench_lat_add(bench_lat *l, uint64_t ns) {
  if (l->n < l->cap) {
    l->v[l->n++] = ns;
  }
}
/* Records p50/p99/p99.9 of the samples as lat_<kind>_p50_ns, ... (kind: "sat" or "paced"). */
void bench_lat_record(bench_lat *l, const char *name, uint32_t payload, const char *kind);

void bench_print_table(FILE *out);
void bench_print_lines(FILE *out);

/* A target: prints a TARGET line; returns whether it is met. `max`: ratio <= limit,
 * else ratio >= limit. Missing figures print met=skipped. */
bool bench_target(FILE *out, const char *name, uint32_t payload, double ratio, bool have,
                  double limit, bool max, const char *what);

/* ---- The consumer's side, shared by every case ------------------------------------------ */

typedef struct bench_sink {
  _Atomic uint64_t count; /* events seen (written by the consumer only) */
  uint64_t target;        /* end_ns is set when count reaches it */
  _Atomic uint64_t end_ns;
  bench_lat *lat;    /* NULL: ignore fire times */
  uint64_t checksum; /* the last byte of every event, so nothing is optimised away */
} bench_sink;

static inline void bench_sink_reset(bench_sink *s, uint64_t target, bench_lat *lat) {
  atomic_store(&s->count, 0);
  s->target = target;
  atomic_store(&s->end_ns, 0);
  s->lat = lat;
  s->checksum = 0;
}

static inline void bench_sink_event(bench_sink *s, const void *data, size_t size) {
  uint64_t stamp = 0;
  if (size >= sizeof stamp) {
    memcpy(&stamp, data, sizeof stamp);
  }
  if (stamp != 0 && s->lat != NULL) {
    bench_lat_add(s->lat, bench_now_ns() - stamp);
  }
  if (size != 0) {
    s->checksum += ((const uint8_t *)data)[size - 1];
  }
  uint64_t c = atomic_load_explicit(&s->count, memory_order_relaxed) + 1;
  atomic_store_explicit(&s->count, c, memory_order_release);
  if (c == s->target) {
    atomic_store_explicit(&s->end_ns, bench_now_ns(), memory_order_release);
  }
}

/* Waits (yielding) until the sink has seen `target` events; returns the time the last
 * arrived. `kick` (may be NULL) is called every millisecond while waiting. */
uint64_t bench_sink_wait(bench_sink *s, void (*kick)(void *ctx), void *ctx);

/* A payload buffer with the layout above. */
void bench_payload_init(uint8_t *buf, uint32_t size);
/* A new one (malloc, initialised; aborts when out of memory); free() it. */
uint8_t *bench_payload_new(uint32_t size);
static inline void bench_payload_stamp(uint8_t *buf, uint64_t stamp) {
  memcpy(buf, &stamp, sizeof stamp);
}

/* Events per run for a case whose 64-byte event costs roughly `ns64` ns: about
 * `budget_ms` of work, scaled, and fewer for 1024-byte events. */
uint64_t bench_events(const bench_config *cfg, uint32_t payload, uint64_t base_count);

/* ---- harness.c: the drivers every case runs in ------------------------------------------- */

/* A synchronous fire: delivers `data` before it returns (or decides not to). */
typedef void (*bench_fire_fn)(void *ctx, const uint8_t *data, uint32_t size);

/* wmiev_source_fire()'s type. */
typedef wmiev_status (*bench_source_fire_fn)(wmiev_source *source, uint32_t instance_index,
                                             const void *data, uint32_t size, wmiev_diag *diag);

/*
 * What a synchronous case's timing loops call per event, through one
 * function pointer: either `fire(ctx, data, size)` (the baselines, and the
 * wmiev cases that need glue around the library call, such as building a
 * WNODE), or, when `source_fire` is set, the library function itself,
 * `source_fire(source, 0, data, size, NULL)`. A source case is then timed
 * like a baseline: the loop's indirect call is the call being measured,
 * with no wrapper function in between (docs/performance.md, "Calling
 * convention of the sync cases"). A failed source_fire aborts the run.
 */
typedef struct bench_sync_target {
  bench_fire_fn fire;
  void *ctx;
  bench_source_fire_fn source_fire;
  wmiev_source *source;
} bench_sync_target;

/*
 * Runs a synchronous case and records, under `name`: ns_per_event and
 * events_per_s (n events, no fire times), lat_sat_* (n/4 events, one in
 * BENCH_SAMPLE_EVERY stamped, back to back) and, when `paced`, lat_paced_*
 * (cfg->paced_samples events, one every cfg->paced_interval_ns). `sink` is
 * the one the case's callback feeds; `fanout` callbacks per event.
 */
void bench_sync(const bench_config *cfg, const char *name, uint32_t payload, uint64_t n,
                const bench_sync_target *target, bench_sink *sink, uint32_t fanout, bool paced);

/* A cross-thread transport: events pushed on producer threads reach `sink` on a consumer thread. */
typedef struct bench_xthread_impl {
  /* Creates the transport for `payload`-byte events and starts its consumer; NULL on failure. */
  void *(*create)(uint32_t payload, bench_sink *sink, int producers);
  /* Producer `producer` (0 or 1) pushes one event; retries (yielding) while the queue is full. */
  void (*push)(void *ctx, int producer, const uint8_t *data, uint32_t size);
  /* Called every millisecond while waiting for the consumer (may be NULL). */
  void (*kick)(void *ctx);
  /* Stops the consumer and frees everything. */
  void (*destroy)(void *ctx);
} bench_xthread_impl;

/*
 * Runs a cross-thread case and records, under `name`: ns_per_event and
 * events_per_s (n events from `producers` threads, back to back, one in
 * BENCH_SAMPLE_EVERY stamped, giving lat_sat_*), and when `paced`,
 * lat_paced_* (one producer, one event every cfg->paced_interval_ns).
 */
void bench_xthread(const bench_config *cfg, const char *name, uint32_t payload, uint64_t n,
                   const bench_xthread_impl *impl, int producers, bool paced);

/*
 * CPU placement. Cross-thread cases run their producers on one CPU and
 * their consumer on another, every baseline and every wmiev case alike:
 * left to the scheduler on a two-CPU machine, producer and consumer were
 * sometimes placed on the same CPU, where a producer fills the whole queue
 * before the consumer runs and drains it from a warm cache; a figure then
 * measured the scheduler's choice, not delivery between threads (the ring
 * baseline took 22 to 80 ns per event run to run; pinned, 75 to 81 ns:
 * docs/performance.md, decisions D24). The main thread, which runs the
 * synchronous cases and the one-producer cross-thread cases, is pinned to
 * the producer CPU at start; threads it creates inherit that, and consumer
 * threads move themselves to the consumer CPU.
 *
 * The paced phase of a cross-thread case runs unpinned (bench_placement):
 * it measures waking an idle consumer, and pinned, that wake-up was an
 * interrupt to a halted virtual CPU whose cost the hypervisor decides (p99
 * ratios between the same two builds went from 0.75 to 1.42 run to run;
 * unpinned, 0.94 to 1.04).
 */
typedef enum bench_cpu { BENCH_CPU_PRODUCER = 0, BENCH_CPU_CONSUMER = 1 } bench_cpu;
/* Chooses the two CPUs (the first two the process may run on) unless
 * `off`, pins the calling thread to the producer CPU, and describes the
 * choice in `what`. Pinning stays off with fewer than two CPUs or where the
 * platform has no per-thread affinity. Call once, first thing in main. */
void bench_pin_setup(bool off, char *what, size_t what_size);
/* Pins the calling thread to `cpu` (nothing when pinning is off; every
 * allowed CPU between bench_placement(false) and bench_placement(true)). */
void bench_pin(bench_cpu cpu);
/* Pinned (true, the default) or free placement from now on, for the
 * calling thread (a producer) and consumers started after the call. */
void bench_placement(bool pinned);

/* A libuv loop on its own thread. Handles are added before bench_loop_start(). */
typedef struct bench_loop bench_loop;
bench_loop *bench_loop_create(void);
void *bench_loop_uv(bench_loop *l); /* the uv_loop_t */
void bench_loop_start(bench_loop *l);
/* Runs `on_stop(ctx)` on the loop thread (close your handles there), waits for the
 * loop to end, frees it. */
void bench_loop_stop(bench_loop *l, void (*on_stop)(void *ctx), void *ctx);

/* ---- baselines.c ---------------------------------------------------------------------- */

void base_flag(const bench_config *cfg, uint32_t payload, int rep);
void base_direct(const bench_config *cfg, uint32_t payload, int rep);
void base_ring_uv(const bench_config *cfg, uint32_t payload, int rep);
void base_mutex_cond(const bench_config *cfg, uint32_t payload, int rep);
void base_zmq(const bench_config *cfg, uint32_t payload, int rep);
bool base_have_zmq(void);
const char *base_zmq_version(void);
/* --callgrind: n direct calls. */
void base_direct_callgrind(uint64_t n);

/* ---- cases.c ---------------------------------------------------------------------------- */

void case_sync_write(const bench_config *cfg, uint32_t payload, int rep);
void case_sync_fire(const bench_config *cfg, uint32_t payload, int rep);
void case_pumped_fire(const bench_config *cfg, uint32_t payload, int rep);
void case_pumped_source(const bench_config *cfg, uint32_t payload, int rep);
void case_uv_1p(const bench_config *cfg, uint32_t payload, int rep);
void case_uv_2p(const bench_config *cfg, uint32_t payload, int rep);
void case_disabled(const bench_config *cfg, uint32_t payload, int rep);
void case_sync_source(const bench_config *cfg, uint32_t payload, int rep);
void case_disabled_source(const bench_config *cfg, uint32_t payload, int rep);
void case_disabled_source_1000g(const bench_config *cfg, uint32_t payload, int rep);
void case_sync_source_1000g(const bench_config *cfg, uint32_t payload, int rep);
void case_uv_source_1p(const bench_config *cfg, uint32_t payload, int rep);
void case_uv_source_2p(const bench_config *cfg, uint32_t payload, int rep);
void case_disabled_1000g(const bench_config *cfg, uint32_t payload, int rep);
void case_sync_fire_1000g(const bench_config *cfg, uint32_t payload, int rep);
void case_reference(const bench_config *cfg, uint32_t payload, int rep);
void case_fanout_1(const bench_config *cfg, uint32_t payload, int rep);
void case_fanout_4(const bench_config *cfg, uint32_t payload, int rep);
void case_fanout_16(const bench_config *cfg, uint32_t payload, int rep);
void case_memory(const bench_config *cfg, uint32_t payload, int rep);
/* --callgrind: n synchronous fires of `payload` bytes through `path`: "fire"
 * (fire_event), "write" (alloc_event + write_event), "direct" (baseline a) or "all". */
int case_callgrind(uint64_t n, uint32_t payload, const char *path);

#endif /* WMIEV_BENCH_H */
