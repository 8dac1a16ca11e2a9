/*
 * Provider-side helpers of the I/O manager (spec §5.1, §5.4, §5.5):
 * IoWMIRegistrationControl, IoWMIDeviceObjectToProviderId,
 * IoWMISuggestInstanceName and IoWMIAllocateInstanceIds.
 *
 * Registration is the core's real handshake (REGINFO_EX then REGINFO,
 * buffer growth, validation): IoWMIRegistrationControl only finds or makes
 * the core device of the DEVICE_OBJECT and hands the action over, so the
 * REGINFO IRPs reach the driver's DispatchSystemControl through its stack
 * before the call returns. DEREGISTER from inside the device's own WMI
 * dispatch is caught by the core (STATUS_POSSIBLE_DEADLOCK, reported as
 * DEREGISTER_IN_DISPATCH) instead of hanging as it would on Windows.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include <wmiev/name.h>

#include "wmi_internal.h"

/* ---- IoWMIRegistrationControl ------------------------------------------------------------ */

NTSTATUS NTAPI IoWMIRegistrationControl(PDEVICE_OBJECT DeviceObject, ULONG Action) {
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "IoWMIRegistrationControl");
  /* The undocumented callback mode (WMIREG_FLAG_CALLBACK) passes a control
   * block where the device object goes: neither is a device we know. */
  if (Action < WMIREG_ACTION_REGISTER || Action > WMIREG_ACTION_BLOCK_IRPS ||
      DeviceObject == NULL || !wmiev__device_is_live(DeviceObject)) {
    return STATUS_INVALID_PARAMETER;
  }
  wmiev_device *core = wmiev__wmi_core_device(DeviceObject, true);
  if (core == NULL) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  NTSTATUS status = wmiev_registration_control(core, Action, NULL);
  if (NT_SUCCESS(status)) {
    /* A failed REGISTER or REREGISTER leaves the registration as it was. */
    if (Action == WMIREG_ACTION_REGISTER || Action == WMIREG_ACTION_REREGISTER) {
      wmiev__wmi_set_registered(core, true);
    } else if (Action == WMIREG_ACTION_DEREGISTER) {
      wmiev__wmi_set_registered(core, false);
    }
  }
  return status;
}

ULONG NTAPI IoWMIDeviceObjectToProviderId(PDEVICE_OBJECT DeviceObject) {
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "IoWMIDeviceObjectToProviderId");
  /* Drivers stamp WNODE_HEADER.ProviderId with this before (or without)
   * registering, so the id exists from the first question on. 0 is never
   * an id: an event carrying it is rejected as from an unknown provider. */
  wmiev_device *core = wmiev__wmi_core_device(DeviceObject, true);
  return core != NULL ? wmiev_device_provider_id(core) : 0;
}

/* ---- Names for the caller ----------------------------------------------------------------- */

/* Pool tag of the names WMI allocates for the caller ("WmiN"). */
#define NAME_TAG ((ULONG)'NimW')

uint16_t *wmiev__wmi_name_alloc(size_t units, NTSTATUS *status) {
  /* MaximumLength counts the NUL too. */
  if (units > UNICODE_STRING_MAX_BYTES / 2u - 1u) {
    *status = STATUS_INVALID_PARAMETER;
    return NULL;
  }
  uint16_t *buffer = ExAllocatePoolWithTag(PagedPool, (units + 1u) * 2u, NAME_TAG);
  *status = buffer != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
  return buffer;
}

void wmiev__wmi_name_give(PUNICODE_STRING out, uint16_t *buffer, size_t units, size_t capacity) {
  buffer[units] = 0;
  out->Buffer = (PWSTR)(void *)buffer;
  out->Length = (USHORT)(units * 2u);
  out->MaximumLength = (USHORT)((capacity + 1u) * 2u);
}

/* ---- IoWMISuggestInstanceName ------------------------------------------------------------- */

