/*
 * The baselines, written here so that they run in the same program, on the
 * same machine, in the same run as wmiev:
 *   (0) base.flag        a relaxed atomic flag check behind a non-inlined call
 *                        (what a driver's own "events enabled?" test costs)
 *   (a) base.direct      memcpy into a preallocated buffer, then a call through
 *                        a function pointer: the limit of synchronous delivery
 *   (b) base.ring_uv     a hand-written single-producer ring + uv_async_send()
 *                        into a libuv loop thread: the limit of cross-thread delivery
 *   (c) base.mutex_cond  a bounded queue under a mutex + condition variable,
 *                        one event per lock: what a naive bus does
 *   (d) base.zmq_inproc  ZeroMQ inproc PUB/SUB, the 16-byte GUID as topic
 *                        prefix: what a user might pick instead
 * Every consumer ends in bench_sink_event(), like wmiev's subscriber callbacks.
 */
#include <pthread.h>
#include <stdlib.h>

#include <uv.h>

#ifdef WMIEV_BENCH_HAVE_ZMQ
#include <errno.h>
#include <zmq.h>
#endif

#include "bench.h"

/* ---- (0) flag check ----------------------------------------------------------------------- */

typedef struct flag_target {
  atomic_bool enabled; /* nobody listens: stays false */
  uint8_t *buf;
  bench_sink *sink;
} flag_target;

static BENCH_NOINLINE void flag_fire(void *ctx, const uint8_t *data, uint32_t size) {
  flag_target *t = ctx;
  if (atomic_load_explicit(&t->enabled, memory_order_relaxed)) {
    memcpy(t->buf, data, size);
    bench_sink_event(t->sink, t->buf, size);
  }
}

void base_flag(const bench_config *cfg, uint32_t payload, int rep) {
  (void)rep;
  flag_target t;
  atomic_init(&t.enabled, false);
  bench_sink sink;
  t.buf = malloc(payload);
  t.sink = &sink;
  /* Nothing is delivered: the sink expects no callbacks (fanout 0). */
  bench_sync_target target = {flag_fire, &t, NULL, NULL};
  bench_sync(cfg, "base.flag", payload, bench_events(cfg, 64, 20000000), &target, &sink, 0, false);
  free(t.buf);
}

/* ---- (a) direct call --------------------------------------------------------------------------
 */

typedef struct direct_target {
  uint8_t *buf; /* preallocated */
  void (*callback)(void *ctx, const void *data, size_t size);
  void *callback_ctx;
} direct_target;

static BENCH_NOINLINE void direct_callback(void *ctx, const void *data, size_t size) {
  bench_sink_event(ctx, data, size);
}

static BENCH_NOINLINE void direct_fire(void *ctx, const uint8_t *data, uint32_t size) {
  direct_target *t = ctx;
  memcpy(t->buf, data, size);
  t->callback(t->callback_ctx, t->buf, size);
}

void base_direct(const bench_config *cfg, uint32_t payload, int rep) {
  (void)rep;
  bench_sink sink;
  direct_target t = {malloc(payload), direct_callback, &sink};
  bench_sync_target target = {direct_fire, &t, NULL, NULL};
  bench_sync(cfg, "base.direct", payload, bench_events(cfg, payload, 10000000), &target, &sink, 1,
             true);
  free(t.buf);
}

/* For --callgrind: the same call, n times. */
void base_direct_callgrind(uint64_t n) {
  bench_sink sink;
  uint8_t data[64];
  bench_payload_init(data, sizeof data);
  direct_target t = {malloc(sizeof data), direct_callback, &sink};
  bench_sink_reset(&sink, n, NULL);
  for (uint64_t i = 0; i < n; i++) {
    BENCH_BARRIER();
    direct_fire(&t, data, sizeof data);
  }
  free(t.buf);
}

/* ---- (b) single-producer ring + uv_async_send
 * ---------------------------------------------------- */

