/*
 * WNODE builders (spec §2, layout rules §2.8).
 *
 * Every builder runs in two phases: first it checks the arguments and works
 * out the complete size in 64-bit arithmetic (so nothing can wrap, even with
 * 32-bit size_t), then, if the caller's buffer is large enough, it zeroes
 * [0, BufferSize) and writes the fields. A failing call writes nothing.
 *
 * The caller's buffer may have any alignment, so fields are stored one by one
 * with memcpy at their offsetof positions; no struct pointer is ever formed
 * over the buffer.
 *
 * Diagnostics: `field` names the argument at fault ("extra_flags",
 * "instance.name", "instances[].size", ...). diag->field must be a static
 * string, so an element of the ALL_DATA instance array is named
 * "instances[].<member>" and its index goes into diag->offset (a builder has
 * no input buffer whose byte offset could be reported instead).
 */
#include <wmiev/wmiev.h>

#include <string.h>

/* Not ALIGN_UP: the kernel build sees <wdm.h> (wnode.h), which defines that name. */
#define ROUND_UP(value, n) (((uint64_t)(value) + ((n)-1u)) & ~(uint64_t)((n)-1u))

/* The fixed part of a FIXED_INSTANCE_SIZE WNODE_ALL_DATA: Microsoft's
 * sizeof(WNODE_ALL_DATA). Spelt out because the kernel build uses the
 * system's declaration, which is 72 bytes under mingw-w64 (spec §8.2); the
 * bytes built must not depend on the compiler's headers. */
#define ALL_DATA_FIXED_SIZE 64u
#if !defined(WMIEV_USE_SYSTEM_WMISTR)
WMIEV_STATIC_ASSERT(ALL_DATA_FIXED_SIZE == sizeof(WNODE_ALL_DATA), "wmiev's own declaration");
#endif

/* Bytes a counted string of `units` UTF-16 units occupies: USHORT count + units. */
#define COUNTED_BYTES(units) (2u + 2u * (uint64_t)(units))

/* ---- Storing fields into an unaligned buffer ---------------------------- */

/*
 * Offsets are uint64_t like the size arithmetic; every one is below the
 * BufferSize that was checked against UINT32_MAX, so it fits size_t.
 */
static void put_u32(uint8_t *out, uint64_t at, uint32_t value) {
  memcpy(out + (size_t)at, &value, sizeof value);
}

/* TOO_SMALL carries no GUID, provider or time: its header is written from zeros. */
static const wmiev_wnode_header_params no_header_params;

static void put_header(uint8_t *out, uint32_t buffer_size, const wmiev_wnode_header_params *hdr,
                       uint32_t flags) {
  put_u32(out, offsetof(WNODE_HEADER, BufferSize), buffer_size);
  put_u32(out, offsetof(WNODE_HEADER, ProviderId), hdr->provider_id);
  /* HistoricalContext stays 0: it belongs to ETW loggers and the kernel's query chaining. */
  memcpy(out + offsetof(WNODE_HEADER, TimeStamp), &hdr->timestamp, sizeof hdr->timestamp);
  memcpy(out + offsetof(WNODE_HEADER, Guid), &hdr->guid, sizeof hdr->guid);
  put_u32(out, offsetof(WNODE_HEADER, ClientContext), hdr->client_context);
  put_u32(out, offsetof(WNODE_HEADER, Flags), flags);
}

static void put_data(uint8_t *out, uint64_t at, const wmiev_wnode_instance *instance) {
  /* memcpy with a NULL source is undefined even for 0 bytes, and data may be NULL then. */
  if (instance->size > 0) {
    memcpy(out + (size_t)at, instance->data, instance->size);
  }
}

static void put_name(uint8_t *out, uint64_t at, const wmiev_wnode_instance *instance) {
  (void)wmiev_counted_string_write(out + (size_t)at, instance->name, instance->name_units);
}

/* ---- Argument checks shared by the builders ------------------------------ */

/* Names of an instance's members as the diagnostics report them. */
typedef struct instance_fields {
  const char *name;
  const char *data;
  const char *size;
} instance_fields;

static const instance_fields single_fields = {"instance.name", "instance.data", "instance.size"};
static const instance_fields array_fields = {"instances[].name", "instances[].data",
                                             "instances[].size"};
