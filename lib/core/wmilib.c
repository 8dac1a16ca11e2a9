/*
 * The WMI library logic: WmiSystemControl and WmiCompleteRequest semantics
 * for portable providers (spec §3.5, §4.3-§4.5; docs/decisions.md, "wmilib").
 *
 * wmiev_wmilib_system_control() decodes one WMI IRP for a WMILIB-style
 * context: it answers REGINFO(_EX) itself, checks the provider id, the GUID,
 * the request WNODE and the instance, and then calls exactly one callback.
 * What wmiev_wmilib_complete_request() needs later to package the reply (the
 * data offset, the instance count, the GUID, the reply flags) is written down
 * before that callback runs, in two places:
 *  - the IRP's library state (irp->internal), which is authoritative: a
 *    callback that scribbles over the buffer cannot corrupt it;
 *  - the request WNODE's header, where WMI presets the same kind of fields
 *    (Guid, DataBlockOffset, ...). This is what lets an IRP built by hand,
 *    which has no library state, still be completed, from any thread.
 *
 * The buffer is read and written with memcpy at offsetof positions, so its
 * alignment does not matter to this file. It matters to callbacks, which the
 * WMILIB contract hands a ULONG length array and 8-aligned instance slots
 * inside it: requests that carry a WNODE therefore need an 8-aligned Buffer
 * (every IRP the library sends has one).
 */
#include <string.h>

#include <wmiev/name.h>
#include <wmiev/wnode_validate.h>

#include "platform/tick_clock.h"
#include "registry_internal.h"

#define AT(type, member) ((uint32_t)offsetof(type, member))
#define ALIGN8(x) (((uint64_t)(x) + 7u) & ~(uint64_t)7u)

#define TOO_SMALL_SIZE ((uint32_t)sizeof(WNODE_TOO_SMALL))
#define LENGTHS_AT AT(WNODE_ALL_DATA, OffsetInstanceDataAndLength)
#define ENTRY_SIZE ((uint32_t)sizeof(OFFSETINSTANCEDATAANDLENGTH))

/* ---- Buffer access ---------------------------------------------------------- */

static void put32(uint8_t *buf, uint64_t at, uint32_t value) {
  memcpy(buf + (size_t)at, &value, sizeof value);
}

static uint32_t get32(const uint8_t *buf, uint64_t at) {
  uint32_t value;
  memcpy(&value, buf + (size_t)at, sizeof value);
  return value;
}

static void zero(uint8_t *buf, uint64_t from, uint64_t to) {
  if (to > from) {
    memset(buf + (size_t)from, 0, (size_t)(to - from));
  }
}

/* Where the ALL_DATA instance data starts: after an OffsetInstanceDataAndLength
 * array for every instance, rounded up to 8. The callback writes there before
 * anyone knows whether the reply will use the fixed or the array layout. */
static uint64_t all_data_offset(uint32_t instance_count) {
  return ALIGN8(LENGTHS_AT + (uint64_t)ENTRY_SIZE * instance_count);
}

/* ---- What completion needs --------------------------------------------------- */

typedef struct scratch {
  uint32_t guid_index;
  uint32_t data_offset;    /* ALL_DATA: D; single kinds: the request's DataBlockOffset */
  uint32_t instance_count; /* ALL_DATA: K */
  uint32_t reply_flags;    /* ALL_DATA: ALL_DATA | STATIC_INSTANCE_NAMES [| PDO_INSTANCE_NAMES] */
  GUID guid;
} scratch;

static void remember(wmiev_irp *irp, const scratch *s) {
  wmiev__irp_state *state = irp->internal;
  if (state == NULL) {
    return; /* the preset request header carries it (see the top of the file) */
  }
  state->wmilib_guid_index = s->guid_index;
  state->wmilib_data_offset = s->data_offset;
  state->wmilib_instance_count = s->instance_count;
  state->wmilib_reply_flags = s->reply_flags;
  state->wmilib_guid = s->guid;
  state->wmilib_prepared = true;
}

/* The scratch of an IRP about to be completed; false when an unprepared IRP's
 * buffer is too short to hold the preset fields. */
