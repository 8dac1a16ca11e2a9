/*
 * The kernel consumer's requests on a WMI data block object (spec §5.6):
 * IoWMIQueryAllData(Multiple), IoWMIQuerySingleInstance(Multiple),
 * IoWMISetSingleInstance, IoWMISetSingleItem, IoWMIExecuteMethod,
 * IoWMIDeviceObjectToInstanceName and IoWMIHandleToInstanceName.
 *
 * Each is the core requester (requester.h) on the host's registry: it sends
 * the IRPs to the providers, grows its buffers on WNODE_TOO_SMALL, validates
 * the replies and chains QUERY_ALL_DATA replies through WnodeHeader.Linkage.
 * What is added here: the object and access checks (WMIGUID_QUERY for
 * queries, WMIGUID_SET for sets, WMIGUID_EXECUTE for methods, else
 * STATUS_ACCESS_DENIED), the *Multiple forms, which chain the single forms'
 * results, and the two-call size protocol of the WDK signatures.
 *
 * Replies of static-name blocks are returned as the provider wrote them
 * (STATIC_INSTANCE_NAMES and an index); the name of a device's instance is
 * what IoWMIDeviceObjectToInstanceName is for.
 */
#include <wmiev/name.h>

#include "wmi_internal.h"

#define ALIGN8(x) (((uint64_t)(x) + 7u) & ~(uint64_t)7u)

