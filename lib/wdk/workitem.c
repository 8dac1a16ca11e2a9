/*
 * Work items: IoAllocateWorkItem / IoQueueWorkItem / IoFreeWorkItem.
 *
 * The host has one worker thread (started on the first IoQueueWorkItem,
 * stopped at shutdown) standing in for every system work queue: items run
 * one at a time, in queue order, at PASSIVE_LEVEL. A queued item holds a
 * reference on its device object, as on Windows, so the device cannot go
 * away under it. wmiev_host_flush() waits until the queue is empty and no
 * item is running.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "host_private.h"

struct _IO_WORKITEM {
  PDEVICE_OBJECT device;
  PDRIVER_OBJECT driver; /* compared only: the device may be gone when the item leaks */
  PIO_WORKITEM_ROUTINE routine;
  PVOID context;
  bool queued;
  struct _IO_WORKITEM *next_queued;
  LIST_ENTRY live_link; /* g_live */
};

static pthread_mutex_t g_work_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_work_cond = PTHREAD_COND_INITIALIZER; /* new work, or stop */
static pthread_cond_t g_idle_cond = PTHREAD_COND_INITIALIZER; /* queue drained */
static struct _IO_WORKITEM *g_head;
static struct _IO_WORKITEM *g_tail;
static LIST_ENTRY g_live = {&g_live, &g_live}; /* all live items */
static size_t g_running;
static uint64_t g_completed;      /* items run since the start */
static uint64_t g_completed_seen; /* by the last wmiev__work_wait_idle */
static bool g_thread_started;
static bool g_stop;
static pthread_t g_thread;
static _Thread_local bool t_on_worker;

bool wmiev__work_on_worker(void) { return t_on_worker; }

PIO_WORKITEM NTAPI IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoAllocateWorkItem");
  if (!wmiev__device_is_live(DeviceObject)) {
    wmiev__host_violation(WMIEV_HOST_RULE_DEVICE,
                          "IoAllocateWorkItem(%p): not a live device object", (void *)DeviceObject);
    return NULL;
  }
  struct _IO_WORKITEM *item = wmiev__host_alloc(sizeof *item);
  if (item == NULL) {
    return NULL;
  }
  item->device = DeviceObject;
  item->driver = DeviceObject->DriverObject;
  pthread_mutex_lock(&g_work_lock);
  InsertHeadList(&g_live, &item->live_link);
  pthread_mutex_unlock(&g_work_lock);
  return item;
}

VOID NTAPI IoFreeWorkItem(PIO_WORKITEM IoWorkItem) {
  if (IoWorkItem == NULL) {
    return;
  }
  pthread_mutex_lock(&g_work_lock);
  if (IoWorkItem->queued) {
    pthread_mutex_unlock(&g_work_lock);
    wmiev__host_violation(WMIEV_HOST_RULE_HOST,
                          "IoFreeWorkItem of a work item that is still queued (not freed)");
    return;
  }
  RemoveEntryList(&IoWorkItem->live_link);
  pthread_mutex_unlock(&g_work_lock);
  wmiev__host_free(IoWorkItem, sizeof *IoWorkItem);
}

static void *worker_main(void *arg) {
  (void)arg;
  t_on_worker = true;
  pthread_mutex_lock(&g_work_lock);
  for (;;) {
    while (g_head == NULL && !g_stop) {
      pthread_cond_wait(&g_work_cond, &g_work_lock);
    }
    if (g_stop) {
      break;
    }
    struct _IO_WORKITEM *item = g_head;
    g_head = item->next_queued;
    if (g_head == NULL) {
      g_tail = NULL;
    }
    /* Copy out first: the routine may free its own item (a common pattern). */
    item->queued = false;
    PDEVICE_OBJECT device = item->device;
    PIO_WORKITEM_ROUTINE routine = item->routine;
    PVOID context = item->context;
    g_running++;
    pthread_mutex_unlock(&g_work_lock);

    wmiev__irql_set(PASSIVE_LEVEL);
    PDRIVER_OBJECT previous = wmiev__driver_enter(device->DriverObject);
    routine(device, context);
    wmiev__driver_leave(previous);
    if (KeGetCurrentIrql() != PASSIVE_LEVEL) {
      wmiev__host_violation(WMIEV_HOST_RULE_IRQL, "a work item of driver %s returned at IRQL %u",
                            wmiev__driver_name(device->DriverObject), (unsigned)KeGetCurrentIrql());
      wmiev__irql_set(PASSIVE_LEVEL);
    }
    wmiev__device_dereference(device);

    pthread_mutex_lock(&g_work_lock);
    g_running--;
    g_completed++;
    if (g_head == NULL && g_running == 0) {
      pthread_cond_broadcast(&g_idle_cond);
    }
  }
  pthread_mutex_unlock(&g_work_lock);
  return NULL;
}