static bool recall(const wmiev_irp *irp, scratch *s) {
  const wmiev__irp_state *state = irp->internal;
  memset(s, 0, sizeof *s);
  if (state != NULL && state->wmilib_prepared) {
    s->guid_index = state->wmilib_guid_index;
    s->data_offset = state->wmilib_data_offset;
    s->instance_count = state->wmilib_instance_count;
    s->reply_flags = state->wmilib_reply_flags;
    s->guid = state->wmilib_guid;
    return true;
  }
  const uint8_t *buf = irp->Wmi.Buffer;
  uint32_t size = irp->Wmi.BufferSize;
  if (buf == NULL) {
    return false;
  }
  switch (irp->MinorFunction) {
  case IRP_MN_QUERY_ALL_DATA: {
    if (size < TOO_SMALL_SIZE) {
      return false;
    }
    s->instance_count = get32(buf, AT(WNODE_ALL_DATA, InstanceCount));
    uint64_t d = all_data_offset(s->instance_count);
    s->data_offset = (uint32_t)d;
    s->reply_flags = get32(buf, AT(WNODE_HEADER, Flags));
    memcpy(&s->guid, buf + AT(WNODE_HEADER, Guid), sizeof s->guid);
    return d <= UINT32_MAX;
  }
  case IRP_MN_QUERY_SINGLE_INSTANCE:
    if (size < AT(WNODE_SINGLE_INSTANCE, VariableData)) {
      return false;
    }
    s->data_offset = get32(buf, AT(WNODE_SINGLE_INSTANCE, DataBlockOffset));
    return s->data_offset <= size;
  case IRP_MN_EXECUTE_METHOD:
    if (size < AT(WNODE_METHOD_ITEM, VariableData)) {
      return false;
    }
    s->data_offset = get32(buf, AT(WNODE_METHOD_ITEM, DataBlockOffset));
    return s->data_offset <= size;
  default:
    return true;
  }
}

/* ---- WmiSystemControl ---------------------------------------------------------- */

/* One decoded request for one of the context's blocks. */
typedef struct request {
  const wmiev_wmilib_context *context;
  wmiev_device *device;
  wmiev_irp *irp;
  uint8_t *buf;  /* Parameters.WMI.Buffer */
  uint32_t size; /* Parameters.WMI.BufferSize */
  scratch s;
} request;

/* wmilib answers by itself: the caller completes (IrpNotCompleted). */
static wmiev_status not_completed(wmiev_irp *irp, wmiev_irp_disposition *disposition,
                                  wmiev_status status, uintptr_t information) {
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = information;
  *disposition = WMIEV_IRP_NOT_COMPLETED;
  return status;
}

static const wmiev_guid_reg *block_of(const request *rq) {
  return &rq->context->guid_list[rq->s.guid_index];
}

/* The flags the registry holds for the device's block: the GUID list's flags
 * OR-ed with the RegFlags of the last REGINFO answer, which is where a
 * WMILIB driver usually says INSTANCE_PDO. 0 when not registered. */
static uint32_t registered_flags(wmiev_device *device, const GUID *guid) {
  wmiev_registry *registry = device->registry;
  uint32_t flags = 0;
  wmiev__mutex_lock(&registry->lock);
  for (const wmiev__block *b = device->blocks; b != NULL; b = b->next) {
    if (memcmp(&b->guid, guid, sizeof *guid) == 0) {
      flags = b->flags;
      break;
    }
  }
  wmiev__mutex_unlock(&registry->lock);
  return flags;
}

/*
 * The request WNODE of an instance-addressed minor: it must validate, be of
 * @p kind, and name a static instance the block has. wmilib serves static
 * names only (spec §3.5): a dynamic name is an instance it does not have,
 * which also tells WMI to ask the other providers of the GUID.
 */