static const instance_fields target_fields = {"target.name", "target.data", "target.size"};

/* `forbidden_extra`: extra_flags bits that `kind` (named in the message) cannot carry. */
static wmiev_status check_common(const wmiev_wnode_header_params *hdr, uint32_t forbidden_extra,
                                 const char *kind, size_t *size_needed, wmiev_diag *diag) {
  if (size_needed == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "size_needed", 0,
                          "size_needed must not be NULL");
  }
  if (hdr == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "hdr", 0, "hdr must not be NULL");
  }
  uint32_t owned = hdr->extra_flags & WMIEV_WNODE_BUILDER_OWNED_FLAGS;
  if (owned != 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "extra_flags", 0,
                          "flag bits 0x%08lx are set by the builder itself, not by the caller",
                          (unsigned long)owned);
  }
  if ((hdr->extra_flags & forbidden_extra) != 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "extra_flags", 0,
                          "flag bits 0x%08lx are not allowed on a %s",
                          (unsigned long)(hdr->extra_flags & forbidden_extra), kind);
  }
  return WMIEV_STATUS_SUCCESS;
}

/* `at` is the instance's index in an array, 0 for a lone instance. */
static wmiev_status check_name(const wmiev_wnode_instance *instance, const instance_fields *fields,
                               uint32_t at, wmiev_diag *diag) {
  if (!instance->dynamic_name) {
    return WMIEV_STATUS_SUCCESS;
  }
  if (instance->name == NULL && instance->name_units > 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, fields->name, at,
                          "name is NULL but name_units is %zu", instance->name_units);
  }
  /* Compared in units so that a huge name_units cannot wrap the byte count. */
  if (instance->name_units > WMIEV_NAME_MAX_BYTES / 2) {
    return wmiev_diag_set(diag, WMIEV_STATUS_NAME_TOO_LONG, fields->name, at,
                          "name of %zu units exceeds the counted-string limit of %u bytes",
                          instance->name_units, WMIEV_NAME_MAX_BYTES);
  }
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status check_data(const wmiev_wnode_instance *instance, const instance_fields *fields,
                               uint32_t at, wmiev_diag *diag) {
  if (instance->data == NULL && instance->size > 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, fields->data, at,
                          "data is NULL but size is %lu", (unsigned long)instance->size);
  }
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status check_fits_ulong(uint64_t end, const char *field, uint32_t at,
                                     wmiev_diag *diag) {
  if (end > UINT32_MAX) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, field, at,
                          "the WNODE would need %llu bytes; BufferSize is a ULONG",
                          (unsigned long long)end);
  }
  return WMIEV_STATUS_SUCCESS;
}

/*
 * Reports the size and decides whether to write. On success the first
 * `need` bytes of `buf` are zero, so builders only store non-zero fields and
 * every gap is zero padding.
 */
static wmiev_status reserve(void *buf, size_t buf_size, uint64_t need, size_t *size_needed,
                            wmiev_diag *diag) {
  /* need <= UINT32_MAX was checked, so it fits size_t on every host. */
  *size_needed = (size_t)need;
  if (buf == NULL || buf_size < need) {
    return wmiev_diag_set(diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "buf_size", 0,
                          "the WNODE needs %llu bytes, the buffer has %zu",
                          (unsigned long long)need, buf == NULL ? (size_t)0 : buf_size);
  }
  memset(buf, 0, (size_t)need);
  return WMIEV_STATUS_SUCCESS;
}

/* ---- SINGLE_INSTANCE, SINGLE_ITEM, METHOD_ITEM ---------------------------- */

/*
 * The three "instance-addressed" kinds share OffsetInstanceName (48) and
 * InstanceIndex (52) and put the name, then the 8-aligned data, right after
 * their fixed part; they differ only in the fixed part's size and where the
 * id, DataBlockOffset and size live.
 */
typedef struct addressed_shape {
  const char *kind;
  uint32_t kind_flag;
  uint32_t forbidden_extra; /* extra_flags bits this kind rejects */
  size_t fixed_size;        /* offset of VariableData */
  size_t id_at;             /* ItemId / MethodId; 0 when the kind has none */
  size_t data_block_offset_at;
  size_t data_size_at;
} addressed_shape;

