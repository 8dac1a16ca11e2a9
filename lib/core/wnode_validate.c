/*
 * The WNODE validator (include/wmiev/wnode_validate.h): any bytes in, a view
 * or a precise status + diag out.
 *
 * Ground rules for every function below:
 *  - `c->size` is WnodeHeader.BufferSize, and only once it is known to be
 *    <= len. A field is read only after its end was checked against it, so
 *    nothing outside [buf, buf + min(len, BufferSize)) is ever touched;
 *    bytes past BufferSize are ignored.
 *  - The buffer may have any alignment: every field is copied out with memcpy.
 *  - Offsets and lengths are 32-bit on the wire; all arithmetic on them is
 *    done in uint64_t, where the sums formed here cannot wrap, so an
 *    offset + length that overflows 32 bits is caught instead of passing.
 *
 * Rules (the lead records them in docs/decisions.md, "Validator statuses"):
 *  R1  view NULL or unknown option bits: INVALID_PARAMETER. buf NULL or
 *      len < 48: BUFFER_TOO_SMALL ("WnodeHeader").
 *  R2  BufferSize > len, or BufferSize < 48: INVALID_BUFFER_SIZE; both come
 *      before any other field is read. BufferSize < the fixed part of its
 *      kind: INVALID_BUFFER_SIZE on "WnodeHeader.BufferSize".
 *  R3  TRACED_GUID, USE_GUID_PTR or USE_MOF_PTR: NOT_SUPPORTED (the header is
 *      an EVENT_TRACE_HEADER, not a WNODE).
 *  R4  Exactly one kind flag (ALL_DATA, SINGLE_INSTANCE, SINGLE_ITEM,
 *      METHOD_ITEM, EVENT_REFERENCE, TOO_SMALL), else INVALID_PARAMETER.
 *      EVENT_ITEM only with ALL_DATA, SINGLE_INSTANCE or SINGLE_ITEM;
 *      FIXED_INSTANCE_SIZE only with ALL_DATA. WMIEV_VALIDATE_REQUIRE_EVENT
 *      rejects anything but EVENT_ITEM + kind or EVENT_REFERENCE. Accepted
 *      with a warning: undefined bits 0x800/0x1000, a severity byte on a
 *      non-reference, a reference whose Guid differs from TargetGuid.
 *  R5  Fixed parts: SINGLE_INSTANCE 64; SINGLE_ITEM, METHOD_ITEM 68 (where
 *      VariableData starts; sizeof is 72 only because of tail padding);
 *      EVENT_REFERENCE 72 with an index, 70 + name bytes with a name;
 *      TOO_SMALL 52 (sizeof 56 is padding again); ALL_DATA 64 with
 *      FIXED_INSTANCE_SIZE, else 60 + 8 * InstanceCount ("InstanceCount"
 *      when that array cannot fit).
 *  R6  Offsets (names, data, arrays) must not point into the fixed part
 *      (INVALID_BUFFER_SIZE); names are 2-aligned and instance data 8-aligned
 *      (DATATYPE_MISALIGNMENT); every range must end by BufferSize
 *      (INVALID_BUFFER_SIZE). Names follow wmiev_counted_string_locate with
 *      size = BufferSize (odd count: INVALID_PARAMETER). A single-kind name
 *      and non-empty data must not overlap (INVALID_PARAMETER).
 *  R7  ALL_DATA: every instance (data and name) is checked here, so
 *      wmiev_wnode_view_instance cannot fail on an unchanged buffer.
 *      DataBlockOffset is checked only with FIXED_INSTANCE_SIZE (the array
 *      form does not use it). Names are absent with STATIC_INSTANCE_NAMES,
 *      with INSTANCES_SAME, or when InstanceCount is 0.
 */
#include <wmiev/name.h>
#include <wmiev/wnode_validate.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define AT(type, member) ((uint32_t)offsetof(type, member))
#define ALIGN8(x) (((uint64_t)(x) + 7u) & ~(uint64_t)7u)

#define HEADER_SIZE ((uint32_t)sizeof(WNODE_HEADER))
#define FLAGS_FIELD "WnodeHeader.Flags"
#define FLAGS_AT AT(WNODE_HEADER, Flags)
#define SIZE_FIELD "WnodeHeader.BufferSize"

