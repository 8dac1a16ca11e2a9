/**
 * @file bus.h
 * @brief The in-process bus: the stand-in for WMI itself (spec §5.2, §5.3, §6).
 *
 * A bus owns a registry (registry.h). Providers register with it and fire
 * events; consumers subscribe by GUID. The bus counts consumers per GUID and
 * drives IRP_MN_ENABLE/DISABLE_EVENTS exactly as Windows does: one ENABLE to
 * every provider of a GUID when its first consumer appears (and to any
 * provider that registers it later), one DISABLE when the last one leaves.
 * Opening an EXPENSIVE block does the same with ENABLE/DISABLE_COLLECTION.
 *
 * Delivery modes (chosen at creation):
 *  - WMIEV_DELIVERY_SYNC: the event reaches every subscriber before the fire
 *    call returns, on the firing thread (unit tests);
 *  - WMIEV_DELIVERY_PUMPED: events wait in a bounded queue until the owner
 *    calls wmiev_bus_dispatch() (simulators that step time);
 *  - WMIEV_DELIVERY_LIBUV: events wait in the queue and a libuv loop thread
 *    delivers them (uv.h).
 * Firing never blocks on a consumer and never allocates in steady state
 * (only a subscriber asking for the WNODE of an event over 1152 bytes costs
 * one allocation per delivery, wmiev_event_wnode()); when the queue is full
 * the event is dropped and counted, per GUID and per subscriber. Callbacks
 * never run under a library lock. Threading rules: docs/threading.md.
 *
 * Windows kernel builds: WMI itself is the bus. The calls forward to the
 * kernel routines named under "Windows:" below, at the IRQL those routines
 * allow (docs/windows.md has the whole porting table); their statuses come
 * back unchanged. Calls that have nothing to forward to are listed there.
 */
#ifndef WMIEV_BUS_H
#define WMIEV_BUS_H

#include "registry.h"
#include "requester.h"
#include "wnode_validate.h"

WMIEV_BEGIN_DECLS

typedef struct wmiev_bus wmiev_bus;
typedef struct wmiev_subscription wmiev_subscription;
typedef struct wmiev_block_handle wmiev_block_handle;

/** How events reach subscribers. */
typedef enum wmiev_delivery {
  WMIEV_DELIVERY_SYNC = 0,
  WMIEV_DELIVERY_PUMPED = 1,
  WMIEV_DELIVERY_LIBUV = 2
} wmiev_delivery;

/** A clock: 100-ns units since 1601-01-01 (KeQuerySystemTime). */
typedef struct wmiev_clock {
  int64_t (*now)(void *ctx);
  void *ctx;
} wmiev_clock;

/** Something the bus accepted but Windows' documentation says should not happen. */
typedef enum wmiev_warning {
  WMIEV_WARN_NOT_ENABLED = 1,      /**< fired for a GUID nobody subscribed to (not delivered) */
  WMIEV_WARN_PROVIDER_NOT_ENABLED, /**< GUID has consumers, but this provider was not enabled */
  WMIEV_WARN_STATIC_FOR_DYNAMIC,   /**< static-name event for a dynamic-name block */
  WMIEV_WARN_DYNAMIC_FOR_STATIC,   /**< dynamic-name event for a static-name block */
  WMIEV_WARN_PDO_FLAG_MISMATCH,    /**< PDO_INSTANCE_NAMES set or clear against the registration */
  WMIEV_WARN_TARGET_GUID_MISMATCH, /**< event reference: Guid != TargetGuid */
  WMIEV_WARN_UNDEFINED_FLAGS,      /**< undefined WNODE flag bits */
  WMIEV_WARN_ENABLE_FAILED,        /**< a provider failed ENABLE_EVENTS/COLLECTION, or a DISABLE
                                        failed for want of memory (the provider stays enabled) */
  WMIEV_WARN_REFERENCE_FAILED,     /**< the query behind an event reference failed */
  WMIEV_WARN_COUNT_                /**< number of kinds + 1 (array sizing) */
} wmiev_warning;

