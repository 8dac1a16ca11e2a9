/*
 * Internal interface of the Windows kernel backend (lib/backend/windows,
 * DESIGN.md "Windows backend", docs/windows.md "The Windows backend").
 *
 * The backend implements the portable API on top of the real kernel:
 * providers are the driver's own device objects registered with
 * IoWMIRegistrationControl and served by WmiSystemControl; events go out
 * through WmiFireEvent and IoWMIWriteEvent; consumers use IoWMIOpenBlock and
 * IoWMISetNotificationCallback. There is no in-process registry, queue or
 * delivery thread: WMI is the bus.
 *
 * Every source of the backend includes this header first. The portable
 * headers see WMIEV_USE_SYSTEM_WMISTR (a PUBLIC definition of the kernel
 * build of wmiev), so <wmiev/wmiev.h> brings in the system's <ddk/wdm.h> and
 * <wmistr.h> instead of wmiev's own wire declarations, and both sets of
 * names can be used side by side here.
 *
 * Memory: everything the backend allocates comes from nonpaged pool with
 * the pool tag WMIEV_POOL_TAG ("Wiev" in pool tools): objects may be touched
 * at DISPATCH_LEVEL (fire path, pended IRP completion), and event buffers are
 * freed by the kernel with ExFreePool. There is no paged code (mingw-w64 has
 * no #pragma alloc_text), so every routine here may run at DISPATCH_LEVEL as
 * far as paging is concerned; the IRQL limits are those of the kernel
 * routines called (docs/windows.md, porting table).
 */
#ifndef WMIEV_BACKEND_WINDOWS_BACKEND_H
#define WMIEV_BACKEND_WINDOWS_BACKEND_H

#include <wmiev/wmiev.h>

#include <ddk/wmilib.h>

#if !defined(_WIN32) || !defined(_KERNEL_MODE)
#error "lib/backend/windows is built only by the Windows kernel toolchains (cmake/toolchains/*-w64-mingw32-kernel.cmake)"
#endif
#if !defined(WMIEV_USE_SYSTEM_WMISTR)
#error "the Windows backend needs WMIEV_USE_SYSTEM_WMISTR (set by lib/CMakeLists.txt's kernel branch)"
#endif

/* Pool tag, shown as "Wiev" by poolmon, !pool and Driver Verifier: the bytes
 * in memory order, i.e. the WDK spelling 'veiW'. */
#define WMIEV_POOL_TAG                                                                             \
  ((ULONG)'W' | ((ULONG)'i' << 8) | ((ULONG)'e' << 16) | ((ULONG)'v' << 24))

/* Nonpaged pool; the no-execute variant exists from Windows 8 on, and an
 * older kernel rejects its pool type, so it follows the build's target. */
#if NTDDI_VERSION >= NTDDI_WIN8
#define WMIEV_POOL_TYPE NonPagedPoolNx
#else
#define WMIEV_POOL_TYPE NonPagedPool
#endif

/* Fallback when a call is made above the IRQL its kernel routine allows and
 * cannot be deferred: refused, nothing passed on (docs/windows.md). */
#define WMIEV_WIN_STATUS_BAD_IRQL WMIEV_STATUS_INVALID_DEVICE_REQUEST

/* The default number of IoWMIWriteEvent calls deferred to work items at
 * once (bus option queue_capacity), as the portable bus's queue. */
#define WMIEV_WIN_DEFAULT_DEFERRED 4096u

/* ---- Objects --------------------------------------------------------------------------- */

/* The registry handle of a bus: only an address to pass back, so that
 * wmiev_provider_create(wmiev_bus_registry(bus), ...) reads the same on every
 * platform. WMI keeps the real registry. */
struct wmiev_registry {
  struct wmiev_bus *bus;
};

/* Counters, 64-bit on both targets (wmiev__win_add below). */
typedef struct win_counters {
  volatile LONGLONG fired;
  volatile LONGLONG rejected;
  volatile LONGLONG traced;
  volatile LONGLONG dropped;
  volatile LONGLONG delivered;
  volatile LONGLONG callbacks;
  volatile LONGLONG queued_now; /* deferred IoWMIWriteEvent work items not run yet */
  volatile LONGLONG queue_peak;
} win_counters;

struct wmiev_bus {
  struct wmiev_registry registry;
  wmiev_bus_options options;
  uint32_t deferred_capacity; /* most IoWMIWriteEvent work items queued at once */
  KSPIN_LOCK lock;            /* guards the lists and the providers' event states */
  LIST_ENTRY subscriptions;
  LIST_ENTRY handles;
  LIST_ENTRY sources;         /* open wmiev_source objects (source.c) */
  win_counters counters;
};

/* A provider's device on Windows: the driver's device object, and the way
 * back to the provider. Portable callbacks only pass it back. */
struct wmiev_device {
  PDEVICE_OBJECT wdm;
  struct wmiev_provider *provider;
};

#define WMIEV_WIN_NAME_SIZE 32

/* The last ENABLE_EVENTS/DISABLE_EVENTS a provider received for one GUID,
 * recorded by its function-control trampoline for wmiev_source_enabled():
 * the kernel keeps this state to itself. Created on the first ENABLE (or
 * source) for the GUID, cleared by DEREGISTER, freed with the provider. */
struct wmiev__win_event_state {
  struct wmiev__win_event_state *next;
  GUID guid;
  volatile LONG enabled;
};

