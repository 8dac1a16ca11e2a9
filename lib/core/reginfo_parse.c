/*
 * Validating a WMIREGINFO chain: the bytes a driver answers to IRP_MN_REGINFO(_EX).
 *
 * The bytes come from driver code under test, so nothing in them is trusted:
 *  - every field is copied out with memcpy, because the buffer need not be
 *    aligned and NextWmiRegInfo has no alignment rule, so a later record may
 *    start at any byte;
 *  - every sum of wire values is done in 64 bits and compared with the bytes
 *    given before anything at that place is read;
 *  - offsets stored in a record are relative to the record and must stay
 *    inside it, so one record can never describe another's bytes.
 *
 * The record and entry parsers below are shared by the validator and the
 * accessors: the accessors re-run exactly the checks the validator ran
 * (bounded by view->size), so they need no second set of rules and do not
 * read past view->size even when handed a view that was not produced here.
 */
#include <wmiev/name.h>
#include <wmiev/reginfo_parse.h>

#include <stdio.h>
#include <string.h>

/* Wire sizes and offsets, as uint32_t so that chain offset arithmetic stays unsigned 32-bit. */
#define HEADER_SIZE ((uint32_t)offsetof(WMIREGINFOW, WmiRegGuid))
#define ENTRY_SIZE ((uint32_t)sizeof(WMIREGGUIDW))
#define FIELD(type, member) ((uint32_t)offsetof(type, member))

/* Shortest counted string: the USHORT byte count alone. */
#define COUNT_SIZE 2u

#define NAME_SOURCE_FLAGS                                                                          \
  (WMIREG_FLAG_INSTANCE_LIST | WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_INSTANCE_PDO)
#define KNOWN_OPTIONS (WMIEV_REGINFO_UPDATE | WMIEV_REGINFO_STRICT)

/* Marks a diagnostic site that has no entry or name index. */
#define NO_INDEX UINT32_MAX

/* The bytes being parsed and how. */
typedef struct chain {
  const uint8_t *base;
  uint32_t limit; /* bytes that may be read */
  uint32_t options;
} chain;

/* One record's header, checked. */
typedef struct record {
  wmiev_reginfo_record_view view;
  uint32_t index;
  uint32_t next;      /* NextWmiRegInfo as stored */
  uint32_t array_end; /* record-relative end of the GUID array: strings may start here */
} record;

/* Where a counted string's offset is stored, for diagnostics. */
typedef struct site {
  const char *field; /* Windows spelling of the field holding the offset */
  uint32_t offset;   /* chain offset of that field */
  const char *what;  /* what the string is, in words */
  uint32_t entry;    /* WmiRegGuid index, or NO_INDEX */
  uint32_t name;     /* index in an instance name list, or NO_INDEX */
} site;

/* ---- reading ------------------------------------------------------------ */

static uint16_t read_u16_at(const uint8_t *base, uint32_t offset) {
  uint16_t v;
  memcpy(&v, base + offset, sizeof v);
  return v;
}

static uint32_t read_u32_at(const uint8_t *base, uint32_t offset) {
  uint32_t v;
  memcpy(&v, base + offset, sizeof v);
  return v;
}

static uintptr_t read_uptr_at(const uint8_t *base, uint32_t offset) {
  uintptr_t v;
  memcpy(&v, base + offset, sizeof v);
  return v;
}

/* True if [start, start + size) lies inside [0, limit); written so that nothing can wrap. */
static bool check_range(uint64_t start, uint64_t size, uint64_t limit) {
  return start <= limit && size <= limit - start;
}

static uint32_t entry_offset(const record *rec, uint32_t e) {
  return rec->view.offset + HEADER_SIZE + e * ENTRY_SIZE;
}