/** Why an event was rejected (the fire call returned a failure). */
typedef enum wmiev_reject_reason {
  WMIEV_REJECT_MALFORMED = 0,       /**< the validator refused the WNODE */
  WMIEV_REJECT_TOO_LARGE,           /**< over the bus's max_event_size: STATUS_BUFFER_OVERFLOW */
  WMIEV_REJECT_UNKNOWN_PROVIDER,    /**< ProviderId names no device: STATUS_DEVICE_DOES_NOT_EXIST */
  WMIEV_REJECT_GUID_NOT_REGISTERED, /**< that provider has no such block: STATUS_WMI_GUID_NOT_FOUND
                                     */
  WMIEV_REJECT_BAD_INSTANCE, /**< static index >= instance count: STATUS_WMI_INSTANCE_NOT_FOUND */
  WMIEV_REJECT_STRICT,       /**< a warning, turned into a rejection by strict mode */
  WMIEV_REJECT_COUNT_
} wmiev_reject_reason;

/** Counters, per bus or per GUID. Every fired event ends in exactly one of
 *  rejected, not_enabled, traced, dropped, discarded, reference_failed, delivered. */
typedef struct wmiev_bus_stats {
  uint64_t fired;    /**< fire calls (write_event and fire_event) */
  uint64_t rejected; /**< failed fire calls (sum of rejected_by) */
  uint64_t rejected_by[WMIEV_REJECT_COUNT_];
  uint64_t not_enabled;      /**< no subscriber when fired: not delivered, STATUS_SUCCESS */
  uint64_t traced;           /**< TRACED_GUID events: for an ETW logger, never delivered */
  uint64_t dropped;          /**< queue full: lost (subscribers are told how many) */
  uint64_t discarded;        /**< dequeued after every subscriber had left */
  uint64_t reference_failed; /**< event references whose query failed */
  uint64_t delivered;        /**< events that reached at least one subscriber */
  uint64_t callbacks;        /**< subscriber callbacks run (fan-out counted) */
  uint64_t warnings[WMIEV_WARN_COUNT_];
  uint64_t enables_sent; /**< IRP_MN_ENABLE_EVENTS sent (successful or not) */
  uint64_t disables_sent;
  uint64_t collection_enables_sent;
  uint64_t collection_disables_sent;
  uint64_t queued_now; /**< events in the queue (bus stats only) */
  uint64_t queue_peak; /**< most events ever queued at once (bus stats only) */
} wmiev_bus_stats;

/** Options of wmiev_bus_create(). Zero-initialise, then set what you need. */
typedef struct wmiev_bus_options {
  wmiev_delivery delivery;
  const wmiev_allocator *allocator; /**< NULL: malloc; also used by the registry */
  uint32_t
      max_event_size; /**< largest WNODE accepted, bytes; 0 means 1024 (the documented default) */
  uint32_t queue_capacity; /**< most events queued at once; 0 means 4096 */
  uint32_t queue_bytes;    /**< queue memory; 0 means queue_capacity * 160 (a 64-byte event
                                takes 88, with room to spare); at least two
                                max events, rounded up to 8; at most 4 GiB - 8 (the default for
                                a queue_capacity above 26 843 545 is larger: then set it) */
  bool strict;             /**< warnings about mismatches become rejections */
  wmiev_clock clock;       /**< NULL now: the tick clock (D20), or the system clock read
                                precisely with precise_clock */
  /** With no clock given: read the system time precisely for every event
   *  (about 23 ns here) instead of the tick-granular time Windows stamps
   *  events with (KeQuerySystemTime; here the library's tick clock: one
   *  load, 1 ms steps, kept by a background thread while it is read).
   *  docs/decisions.md D18, D20; docs/threading.md. */
  bool precise_clock;
  uint32_t irp_timeout_ms; /**< passed to the registry (0: 5000) */
  /** Called for every warning, outside library locks, on the thread that caused it. */
  void (*on_warning)(wmiev_warning warning, const char *message, void *ctx);
  void *warning_ctx;
  /** Passed to the registry: driver rule violations. */
  void (*on_violation)(wmiev_violation rule, const char *message, void *ctx);
  void *violation_ctx;
  /** Passed to the registry (the WDK face resolves DEVICE_OBJECTs with it). */
  wmiev_status (*resolve_pdo)(uintptr_t pdo, const char **instance_id, void *ctx);
  void *resolve_pdo_ctx;
} wmiev_bus_options;

