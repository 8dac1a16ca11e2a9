/*
 * WMI IRPs between the core and a WDK device stack.
 *
 * The registry sends a core IRP to the core device of a registered
 * DEVICE_OBJECT; its dispatch routine (wmiev__wmi_dispatch) turns it into a
 * WDK IRP and calls the top of the device's stack, exactly as WMI does on
 * Windows: MajorFunction IRP_MJ_SYSTEM_CONTROL, the minor, and
 * Parameters.WMI with ProviderId = the registered DEVICE_OBJECT, DataPath,
 * BufferSize and Buffer = the core IRP's own buffer (no copy: the reply the
 * driver writes is the reply). Drivers forward it, complete it or pend it;
 * the host's bus driver at the bottom completes what nobody handled.
 *
 * Completion runs the other way, through IoCompleteRequest, so that upper
 * drivers' completion routines see every WMI IRP:
 *  - a driver that completes the WDK IRP itself (IoCompleteRequest): at its
 *    final completion our hook completes the core IRP with the WDK IRP's
 *    IoStatus;
 *  - WmiCompleteRequest: the core's wmilib builds the reply on the core IRP
 *    and completes it; our completer on the core IRP turns that into
 *    IoCompleteRequest of the WDK IRP, whose final completion completes the
 *    core IRP as above.
 * A dispatch that returns STATUS_PENDING pends the core IRP too. One that
 * returns anything else without completing the IRP broke SDV's
 * WmiComplete/WmiForward: the core reports it (WMI_NOT_COMPLETED) and takes
 * the core IRP back; we free the WDK IRP, which nobody will complete.
 *
 * A link pairs the two IRPs while the WDK IRP is out. WmiSystemControl and
 * WmiCompleteRequest find it by the WDK IRP (a small hash table). It is
 * reference counted: the dispatch routine, the final completion, and every
 * lookup hold one.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "../core/irp_completer.h"
#include "wmi_internal.h"

struct wmiev__wmi_link {
  PIRP irp;
  wmiev_irp *core_irp;
  wmiev_device *core_device;
  struct wmiev__wmi_link *next; /* hash chain */
  /* Under g_lock: */
  unsigned refs;
  bool linked;        /* in the table */
  bool final;         /* the WDK IRP reached final completion (and is gone) */
  bool orphaned;      /* the dispatch gave up on it: the final hook must not complete */
  bool completer_ran; /* the core asked for completion through us */
  CCHAR boost;
};

#define BUCKETS 64u

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static wmiev__wmi_link *g_table[BUCKETS];

static size_t bucket_of(PIRP irp) {
  uintptr_t p = (uintptr_t)irp;
  return (size_t)((p >> 4) ^ (p >> 11)) % BUCKETS;
}

/* Lock held. */
static void unlink_locked(wmiev__wmi_link *link) {
  if (!link->linked) {
    return;
  }
  wmiev__wmi_link **at = &g_table[bucket_of(link->irp)];
  while (*at != link) {
    at = &(*at)->next;
  }
  *at = link->next;
  link->linked = false;
}

static void release_n(wmiev__wmi_link *link, unsigned n) {
  pthread_mutex_lock(&g_lock);
  link->refs -= n;
  bool last = link->refs == 0;
  pthread_mutex_unlock(&g_lock);
  if (last) {
    wmiev__host_free(link, sizeof *link);
  }
}

wmiev__wmi_link *wmiev__wmi_link_find(PIRP irp) {
  if (irp == NULL) {
    return NULL;
  }
  pthread_mutex_lock(&g_lock);
  wmiev__wmi_link *link = g_table[bucket_of(irp)];
  while (link != NULL && link->irp != irp) {
    link = link->next;
  }
  if (link != NULL) {
    link->refs++;
  }
  pthread_mutex_unlock(&g_lock);
  return link;
}

void wmiev__wmi_link_release(wmiev__wmi_link *link) {
  if (link != NULL) {
    release_n(link, 1);
  }
}

wmiev_irp *wmiev__wmi_link_core_irp(const wmiev__wmi_link *link) { return link->core_irp; }

wmiev_device *wmiev__wmi_link_core_device(const wmiev__wmi_link *link) { return link->core_device; }

void wmiev__wmi_link_set_boost(wmiev__wmi_link *link, CCHAR boost) {
  pthread_mutex_lock(&g_lock);
  link->boost = boost;
  pthread_mutex_unlock(&g_lock);
}

/* ---- Completion ------------------------------------------------------------------------ */

/* The WDK IRP's completion reached the end (the host frees it after this). */
static void on_final_completion(PIRP irp, void *ctx) {
  wmiev__wmi_link *link = ctx;
  pthread_mutex_lock(&g_lock);
  unlink_locked(link);
  link->final = true;
  bool orphaned = link->orphaned;
  wmiev_irp *core_irp = link->core_irp;
  pthread_mutex_unlock(&g_lock);
  if (!orphaned) {
    /* May wake the sender, which then frees the core IRP: not touched again. */
    (void)wmiev__irp_complete_now(core_irp, irp->IoStatus.Status, irp->IoStatus.Information);
  }
  release_n(link, 1);
}

/* The core completes the core IRP (wmilib's reply is built): complete the
 * WDK IRP instead, and let its final completion come back to the core. */
