/*
 * The consumer side on the real kernel (spec §5.6; docs/windows.md,
 * "Consumers"):
 *
 *   wmiev_bus_subscribe     IoWMIOpenBlock(WMIGUID_NOTIFICATION | SYNCHRONIZE)
 *                           + IoWMISetNotificationCallback(trampoline)
 *   wmiev_bus_unsubscribe   IoWMISetNotificationCallback(no-op) + wait for
 *                           callbacks running + ObDereferenceObject
 *   wmiev_bus_open_block    IoWMIOpenBlock(WMIGUID_QUERY); close: ObDereferenceObject
 *   wmiev_query_*           IoWMIOpenBlock + IoWMIQueryAllData /
 *                           IoWMIQuerySingleInstance into a nonpaged buffer
 *                           that grows on STATUS_BUFFER_TOO_SMALL, then copied
 *   wmiev_set_*, execute    IoWMISetSingleInstance / SetSingleItem / ExecuteMethod
 *
 * All of them at IRQL <= APC_LEVEL, as the routines they call. The query
 * routines require OutBuffer in nonpaged pool; the caller's buffer may be
 * anywhere, hence the pool buffer and the copy.
 *
 * The notification trampoline validates each WNODE with the portable
 * validator and hands the portable callback a wmiev_event, as the portable
 * bus does. What the kernel documents nowhere (spec §5.6): the IRQL and
 * thread of the callback, and how to stop callbacks other than by
 * dereferencing the object. The trampoline therefore never blocks and
 * counts itself in with rundown protection, and unsubscribe replaces the
 * callback with a no-op function (passing NULL is not documented as
 * allowed) and then waits until no trampoline runs for the subscription.
 */
#include "backend.h"
#include "bus/event_view.h"

/* Threads are told apart by PsGetCurrentThreadId: mingw-w64's inline
 * KeGetCurrentThread trips GCC 12's -Warray-bounds (a gs:-relative read).
 * Declared in <ntddk.h>, which mingw-w64 cannot include as <ddk/ntddk.h>;
 * the documented prototype (ntoskrnl.exe, any IRQL). */
NTKERNELAPI HANDLE NTAPI PsGetCurrentThreadId(VOID);

struct active_call {
  struct active_call *next;
  HANDLE thread;
};

struct wmiev_subscription {
  LIST_ENTRY link; /* in bus->subscriptions; self-linked once removed */
  wmiev_bus *bus;
  GUID guid;       /* IoWMIOpenBlock takes a non-const GUID */
  PVOID object;
  wmiev_event_cb callback;
  void *payload;
  EX_RUNDOWN_REF rundown;    /* held by every trampoline call */
  KSPIN_LOCK calls_lock;
  struct active_call *calls; /* trampoline calls in progress, by thread */
  volatile LONG closing;
  HANDLE closer;   /* unsubscribed from inside its own callback on this thread */
  volatile LONGLONG delivered;
};

struct wmiev_block_handle {
  LIST_ENTRY link;
  wmiev_bus *bus;
  GUID guid;
  PVOID object;
};

/* ---- Events ------------------------------------------------------------------------------- */

#define NAME_STACK_BYTES 128u

/* What the accessors of one notification read (ev->internal points here):
 * the validated view of the kernel's WNODE (view->base is the WNODE), and
 * the name once asked. */
typedef struct event_ctx {
  const wmiev_wnode_view *view;
  const char *name; /* NULL until asked */
  char stack[NAME_STACK_BYTES];
  char *heap;
  size_t heap_size; /* (ExFreePool needs no size) */
} event_ctx;

static void *name_alloc(size_t size, void *ctx) {
  (void)ctx;
  return wmiev__win_alloc(size);
}

const char *wmiev_event_name_utf8(const wmiev_event *event) {
  if (event == NULL || event->internal == NULL) {
    return "";
  }
  event_ctx *c = event->internal;
  if (c->name != NULL) {
    return c->name;
  }
  /* Only dynamic names travel in the WNODE; static names live in WMI's own
   * registry, which has no kernel interface to read them back: "". */
  c->name = "";
  if (!event->has_name) {
    return c->name;
  }
  c->name = wmiev__event_name_utf8(event->name_utf16, event->name_units, c->stack,
                                   sizeof c->stack, name_alloc, NULL, &c->heap, &c->heap_size);
  return c->name;
}

