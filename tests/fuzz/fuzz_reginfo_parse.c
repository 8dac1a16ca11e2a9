/*
 * fuzz_reginfo_parse: the WMIREGINFO chain parser (lib/core/reginfo_parse.c)
 * on arbitrary bytes, as a driver's IRP_MN_REGINFO(_EX) answer.
 *
 * The input is the candidate chain itself, validated with each option set a
 * caller uses: WMIREGISTER (0), WMIUPDATE and strict. The layout is the
 * host's (WMIREGGUIDW is 32 bytes on x86_64, 28 on i386), as for a driver.
 *
 * Properties (beyond "no crash, no UB, no read past the input"):
 *  1. A failure carries one of the four documented statuses with a
 *     diagnostic; a failed validation leaves an empty view on which every
 *     accessor fails.
 *  2. The options relate as documented: STRICT accepts exactly the
 *     WMIREGISTER answers that have no REMOVE_GUID entry to skip; UPDATE,
 *     which checks those entries instead of skipping them, accepts a subset
 *     of what WMIREGISTER accepts (all of it when there is nothing to skip)
 *     and keeps them as blocks (block_count = kept + skipped).
 *  3. An accepted chain re-validates to the same view, also from only its
 *     first view.size bytes and from a copy at an odd address.
 *  4. The accessors cannot fail in range and fail out of range; records
 *     are disjoint, in order, inside the chain; blocks are numbered
 *     record by record; every string they point at (registry path, MOF
 *     name, base name, each INSTANCE_LIST name) lies inside its record with
 *     an even byte count; a PDO block has a non-zero Pdo.
 */
#include "fuzz_common.h"

/* INSTANCE_LIST names looked at per block (each access walks the list from its start). */
#define MAX_NAMES 64u

static void check_failure(wmiev_status st, const wmiev_diag *diag, const wmiev_reginfo_view *v) {
  if (st != WMIEV_STATUS_BUFFER_TOO_SMALL && st != WMIEV_STATUS_INVALID_BUFFER_SIZE &&
      st != WMIEV_STATUS_INVALID_PARAMETER && st != WMIEV_STATUS_DATATYPE_MISALIGNMENT) {
    fuzz_fail("parser returned %s, not one of its documented classes", wmiev_status_name(st));
  }
  FUZZ_CHECK(diag->status == st);
  FUZZ_CHECK(diag->field != NULL && diag->field[0] != '\0');
  FUZZ_CHECK(diag->message[0] != '\0');
  FUZZ_CHECK(v->base == NULL && v->record_count == 0 && v->block_count == 0);
  wmiev_reginfo_record_view r;
  wmiev_reginfo_block_view b;
  FUZZ_CHECK(wmiev_reginfo_record(v, 0, &r) == WMIEV_STATUS_INVALID_PARAMETER);
  FUZZ_CHECK(wmiev_reginfo_block(v, 0, &b) == WMIEV_STATUS_INVALID_PARAMETER);
}

static void check_string(const wmiev_reginfo_view *v, const wmiev_reginfo_record_view *rec,
                         wmiev_wire_string s) {
  if (s.chars == NULL) {
    FUZZ_CHECK(s.bytes == 0);
    return;
  }
  const uint8_t *start = v->base + rec->offset;
  FUZZ_CHECK(s.bytes % 2 == 0);
  FUZZ_CHECK(s.chars >= start + 2);
  FUZZ_CHECK(s.chars + s.bytes <= start + rec->buffer_size);
  uint16_t count;
  memcpy(&count, s.chars - 2, sizeof count);
  FUZZ_CHECK(count == s.bytes);
  FUZZ_CHECK((size_t)(s.chars - 2 - start) % 2 == 0);
}

static void same_string(wmiev_wire_string a, wmiev_wire_string b, const uint8_t *a_base,
                        const uint8_t *b_base) {
  FUZZ_CHECK(a.bytes == b.bytes);
  FUZZ_CHECK((a.chars == NULL) == (b.chars == NULL));
  FUZZ_CHECK(a.chars == NULL || a.chars - a_base == b.chars - b_base);
}