static const addressed_shape single_instance_shape = {
    "WNODE_SINGLE_INSTANCE",
    WNODE_FLAG_SINGLE_INSTANCE,
    0,
    offsetof(WNODE_SINGLE_INSTANCE, VariableData),
    0,
    offsetof(WNODE_SINGLE_INSTANCE, DataBlockOffset),
    offsetof(WNODE_SINGLE_INSTANCE, SizeDataBlock),
};

static const addressed_shape single_item_shape = {
    "WNODE_SINGLE_ITEM",
    WNODE_FLAG_SINGLE_ITEM,
    0,
    offsetof(WNODE_SINGLE_ITEM, VariableData),
    offsetof(WNODE_SINGLE_ITEM, ItemId),
    offsetof(WNODE_SINGLE_ITEM, DataBlockOffset),
    offsetof(WNODE_SINGLE_ITEM, SizeDataItem),
};

/* A method call is a request, never an event. */
static const addressed_shape method_item_shape = {
    "WNODE_METHOD_ITEM",
    WNODE_FLAG_METHOD_ITEM,
    WNODE_FLAG_EVENT_ITEM,
    offsetof(WNODE_METHOD_ITEM, VariableData),
    offsetof(WNODE_METHOD_ITEM, MethodId),
    offsetof(WNODE_METHOD_ITEM, DataBlockOffset),
    offsetof(WNODE_METHOD_ITEM, SizeDataBlock),
};

/* The shared offsets the shape table relies on. */
WMIEV_STATIC_ASSERT(offsetof(WNODE_SINGLE_ITEM, OffsetInstanceName) ==
                            offsetof(WNODE_SINGLE_INSTANCE, OffsetInstanceName) &&
                        offsetof(WNODE_METHOD_ITEM, OffsetInstanceName) ==
                            offsetof(WNODE_SINGLE_INSTANCE, OffsetInstanceName) &&
                        offsetof(WNODE_SINGLE_ITEM, InstanceIndex) ==
                            offsetof(WNODE_SINGLE_INSTANCE, InstanceIndex) &&
                        offsetof(WNODE_METHOD_ITEM, InstanceIndex) ==
                            offsetof(WNODE_SINGLE_INSTANCE, InstanceIndex),
                    "instance-addressed WNODEs share OffsetInstanceName and InstanceIndex");

static wmiev_status build_addressed(void *buf, size_t buf_size, const addressed_shape *shape,
                                    const wmiev_wnode_header_params *hdr,
                                    const wmiev_wnode_instance *instance, uint32_t id,
                                    size_t *size_needed, wmiev_diag *diag) {
  wmiev_status status = check_common(hdr, shape->forbidden_extra, shape->kind, size_needed, diag);
  if (status != WMIEV_STATUS_SUCCESS) {
    return status;
  }
  if (instance == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "instance", 0,
                          "instance must not be NULL");
  }
  if ((status = check_data(instance, &single_fields, 0, diag)) != WMIEV_STATUS_SUCCESS ||
      (status = check_name(instance, &single_fields, 0, diag)) != WMIEV_STATUS_SUCCESS) {
    return status;
  }

  /* The name (if any) sits right after the fixed part; data at the next 8-byte boundary. */
  uint64_t name_at = shape->fixed_size;
  uint64_t data_at = ROUND_UP(instance->dynamic_name
                                  ? name_at + COUNTED_BYTES(instance->name_units)
                                  : shape->fixed_size,
                              8);
  uint64_t need = data_at + instance->size;
  if ((status = check_fits_ulong(need, single_fields.size, 0, diag)) != WMIEV_STATUS_SUCCESS ||
      (status = reserve(buf, buf_size, need, size_needed, diag)) != WMIEV_STATUS_SUCCESS) {
    return status;
  }

  uint8_t *out = buf;
  uint32_t flags = shape->kind_flag | hdr->extra_flags;
  if (instance->dynamic_name) {
    put_u32(out, offsetof(WNODE_SINGLE_INSTANCE, OffsetInstanceName), (uint32_t)name_at);
    put_name(out, name_at, instance);
  } else {
    flags |= WNODE_FLAG_STATIC_INSTANCE_NAMES;
    put_u32(out, offsetof(WNODE_SINGLE_INSTANCE, InstanceIndex), instance->index);
  }
  put_header(out, (uint32_t)need, hdr, flags);
  if (shape->id_at != 0) {
    put_u32(out, shape->id_at, id);
  }
  put_u32(out, shape->data_block_offset_at, (uint32_t)data_at);
  put_u32(out, shape->data_size_at, instance->size);
  put_data(out, data_at, instance);
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_wnode_build_single_instance(void *buf, size_t buf_size,
                                               const wmiev_wnode_header_params *hdr,
                                               const wmiev_wnode_instance *instance,
                                               size_t *size_needed, wmiev_diag *diag) {
  return build_addressed(buf, buf_size, &single_instance_shape, hdr, instance, 0, size_needed,
                         diag);
}