/* A REMOVE_GUID entry in a WMIREGISTER answer is ignored (unless strict, which rejects it). */
static bool entry_skipped(const chain *c, uint32_t flags) {
  return (flags & WMIREG_FLAG_REMOVE_GUID) != 0 && (c->options & WMIEV_REGINFO_UPDATE) == 0;
}

/* ---- counted strings ---------------------------------------------------- */

static void describe_site(char *buf, size_t size, const record *rec, const site *s) {
  if (s->entry == NO_INDEX) {
    (void)snprintf(buf, size, "record %u %s", (unsigned)rec->index, s->what);
  } else if (s->name == NO_INDEX) {
    (void)snprintf(buf, size, "record %u WmiRegGuid[%u] %s", (unsigned)rec->index,
                   (unsigned)s->entry, s->what);
  } else {
    (void)snprintf(buf, size, "record %u WmiRegGuid[%u] %s %u", (unsigned)rec->index,
                   (unsigned)s->entry, s->what, (unsigned)s->name);
  }
}

/*
 * Locates the counted string at record-relative offset @p rel. The string
 * must follow the header and GUID array (a driver that points a name into
 * them is describing its own binary fields as text) and lie inside the
 * record; counted_string_locate sees only the record's bytes, which enforces
 * the second rule.
 */
static wmiev_status string_at(const chain *c, const record *rec, uint32_t rel, const site *s,
                              wmiev_wire_string *out, wmiev_diag *diag) {
  char where[64];
  if (rel < rec->array_end) {
    describe_site(where, sizeof where, rec, s);
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, s->field, s->offset,
                          "%s at offset %u points into the header or the GUID array "
                          "(strings start at %u or later)",
                          where, (unsigned)rel, (unsigned)rec->array_end);
  }
  wmiev_diag sub;
  wmiev_status st = wmiev_counted_string_locate(c->base + rec->view.offset, rec->view.buffer_size,
                                                rel, 0, &out->chars, &out->bytes, &sub);
  if (st != WMIEV_STATUS_SUCCESS) {
    describe_site(where, sizeof where, rec, s);
    /* sub speaks of the record as "the buffer", in record-relative offsets like the field's. */
    return wmiev_diag_set(diag, st, s->field, s->offset, "%s: %s (record-relative)", where,
                          sub.message);
  }
  return WMIEV_STATUS_SUCCESS;
}

/* ---- records ------------------------------------------------------------ */

static wmiev_status header_string(const chain *c, const record *rec, uint32_t field_rel,
                                  const char *field, const char *what, wmiev_wire_string *out,
                                  wmiev_diag *diag) {
  out->chars = NULL;
  out->bytes = 0;
  uint32_t rel = read_u32_at(c->base, rec->view.offset + field_rel);
  if (rel == 0) {
    return WMIEV_STATUS_SUCCESS; /* absent; only WMIREGISTER answers carry them */
  }
  site s = {field, rec->view.offset + field_rel, what, NO_INDEX, NO_INDEX};
  return string_at(c, rec, rel, &s, out, diag);
}

/*
 * Reads and checks the header of record @p index at chain offset @p offset:
 * its size, its GUID array and its two strings. Entries are checked apart.
 */