static void same_block(const wmiev_reginfo_block_view *a, const wmiev_reginfo_block_view *b,
                       const uint8_t *a_base, const uint8_t *b_base) {
  FUZZ_CHECK(memcmp(&a->guid, &b->guid, sizeof(GUID)) == 0);
  FUZZ_CHECK(a->flags == b->flags);
  FUZZ_CHECK(a->instance_count == b->instance_count);
  FUZZ_CHECK(a->record == b->record);
  FUZZ_CHECK(a->entry_offset == b->entry_offset);
  FUZZ_CHECK(a->names == b->names);
  FUZZ_CHECK(a->pdo == b->pdo);
  same_string(a->base_name, b->base_name, a_base, b_base);
  FUZZ_CHECK(a->name_list_offset == b->name_list_offset);
  FUZZ_CHECK(a->remove == b->remove);
}

/* Property 3: @p b describes the same chain as @p a, at another address. */
static void same_view(const wmiev_reginfo_view *a, const wmiev_reginfo_view *b) {
  FUZZ_CHECK(a->size == b->size);
  FUZZ_CHECK(a->record_count == b->record_count);
  FUZZ_CHECK(a->block_count == b->block_count);
  FUZZ_CHECK(a->skipped_remove_count == b->skipped_remove_count);
  FUZZ_CHECK(a->options == b->options);
  for (uint32_t i = 0; i < a->record_count; i++) {
    wmiev_reginfo_record_view x, y;
    FUZZ_CHECK(wmiev_reginfo_record(a, i, &x) == WMIEV_STATUS_SUCCESS);
    FUZZ_CHECK(wmiev_reginfo_record(b, i, &y) == WMIEV_STATUS_SUCCESS);
    FUZZ_CHECK(x.offset == y.offset && x.buffer_size == y.buffer_size);
    FUZZ_CHECK(x.guid_count == y.guid_count && x.first_block == y.first_block);
    same_string(x.registry_path, y.registry_path, a->base, b->base);
    same_string(x.mof_resource, y.mof_resource, a->base, b->base);
  }
  for (uint32_t i = 0; i < a->block_count; i++) {
    wmiev_reginfo_block_view x, y;
    FUZZ_CHECK(wmiev_reginfo_block(a, i, &x) == WMIEV_STATUS_SUCCESS);
    FUZZ_CHECK(wmiev_reginfo_block(b, i, &y) == WMIEV_STATUS_SUCCESS);
    same_block(&x, &y, a->base, b->base);
  }
}

