/*
 * The drivers every case runs in, so that wmiev and its baselines are timed
 * by the same code: bench_sync() for synchronous delivery, bench_xthread()
 * for delivery to another thread, and a libuv loop thread.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pthread_setaffinity_np, CPU_SET */
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sched.h>
#endif

#include <uv.h>

#include "bench.h"

/* ---- Synchronous ----------------------------------------------------------------------- */

/* One event to the target (bench.h). Inlined into every loop below, for
 * baselines and wmiev alike; the test of `source_fire` is the same,
 * perfectly predicted, branch for both. */
static inline void fire_target(const bench_sync_target *t, const uint8_t *data, uint32_t size) {
  if (t->source_fire != NULL) {
    if (!WMIEV_SUCCESS(t->source_fire(t->source, 0, data, size, NULL))) {
      fprintf(stderr, "wmiev-bench: wmiev_source_fire failed\n");
      abort();
    }
  } else {
    t->fire(t->ctx, data, size);
  }
}

void bench_sync(const bench_config *cfg, const char *name, uint32_t payload, uint64_t n,
                const bench_sync_target *target, bench_sink *sink, uint32_t fanout, bool paced) {
  uint8_t *data = bench_payload_new(payload);

  /* Throughput: no fire times at all. A short warm-up first (caches, branch predictors). */
  bench_sink_reset(sink, UINT64_MAX, NULL);
  for (uint64_t i = 0; i < n / 16 + 1; i++) {
    fire_target(target, data, payload);
  }
  bench_sink_reset(sink, n * fanout, NULL);
  uint64_t start = bench_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    BENCH_BARRIER();
    fire_target(target, data, payload);
  }
  uint64_t elapsed = bench_now_ns() - start;
  if (atomic_load(&sink->count) != n * fanout) {
    fprintf(stderr, "wmiev-bench: %s: %llu callbacks for %llu events\n", name,
            (unsigned long long)atomic_load(&sink->count), (unsigned long long)n);
    abort();
  }
  double ns = (double)elapsed / (double)n;
  bench_record(name, payload, "ns_per_event", ns);
  bench_record(name, payload, "events_per_s", 1e9 / ns);

  /* Saturated latency: back to back, one event in BENCH_SAMPLE_EVERY stamped. */
  uint64_t m = n / 4 + BENCH_SAMPLE_EVERY;
  bench_lat lat;
  bench_lat_init(&lat, (size_t)(m / BENCH_SAMPLE_EVERY + 1) * fanout);
  bench_sink_reset(sink, UINT64_MAX, &lat);
  for (uint64_t i = 0; i < m; i++) {
    BENCH_BARRIER();
    bench_payload_stamp(data, i % BENCH_SAMPLE_EVERY == 0 ? bench_now_ns() : 0);
    fire_target(target, data, payload);
  }
  bench_lat_record(&lat, name, payload, "sat");
  bench_lat_free(&lat);

  if (paced) {
    bench_lat_init(&lat, (size_t)cfg->paced_samples * fanout);
    bench_sink_reset(sink, UINT64_MAX, &lat);
    uint64_t next = bench_now_ns();
    for (uint32_t i = 0; i < cfg->paced_samples; i++) {
      next += cfg->paced_interval_ns;
      bench_pace_until(next);
      bench_payload_stamp(data, bench_now_ns());
      fire_target(target, data, payload);
    }
    bench_lat_record(&lat, name, payload, "paced");
    bench_lat_free(&lat);
  }
  bench_sink_reset(sink, 0, NULL);
  free(data);
}

/* ---- Cross-thread ------------------------------------------------------------------------ */

typedef struct producer_arg {
  const bench_xthread_impl *impl;
  void *ctx;
  int index;
  uint32_t payload;
  uint64_t count;
  _Atomic int *go;
} producer_arg;

static void produce(const bench_xthread_impl *impl, void *ctx, int index, uint32_t payload,
                    uint64_t count) {
  uint8_t *data = bench_payload_new(payload);
  for (uint64_t i = 0; i < count; i++) {
    bench_payload_stamp(data, i % BENCH_SAMPLE_EVERY == 0 ? bench_now_ns() : 0);
    impl->push(ctx, index, data, payload);
  }
  free(data);
}

static void *producer_main(void *p) {
  producer_arg *a = p;
  while (atomic_load(a->go) == 0) {
    bench_yield();
  }
  produce(a->impl, a->ctx, a->index, a->payload, a->count);
  return NULL;
}

