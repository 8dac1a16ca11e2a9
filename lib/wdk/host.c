/*
 * The driver host's lifetime: options, creation on first use, the bus it
 * owns, the hooks of the WMI routines, flush and shutdown.
 *
 * The host is process-wide because the WDK's routines are free functions
 * with no context argument (IoCreateDevice cannot be told which "kernel" to
 * use). It is created by whichever call needs it first and torn down only by
 * wmiev_host_shutdown(), after which the next call starts a fresh one.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "host_private.h"

typedef struct host {
  wmiev_bus *bus;
  const wmiev_allocator *allocator;
  uint32_t irp_timeout_ms;
  LIST_ENTRY drivers;
  LIST_ENTRY devices;
  PDRIVER_OBJECT bus_driver;
} host;

typedef struct hook {
  void (*fn)(void *ctx);
  void *ctx;
} hook;

#define MAX_HOOKS 16

/* g_life_lock serialises creation and shutdown (and guards the options and the
 * shutdown hooks); g_lists_lock is the host lock of host_private.h; g_sink_lock
 * guards the violation sink, which is read on every violation, possibly while
 * the caller holds the other two. */
static pthread_mutex_t g_life_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_lists_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_sink_lock = PTHREAD_MUTEX_INITIALIZER;
static host *g_host;
static wmiev_host_options g_options;
static hook g_shutdown_hooks[MAX_HOOKS];
static void (*g_device_delete_hook)(PDEVICE_OBJECT);
static _Thread_local PDRIVER_OBJECT t_driver;
static _Thread_local bool t_flushing;

/* ---- Options ----------------------------------------------------------------------------- */

void wmiev_host_configure(const wmiev_host_options *options) {
  pthread_mutex_lock(&g_life_lock);
  wmiev_host_options next;
  memset(&next, 0, sizeof next);
  if (options != NULL) {
    next = *options;
  }
  pthread_mutex_lock(&g_sink_lock);
  if (__atomic_load_n(&g_host, __ATOMIC_ACQUIRE) == NULL) {
    g_options = next;
  } else {
    /* A live host keeps its bus and allocator; the output side changes at once. */
    g_options.quiet = next.quiet;
    g_options.on_violation = next.on_violation;
    g_options.violation_ctx = next.violation_ctx;
  }
  pthread_mutex_unlock(&g_sink_lock);
  pthread_mutex_unlock(&g_life_lock);
}

void wmiev__host_violation_sink(void (**fn)(wmiev_host_rule, const char *, void *), void **ctx,
                                bool *quiet) {
  /* g_options' sink fields are written under g_life_lock; reading them under
   * that lock here would deadlock when a violation is reported during
   * creation or shutdown, so the writers also pass through g_sink_lock and
   * the reader takes only that one. */
  pthread_mutex_lock(&g_sink_lock);
  *fn = g_options.on_violation;
  *ctx = g_options.violation_ctx;
  *quiet = g_options.quiet;
  pthread_mutex_unlock(&g_sink_lock);
}

bool wmiev__host_quiet(void) {
  pthread_mutex_lock(&g_sink_lock);
  bool quiet = g_options.quiet;
  pthread_mutex_unlock(&g_sink_lock);
  return quiet;
}

/* ---- Creation ------------------------------------------------------------------------------- */