/* Property 4. */
static void check_view(const wmiev_reginfo_view *v, const uint8_t *buf, size_t len,
                       uint32_t options) {
  const uint32_t header = (uint32_t)offsetof(WMIREGINFOW, WmiRegGuid);
  const uint32_t entry = (uint32_t)sizeof(WMIREGGUIDW);
  FUZZ_CHECK(v->base == buf);
  FUZZ_CHECK(v->options == options);
  FUZZ_CHECK(v->size >= header && v->size <= len);
  FUZZ_CHECK(v->record_count >= 1 && v->record_count <= WMIEV_REGINFO_MAX_RECORDS);
  FUZZ_CHECK((options & WMIEV_REGINFO_UPDATE) == 0 || v->skipped_remove_count == 0);
  FUZZ_CHECK((options & WMIEV_REGINFO_STRICT) == 0 || v->skipped_remove_count == 0);

  uint64_t end_of_previous = 0;
  uint64_t blocks = 0, entries = 0;
  for (uint32_t i = 0; i < v->record_count; i++) {
    wmiev_reginfo_record_view rec;
    FUZZ_CHECK(wmiev_reginfo_record(v, i, &rec) == WMIEV_STATUS_SUCCESS);
    FUZZ_CHECK(rec.offset >= end_of_previous); /* disjoint and in order: no loop */
    FUZZ_CHECK((uint64_t)rec.offset + rec.buffer_size <= v->size);
    FUZZ_CHECK((uint64_t)header + (uint64_t)rec.guid_count * entry <= rec.buffer_size);
    FUZZ_CHECK(rec.first_block == blocks);
    uint32_t stored;
    memcpy(&stored, buf + rec.offset, sizeof stored);
    FUZZ_CHECK(stored == rec.buffer_size);
    memcpy(&stored, buf + rec.offset + offsetof(WMIREGINFOW, NextWmiRegInfo), sizeof stored);
    FUZZ_CHECK((stored == 0) == (i + 1 == v->record_count));
    if (i + 1 == v->record_count) {
      FUZZ_CHECK((uint64_t)rec.offset + rec.buffer_size == v->size);
    }
    check_string(v, &rec, rec.registry_path);
    check_string(v, &rec, rec.mof_resource);
    /* Blocks kept from this record: its entries less skipped REMOVE_GUIDs. */
    for (uint32_t e = 0; e < rec.guid_count; e++) {
      uint32_t flags;
      memcpy(&flags, buf + rec.offset + header + e * entry + offsetof(WMIREGGUIDW, Flags),
             sizeof flags);
      bool skipped =
          (flags & WMIREG_FLAG_REMOVE_GUID) != 0 && (options & WMIEV_REGINFO_UPDATE) == 0;
      blocks += skipped ? 0u : 1u;
    }
    entries += rec.guid_count;
    end_of_previous = (uint64_t)rec.offset + rec.buffer_size;
  }
  FUZZ_CHECK(blocks == v->block_count);
  FUZZ_CHECK(entries == (uint64_t)v->block_count + v->skipped_remove_count);

  for (uint32_t i = 0; i < v->block_count; i++) {
    wmiev_reginfo_block_view b;
    FUZZ_CHECK(wmiev_reginfo_block(v, i, &b) == WMIEV_STATUS_SUCCESS);
    FUZZ_CHECK(b.record < v->record_count);
    wmiev_reginfo_record_view rec;
    FUZZ_CHECK(wmiev_reginfo_record(v, b.record, &rec) == WMIEV_STATUS_SUCCESS);
    FUZZ_CHECK(i >= rec.first_block);
    FUZZ_CHECK(b.entry_offset >= rec.offset + header);
    FUZZ_CHECK((b.entry_offset - rec.offset - header) % entry == 0);
    FUZZ_CHECK((b.entry_offset - rec.offset - header) / entry < rec.guid_count);
    FUZZ_CHECK(memcmp(&b.guid, buf + b.entry_offset, sizeof(GUID)) == 0);
    FUZZ_CHECK(b.remove == ((b.flags & WMIREG_FLAG_REMOVE_GUID) != 0));
    FUZZ_CHECK(!b.remove || (options & WMIEV_REGINFO_UPDATE) != 0);
    uint32_t sources = b.flags & (WMIREG_FLAG_INSTANCE_LIST | WMIREG_FLAG_INSTANCE_BASENAME |
                                  WMIREG_FLAG_INSTANCE_PDO);
    wmiev_wire_string name;
    switch (b.names) {
    case WMIEV_NAMES_DYNAMIC:
      FUZZ_CHECK(sources == 0);
      FUZZ_CHECK(wmiev_reginfo_list_name(v, &b, 0, &name) == WMIEV_STATUS_INVALID_PARAMETER);
      break;
    case WMIEV_NAMES_BASENAME:
      FUZZ_CHECK(sources == WMIREG_FLAG_INSTANCE_BASENAME);
      FUZZ_CHECK(b.base_name.chars != NULL);
      check_string(v, &rec, b.base_name);
      break;
    case WMIEV_NAMES_PDO:
      FUZZ_CHECK(sources == WMIREG_FLAG_INSTANCE_PDO);
      FUZZ_CHECK(b.pdo != 0);
      break;
    case WMIEV_NAMES_LIST: {
      FUZZ_CHECK(sources == WMIREG_FLAG_INSTANCE_LIST);
      uint32_t n = b.instance_count < MAX_NAMES ? b.instance_count : MAX_NAMES;
      for (uint32_t k = 0; k < n; k++) {
        if (wmiev_reginfo_list_name(v, &b, k, &name) != WMIEV_STATUS_SUCCESS) {
          fuzz_fail("name %u of a validated INSTANCE_LIST block is refused", (unsigned)k);
        }
        check_string(v, &rec, name);
      }
      if (b.instance_count > 0) {
        /* The last one too: the list was validated to its end. */
        FUZZ_CHECK(wmiev_reginfo_list_name(v, &b, b.instance_count - 1u, &name) ==
                   WMIEV_STATUS_SUCCESS);
        check_string(v, &rec, name);
      }
      if (b.instance_count != UINT32_MAX) {
        FUZZ_CHECK(wmiev_reginfo_list_name(v, &b, b.instance_count, &name) ==
                   WMIEV_STATUS_INVALID_PARAMETER);
      }
      break;
    }
    }
  }
  wmiev_reginfo_record_view r;
  wmiev_reginfo_block_view b;
  FUZZ_CHECK(wmiev_reginfo_record(v, v->record_count, &r) == WMIEV_STATUS_INVALID_PARAMETER);
  FUZZ_CHECK(wmiev_reginfo_block(v, v->block_count, &b) == WMIEV_STATUS_INVALID_PARAMETER);
}