wmiev_status wmiev_wnode_build_single_item(void *buf, size_t buf_size,
                                           const wmiev_wnode_header_params *hdr,
                                           const wmiev_wnode_instance *instance, uint32_t item_id,
                                           size_t *size_needed, wmiev_diag *diag) {
  return build_addressed(buf, buf_size, &single_item_shape, hdr, instance, item_id, size_needed,
                         diag);
}

wmiev_status wmiev_wnode_build_method_item(void *buf, size_t buf_size,
                                           const wmiev_wnode_header_params *hdr,
                                           const wmiev_wnode_instance *instance,
                                           uint32_t method_id, size_t *size_needed,
                                           wmiev_diag *diag) {
  return build_addressed(buf, buf_size, &method_item_shape, hdr, instance, method_id,
                         size_needed, diag);
}

/* ---- ALL_DATA ------------------------------------------------------------ */

typedef struct all_data_plan {
  const wmiev_wnode_instance *instances;
  uint32_t count;
  bool fixed;          /* FIXED_INSTANCE_SIZE layout */
  bool dynamic_names;  /* every instance carries a name */
} all_data_plan;

/*
 * Walks the layout once to size it (out == NULL) and once more to write it,
 * so the size reported and the bytes written come from the same arithmetic.
 * Only the sizing walk can fail; `*end` receives the BufferSize.
 */