typedef struct ring_ctx {
  _Alignas(64) _Atomic size_t tail; /* written by the producer */
  _Alignas(64) _Atomic size_t head; /* written by the consumer */
  _Alignas(64) size_t head_seen;    /* the producer's copy of head */
  uint8_t *slots;
  size_t stride;   /* 8-byte size word + payload, rounded to 8 */
  size_t capacity; /* a power of two */
  uv_async_t async;
  bench_loop *loop;
  bench_sink *sink;
} ring_ctx;

static void ring_drain(uv_async_t *h) {
  ring_ctx *r = h->data;
  size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  while (head != tail) {
    const uint8_t *slot = r->slots + (head & (r->capacity - 1)) * r->stride;
    uint32_t size;
    memcpy(&size, slot, sizeof size);
    bench_sink_event(r->sink, slot + 8, size);
    head++;
    atomic_store_explicit(&r->head, head, memory_order_release);
    if (head == tail) {
      tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    }
  }
}

static void *ring_create(uint32_t payload, bench_sink *sink, int producers) {
  if (producers != 1) {
    return NULL; /* single producer by design */
  }
  ring_ctx *r = aligned_alloc(64, sizeof *r);
  if (r == NULL) {
    return NULL;
  }
  memset(r, 0, sizeof *r);
  r->capacity = BENCH_QUEUE_EVENTS;
  r->stride = (8u + payload + 7u) & ~(size_t)7u;
  r->slots = malloc(r->capacity * r->stride);
  r->sink = sink;
  r->loop = bench_loop_create();
  if (r->slots == NULL || r->loop == NULL ||
      uv_async_init(bench_loop_uv(r->loop), &r->async, ring_drain) != 0) {
    abort();
  }
  r->async.data = r;
  bench_loop_start(r->loop);
  return r;
}

static void ring_push(void *ctx, int producer, const uint8_t *data, uint32_t size) {
  (void)producer;
  ring_ctx *r = ctx;
  size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  while (tail - r->head_seen == r->capacity) {
    r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail - r->head_seen == r->capacity) {
      bench_yield();
    }
  }
  uint8_t *slot = r->slots + (tail & (r->capacity - 1)) * r->stride;
  memcpy(slot, &size, sizeof size);
  memcpy(slot + 8, data, size);
  atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
  /* uv_async_send() skips the wake-up when one is pending; the fence orders
   * the tail store before its read of the pending flag (else an event could
   * wait for the next push). */
  atomic_thread_fence(memory_order_seq_cst);
  (void)uv_async_send(&r->async);
}

static void ring_kick(void *ctx) {
  ring_ctx *r = ctx;
  (void)uv_async_send(&r->async);
}

static void ring_stop(void *ctx) {
  ring_ctx *r = ctx;
  uv_close((uv_handle_t *)&r->async, NULL);
}

static void ring_destroy(void *ctx) {
  ring_ctx *r = ctx;
  bench_loop_stop(r->loop, ring_stop, r);
  free(r->slots);
  free(r);
}

static const bench_xthread_impl ring_impl = {ring_create, ring_push, ring_kick, ring_destroy};

void base_ring_uv(const bench_config *cfg, uint32_t payload, int rep) {
  (void)rep;
  bench_xthread(cfg, "base.ring_uv", payload, bench_events(cfg, payload, 400000), &ring_impl, 1,
                true);
}

/* ---- (c) mutex + condition variable
 * ---------------------------------------------------------------- */

typedef struct mq_ctx {
  pthread_mutex_t lock;
  pthread_cond_t not_empty, not_full;
  uint8_t *slots;
  size_t stride, capacity, head, count;
  bool stop;
  pthread_t consumer;
  bench_sink *sink;
} mq_ctx;

static void *mq_consumer(void *p) {
  mq_ctx *q = p;
  bench_pin(BENCH_CPU_CONSUMER);
  uint8_t *local = malloc(q->stride);
  if (local == NULL) {
    abort();
  }
  for (;;) {
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->stop) {
      pthread_cond_wait(&q->not_empty, &q->lock);
    }
    if (q->count == 0) {
      pthread_mutex_unlock(&q->lock);
      break;
    }
    /* One event per lock, copied out, delivered outside the lock. */
    memcpy(local, q->slots + q->head * q->stride, q->stride);
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    uint32_t size;
    memcpy(&size, local, sizeof size);
    bench_sink_event(q->sink, local + 8, size);
  }
  free(local);
  return NULL;
}