static wmiev_status parse_record(const chain *c, uint32_t index, uint32_t offset,
                                 uint32_t first_block, record *rec, wmiev_diag *diag) {
  if (!check_range(offset, HEADER_SIZE, c->limit)) {
    /* The validator checks this before moving to a record; only forged views get here. */
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "WMIREGINFO.BufferSize", offset,
                          "record %u: no room for a header at offset %u", (unsigned)index,
                          (unsigned)offset);
  }
  memset(rec, 0, sizeof *rec);
  rec->index = index;
  rec->view.offset = offset;
  rec->view.first_block = first_block;
  rec->view.buffer_size = read_u32_at(c->base, offset + FIELD(WMIREGINFOW, BufferSize));
  rec->next = read_u32_at(c->base, offset + FIELD(WMIREGINFOW, NextWmiRegInfo));
  rec->view.guid_count = read_u32_at(c->base, offset + FIELD(WMIREGINFOW, GuidCount));

  if (!check_range(offset, rec->view.buffer_size, c->limit)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "WMIREGINFO.BufferSize",
                          offset + FIELD(WMIREGINFOW, BufferSize),
                          "record %u at offset %u: BufferSize %u runs past the %u bytes given",
                          (unsigned)index, (unsigned)offset, (unsigned)rec->view.buffer_size,
                          (unsigned)c->limit);
  }
  uint64_t array_end = HEADER_SIZE + (uint64_t)rec->view.guid_count * ENTRY_SIZE;
  /* Blame GuidCount when no BufferSize could hold the array, BufferSize otherwise. */
  if (!check_range(offset, array_end, c->limit)) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "WMIREGINFO.GuidCount",
                          offset + FIELD(WMIREGINFOW, GuidCount),
                          "record %u: GuidCount %u needs %llu bytes, more than the %u bytes given",
                          (unsigned)index, (unsigned)rec->view.guid_count,
                          (unsigned long long)array_end, (unsigned)c->limit);
  }
  if (array_end > rec->view.buffer_size) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "WMIREGINFO.BufferSize",
                          offset + FIELD(WMIREGINFOW, BufferSize),
                          "record %u: BufferSize %u is smaller than its header and %u GUID "
                          "entries (%llu bytes)",
                          (unsigned)index, (unsigned)rec->view.buffer_size,
                          (unsigned)rec->view.guid_count, (unsigned long long)array_end);
  }
  rec->array_end = (uint32_t)array_end;

  wmiev_status st =
      header_string(c, rec, FIELD(WMIREGINFOW, RegistryPath), "WMIREGINFO.RegistryPath",
                    "RegistryPath", &rec->view.registry_path, diag);
  if (st != WMIEV_STATUS_SUCCESS) {
    return st;
  }
  return header_string(c, rec, FIELD(WMIREGINFOW, MofResourceName), "WMIREGINFO.MofResourceName",
                       "MofResourceName", &rec->view.mof_resource, diag);
}

/*
 * Chain offset of the record after @p rec (whose NextWmiRegInfo is not 0).
 * Requiring NextWmiRegInfo >= BufferSize makes records disjoint and the walk
 * strictly forward, so a chain cannot loop.
 */
static wmiev_status next_record_offset(const chain *c, const record *rec, uint32_t *offset,
                                       wmiev_diag *diag) {
  uint32_t field = rec->view.offset + FIELD(WMIREGINFOW, NextWmiRegInfo);
  if (rec->next < rec->view.buffer_size) {
    return wmiev_diag_set(
        diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "WMIREGINFO.NextWmiRegInfo", field,
        "record %u: NextWmiRegInfo %u does not move past its BufferSize %u "
        "(records may not overlap or loop)",
        (unsigned)rec->index, (unsigned)rec->next, (unsigned)rec->view.buffer_size);
  }
  if (rec->index + 1 >= WMIEV_REGINFO_MAX_RECORDS) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "WMIREGINFO.NextWmiRegInfo", field,
                          "record %u: a chain may hold at most %u records", (unsigned)rec->index,
                          (unsigned)WMIEV_REGINFO_MAX_RECORDS);
  }
  uint64_t start = (uint64_t)rec->view.offset + rec->next;
  if (!check_range(start, HEADER_SIZE, c->limit)) {
    return wmiev_diag_set(
        diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "WMIREGINFO.NextWmiRegInfo", field,
        "record %u: next record at offset %llu leaves no room for a %u-byte "
        "header in the %u bytes given",
        (unsigned)rec->index, (unsigned long long)start, (unsigned)HEADER_SIZE, (unsigned)c->limit);
  }
  *offset = (uint32_t)start;
  return WMIEV_STATUS_SUCCESS;
}

/* ---- entries ------------------------------------------------------------ */

