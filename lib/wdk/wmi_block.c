/*
 * WMI data block objects of the kernel consumer API (spec §5.6):
 * IoWMIOpenBlock, IoWMISetNotificationCallback, and their release through
 * ObDereferenceObject.
 *
 * A block object is a host object of type WMIEV__OBJECT_TYPE_WMI_BLOCK
 * (the host's object layer counts references and calls release_block at the
 * last one). It remembers the GUID and the access granted, and holds at most
 * two things on the host's bus:
 *  - a block handle (wmiev_bus_open_block) when opened for queries, sets or
 *    methods, so EXPENSIVE blocks get ENABLE_COLLECTION at the first such
 *    open and DISABLE_COLLECTION at the last close, as WMI's own handle does;
 *  - a subscription while a notification callback is set, so the first
 *    consumer of an event GUID enables it and the last one (NULL callback or
 *    last dereference) disables it: the bus counts, drivers do not.
 * Replacing a callback swaps it in place (no DISABLE/ENABLE round trip); a
 * callback still running on another thread may finish with the old one.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include <wmiev/guid.h>

#include "wmi_internal.h"

struct wmiev__wmi_block {
  wmiev__object_header header; /* first: the host's object layer reads it */
  GUID guid;
  ULONG access;
  wmiev_block_handle *handle; /* data-block open on the bus, or NULL */
  pthread_mutex_t set_lock;   /* serialises callback changes (subscribe/unsubscribe) */
  wmiev_subscription *sub;    /* under set_lock */
  /* Under g_lock: */
  WMI_NOTIFICATION_CALLBACK callback;
  PVOID context;
  LIST_ENTRY link; /* g_blocks */
};

/* Guards the live list and every block's callback and context. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_ENTRY g_blocks = {&g_blocks, &g_blocks};

#define DATA_ACCESS (WMIGUID_QUERY | WMIGUID_SET | WMIGUID_EXECUTE)

/* ---- Lookup ----------------------------------------------------------------------------- */

wmiev__wmi_block *wmiev__wmi_block_get(PVOID object, const char *routine) {
  wmiev__wmi_block *b = NULL;
  pthread_mutex_lock(&g_lock);
  for (PLIST_ENTRY e = g_blocks.Flink; e != &g_blocks; e = e->Flink) {
    wmiev__wmi_block *candidate = CONTAINING_RECORD(e, wmiev__wmi_block, link);
    if ((PVOID)candidate == object) {
      b = candidate;
      break;
    }
  }
  pthread_mutex_unlock(&g_lock);
  if (b == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT,
                          "%s: %p is not a WMI data block object (from IoWMIOpenBlock and not "
                          "yet released)",
                          routine, object);
  }
  return b;
}

bool wmiev__wmi_block_allows(const wmiev__wmi_block *block, ULONG access) {
  return (block->access & access) == access;
}

const GUID *wmiev__wmi_block_guid(const wmiev__wmi_block *block) { return &block->guid; }

/* ---- Release -------------------------------------------------------------------------------- */

/* Drops what the block holds on the bus (no lock held: DISABLEs go out). */
static void close_on_bus(wmiev__wmi_block *b) {
  pthread_mutex_lock(&b->set_lock);
  wmiev_subscription *sub = b->sub;
  b->sub = NULL;
  pthread_mutex_unlock(&b->set_lock);
  if (sub != NULL) {
    /* After this returns no callback of the block runs (or, from inside its
     * own callback, none runs again once that one returns). */
    (void)wmiev_bus_unsubscribe(sub);
  }
  if (b->handle != NULL) {
    (void)wmiev_bus_close_block(b->handle);
    b->handle = NULL;
  }
}

static void free_block(wmiev__wmi_block *b) {
  pthread_mutex_destroy(&b->set_lock);
  wmiev__host_free(b, sizeof *b);
}

/* The host's object layer: the last ObDereferenceObject. */
static void release_block(void *object) {
  wmiev__wmi_block *b = object;
  pthread_mutex_lock(&g_lock);
  RemoveEntryList(&b->link);
  pthread_mutex_unlock(&g_lock);
  close_on_bus(b);
  free_block(b);
}

/* Host shutdown: blocks nobody closed are leaks; close them before the bus goes. */
static void close_all(void *ctx) {
  (void)ctx;
  for (;;) {
    wmiev__wmi_block *b = NULL;
    pthread_mutex_lock(&g_lock);
    if (!IsListEmpty(&g_blocks)) {
      b = CONTAINING_RECORD(RemoveHeadList(&g_blocks), wmiev__wmi_block, link);
    }
    pthread_mutex_unlock(&g_lock);
    if (b == NULL) {
      break;
    }
    char guid[WMIEV_GUID_STRING_SIZE];
    (void)wmiev_guid_format(&b->guid, guid);
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "WMI data block object %p for %s (IoWMIOpenBlock) was never released "
                          "with ObDereferenceObject",
                          (void *)b, guid);
    close_on_bus(b);
    free_block(b);
  }
}