static wmiev_status all_data_walk(const all_data_plan *plan, uint8_t *out, uint64_t *end,
                                  wmiev_diag *diag) {
  const size_t array_at = offsetof(WNODE_ALL_DATA, OffsetInstanceDataAndLength);
  /* Data follows the fixed part, or the {offset, length} array, at an 8-byte boundary. */
  uint64_t data_block_offset =
      plan->fixed ? ALL_DATA_FIXED_SIZE
                  : ROUND_UP(array_at + sizeof(OFFSETINSTANCEDATAANDLENGTH) * (uint64_t)plan->count,
                             8);
  wmiev_status status = check_fits_ulong(data_block_offset, "count", 0, diag);
  if (status != WMIEV_STATUS_SUCCESS) {
    return status;
  }

  /*
   * Each instance starts at the first 8-byte boundary after the previous one.
   * With a fixed size S that is DataBlockOffset + j * ALIGN8(S), the spacing
   * FixedInstanceSize implies; no padding follows the last instance.
   */
  uint64_t pos = data_block_offset;
  for (uint32_t j = 0; j < plan->count; j++) {
    const wmiev_wnode_instance *instance = &plan->instances[j];
    uint64_t at = ROUND_UP(pos, 8);
    pos = at + instance->size;
    if ((status = check_fits_ulong(pos, array_fields.size, j, diag)) != WMIEV_STATUS_SUCCESS) {
      return status;
    }
    if (out != NULL) {
      put_data(out, at, instance);
      if (!plan->fixed) {
        uint64_t pair_at = array_at + sizeof(OFFSETINSTANCEDATAANDLENGTH) * (uint64_t)j;
        put_u32(out, pair_at + offsetof(OFFSETINSTANCEDATAANDLENGTH, OffsetInstanceData),
                (uint32_t)at);
        put_u32(out, pair_at + offsetof(OFFSETINSTANCEDATAANDLENGTH, LengthInstanceData),
                instance->size);
      }
    }
  }

  if (plan->dynamic_names) {
    /* The ULONG name offsets, 4-aligned after the data, then the counted names in order.
     * Each counted string is an even number of bytes, so every name stays 2-aligned. */
    uint64_t offsets_at = ROUND_UP(pos, 4);
    pos = offsets_at + sizeof(uint32_t) * (uint64_t)plan->count;
    if ((status = check_fits_ulong(pos, array_fields.name, 0, diag)) != WMIEV_STATUS_SUCCESS) {
      return status;
    }
    if (out != NULL) {
      put_u32(out, offsetof(WNODE_ALL_DATA, OffsetInstanceNameOffsets), (uint32_t)offsets_at);
    }
    for (uint32_t j = 0; j < plan->count; j++) {
      const wmiev_wnode_instance *instance = &plan->instances[j];
      uint64_t name_at = pos;
      pos += COUNTED_BYTES(instance->name_units);
      if ((status = check_fits_ulong(pos, array_fields.name, j, diag)) != WMIEV_STATUS_SUCCESS) {
        return status;
      }
      if (out != NULL) {
        put_u32(out, offsets_at + sizeof(uint32_t) * (uint64_t)j, (uint32_t)name_at);
        put_name(out, name_at, instance);
      }
    }
  }

  if (out != NULL) {
    put_u32(out, offsetof(WNODE_ALL_DATA, DataBlockOffset), (uint32_t)data_block_offset);
    put_u32(out, offsetof(WNODE_ALL_DATA, InstanceCount), plan->count);
    if (plan->fixed) {
      put_u32(out, offsetof(WNODE_ALL_DATA, FixedInstanceSize),
              plan->count > 0 ? plan->instances[0].size : 0);
    }
  }
  *end = pos;
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_wnode_build_all_data(void *buf, size_t buf_size,
                                        const wmiev_wnode_header_params *hdr,
                                        const wmiev_wnode_instance *instances, uint32_t count,
                                        wmiev_all_data_layout layout, size_t *size_needed,
                                        wmiev_diag *diag) {
  wmiev_status status = check_common(hdr, 0, "WNODE_ALL_DATA", size_needed, diag);
  if (status != WMIEV_STATUS_SUCCESS) {
    return status;
  }
  if (instances == NULL && count > 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "instances", 0,
                          "instances is NULL but count is %lu", (unsigned long)count);
  }
  if (layout != WMIEV_ALL_DATA_AUTO && layout != WMIEV_ALL_DATA_FIXED &&
      layout != WMIEV_ALL_DATA_VARIABLE) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "layout", 0,
                          "unknown layout %d", (int)layout);
  }

  /* The first instance decides whether names are dynamic; the others must agree. */
  all_data_plan plan = {instances, count, false, count > 0 && instances[0].dynamic_name};
  bool same_size = true;
  for (uint32_t j = 0; j < count; j++) {
    const wmiev_wnode_instance *instance = &instances[j];
    if (instance->dynamic_name != plan.dynamic_names) {
      return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "instances[].dynamic_name", j,
                            "instances[%lu] %s a dynamic name but instances[0] %s: a WNODE has "
                            "names for all instances or for none",
                            (unsigned long)j, instance->dynamic_name ? "has" : "has no",
                            plan.dynamic_names ? "has one" : "has none");
    }
    if ((status = check_data(instance, &array_fields, j, diag)) != WMIEV_STATUS_SUCCESS ||
        (status = check_name(instance, &array_fields, j, diag)) != WMIEV_STATUS_SUCCESS) {
      return status;
    }
    if (instance->size != instances[0].size) {
      if (layout == WMIEV_ALL_DATA_FIXED) {
        return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, array_fields.size, j,
                              "fixed layout: instances[%lu] has %lu bytes, instances[0] has %lu",
                              (unsigned long)j, (unsigned long)instance->size,
                              (unsigned long)instances[0].size);
      }
      same_size = false;
    }
  }
  /* No instances: always the 64-byte fixed form, whatever layout was asked for. */
  plan.fixed = count == 0 || layout == WMIEV_ALL_DATA_FIXED ||
               (layout == WMIEV_ALL_DATA_AUTO && same_size);

  uint64_t need = 0;
  if ((status = all_data_walk(&plan, NULL, &need, diag)) != WMIEV_STATUS_SUCCESS ||
      (status = reserve(buf, buf_size, need, size_needed, diag)) != WMIEV_STATUS_SUCCESS) {
    return status;
  }

  uint8_t *out = buf;
  uint32_t flags = WNODE_FLAG_ALL_DATA | hdr->extra_flags;
  flags |= plan.fixed ? WNODE_FLAG_FIXED_INSTANCE_SIZE : 0;
  flags |= plan.dynamic_names ? 0 : WNODE_FLAG_STATIC_INSTANCE_NAMES;
  put_header(out, (uint32_t)need, hdr, flags);
  (void)all_data_walk(&plan, out, &need, NULL); /* cannot fail: the sizing walk passed */
  return WMIEV_STATUS_SUCCESS;
}