/**
 * @brief Creates a bus (and its registry).
 * @return STATUS_SUCCESS; STATUS_INVALID_PARAMETER (NULL @p out, an unknown
 *         delivery mode, an allocator without both functions,
 *         max_event_size below a WNODE_SINGLE_INSTANCE or above 64 MiB, a
 *         queue over 4 GiB - 8 bytes, or over half the address space);
 *         STATUS_INSUFFICIENT_RESOURCES.
 *
 * Windows: a small object (options, counters, open consumer objects),
 * nonpaged pool; WMIEV_DELIVERY_LIBUV is refused with STATUS_NOT_SUPPORTED.
 * IRQL <= DISPATCH_LEVEL.
 */
WMIEV_EXTERN wmiev_status wmiev_bus_create(const wmiev_bus_options *options, wmiev_bus **out);

/**
 * @brief Destroys the bus. Subscriptions and open block handles still present
 *        are freed and queued events are discarded. Devices must have been
 *        destroyed first, so no DISABLE goes out here: a provider that
 *        deregisters is sent none, as on Windows (its DISABLE is due only
 *        while it is registered, i.e. when the last consumer leaves before
 *        it does). libuv mode must be detached first (uv.h).
 *        Windows: ends what is left as wmiev_bus_unsubscribe() and
 *        wmiev_bus_close_block() do. PASSIVE_LEVEL.
 */
WMIEV_EXTERN void wmiev_bus_destroy(wmiev_bus *bus);

/** @brief The bus's registry: create devices and providers in it.
 *         Windows: an opaque handle for wmiev_provider_create() and the
 *         requester calls (WMI keeps the real registry). */
WMIEV_EXTERN wmiev_registry *wmiev_bus_registry(wmiev_bus *bus);

/** @brief The bus's current time (its clock), 100-ns units since 1601. */
WMIEV_EXTERN int64_t wmiev_bus_now(wmiev_bus *bus);

/* ---- Firing ----------------------------------------------------------------- */

/**
 * @brief Allocates memory for a WNODE to pass to wmiev_bus_write_event()
 *        (the nonpaged pool of the portable API). Zeroed. NULL if out of memory.
 *        At least a WNODE_HEADER is allocated even when @p size is smaller
 *        (write_event reads Flags first); the validator still sees @p size.
 *        Windows: ExAllocatePoolWithTag (nonpaged, tag "Wiev"), nothing in
 *        front of the block, so that the kernel can free it. IRQL <= DISPATCH_LEVEL.
 */
WMIEV_EXTERN void *wmiev_bus_alloc_event(wmiev_bus *bus, size_t size);

/** @brief Frees memory from wmiev_bus_alloc_event() (after a failed write_event).
 *         Windows: ExFreePoolWithTag, IRQL <= DISPATCH_LEVEL. */
WMIEV_EXTERN void wmiev_bus_free_event(wmiev_bus *bus, void *wnode);

/**
 * @brief IoWMIWriteEvent: fires a driver-built WNODE (SINGLE_INSTANCE,
 *        SINGLE_ITEM or ALL_DATA with EVENT_ITEM, or an EVENT_REFERENCE).
 *
 * @p wnode must come from wmiev_bus_alloc_event(). On STATUS_SUCCESS the bus
 * owns it (and frees it); on any failure the caller still owns it. A
 * TRACED_GUID WNODE belongs to an ETW logger: it is counted, never
 * delivered and never freed, and the call returns STATUS_SUCCESS; it need
 * not come from wmiev_bus_alloc_event() (any readable 48-byte header, e.g.
 * on the caller's stack): only its Flags and Guid are read. Unless
 * WNODE_FLAG_USE_TIMESTAMP is set the bus stamps TimeStamp from its clock.
 * Firing for a GUID that nobody subscribed to returns STATUS_SUCCESS,
 * delivers nothing and counts not_enabled (docs/decisions.md).
 *
 * Windows: IoWMIWriteEvent, with the same ownership rule, at IRQL <=
 * APC_LEVEL (any IRQL for TRACED_GUID). At DISPATCH_LEVEL the call is
 * deferred to a work item on the provider's device object (the WNODE's
 * ProviderId must be a wmiev provider's), which calls IoWMIWriteEvent and
 * frees the WNODE if that fails; the call then returns STATUS_SUCCESS, and
 * STATUS_INSUFFICIENT_RESOURCES (caller keeps it) when no work item can be
 * had or queue_capacity of them are pending. Above DISPATCH_LEVEL:
 * STATUS_INVALID_DEVICE_REQUEST, nothing passed on. The kernel does not
 * validate as the bus does; max_event_size and strict are not applied.
 *
 * @return STATUS_SUCCESS; STATUS_BUFFER_OVERFLOW (over max_event_size); the
 *         validator's status; STATUS_DEVICE_DOES_NOT_EXIST (ProviderId names
 *         no device); STATUS_WMI_GUID_NOT_FOUND (the provider has no such
 *         block); STATUS_WMI_INSTANCE_NOT_FOUND (static index out of range, or
 *         a strict-mode name mismatch); STATUS_INVALID_PARAMETER (other strict
 *         rejections).
 */