/* The WNODE_FLAG_* bits that say which body follows the header. */
#define KIND_FLAGS                                                                                 \
  (WNODE_FLAG_ALL_DATA | WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_SINGLE_ITEM |                     \
   WNODE_FLAG_METHOD_ITEM | WNODE_FLAG_EVENT_REFERENCE | WNODE_FLAG_TOO_SMALL)
/* Kinds that can carry EVENT_ITEM (spec §1.2). */
#define EVENT_KIND_FLAGS (WNODE_FLAG_ALL_DATA | WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_SINGLE_ITEM)
/* ETW forms: the 48 bytes are an EVENT_TRACE_HEADER, whose fields mean something else. */
#define ETW_FLAGS (WNODE_FLAG_TRACED_GUID | WNODE_FLAG_USE_GUID_PTR | WNODE_FLAG_USE_MOF_PTR)
/* Bits wmistr.h leaves undefined. */
#define UNDEFINED_FLAGS 0x00001800u

#define KNOWN_OPTIONS WMIEV_VALIDATE_REQUIRE_EVENT

static const struct {
  uint32_t flag;
  wmiev_wnode_kind kind;
  const char *flag_name;
  const char *kind_name;
} kind_table[] = {
    {WNODE_FLAG_ALL_DATA, WMIEV_WNODE_ALL_DATA, "WNODE_FLAG_ALL_DATA", "WNODE_ALL_DATA"},
    {WNODE_FLAG_SINGLE_INSTANCE, WMIEV_WNODE_SINGLE_INSTANCE, "WNODE_FLAG_SINGLE_INSTANCE",
     "WNODE_SINGLE_INSTANCE"},
    {WNODE_FLAG_SINGLE_ITEM, WMIEV_WNODE_SINGLE_ITEM, "WNODE_FLAG_SINGLE_ITEM",
     "WNODE_SINGLE_ITEM"},
    {WNODE_FLAG_METHOD_ITEM, WMIEV_WNODE_METHOD_ITEM, "WNODE_FLAG_METHOD_ITEM",
     "WNODE_METHOD_ITEM"},
    {WNODE_FLAG_EVENT_REFERENCE, WMIEV_WNODE_EVENT_REFERENCE, "WNODE_FLAG_EVENT_REFERENCE",
     "WNODE_EVENT_REFERENCE"},
    {WNODE_FLAG_TOO_SMALL, WMIEV_WNODE_TOO_SMALL, "WNODE_FLAG_TOO_SMALL", "WNODE_TOO_SMALL"},
};
#define KIND_COUNT (sizeof kind_table / sizeof kind_table[0])

/* What every check needs: the bytes, how many of them may be read, where to report. */
typedef struct vctx {
  const uint8_t *p;
  uint32_t size; /* WnodeHeader.BufferSize, already known to be <= len */
  uint32_t flags;
  wmiev_diag *diag;
} vctx;

/*
 * Where a checked range is described on the wire, for the diag. A field
 * spelled with "[]" is an array element; messages show it as "[index]" while
 * diag.field stays the static spelling (diag.h wants a static string).
 */
typedef struct span_desc {
  const char *off_field; /* field holding the offset */
  uint32_t off_at;       /* its offset in the WNODE */
  const char *len_field; /* field holding the length; NULL when the length is derived */
  uint32_t len_at;
  const char *len_what; /* how messages name the length */
  int64_t index;        /* array position, or -1 */
} span_desc;

static uint32_t rd32(const uint8_t *p, uint64_t at) {
  uint32_t v;
  memcpy(&v, p + at, sizeof v);
  return v;
}

/* "A[].B" with index 2 -> "A[2].B"; anything else is copied. */
static const char *label(char *out, size_t n, const char *field, int64_t index) {
  const char *hole = index >= 0 ? strstr(field, "[]") : NULL;
  if (hole == NULL) {
    (void)snprintf(out, n, "%s", field);
  } else {
    (void)snprintf(out, n, "%.*s[%" PRId64 "]%s", (int)(hole - field), field, index, hole + 2);
  }
  return out;
}

/* The fixed part of a kind must fit in BufferSize before any of its fields is read. */
static wmiev_status check_fixed(const vctx *c, uint64_t need, const char *kind_name) {
  if (c->size < need) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, SIZE_FIELD, 0,
                          "BufferSize %" PRIu32 " is smaller than the %" PRIu64
                          "-byte fixed part of a %s",
                          c->size, need, kind_name);
  }
  return WMIEV_STATUS_SUCCESS;
}