/* The kernel hands the consumer a WNODE: it is returned as is. */
const void *wmiev_event_wnode(const wmiev_event *event, uint32_t *size) {
  const event_ctx *c = event != NULL ? event->internal : NULL;
  if (size != NULL) {
    *size = c != NULL ? c->view->buffer_size : 0;
  }
  return c != NULL ? c->view->base : NULL;
}

const wmiev_wnode_view *wmiev_event_view(const wmiev_event *event) {
  const event_ctx *c = event != NULL ? event->internal : NULL;
  return c != NULL ? c->view : NULL;
}

static void calls_push(wmiev_subscription *sub, struct active_call *call) {
  KIRQL old;
  KeAcquireSpinLock(&sub->calls_lock, &old);
  call->next = sub->calls;
  sub->calls = call;
  KeReleaseSpinLock(&sub->calls_lock, old);
}

static void calls_pop(wmiev_subscription *sub, struct active_call *call) {
  KIRQL old;
  KeAcquireSpinLock(&sub->calls_lock, &old);
  struct active_call **at = &sub->calls;
  while (*at != NULL && *at != call) {
    at = &(*at)->next;
  }
  if (*at == call) {
    *at = call->next;
  }
  KeReleaseSpinLock(&sub->calls_lock, old);
}

static bool in_own_callback(wmiev_subscription *sub) {
  HANDLE self = PsGetCurrentThreadId();
  KIRQL old;
  KeAcquireSpinLock(&sub->calls_lock, &old);
  struct active_call *c = sub->calls;
  while (c != NULL && c->thread != self) {
    c = c->next;
  }
  KeReleaseSpinLock(&sub->calls_lock, old);
  return c != NULL;
}

static VOID NTAPI notification_noop(PVOID Wnode, PVOID Context) {
  (void)Wnode;
  (void)Context;
}

static VOID NTAPI notification_trampoline(PVOID Wnode, PVOID Context) {
  wmiev_subscription *sub = Context;
  if (sub == NULL || Wnode == NULL || !ExAcquireRundownProtection(&sub->rundown)) {
    return; /* unsubscribing */
  }
  struct active_call me = {NULL, PsGetCurrentThreadId()};
  calls_push(sub, &me);
  if (sub->closing == 0) {
    const uint8_t *wnode = Wnode;
    const WNODE_HEADER *header = Wnode;
    wmiev_wnode_view view;
    if (WMIEV_SUCCESS(wmiev_wnode_validate(wnode, header->BufferSize, 0, &view, NULL))) {
      event_ctx ctx;
      ctx.view = &view;
      ctx.name = NULL;
      ctx.heap = NULL;
      wmiev_event ev;
      wmiev__event_fill(&ev, wnode, &view);
      ev.internal = &ctx;
      sub->callback(&ev, sub->payload);
      wmiev__win_free(ctx.heap);
      wmiev__win_count(&sub->delivered, 1);
      wmiev__win_count(&sub->bus->counters.delivered, 1);
      wmiev__win_count(&sub->bus->counters.callbacks, 1);
    } else {
      /* Not a WNODE the portable API can describe: not delivered. */
      wmiev__win_count(&sub->bus->counters.rejected, 1);
    }
  }
  calls_pop(sub, &me);
  /* Read before the release: once released, an unsubscribe on another
   * thread may free the subscription. */
  bool finish = sub->closer == me.thread;
  ExReleaseRundownProtection(&sub->rundown);
  if (finish) {
    /* Unsubscribed from inside this very callback: wait for the other
     * callbacks (if any), then free. */
    ExWaitForRundownProtectionRelease(&sub->rundown);
    wmiev__win_free(sub);
  }
}

/* ---- Subscriptions ------------------------------------------------------------------------ */