void bench_xthread(const bench_config *cfg, const char *name, uint32_t payload, uint64_t n,
                   const bench_xthread_impl *impl, int producers, bool paced) {
  bench_sink sink;
  bench_lat lat;
  bench_lat_init(&lat, (size_t)(n / BENCH_SAMPLE_EVERY) + 16);
  bench_sink_reset(&sink, n, &lat);
  void *ctx = impl->create(payload, &sink, producers);
  if (ctx == NULL) {
    fprintf(stderr, "wmiev-bench: %s: setup failed\n", name);
    abort();
  }
  uint64_t start;
  if (producers == 1) {
    start = bench_now_ns();
    produce(impl, ctx, 0, payload, n);
  } else {
    _Atomic int go = 0;
    pthread_t threads[2];
    producer_arg args[2];
    for (int i = 0; i < 2; i++) {
      args[i] = (producer_arg){impl, ctx, i, payload, n / 2, &go};
      if (pthread_create(&threads[i], NULL, producer_main, &args[i]) != 0) {
        abort();
      }
    }
    start = bench_now_ns();
    atomic_store(&go, 1);
    for (int i = 0; i < 2; i++) {
      pthread_join(threads[i], NULL);
    }
  }
  uint64_t end = bench_sink_wait(&sink, impl->kick, ctx);
  impl->destroy(ctx);
  double ns = (double)(end - start) / (double)n;
  bench_record(name, payload, "ns_per_event", ns);
  bench_record(name, payload, "events_per_s", 1e9 / ns);
  bench_lat_record(&lat, name, payload, "sat");
  bench_lat_free(&lat);

  if (paced) {
    /* Unpinned (bench.h): the wake-up path as the scheduler places it. */
    bench_placement(false);
    bench_lat_init(&lat, cfg->paced_samples);
    bench_sink_reset(&sink, cfg->paced_samples, &lat);
    ctx = impl->create(payload, &sink, 1);
    if (ctx == NULL) {
      abort();
    }
    uint8_t *data = bench_payload_new(payload);
    /* Let the consumer go to sleep first: a paced event finds it idle. */
    uint64_t next = bench_now_ns() + 1000000u;
    for (uint32_t i = 0; i < cfg->paced_samples; i++) {
      bench_pace_until(next);
      next += cfg->paced_interval_ns;
      bench_payload_stamp(data, bench_now_ns());
      impl->push(ctx, 0, data, payload);
    }
    (void)bench_sink_wait(&sink, impl->kick, ctx);
    impl->destroy(ctx);
    free(data);
    bench_lat_record(&lat, name, payload, "paced");
    bench_lat_free(&lat);
    bench_placement(true);
  }
}

/* ---- CPU placement (bench.h) ------------------------------------------------------------ */

static int pin_cpus[2] = {-1, -1}; /* producer, consumer; -1: not pinned */
static bool pin_free;              /* bench_placement(false): every thread on any CPU */
#if defined(__linux__)
static cpu_set_t pin_allowed; /* the CPUs the process may run on */
#endif

void bench_pin_setup(bool off, char *what, size_t what_size) {
  snprintf(what, what_size, "off (asked)");
  if (off) {
    return;
  }
#if defined(__linux__)
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
    snprintf(what, what_size, "off (sched_getaffinity failed)");
    return;
  }
  pin_allowed = allowed;
  int found = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++) {
    if (CPU_ISSET(cpu, &allowed)) {
      pin_cpus[found++] = cpu;
    }
  }
  if (found < 2) {
    pin_cpus[0] = pin_cpus[1] = -1;
    snprintf(what, what_size, "off (one CPU)");
    return;
  }
  cpu_set_t first;
  CPU_ZERO(&first);
  CPU_SET(pin_cpus[0], &first);
  int err = pthread_setaffinity_np(pthread_self(), sizeof first, &first);
  if (err != 0) {
    /* A sandbox may refuse affinity: measure unpinned rather than not at all. */
    pin_cpus[0] = pin_cpus[1] = -1;
    snprintf(what, what_size, "off (pthread_setaffinity_np: %s)", strerror(err));
    return;
  }
  snprintf(what, what_size, "producers=cpu%d consumer=cpu%d", pin_cpus[0], pin_cpus[1]);
#else
  snprintf(what, what_size, "off (no per-thread affinity here)");
#endif
}

void bench_pin(bench_cpu cpu) {
#if defined(__linux__)
  int target = pin_cpus[cpu];
  if (target < 0) {
    return;
  }
  cpu_set_t set;
  if (pin_free) {
    set = pin_allowed;
  } else {
    CPU_ZERO(&set);
    CPU_SET(target, &set);
  }
  int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (err != 0) {
    /* The main thread's pin worked (bench_pin_setup), so this is unexpected;
     * the figures of this run are then partly unpinned, and say so. */
    fprintf(stderr, "wmiev-bench: warning: cannot place a thread (cpu%d): %s\n", target,
            strerror(err));
  }
#else
  (void)cpu;
#endif
}

void bench_placement(bool pinned) {
  pin_free = !pinned;
  bench_pin(BENCH_CPU_PRODUCER);
}

/* ---- A libuv loop thread ------------------------------------------------------------------- */

struct bench_loop {
  uv_loop_t loop;
  uv_async_t stop;
  uv_thread_t thread;
  void (*on_stop)(void *ctx);
  void *ctx;
};

static void on_stop(uv_async_t *h) {
  bench_loop *l = h->data;
  if (l->on_stop != NULL) {
    l->on_stop(l->ctx);
  }
  uv_close((uv_handle_t *)&l->stop, NULL);
}

bench_loop *bench_loop_create(void) {
  bench_loop *l = calloc(1, sizeof *l);
  if (l == NULL || uv_loop_init(&l->loop) != 0) {
    free(l);
    return NULL;
  }
  if (uv_async_init(&l->loop, &l->stop, on_stop) != 0) {
    (void)uv_loop_close(&l->loop);
    free(l);
    return NULL;
  }
  l->stop.data = l;
  return l;
}

void *bench_loop_uv(bench_loop *l) { return &l->loop; }

static void loop_main(void *p) {
  bench_loop *l = p;
  bench_pin(BENCH_CPU_CONSUMER); /* a libuv loop thread is always a consumer */
  (void)uv_run(&l->loop, UV_RUN_DEFAULT);
}

void bench_loop_start(bench_loop *l) {
  if (uv_thread_create(&l->thread, loop_main, l) != 0) {
    abort();
  }
}

void bench_loop_stop(bench_loop *l, void (*stop)(void *ctx), void *ctx) {
  l->on_stop = stop;
  l->ctx = ctx;
  (void)uv_async_send(&l->stop);
  (void)uv_thread_join(&l->thread);
  if (uv_loop_close(&l->loop) != 0) {
    fprintf(stderr, "wmiev-bench: a libuv loop still had handles\n");
    abort();
  }
  free(l);
}