/* An offset must not point below `lo` (the fixed part) and must be a multiple of `align`. */
static wmiev_status check_offset(const vctx *c, const span_desc *d, uint64_t off, uint64_t lo,
                                 uint32_t align) {
  char name[96];
  if (off < lo) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, d->off_field, d->off_at,
                          "%s %" PRIu64 " points into the %" PRIu64 "-byte fixed part",
                          label(name, sizeof name, d->off_field, d->index), off, lo);
  }
  if (off % align != 0) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_DATATYPE_MISALIGNMENT, d->off_field, d->off_at,
                          "%s %" PRIu64 " is not a multiple of %" PRIu32,
                          label(name, sizeof name, d->off_field, d->index), off, align);
  }
  return WMIEV_STATUS_SUCCESS;
}

/*
 * The bounds check everything else uses: [off, off + len) must start at or
 * after `lo`, be `align`-aligned and end by BufferSize. Written as
 * off <= size && len <= size - off, which cannot wrap for any inputs.
 */
static wmiev_status check_span(const vctx *c, const span_desc *d, uint64_t off, uint64_t len,
                               uint64_t lo, uint32_t align) {
  wmiev_status st = check_offset(c, d, off, lo, align);
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  /* What a reader adding the two in 32 bits would have got wrong. */
  bool wraps = off > UINT32_MAX || len > UINT32_MAX - off;
  const char *why = wraps ? " (offset + length overflows 32 bits)" : "";
  char name[96];
  if (off > c->size) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, d->off_field, d->off_at,
                          "%s %" PRIu64 " lies past BufferSize %" PRIu32 "%s",
                          label(name, sizeof name, d->off_field, d->index), off, c->size, why);
  }
  if (len > c->size - off) {
    bool own = d->len_field != NULL;
    return wmiev_diag_set(
        c->diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, own ? d->len_field : d->off_field,
        own ? d->len_at : d->off_at,
        "%s %" PRIu64 " + %" PRIu64 " bytes of %s run past BufferSize %" PRIu32 "%s",
        label(name, sizeof name, d->off_field, d->index), off, len, d->len_what, c->size, why);
  }
  return WMIEV_STATUS_SUCCESS;
}

/*
 * A counted name at `off` (stored in field `field` at `field_at`): at or after
 * `lo`, then wmiev_counted_string_locate's rules against BufferSize. Its own
 * diag names "counted string"; the message is kept and the field replaced.
 */
static wmiev_status check_name(const vctx *c, const char *field, uint32_t field_at, int64_t index,
                               uint32_t off, uint64_t lo, wmiev_wnode_instance_view *inst) {
  span_desc d = {.off_field = field, .off_at = field_at, .len_what = "name", .index = index};
  wmiev_status st = check_offset(c, &d, off, lo, 2);
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  const uint8_t *chars = NULL;
  uint16_t count = 0;
  wmiev_diag why;
  st = wmiev_counted_string_locate(c->p, c->size, off, 0, &chars, &count, &why);
  if (st != WMIEV_STATUS_SUCCESS) {
    char name[96];
    return wmiev_diag_set(c->diag, st, field, field_at, "%s %" PRIu32 ": %s",
                          label(name, sizeof name, field, index), off, why.message);
  }
  inst->has_name = true;
  inst->name = chars;
  inst->name_bytes = count;
  inst->name_offset = off;
  return WMIEV_STATUS_SUCCESS;
}

static void set_data(const vctx *c, wmiev_wnode_instance_view *inst, uint32_t off, uint32_t size) {
  inst->data_offset = off;
  inst->size = size;
  inst->data = size > 0 ? c->p + off : NULL;
}

/* ---- Header and flags ------------------------------------------------- */

/* "SINGLE_INSTANCE | METHOD_ITEM": the kind flags set in `f`, for messages. */
static const char *kind_names(uint32_t f, char *names, size_t size) {
  size_t used = 0;
  names[0] = '\0';
  for (size_t i = 0; i < KIND_COUNT; i++) {
    if ((f & kind_table[i].flag) != 0) {
      int n = snprintf(names + used, size - used, "%s%s", used > 0 ? " | " : "",
                       kind_table[i].flag_name);
      if (n > 0 && (size_t)n < size - used) {
        used += (size_t)n;
      }
    }
  }
  return names;
}

