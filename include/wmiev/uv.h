/**
 * @file uv.h
 * @brief libuv delivery for a bus created with WMIEV_DELIVERY_LIBUV.
 *
 * Any thread may fire; events wait in the bus's bounded queue and are
 * delivered on the loop's thread, which a uv_async_t wakes (one wake-up for
 * any number of events fired before the loop gets to them). This is the
 * only public header that includes <uv.h>; link with the wmiev::uv target
 * (or `pkg-config wmiev-uv`). <uv.h> needs POSIX types: code compiled as
 * strict ISO C11 must define _POSIX_C_SOURCE (200809L) before including it.
 */
#ifndef WMIEV_UV_H
#define WMIEV_UV_H

#include <uv.h>

#include "bus.h"

WMIEV_BEGIN_DECLS

typedef struct wmiev_uv wmiev_uv;

/** Options of wmiev_uv_attach(). Zero-initialise. */
typedef struct wmiev_uv_options {
  /** Events delivered per loop iteration before yielding to other handles;
   *  0 means 256. */
  uint32_t batch;
  /** How long the loop thread keeps polling an empty queue for more events
   *  before it goes back to the loop, in nanoseconds
   *  (wmiev_bus_dispatch_spin()); 0 (the default) means not at all. Waking
   *  a sleeping loop costs a system call on the firing thread and a context
   *  switch on the loop's, several microseconds in all: a stream whose gaps
   *  are shorter than this is delivered without them, at the price of up to
   *  this much busy time after the last event (decisions D23). */
  uint32_t spin_ns;
} wmiev_uv_options;

/**
 * @brief Attaches @p bus to @p loop. Call on the loop's thread (or before the
 *        loop runs). Events already queued are delivered on the next iteration.
 * @return STATUS_SUCCESS; STATUS_INVALID_PARAMETER if the bus is not in
 *         WMIEV_DELIVERY_LIBUV mode or already attached;
 *         STATUS_INSUFFICIENT_RESOURCES.
 */
WMIEV_EXTERN wmiev_status wmiev_uv_attach(wmiev_bus *bus, uv_loop_t *loop,
                                          const wmiev_uv_options *options, wmiev_uv **out);

/**
 * @brief Detaches: stops delivery and closes the async handle. Call on the
 *        loop's thread. @p on_closed (may be NULL) runs on the loop once the
 *        handle is closed; destroy the bus only after that. Events still
 *        queued stay in the bus (wmiev_bus_dispatch() or destroy counts them).
 */
WMIEV_EXTERN void wmiev_uv_detach(wmiev_uv *attachment, void (*on_closed)(void *ctx), void *ctx);

WMIEV_END_DECLS

#endif /* WMIEV_UV_H */