VOID NTAPI IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine,
                           WORK_QUEUE_TYPE QueueType, PVOID Context) {
  (void)QueueType;
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoQueueWorkItem");
  if (IoWorkItem == NULL || WorkerRoutine == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_HOST, "IoQueueWorkItem with a NULL work item or routine");
    return;
  }
  wmiev__host_ensure();
  pthread_mutex_lock(&g_work_lock);
  if (IoWorkItem->queued) {
    pthread_mutex_unlock(&g_work_lock);
    wmiev__host_violation(WMIEV_HOST_RULE_HOST,
                          "IoQueueWorkItem of a work item that is already queued (ignored)");
    return;
  }
  wmiev__device_reference(IoWorkItem->device);
  IoWorkItem->routine = WorkerRoutine;
  IoWorkItem->context = Context;
  IoWorkItem->queued = true;
  IoWorkItem->next_queued = NULL;
  if (g_tail != NULL) {
    g_tail->next_queued = IoWorkItem;
  } else {
    g_head = IoWorkItem;
  }
  g_tail = IoWorkItem;
  if (!g_thread_started) {
    g_stop = false;
    if (pthread_create(&g_thread, NULL, worker_main, NULL) == 0) {
      g_thread_started = true;
    }
  }
  pthread_cond_signal(&g_work_cond);
  bool started = g_thread_started;
  pthread_mutex_unlock(&g_work_lock);
  if (!started) {
    wmiev__host_violation(WMIEV_HOST_RULE_HOST, "could not start the work item thread");
  }
}

bool wmiev__work_wait_idle(void) {
  if (t_on_worker) {
    return false;
  }
  pthread_mutex_lock(&g_work_lock);
  while ((g_head != NULL || g_running != 0) && g_thread_started) {
    pthread_cond_wait(&g_idle_cond, &g_work_lock);
  }
  bool progress = g_completed != g_completed_seen;
  g_completed_seen = g_completed;
  pthread_mutex_unlock(&g_work_lock);
  return progress;
}

size_t wmiev__work_items_live(PDRIVER_OBJECT driver) {
  size_t n = 0;
  pthread_mutex_lock(&g_work_lock);
  for (PLIST_ENTRY e = g_live.Flink; e != &g_live; e = e->Flink) {
    struct _IO_WORKITEM *item = CONTAINING_RECORD(e, struct _IO_WORKITEM, live_link);
    if (driver == NULL || item->driver == driver) {
      n++;
    }
  }
  pthread_mutex_unlock(&g_work_lock);
  return n;
}

void wmiev__work_shutdown(void) {
  pthread_mutex_lock(&g_work_lock);
  bool started = g_thread_started;
  g_stop = true;
  pthread_cond_broadcast(&g_work_cond);
  pthread_mutex_unlock(&g_work_lock);
  if (started) {
    pthread_join(g_thread, NULL);
  }
  pthread_mutex_lock(&g_work_lock);
  struct _IO_WORKITEM *dropped = g_head;
  g_head = g_tail = NULL;
  g_thread_started = false;
  g_stop = false;
  g_running = 0;
  g_completed = g_completed_seen = 0;
  pthread_mutex_unlock(&g_work_lock);
  size_t n = 0;
  for (struct _IO_WORKITEM *item = dropped; item != NULL; item = item->next_queued) {
    item->queued = false;
    wmiev__device_dereference(item->device); /* the reference IoQueueWorkItem took */
    n++;
  }
  if (n != 0) {
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK, "%zu queued work item(s) never ran (host shutdown)",
                          n);
  }
  /* Every item, the dropped ones too, is still on the live list. */
  size_t leaked = 0;
  pthread_mutex_lock(&g_work_lock);
  while (!IsListEmpty(&g_live)) {
    leaked++;
    wmiev__host_free(CONTAINING_RECORD(RemoveHeadList(&g_live), struct _IO_WORKITEM, live_link),
                     sizeof(struct _IO_WORKITEM));
  }
  pthread_mutex_unlock(&g_work_lock);
  if (leaked != 0) {
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "%zu work item(s) were never freed (IoFreeWorkItem)", leaked);
  }
}