static wmiev_status check_flags(const vctx *c, uint32_t options, wmiev_wnode_kind *kind) {
  uint32_t f = c->flags;
  if ((f & ETW_FLAGS) != 0) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_NOT_SUPPORTED, FLAGS_FIELD, FLAGS_AT,
                          "Flags 0x%08" PRIX32 " mark an ETW header (TRACED_GUID, USE_GUID_PTR or "
                          "USE_MOF_PTR), not a WNODE",
                          f);
  }
  unsigned count = 0;
  for (size_t i = 0; i < KIND_COUNT; i++) {
    if ((f & kind_table[i].flag) != 0) {
      *kind = kind_table[i].kind;
      count++;
    }
  }
  /* The kind names only go into error messages: built on demand, so a valid
   * WNODE (the fire path's common case) costs no formatting. */
  char names[192]; /* all six names joined take 150 bytes: never truncated */
  bool event_item = (f & WNODE_FLAG_EVENT_ITEM) != 0;
  if (count == 0) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_PARAMETER, FLAGS_FIELD, FLAGS_AT,
                          event_item ? "EVENT_ITEM without a kind flag (ALL_DATA, SINGLE_INSTANCE "
                                       "or SINGLE_ITEM) in Flags 0x%08" PRIX32
                                     : "no kind flag in Flags 0x%08" PRIX32,
                          f);
  }
  if (count > 1) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_PARAMETER, FLAGS_FIELD, FLAGS_AT,
                          "%s kind flags: %s", count == 2 ? "two" : "several", kind_names(f, names, sizeof names));
  }
  if (event_item && (f & EVENT_KIND_FLAGS) == 0) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_PARAMETER, FLAGS_FIELD, FLAGS_AT,
                          "EVENT_ITEM with %s: only ALL_DATA, SINGLE_INSTANCE and SINGLE_ITEM "
                          "can be events",
                          kind_names(f, names, sizeof names));
  }
  if ((f & WNODE_FLAG_FIXED_INSTANCE_SIZE) != 0 && *kind != WMIEV_WNODE_ALL_DATA) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_PARAMETER, FLAGS_FIELD, FLAGS_AT,
                          "FIXED_INSTANCE_SIZE with %s: it only applies to ALL_DATA",
                          kind_names(f, names, sizeof names));
  }
  if ((options & WMIEV_VALIDATE_REQUIRE_EVENT) != 0 && !event_item &&
      *kind != WMIEV_WNODE_EVENT_REFERENCE) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_PARAMETER, FLAGS_FIELD, FLAGS_AT,
                          "an event was required, but %s has neither EVENT_ITEM nor "
                          "EVENT_REFERENCE",
                          kind_names(f, names, sizeof names));
  }
  return WMIEV_STATUS_SUCCESS;
}

/* Header fields every kind shares; BufferSize >= 48 is already known. */
static void read_header(const vctx *c, wmiev_wnode_kind kind, wmiev_wnode_view *v) {
  const uint8_t *p = c->p;
  LARGE_INTEGER ts;
  memcpy(&ts, p + AT(WNODE_HEADER, TimeStamp), sizeof ts);
  v->kind = kind;
  v->base = p;
  v->buffer_size = c->size;
  v->provider_id = rd32(p, AT(WNODE_HEADER, ProviderId));
  memcpy(&v->historical_context, p + AT(WNODE_HEADER, HistoricalContext),
         sizeof v->historical_context);
  v->timestamp = ts.QuadPart;
  memcpy(&v->guid, p + AT(WNODE_HEADER, Guid), sizeof v->guid);
  v->client_context = rd32(p, AT(WNODE_HEADER, ClientContext));
  v->flags = c->flags;
  v->is_event = (c->flags & WNODE_FLAG_EVENT_ITEM) != 0 || kind == WMIEV_WNODE_EVENT_REFERENCE;
  v->static_names = (c->flags & WNODE_FLAG_STATIC_INSTANCE_NAMES) != 0;
  v->severity = WMIEV_WNODE_SEVERITY(c->flags);
  if ((c->flags & UNDEFINED_FLAGS) != 0 ||
      (v->severity != 0 && kind != WMIEV_WNODE_EVENT_REFERENCE)) {
    v->warnings |= WMIEV_WNODE_WARN_UNDEFINED_FLAGS;
  }
}

/* ---- SINGLE_INSTANCE, SINGLE_ITEM, METHOD_ITEM -------------------------- */