static void on_core_complete(wmiev_irp *core_irp, wmiev_status status, uintptr_t information,
                             void *ctx) {
  (void)core_irp;
  wmiev__wmi_link *link = ctx;
  pthread_mutex_lock(&g_lock);
  link->completer_ran = true;
  CCHAR boost = link->boost;
  PIRP irp = link->irp;
  pthread_mutex_unlock(&g_lock);
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = information;
  IoCompleteRequest(irp, boost);
}

/* ---- Dispatch ---------------------------------------------------------------------------- */

wmiev_status wmiev__wmi_dispatch(wmiev_device *core, wmiev_irp *core_irp, void *payload) {
  (void)payload;
  PDEVICE_OBJECT device = wmiev__wmi_device_object(core);
  if (device == NULL || !wmiev__device_is_live(device)) {
    return wmiev_irp_complete(core_irp, WMIEV_STATUS_DEVICE_DOES_NOT_EXIST, 0);
  }
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(device);
  PIRP irp = wmiev__irp_allocate(top->StackSize);
  wmiev__wmi_link *link = wmiev__host_alloc(sizeof *link);
  if (irp == NULL || link == NULL) {
    if (irp != NULL) {
      wmiev__irp_free(irp);
    }
    wmiev__host_free(link, sizeof *link);
    ObDereferenceObject(top);
    return wmiev_irp_complete(core_irp, WMIEV_STATUS_INSUFFICIENT_RESOURCES, 0);
  }
  /* What WMI puts in the stack location of the top driver (spec §4.1). */
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(irp);
  next->MajorFunction = IRP_MJ_SYSTEM_CONTROL;
  next->MinorFunction = core_irp->MinorFunction;
  next->Parameters.WMI.ProviderId = (ULONG_PTR)device;
  next->Parameters.WMI.DataPath = core_irp->Wmi.DataPath;
  next->Parameters.WMI.BufferSize = core_irp->Wmi.BufferSize;
  next->Parameters.WMI.Buffer = core_irp->Wmi.Buffer;
  irp->IoStatus.Status = core_irp->IoStatus.Status;
  irp->IoStatus.Information = core_irp->IoStatus.Information;

  link->irp = irp;
  link->core_irp = core_irp;
  link->core_device = core;
  link->refs = 2; /* this dispatch + the final completion */
  link->boost = IO_NO_INCREMENT;
  pthread_mutex_lock(&g_lock);
  size_t b = bucket_of(irp);
  link->next = g_table[b];
  g_table[b] = link;
  link->linked = true;
  pthread_mutex_unlock(&g_lock);
  wmiev__irp_on_final_completion(irp, on_final_completion, link);
  wmiev__irp_set_completer(core_irp, on_core_complete, link);

  /* WMI IRPs reach drivers at PASSIVE_LEVEL (spec §4.1), whatever the IRQL
   * of the consumer whose request this is (queries are allowed up to
   * APC_LEVEL; a request from higher was reported already). */
  KIRQL entry = KeGetCurrentIrql();
  if (entry > PASSIVE_LEVEL) {
    KeLowerIrql(PASSIVE_LEVEL);
  }
  NTSTATUS status = IoCallDriver(top, irp);
  if (entry > PASSIVE_LEVEL) {
    KIRQL ignored;
    KeRaiseIrql(entry, &ignored);
  }
  ObDereferenceObject(top);

  pthread_mutex_lock(&g_lock);
  bool final = link->final;
  bool completer_ran = link->completer_ran;
  if (status != STATUS_PENDING && !final) {
    link->orphaned = true;
    unlink_locked(link);
  }
  pthread_mutex_unlock(&g_lock);
  if (status == STATUS_PENDING) {
    /* Completed later, from any thread: the core waits for it. If it already
     * was (another thread was quick), marking it is harmless. */
    wmiev_irp_mark_pending(core_irp);
    release_n(link, 1);
    return WMIEV_STATUS_PENDING;
  }
  if (!final) {
    /* Returned without completing, forwarding to completion, or pending.
     * Nobody will complete this WDK IRP: free it (wmiev_host_flush waits for
     * host IRPs). If its completion had begun (a completion routine stopped
     * it with STATUS_MORE_PROCESSING_REQUIRED and nobody finished it), the
     * core waits for the end of that completion: end it here, and say why. */
    wmiev__irp_free(irp);
    if (completer_ran) {
      wmiev__host_violation(WMIEV_HOST_RULE_WMI_NOT_COMPLETED,
                            "WMI IRP (minor 0x%02x) to device object %p: its completion was "
                            "stopped (STATUS_MORE_PROCESSING_REQUIRED) and the dispatch routine "
                            "returned %s without finishing it or returning STATUS_PENDING",
                            (unsigned)core_irp->MinorFunction, (void *)device,
                            wmiev_status_name(status));
      (void)wmiev__irp_complete_now(core_irp, WMIEV_STATUS_DRIVER_INTERNAL_ERROR, 0);
    }
    /* Otherwise the core sees a dispatch that returned without completing
     * and reports it (WMIEV_VIOLATION_NOT_COMPLETED → WMI_NOT_COMPLETED). */
    release_n(link, 2);
    return status;
  }
  release_n(link, 1);
  return status;
}