static wmiev_status resolve_pdo(uintptr_t pdo, const char **instance_id, void *ctx) {
  (void)ctx;
  /* The value comes from a driver's WMIREGINFO: the lookup only compares it
   * with the live PDOs of this host, never dereferences it. */
  const char *id = wmiev__pdo_instance_id((PDEVICE_OBJECT)pdo);
  if (id == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  *instance_id = id;
  return WMIEV_STATUS_SUCCESS;
}

static _Noreturn void fatal(const char *what) {
  fprintf(stderr, "wmiev host: cannot create the driver host: %s\n", what);
  abort();
}

static host *create_host(void) {
  wmiev__verifier_reset();
  const wmiev_allocator *allocator =
      g_options.allocator != NULL ? g_options.allocator : wmiev_allocator_default();
  host *h = allocator->alloc(sizeof *h, allocator->ctx);
  if (h == NULL) {
    fatal("out of memory");
  }
  memset(h, 0, sizeof *h);
  h->allocator = allocator;
  h->irp_timeout_ms = g_options.irp_timeout_ms != 0 ? g_options.irp_timeout_ms : 5000;
  InitializeListHead(&h->drivers);
  InitializeListHead(&h->devices);

  wmiev_bus_options bo;
  memset(&bo, 0, sizeof bo);
  bo.delivery = WMIEV_DELIVERY_PUMPED;
  bo.allocator = allocator;
  bo.max_event_size = g_options.max_event_size;
  bo.queue_capacity = g_options.queue_capacity;
  bo.strict = g_options.strict;
  bo.clock = g_options.clock;
  bo.irp_timeout_ms = h->irp_timeout_ms;
  bo.on_warning = wmiev__verifier_on_bus_warning;
  bo.on_violation = wmiev__verifier_on_core_violation;
  bo.resolve_pdo = resolve_pdo;
  wmiev_status status = wmiev_bus_create(&bo, &h->bus);
  if (!WMIEV_SUCCESS(status)) {
    allocator->free(h, sizeof *h, allocator->ctx);
    fatal(wmiev_status_name(status));
  }
  return h;
}

void wmiev__host_ensure(void) {
  if (__atomic_load_n(&g_host, __ATOMIC_ACQUIRE) != NULL) {
    return;
  }
  pthread_mutex_lock(&g_life_lock);
  if (g_host == NULL) {
    host *h = create_host();
    __atomic_store_n(&g_host, h, __ATOMIC_RELEASE);
    /* The bus driver is an ordinary driver object: create it through the
     * same code, now that the host is visible. */
    h->bus_driver = wmiev__driver_create_bus_driver();
    if (h->bus_driver == NULL) {
      fatal("out of memory");
    }
  }
  pthread_mutex_unlock(&g_life_lock);
}

static host *get_host(void) {
  wmiev__host_ensure();
  return __atomic_load_n(&g_host, __ATOMIC_ACQUIRE);
}

wmiev_bus *wmiev__host_bus(void) { return get_host()->bus; }
wmiev_bus *wmiev_host_bus(void) { return get_host()->bus; }
wmiev_registry *wmiev__host_registry(void) { return wmiev_bus_registry(get_host()->bus); }
uint32_t wmiev__host_irp_timeout_ms(void) { return get_host()->irp_timeout_ms; }
PDRIVER_OBJECT wmiev__host_bus_driver(void) { return get_host()->bus_driver; }

void *wmiev__host_alloc(size_t size) {
  const wmiev_allocator *a = get_host()->allocator;
  void *p = a->alloc(size, a->ctx);
  if (p != NULL) {
    memset(p, 0, size);
  }
  return p;
}

void wmiev__host_free(void *ptr, size_t size) {
  if (ptr != NULL) {
    const wmiev_allocator *a = get_host()->allocator;
    a->free(ptr, size, a->ctx);
  }
}

/* ---- Lists and the current driver ------------------------------------------------------------ */

void wmiev__host_lock(void) { pthread_mutex_lock(&g_lists_lock); }
void wmiev__host_unlock(void) { pthread_mutex_unlock(&g_lists_lock); }
PLIST_ENTRY wmiev__host_drivers(void) { return &get_host()->drivers; }
PLIST_ENTRY wmiev__host_devices(void) { return &get_host()->devices; }

PDRIVER_OBJECT wmiev__current_driver(void) { return t_driver; }

PDRIVER_OBJECT wmiev__driver_enter(PDRIVER_OBJECT driver) {
  PDRIVER_OBJECT previous = t_driver;
  t_driver = driver;
  return previous;
}

void wmiev__driver_leave(PDRIVER_OBJECT previous) { t_driver = previous; }

/* ---- Hooks ------------------------------------------------------------------------------------
 */

bool wmiev__host_add_shutdown_hook(void (*fn)(void *ctx), void *ctx) {
  bool ok = false;
  pthread_mutex_lock(&g_life_lock);
  for (size_t i = 0; fn != NULL && i < MAX_HOOKS; i++) {
    if (g_shutdown_hooks[i].fn == fn && g_shutdown_hooks[i].ctx == ctx) {
      ok = true;
      break;
    }
    if (g_shutdown_hooks[i].fn == NULL) {
      g_shutdown_hooks[i].fn = fn;
      g_shutdown_hooks[i].ctx = ctx;
      ok = true;
      break;
    }
  }
  pthread_mutex_unlock(&g_life_lock);
  return ok;
}

static void run_shutdown_hooks(void) {
  hook copy[MAX_HOOKS];
  pthread_mutex_lock(&g_life_lock);
  memcpy(copy, g_shutdown_hooks, sizeof copy);
  pthread_mutex_unlock(&g_life_lock);
  for (size_t i = 0; i < MAX_HOOKS && copy[i].fn != NULL; i++) {
    copy[i].fn(copy[i].ctx);
  }
}

void wmiev__set_device_delete_hook(void (*hook_fn)(PDEVICE_OBJECT device)) {
  __atomic_store_n(&g_device_delete_hook, hook_fn, __ATOMIC_RELEASE);
}

void wmiev__host_run_device_delete_hook(PDEVICE_OBJECT device) {
  void (*fn)(PDEVICE_OBJECT) = __atomic_load_n(&g_device_delete_hook, __ATOMIC_ACQUIRE);
  if (fn != NULL) {
    fn(device);
  }
}

/* ---- Flush
 * --------------------------------------------------------------------------------------- */

/* @p bounded (shutdown): give IRPs still pending at most the IRP timeout,
 * then report them and go on — a driver that never completes an IRP must not
 * hang the teardown. */
static void flush(bool bounded) {
  if (wmiev__work_on_worker()) {
    wmiev__host_violation(WMIEV_HOST_RULE_HOST,
                          "wmiev_host_flush called from a work item: it would wait for itself");
    return;
  }
  if (t_flushing) {
    wmiev__host_violation(WMIEV_HOST_RULE_HOST,
                          "wmiev_host_flush called from inside a flush (a notification "
                          "callback?): it would wait for itself");
    return;
  }
  host *h = get_host();
  t_flushing = true;
  /* Each source of work can create work for the others (a work item fires an
   * event, a callback queues a work item, an event reference sends an IRP):
   * go round until one whole round finds nothing to do. */
  for (;;) {
    bool progress = false;
    if (wmiev_bus_dispatch(h->bus, 0) != 0) {
      progress = true;
    }
    if (wmiev__work_wait_idle()) {
      progress = true;
    }
    uint32_t waited_ms = 0;
    while (wmiev__host_irps_in_flight() != 0) {
      if (bounded && waited_ms >= h->irp_timeout_ms) {
        wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                              "%zu IRP(s) sent by the host are still pending at shutdown "
                              "(never completed; left allocated)",
                              wmiev__host_irps_in_flight());
        t_flushing = false;
        return;
      }
      /* A pended IRP is completed by some other thread; poll politely. */
      progress = true;
      LARGE_INTEGER interval;
      interval.QuadPart = -10000; /* 1 ms */
      KeDelayExecutionThread(KernelMode, FALSE, &interval);
      waited_ms++;
    }
    if (!progress && wmiev_bus_pending(h->bus) == 0) {
      break;
    }
  }
  t_flushing = false;
}