/* The three single kinds differ only in where their fields sit. */
typedef struct single_layout {
  const char *kind_name;
  uint32_t fixed;    /* VariableData: where the fixed part ends */
  uint32_t name_at;  /* OffsetInstanceName */
  uint32_t index_at; /* InstanceIndex */
  uint32_t id_at;    /* ItemId / MethodId; 0 when the kind has none */
  uint32_t data_at;  /* DataBlockOffset */
  uint32_t data_size_at;
  const char *data_size_field;
} single_layout;

static const single_layout single_instance_layout = {
    .kind_name = "WNODE_SINGLE_INSTANCE",
    .fixed = AT(WNODE_SINGLE_INSTANCE, VariableData),
    .name_at = AT(WNODE_SINGLE_INSTANCE, OffsetInstanceName),
    .index_at = AT(WNODE_SINGLE_INSTANCE, InstanceIndex),
    .id_at = 0,
    .data_at = AT(WNODE_SINGLE_INSTANCE, DataBlockOffset),
    .data_size_at = AT(WNODE_SINGLE_INSTANCE, SizeDataBlock),
    .data_size_field = "SizeDataBlock",
};
static const single_layout single_item_layout = {
    .kind_name = "WNODE_SINGLE_ITEM",
    .fixed = AT(WNODE_SINGLE_ITEM, VariableData),
    .name_at = AT(WNODE_SINGLE_ITEM, OffsetInstanceName),
    .index_at = AT(WNODE_SINGLE_ITEM, InstanceIndex),
    .id_at = AT(WNODE_SINGLE_ITEM, ItemId),
    .data_at = AT(WNODE_SINGLE_ITEM, DataBlockOffset),
    .data_size_at = AT(WNODE_SINGLE_ITEM, SizeDataItem),
    .data_size_field = "SizeDataItem",
};
static const single_layout method_item_layout = {
    .kind_name = "WNODE_METHOD_ITEM",
    .fixed = AT(WNODE_METHOD_ITEM, VariableData),
    .name_at = AT(WNODE_METHOD_ITEM, OffsetInstanceName),
    .index_at = AT(WNODE_METHOD_ITEM, InstanceIndex),
    .id_at = AT(WNODE_METHOD_ITEM, MethodId),
    .data_at = AT(WNODE_METHOD_ITEM, DataBlockOffset),
    .data_size_at = AT(WNODE_METHOD_ITEM, SizeDataBlock),
    .data_size_field = "SizeDataBlock",
};

static wmiev_status validate_single(const vctx *c, const single_layout *l, wmiev_wnode_view *v) {
  wmiev_status st = check_fixed(c, l->fixed, l->kind_name);
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  wmiev_wnode_instance_view *inst = &v->instance;
  v->instance_count = 1;
  v->item_id = l->id_at != 0 ? rd32(c->p, l->id_at) : 0;
  uint32_t data_off = rd32(c->p, l->data_at);
  uint32_t data_size = rd32(c->p, l->data_size_at);
  v->data_block_offset = data_off;

  /* Static names: the index selects a registered name; OffsetInstanceName is not looked at. */
  if (v->static_names) {
    inst->index = rd32(c->p, l->index_at);
  } else {
    uint32_t name_off = rd32(c->p, l->name_at);
    st = check_name(c, "OffsetInstanceName", l->name_at, -1, name_off, l->fixed, inst);
    if (st != WMIEV_STATUS_SUCCESS) {
      return st;
    }
  }
  span_desc d = {.off_field = "DataBlockOffset",
                 .off_at = l->data_at,
                 .len_field = l->data_size_field,
                 .len_at = l->data_size_at,
                 .len_what = l->data_size_field,
                 .index = -1};
  st = check_span(c, &d, data_off, data_size, l->fixed, 8);
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  /* A name inside the data would be overwritten by (or read as) data. */
  uint64_t name_end = (uint64_t)inst->name_offset + 2u + inst->name_bytes;
  if (inst->has_name && data_size > 0 && inst->name_offset < (uint64_t)data_off + data_size &&
      data_off < name_end) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_PARAMETER, "DataBlockOffset", l->data_at,
                          "data [%" PRIu32 ", %" PRIu64 ") overlaps the instance name [%" PRIu32
                          ", %" PRIu64 ")",
                          data_off, (uint64_t)data_off + data_size, inst->name_offset, name_end);
  }
  set_data(c, inst, data_off, data_size);
  return WMIEV_STATUS_SUCCESS;
}

/* ---- ALL_DATA ----------------------------------------------------------- */

