/*
 * Completion of a core IRP through a layer above the core (irp.c).
 *
 * The WDK face turns every core IRP into a WDK IRP and must see its
 * completion first: WmiCompleteRequest ends in IoCompleteRequest, so that
 * upper drivers' completion routines run, and only the end of that
 * completion completes the core IRP. With a completer set,
 * wmiev_irp_complete() marks the IRP as being completed and calls
 * `fn(irp, status, information, ctx)` outside every lock instead of
 * completing it; `fn`, or whatever it sets in motion on any thread, must end
 * with wmiev__irp_complete_now(), which does what wmiev_irp_complete() does
 * without a completer. While the completer's completion is under way the IRP
 * counts as completed for wmiev_irp_is_completed() and for a second
 * wmiev_irp_complete() (a violation), and its sender waits as for a pended
 * IRP.
 *
 * Only for IRPs the library sent (irp->internal != NULL); set it from the
 * dispatch routine that received the IRP, before anything can complete it.
 *
 * These are exported (default visibility) although internal: lib/wdk is a
 * library of its own that may link a shared libwmiev.
 */
#ifndef WMIEV_CORE_IRP_COMPLETER_H
#define WMIEV_CORE_IRP_COMPLETER_H

#include <wmiev/irp.h>

typedef void (*wmiev__irp_completer_fn)(wmiev_irp *irp, wmiev_status status, uintptr_t information,
                                        void *ctx);

WMIEV_EXTERN void wmiev__irp_set_completer(wmiev_irp *irp, wmiev__irp_completer_fn fn, void *ctx);
WMIEV_EXTERN wmiev_status wmiev__irp_complete_now(wmiev_irp *irp, wmiev_status status,
                                                  uintptr_t information);

#endif /* WMIEV_CORE_IRP_COMPLETER_H */
