/*
 * libuv delivery (include/wmiev/uv.h): a uv_async_t per attached bus. The
 * bus's wakeup hook, called from a firing thread by the first event after a
 * dispatch ended, does uv_async_send() (thread-safe, and libuv coalesces
 * any number of sends into one callback); the callback on the loop thread
 * drains up to `batch` events with wmiev_bus_dispatch_spin(), which keeps
 * polling an empty queue for `spin_ns` before it gives up (no wakeup per
 * short gap in a stream). A dispatch stopped by the batch with events left
 * calls the hook itself, so the loop sends to itself again and timers and
 * I/O get their turn between batches instead of being starved by a busy
 * producer.
 *
 * This is the only .c file that includes <uv.h>. The attachment is allocated
 * with the bus's allocator (through wmiev_bus_alloc_event), so the tests'
 * failing allocator reaches it, and it is freed in the libuv close callback,
 * before on_closed runs; the bus must outlive that (uv.h).
 *
 * The hook's context is the attachment itself: wmiev_bus_set_wakeup()
 * returns only when no call of the old hook is still running, so after it
 * the attachment may be closed and freed.
 */
/* <uv.h> uses POSIX types (pthread_rwlock_t, ...) that strict C11 hides. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdlib.h>
#include <string.h>

#include <wmiev/uv.h>

#include "platform/platform.h" /* wmiev__platform_acquire: fault injection */

#define DEFAULT_BATCH 256u

/* Serialises attach and detach, so two loops racing to attach one bus cannot
 * both succeed. Never held while a hook runs or while waiting for one. */
static uv_once_t attach_once = UV_ONCE_INIT;
static uv_mutex_t attach_lock;
static int attach_lock_error;

static void init_attach_lock(void) { attach_lock_error = uv_mutex_init(&attach_lock); }

struct wmiev_uv {
  uv_async_t async; /* async.data points back here */
  wmiev_bus *bus;
  size_t batch;
  uint32_t spin_ns;
  void (*on_closed)(void *ctx);
  void *closed_ctx;
};

/* The bus's wakeup hook: any thread, no bus lock held. */
static void wake(void *ctx) {
  wmiev_uv *a = ctx;
  (void)uv_async_send(&a->async);
}

static void on_async(uv_async_t *handle) {
  wmiev_uv *a = handle->data;
  /* Events left over the batch get another turn on the next iteration:
   * a dispatch stopped by its budget calls the hook (wake(), above) itself,
   * and one that ran out of events has marked the consumer idle, so the
   * next event calls it (decisions D23). */
  (void)wmiev_bus_dispatch_spin(a->bus, a->batch, a->spin_ns);
}

static void on_async_closed(uv_handle_t *handle) {
  wmiev_uv *a = handle->data;
  void (*on_closed)(void *) = a->on_closed;
  void *ctx = a->closed_ctx;
  wmiev_bus_free_event(a->bus, a);
  /* Last, so that on_closed may destroy the bus and even the loop's owner. */
  if (on_closed != NULL) {
    on_closed(ctx);
  }
}

wmiev_status wmiev_uv_attach(wmiev_bus *bus, uv_loop_t *loop, const wmiev_uv_options *options,
                             wmiev_uv **out) {
  if (out != NULL) {
    *out = NULL;
  }
  if (bus == NULL || loop == NULL || out == NULL ||
      wmiev_bus_delivery(bus) != WMIEV_DELIVERY_LIBUV) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  uv_once(&attach_once, init_attach_lock);
  if (attach_lock_error != 0) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  wmiev_uv *a = wmiev_bus_alloc_event(bus, sizeof *a); /* zeroed */
  if (a == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  a->bus = bus;
  a->batch = options != NULL && options->batch != 0 ? options->batch : DEFAULT_BATCH;
  a->spin_ns = options != NULL ? options->spin_ns : 0;

  uv_mutex_lock(&attach_lock);
  wmiev_status status = WMIEV_STATUS_SUCCESS;
  if (wmiev_bus_has_wakeup(bus)) {
    status = WMIEV_STATUS_INVALID_PARAMETER;
  } else if (!wmiev__platform_acquire() || uv_async_init(loop, &a->async, on_async) != 0) {
    /* Only fails when the loop cannot get its wakeup descriptor (EMFILE...). */
    status = WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  if (!WMIEV_SUCCESS(status)) {
    uv_mutex_unlock(&attach_lock);
    wmiev_bus_free_event(bus, a);
    return status;
  }
  a->async.data = a;
  /* Events already queued make the bus call the new hook at once. */
  wmiev_bus_set_wakeup(bus, wake, a);
  uv_mutex_unlock(&attach_lock);
  *out = a;
  return WMIEV_STATUS_SUCCESS;
}

void wmiev_uv_detach(wmiev_uv *a, void (*on_closed)(void *ctx), void *ctx) {
  if (a == NULL) {
    return;
  }
  uv_mutex_lock(&attach_lock);
  /* Returns once no producer is inside wake() with this attachment. */
  wmiev_bus_set_wakeup(a->bus, NULL, NULL);
  uv_mutex_unlock(&attach_lock);
  a->on_closed = on_closed;
  a->closed_ctx = ctx;
  uv_close((uv_handle_t *)&a->async, on_async_closed);
}