WMIEV_EXTERN wmiev_status wmiev_bus_write_event(wmiev_bus *bus, void *wnode, wmiev_diag *diag);

/**
 * @brief WmiFireEvent, portable form: builds the static-name single-instance
 *        event (SINGLE_INSTANCE | EVENT_ITEM | STATIC_INSTANCE_NAMES, plus
 *        PDO_INSTANCE_NAMES for a PDO-named block; data at offset 64) for
 *        @p device's block @p guid, instance @p instance_index, and fires it.
 *        The caller keeps @p data (the WDK face's WmiFireEvent frees its
 *        EventData itself): in sync mode subscribers read it in place while
 *        this call runs (wmiev_event.data is @p data; no WNODE is built
 *        unless a subscriber asks for one, wmiev_event_wnode()); in pumped
 *        and libuv mode it is copied into the queue before the call returns.
 *        Windows: the data is copied into nonpaged pool and the copy passed
 *        to WmiFireEvent, which takes it, whatever its status (spec §9.9;
 *        docs/windows.md). IRQL <= DISPATCH_LEVEL; above it
 *        STATUS_INVALID_DEVICE_REQUEST, nothing passed on.
 * @return as wmiev_bus_write_event().
 */
WMIEV_EXTERN wmiev_status wmiev_bus_fire_event(wmiev_bus *bus, wmiev_device *device,
                                               const GUID *guid, uint32_t instance_index,
                                               const void *data, uint32_t size, wmiev_diag *diag);

/* ---- Consuming ---------------------------------------------------------------- */

/**
 * An event as a subscriber receives it: a small descriptor. Everything is
 * valid during the callback only.
 *
 * The WNODE the event travels in, and its validated view, are not fields:
 * wmiev_event_wnode() and wmiev_event_view() return them, building them on
 * first request for an event the bus never held as a WNODE (docs/decisions.md
 * D21). A subscriber that reads only these fields costs the bus no WNODE.
 */
typedef struct wmiev_event {
  GUID guid;
  uint32_t provider_id;
  int64_t timestamp;          /**< 100-ns units since 1601 */
  bool has_name;              /**< dynamic name present (else instance_index) */
  uint32_t instance_index;    /**< static index, when !has_name */
  const uint16_t *name_utf16; /**< the dynamic name (no trailing NUL), when has_name */
  uint32_t name_units;
  /** Instance data (NULL when data_size is 0), read-only. For a synchronous
   *  wmiev_bus_fire_event() or wmiev_source_fire() this is the firing
   *  caller's own buffer, not a copy (the fire call is still running); in
   *  pumped and libuv mode, a copy held in the bus's queue; for an event
   *  fired as a WNODE (and on Windows, always), the data inside that WNODE. */
  const void *data;
  uint32_t data_size;
  uint64_t lost_before; /**< events this subscriber lost (queue full) since its last one */
  bool from_reference;  /**< delivered by resolving a WNODE_EVENT_REFERENCE */
  void *internal;       /**< library-private */
} wmiev_event;