#define ALL_DATA_ARRAY_AT AT(WNODE_ALL_DATA, OffsetInstanceDataAndLength)
#define ALL_DATA_NAMES_AT AT(WNODE_ALL_DATA, OffsetInstanceNameOffsets)
/* FixedInstanceSize included: Microsoft's sizeof(WNODE_ALL_DATA). Spelt out
 * because the kernel build uses the system's declaration, 72 bytes under
 * mingw-w64 (spec §8.2); what is valid must not depend on the headers. */
#define ALL_DATA_FIXED_PART 64u
#if !defined(WMIEV_USE_SYSTEM_WMISTR)
WMIEV_STATIC_ASSERT(ALL_DATA_FIXED_PART == sizeof(WNODE_ALL_DATA), "wmiev's own declaration");
#endif

/* 64 with FIXED_INSTANCE_SIZE, else 60 + 8 * InstanceCount (up to 2^35: kept in 64 bits). */
static uint64_t all_data_fixed_part(bool fixed, uint32_t count) {
  return fixed ? ALL_DATA_FIXED_PART
               : ALL_DATA_ARRAY_AT + (uint64_t)count * sizeof(OFFSETINSTANCEDATAANDLENGTH);
}

/*
 * Instance i of an ALL_DATA whose fixed part is already described by v:
 * checks it and fills `out`. Shared by the validator, which runs it for every
 * instance up front, and wmiev_wnode_view_instance, which therefore cannot
 * fail on a buffer that has not changed since.
 */
static wmiev_status all_data_instance(const vctx *c, const wmiev_wnode_view *v, uint32_t i,
                                      wmiev_wnode_instance_view *out) {
  memset(out, 0, sizeof *out);
  out->index = i;
  uint64_t fixed_part = all_data_fixed_part(v->fixed_instance_size, v->instance_count);
  uint64_t off;
  uint32_t size;
  wmiev_status st;
  if (v->fixed_instance_size) {
    /* Instances sit ALIGN8(FixedInstanceSize) apart (spec §2.1: size 6 gets 2 bytes of pad). */
    off = v->data_block_offset + (uint64_t)i * ALIGN8(v->fixed_size);
    size = v->fixed_size;
    span_desc d = {.off_field = "DataBlockOffset",
                   .off_at = AT(WNODE_ALL_DATA, DataBlockOffset),
                   .len_field = "FixedInstanceSize",
                   .len_at = AT(WNODE_ALL_DATA, FixedInstanceSize),
                   .len_what = "FixedInstanceSize",
                   .index = -1};
    st = check_span(c, &d, off, size, ALL_DATA_FIXED_PART, 8);
  } else {
    uint32_t at = ALL_DATA_ARRAY_AT + i * (uint32_t)sizeof(OFFSETINSTANCEDATAANDLENGTH);
    off = rd32(c->p, at);
    size = rd32(c->p, at + 4u);
    span_desc d = {.off_field = "OffsetInstanceDataAndLength[].OffsetInstanceData",
                   .off_at = at,
                   .len_field = "OffsetInstanceDataAndLength[].LengthInstanceData",
                   .len_at = at + 4u,
                   .len_what = "LengthInstanceData",
                   .index = i};
    st = check_span(c, &d, off, size, fixed_part, 8);
  }
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  set_data(c, out, (uint32_t)off, size);
  if (!v->names_present) {
    return WMIEV_STATUS_SUCCESS;
  }
  /* The ULONG offset array: any alignment is accepted, it is read with memcpy. */
  uint32_t names = rd32(c->p, ALL_DATA_NAMES_AT);
  span_desc nd = {.off_field = "OffsetInstanceNameOffsets",
                  .off_at = ALL_DATA_NAMES_AT,
                  .len_what = "name offsets",
                  .index = -1};
  st = check_span(c, &nd, names, (uint64_t)v->instance_count * 4u, fixed_part, 1);
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  uint32_t entry = names + i * 4u; /* inside BufferSize, checked just above */
  return check_name(c, "OffsetInstanceNameOffsets[]", entry, i, rd32(c->p, entry), fixed_part, out);
}