static void check_accepted(const wmiev_reginfo_view *v, const uint8_t *data, size_t size,
                           uint32_t options) {
  check_view(v, data, size, options);

  wmiev_reginfo_view again;
  FUZZ_CHECK(wmiev_reginfo_validate(data, size, options, &again, NULL) == WMIEV_STATUS_SUCCESS);
  same_view(v, &again);

  /* Nothing after the chain is read, and nothing assumes alignment. */
  uint8_t *odd = malloc((size_t)v->size + 1);
  FUZZ_CHECK(odd != NULL);
  memcpy(odd + 1, data, v->size);
  wmiev_diag diag;
  wmiev_status st = wmiev_reginfo_validate(odd + 1, v->size, options, &again, &diag);
  if (st != WMIEV_STATUS_SUCCESS) {
    fuzz_fail("the chain's first %u bytes at an odd address fail: %s (%s)", (unsigned)v->size,
              wmiev_status_name(st), diag.message);
  }
  FUZZ_CHECK(again.base == odd + 1);
  same_view(v, &again);
  free(odd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint32_t option_sets[3] = {0, WMIEV_REGINFO_UPDATE, WMIEV_REGINFO_STRICT};
  wmiev_reginfo_view views[3];
  wmiev_status st[3];
  for (int k = 0; k < 3; k++) {
    wmiev_diag diag;
    st[k] = wmiev_reginfo_validate(data, size, option_sets[k], &views[k], &diag);
    if (st[k] == WMIEV_STATUS_SUCCESS) {
      check_accepted(&views[k], data, size, option_sets[k]);
    } else {
      check_failure(st[k], &diag, &views[k]);
    }
  }
  wmiev_status reg = st[0], update = st[1], strict = st[2];

  /* Property 2. A WMIREGISTER answer skips REMOVE_GUID entries unread, a
   * WMIUPDATE answer checks them like any other: UPDATE accepts a subset. */
  if (update == WMIEV_STATUS_SUCCESS) {
    FUZZ_CHECK(reg == WMIEV_STATUS_SUCCESS);
    FUZZ_CHECK(views[1].size == views[0].size);
    FUZZ_CHECK(views[1].record_count == views[0].record_count);
    FUZZ_CHECK(views[1].block_count == views[0].block_count + views[0].skipped_remove_count);
  }
  if (reg == WMIEV_STATUS_SUCCESS) {
    FUZZ_CHECK(views[0].skipped_remove_count != 0 || update == WMIEV_STATUS_SUCCESS);
    FUZZ_CHECK((strict == WMIEV_STATUS_SUCCESS) == (views[0].skipped_remove_count == 0));
    if (strict == WMIEV_STATUS_SUCCESS) {
      FUZZ_CHECK(views[2].block_count == views[0].block_count);
      FUZZ_CHECK(views[2].size == views[0].size);
    } else {
      FUZZ_CHECK(strict == WMIEV_STATUS_INVALID_PARAMETER);
    }
  } else {
    FUZZ_CHECK(strict != WMIEV_STATUS_SUCCESS);
  }
  /* Too few bytes for a header is the only STATUS_BUFFER_TOO_SMALL. */
  FUZZ_CHECK((reg == WMIEV_STATUS_BUFFER_TOO_SMALL) == (size < offsetof(WMIREGINFOW, WmiRegGuid)));
  return 0;
}