/**
 * @brief The WNODE the event was delivered in (read-only), its BufferSize in
 *        *@p size when @p size is not NULL.
 *
 * For an event fired as a WNODE (wmiev_bus_write_event(), an event
 * reference resolved by query) it is that WNODE, at no cost. For one the
 * bus never held as a WNODE (a synchronous wmiev_bus_fire_event() or
 * wmiev_source_fire(), or a queued fire delivered in pumped or libuv mode)
 * it is built on the first call: the WNODE WmiFireEvent builds
 * (SINGLE_INSTANCE | EVENT_ITEM | STATIC_INSTANCE_NAMES, PDO_INSTANCE_NAMES
 * for a PDO-named block, data at offset 64), byte for byte the one
 * wmiev_bus_write_event() would deliver for it, with the data as it is at
 * that moment. It is kept for the rest of the delivery: every call, from
 * every subscriber of the same delivery, returns the same pointer. WNODEs
 * of up to 1152 bytes (data up to 1088 bytes: every event under the default
 * max_event_size) are built in the delivery's context on the delivering
 * thread's stack, larger ones in memory from the bus's allocator, freed when
 * the delivery ends; NULL (and *@p size 0) when that allocation fails, and
 * for a NULL @p event. Valid during the callback only.
 *
 * Windows: the WNODE the kernel passed to the notification callback.
 */
WMIEV_EXTERN const void *wmiev_event_wnode(const wmiev_event *event, uint32_t *size);

/**
 * @brief The validated view of the event's WNODE (what wmiev_wnode_validate()
 *        returns for it; its pointers point into that WNODE). Built with the
 *        WNODE (wmiev_event_wnode()); NULL exactly when wmiev_event_wnode()
 *        would return NULL. Valid during the callback only.
 *
 * Windows: the view the notification callback validated the kernel's WNODE with.
 */
WMIEV_EXTERN const wmiev_wnode_view *wmiev_event_view(const wmiev_event *event);

/**
 * @brief The event's instance name in UTF-8: the dynamic name, or the static
 *        name registered for its index ("Toaster0", "ROOT\TOASTER\0000_0");
 *        "" when it has none (an ALL_DATA event, or a dynamic-name block's
 *        index). Unpaired surrogates become U+FFFD. Computed on first use;
 *        valid during the callback only.
 */
WMIEV_EXTERN const char *wmiev_event_name_utf8(const wmiev_event *event);

/** A subscriber's callback. */
typedef void (*wmiev_event_cb)(const wmiev_event *event, void *payload);

/**
 * @brief Subscribes to @p guid. The GUID need not be registered yet. The
 *        first subscriber of a GUID makes the bus send IRP_MN_ENABLE_EVENTS to
 *        every provider of it (before this call returns). A subscription
 *        made from inside a callback does not receive the event being
 *        delivered, only later ones.
 *        Windows: IoWMIOpenBlock(WMIGUID_NOTIFICATION | SYNCHRONIZE) +
 *        IoWMISetNotificationCallback; WMI sends the ENABLE_EVENTS. Events
 *        are validated and delivered on the kernel's notification thread.
 *        IRQL <= APC_LEVEL.
 */
WMIEV_EXTERN wmiev_status wmiev_bus_subscribe(wmiev_bus *bus, const GUID *guid,
                                              wmiev_event_cb callback, void *payload,
                                              wmiev_subscription **out);

/**
 * @brief Ends a subscription. When it returns, its callback is not running
 *        and never runs again — except when called from inside that very
 *        callback, which then finishes normally. The last subscriber of a
 *        GUID makes the bus send IRP_MN_DISABLE_EVENTS to the providers it
 *        enabled.
 *        Windows: the notification callback is replaced by a no-op, the call
 *        waits for callbacks in progress, then ObDereferenceObject.
 *        IRQL <= APC_LEVEL.
 */
WMIEV_EXTERN wmiev_status wmiev_bus_unsubscribe(wmiev_subscription *subscription);

/** @brief Per-subscription counters: callbacks run, events lost. */
WMIEV_EXTERN void wmiev_subscription_counts(const wmiev_subscription *subscription,
                                            uint64_t *delivered, uint64_t *lost);

/**
 * @brief Opens @p guid for queries (the WMI data-block handle). The first
 *        open sends IRP_MN_ENABLE_COLLECTION to the providers that registered
 *        the block EXPENSIVE; the last close sends DISABLE_COLLECTION.
 *        Queries themselves go through requester.h with wmiev_bus_registry().
 *        Windows: IoWMIOpenBlock(WMIGUID_QUERY); WMI does the counting.
 *        IRQL <= APC_LEVEL.
 */
WMIEV_EXTERN wmiev_status wmiev_bus_open_block(wmiev_bus *bus, const GUID *guid,
                                               wmiev_block_handle **out);