/* ---- EVENT_REFERENCE ------------------------------------------------------ */

wmiev_status wmiev_wnode_build_event_reference(void *buf, size_t buf_size,
                                               const wmiev_wnode_header_params *hdr,
                                               const wmiev_wnode_instance *target,
                                               uint8_t severity, size_t *size_needed,
                                               wmiev_diag *diag) {
  /* A reference is not itself an EVENT_ITEM: WMI queries the target and fires that. */
  wmiev_status status =
      check_common(hdr, WNODE_FLAG_EVENT_ITEM, "WNODE_EVENT_REFERENCE", size_needed, diag);
  if (status != WMIEV_STATUS_SUCCESS) {
    return status;
  }
  if (target == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "target", 0,
                          "target must not be NULL");
  }
  if (target->data != NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, target_fields.data, 0,
                          "an event reference carries no data; target.size is only the "
                          "TargetDataBlockSize");
  }
  if ((status = check_name(target, &target_fields, 0, diag)) != WMIEV_STATUS_SUCCESS) {
    return status;
  }

  /* The name replaces the 4-byte TargetInstanceIndex; the struct's size is the minimum. */
  const size_t name_at = offsetof(WNODE_EVENT_REFERENCE, TargetInstanceName);
  uint64_t need = sizeof(WNODE_EVENT_REFERENCE);
  if (target->dynamic_name && name_at + COUNTED_BYTES(target->name_units) > need) {
    need = name_at + COUNTED_BYTES(target->name_units);
  }
  if ((status = reserve(buf, buf_size, need, size_needed, diag)) != WMIEV_STATUS_SUCCESS) {
    return status;
  }

  uint8_t *out = buf;
  uint32_t flags = WNODE_FLAG_EVENT_REFERENCE | ((uint32_t)severity << 24) | hdr->extra_flags;
  if (target->dynamic_name) {
    put_name(out, name_at, target);
  } else {
    flags |= WNODE_FLAG_STATIC_INSTANCE_NAMES;
    put_u32(out, offsetof(WNODE_EVENT_REFERENCE, TargetInstanceIndex), target->index);
  }
  put_header(out, (uint32_t)need, hdr, flags);
  memcpy(out + offsetof(WNODE_EVENT_REFERENCE, TargetGuid), &hdr->guid, sizeof hdr->guid);
  put_u32(out, offsetof(WNODE_EVENT_REFERENCE, TargetDataBlockSize), target->size);
  return WMIEV_STATUS_SUCCESS;
}

/* ---- TOO_SMALL ------------------------------------------------------------ */

wmiev_status wmiev_wnode_build_too_small(void *buf, size_t buf_size, uint32_t needed,
                                         size_t *size_needed, wmiev_diag *diag) {
  if (size_needed == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "size_needed", 0,
                          "size_needed must not be NULL");
  }
  wmiev_status status = reserve(buf, buf_size, sizeof(WNODE_TOO_SMALL), size_needed, diag);
  if (status != WMIEV_STATUS_SUCCESS) {
    return status;
  }
  /* Only BufferSize, Flags and SizeNeeded, as Microsoft's classpnp sample writes it. */
  uint8_t *out = buf;
  put_header(out, (uint32_t)sizeof(WNODE_TOO_SMALL), &no_header_params, WNODE_FLAG_TOO_SMALL);
  put_u32(out, offsetof(WNODE_TOO_SMALL, SizeNeeded), needed);
  return WMIEV_STATUS_SUCCESS;
}