static wmiev_status validate_all_data(const vctx *c, wmiev_wnode_view *v) {
  bool fixed = (c->flags & WNODE_FLAG_FIXED_INSTANCE_SIZE) != 0;
  wmiev_status st = check_fixed(c, all_data_fixed_part(fixed, 0), "WNODE_ALL_DATA");
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  uint32_t count = rd32(c->p, AT(WNODE_ALL_DATA, InstanceCount));
  uint64_t fixed_part = all_data_fixed_part(fixed, count);
  if (fixed_part > c->size) {
    return wmiev_diag_set(c->diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "InstanceCount",
                          AT(WNODE_ALL_DATA, InstanceCount),
                          "InstanceCount %" PRIu32 " cannot fit: its OffsetInstanceDataAndLength "
                          "array ends at %" PRIu64 ", past BufferSize %" PRIu32,
                          count, fixed_part, c->size);
  }
  v->data_block_offset = rd32(c->p, AT(WNODE_ALL_DATA, DataBlockOffset));
  v->instance_count = count;
  v->fixed_instance_size = fixed;
  v->fixed_size = fixed ? rd32(c->p, AT(WNODE_ALL_DATA, FixedInstanceSize)) : 0;
  v->names_present = !v->static_names && (c->flags & WNODE_FLAG_INSTANCES_SAME) == 0 && count > 0;

  if (fixed) {
    /* All instances as one span, so a huge InstanceCount costs one check, not a loop. */
    span_desc d = {.off_field = "DataBlockOffset",
                   .off_at = AT(WNODE_ALL_DATA, DataBlockOffset),
                   .len_field = "FixedInstanceSize",
                   .len_at = AT(WNODE_ALL_DATA, FixedInstanceSize),
                   .len_what = "instance data (InstanceCount x FixedInstanceSize)",
                   .index = -1};
    uint64_t span = count > 0 ? (uint64_t)(count - 1u) * ALIGN8(v->fixed_size) + v->fixed_size : 0;
    st = count > 0 ? check_span(c, &d, v->data_block_offset, span, ALL_DATA_FIXED_PART, 8)
                   : check_offset(c, &d, v->data_block_offset, ALL_DATA_FIXED_PART, 8);
    if (st != WMIEV_STATUS_SUCCESS || !v->names_present) {
      return st;
    }
  }
  /* Here InstanceCount is bounded by BufferSize (by the array or the name offsets). */
  wmiev_wnode_instance_view inst;
  for (uint32_t i = 0; i < count; i++) {
    st = all_data_instance(c, v, i, &inst);
    if (st != WMIEV_STATUS_SUCCESS) {
      return st;
    }
  }
  return WMIEV_STATUS_SUCCESS;
}

/* ---- EVENT_REFERENCE, TOO_SMALL ----------------------------------------- */

#define REF_TARGET_AT AT(WNODE_EVENT_REFERENCE, TargetInstanceIndex)