/** @brief Closes a handle from wmiev_bus_open_block(). Windows: ObDereferenceObject,
 *         IRQL <= APC_LEVEL. */
WMIEV_EXTERN wmiev_status wmiev_bus_close_block(wmiev_block_handle *handle);

/* ---- Delivery ------------------------------------------------------------------ */

/**
 * @brief Pumped (and libuv) mode: delivers up to @p max_events queued events
 *        (0: all that are queued when the call starts) on the calling thread.
 *        Called from inside one of this bus's callbacks it returns 0 at once:
 *        the dispatch already running delivers the rest. Called from code
 *        the bus runs under its control lock (a provider's ENABLE/DISABLE
 *        handler, the on_warning hook for WMIEV_WARN_ENABLE_FAILED) while
 *        another thread dispatches, it also returns 0 at once instead of
 *        waiting: that dispatcher's callbacks may be waiting for the control
 *        lock (to subscribe, say). The events it did not take wait for the
 *        next call.
 *        Windows: WMI delivers; always 0.
 * @return the number of events taken from the queue.
 */
WMIEV_EXTERN size_t wmiev_bus_dispatch(wmiev_bus *bus, size_t max_events);

/**
 * @brief wmiev_bus_dispatch(), except that when the queue runs empty before
 *        @p max_events were delivered, it keeps polling the queue for up to
 *        @p spin_ns nanoseconds (busy, on the calling thread) and goes on
 *        delivering what comes; it returns after @p spin_ns without an
 *        event, or when @p max_events were delivered. While it runs,
 *        producers do not call the wakeup hook (the consumer is awake), so a
 *        stream of events with gaps shorter than @p spin_ns costs no wakeup
 *        per gap (decisions D23). @p max_events 0 or @p spin_ns 0: exactly
 *        wmiev_bus_dispatch(). The libuv attachment uses it (uv.h).
 *        Windows: always 0.
 * @return the number of events taken from the queue.
 */
WMIEV_EXTERN size_t wmiev_bus_dispatch_spin(wmiev_bus *bus, size_t max_events, uint32_t spin_ns);

/** @brief Events waiting in the queue. */
WMIEV_EXTERN size_t wmiev_bus_pending(wmiev_bus *bus);

/** @brief Counters of the whole bus. */
WMIEV_EXTERN void wmiev_bus_get_stats(wmiev_bus *bus, wmiev_bus_stats *out);

/** @brief Counters of one GUID: zeros for a GUID the bus never saw (one that
 *         no provider registered and no consumer subscribed to or opened). */
WMIEV_EXTERN void wmiev_bus_get_guid_stats(wmiev_bus *bus, const GUID *guid, wmiev_bus_stats *out);

/** @brief Name of a warning or rejection reason, for logs. */
WMIEV_EXTERN const char *wmiev_warning_name(wmiev_warning warning);
WMIEV_EXTERN const char *wmiev_reject_reason_name(wmiev_reject_reason reason);

/**
 * @brief Hook for the libuv attachment (uv.h) and embedders with their own
 *        loop: called (from any thread, outside locks) by the first event
 *        queued after a dispatch ended (or since the bus was created), so
 *        the owner can schedule wmiev_bus_dispatch(); not again until the
 *        next dispatch ends. Events queued while a dispatch runs do not
 *        call it: that dispatch looks at the queue once more before it
 *        returns.
 *        Installing a hook while events wait calls it once at once. Returns
 *        only when no call of the previous hook is still running, so its
 *        context may be freed afterwards (do not call it from inside the hook).
 */
WMIEV_EXTERN void wmiev_bus_set_wakeup(wmiev_bus *bus, void (*wakeup)(void *ctx), void *ctx);

/** @brief The delivery mode the bus was created with (WMIEV_DELIVERY_SYNC for NULL). */
WMIEV_EXTERN wmiev_delivery wmiev_bus_delivery(wmiev_bus *bus);

/** @brief True if a wakeup hook is installed (wmiev_bus_set_wakeup() with a non-NULL hook):
 *         the bus is attached to a loop (uv.h) or to an embedder's own. */
WMIEV_EXTERN bool wmiev_bus_has_wakeup(wmiev_bus *bus);

WMIEV_END_DECLS

#endif /* WMIEV_BUS_H */