wmiev_status wmiev_bus_subscribe(wmiev_bus *bus, const GUID *guid, wmiev_event_cb callback,
                                 void *payload, wmiev_subscription **out) {
  if (out != NULL) {
    *out = NULL;
  }
  if (bus == NULL || guid == NULL || callback == NULL || out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__win_irql_ok(APC_LEVEL)) {
    return WMIEV_WIN_STATUS_BAD_IRQL;
  }
  wmiev_subscription *sub = wmiev__win_alloc(sizeof *sub);
  if (sub == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  sub->bus = bus;
  sub->guid = *guid;
  sub->callback = callback;
  sub->payload = payload;
  ExInitializeRundownProtection(&sub->rundown);
  KeInitializeSpinLock(&sub->calls_lock);
  InitializeListHead(&sub->link);
  /* Notification objects must be opened with SYNCHRONIZE too (spec §5.6).
   * WMI sends the providers their ENABLE_EVENTS; its status comes back as is. */
  NTSTATUS status = IoWMIOpenBlock(&sub->guid, WMIGUID_NOTIFICATION | SYNCHRONIZE, &sub->object);
  if (!NT_SUCCESS(status)) {
    wmiev__win_free(sub);
    return status;
  }
  status = IoWMISetNotificationCallback(sub->object, notification_trampoline, sub);
  if (!NT_SUCCESS(status)) {
    ObDereferenceObject(sub->object);
    wmiev__win_free(sub);
    return status;
  }
  KIRQL old;
  KeAcquireSpinLock(&bus->lock, &old);
  InsertTailList(&bus->subscriptions, &sub->link);
  KeReleaseSpinLock(&bus->lock, old);
  *out = sub;
  return WMIEV_STATUS_SUCCESS;
}

static void unlink_entry(wmiev_bus *bus, LIST_ENTRY *link) {
  KIRQL old;
  KeAcquireSpinLock(&bus->lock, &old);
  RemoveEntryList(link);
  InitializeListHead(link); /* a second removal is a no-op */
  KeReleaseSpinLock(&bus->lock, old);
}

wmiev_status wmiev_bus_unsubscribe(wmiev_subscription *sub) {
  if (sub == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__win_irql_ok(APC_LEVEL)) {
    return WMIEV_WIN_STATUS_BAD_IRQL;
  }
  unlink_entry(sub->bus, &sub->link);
  InterlockedExchange(&sub->closing, 1);
  (void)IoWMISetNotificationCallback(sub->object, notification_noop, NULL);
  /* The last consumer's dereference is what makes WMI send DISABLE_EVENTS. */
  ObDereferenceObject(sub->object);
  sub->object = NULL;
  if (in_own_callback(sub)) {
    /* Waiting here would wait for ourselves; the trampoline on this thread
     * finishes the job when the callback returns. */
    sub->closer = PsGetCurrentThreadId();
    return WMIEV_STATUS_SUCCESS;
  }
  ExWaitForRundownProtectionRelease(&sub->rundown);
  wmiev__win_free(sub);
  return WMIEV_STATUS_SUCCESS;
}

void wmiev_subscription_counts(const wmiev_subscription *subscription, uint64_t *delivered,
                               uint64_t *lost) {
  if (delivered != NULL) {
    *delivered = subscription != NULL
                     ? wmiev__win_load((volatile LONGLONG *)&subscription->delivered)
                     : 0;
  }
  if (lost != NULL) {
    *lost = 0; /* WMI does not tell a kernel consumer what it dropped */
  }
}

/* ---- Block handles -------------------------------------------------------------------------- */

wmiev_status wmiev_bus_open_block(wmiev_bus *bus, const GUID *guid, wmiev_block_handle **out) {
  if (out != NULL) {
    *out = NULL;
  }
  if (bus == NULL || guid == NULL || out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__win_irql_ok(APC_LEVEL)) {
    return WMIEV_WIN_STATUS_BAD_IRQL;
  }
  wmiev_block_handle *h = wmiev__win_alloc(sizeof *h);
  if (h == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  h->bus = bus;
  h->guid = *guid;
  InitializeListHead(&h->link);
  /* An open data block is what WMI counts for ENABLE/DISABLE_COLLECTION. */
  NTSTATUS status = IoWMIOpenBlock(&h->guid, WMIGUID_QUERY, &h->object);
  if (!NT_SUCCESS(status)) {
    wmiev__win_free(h);
    return status;
  }
  KIRQL old;
  KeAcquireSpinLock(&bus->lock, &old);
  InsertTailList(&bus->handles, &h->link);
  KeReleaseSpinLock(&bus->lock, old);
  *out = h;
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_bus_close_block(wmiev_block_handle *handle) {
  if (handle == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__win_irql_ok(APC_LEVEL)) {
    return WMIEV_WIN_STATUS_BAD_IRQL;
  }
  unlink_entry(handle->bus, &handle->link);
  ObDereferenceObject(handle->object);
  wmiev__win_free(handle);
  return WMIEV_STATUS_SUCCESS;
}

/* Pops the first entry of @p list, or NULL. */
static LIST_ENTRY *pop_entry(wmiev_bus *bus, LIST_ENTRY *list) {
  KIRQL old;
  KeAcquireSpinLock(&bus->lock, &old);
  LIST_ENTRY *e = NULL;
  if (!IsListEmpty(list)) {
    e = RemoveHeadList(list);
    InitializeListHead(e);
  }
  KeReleaseSpinLock(&bus->lock, old);
  return e;
}

void wmiev__win_consumer_close_all(wmiev_bus *bus) {
  LIST_ENTRY *e;
  while ((e = pop_entry(bus, &bus->subscriptions)) != NULL) {
    (void)wmiev_bus_unsubscribe(CONTAINING_RECORD(e, wmiev_subscription, link));
  }
  while ((e = pop_entry(bus, &bus->handles)) != NULL) {
    (void)wmiev_bus_close_block(CONTAINING_RECORD(e, wmiev_block_handle, link));
  }
}

/* ---- Queries, sets, methods ------------------------------------------------------------------ */

/* First buffer of a query whose caller gave no size, and how often it may
 * grow: the data can grow between two calls, but not forever. */
#define QUERY_INITIAL_SIZE 1024u
#define QUERY_ATTEMPTS 8

/* Opens @p guid's data block for @p access. */
static wmiev_status open_block(const GUID *guid, ULONG access, PVOID *object, wmiev_diag *diag) {
  GUID copy = *guid;
  NTSTATUS status = IoWMIOpenBlock(&copy, access, object);
  if (!NT_SUCCESS(status)) {
    *object = NULL;
    return wmiev__win_fail(diag, status, "IoWMIOpenBlock");
  }
  return status;
}

/* The UNICODE_STRING the IoWMIXxx routines name an instance with: a pool
 * copy of the portable name (the routines want nonpaged, writable buffers). */
static wmiev_status make_name(const wmiev_instance_ref *instance, UNICODE_STRING *name,
                              wmiev_diag *diag) {
  RtlZeroMemory(name, sizeof *name);
  if (instance == NULL || instance->name == NULL) {
    /* WMI names instances; provider id + index is the in-process registry's. */
    return wmiev_diag_set(diag, WMIEV_STATUS_NOT_SUPPORTED, "instance.name", 0,
                          "on Windows an instance is named by its instance name only");
  }
  wmiev_status status = wmiev__win_string_copy(name, instance->name, instance->name_units);
  if (status == WMIEV_STATUS_NAME_TOO_LONG) {
    return wmiev_diag_set(diag, status, "instance.name", 0,
                          "instance name of %u units does not fit a UNICODE_STRING",
                          (unsigned)instance->name_units);
  }
  return status;
}

typedef NTSTATUS (*query_fn)(PVOID object, PUNICODE_STRING name, ULONG *size, PVOID buffer);

static NTSTATUS query_all_data(PVOID object, PUNICODE_STRING name, ULONG *size, PVOID buffer) {
  (void)name;
  return IoWMIQueryAllData(object, size, buffer);
}

static NTSTATUS query_single_instance(PVOID object, PUNICODE_STRING name, ULONG *size,
                                      PVOID buffer) {
  return IoWMIQuerySingleInstance(object, name, size, buffer);
}

/*
 * Runs @p query into a pool buffer, growing it while the kernel answers
 * STATUS_BUFFER_TOO_SMALL with a larger size, and returns the result with
 * the portable two-call contract on the caller's buffer: the bytes are
 * copied when they fit, else STATUS_BUFFER_TOO_SMALL and the size needed.
 */
static wmiev_status query_grow(const GUID *guid, PUNICODE_STRING name, query_fn query,
                               const char *routine, void *buf, uint32_t *size, wmiev_diag *diag) {
  PVOID object;
  wmiev_status status = open_block(guid, WMIGUID_QUERY, &object, diag);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  const uint32_t given = *size;
  ULONG capacity = given != 0 ? given : QUERY_INITIAL_SIZE;
  ULONG got = 0;
  void *pool = NULL;
  for (int attempt = 0; attempt < QUERY_ATTEMPTS; attempt++) {
    pool = wmiev__win_alloc(capacity);
    if (pool == NULL) {
      status = WMIEV_STATUS_INSUFFICIENT_RESOURCES;
      break;
    }
    got = capacity;
    status = query(object, name, &got, pool);
    if (status != STATUS_BUFFER_TOO_SMALL || got <= capacity) {
      break;
    }
    wmiev__win_free(pool);
    pool = NULL;
    capacity = got;
  }
  ObDereferenceObject(object);
  if (WMIEV_SUCCESS(status)) {
    if (got > given) {
      status = WMIEV_STATUS_BUFFER_TOO_SMALL; /* the caller's buffer is the smaller one */
    } else {
      RtlCopyMemory(buf, pool, got);
    }
  }
  if (WMIEV_SUCCESS(status) || status == WMIEV_STATUS_BUFFER_TOO_SMALL) {
    *size = got;
  }
  wmiev__win_free(pool);
  if (status == WMIEV_STATUS_BUFFER_TOO_SMALL) {
    return wmiev_diag_set(diag, status, "size", 0, "%s: %u bytes needed, %u given", routine,
                          (unsigned)got, (unsigned)given);
  }
  if (!WMIEV_SUCCESS(status)) {
    return wmiev__win_fail(diag, status, routine);
  }
  return status;
}

static bool query_args_ok(wmiev_registry *registry, const GUID *guid, const void *buf,
                          const uint32_t *size) {
  return registry != NULL && guid != NULL && size != NULL && (*size == 0 || buf != NULL);
}

wmiev_status wmiev_query_all_data(wmiev_registry *registry, const GUID *guid, void *buf,
                                  uint32_t *size, wmiev_diag *diag) {
  if (!query_args_ok(registry, guid, buf, size)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "buf", 0, "bad arguments");
  }
  if (!wmiev__win_irql_ok(APC_LEVEL)) {
    return wmiev_diag_set(diag, WMIEV_WIN_STATUS_BAD_IRQL, "IoWMIQueryAllData", 0,
                          "IoWMIQueryAllData needs IRQL <= APC_LEVEL");
  }
  return query_grow(guid, NULL, query_all_data, "IoWMIQueryAllData", buf, size, diag);
}

wmiev_status wmiev_query_single_instance(wmiev_registry *registry, const GUID *guid,
                                         const wmiev_instance_ref *instance, void *buf,
                                         uint32_t *size, wmiev_diag *diag) {
  if (!query_args_ok(registry, guid, buf, size)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "buf", 0, "bad arguments");
  }
  if (!wmiev__win_irql_ok(APC_LEVEL)) {
    return wmiev_diag_set(diag, WMIEV_WIN_STATUS_BAD_IRQL, "IoWMIQuerySingleInstance", 0,
                          "IoWMIQuerySingleInstance needs IRQL <= APC_LEVEL");
  }
  UNICODE_STRING name;
  wmiev_status status = make_name(instance, &name, diag);
  if (WMIEV_SUCCESS(status)) {
    status = query_grow(guid, &name, query_single_instance, "IoWMIQuerySingleInstance", buf, size,
                        diag);
  }
  wmiev__win_free(name.Buffer);
  return status;
}

/* Opens @p guid for WMIGUID_SET and sets one instance (item_id < 0) or item. */
static wmiev_status set_common(wmiev_registry *registry, const GUID *guid,
                               const wmiev_instance_ref *instance, int64_t item_id,
                               const void *data, uint32_t data_size, wmiev_diag *diag) {
  const char *routine = item_id < 0 ? "IoWMISetSingleInstance" : "IoWMISetSingleItem";
  if (registry == NULL || guid == NULL || (data_size != 0 && data == NULL)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "data", 0, "bad arguments");
  }
  if (!wmiev__win_irql_ok(APC_LEVEL)) {
    return wmiev_diag_set(diag, WMIEV_WIN_STATUS_BAD_IRQL, routine, 0,
                          "%s needs IRQL <= APC_LEVEL", routine);
  }
  UNICODE_STRING name;
  wmiev_status status = make_name(instance, &name, diag);
  void *value = NULL;
  if (WMIEV_SUCCESS(status) && data_size != 0) {
    value = wmiev__win_alloc(data_size);
    if (value == NULL) {
      status = WMIEV_STATUS_INSUFFICIENT_RESOURCES;
    } else {
      RtlCopyMemory(value, data, data_size);
    }
  }
  PVOID object = NULL;
  if (WMIEV_SUCCESS(status)) {
    status = open_block(guid, WMIGUID_SET, &object, diag);
  }
  if (WMIEV_SUCCESS(status)) {
    /* Version must be 0 (spec §5.6). */
    status = item_id < 0
                 ? IoWMISetSingleInstance(object, &name, 0, data_size, value)
                 : IoWMISetSingleItem(object, &name, (ULONG)item_id, 0, data_size, value);
    ObDereferenceObject(object);
    if (!WMIEV_SUCCESS(status)) {
      status = wmiev__win_fail(diag, status, routine);
    }
  }
  wmiev__win_free(value);
  wmiev__win_free(name.Buffer);
  return status;
}