static wmiev_status validate_event_reference(const vctx *c, wmiev_wnode_view *v) {
  /* 72 with an index; with a name, 70 (its count) and then the name's bytes. */
  uint64_t fixed = v->static_names ? REF_TARGET_AT + 4u : REF_TARGET_AT + 2u;
  wmiev_status st = check_fixed(c, fixed, "WNODE_EVENT_REFERENCE");
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  wmiev_wnode_instance_view *inst = &v->instance;
  memcpy(&v->target_guid, c->p + AT(WNODE_EVENT_REFERENCE, TargetGuid), sizeof v->target_guid);
  v->instance_count = 1;
  inst->size = rd32(c->p, AT(WNODE_EVENT_REFERENCE, TargetDataBlockSize));
  if (v->static_names) {
    inst->index = rd32(c->p, REF_TARGET_AT);
  } else {
    st = check_name(c, "TargetInstanceName", REF_TARGET_AT, -1, REF_TARGET_AT, REF_TARGET_AT, inst);
    if (st != WMIEV_STATUS_SUCCESS) {
      return st;
    }
  }
  /* Troubleshooting docs: WnodeHeader.Guid must equal TargetGuid. Accepted, flagged. */
  if (memcmp(c->p + AT(WNODE_HEADER, Guid), c->p + AT(WNODE_EVENT_REFERENCE, TargetGuid),
             sizeof(GUID)) != 0) {
    v->warnings |= WMIEV_WNODE_WARN_TARGET_GUID_MISMATCH;
  }
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status validate_too_small(const vctx *c, wmiev_wnode_view *v) {
  /* SizeNeeded ends at 52; sizeof(WNODE_TOO_SMALL) is 56 only through tail padding. */
  wmiev_status st = check_fixed(c, AT(WNODE_TOO_SMALL, SizeNeeded) + 4u, "WNODE_TOO_SMALL");
  if (st == WMIEV_STATUS_SUCCESS) {
    v->size_needed = rd32(c->p, AT(WNODE_TOO_SMALL, SizeNeeded));
  }
  return st;
}

/* ---- Public entry points ------------------------------------------------ */

wmiev_status wmiev_wnode_validate(const void *buf, size_t len, uint32_t options,
                                  wmiev_wnode_view *view, wmiev_diag *diag) {
  if (view == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "view", 0, "view is NULL");
  }
  memset(view, 0, sizeof *view);
  if ((options & ~KNOWN_OPTIONS) != 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "options", 0,
                          "unknown option bits 0x%08" PRIX32, options & ~KNOWN_OPTIONS);
  }
  if (buf == NULL || len < HEADER_SIZE) {
    return wmiev_diag_set(diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "WnodeHeader", 0,
                          "%zu bytes given; a WNODE_HEADER needs %" PRIu32,
                          buf == NULL ? (size_t)0 : len, HEADER_SIZE);
  }
  vctx c = {buf, 0, 0, diag};
  c.size = rd32(c.p, AT(WNODE_HEADER, BufferSize));
  /* Both before Flags is read: with BufferSize < 48, Flags lies outside the WNODE. */
  if (c.size > len) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, SIZE_FIELD, 0,
                          "BufferSize %" PRIu32 " is larger than the %zu bytes given", c.size, len);
  }
  if (c.size < HEADER_SIZE) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, SIZE_FIELD, 0,
                          "BufferSize %" PRIu32 " is smaller than the %" PRIu32
                          "-byte WNODE_HEADER",
                          c.size, HEADER_SIZE);
  }
  c.flags = rd32(c.p, FLAGS_AT);
  wmiev_wnode_kind kind = WMIEV_WNODE_ALL_DATA;
  wmiev_status st = check_flags(&c, options, &kind);
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  read_header(&c, kind, view);
  switch (kind) {
  case WMIEV_WNODE_ALL_DATA:
    return validate_all_data(&c, view);
  case WMIEV_WNODE_SINGLE_INSTANCE:
    return validate_single(&c, &single_instance_layout, view);
  case WMIEV_WNODE_SINGLE_ITEM:
    return validate_single(&c, &single_item_layout, view);
  case WMIEV_WNODE_METHOD_ITEM:
    return validate_single(&c, &method_item_layout, view);
  case WMIEV_WNODE_EVENT_REFERENCE:
    return validate_event_reference(&c, view);
  case WMIEV_WNODE_TOO_SMALL:
    return validate_too_small(&c, view);
  }
  return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, FLAGS_FIELD, FLAGS_AT,
                        "unreachable: unknown kind");
}

wmiev_status wmiev_wnode_view_instance(const wmiev_wnode_view *view, uint32_t i,
                                       wmiev_wnode_instance_view *out) {
  if (view == NULL || out == NULL || view->base == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  switch (view->kind) {
  case WMIEV_WNODE_SINGLE_INSTANCE:
  case WMIEV_WNODE_SINGLE_ITEM:
  case WMIEV_WNODE_METHOD_ITEM:
  case WMIEV_WNODE_EVENT_REFERENCE:
    if (i != 0) {
      return WMIEV_STATUS_INVALID_PARAMETER;
    }
    *out = view->instance;
    return WMIEV_STATUS_SUCCESS;
  case WMIEV_WNODE_ALL_DATA: {
    /* Re-runs the validator's per-instance checks (cheap), so a view whose
     * fixed part does not fit its own buffer_size, or a buffer changed since
     * validation, gives INVALID_PARAMETER rather than a wild read. */
    if (i >= view->instance_count ||
        all_data_fixed_part(view->fixed_instance_size, view->instance_count) > view->buffer_size) {
      return WMIEV_STATUS_INVALID_PARAMETER;
    }
    vctx c = {view->base, view->buffer_size, view->flags, NULL};
    return all_data_instance(&c, view, i, out) == WMIEV_STATUS_SUCCESS
               ? WMIEV_STATUS_SUCCESS
               : WMIEV_STATUS_INVALID_PARAMETER;
  }
  case WMIEV_WNODE_TOO_SMALL:
    break;
  }
  return WMIEV_STATUS_INVALID_PARAMETER;
}

const char *wmiev_wnode_kind_name(wmiev_wnode_kind kind) {
  for (size_t i = 0; i < KIND_COUNT; i++) {
    if (kind_table[i].kind == kind) {
      return kind_table[i].kind_name;
    }
  }
  return "WNODE_<unknown>";
}