static uint32_t union_offset(const record *rec, uint32_t e) {
  return entry_offset(rec, e) + FIELD(WMIREGGUIDW, InstanceNameList);
}

/*
 * INSTANCE_LIST: InstanceCount counted strings, back to back from
 * InstanceNameList. All of them are checked here so list_name() never has to.
 * A huge InstanceCount costs nothing extra: every name takes at least two
 * bytes, so the record's end stops the loop.
 */
static wmiev_status parse_name_list(const chain *c, const record *rec, uint32_t e,
                                    wmiev_reginfo_block_view *out, wmiev_diag *diag) {
  out->names = WMIEV_NAMES_LIST;
  if (out->instance_count == 0) {
    return WMIEV_STATUS_SUCCESS; /* no names: InstanceNameList is never read */
  }
  uint32_t rel = read_u32_at(c->base, union_offset(rec, e));
  site s = {"WmiRegGuid[].InstanceNameList", union_offset(rec, e), "instance name", e, 0};
  for (uint32_t i = 0; i < out->instance_count; i++) {
    wmiev_wire_string name;
    s.name = i;
    wmiev_status st = string_at(c, rec, rel, &s, &name, diag);
    if (st != WMIEV_STATUS_SUCCESS) {
      return st;
    }
    if (i == 0) {
      out->name_list_offset = rec->view.offset + rel;
    }
    /* Byte counts are even (checked), so the next name is already 2-aligned. */
    rel += COUNT_SIZE + name.bytes;
  }
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status parse_names(const chain *c, const record *rec, uint32_t e,
                                wmiev_reginfo_block_view *out, wmiev_diag *diag) {
  uint32_t sources = out->flags & NAME_SOURCE_FLAGS;
  if ((sources & (sources - 1)) != 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "WmiRegGuid[].Flags",
                          entry_offset(rec, e) + FIELD(WMIREGGUIDW, Flags),
                          "record %u WmiRegGuid[%u]: Flags 0x%08x name more than one of "
                          "INSTANCE_LIST, INSTANCE_BASENAME and INSTANCE_PDO",
                          (unsigned)rec->index, (unsigned)e, (unsigned)out->flags);
  }
  switch (sources) {
  case WMIREG_FLAG_INSTANCE_LIST:
    return parse_name_list(c, rec, e, out, diag);
  case WMIREG_FLAG_INSTANCE_BASENAME: {
    out->names = WMIEV_NAMES_BASENAME;
    site s = {"WmiRegGuid[].BaseNameOffset", union_offset(rec, e), "base name", e, NO_INDEX};
    return string_at(c, rec, read_u32_at(c->base, s.offset), &s, &out->base_name, diag);
  }
  case WMIREG_FLAG_INSTANCE_PDO:
    out->names = WMIEV_NAMES_PDO;
    /* The pointer itself (spec §3.2); resolving it is the registry's job. */
    out->pdo = read_uptr_at(c->base, union_offset(rec, e));
    if (out->pdo == 0) {
      return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "WmiRegGuid[].Pdo",
                            union_offset(rec, e),
                            "record %u WmiRegGuid[%u]: INSTANCE_PDO with a NULL Pdo",
                            (unsigned)rec->index, (unsigned)e);
    }
    return WMIEV_STATUS_SUCCESS;
  default:
    out->names = WMIEV_NAMES_DYNAMIC; /* names travel in each WNODE; InstanceCount is ignored */
    return WMIEV_STATUS_SUCCESS;
  }
}

/*
 * Decodes and checks entry @p e of @p rec. *skipped is set for a REMOVE_GUID
 * entry in a WMIREGISTER answer, whose other fields are then not looked at.
 */
