/*
 * Internal shape of the core objects: registry, devices, registered blocks
 * and IRP bookkeeping. Only lib/core (and the layers above, through their
 * own internal headers) may include this.
 *
 * Locking: one registry mutex (`lock`) guards the maps, every device's
 * registration state and block list, and IRP completion state. It is never
 * held while a dispatch routine, an observer or a violation hook runs.
 */
#ifndef WMIEV_CORE_REGISTRY_INTERNAL_H
#define WMIEV_CORE_REGISTRY_INTERNAL_H

#include <wmiev/registry.h>
#include <wmiev/requester.h>
#include <wmiev/wmilib.h>

#include "irp_completer.h"
#include "map.h"
#include "platform/platform.h"

/* A block one device provides. Owned by its device. */
typedef struct wmiev__block {
  GUID guid;
  wmiev_device *device;
  uint32_t flags;
  uint32_t instance_count;
  wmiev_name_source names;
  /* Name material, in UTF-16 units:
   *  BASENAME: the base name; PDO: the PDO's instance id;
   *  LIST: all names back to back, name i = units[list_start[i] .. list_start[i+1]). */
  uint16_t *units;
  size_t units_count;
  uint32_t *list_start; /* LIST only: instance_count + 1 entries */
  uint64_t order;       /* registration order, for "in registration order" */
  struct wmiev__block *next; /* next block of the same device */
} wmiev__block;

/* All providers of one GUID (the value stored in registry->guids). */
typedef struct wmiev__guid_entry {
  GUID guid;
  wmiev__block **blocks;
  size_t count;
  size_t capacity;
} wmiev__guid_entry;

typedef enum wmiev__reg_state {
  WMIEV__UNREGISTERED = 0,
  WMIEV__REGISTERED,
  WMIEV__BLOCKED /* BLOCK_IRPS: registered, but no new WMI IRPs */
} wmiev__reg_state;

struct wmiev_device {
  wmiev_registry *registry;
  uint32_t provider_id;
  wmiev_dispatch_fn dispatch;
  void *payload;
  wmiev_device *lower;
  wmiev_device *upper;
  char *instance_id; /* NULL if none */
  char *name;        /* never NULL */
  /* Under registry->lock: */
  wmiev__reg_state reg_state;
  bool deregistering;  /* new WMI IRPs are refused */
  uint32_t inflight;   /* WMI IRPs sent to this device and not completed */
  wmiev__block *blocks;
  uint16_t *registry_path; /* from the WMIREGISTER answer; may be NULL */
  size_t registry_path_units;
  uint16_t *mof_resource;
  size_t mof_resource_units;
};

struct wmiev_registry {
  wmiev_allocator allocator;
  wmiev_registry_options options;
  wmiev__mutex lock;
  wmiev__cond irp_done; /* broadcast when a pended IRP completes or in-flight drops */
  wmiev__map devices_by_id;  /* provider id -> device */
  wmiev__map devices_by_ptr; /* (uintptr_t)device -> device */
  wmiev__map guids;          /* GUID -> wmiev__guid_entry */
  uint32_t next_provider_id;
  uint64_t next_block_order;
  size_t device_count;
  size_t abandoned_irps; /* timed out, still owned by a driver that may complete them */
  wmiev_registry_stats stats;
};

/* What an IRP carries besides its public fields. Allocated with the IRP and
 * its buffer in one block, so a timed-out IRP can outlive its sender. */
struct wmiev__irp_state {
  wmiev_registry *registry;
  wmiev_device *target;   /* the registered device it was sent to */
  size_t alloc_size;
  bool completed;
  bool pending;
  bool abandoned;         /* sender timed out: the completer frees */
  /* A layer above the core (the WDK face) that must see every completion
   * first: wmiev_irp_complete() hands the IRP to `completer`, which ends by
   * calling wmiev__irp_complete_now(). `completing` is set from then on, so
   * a second completion is caught even before the first one has finished. */
  wmiev__irp_completer_fn completer;
  void *completer_ctx;
  bool completing;
  /* wmilib scratch (wmilib.c): */
  bool wmilib_prepared;
  uint32_t wmilib_guid_index;
  uint32_t wmilib_data_offset;    /* where the callback's data starts in the buffer */
  uint32_t wmilib_instance_count;
  uint32_t wmilib_single_length;  /* InstanceLengthArray for single-instance requests */
  uint32_t wmilib_reply_flags;    /* QUERY_ALL_DATA: the reply's WNODE_FLAG_* before layout bits */
  GUID wmilib_guid;               /* the block's GUID (DataPath may not outlive the sender) */
  wmiev_irp irp;
  _Alignas(8) uint8_t buffer[];
};