static wmiev_status addressed_instance(request *rq, wmiev_wnode_kind kind, wmiev_wnode_view *view) {
  wmiev_status status = wmiev_wnode_validate(rq->buf, rq->size, 0, view, NULL);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  if (view->kind != kind) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (!view->static_names || view->instance.index >= block_of(rq)->instance_count) {
    return WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND;
  }
  /* Validated: DataBlockOffset <= WnodeHeader.BufferSize <= Parameters.WMI.BufferSize. */
  rq->s.data_offset = view->data_block_offset;
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status handle_query_all_data(request *rq, wmiev_irp_disposition *disposition) {
  const wmiev_wmilib_callbacks *cb = &rq->context->callbacks;
  if (cb->query_data_block == NULL) {
    return not_completed(rq->irp, disposition, WMIEV_STATUS_INVALID_DEVICE_REQUEST, 0);
  }
  /* Below sizeof(WNODE_TOO_SMALL) not even "too small" can be said in the buffer. */
  if (rq->buf == NULL || rq->size < TOO_SMALL_SIZE) {
    return not_completed(rq->irp, disposition, WMIEV_STATUS_BUFFER_TOO_SMALL, 0);
  }
  uint32_t count = block_of(rq)->instance_count;
  uint64_t d = all_data_offset(count);
  if (d > UINT32_MAX) {
    return not_completed(rq->irp, disposition, WMIEV_STATUS_INVALID_PARAMETER, 0);
  }
  bool pdo_names = ((block_of(rq)->flags | registered_flags(rq->device, &rq->s.guid)) &
                    WMIREG_FLAG_INSTANCE_PDO) != 0;
  rq->s.data_offset = (uint32_t)d;
  rq->s.instance_count = count;
  rq->s.reply_flags = WNODE_FLAG_ALL_DATA | WNODE_FLAG_STATIC_INSTANCE_NAMES |
                      (pdo_names ? WNODE_FLAG_PDO_INSTANCE_NAMES : 0u);

  /* Preset what WMI presets, plus what a hand-built IRP needs at completion. */
  memcpy(rq->buf + AT(WNODE_HEADER, Guid), &rq->s.guid, sizeof rq->s.guid);
  put32(rq->buf, AT(WNODE_HEADER, Flags), rq->s.reply_flags);
  put32(rq->buf, AT(WNODE_ALL_DATA, DataBlockOffset), (uint32_t)d);
  put32(rq->buf, AT(WNODE_ALL_DATA, InstanceCount), count);

  /* The ULONG length array lives in the first 4K bytes of the (8K-byte)
   * OffsetInstanceDataAndLength array; completion widens it in place. It is
   * handed out whenever it fits, even with no byte left for data: instances
   * may be empty. */
  uint32_t *lengths = NULL;
  uint32_t avail = 0;
  uint8_t *data = rq->buf + (d < rq->size ? (size_t)d : rq->size);
  if (d <= rq->size) {
    zero(rq->buf, LENGTHS_AT, LENGTHS_AT + 4ull * count);
    lengths = (uint32_t *)(void *)(rq->buf + LENGTHS_AT);
    avail = rq->size - (uint32_t)d;
  }
  remember(rq->irp, &rq->s);
  *disposition = WMIEV_IRP_PROCESSED;
  return cb->query_data_block(rq->device, rq->irp, rq->s.guid_index, 0, count, lengths, avail, data,
                              rq->context->payload);
}

static wmiev_status handle_query_single_instance(request *rq, wmiev_irp_disposition *disposition) {
  const wmiev_wmilib_callbacks *cb = &rq->context->callbacks;
  wmiev_wnode_view view;
  wmiev_status status = addressed_instance(rq, WMIEV_WNODE_SINGLE_INSTANCE, &view);
  if (!WMIEV_SUCCESS(status)) {
    return not_completed(rq->irp, disposition, status, 0);
  }
  if (cb->query_data_block == NULL) {
    return not_completed(rq->irp, disposition, WMIEV_STATUS_INVALID_DEVICE_REQUEST, 0);
  }
  /* Somewhere for InstanceLengthArray[0] that outlives a pended call:
   * the IRP state, or for a hand-built IRP the SizeDataBlock it replaces. */
  wmiev__irp_state *state = rq->irp->internal;
  uint32_t *length = state != NULL
                         ? &state->wmilib_single_length
                         : (uint32_t *)(void *)(rq->buf + AT(WNODE_SINGLE_INSTANCE, SizeDataBlock));
  uint32_t offset = rq->s.data_offset;
  remember(rq->irp, &rq->s);
  *disposition = WMIEV_IRP_PROCESSED;
  return cb->query_data_block(rq->device, rq->irp, rq->s.guid_index, view.instance.index, 1, length,
                              rq->size - offset, rq->buf + offset, rq->context->payload);
}

static wmiev_status handle_change_single_instance(request *rq, wmiev_irp_disposition *disposition) {
  const wmiev_wmilib_callbacks *cb = &rq->context->callbacks;
  wmiev_wnode_view view;
  wmiev_status status = addressed_instance(rq, WMIEV_WNODE_SINGLE_INSTANCE, &view);
  if (!WMIEV_SUCCESS(status)) {
    return not_completed(rq->irp, disposition, status, 0);
  }
  if (cb->set_data_block == NULL) {
    return not_completed(rq->irp, disposition, WMIEV_STATUS_WMI_READ_ONLY, 0);
  }
  remember(rq->irp, &rq->s);
  *disposition = WMIEV_IRP_PROCESSED;
  return cb->set_data_block(rq->device, rq->irp, rq->s.guid_index, view.instance.index,
                            view.instance.size, rq->buf + rq->s.data_offset, rq->context->payload);
}

static wmiev_status handle_change_single_item(request *rq, wmiev_irp_disposition *disposition) {
  const wmiev_wmilib_callbacks *cb = &rq->context->callbacks;
  wmiev_wnode_view view;
  wmiev_status status = addressed_instance(rq, WMIEV_WNODE_SINGLE_ITEM, &view);
  if (!WMIEV_SUCCESS(status)) {
    return not_completed(rq->irp, disposition, status, 0);
  }
  if (cb->set_data_item == NULL) {
    return not_completed(rq->irp, disposition, WMIEV_STATUS_WMI_READ_ONLY, 0);
  }
  remember(rq->irp, &rq->s);
  *disposition = WMIEV_IRP_PROCESSED;
  return cb->set_data_item(rq->device, rq->irp, rq->s.guid_index, view.instance.index, view.item_id,
                           view.instance.size, rq->buf + rq->s.data_offset, rq->context->payload);
}

static wmiev_status handle_execute_method(request *rq, wmiev_irp_disposition *disposition) {
  const wmiev_wmilib_callbacks *cb = &rq->context->callbacks;
  wmiev_wnode_view view;
  wmiev_status status = addressed_instance(rq, WMIEV_WNODE_METHOD_ITEM, &view);
  if (!WMIEV_SUCCESS(status)) {
    return not_completed(rq->irp, disposition, status, 0);
  }
  if (cb->execute_method == NULL) {
    return not_completed(rq->irp, disposition, WMIEV_STATUS_INVALID_DEVICE_REQUEST, 0);
  }
  /* The output overwrites the input in place and may use the whole rest of the buffer. */
  uint32_t offset = rq->s.data_offset;
  remember(rq->irp, &rq->s);
  *disposition = WMIEV_IRP_PROCESSED;
  return cb->execute_method(rq->device, rq->irp, rq->s.guid_index, view.instance.index,
                            view.item_id, view.instance.size, rq->size - offset, rq->buf + offset,
                            rq->context->payload);
}

/* ENABLE/DISABLE_EVENTS and ENABLE/DISABLE_COLLECTION: the buffer is not
 * looked at (only ETW loggers put anything there, spec §4.3). */
static wmiev_status handle_function_control(request *rq, wmiev_function_control function,
                                            bool enable, wmiev_irp_disposition *disposition) {
  const wmiev_wmilib_callbacks *cb = &rq->context->callbacks;
  if (cb->function_control == NULL) {
    return not_completed(rq->irp, disposition, WMIEV_STATUS_SUCCESS, 0);
  }
  remember(rq->irp, &rq->s);
  *disposition = WMIEV_IRP_PROCESSED;
  return cb->function_control(rq->device, rq->irp, rq->s.guid_index, function, enable,
                              rq->context->payload);
}

/* ---- REGINFO ----------------------------------------------------------------- */

/* Where everything of a WMIREGINFOW answer goes. */
typedef struct reginfo_plan {
  uint32_t guid_count;
  const wmiev_guid_reg *guid_list;
  uint32_t base_name_at; /* 0: no base name */
  uint32_t registry_path_at;
  uint32_t mof_at;
  uint64_t total;
} reginfo_plan;

/* Appends one counted string at plan->total when @p present; its offset goes to @p at. */
static wmiev_status plan_string(reginfo_plan *plan, bool present, const uint16_t *units,
                                size_t count, uint32_t *at) {
  *at = 0;
  if (!present) {
    return WMIEV_STATUS_SUCCESS;
  }
  if (units == NULL && count != 0) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (count > WMIEV_NAME_MAX_BYTES / 2u) {
    return WMIEV_STATUS_NAME_TOO_LONG;
  }
  if (plan->total > UINT32_MAX) {
    return WMIEV_STATUS_INVALID_BUFFER_SIZE;
  }
  *at = (uint32_t)plan->total;
  plan->total += 2u + 2u * (uint64_t)count;
  return WMIEV_STATUS_SUCCESS;
}

/* The flags of entry @p i as registered: its own OR the answer's RegFlags (spec §3.5). */
static uint32_t entry_flags(const reginfo_plan *plan, const wmiev_reginfo_answer *answer,
                            uint32_t i) {
  return plan->guid_list[i].flags | answer->reg_flags;
}

/* PDO wins over BASENAME in the union; a record with both is rejected by the
 * registry's parser anyway. */
static bool uses_base_name(uint32_t flags) {
  return (flags & WMIREG_FLAG_INSTANCE_PDO) == 0 && (flags & WMIREG_FLAG_INSTANCE_BASENAME) != 0;
}

static wmiev_status plan_reginfo(const wmiev_wmilib_context *context,
                                 const wmiev_reginfo_answer *answer, bool full,
                                 reginfo_plan *plan) {
  memset(plan, 0, sizeof *plan);
  plan->guid_count = context->guid_count;
  plan->guid_list = context->guid_list;
  if (plan->guid_count != 0 && plan->guid_list == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  bool base_name = false;
  for (uint32_t i = 0; i < plan->guid_count; i++) {
    if (plan->guid_list[i].guid == NULL) {
      return WMIEV_STATUS_INVALID_PARAMETER;
    }
    base_name = base_name || uses_base_name(entry_flags(plan, answer, i));
  }
  /* A block that promises base-name instances needs the name. */
  if (base_name && answer->base_name == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  plan->total = AT(WMIREGINFOW, WmiRegGuid) + (uint64_t)plan->guid_count * sizeof(WMIREGGUIDW);
  /* The GUID array ends 4-aligned, and every counted string is 2 + 2n bytes:
   * all strings stay 2-aligned without padding. */
  wmiev_status status =
      plan_string(plan, base_name, answer->base_name, answer->base_name_units, &plan->base_name_at);
  if (WMIEV_SUCCESS(status)) {
    status = plan_string(plan, full && answer->registry_path != NULL, answer->registry_path,
                         answer->registry_path_units, &plan->registry_path_at);
  }
  if (WMIEV_SUCCESS(status)) {
    status = plan_string(plan, full && answer->mof_resource != NULL, answer->mof_resource,
                         answer->mof_resource_units, &plan->mof_at);
  }
  if (WMIEV_SUCCESS(status) && plan->total > UINT32_MAX) {
    status = WMIEV_STATUS_INVALID_BUFFER_SIZE;
  }
  return status;
}

static void write_reginfo(uint8_t *buf, const reginfo_plan *plan,
                          const wmiev_reginfo_answer *answer) {
  zero(buf, 0, plan->total);
  put32(buf, AT(WMIREGINFOW, BufferSize), (uint32_t)plan->total);
  put32(buf, AT(WMIREGINFOW, NextWmiRegInfo), 0);
  put32(buf, AT(WMIREGINFOW, RegistryPath), plan->registry_path_at);
  put32(buf, AT(WMIREGINFOW, MofResourceName), plan->mof_at);
  put32(buf, AT(WMIREGINFOW, GuidCount), plan->guid_count);
  for (uint32_t i = 0; i < plan->guid_count; i++) {
    WMIREGGUIDW entry;
    memset(&entry, 0, sizeof entry);
    entry.Guid = *plan->guid_list[i].guid;
    entry.Flags = entry_flags(plan, answer, i);
    entry.InstanceCount = plan->guid_list[i].instance_count;
    if ((entry.Flags & WMIREG_FLAG_INSTANCE_PDO) != 0) {
      entry.Pdo = answer->pdo;
    } else if (uses_base_name(entry.Flags)) {
      entry.BaseNameOffset = plan->base_name_at;
    }
    memcpy(buf + AT(WMIREGINFOW, WmiRegGuid) + (size_t)i * sizeof entry, &entry, sizeof entry);
  }
  if (plan->base_name_at != 0) {
    (void)wmiev_counted_string_write(buf + plan->base_name_at, answer->base_name,
                                     answer->base_name_units);
  }
  if (plan->registry_path_at != 0) {
    (void)wmiev_counted_string_write(buf + plan->registry_path_at, answer->registry_path,
                                     answer->registry_path_units);
  }
  if (plan->mof_at != 0) {
    (void)wmiev_counted_string_write(buf + plan->mof_at, answer->mof_resource,
                                     answer->mof_resource_units);
  }
}

/* REGINFO and REGINFO_EX get the same answer; the caller completes either way. */
static wmiev_status handle_reginfo(const wmiev_wmilib_context *context, wmiev_device *device,
                                   wmiev_irp *irp, wmiev_irp_disposition *disposition) {
  if (context->callbacks.query_reginfo == NULL) {
    return not_completed(irp, disposition, WMIEV_STATUS_INVALID_DEVICE_REQUEST, 0);
  }
  uintptr_t data_path = (uintptr_t)irp->Wmi.DataPath;
  if (data_path != WMIREGISTER && data_path != WMIUPDATE) {
    return not_completed(irp, disposition, WMIEV_STATUS_INVALID_PARAMETER, 0);
  }
  wmiev_reginfo_answer answer;
  memset(&answer, 0, sizeof answer);
  wmiev_status status = context->callbacks.query_reginfo(device, &answer, context->payload);
  if (!WMIEV_SUCCESS(status)) {
    return not_completed(irp, disposition, status, 0);
  }
  /* Read the GUID list only now: the callback may have just filled it in. */
  reginfo_plan plan;
  status = plan_reginfo(context, &answer, data_path == WMIREGISTER, &plan);
  if (!WMIEV_SUCCESS(status)) {
    return not_completed(irp, disposition, status, 0);
  }
  uint8_t *buf = irp->Wmi.Buffer;
  uint32_t size = buf != NULL ? irp->Wmi.BufferSize : 0;
  if (plan.total > size) {
    /* The documented form: the size needed as a ULONG, and BUFFER_TOO_SMALL. */
    if (size < sizeof(uint32_t)) {
      return not_completed(irp, disposition, WMIEV_STATUS_BUFFER_TOO_SMALL, 0);
    }
    put32(buf, 0, (uint32_t)plan.total);
    return not_completed(irp, disposition, WMIEV_STATUS_BUFFER_TOO_SMALL, sizeof(uint32_t));
  }
  write_reginfo(buf, &plan, &answer);
  return not_completed(irp, disposition, WMIEV_STATUS_SUCCESS, (uintptr_t)plan.total);
}

/* ---- Dispatch --------------------------------------------------------------------- */

/* Finds the block DataPath names; requests that carry a WNODE also need an
 * 8-aligned buffer (see the top of the file). */
static wmiev_status locate_block(const wmiev_wmilib_context *context, wmiev_device *device,
                                 wmiev_irp *irp, request *rq) {
  memset(rq, 0, sizeof *rq);
  rq->context = context;
  rq->device = device;
  rq->irp = irp;
  rq->buf = irp->Wmi.Buffer;
  rq->size = rq->buf != NULL ? irp->Wmi.BufferSize : 0;
  const GUID *guid = irp->Wmi.DataPath;
  if (guid == NULL || (context->guid_count != 0 && context->guid_list == NULL)) {
    return WMIEV_STATUS_WMI_GUID_NOT_FOUND;
  }
  uint32_t i = 0;
  while (i < context->guid_count && (context->guid_list[i].guid == NULL ||
                                     memcmp(context->guid_list[i].guid, guid, sizeof *guid) != 0)) {
    i++;
  }
  if (i == context->guid_count) {
    return WMIEV_STATUS_WMI_GUID_NOT_FOUND;
  }
  rq->s.guid_index = i;
  rq->s.guid = *guid;
  uint8_t minor = irp->MinorFunction;
  bool carries_wnode = minor <= IRP_MN_CHANGE_SINGLE_ITEM || minor == IRP_MN_EXECUTE_METHOD;
  if (carries_wnode && ((uintptr_t)rq->buf & 7u) != 0) {
    return WMIEV_STATUS_DATATYPE_MISALIGNMENT;
  }
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_wmilib_system_control(const wmiev_wmilib_context *context, wmiev_device *device,
                                         wmiev_irp *irp, wmiev_irp_disposition *disposition) {
  if (context == NULL || device == NULL || irp == NULL || disposition == NULL) {
    if (disposition != NULL) {
      *disposition = WMIEV_IRP_NOT_COMPLETED;
    }
    if (irp != NULL) {
      irp->IoStatus.Status = WMIEV_STATUS_INVALID_PARAMETER;
      irp->IoStatus.Information = 0;
    }
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  uint8_t minor = irp->MinorFunction;
  if (irp->MajorFunction != IRP_MJ_SYSTEM_CONTROL ||
      (minor > IRP_MN_EXECUTE_METHOD && minor != IRP_MN_REGINFO_EX)) {
    *disposition = WMIEV_IRP_NOT_WMI;
    return irp->IoStatus.Status;
  }
  /* Every WMI minor, REGINFO included, is for one device only (spec §4.2). */
  if (irp->Wmi.ProviderId != wmiev_device_irp_provider_id(device)) {
    *disposition = WMIEV_IRP_FORWARD;
    return irp->IoStatus.Status;
  }
  if (minor == IRP_MN_REGINFO || minor == IRP_MN_REGINFO_EX) {
    return handle_reginfo(context, device, irp, disposition);
  }
  request rq;
  wmiev_status status = locate_block(context, device, irp, &rq);
  if (!WMIEV_SUCCESS(status)) {
    return not_completed(irp, disposition, status, 0);
  }
  switch (minor) {
  case IRP_MN_QUERY_ALL_DATA:
    return handle_query_all_data(&rq, disposition);
  case IRP_MN_QUERY_SINGLE_INSTANCE:
    return handle_query_single_instance(&rq, disposition);
  case IRP_MN_CHANGE_SINGLE_INSTANCE:
    return handle_change_single_instance(&rq, disposition);
  case IRP_MN_CHANGE_SINGLE_ITEM:
    return handle_change_single_item(&rq, disposition);
  case IRP_MN_ENABLE_EVENTS:
    return handle_function_control(&rq, WMIEV_EVENT_CONTROL, true, disposition);
  case IRP_MN_DISABLE_EVENTS:
    return handle_function_control(&rq, WMIEV_EVENT_CONTROL, false, disposition);
  case IRP_MN_ENABLE_COLLECTION:
    return handle_function_control(&rq, WMIEV_DATA_BLOCK_CONTROL, true, disposition);
  case IRP_MN_DISABLE_COLLECTION:
    return handle_function_control(&rq, WMIEV_DATA_BLOCK_CONTROL, false, disposition);
  default: /* IRP_MN_EXECUTE_METHOD: the only minor left */
    return handle_execute_method(&rq, disposition);
  }
}

/* ---- WmiCompleteRequest ----------------------------------------------------------- */

/* The IRP being completed and where to report a broken reply. */
typedef struct reply {
  wmiev_device *device;
  wmiev_irp *irp;
  uint8_t *buf;
  uint32_t size;
  wmiev_registry *registry; /* NULL: nowhere to report */
} reply;

/* A reply that cannot be right: report it and fail the IRP rather than hand
 * the requester a WNODE that claims bytes nobody wrote. */
static wmiev_status reject_reply(const reply *r, const char *what, uint64_t claimed,
                                 uint64_t limit) {
  if (r->registry != NULL) {
    wmiev__report_violation(r->registry, WMIEV_VIOLATION_BAD_REPLY,
                            "device '%s' completed WMI IRP minor 0x%02x with %s (%llu, limit "
                            "%llu); completed with STATUS_INVALID_BUFFER_SIZE",
                            r->device != NULL ? r->device->name : "?",
                            (unsigned)r->irp->MinorFunction, what, (unsigned long long)claimed,
                            (unsigned long long)limit);
  }
  return wmiev_irp_complete(r->irp, WMIEV_STATUS_INVALID_BUFFER_SIZE, 0);
}

/*
 * "Needs @p needed bytes": a WNODE_TOO_SMALL completed with STATUS_SUCCESS
 * when the buffer holds one (WMI then grows the buffer and asks again), else
 * STATUS_BUFFER_TOO_SMALL (spec §2.7). Written in the sample's form: only
 * BufferSize, Flags and SizeNeeded; the rest of the request header stays.
 */
static wmiev_status reply_too_small(const reply *r, uint64_t needed) {
  if (needed > UINT32_MAX) {
    return reject_reply(r, "a size needed that does not fit a ULONG", needed, UINT32_MAX);
  }
  if (needed <= r->size) {
    /* The requester would resend the same size forever. */
    return reject_reply(r, "STATUS_BUFFER_TOO_SMALL for a size the buffer already has", needed,
                        r->size);
  }
  if (r->size < TOO_SMALL_SIZE) {
    return wmiev_irp_complete(r->irp, WMIEV_STATUS_BUFFER_TOO_SMALL, 0);
  }
  put32(r->buf, AT(WNODE_HEADER, BufferSize), TOO_SMALL_SIZE);
  put32(r->buf, AT(WNODE_HEADER, Flags), WNODE_FLAG_TOO_SMALL);
  put32(r->buf, AT(WNODE_TOO_SMALL, SizeNeeded), (uint32_t)needed);
  zero(r->buf, AT(WNODE_TOO_SMALL, SizeNeeded) + 4u, TOO_SMALL_SIZE); /* tail padding */
  return wmiev_irp_complete(r->irp, WMIEV_STATUS_SUCCESS, TOO_SMALL_SIZE);
}

/* The header fields every data reply refreshes. TimeStamp is what
 * KeQuerySystemTime returns (spec §4.3 and §4.5): the registry's clock (its
 * bus's), else the tick clock (D20). */
static void stamp_reply(const reply *r, uint8_t *buf, uint32_t buffer_size) {
  int64_t now = r->registry != NULL && r->registry->options.now != NULL
                    ? r->registry->options.now(r->registry->options.now_ctx)
                    : wmiev__tick_clock_now();
  put32(buf, AT(WNODE_HEADER, BufferSize), buffer_size);
  memcpy(buf + AT(WNODE_HEADER, TimeStamp), &now, sizeof now);
}

/*
 * QUERY_ALL_DATA. The callback left K ULONG lengths at offset 60 and the
 * instances from D on, each 8-aligned. Equal lengths (or none) become the
 * FIXED_INSTANCE_SIZE layout with the data where it is; otherwise the
 * lengths are widened in place into OffsetInstanceDataAndLength entries.
 */
static wmiev_status complete_all_data(const reply *r, wmiev_status status, uint32_t used) {
  scratch s;
  if (!recall(r->irp, &s)) {
    return wmiev_irp_complete(r->irp, status, 0);
  }
  uint64_t d = s.data_offset;
  uint32_t count = s.instance_count;
  if (status == WMIEV_STATUS_BUFFER_TOO_SMALL) {
    return reply_too_small(r, d + used);
  }
  if (!WMIEV_SUCCESS(status)) {
    return wmiev_irp_complete(r->irp, status, 0);
  }
  uint64_t avail = r->size >= d ? r->size - d : 0;
  if (used > avail) {
    return reject_reply(r, "more bytes used than the buffer had available", used, avail);
  }
  if (d > r->size) {
    /* The length array did not fit, so the callback was given nowhere to
     * report lengths: with no instances that is merely too small. */
    if (count == 0) {
      return reply_too_small(r, d);
    }
    return reject_reply(r, "success although the instance length array did not fit", d, r->size);
  }
  uint8_t *buf = r->buf;
  uint64_t end = d;
  uint32_t first = count != 0 ? get32(buf, LENGTHS_AT) : 0;
  bool same = true;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t length = get32(buf, LENGTHS_AT + 4ull * i);
    end = (i == 0 ? d : ALIGN8(end)) + length;
    same = same && length == first;
  }
  if (end > d + used) {
    return reject_reply(r, "instance lengths that end past the bytes used", end - d, used);
  }
  if (same) {
    put32(buf, AT(WNODE_ALL_DATA, FixedInstanceSize), first);
    zero(buf, LENGTHS_AT + 4u, d);
  } else {
    /* From the last entry down: entry i covers length slots 2i and 2i + 1,
     * never a slot below i, so every length is read before it is overwritten. */
    uint64_t next = end;
    for (uint32_t i = count; i-- > 0;) {
      uint32_t length = get32(buf, LENGTHS_AT + 4ull * i);
      uint64_t at = i + 1 == count ? end - length : next - ALIGN8(length);
      put32(buf, LENGTHS_AT + (uint64_t)ENTRY_SIZE * i, (uint32_t)at);
      put32(buf, LENGTHS_AT + (uint64_t)ENTRY_SIZE * i + 4u, length);
      next = at;
    }
    zero(buf, LENGTHS_AT + (uint64_t)ENTRY_SIZE * count, d);
  }
  stamp_reply(r, buf, (uint32_t)end);
  memcpy(buf + AT(WNODE_HEADER, Guid), &s.guid, sizeof s.guid);
  put32(buf, AT(WNODE_HEADER, Flags), s.reply_flags | (same ? WNODE_FLAG_FIXED_INSTANCE_SIZE : 0u));
  put32(buf, AT(WNODE_ALL_DATA, DataBlockOffset), (uint32_t)d);
  put32(buf, AT(WNODE_ALL_DATA, InstanceCount), count);
  put32(buf, AT(WNODE_ALL_DATA, OffsetInstanceNameOffsets), 0);
  return wmiev_irp_complete(r->irp, status, (uintptr_t)end);
}

/* QUERY_SINGLE_INSTANCE and EXECUTE_METHOD: the data (or method output) sits
 * at the request's DataBlockOffset; @p size_at is where its size goes. */
static wmiev_status complete_in_place(const reply *r, wmiev_status status, uint32_t used,
                                      uint32_t size_at) {
  scratch s;
  if (!recall(r->irp, &s)) {
    return wmiev_irp_complete(r->irp, status, 0);
  }
  if (status == WMIEV_STATUS_BUFFER_TOO_SMALL) {
    return reply_too_small(r, (uint64_t)s.data_offset + used);
  }
  if (!WMIEV_SUCCESS(status)) {
    return wmiev_irp_complete(r->irp, status, 0);
  }
  uint32_t avail = r->size - s.data_offset;
  if (used > avail) {
    return reject_reply(r, "more bytes used than the buffer had available", used, avail);
  }
  put32(r->buf, size_at, used);
  stamp_reply(r, r->buf, s.data_offset + used);
  return wmiev_irp_complete(r->irp, status, (uintptr_t)s.data_offset + used);
}

wmiev_status wmiev_wmilib_complete_request(wmiev_device *device, wmiev_irp *irp,
                                           wmiev_status status, uint32_t buffer_used) {
  if (irp == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  /* A second completion must not rewrite the reply the first one delivered:
   * straight to wmiev_irp_complete, which records the violation. */
  if (wmiev_irp_is_completed(irp)) {
    return wmiev_irp_complete(irp, status, 0);
  }
  reply r = {device, irp, irp->Wmi.Buffer, irp->Wmi.Buffer != NULL ? irp->Wmi.BufferSize : 0,
             irp->internal != NULL ? irp->internal->registry
                                   : (device != NULL ? device->registry : NULL)};
  switch (irp->MinorFunction) {
  case IRP_MN_QUERY_ALL_DATA:
    return complete_all_data(&r, status, buffer_used);
  case IRP_MN_QUERY_SINGLE_INSTANCE:
    return complete_in_place(&r, status, buffer_used, AT(WNODE_SINGLE_INSTANCE, SizeDataBlock));
  case IRP_MN_EXECUTE_METHOD:
    return complete_in_place(&r, status, buffer_used, AT(WNODE_METHOD_ITEM, SizeDataBlock));
  default:
    /* Changes and function control return no data (spec §4.5). */
    return wmiev_irp_complete(irp, status, 0);
  }
}