static wmiev_status parse_entry(const chain *c, const record *rec, uint32_t e,
                                wmiev_reginfo_block_view *out, bool *skipped, wmiev_diag *diag) {
  uint32_t at = entry_offset(rec, e);
  memset(out, 0, sizeof *out);
  memcpy(&out->guid, c->base + at + FIELD(WMIREGGUIDW, Guid), sizeof out->guid);
  out->flags = read_u32_at(c->base, at + FIELD(WMIREGGUIDW, Flags));
  out->instance_count = read_u32_at(c->base, at + FIELD(WMIREGGUIDW, InstanceCount));
  out->record = rec->index;
  out->entry_offset = at;
  out->remove = (out->flags & WMIREG_FLAG_REMOVE_GUID) != 0;

  *skipped = false;
  if (entry_skipped(c, out->flags)) {
    if ((c->options & WMIEV_REGINFO_STRICT) != 0) {
      return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "WmiRegGuid[].Flags",
                            at + FIELD(WMIREGGUIDW, Flags),
                            "record %u WmiRegGuid[%u]: REMOVE_GUID is only valid in the answer "
                            "to a WMIUPDATE query",
                            (unsigned)rec->index, (unsigned)e);
    }
    *skipped = true;
    return WMIEV_STATUS_SUCCESS;
  }
  return parse_names(c, rec, e, out, diag);
}

/* Checks every entry of @p rec, counting kept and skipped blocks into @p view. */
static wmiev_status parse_entries(const chain *c, const record *rec, wmiev_reginfo_view *view,
                                  wmiev_diag *diag) {
  for (uint32_t e = 0; e < rec->view.guid_count; e++) {
    wmiev_reginfo_block_view block;
    bool skipped;
    wmiev_status st = parse_entry(c, rec, e, &block, &skipped, diag);
    if (st != WMIEV_STATUS_SUCCESS) {
      return st;
    }
    if (skipped) {
      view->skipped_remove_count++;
    } else {
      view->block_count++;
    }
  }
  return WMIEV_STATUS_SUCCESS;
}

/* ---- validation --------------------------------------------------------- */

wmiev_status wmiev_reginfo_validate(const void *buf, size_t len, uint32_t options,
                                    wmiev_reginfo_view *view, wmiev_diag *diag) {
  if (view == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "view", 0, "NULL view");
  }
  /* A failed validation leaves an empty view, on which every accessor fails. */
  memset(view, 0, sizeof *view);
  if ((options & ~KNOWN_OPTIONS) != 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "options", 0,
                          "unknown option bits 0x%08x", (unsigned)(options & ~KNOWN_OPTIONS));
  }
  if (buf == NULL || len < HEADER_SIZE) {
    return wmiev_diag_set(diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "WMIREGINFO.BufferSize", 0,
                          "%zu bytes cannot hold a %u-byte WMIREGINFO header",
                          buf == NULL ? (size_t)0 : len, (unsigned)HEADER_SIZE);
  }
  /* A REGINFO buffer's size is a ULONG on Windows; bytes past 4 GiB are never part of a chain. */
  chain c = {buf, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len, options};
  wmiev_reginfo_view v = {.base = buf, .options = options};
  uint32_t offset = 0;
  for (;;) {
    record rec;
    wmiev_status st = parse_record(&c, v.record_count, offset, v.block_count, &rec, diag);
    if (st == WMIEV_STATUS_SUCCESS) {
      st = parse_entries(&c, &rec, &v, diag);
    }
    if (st != WMIEV_STATUS_SUCCESS) {
      return st;
    }
    v.record_count++;
    v.size = rec.view.offset + rec.view.buffer_size;
    if (rec.next == 0) {
      break;
    }
    st = next_record_offset(&c, &rec, &offset, diag);
    if (st != WMIEV_STATUS_SUCCESS) {
      return st;
    }
  }
  *view = v;
  return WMIEV_STATUS_SUCCESS;
}

/* ---- accessors ---------------------------------------------------------- */

static chain chain_of(const wmiev_reginfo_view *view) {
  chain c = {view->base, view->base != NULL ? view->size : 0, view->options};
  return c;
}