wmiev_status wmiev_set_single_instance(wmiev_registry *registry, const GUID *guid,
                                       const wmiev_instance_ref *instance, const void *data,
                                       uint32_t data_size, wmiev_diag *diag) {
  return set_common(registry, guid, instance, -1, data, data_size, diag);
}

wmiev_status wmiev_set_single_item(wmiev_registry *registry, const GUID *guid,
                                   const wmiev_instance_ref *instance, uint32_t item_id,
                                   const void *data, uint32_t data_size, wmiev_diag *diag) {
  return set_common(registry, guid, instance, (int64_t)item_id, data, data_size, diag);
}

wmiev_status wmiev_execute_method(wmiev_registry *registry, const GUID *guid,
                                  const wmiev_instance_ref *instance, uint32_t method_id,
                                  const void *in, uint32_t in_size, void *out,
                                  uint32_t *out_size, wmiev_diag *diag) {
  if (registry == NULL || guid == NULL || out_size == NULL || (in_size != 0 && in == NULL) ||
      (*out_size != 0 && out == NULL)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "out", 0, "bad arguments");
  }
  if (!wmiev__win_irql_ok(APC_LEVEL)) {
    return wmiev_diag_set(diag, WMIEV_WIN_STATUS_BAD_IRQL, "IoWMIExecuteMethod", 0,
                          "IoWMIExecuteMethod needs IRQL <= APC_LEVEL");
  }
  UNICODE_STRING name;
  wmiev_status status = make_name(instance, &name, diag);
  /* One in/out buffer, as large as the larger of input and output. A method
   * has side effects: it is never re-run to grow the buffer. */
  ULONG capacity = in_size > *out_size ? in_size : *out_size;
  uint8_t *buffer = NULL;
  if (WMIEV_SUCCESS(status)) {
    buffer = wmiev__win_alloc(capacity != 0 ? capacity : 1);
    if (buffer == NULL) {
      status = WMIEV_STATUS_INSUFFICIENT_RESOURCES;
    } else if (in_size != 0) {
      RtlCopyMemory(buffer, in, in_size);
    }
  }
  PVOID object = NULL;
  if (WMIEV_SUCCESS(status)) {
    status = open_block(guid, WMIGUID_EXECUTE, &object, diag);
  }
  if (WMIEV_SUCCESS(status)) {
    ULONG got = capacity;
    status = IoWMIExecuteMethod(object, &name, method_id, in_size, &got, buffer);
    ObDereferenceObject(object);
    if (WMIEV_SUCCESS(status) && got > *out_size) {
      status = WMIEV_STATUS_BUFFER_TOO_SMALL; /* input was larger than the output room */
    } else if (WMIEV_SUCCESS(status) && got != 0) {
      RtlCopyMemory(out, buffer, got);
    }
    if (WMIEV_SUCCESS(status) || status == WMIEV_STATUS_BUFFER_TOO_SMALL) {
      *out_size = got;
    }
    if (!WMIEV_SUCCESS(status)) {
      status = wmiev__win_fail(diag, status, "IoWMIExecuteMethod");
    }
  }
  wmiev__win_free(buffer);
  wmiev__win_free(name.Buffer);
  return status;
}

wmiev_status wmiev_send_function_control(wmiev_device *device, const GUID *guid, uint8_t minor,
                                         wmiev_diag *diag) {
  (void)device;
  (void)guid;
  (void)minor;
  /* WMI sends ENABLE/DISABLE itself, as consumers come and go. */
  return wmiev_diag_set(diag, WMIEV_STATUS_NOT_SUPPORTED, "minor", 0,
                        "on Windows WMI sends function-control requests itself");
}