static void *mq_create(uint32_t payload, bench_sink *sink, int producers) {
  (void)producers;
  mq_ctx *q = calloc(1, sizeof *q);
  if (q == NULL) {
    return NULL;
  }
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  pthread_cond_init(&q->not_full, NULL);
  q->capacity = BENCH_QUEUE_EVENTS;
  q->stride = (8u + payload + 7u) & ~(size_t)7u;
  q->slots = malloc(q->capacity * q->stride);
  q->sink = sink;
  if (q->slots == NULL || pthread_create(&q->consumer, NULL, mq_consumer, q) != 0) {
    abort();
  }
  return q;
}

static void mq_push(void *ctx, int producer, const uint8_t *data, uint32_t size) {
  (void)producer;
  mq_ctx *q = ctx;
  pthread_mutex_lock(&q->lock);
  while (q->count == q->capacity) {
    pthread_cond_wait(&q->not_full, &q->lock);
  }
  uint8_t *slot = q->slots + ((q->head + q->count) % q->capacity) * q->stride;
  memcpy(slot, &size, sizeof size);
  memcpy(slot + 8, data, size);
  q->count++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->lock);
}

static void mq_destroy(void *ctx) {
  mq_ctx *q = ctx;
  pthread_mutex_lock(&q->lock);
  q->stop = true;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->lock);
  pthread_join(q->consumer, NULL);
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->not_empty);
  pthread_mutex_destroy(&q->lock);
  free(q->slots);
  free(q);
}

static const bench_xthread_impl mq_impl = {mq_create, mq_push, NULL, mq_destroy};

void base_mutex_cond(const bench_config *cfg, uint32_t payload, int rep) {
  (void)rep;
  bench_xthread(cfg, "base.mutex_cond", payload, bench_events(cfg, payload, 400000), &mq_impl, 1,
                true);
}

/* ---- (d) ZeroMQ inproc PUB/SUB
 * ------------------------------------------------------------------------- */

/* The topic: a WMI event GUID's 16 bytes (any fixed GUID will do). */
static const uint8_t topic_guid[16] = {0x11, 0x7d, 0x3c, 0x2b, 0x21, 0x8e, 0x0f, 0x4c,
                                       0xa4, 0x6d, 0x10, 0x5e, 0x77, 0x3a, 0x91, 0xc2};

#ifdef WMIEV_BENCH_HAVE_ZMQ

bool base_have_zmq(void) { return true; }

const char *base_zmq_version(void) {
  static char text[32];
  int major, minor, patch;
  zmq_version(&major, &minor, &patch);
  snprintf(text, sizeof text, "%d.%d.%d", major, minor, patch);
  return text;
}

/* The 9th byte of a message (after the topic) tells a probe from an event:
 * PUB/SUB drops what is sent before the subscription has reached the
 * publisher, so probes go out until one arrives. */
#define ZMQ_PROBE_BYTE 0xa5u

typedef struct zmq_ctx_ {
  void *ctx, *pub, *sub;
  pthread_t consumer;
  _Atomic int probe_seen;
  uint8_t *msg; /* the producer's message buffer: topic + payload */
  uint32_t payload;
  bench_sink *sink;
} zmq_bench;

static void *zmq_consumer(void *p) {
  zmq_bench *z = p;
  bench_pin(BENCH_CPU_CONSUMER);
  size_t cap = 16u + z->payload;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) {
    abort();
  }
  while (atomic_load_explicit(&z->sink->count, memory_order_relaxed) < z->sink->target) {
    int got = zmq_recv(z->sub, buf, cap, 0);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      break; /* context terminated */
    }
    if ((size_t)got < 16u + 9u || buf[16 + 8] == ZMQ_PROBE_BYTE) {
      atomic_store(&z->probe_seen, 1);
      continue;
    }
    bench_sink_event(z->sink, buf + 16, (size_t)got - 16u);
  }
  free(buf);
  return NULL;
}