struct wmiev_provider {
  struct wmiev_device device;
  struct wmiev_bus *bus;
  struct wmiev_provider *next; /* the driver-wide list (provider.c) */
  ULONG provider_id;           /* IoWMIDeviceObjectToProviderId, cached at creation */
  wmiev_wmilib_context context;
  WMILIB_CONTEXT wmilib;       /* generated: trampolines + the portable GUID list */
  bool registered;             /* PASSIVE_LEVEL registration paths only */
  struct wmiev__win_event_state *events; /* under bus->lock */
  /* Work items of deferred IoWMIWriteEvent calls hold a reference; destroy
   * runs it down before the provider is freed. */
  EX_RUNDOWN_REF rundown;
  /* Strings handed to WMI from DpWmiQueryReginfo; WMI reads them during the
   * REGINFO request, so they live as long as the provider. */
  UNICODE_STRING registry_path;
  UNICODE_STRING mof_resource;
  char name[WMIEV_WIN_NAME_SIZE];
};

/* What a portable callback's wmiev_irp points to: the portable view of the
 * IRP (filled from IO_STACK_LOCATION.Parameters.WMI) and the real PIRP.
 * Allocated per DpWmiXxx call; freed when the IRP is completed through
 * wmiev_wmilib_complete_request() or wmiev_irp_complete(), so a callback may
 * pend the IRP and complete it later, at IRQL <= DISPATCH_LEVEL. */
struct wmiev__irp_state {
  wmiev_irp irp;
  PIRP wdm;
  struct wmiev_provider *provider;
};

/* ---- Helpers shared by the backend's sources --------------------------------------------- */

/* Nonpaged, tagged, zeroed; NULL on failure or for 0 bytes. */
void *wmiev__win_alloc(size_t size);
void wmiev__win_free(void *p);

/* A nonpaged pool copy of @p count UTF-16 units in @p s, which it describes
 * (MaximumLength at least one unit, so that an empty string has a buffer
 * too). STATUS_NAME_TOO_LONG beyond WMIEV_NAME_MAX_BYTES (what a
 * UNICODE_STRING holds), STATUS_INSUFFICIENT_RESOURCES; @p s is untouched on
 * failure. The caller frees s->Buffer with wmiev__win_free(). */
NTSTATUS wmiev__win_string_copy(UNICODE_STRING *s, const uint16_t *units, size_t count);

/* True if the current IRQL is at most @p max. */
static inline bool wmiev__win_irql_ok(KIRQL max) {
  return KeGetCurrentIrql() <= max;
}

/*
 * 64-bit counters with the _InterlockedCompareExchange64 intrinsic (both
 * compilers, both targets; lock cmpxchg8b on x86, where mingw-w64's wdm.h
 * has no InterlockedCompareExchange64 macro). Not C11 atomics: under
 * -mgeneral-regs-only (i686) GCC turns 64-bit __atomic loads and adds into
 * calls to libatomic, which a driver lacks.
 */
#define WMIEV__CAS64(target, exchange, comparand)                                                  \
  _InterlockedCompareExchange64((target), (exchange), (comparand))

static inline LONGLONG wmiev__win_add(volatile LONGLONG *counter, LONGLONG n) {
  LONGLONG old = *counter; /* a torn read only costs one more round */
  for (;;) {
    LONGLONG seen = WMIEV__CAS64(counter, old + n, old);
    if (seen == old) {
      return old + n;
    }
    old = seen;
  }
}

static inline void wmiev__win_count(volatile LONGLONG *counter, LONGLONG n) {
  (void)wmiev__win_add(counter, n);
}

static inline uint64_t wmiev__win_load(volatile LONGLONG *counter) {
  return (uint64_t)WMIEV__CAS64(counter, 0, 0);
}

/* Fills @p diag (if any) for a kernel routine's failure; returns @p status. */
wmiev_status wmiev__win_fail(wmiev_diag *diag, wmiev_status status, const char *routine);

/* The provider that owns @p device_object / has @p provider_id, or NULL
 * (provider.c). by_provider_id also acquires the provider's rundown
 * protection, under the list lock, so that it cannot be freed in between;
 * it returns NULL if the provider is being destroyed. */
struct wmiev_provider *wmiev__win_provider_by_device(PDEVICE_OBJECT device_object);
struct wmiev_provider *wmiev__win_provider_acquire_by_id(ULONG provider_id);

/* Ends the subscriptions and closes the block handles still open on @p bus
 * (consumer.c), for wmiev_bus_destroy(). PASSIVE_LEVEL. */
void wmiev__win_consumer_close_all(struct wmiev_bus *bus);

/* @p p's event state for @p guid, created if missing (provider.c); NULL when
 * out of pool. The record lives as long as the provider. <= DISPATCH_LEVEL. */
struct wmiev__win_event_state *wmiev__win_event_state(struct wmiev_provider *p, const GUID *guid);

/* Cuts the sources open on @p p off it before it is freed: they then fail
 * with STATUS_DEVICE_DOES_NOT_EXIST (source.c). <= DISPATCH_LEVEL. */
void wmiev__win_sources_detach(struct wmiev_provider *p);

/* Frees the sources still open on @p bus (source.c), for wmiev_bus_destroy(). */
void wmiev__win_sources_close_all(struct wmiev_bus *bus);

#endif /* WMIEV_BACKEND_WINDOWS_BACKEND_H */