/* The block behind @p object if it allows @p access: STATUS_SUCCESS, or why not. */
static NTSTATUS checked_block(PVOID object, ULONG access, const char *routine,
                              wmiev__wmi_block **out) {
  (void)wmiev__irql_at_most(APC_LEVEL, routine);
  *out = wmiev__wmi_block_get(object, routine);
  if (*out == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  return wmiev__wmi_block_allows(*out, access) ? STATUS_SUCCESS : STATUS_ACCESS_DENIED;
}

/* An instance named by a UNICODE_STRING (static or dynamic name alike). */
static bool name_ref(PUNICODE_STRING name, wmiev_instance_ref *ref) {
  memset(ref, 0, sizeof *ref);
  if (name == NULL || name->Buffer == NULL || name->Length == 0 || (name->Length & 1u) != 0) {
    return false;
  }
  ref->name = wmiev__wmi_units(name);
  ref->name_units = name->Length / 2u;
  return true;
}

static uint32_t get_linkage(const UCHAR *wnode) {
  uint32_t linkage;
  memcpy(&linkage, wnode + offsetof(WNODE_HEADER, Linkage), sizeof linkage);
  return linkage;
}

static void set_linkage(UCHAR *wnode, uint32_t linkage) {
  memcpy(wnode + offsetof(WNODE_HEADER, Linkage), &linkage, sizeof linkage);
}

/*
 * Appends results one after the other in the caller's buffer, each 8-aligned,
 * and links the last WNODE of the previous result to the first of the next:
 * the *Multiple forms return one chain, as IoWMIQueryAllData does for one GUID.
 */
typedef struct chain {
  UCHAR *out;
  uint32_t capacity;
  uint64_t used; /* bytes used, or needed once !fits */
  bool fits;
  bool have_last;
  uint64_t last_at; /* offset of the last WNODE written */
} chain;

/* Room for the next result (NULL/0 once something did not fit). */
static UCHAR *chain_room(const chain *c, uint32_t *room) {
  uint64_t at = ALIGN8(c->used);
  if (!c->fits || c->out == NULL || at >= c->capacity) {
    *room = 0;
    return NULL;
  }
  *room = (uint32_t)(c->capacity - at);
  return c->out + at;
}

/* Records a result of @p size bytes written at chain_room() (or only needed). */
static void chain_add(chain *c, NTSTATUS status, uint32_t size) {
  uint64_t at = ALIGN8(c->used);
  if (status == STATUS_BUFFER_TOO_SMALL || !c->fits) {
    c->fits = false;
    c->used = at + size;
    return;
  }
  /* Zero the alignment gap, link the previous chain's end here, find our end. */
  memset(c->out + c->used, 0, (size_t)(at - c->used));
  if (c->have_last) {
    set_linkage(c->out + c->last_at, (uint32_t)(at - c->last_at));
  }
  uint64_t last = at;
  for (uint32_t link = get_linkage(c->out + last); link != 0; link = get_linkage(c->out + last)) {
    last += link;
  }
  c->last_at = last;
  c->have_last = true;
  c->used = at + size;
}

static NTSTATUS chain_end(const chain *c, PULONG size) {
  if (c->used > UINT32_MAX) {
    return STATUS_INVALID_BUFFER_SIZE;
  }
  *size = (ULONG)c->used;
  return c->fits ? STATUS_SUCCESS : STATUS_BUFFER_TOO_SMALL;
}

static bool nothing_there(NTSTATUS status) {
  return status == STATUS_WMI_GUID_NOT_FOUND || status == STATUS_WMI_INSTANCE_NOT_FOUND ||
         status == STATUS_WMI_GUID_DISCONNECTED;
}

/* ---- Queries ---------------------------------------------------------------------------- */

NTSTATUS NTAPI IoWMIQueryAllData(PVOID DataBlockObject, PULONG InOutBufferSize, PVOID OutBuffer) {
  wmiev__wmi_block *b;
  NTSTATUS status = checked_block(DataBlockObject, WMIGUID_QUERY, "IoWMIQueryAllData", &b);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  if (InOutBufferSize == NULL) {
    return STATUS_INVALID_PARAMETER;
  }
  return wmiev_query_all_data(wmiev__host_registry(), wmiev__wmi_block_guid(b), OutBuffer,
                              InOutBufferSize, NULL);
}

NTSTATUS NTAPI IoWMIQueryAllDataMultiple(PVOID *DataBlockObjectList, ULONG ObjectCount,
                                         PULONG InOutBufferSize, PVOID OutBuffer) {
  if (DataBlockObjectList == NULL || InOutBufferSize == NULL ||
      (OutBuffer == NULL && *InOutBufferSize != 0)) {
    (void)wmiev__irql_at_most(APC_LEVEL, "IoWMIQueryAllDataMultiple");
    return STATUS_INVALID_PARAMETER;
  }
  wmiev__wmi_block *b;
  for (ULONG i = 0; i < ObjectCount; i++) {
    NTSTATUS status =
        checked_block(DataBlockObjectList[i], WMIGUID_QUERY, "IoWMIQueryAllDataMultiple", &b);
    if (!NT_SUCCESS(status)) {
      return status;
    }
  }
  chain c = {OutBuffer, *InOutBufferSize, 0, true, false, 0};
  for (ULONG i = 0; i < ObjectCount; i++) {
    b = wmiev__wmi_block_get(DataBlockObjectList[i], "IoWMIQueryAllDataMultiple");
    if (b == NULL) {
      return STATUS_INVALID_PARAMETER;
    }
    uint32_t room;
    UCHAR *at = chain_room(&c, &room);
    NTSTATUS status =
        wmiev_query_all_data(wmiev__host_registry(), wmiev__wmi_block_guid(b), at, &room, NULL);
    if (nothing_there(status)) {
      continue; /* no provider for that GUID (now): nothing to add */
    }
    if (!NT_SUCCESS(status) && status != STATUS_BUFFER_TOO_SMALL) {
      return status;
    }
    chain_add(&c, status, room);
  }
  return chain_end(&c, InOutBufferSize);
}

NTSTATUS NTAPI IoWMIQuerySingleInstance(PVOID DataBlockObject, PUNICODE_STRING InstanceName,
                                        PULONG InOutBufferSize, PVOID OutBuffer) {
  wmiev__wmi_block *b;
  NTSTATUS status = checked_block(DataBlockObject, WMIGUID_QUERY, "IoWMIQuerySingleInstance", &b);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  wmiev_instance_ref ref;
  if (InOutBufferSize == NULL || !name_ref(InstanceName, &ref)) {
    return STATUS_INVALID_PARAMETER;
  }
  return wmiev_query_single_instance(wmiev__host_registry(), wmiev__wmi_block_guid(b), &ref,
                                     OutBuffer, InOutBufferSize, NULL);
}

NTSTATUS NTAPI IoWMIQuerySingleInstanceMultiple(PVOID *DataBlockObjectList,
                                                PUNICODE_STRING InstanceNames, ULONG ObjectCount,
                                                PULONG InOutBufferSize, PVOID OutBuffer) {
  if (DataBlockObjectList == NULL || InstanceNames == NULL || InOutBufferSize == NULL ||
      (OutBuffer == NULL && *InOutBufferSize != 0)) {
    (void)wmiev__irql_at_most(APC_LEVEL, "IoWMIQuerySingleInstanceMultiple");
    return STATUS_INVALID_PARAMETER;
  }
  wmiev__wmi_block *b;
  wmiev_instance_ref ref;
  for (ULONG i = 0; i < ObjectCount; i++) {
    NTSTATUS status = checked_block(DataBlockObjectList[i], WMIGUID_QUERY,
                                    "IoWMIQuerySingleInstanceMultiple", &b);
    if (!NT_SUCCESS(status)) {
      return status;
    }
    if (!name_ref(&InstanceNames[i], &ref)) {
      return STATUS_INVALID_PARAMETER;
    }
  }
  chain c = {OutBuffer, *InOutBufferSize, 0, true, false, 0};
  for (ULONG i = 0; i < ObjectCount; i++) {
    b = wmiev__wmi_block_get(DataBlockObjectList[i], "IoWMIQuerySingleInstanceMultiple");
    if (b == NULL) {
      return STATUS_INVALID_PARAMETER;
    }
    (void)name_ref(&InstanceNames[i], &ref);
    uint32_t room;
    UCHAR *at = chain_room(&c, &room);
    NTSTATUS status = wmiev_query_single_instance(wmiev__host_registry(), wmiev__wmi_block_guid(b),
                                                  &ref, at, &room, NULL);
    if (nothing_there(status)) {
      continue; /* that instance is not there: skipped, not an error */
    }
    if (!NT_SUCCESS(status) && status != STATUS_BUFFER_TOO_SMALL) {
      return status;
    }
    chain_add(&c, status, room);
  }
  return chain_end(&c, InOutBufferSize);
}

/* ---- Sets and methods ------------------------------------------------------------------------ */

NTSTATUS NTAPI IoWMISetSingleInstance(PVOID DataBlockObject, PUNICODE_STRING InstanceName,
                                      ULONG Version, ULONG ValueBufferSize, PVOID ValueBuffer) {
  wmiev__wmi_block *b;
  NTSTATUS status = checked_block(DataBlockObject, WMIGUID_SET, "IoWMISetSingleInstance", &b);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  wmiev_instance_ref ref;
  if (Version != 0 || !name_ref(InstanceName, &ref)) {
    return STATUS_INVALID_PARAMETER;
  }
  return wmiev_set_single_instance(wmiev__host_registry(), wmiev__wmi_block_guid(b), &ref,
                                   ValueBuffer, ValueBufferSize, NULL);
}

NTSTATUS NTAPI IoWMISetSingleItem(PVOID DataBlockObject, PUNICODE_STRING InstanceName,
                                  ULONG DataItemId, ULONG Version, ULONG ValueBufferSize,
                                  PVOID ValueBuffer) {
  wmiev__wmi_block *b;
  NTSTATUS status = checked_block(DataBlockObject, WMIGUID_SET, "IoWMISetSingleItem", &b);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  wmiev_instance_ref ref;
  if (Version != 0 || !name_ref(InstanceName, &ref)) {
    return STATUS_INVALID_PARAMETER;
  }
  return wmiev_set_single_item(wmiev__host_registry(), wmiev__wmi_block_guid(b), &ref, DataItemId,
                               ValueBuffer, ValueBufferSize, NULL);
}

NTSTATUS NTAPI IoWMIExecuteMethod(PVOID DataBlockObject, PUNICODE_STRING InstanceName,
                                  ULONG MethodId, ULONG InBufferSize, PULONG OutBufferSize,
                                  PUCHAR InOutBuffer) {
  wmiev__wmi_block *b;
  NTSTATUS status = checked_block(DataBlockObject, WMIGUID_EXECUTE, "IoWMIExecuteMethod", &b);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  wmiev_instance_ref ref;
  if (OutBufferSize == NULL || !name_ref(InstanceName, &ref)) {
    return STATUS_INVALID_PARAMETER;
  }
  /* One buffer in and out: the requester copies the input into its request
   * before the method runs and the output back after. */
  return wmiev_execute_method(wmiev__host_registry(), wmiev__wmi_block_guid(b), &ref, MethodId,
                              InOutBuffer, InBufferSize, InOutBuffer, OutBufferSize, NULL);
}

/* ---- Instance names ---------------------------------------------------------------------------
 */

/* Static name 0 of @p provider_id's block into a fresh pool UNICODE_STRING. */
static NTSTATUS name_to_pool(const GUID *guid, uint32_t provider_id, PUNICODE_STRING out) {
  wmiev_registry *registry = wmiev__host_registry();
  size_t units = 0;
  NTSTATUS status = wmiev_registry_instance_name(registry, guid, provider_id, 0, NULL, 0, &units);
  if (status != STATUS_BUFFER_TOO_SMALL && !NT_SUCCESS(status)) {
    return status;
  }
  uint16_t *buffer = wmiev__wmi_name_alloc(units, &status);
  if (buffer == NULL) {
    return status;
  }
  size_t written = 0;
  status = wmiev_registry_instance_name(registry, guid, provider_id, 0, buffer, units, &written);
  if (!NT_SUCCESS(status)) {
    ExFreePool(buffer);
    return status; /* it went away, or changed, in between */
  }
  wmiev__wmi_name_give(out, buffer, written, units);
  return STATUS_SUCCESS;
}

NTSTATUS NTAPI IoWMIDeviceObjectToInstanceName(PVOID DataBlockObject, PDEVICE_OBJECT DeviceObject,
                                               PUNICODE_STRING InstanceName) {
  wmiev__wmi_block *b;
  NTSTATUS status = checked_block(DataBlockObject, 0, "IoWMIDeviceObjectToInstanceName", &b);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  if (DeviceObject == NULL || InstanceName == NULL || !wmiev__device_is_live(DeviceObject)) {
    return STATUS_INVALID_PARAMETER;
  }
  /* The provider may be the device itself or a driver above it in its stack
   * (a PDO's function driver registers for it): first registered one wins.
   * Its instance 0 is the name: a WMI library provider has one instance per
   * device (decisions: the name of a device's first static instance). */
  status = STATUS_WMI_INSTANCE_NOT_FOUND;
  for (PDEVICE_OBJECT d = DeviceObject; d != NULL && status == STATUS_WMI_INSTANCE_NOT_FOUND;
       d = d->AttachedDevice) {
    wmiev_device *core = wmiev__wmi_core_device(d, false);
    if (core != NULL) {
      status = name_to_pool(wmiev__wmi_block_guid(b), wmiev_device_provider_id(core), InstanceName);
      if (status == STATUS_WMI_GUID_NOT_FOUND) {
        status = STATUS_WMI_INSTANCE_NOT_FOUND; /* not this one's block: look further up */
      }
    }
  }
  return status;
}

NTSTATUS NTAPI IoWMIHandleToInstanceName(PVOID DataBlockObject, HANDLE FileHandle,
                                         PUNICODE_STRING InstanceName) {
  wmiev__wmi_block *b;
  NTSTATUS status = checked_block(DataBlockObject, 0, "IoWMIHandleToInstanceName", &b);
  if (!NT_SUCCESS(status)) {
    return status;
  }
  (void)FileHandle;
  (void)InstanceName;
  /* The host has no file objects or handles to map back to a device. */
  return STATUS_NOT_SUPPORTED;
}