static void *zmq_create(uint32_t payload, bench_sink *sink, int producers) {
  if (producers != 1) {
    return NULL; /* a ZeroMQ socket is not thread-safe: one producer */
  }
  zmq_bench *z = calloc(1, sizeof *z);
  if (z == NULL) {
    return NULL;
  }
  z->payload = payload;
  z->sink = sink;
  z->msg = malloc(16u + payload);
  z->ctx = zmq_ctx_new();
  z->pub = zmq_socket(z->ctx, ZMQ_PUB);
  z->sub = zmq_socket(z->ctx, ZMQ_SUB);
  /* The same number of events in flight as every other queue here, and
   * back-pressure instead of silent drops (XPUB_NODROP also applies to PUB):
   * a full pipe makes zmq_send(ZMQ_DONTWAIT) fail with EAGAIN. */
  int hwm = (int)BENCH_QUEUE_EVENTS / 2;
  int one = 1;
  if (z->msg == NULL || z->pub == NULL || z->sub == NULL ||
      zmq_setsockopt(z->pub, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
      zmq_setsockopt(z->pub, ZMQ_XPUB_NODROP, &one, sizeof one) != 0 ||
      zmq_setsockopt(z->sub, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
      zmq_bind(z->pub, "inproc://wmiev-bench") != 0 ||
      zmq_setsockopt(z->sub, ZMQ_SUBSCRIBE, topic_guid, sizeof topic_guid) != 0 ||
      zmq_connect(z->sub, "inproc://wmiev-bench") != 0) {
    fprintf(stderr, "wmiev-bench: ZeroMQ setup failed: %s\n", zmq_strerror(zmq_errno()));
    abort();
  }
  memcpy(z->msg, topic_guid, sizeof topic_guid);
  if (pthread_create(&z->consumer, NULL, zmq_consumer, z) != 0) {
    abort();
  }
  /* Wait for the subscription to reach the publisher. */
  uint8_t probe[16 + 16];
  memcpy(probe, topic_guid, 16);
  memset(probe + 16, ZMQ_PROBE_BYTE, 16);
  while (atomic_load(&z->probe_seen) == 0) {
    (void)zmq_send(z->pub, probe, sizeof probe, ZMQ_DONTWAIT);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return z;
}

static void zmq_push(void *ctx, int producer, const uint8_t *data, uint32_t size) {
  (void)producer;
  zmq_bench *z = ctx;
  memcpy(z->msg + 16, data, size);
  while (zmq_send(z->pub, z->msg, 16u + size, ZMQ_DONTWAIT) < 0) {
    if (zmq_errno() != EAGAIN && zmq_errno() != EINTR) {
      fprintf(stderr, "wmiev-bench: zmq_send: %s\n", zmq_strerror(zmq_errno()));
      abort();
    }
    bench_yield();
  }
}

static void zmq_destroy(void *ctx) {
  zmq_bench *z = ctx;
  pthread_join(z->consumer, NULL); /* it stops after the last expected event */
  int zero = 0;
  (void)zmq_setsockopt(z->pub, ZMQ_LINGER, &zero, sizeof zero);
  (void)zmq_setsockopt(z->sub, ZMQ_LINGER, &zero, sizeof zero);
  (void)zmq_close(z->sub);
  (void)zmq_close(z->pub);
  (void)zmq_ctx_term(z->ctx);
  free(z->msg);
  free(z);
}

static const bench_xthread_impl zmq_impl = {zmq_create, zmq_push, NULL, zmq_destroy};

void base_zmq(const bench_config *cfg, uint32_t payload, int rep) {
  (void)rep;
  bench_xthread(cfg, "base.zmq_inproc", payload, bench_events(cfg, payload, 200000), &zmq_impl, 1,
                true);
}

#else /* !WMIEV_BENCH_HAVE_ZMQ */

bool base_have_zmq(void) { return false; }
const char *base_zmq_version(void) { return "absent"; }

void base_zmq(const bench_config *cfg, uint32_t payload, int rep) {
  (void)cfg, (void)payload, (void)rep, (void)topic_guid;
}

#endif