/* ---- IoWMIOpenBlock ------------------------------------------------------------------------- */

NTSTATUS NTAPI IoWMIOpenBlock(LPCGUID Guid, ULONG DesiredAccess, PVOID *DataBlockObject) {
  (void)wmiev__irql_at_most(APC_LEVEL, "IoWMIOpenBlock");
  if (DataBlockObject != NULL) {
    *DataBlockObject = NULL;
  }
  if (Guid == NULL || DataBlockObject == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__register_object_type(WMIEV__OBJECT_TYPE_WMI_BLOCK, release_block) ||
      !wmiev__host_add_shutdown_hook(close_all, NULL)) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  wmiev__wmi_block *b = wmiev__host_alloc(sizeof *b);
  if (b == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  wmiev__object_init(&b->header, WMIEV__OBJECT_TYPE_WMI_BLOCK, (USHORT)sizeof *b);
  b->guid = *Guid;
  b->access = DesiredAccess;
  pthread_mutex_init(&b->set_lock, NULL);
  /* The GUID need not be registered yet (a consumer may wait for its
   * provider); queries then fail with STATUS_WMI_GUID_NOT_FOUND. */
  if ((DesiredAccess & DATA_ACCESS) != 0) {
    NTSTATUS status = wmiev_bus_open_block(wmiev__host_bus(), Guid, &b->handle);
    if (!NT_SUCCESS(status)) {
      free_block(b);
      return status;
    }
  }
  pthread_mutex_lock(&g_lock);
  InsertHeadList(&g_blocks, &b->link);
  pthread_mutex_unlock(&g_lock);
  *DataBlockObject = b;
  return STATUS_SUCCESS;
}

/* ---- Notifications -------------------------------------------------------------------------- */

/* The bus's subscriber callback: calls the consumer's with the WNODE as fired. */
static void on_event(const wmiev_event *event, void *payload) {
  wmiev__wmi_block *b = payload;
  pthread_mutex_lock(&g_lock);
  WMI_NOTIFICATION_CALLBACK callback = b->callback;
  PVOID context = b->context;
  pthread_mutex_unlock(&g_lock);
  /* `b` is not touched after this: the callback may release the block. */
  if (callback != NULL) {
    /* Valid during the call only; the consumer must not keep or change it.
     * An event the bus never held as a WNODE has it built here (NULL only
     * when a big one finds no memory: the notification is then lost, as
     * WMI loses events when it runs out, and the host says so). */
    const void *wnode = wmiev_event_wnode(event, NULL);
    if (wnode != NULL) {
      callback((PVOID)(uintptr_t)wnode, context);
    } else {
      wmiev__host_violation(WMIEV_HOST_RULE_WMI_WARNING,
                            "notification of a %lu-byte event lost: no memory to build its WNODE",
                            (unsigned long)event->data_size);
    }
  }
}

NTSTATUS NTAPI IoWMISetNotificationCallback(PVOID Object, WMI_NOTIFICATION_CALLBACK Callback,
                                            PVOID Context) {
  (void)wmiev__irql_at_most(APC_LEVEL, "IoWMISetNotificationCallback");
  wmiev__wmi_block *b = wmiev__wmi_block_get(Object, "IoWMISetNotificationCallback");
  if (b == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__wmi_block_allows(b, WMIGUID_NOTIFICATION)) {
    return STATUS_ACCESS_DENIED;
  }
  NTSTATUS status = STATUS_SUCCESS;
  pthread_mutex_lock(&b->set_lock);
  pthread_mutex_lock(&g_lock);
  b->callback = Callback;
  b->context = Callback != NULL ? Context : NULL;
  pthread_mutex_unlock(&g_lock);
  if (Callback == NULL && b->sub != NULL) {
    /* The last consumer of the GUID leaving makes the bus send DISABLE_EVENTS. */
    (void)wmiev_bus_unsubscribe(b->sub);
    b->sub = NULL;
  } else if (Callback != NULL && b->sub == NULL) {
    /* The first consumer of the GUID makes the bus send ENABLE_EVENTS, now. */
    status = wmiev_bus_subscribe(wmiev__host_bus(), &b->guid, on_event, b, &b->sub);
    if (!NT_SUCCESS(status)) {
      pthread_mutex_lock(&g_lock);
      b->callback = NULL;
      b->context = NULL;
      pthread_mutex_unlock(&g_lock);
    }
  }
  pthread_mutex_unlock(&b->set_lock);
  return status;
}