/* Allocation through the registry's allocator. */
void *wmiev__alloc(wmiev_registry *registry, size_t size);
void wmiev__free(wmiev_registry *registry, void *ptr, size_t size);
char *wmiev__strdup(wmiev_registry *registry, const char *s);
void wmiev__strfree(wmiev_registry *registry, char *s);
uint16_t *wmiev__units_dup(wmiev_registry *registry, const void *units_le, size_t units);
void wmiev__units_free(wmiev_registry *registry, uint16_t *units, size_t count);

/* Reports a violation (outside the lock). */
void wmiev__report_violation(wmiev_registry *registry, wmiev_violation rule, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Block table maintenance (registry.c); callers hold the lock. */
wmiev_status wmiev__guid_entry_add(wmiev_registry *registry, wmiev__block *block);
void wmiev__guid_entry_remove(wmiev_registry *registry, wmiev__block *block);
void wmiev__block_free(wmiev_registry *registry, wmiev__block *block);

/* Instance names of a block (instance_names.c). */
wmiev_status wmiev__block_instance_name(const wmiev__block *block, uint32_t index, uint16_t *out,
                                        size_t out_units, size_t *units_needed);
bool wmiev__block_find_instance(const wmiev__block *block, const uint16_t *name, size_t units,
                                uint32_t *index);

/* Looks up the block `guid` of provider `provider_id` (registry.c), for the
 * fire path. False if the provider or its block does not exist; with
 * `device_found` telling which. */
bool wmiev__registry_find_block(wmiev_registry *registry, uint32_t provider_id, const GUID *guid,
                                wmiev_block_info *out, bool *device_found);

/* wmiev_query_single_instance() that may also query event-only blocks, for
 * the bus following an event reference (requester.c). */
wmiev_status wmiev__query_single_instance(wmiev_registry *registry, const GUID *guid,
                                          const wmiev_instance_ref *instance, void *buf,
                                          uint32_t *size, bool allow_event_only,
                                          wmiev_diag *diag);

/* Sends a WMI IRP (irp.c): the public wmiev_device_send_wmi_irp() plus
 * `allow_blocked`, which lets the registry's own REGINFO reach a device that
 * is in BLOCK_IRPS state. */
wmiev_status wmiev__send_wmi_irp(wmiev_device *device, uint8_t minor, void *data_path,
                                 void *buffer, uint32_t buffer_size, bool allow_blocked,
                                 wmiev_io_status *io_status);

/* Sends a WMI IRP to the device with 32-bit id `provider_id`, resolved
 * under the registry lock together with the in-flight count, for callers
 * that know the device only from a snapshot (the requester): a device
 * destroyed meanwhile gives STATUS_WMI_GUID_DISCONNECTED instead of a
 * dangling pointer. */
wmiev_status wmiev__send_wmi_irp_to(wmiev_registry *registry, uint32_t provider_id, uint8_t minor,
                                    void *data_path, void *buffer, uint32_t buffer_size,
                                    wmiev_io_status *io_status);

/* Copies the name of the device with 32-bit id `provider_id` into `out`
 * under the registry lock ("(gone)" if there is none). Returns `out`. */
const char *wmiev__device_name_copy(wmiev_registry *registry, uint32_t provider_id, char *out,
                                    size_t size);

/* The thread's innermost dispatch frame's target device, for deadlock checks (irp.c). */
bool wmiev__in_dispatch_for(const wmiev_device *target);

#endif /* WMIEV_CORE_REGISTRY_INTERNAL_H */