/* Units of a PDO's device instance id, into @p out (NULL: count only). */
static NTSTATUS instance_id_units(PDEVICE_OBJECT pdo, uint16_t *out, size_t capacity,
                                  size_t *units) {
  const char *id = wmiev__pdo_instance_id(pdo);
  if (id == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  NTSTATUS status = wmiev_name_utf8_to_utf16(id, strlen(id), 0, out, capacity, units, NULL);
  return out == NULL && status == STATUS_BUFFER_TOO_SMALL ? STATUS_SUCCESS : status;
}

NTSTATUS NTAPI IoWMISuggestInstanceName(PDEVICE_OBJECT PhysicalDeviceObject,
                                        PUNICODE_STRING SymbolicLinkName, BOOLEAN CombineNames,
                                        PUNICODE_STRING SuggestedInstanceName) {
  (void)wmiev__irql_at_most(APC_LEVEL, "IoWMISuggestInstanceName");
  bool have_pdo = PhysicalDeviceObject != NULL;
  bool have_link =
      SymbolicLinkName != NULL && SymbolicLinkName->Buffer != NULL && SymbolicLinkName->Length != 0;
  if (SuggestedInstanceName == NULL || (!have_pdo && !have_link) ||
      (have_link && (SymbolicLinkName->Length & 1u) != 0) ||
      (CombineNames && !(have_pdo && have_link)) ||
      (have_pdo && !wmiev__device_is_live(PhysicalDeviceObject))) {
    return STATUS_INVALID_PARAMETER;
  }
  /* docs/decisions.md: the PDO gives its device instance id (the base of
   * its PDO instance names), the link its own text; combined, both joined
   * by '_'. Without CombineNames the PDO wins when both are given. */
  bool use_pdo = have_pdo;
  bool use_link = have_link && (CombineNames || !have_pdo);
  size_t pdo_units = 0;
  if (use_pdo) {
    NTSTATUS status = instance_id_units(PhysicalDeviceObject, NULL, 0, &pdo_units);
    if (!NT_SUCCESS(status)) {
      return status;
    }
  }
  size_t link_units = use_link ? (size_t)(SymbolicLinkName->Length / 2u) : 0;
  size_t units = pdo_units + (use_pdo && use_link ? 1u : 0u) + link_units;
  NTSTATUS status;
  uint16_t *buffer = wmiev__wmi_name_alloc(units, &status);
  if (buffer == NULL) {
    return status;
  }
  size_t at = 0;
  if (use_pdo) {
    (void)instance_id_units(PhysicalDeviceObject, buffer, pdo_units, &at);
  }
  if (use_pdo && use_link) {
    buffer[at++] = '_';
  }
  if (use_link) {
    memcpy(buffer + at, SymbolicLinkName->Buffer, link_units * 2u);
    at += link_units;
  }
  wmiev__wmi_name_give(SuggestedInstanceName, buffer, at, units);
  return STATUS_SUCCESS;
}

/* ---- IoWMIAllocateInstanceIds -------------------------------------------------------------- */

/* Next free id per GUID, for the life of the host (reset at shutdown). */
typedef struct id_counter {
  GUID guid;
  ULONG next;
} id_counter;

static pthread_mutex_t g_ids_lock = PTHREAD_MUTEX_INITIALIZER;
static id_counter *g_ids;
static size_t g_ids_count, g_ids_capacity;

static void free_ids(void *ctx) {
  (void)ctx;
  pthread_mutex_lock(&g_ids_lock);
  id_counter *ids = g_ids;
  size_t capacity = g_ids_capacity;
  g_ids = NULL;
  g_ids_count = g_ids_capacity = 0;
  pthread_mutex_unlock(&g_ids_lock);
  wmiev__host_free(ids, capacity * sizeof *ids);
}

/* The counter of @p guid, created at 0 (lock held). NULL if out of memory. */
static id_counter *counter_of(const GUID *guid) {
  for (size_t i = 0; i < g_ids_count; i++) {
    if (memcmp(&g_ids[i].guid, guid, sizeof *guid) == 0) {
      return &g_ids[i];
    }
  }
  if (g_ids_count == g_ids_capacity) {
    size_t capacity = g_ids_capacity == 0 ? 8 : g_ids_capacity * 2;
    id_counter *grown = wmiev__host_alloc(capacity * sizeof *grown);
    if (grown == NULL) {
      return NULL;
    }
    if (g_ids_count != 0) {
      memcpy(grown, g_ids, g_ids_count * sizeof *grown);
    }
    wmiev__host_free(g_ids, g_ids_capacity * sizeof *g_ids);
    g_ids = grown;
    g_ids_capacity = capacity;
  }
  id_counter *c = &g_ids[g_ids_count++];
  c->guid = *guid;
  c->next = 0;
  return c;
}

NTSTATUS NTAPI IoWMIAllocateInstanceIds(LPCGUID Guid, ULONG InstanceCount, ULONG *FirstInstanceId) {
  (void)wmiev__irql_at_most(PASSIVE_LEVEL, "IoWMIAllocateInstanceIds");
  if (Guid == NULL || FirstInstanceId == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  if (!wmiev__host_add_shutdown_hook(free_ids, NULL)) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  NTSTATUS status = STATUS_SUCCESS;
  pthread_mutex_lock(&g_ids_lock);
  id_counter *c = counter_of(Guid);
  if (c == NULL) {
    status = STATUS_INSUFFICIENT_RESOURCES;
  } else if (InstanceCount > UINT32_MAX - c->next) {
    /* Ids would repeat: the point of the routine is that they never do. */
    status = STATUS_INTEGER_OVERFLOW;
  } else {
    *FirstInstanceId = c->next;
    c->next += InstanceCount;
  }
  pthread_mutex_unlock(&g_ids_lock);
  return status;
}