void wmiev_host_flush(void) { flush(false); }

/* ---- Shutdown
 * --------------------------------------------------------------------------------------- */

void wmiev_host_shutdown(void) {
  if (__atomic_load_n(&g_host, __ATOMIC_ACQUIRE) == NULL) {
    pthread_mutex_lock(&g_life_lock);
    pthread_mutex_lock(&g_sink_lock);
    memset(&g_options, 0, sizeof g_options);
    pthread_mutex_unlock(&g_sink_lock);
    pthread_mutex_unlock(&g_life_lock);
    return;
  }
  host *h = g_host;
  /* Let queued work and events finish first: a test that forgot to flush
   * should see its leaks, not lose its deliveries half-way. */
  flush(true);
  run_shutdown_hooks();
  /* Drivers still loaded: reported and torn down without DriverUnload. */
  wmiev__driver_force_unload_all();
  wmiev__work_shutdown();
  size_t irps = wmiev__driver_irps_live();
  if (irps != 0) {
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "%zu IRP(s) from IoAllocateIrp were never freed (IoFreeIrp)", irps);
  }
  (void)wmiev__pool_report(NULL, "at host shutdown");

  pthread_mutex_lock(&g_life_lock);
  if (h->bus_driver != NULL) {
    wmiev__driver_destroy(h->bus_driver);
    h->bus_driver = NULL;
  }
  wmiev__pool_shutdown();
  wmiev__irp_shutdown();
  wmiev_bus_destroy(h->bus);
  const wmiev_allocator *allocator = h->allocator;
  __atomic_store_n(&g_host, NULL, __ATOMIC_RELEASE);
  allocator->free(h, sizeof *h, allocator->ctx);
  pthread_mutex_lock(&g_sink_lock);
  memset(&g_options, 0, sizeof g_options);
  pthread_mutex_unlock(&g_sink_lock);
  pthread_mutex_unlock(&g_life_lock);
}