static uint32_t kept_blocks(const chain *c, const record *rec) {
  uint32_t kept = 0;
  for (uint32_t e = 0; e < rec->view.guid_count; e++) {
    if (!entry_skipped(c, read_u32_at(c->base, entry_offset(rec, e) + FIELD(WMIREGGUIDW, Flags)))) {
      kept++;
    }
  }
  return kept;
}

typedef enum seek_by { SEEK_RECORD, SEEK_BLOCK } seek_by;

/*
 * Walks the chain to record @p index, or to the record holding block @p index.
 * The same parsers as validation run again, bounded by view->size, so a view
 * that did not come from wmiev_reginfo_validate fails here instead of being
 * followed past its size.
 */
static bool seek(const wmiev_reginfo_view *view, seek_by by, uint32_t index, record *rec) {
  chain c = chain_of(view);
  uint32_t offset = 0;
  uint32_t first_block = 0;
  for (uint32_t r = 0; r < view->record_count; r++) {
    if (parse_record(&c, r, offset, first_block, rec, NULL) != WMIEV_STATUS_SUCCESS) {
      return false;
    }
    uint32_t kept = kept_blocks(&c, rec);
    if (by == SEEK_RECORD ? r == index : index - first_block < kept) {
      return true;
    }
    first_block += kept;
    if (next_record_offset(&c, rec, &offset, NULL) != WMIEV_STATUS_SUCCESS) {
      return false;
    }
  }
  return false;
}

wmiev_status wmiev_reginfo_record(const wmiev_reginfo_view *view, uint32_t i,
                                  wmiev_reginfo_record_view *out) {
  record rec;
  if (view == NULL || out == NULL || i >= view->record_count || !seek(view, SEEK_RECORD, i, &rec)) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  *out = rec.view;
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_reginfo_block(const wmiev_reginfo_view *view, uint32_t i,
                                 wmiev_reginfo_block_view *out) {
  record rec;
  if (view == NULL || out == NULL || i >= view->block_count || !seek(view, SEEK_BLOCK, i, &rec)) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  chain c = chain_of(view);
  uint32_t wanted = i - rec.view.first_block;
  for (uint32_t e = 0; e < rec.view.guid_count; e++) {
    bool skipped;
    if (parse_entry(&c, &rec, e, out, &skipped, NULL) != WMIEV_STATUS_SUCCESS) {
      return WMIEV_STATUS_INVALID_PARAMETER;
    }
    if (!skipped && wanted-- == 0) {
      return WMIEV_STATUS_SUCCESS;
    }
  }
  return WMIEV_STATUS_INVALID_PARAMETER; /* not reached for a validated view */
}

wmiev_status wmiev_reginfo_list_name(const wmiev_reginfo_view *view,
                                     const wmiev_reginfo_block_view *block, uint32_t i,
                                     wmiev_wire_string *out) {
  if (view == NULL || view->base == NULL || block == NULL || out == NULL ||
      block->names != WMIEV_NAMES_LIST || i >= block->instance_count) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  /*
   * Validation checked every name against its record; the chain bounds
   * checked here only guard against a block view that belongs to another view.
   */
  uint32_t at = block->name_list_offset;
  for (uint32_t k = 0;; k++) {
    if (!check_range(at, COUNT_SIZE, view->size)) {
      return WMIEV_STATUS_INVALID_PARAMETER;
    }
    uint16_t bytes = read_u16_at(view->base, at);
    if (!check_range((uint64_t)at + COUNT_SIZE, bytes, view->size)) {
      return WMIEV_STATUS_INVALID_PARAMETER;
    }
    if (k == i) {
      out->chars = view->base + at + COUNT_SIZE;
      out->bytes = bytes;
      return WMIEV_STATUS_SUCCESS;
    }
    at += COUNT_SIZE + bytes;
  }
}
