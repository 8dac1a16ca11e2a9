/*
 * WMIREGINFO chain validation (lib/core/reginfo_parse.c).
 *
 * Inputs are written by hand with a tiny writer that places fields at offsets
 * derived from offsetof(WMIREGINFOW, WmiRegGuid) and sizeof(WMIREGGUIDW), so
 * the same tests run on x86_64 (24 / 32) and i386 (20 / 28); one golden byte
 * array pins the x86_64 layout independently of the writer. The last two
 * tests throw truncated and mutated buffers at the parser in exactly-sized
 * heap blocks, so that ASan sees any read past the end.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include <wmiev/wmiev.h>

/* ---- layout ------------------------------------------------------------- */

#define HDR ((uint32_t)offsetof(WMIREGINFOW, WmiRegGuid))
#define ENT ((uint32_t)sizeof(WMIREGGUIDW))
#define ENTRY(e) (HDR + ENT * (uint32_t)(e))
#define E_FLAGS(e) (ENTRY(e) + (uint32_t)offsetof(WMIREGGUIDW, Flags))
#define E_COUNT(e) (ENTRY(e) + (uint32_t)offsetof(WMIREGGUIDW, InstanceCount))
#define E_UNION(e) (ENTRY(e) + (uint32_t)offsetof(WMIREGGUIDW, InstanceNameList))
#define OFF_SIZE ((uint32_t)offsetof(WMIREGINFOW, BufferSize))
#define OFF_NEXT ((uint32_t)offsetof(WMIREGINFOW, NextWmiRegInfo))
#define OFF_REGPATH ((uint32_t)offsetof(WMIREGINFOW, RegistryPath))
#define OFF_MOF ((uint32_t)offsetof(WMIREGINFOW, MofResourceName))
#define OFF_COUNT ((uint32_t)offsetof(WMIREGINFOW, GuidCount))
#define W_PTR ((uint32_t)sizeof(uintptr_t))

/* Room for every input below, including 257 minimal records. */
#define BUF_SIZE 8192u

/*
 * The base record: RegistryPath "Reg", MofResourceName "Mof", WmiRegGuid[0]
 * INSTANCE_BASENAME "Base", WmiRegGuid[1] INSTANCE_LIST "n0" "n1".
 */
#define B_ARRAY_END ENTRY(2)
#define B_REGPATH B_ARRAY_END
#define B_MOF (B_REGPATH + 8u)
#define B_BASENAME (B_MOF + 8u)
#define B_LIST (B_BASENAME + 10u)
#define B_SIZE (B_LIST + 12u)

/*
 * The class + miniclass chain. Record 0: RegistryPath "Reg", MofResourceName
 * "Mof", [0] BASENAME "Cls", [1] dynamic event. Record 1 at C_R1: Mof "Mini",
 * [0] LIST "a" "bc", [1] PDO.
 */
#define C0_SIZE (ENTRY(2) + 24u)
#define C_R1 ((C0_SIZE + 7u) & ~7u)
#define C1_SIZE (ENTRY(2) + 20u)
#define C_PDO ((uintptr_t)0x81234560u)

static const GUID guid_a = {
    0x78ebc104, 0x4cf9, 0x11d2, {0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10}};
static const GUID guid_b = {
    0x11223344, 0x5566, 0x7788, {0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00}};
static const GUID guid_c = {
    0xa0b1c2d3, 0xe4f5, 0x0617, {0x28, 0x39, 0x4a, 0x5b, 0x6c, 0x7d, 0x8e, 0x9f}};
static const GUID guid_d = {
    0x0000d00d, 0x0001, 0x0002, {0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a}};

/* ---- writer ------------------------------------------------------------- */

static void put_le(uint8_t *b, uint32_t at, uint32_t width, uint64_t value) {
  for (uint32_t i = 0; i < width; i++) {
    b[at + i] = (uint8_t)(value >> (8 * i));
  }
}

static void put_u16(uint8_t *b, uint32_t at, uint16_t v) { put_le(b, at, 2, v); }

static uint32_t get_u32(const uint8_t *b, uint32_t at) {
  return (uint32_t)b[at] | (uint32_t)b[at + 1] << 8 | (uint32_t)b[at + 2] << 16 |
         (uint32_t)b[at + 3] << 24;
}
static void put_u32(uint8_t *b, uint32_t at, uint32_t v) { put_le(b, at, 4, v); }

static void put_guid(uint8_t *b, uint32_t at, const GUID *g) {
  put_u32(b, at, g->Data1);
  put_u16(b, at + 4, g->Data2);
  put_u16(b, at + 6, g->Data3);
  memcpy(b + at + 8, g->Data4, 8);
}

/* Writes @p ascii as a counted UTF-16LE string; returns the offset after it. */
static uint32_t put_counted_string(uint8_t *b, uint32_t at, const char *ascii) {
  uint32_t n = (uint32_t)strlen(ascii);
  put_u16(b, at, (uint16_t)(2 * n));
  for (uint32_t i = 0; i < n; i++) {
    put_u16(b, at + 2 + 2 * i, (uint16_t)(unsigned char)ascii[i]);
  }
  return at + 2 + 2 * n;
}

static void put_header(uint8_t *b, uint32_t rec, uint32_t size, uint32_t next, uint32_t regpath,
                       uint32_t mof, uint32_t guid_count) {
  put_u32(b, rec + OFF_SIZE, size);
  put_u32(b, rec + OFF_NEXT, next);
  put_u32(b, rec + OFF_REGPATH, regpath);
  put_u32(b, rec + OFF_MOF, mof);
  put_u32(b, rec + OFF_COUNT, guid_count);
}

/* @p u is the union: an offset for LIST / BASENAME, the pointer for PDO. */
static void put_entry(uint8_t *b, uint32_t rec, uint32_t e, const GUID *g, uint32_t flags,
                      uint32_t instance_count, uintptr_t u) {
  put_guid(b, rec + ENTRY(e), g);
  put_u32(b, rec + E_FLAGS(e), flags);
  put_u32(b, rec + E_COUNT(e), instance_count);
  put_le(b, rec + E_UNION(e), W_PTR, u);
}

/* ---- inputs ------------------------------------------------------------- */

static size_t build_base(uint8_t *b) {
  memset(b, 0, BUF_SIZE);
  put_header(b, 0, B_SIZE, 0, B_REGPATH, B_MOF, 2);
  put_entry(b, 0, 0, &guid_a, WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_EXPENSIVE, 4, B_BASENAME);
  put_entry(b, 0, 1, &guid_b, WMIREG_FLAG_INSTANCE_LIST, 2, B_LIST);
  uint32_t at = put_counted_string(b, B_REGPATH, "Reg");
  at = put_counted_string(b, at, "Mof");
  at = put_counted_string(b, at, "Base");
  at = put_counted_string(b, at, "n0");
  at = put_counted_string(b, at, "n1");
  assert_int_equal(at, B_SIZE);
  return B_SIZE;
}

static size_t build_chain_at(uint8_t *b, uint32_t r1) {
  memset(b, 0, BUF_SIZE);
  uint32_t a = ENTRY(2);
  put_header(b, 0, C0_SIZE, r1, a, a + 8, 2);
  put_entry(b, 0, 0, &guid_a, WMIREG_FLAG_INSTANCE_BASENAME, 2, a + 16);
  put_entry(b, 0, 1, &guid_b, WMIREG_FLAG_EVENT_ONLY_GUID, 0, 0);
  uint32_t at = put_counted_string(b, a, "Reg");
  at = put_counted_string(b, at, "Mof");
  at = put_counted_string(b, at, "Cls");
  assert_int_equal(at, C0_SIZE);

  put_header(b, r1, C1_SIZE, 0, 0, a, 2);
  put_entry(b, r1, 0, &guid_c, WMIREG_FLAG_INSTANCE_LIST, 2, a + 10);
  put_entry(b, r1, 1, &guid_d, WMIREG_FLAG_INSTANCE_PDO | WMIREG_FLAG_EVENT_ONLY_GUID, 1, C_PDO);
  at = put_counted_string(b, r1 + a, "Mini");
  at = put_counted_string(b, at, "a");
  at = put_counted_string(b, at, "bc");
  assert_int_equal(at, r1 + C1_SIZE);
  return r1 + C1_SIZE;
}

static size_t build_chain(uint8_t *b) { return build_chain_at(b, C_R1); }

/* NextWmiRegInfo has no alignment rule: an odd one leaves record 1 unaligned. */
static size_t build_chain_odd(uint8_t *b) { return build_chain_at(b, C0_SIZE + 3); }

static size_t build_pdo(uint8_t *b) {
  memset(b, 0, BUF_SIZE);
  put_header(b, 0, ENTRY(1), 0, 0, 0, 1);
  put_entry(b, 0, 0, &guid_c, WMIREG_FLAG_INSTANCE_PDO, 3, (uintptr_t)0xdeadbee0u);
  return ENTRY(1);
}

/* A WMIUPDATE answer: remove guid_a (BASENAME "Old"), add guid_b, remove guid_c. */
static size_t build_update(uint8_t *b) {
  memset(b, 0, BUF_SIZE);
  uint32_t a = ENTRY(3);
  put_header(b, 0, a + 8, 0, 0, 0, 3);
  put_entry(b, 0, 0, &guid_a, WMIREG_FLAG_REMOVE_GUID | WMIREG_FLAG_INSTANCE_BASENAME, 1, a);
  put_entry(b, 0, 1, &guid_b, WMIREG_FLAG_EVENT_ONLY_GUID, 0, 0);
  put_entry(b, 0, 2, &guid_c, WMIREG_FLAG_REMOVE_GUID, 0, 0);
  assert_int_equal(put_counted_string(b, a, "Old"), a + 8);
  return a + 8;
}

/*
 * A WMIREGISTER answer with REMOVE_GUID entries in both records. Record 0's
 * [1] has invalid name fields (two sources, Pdo 0): skipped entries are not
 * looked at. Kept blocks: r0[0], r0[2], r1[1].
 */
#define R_R1 (ENTRY(3) + 8u)
static size_t build_register_remove(uint8_t *b) {
  memset(b, 0, BUF_SIZE);
  uint32_t a = ENTRY(3);
  put_header(b, 0, a + 4, R_R1, 0, 0, 3);
  put_entry(b, 0, 0, &guid_a, 0, 0, 0);
  put_entry(b, 0, 1, &guid_b,
            WMIREG_FLAG_REMOVE_GUID | WMIREG_FLAG_INSTANCE_PDO | WMIREG_FLAG_INSTANCE_BASENAME, 1,
            0);
  put_entry(b, 0, 2, &guid_c, WMIREG_FLAG_INSTANCE_BASENAME, 1, a);
  assert_int_equal(put_counted_string(b, a, "X"), a + 4);

  a = ENTRY(2);
  put_header(b, R_R1, a + 4, 0, 0, 0, 2);
  put_entry(b, R_R1, 0, &guid_d, WMIREG_FLAG_REMOVE_GUID, 0, 0);
  put_entry(b, R_R1, 1, &guid_a, WMIREG_FLAG_INSTANCE_LIST, 1, a);
  assert_int_equal(put_counted_string(b, R_R1 + a, "z"), R_R1 + a + 4);
  return R_R1 + a + 4;
}

/* @p n header-only records, each pointing at the next. */
static size_t build_minimal_chain(uint8_t *b, uint32_t n) {
  memset(b, 0, BUF_SIZE);
  assert_true(n * HDR <= BUF_SIZE);
  for (uint32_t r = 0; r < n; r++) {
    put_header(b, r * HDR, HDR, r + 1 < n ? HDR : 0, 0, 0, 0);
  }
  return n * HDR;
}

static size_t build_three_minimal(uint8_t *b) { return build_minimal_chain(b, 3); }
static size_t build_256(uint8_t *b) { return build_minimal_chain(b, 256); }
static size_t build_257(uint8_t *b) { return build_minimal_chain(b, 257); }

/* Valid inputs, for the truncation and mutation tests. */
typedef struct valid_input {
  const char *name;
  size_t (*build)(uint8_t *b);
  uint32_t options;
} valid_input;

static const valid_input valid_inputs[] = {
    {"base", build_base, 0},
    {"chain", build_chain, 0},
    {"chain_odd", build_chain_odd, WMIEV_REGINFO_STRICT},
    {"pdo", build_pdo, 0},
    {"update", build_update, WMIEV_REGINFO_UPDATE},
    {"register_remove", build_register_remove, 0},
    {"three_minimal", build_three_minimal, 0},
};
#define VALID_COUNT (sizeof valid_inputs / sizeof valid_inputs[0])

/* ---- checks ------------------------------------------------------------- */

static void assert_string(wmiev_wire_string s, const char *ascii) {
  size_t n = strlen(ascii);
  assert_non_null(s.chars);
  assert_int_equal(s.bytes, 2 * n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(s.chars[2 * i], (unsigned char)ascii[i]);
    assert_int_equal(s.chars[2 * i + 1], 0);
  }
}

static void assert_absent(wmiev_wire_string s) {
  assert_null(s.chars);
  assert_int_equal(s.bytes, 0);
}

static void assert_guid(const GUID *actual, const GUID *expected) {
  assert_memory_equal(actual, expected, sizeof *expected);
}

static wmiev_reginfo_record_view get_record(const wmiev_reginfo_view *v, uint32_t i) {
  wmiev_reginfo_record_view r;
  assert_int_equal(wmiev_reginfo_record(v, i, &r), WMIEV_STATUS_SUCCESS);
  return r;
}

static wmiev_reginfo_block_view get_block(const wmiev_reginfo_view *v, uint32_t i) {
  wmiev_reginfo_block_view blk;
  assert_int_equal(wmiev_reginfo_block(v, i, &blk), WMIEV_STATUS_SUCCESS);
  return blk;
}

static wmiev_wire_string get_name(const wmiev_reginfo_view *v, const wmiev_reginfo_block_view *blk,
                                  uint32_t i) {
  wmiev_wire_string s;
  assert_int_equal(wmiev_reginfo_list_name(v, blk, i, &s), WMIEV_STATUS_SUCCESS);
  return s;
}

static void assert_valid(const void *buf, size_t len, uint32_t options, wmiev_reginfo_view *v) {
  wmiev_diag diag = {0};
  wmiev_status st = wmiev_reginfo_validate(buf, len, options, v, &diag);
  if (st != WMIEV_STATUS_SUCCESS) {
    fail_msg("rejected with %s, %s @%u: %s", wmiev_status_name(st), diag.field,
             (unsigned)diag.offset, diag.message);
  }
}

/* A string lies inside [lo, hi) of @p base. */
static void assert_string_inside(const uint8_t *base, wmiev_wire_string s, uint32_t lo,
                                 uint32_t hi) {
  if (s.chars == NULL) {
    return;
  }
  assert_true(s.chars - base >= (ptrdiff_t)lo + 2);
  assert_true(s.chars - base + s.bytes <= (ptrdiff_t)hi);
}

/* Walks every accessor of a view and checks that what they return lies where it must. */
static void assert_consistent(const wmiev_reginfo_view *v) {
  uint32_t blocks = 0;
  uint32_t end = 0;
  for (uint32_t r = 0; r < v->record_count; r++) {
    wmiev_reginfo_record_view rec = get_record(v, r);
    assert_int_equal(rec.first_block, blocks);
    assert_true(rec.offset >= end);
    end = rec.offset + rec.buffer_size;
    assert_true(end <= v->size);
    assert_true(HDR + (uint64_t)rec.guid_count * ENT <= rec.buffer_size);
    assert_string_inside(v->base, rec.registry_path, rec.offset, end);
    assert_string_inside(v->base, rec.mof_resource, rec.offset, end);
    for (uint32_t i = 0; i < v->block_count; i++) {
      wmiev_reginfo_block_view blk = get_block(v, i);
      if (blk.record != r) {
        continue;
      }
      blocks++;
      assert_true(blk.entry_offset >= rec.offset + HDR);
      assert_true(blk.entry_offset + ENT <= rec.offset + HDR + rec.guid_count * ENT);
      assert_string_inside(v->base, blk.base_name, rec.offset, end);
      for (uint32_t n = 0; blk.names == WMIEV_NAMES_LIST && n < blk.instance_count; n++) {
        assert_string_inside(v->base, get_name(v, &blk, n), rec.offset, end);
      }
    }
  }
  assert_int_equal(end, v->size);
  assert_int_equal(blocks, v->block_count);
  wmiev_reginfo_record_view rec;
  wmiev_reginfo_block_view blk;
  assert_int_equal(wmiev_reginfo_record(v, v->record_count, &rec), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_reginfo_block(v, v->block_count, &blk), WMIEV_STATUS_INVALID_PARAMETER);
}

static void assert_same_string(const wmiev_reginfo_view *a, wmiev_wire_string sa,
                               const wmiev_reginfo_view *b, wmiev_wire_string sb) {
  assert_int_equal(sa.chars == NULL, sb.chars == NULL);
  assert_int_equal(sa.bytes, sb.bytes);
  if (sa.chars != NULL) {
    assert_int_equal(sa.chars - a->base, sb.chars - b->base);
    assert_memory_equal(sa.chars, sb.chars, sa.bytes);
  }
}

/* Two views describe the same chain (possibly in different copies of the bytes). */
static void assert_same_chain(const wmiev_reginfo_view *a, const wmiev_reginfo_view *b) {
  assert_int_equal(a->size, b->size);
  assert_int_equal(a->record_count, b->record_count);
  assert_int_equal(a->block_count, b->block_count);
  assert_int_equal(a->skipped_remove_count, b->skipped_remove_count);
  assert_int_equal(a->options, b->options);
  for (uint32_t r = 0; r < a->record_count; r++) {
    wmiev_reginfo_record_view ra = get_record(a, r), rb = get_record(b, r);
    assert_int_equal(ra.offset, rb.offset);
    assert_int_equal(ra.buffer_size, rb.buffer_size);
    assert_int_equal(ra.guid_count, rb.guid_count);
    assert_int_equal(ra.first_block, rb.first_block);
    assert_same_string(a, ra.registry_path, b, rb.registry_path);
    assert_same_string(a, ra.mof_resource, b, rb.mof_resource);
  }
  for (uint32_t i = 0; i < a->block_count; i++) {
    wmiev_reginfo_block_view ba = get_block(a, i), bb = get_block(b, i);
    assert_guid(&ba.guid, &bb.guid);
    assert_int_equal(ba.flags, bb.flags);
    assert_int_equal(ba.instance_count, bb.instance_count);
    assert_int_equal(ba.record, bb.record);
    assert_int_equal(ba.entry_offset, bb.entry_offset);
    assert_int_equal(ba.names, bb.names);
    assert_int_equal(ba.pdo, bb.pdo);
    assert_same_string(a, ba.base_name, b, bb.base_name);
    assert_int_equal(ba.name_list_offset, bb.name_list_offset);
    assert_int_equal(ba.remove, bb.remove);
    for (uint32_t n = 0; ba.names == WMIEV_NAMES_LIST && n < ba.instance_count; n++) {
      assert_same_string(a, get_name(a, &ba, n), b, get_name(b, &bb, n));
    }
  }
}

static void expect_failure(const char *name, wmiev_status st, const wmiev_diag *diag,
                           wmiev_status status, const char *field, uint32_t offset) {
  if (st != status) {
    fail_msg("%s: got %s, expected %s (%s @%u: %s)", name, wmiev_status_name(st),
             wmiev_status_name(status), diag->field != NULL ? diag->field : "no field",
             (unsigned)diag->offset, diag->message);
  }
  if (diag->status != status || diag->field == NULL || strcmp(diag->field, field) != 0 ||
      diag->offset != offset) {
    fail_msg("%s: diag %s @%u, expected %s @%u (%s)", name,
             diag->field != NULL ? diag->field : "(null)", (unsigned)diag->offset, field,
             (unsigned)offset, diag->message);
  }
  if (diag->message[0] == '\0') {
    fail_msg("%s: empty diag message", name);
  }
}

/* ---- well-formed inputs ------------------------------------------------- */

/*
 * x86_64 golden: RegistryPath "\Drv", MofResourceName "MOF", guid_a with
 * BASENAME "Disk" (EXPENSIVE, 2 instances), guid_b with PDO (EVENT_ONLY).
 */
static void golden_x86_64_record(void **state) {
  (void)state;
#if UINTPTR_MAX > 0xffffffffu
  /* clang-format off */
  _Alignas(8) static const uint8_t golden[116] = {
      0x74, 0x00, 0x00, 0x00, /*   0 BufferSize 116 */
      0x00, 0x00, 0x00, 0x00, /*   4 NextWmiRegInfo */
      0x58, 0x00, 0x00, 0x00, /*   8 RegistryPath 88 */
      0x62, 0x00, 0x00, 0x00, /*  12 MofResourceName 98 */
      0x02, 0x00, 0x00, 0x00, /*  16 GuidCount */
      0x00, 0x00, 0x00, 0x00, /*  20 padding to 8 */
      /* 24 WmiRegGuid[0] */
      0x04, 0xc1, 0xeb, 0x78, 0xf9, 0x4c, 0xd2, 0x11, /*  24 Guid */
      0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10,
      0x09, 0x00, 0x00, 0x00,                         /*  40 Flags BASENAME|EXPENSIVE */
      0x02, 0x00, 0x00, 0x00,                         /*  44 InstanceCount */
      0x6a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /*  48 BaseNameOffset 106 */
      /* 56 WmiRegGuid[1] */
      0x44, 0x33, 0x22, 0x11, 0x66, 0x55, 0x88, 0x77, /*  56 Guid */
      0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
      0x60, 0x00, 0x00, 0x00,                         /*  72 Flags PDO|EVENT_ONLY */
      0x01, 0x00, 0x00, 0x00,                         /*  76 InstanceCount */
      0x00, 0xbe, 0xad, 0xde, 0x00, 0x80, 0xff, 0xff, /*  80 Pdo */
      0x08, 0x00, '\\', 0x00, 'D', 0x00, 'r', 0x00, 'v', 0x00, /*  88 "\Drv" */
      0x06, 0x00, 'M', 0x00, 'O', 0x00, 'F', 0x00,             /*  98 "MOF" */
      0x08, 0x00, 'D', 0x00, 'i', 0x00, 's', 0x00, 'k', 0x00,  /* 106 "Disk" */
  };
  /* clang-format on */
  wmiev_reginfo_view v;
  assert_valid(golden, sizeof golden, 0, &v);
  assert_ptr_equal(v.base, golden);
  assert_int_equal(v.size, 116);
  assert_int_equal(v.record_count, 1);
  assert_int_equal(v.block_count, 2);
  assert_int_equal(v.skipped_remove_count, 0);
  assert_int_equal(v.options, 0);

  wmiev_reginfo_record_view rec = get_record(&v, 0);
  assert_int_equal(rec.offset, 0);
  assert_int_equal(rec.buffer_size, 116);
  assert_int_equal(rec.guid_count, 2);
  assert_int_equal(rec.first_block, 0);
  assert_ptr_equal(rec.registry_path.chars, golden + 90);
  assert_string(rec.registry_path, "\\Drv");
  assert_ptr_equal(rec.mof_resource.chars, golden + 100);
  assert_string(rec.mof_resource, "MOF");

  wmiev_reginfo_block_view b0 = get_block(&v, 0);
  assert_guid(&b0.guid, &guid_a);
  assert_int_equal(b0.flags, WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_EXPENSIVE);
  assert_int_equal(b0.instance_count, 2);
  assert_int_equal(b0.record, 0);
  assert_int_equal(b0.entry_offset, 24);
  assert_int_equal(b0.names, WMIEV_NAMES_BASENAME);
  assert_int_equal(b0.pdo, 0);
  assert_ptr_equal(b0.base_name.chars, golden + 108);
  assert_string(b0.base_name, "Disk");
  assert_false(b0.remove);

  wmiev_reginfo_block_view b1 = get_block(&v, 1);
  assert_guid(&b1.guid, &guid_b);
  assert_int_equal(b1.flags, WMIREG_FLAG_INSTANCE_PDO | WMIREG_FLAG_EVENT_ONLY_GUID);
  assert_int_equal(b1.instance_count, 1);
  assert_int_equal(b1.entry_offset, 56);
  assert_int_equal(b1.names, WMIEV_NAMES_PDO);
  assert_true(b1.pdo == (uintptr_t)0xffff8000deadbe00u);
  assert_absent(b1.base_name);

  /* The writer the other tests use produces the same bytes. */
  _Alignas(8) uint8_t b[BUF_SIZE] = {0};
  put_header(b, 0, 116, 0, 88, 98, 2);
  put_entry(b, 0, 0, &guid_a, WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_EXPENSIVE, 2, 106);
  put_entry(b, 0, 1, &guid_b, WMIREG_FLAG_INSTANCE_PDO | WMIREG_FLAG_EVENT_ONLY_GUID, 1,
            (uintptr_t)0xffff8000deadbe00u);
  put_counted_string(b, put_counted_string(b, put_counted_string(b, 88, "\\Drv"), "MOF"), "Disk");
  assert_memory_equal(b, golden, sizeof golden);
#else
  skip();
#endif
}

static void single_record_basename_and_list(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE];
  size_t len = build_base(b);
  wmiev_reginfo_view v;
  assert_valid(b, len, 0, &v);
  assert_ptr_equal(v.base, b);
  assert_int_equal(v.size, B_SIZE);
  assert_int_equal(v.record_count, 1);
  assert_int_equal(v.block_count, 2);
  assert_int_equal(v.skipped_remove_count, 0);
  assert_int_equal(v.options, 0);

  wmiev_reginfo_record_view rec = get_record(&v, 0);
  assert_int_equal(rec.offset, 0);
  assert_int_equal(rec.buffer_size, B_SIZE);
  assert_int_equal(rec.guid_count, 2);
  assert_int_equal(rec.first_block, 0);
  assert_ptr_equal(rec.registry_path.chars, b + B_REGPATH + 2);
  assert_string(rec.registry_path, "Reg");
  assert_ptr_equal(rec.mof_resource.chars, b + B_MOF + 2);
  assert_string(rec.mof_resource, "Mof");

  wmiev_reginfo_block_view base = get_block(&v, 0);
  assert_guid(&base.guid, &guid_a);
  assert_int_equal(base.flags, WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_EXPENSIVE);
  assert_int_equal(base.instance_count, 4);
  assert_int_equal(base.record, 0);
  assert_int_equal(base.entry_offset, ENTRY(0));
  assert_int_equal(base.names, WMIEV_NAMES_BASENAME);
  assert_int_equal(base.pdo, 0);
  assert_ptr_equal(base.base_name.chars, b + B_BASENAME + 2);
  assert_string(base.base_name, "Base");
  assert_int_equal(base.name_list_offset, 0);
  assert_false(base.remove);

  wmiev_reginfo_block_view list = get_block(&v, 1);
  assert_guid(&list.guid, &guid_b);
  assert_int_equal(list.flags, WMIREG_FLAG_INSTANCE_LIST);
  assert_int_equal(list.instance_count, 2);
  assert_int_equal(list.entry_offset, ENTRY(1));
  assert_int_equal(list.names, WMIEV_NAMES_LIST);
  assert_absent(list.base_name);
  assert_int_equal(list.name_list_offset, B_LIST);
  wmiev_wire_string n0 = get_name(&v, &list, 0), n1 = get_name(&v, &list, 1);
  assert_ptr_equal(n0.chars, b + B_LIST + 2);
  assert_string(n0, "n0");
  assert_ptr_equal(n1.chars, b + B_LIST + 8);
  assert_string(n1, "n1");

  wmiev_wire_string s;
  assert_int_equal(wmiev_reginfo_list_name(&v, &list, 2, &s), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_reginfo_list_name(&v, &base, 0, &s), WMIEV_STATUS_INVALID_PARAMETER);
  assert_consistent(&v);
}

static void single_record_pdo(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE];
  size_t len = build_pdo(b);
  wmiev_reginfo_view v;
  assert_valid(b, len, 0, &v);
  assert_int_equal(v.size, ENTRY(1));
  assert_int_equal(v.record_count, 1);
  assert_int_equal(v.block_count, 1);
  wmiev_reginfo_record_view rec = get_record(&v, 0);
  assert_absent(rec.registry_path);
  assert_absent(rec.mof_resource);
  wmiev_reginfo_block_view blk = get_block(&v, 0);
  assert_guid(&blk.guid, &guid_c);
  assert_int_equal(blk.names, WMIEV_NAMES_PDO);
  assert_int_equal(blk.instance_count, 3);
  assert_true(blk.pdo == (uintptr_t)0xdeadbee0u);
  assert_absent(blk.base_name);
  wmiev_wire_string s;
  assert_int_equal(wmiev_reginfo_list_name(&v, &blk, 0, &s), WMIEV_STATUS_INVALID_PARAMETER);
}

/* Dynamic names, and the flags that need no further checks; RESERVED bits are kept as stored. */
static void single_record_dynamic_and_plain_flags(void **state) {
  (void)state;
  static const uint32_t plain[] = {
      0,
      WMIREG_FLAG_EXPENSIVE,
      WMIREG_FLAG_EVENT_ONLY_GUID,
      WMIREG_FLAG_TRACED_GUID,
      WMIREG_FLAG_TRACED_GUID | WMIREG_FLAG_TRACE_CONTROL_GUID,
      WMIREG_FLAG_TRACE_CONTROL_GUID,
      WMIREG_FLAG_RESERVED1 | WMIREG_FLAG_RESERVED2,
  };
  _Alignas(8) uint8_t b[BUF_SIZE] = {0};
  put_header(b, 0, ENTRY(7), 0, 0, 0, 7);
  for (uint32_t e = 0; e < 7; e++) {
    /* InstanceCount and the union mean nothing for dynamic names: garbage is fine. */
    put_entry(b, 0, e, &guid_d, plain[e], 0xffffffffu, (uintptr_t)0xfffffff1u);
  }
  wmiev_reginfo_view v;
  assert_valid(b, ENTRY(7), 0, &v);
  assert_int_equal(v.block_count, 7);
  for (uint32_t e = 0; e < 7; e++) {
    wmiev_reginfo_block_view blk = get_block(&v, e);
    assert_int_equal(blk.flags, plain[e]);
    assert_int_equal(blk.names, WMIEV_NAMES_DYNAMIC);
    assert_int_equal(blk.instance_count, 0xffffffffu);
    assert_int_equal(blk.pdo, 0);
    assert_absent(blk.base_name);
    assert_int_equal(blk.name_list_offset, 0);
  }
  assert_consistent(&v);
}

/* A record with no GUIDs at all, and bytes after the last record that are not part of the chain. */
static void empty_record_and_trailing_bytes(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE] = {0};
  put_header(b, 0, HDR, 0, 0, 0, 0);
  memset(b + HDR, 0xee, 40);
  wmiev_reginfo_view v;
  assert_valid(b, HDR + 40, 0, &v);
  assert_int_equal(v.size, HDR);
  assert_int_equal(v.record_count, 1);
  assert_int_equal(v.block_count, 0);
  wmiev_reginfo_block_view blk;
  assert_int_equal(wmiev_reginfo_block(&v, 0, &blk), WMIEV_STATUS_INVALID_PARAMETER);
  assert_consistent(&v);
}

/* With InstanceCount 0 a list has no names, so InstanceNameList is never read. */
static void empty_instance_list(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE] = {0};
  put_header(b, 0, ENTRY(1), 0, 0, 0, 1);
  put_entry(b, 0, 0, &guid_a, WMIREG_FLAG_INSTANCE_LIST, 0, (uintptr_t)0xfffffff3u);
  wmiev_reginfo_view v;
  assert_valid(b, ENTRY(1), 0, &v);
  wmiev_reginfo_block_view blk = get_block(&v, 0);
  assert_int_equal(blk.names, WMIEV_NAMES_LIST);
  assert_int_equal(blk.instance_count, 0);
  assert_int_equal(blk.name_list_offset, 0);
  wmiev_wire_string s;
  assert_int_equal(wmiev_reginfo_list_name(&v, &blk, 0, &s), WMIEV_STATUS_INVALID_PARAMETER);
}

/* An empty name and names that end in a U+0000 unit are still just counted strings here. */
static void list_with_empty_and_nul_terminated_names(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE] = {0};
  uint32_t a = ENTRY(1);
  uint32_t at = put_counted_string(b, a, "");
  at = put_counted_string(b, at, "x");
  put_u16(b, at, 4); /* "y" + U+0000, count covering the NUL */
  put_u16(b, at + 2, 'y');
  at += 6;
  put_header(b, 0, at, 0, 0, 0, 1);
  put_entry(b, 0, 0, &guid_a, WMIREG_FLAG_INSTANCE_LIST, 3, a);
  wmiev_reginfo_view v;
  assert_valid(b, at, 0, &v);
  wmiev_reginfo_block_view blk = get_block(&v, 0);
  wmiev_wire_string s0 = get_name(&v, &blk, 0);
  assert_non_null(s0.chars);
  assert_int_equal(s0.bytes, 0);
  assert_string(get_name(&v, &blk, 1), "x");
  wmiev_wire_string s2 = get_name(&v, &blk, 2);
  assert_int_equal(s2.bytes, 4);
  assert_ptr_equal(s2.chars, b + a + 2 + 4 + 2);
}

static void two_record_chain(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE];
  size_t len = build_chain(b);
  wmiev_reginfo_view v;
  assert_valid(b, len, 0, &v);
  assert_int_equal(v.size, C_R1 + C1_SIZE);
  assert_int_equal(v.record_count, 2);
  assert_int_equal(v.block_count, 4);
  assert_int_equal(v.skipped_remove_count, 0);

  wmiev_reginfo_record_view r0 = get_record(&v, 0), r1 = get_record(&v, 1);
  assert_int_equal(r0.offset, 0);
  assert_int_equal(r0.buffer_size, C0_SIZE);
  assert_int_equal(r0.first_block, 0);
  assert_string(r0.registry_path, "Reg");
  assert_string(r0.mof_resource, "Mof");
  assert_int_equal(r1.offset, C_R1);
  assert_int_equal(r1.buffer_size, C1_SIZE);
  assert_int_equal(r1.guid_count, 2);
  assert_int_equal(r1.first_block, 2);
  assert_absent(r1.registry_path);
  assert_ptr_equal(r1.mof_resource.chars, b + C_R1 + ENTRY(2) + 2);
  assert_string(r1.mof_resource, "Mini");

  static const GUID *const guids[] = {&guid_a, &guid_b, &guid_c, &guid_d};
  static const wmiev_name_source sources[] = {WMIEV_NAMES_BASENAME, WMIEV_NAMES_DYNAMIC,
                                              WMIEV_NAMES_LIST, WMIEV_NAMES_PDO};
  for (uint32_t i = 0; i < 4; i++) {
    wmiev_reginfo_block_view blk = get_block(&v, i);
    assert_guid(&blk.guid, guids[i]);
    assert_int_equal(blk.names, sources[i]);
    assert_int_equal(blk.record, i / 2);
    assert_int_equal(blk.entry_offset, (i / 2) * C_R1 + ENTRY(i % 2));
  }
  wmiev_reginfo_block_view cls = get_block(&v, 0);
  assert_string(cls.base_name, "Cls");
  wmiev_reginfo_block_view list = get_block(&v, 2);
  assert_int_equal(list.name_list_offset, C_R1 + ENTRY(2) + 10);
  assert_string(get_name(&v, &list, 0), "a");
  assert_string(get_name(&v, &list, 1), "bc");
  wmiev_reginfo_block_view pdo = get_block(&v, 3);
  assert_true(pdo.pdo == C_PDO);
  assert_int_equal(pdo.instance_count, 1);
  assert_consistent(&v);
}

/* Odd NextWmiRegInfo and an odd buffer address: every field of record 1 is unaligned. */
static void unaligned_chain(void **state) {
  (void)state;
  _Alignas(8) uint8_t aligned[BUF_SIZE];
  size_t len = build_chain(aligned);
  wmiev_reginfo_view ref;
  assert_valid(aligned, len, 0, &ref);

  _Alignas(8) uint8_t b[BUF_SIZE];
  size_t odd_len = build_chain_odd(b);
  wmiev_reginfo_view v;
  assert_valid(b, odd_len, 0, &v);
  wmiev_reginfo_record_view r1 = get_record(&v, 1);
  assert_int_equal(r1.offset, C0_SIZE + 3);
  assert_string(r1.mof_resource, "Mini");
  wmiev_reginfo_block_view list = get_block(&v, 2);
  assert_string(get_name(&v, &list, 1), "bc");
  assert_true(get_block(&v, 3).pdo == C_PDO);
  assert_consistent(&v);

  uint8_t *shifted = malloc(len + 1);
  assert_non_null(shifted);
  memcpy(shifted + 1, aligned, len);
  wmiev_reginfo_view sv;
  assert_valid(shifted + 1, len, 0, &sv);
  assert_same_chain(&ref, &sv);
  free(shifted);
}

static void update_with_remove(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE];
  size_t len = build_update(b);
  wmiev_reginfo_view v;
  assert_valid(b, len, WMIEV_REGINFO_UPDATE, &v);
  assert_int_equal(v.options, WMIEV_REGINFO_UPDATE);
  assert_int_equal(v.block_count, 3);
  assert_int_equal(v.skipped_remove_count, 0);
  wmiev_reginfo_block_view b0 = get_block(&v, 0), b1 = get_block(&v, 1), b2 = get_block(&v, 2);
  assert_guid(&b0.guid, &guid_a);
  assert_true(b0.remove);
  assert_int_equal(b0.names, WMIEV_NAMES_BASENAME); /* still validated in an update */
  assert_string(b0.base_name, "Old");
  assert_guid(&b1.guid, &guid_b);
  assert_false(b1.remove);
  assert_guid(&b2.guid, &guid_c);
  assert_true(b2.remove);
  assert_int_equal(b2.names, WMIEV_NAMES_DYNAMIC);
  /* STRICT only concerns WMIREGISTER answers. */
  assert_valid(b, len, WMIEV_REGINFO_UPDATE | WMIEV_REGINFO_STRICT, &v);
  assert_int_equal(v.block_count, 3);
  assert_consistent(&v);
}

static void remove_in_register_skipped_or_strict(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE];
  size_t len = build_register_remove(b);

  wmiev_reginfo_view v;
  assert_valid(b, len, 0, &v);
  assert_int_equal(v.record_count, 2);
  assert_int_equal(v.block_count, 3);
  assert_int_equal(v.skipped_remove_count, 2);
  wmiev_reginfo_block_view b0 = get_block(&v, 0), b1 = get_block(&v, 1), b2 = get_block(&v, 2);
  assert_guid(&b0.guid, &guid_a);
  assert_int_equal(b0.entry_offset, ENTRY(0));
  assert_guid(&b1.guid, &guid_c);
  assert_int_equal(b1.entry_offset, ENTRY(2));
  assert_string(b1.base_name, "X");
  assert_guid(&b2.guid, &guid_a);
  assert_int_equal(b2.record, 1);
  assert_int_equal(b2.entry_offset, R_R1 + ENTRY(1));
  assert_string(get_name(&v, &b2, 0), "z");
  assert_false(b0.remove || b1.remove || b2.remove);
  assert_int_equal(get_record(&v, 1).first_block, 2);
  assert_int_equal(get_record(&v, 1).guid_count, 2);
  wmiev_reginfo_block_view blk;
  assert_int_equal(wmiev_reginfo_block(&v, 3, &blk), WMIEV_STATUS_INVALID_PARAMETER);
  assert_consistent(&v);

  wmiev_diag diag = {0};
  wmiev_status st = wmiev_reginfo_validate(b, len, WMIEV_REGINFO_STRICT, &v, &diag);
  expect_failure("strict", st, &diag, WMIEV_STATUS_INVALID_PARAMETER, "WmiRegGuid[].Flags",
                 E_FLAGS(1));
  assert_non_null(strstr(diag.message, "WmiRegGuid[1]"));
  assert_non_null(strstr(diag.message, "REMOVE_GUID"));
  assert_int_equal(v.record_count, 0); /* a failed validation leaves an empty view */

  /* As an update, the removed entry's name fields are checked, and they are wrong. */
  st = wmiev_reginfo_validate(b, len, WMIEV_REGINFO_UPDATE, &v, &diag);
  expect_failure("update", st, &diag, WMIEV_STATUS_INVALID_PARAMETER, "WmiRegGuid[].Flags",
                 E_FLAGS(1));
}

static void record_limit(void **state) {
  (void)state;
  static _Alignas(8) uint8_t b[BUF_SIZE];
  size_t len = build_256(b);
  wmiev_reginfo_view v;
  assert_valid(b, len, 0, &v);
  assert_int_equal(v.record_count, WMIEV_REGINFO_MAX_RECORDS);
  assert_int_equal(v.size, 256 * HDR);
  assert_int_equal(get_record(&v, 255).offset, 255 * HDR);
  wmiev_reginfo_record_view rec;
  assert_int_equal(wmiev_reginfo_record(&v, 256, &rec), WMIEV_STATUS_INVALID_PARAMETER);

  wmiev_diag diag = {0};
  len = build_257(b);
  wmiev_status st = wmiev_reginfo_validate(b, len, 0, &v, &diag);
  expect_failure("257 records", st, &diag, WMIEV_STATUS_INVALID_PARAMETER,
                 "WMIREGINFO.NextWmiRegInfo", 255 * HDR + OFF_NEXT);
}

static void argument_checks(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE];
  size_t len = build_base(b);
  wmiev_diag diag = {0};
  wmiev_reginfo_view v;

  assert_int_equal(wmiev_reginfo_validate(b, len, 0, NULL, &diag), WMIEV_STATUS_INVALID_PARAMETER);
  assert_string_equal(diag.field, "view");
  expect_failure("NULL buf", wmiev_reginfo_validate(NULL, len, 0, &v, &diag), &diag,
                 WMIEV_STATUS_BUFFER_TOO_SMALL, "WMIREGINFO.BufferSize", 0);
  expect_failure("unknown option", wmiev_reginfo_validate(b, len, 0x80000000u, &v, &diag), &diag,
                 WMIEV_STATUS_INVALID_PARAMETER, "options", 0);
  /* Without a diag the status alone comes back. */
  assert_int_equal(wmiev_reginfo_validate(b, HDR - 1, 0, &v, NULL), WMIEV_STATUS_BUFFER_TOO_SMALL);

  assert_valid(b, len, 0, &v);
  wmiev_reginfo_record_view rec;
  wmiev_reginfo_block_view blk = get_block(&v, 1);
  wmiev_wire_string s;
  assert_int_equal(wmiev_reginfo_record(NULL, 0, &rec), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_reginfo_record(&v, 0, NULL), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_reginfo_block(NULL, 0, &blk), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_reginfo_block(&v, 0, NULL), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_reginfo_list_name(NULL, &blk, 0, &s), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_reginfo_list_name(&v, NULL, 0, &s), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_reginfo_list_name(&v, &blk, 0, NULL), WMIEV_STATUS_INVALID_PARAMETER);

  /* A block view that does not belong to the view is refused, not followed. */
  wmiev_reginfo_block_view forged = blk;
  forged.name_list_offset = v.size - 1;
  assert_int_equal(wmiev_reginfo_list_name(&v, &forged, 0, &s), WMIEV_STATUS_INVALID_PARAMETER);
  forged.name_list_offset = 0xfffffff0u;
  assert_int_equal(wmiev_reginfo_list_name(&v, &forged, 0, &s), WMIEV_STATUS_INVALID_PARAMETER);

  /* An empty view (what a failed validation leaves) answers nothing. */
  wmiev_reginfo_view empty;
  memset(&empty, 0, sizeof empty);
  assert_int_equal(wmiev_reginfo_record(&empty, 0, &rec), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_reginfo_block(&empty, 0, &blk), WMIEV_STATUS_INVALID_PARAMETER);
}

/* Messages name the record and entry, since the field names cannot carry indexes. */
static void diag_messages_locate_the_fault(void **state) {
  (void)state;
  _Alignas(8) uint8_t b[BUF_SIZE];
  size_t len = build_chain(b);
  put_u16(b, C_R1 + ENTRY(2) + 14, 3); /* record 1, WmiRegGuid[0], name 1: odd length */
  wmiev_reginfo_view v;
  wmiev_diag diag = {0};
  wmiev_status st = wmiev_reginfo_validate(b, len, 0, &v, &diag);
  expect_failure("odd name", st, &diag, WMIEV_STATUS_INVALID_PARAMETER,
                 "WmiRegGuid[].InstanceNameList", C_R1 + E_UNION(0));
  assert_non_null(strstr(diag.message, "record 1"));
  assert_non_null(strstr(diag.message, "WmiRegGuid[0]"));
  assert_non_null(strstr(diag.message, "instance name 1"));
}

/* ---- malformed inputs --------------------------------------------------- */

typedef struct patch {
  uint32_t at;
  uint32_t width; /* 0: no patch */
  uint64_t value;
} patch;

typedef struct bad_case {
  const char *name;
  size_t (*build)(uint8_t *b);
  patch patches[2];
  long len; /* bytes handed to the parser; -1: all that build wrote */
  uint32_t options;
  wmiev_status status;
  const char *field;
  uint32_t offset;
} bad_case;

#define IBS WMIEV_STATUS_INVALID_BUFFER_SIZE
#define INVAL WMIEV_STATUS_INVALID_PARAMETER
#define MISALIGNED WMIEV_STATUS_DATATYPE_MISALIGNMENT
#define F_SIZE "WMIREGINFO.BufferSize"
#define F_NEXT "WMIREGINFO.NextWmiRegInfo"
#define F_COUNT "WMIREGINFO.GuidCount"
#define F_REG "WMIREGINFO.RegistryPath"
#define F_MOF "WMIREGINFO.MofResourceName"
#define F_FLAGS "WmiRegGuid[].Flags"
#define F_LIST "WmiRegGuid[].InstanceNameList"
#define F_BASE "WmiRegGuid[].BaseNameOffset"
#define F_PDO "WmiRegGuid[].Pdo"
/* clang-format off */
#define NO_PATCH {{0, 0, 0}}
#define PATCH(at, width, value) {{(at), (width), (value)}}
#define PATCH2(a1, w1, v1, a2, w2, v2) {{(a1), (w1), (v1)}, {(a2), (w2), (v2)}}
/* clang-format on */

static const bad_case bad_cases[] = {
    /* sizes */
    {"len 0", build_base, NO_PATCH, 0, 0, WMIEV_STATUS_BUFFER_TOO_SMALL, F_SIZE, 0},
    {"len one short of a header", build_base, NO_PATCH, HDR - 1, 0, WMIEV_STATUS_BUFFER_TOO_SMALL,
     F_SIZE, 0},
    {"BufferSize past the bytes given", build_base, PATCH(OFF_SIZE, 4, B_SIZE + 1), -1, 0, IBS,
     F_SIZE, OFF_SIZE},
    {"bytes given end inside the record", build_base, NO_PATCH, B_SIZE - 1, 0, IBS, F_SIZE,
     OFF_SIZE},
    {"BufferSize 0xffffffff", build_base, PATCH(OFF_SIZE, 4, 0xffffffffu), -1, 0, IBS, F_SIZE,
     OFF_SIZE},
    {"BufferSize 0", build_base, PATCH(OFF_SIZE, 4, 0), -1, 0, IBS, F_SIZE, OFF_SIZE},
    {"BufferSize smaller than the header", build_base, PATCH(OFF_SIZE, 4, HDR - 1), -1, 0, IBS,
     F_SIZE, OFF_SIZE},
    {"BufferSize smaller than header + array", build_base, PATCH(OFF_SIZE, 4, B_ARRAY_END - 1), -1,
     0, IBS, F_SIZE, OFF_SIZE},
    {"GuidCount overflow", build_base, PATCH(OFF_COUNT, 4, 0x10000000u), -1, 0, IBS, F_COUNT,
     OFF_COUNT},
    {"GuidCount 0xffffffff", build_base, PATCH(OFF_COUNT, 4, 0xffffffffu), -1, 0, IBS, F_COUNT,
     OFF_COUNT},
    {"second record BufferSize past the end", build_chain, PATCH(C_R1 + OFF_SIZE, 4, C1_SIZE + 1),
     -1, 0, IBS, F_SIZE, C_R1 + OFF_SIZE},
    {"second record GuidCount overflow", build_chain, PATCH(C_R1 + OFF_COUNT, 4, 0x10000000u), -1,
     0, IBS, F_COUNT, C_R1 + OFF_COUNT},
    /* the chain */
    {"Next back into the record", build_base, PATCH(OFF_NEXT, 4, 4), -1, 0, IBS, F_NEXT, OFF_NEXT},
    {"Next one short of BufferSize", build_base, PATCH(OFF_NEXT, 4, B_SIZE - 1), -1, 0, IBS, F_NEXT,
     OFF_NEXT},
    {"Next to the end of the bytes", build_base, PATCH(OFF_NEXT, 4, B_SIZE), -1, 0, IBS, F_NEXT,
     OFF_NEXT},
    {"Next leaves less than a header", build_base, PATCH(OFF_NEXT, 4, B_SIZE), B_SIZE + HDR - 1, 0,
     IBS, F_NEXT, OFF_NEXT},
    {"Next onto a valid record inside this one", build_three_minimal, PATCH(OFF_SIZE, 4, 2 * HDR),
     -1, 0, IBS, F_NEXT, OFF_NEXT},
    {"Next 0xffffffff", build_base, PATCH(OFF_NEXT, 4, 0xffffffffu), -1, 0, IBS, F_NEXT, OFF_NEXT},
    {"second record Next back into itself", build_chain, PATCH(C_R1 + OFF_NEXT, 4, 4), -1, 0, IBS,
     F_NEXT, C_R1 + OFF_NEXT},
    {"257 records", build_257, NO_PATCH, -1, 0, INVAL, F_NEXT, 255 * HDR + OFF_NEXT},
    /* record strings */
    {"RegistryPath past the record", build_base, PATCH(OFF_REGPATH, 4, B_SIZE), -1, 0, IBS, F_REG,
     OFF_REGPATH},
    {"RegistryPath 0xfffffffe", build_base, PATCH(OFF_REGPATH, 4, 0xfffffffeu), -1, 0, IBS, F_REG,
     OFF_REGPATH},
    {"RegistryPath into the header", build_base, PATCH(OFF_REGPATH, 4, 2), -1, 0, IBS, F_REG,
     OFF_REGPATH},
    {"RegistryPath into the GUID array", build_base, PATCH(OFF_REGPATH, 4, HDR), -1, 0, IBS, F_REG,
     OFF_REGPATH},
    {"RegistryPath on the last array bytes", build_base, PATCH(OFF_REGPATH, 4, B_ARRAY_END - 2), -1,
     0, IBS, F_REG, OFF_REGPATH},
    {"RegistryPath odd offset", build_base, PATCH(OFF_REGPATH, 4, B_REGPATH + 1), -1, 0, MISALIGNED,
     F_REG, OFF_REGPATH},
    {"RegistryPath odd length", build_base, PATCH(B_REGPATH, 2, 5), -1, 0, INVAL, F_REG,
     OFF_REGPATH},
    {"RegistryPath length past the record", build_base, PATCH(B_REGPATH, 2, 0x100), -1, 0, IBS,
     F_REG, OFF_REGPATH},
    {"RegistryPath length 0xfffe", build_base, PATCH(B_REGPATH, 2, 0xfffe), -1, 0, IBS, F_REG,
     OFF_REGPATH},
    {"MofResourceName past the record", build_base, PATCH(OFF_MOF, 4, B_SIZE + 2), -1, 0, IBS,
     F_MOF, OFF_MOF},
    {"MofResourceName into the GUID array", build_base, PATCH(OFF_MOF, 4, HDR + 4), -1, 0, IBS,
     F_MOF, OFF_MOF},
    {"MofResourceName in the next record", build_chain, PATCH(OFF_MOF, 4, C_R1 + ENTRY(2)), -1, 0,
     IBS, F_MOF, OFF_MOF},
    {"second record RegistryPath in the first", build_chain, PATCH(C_R1 + OFF_REGPATH, 4, 2), -1, 0,
     IBS, F_REG, C_R1 + OFF_REGPATH},
    /* entries */
    {"BASENAME and PDO", build_base,
     PATCH(E_FLAGS(0), 4, WMIREG_FLAG_INSTANCE_BASENAME | WMIREG_FLAG_INSTANCE_PDO), -1, 0, INVAL,
     F_FLAGS, E_FLAGS(0)},
    {"LIST and BASENAME", build_base,
     PATCH(E_FLAGS(1), 4, WMIREG_FLAG_INSTANCE_LIST | WMIREG_FLAG_INSTANCE_BASENAME), -1, 0, INVAL,
     F_FLAGS, E_FLAGS(1)},
    {"all three name sources", build_base, PATCH(E_FLAGS(1), 4, 0x2c), -1, 0, INVAL, F_FLAGS,
     E_FLAGS(1)},
    {"PDO with Pdo 0", build_base,
     PATCH2(E_FLAGS(0), 4, WMIREG_FLAG_INSTANCE_PDO, E_UNION(0), W_PTR, 0), -1, 0, INVAL, F_PDO,
     E_UNION(0)},
    {"second record PDO with Pdo 0", build_chain, PATCH(C_R1 + E_UNION(1), W_PTR, 0), -1, 0, INVAL,
     F_PDO, C_R1 + E_UNION(1)},
    {"REMOVE_GUID when strict", build_base,
     PATCH(E_FLAGS(0), 4, WMIREG_FLAG_REMOVE_GUID | WMIREG_FLAG_INSTANCE_BASENAME), -1,
     WMIEV_REGINFO_STRICT, INVAL, F_FLAGS, E_FLAGS(0)},
    {"unknown option", build_base, NO_PATCH, -1, 0x4, INVAL, "options", 0},
    /* base names */
    {"base name past the record", build_base, PATCH(E_UNION(0), 4, B_SIZE), -1, 0, IBS, F_BASE,
     E_UNION(0)},
    {"base name length past the record", build_base, PATCH(B_BASENAME, 2, 0x200), -1, 0, IBS,
     F_BASE, E_UNION(0)},
    {"base name odd offset", build_base, PATCH(E_UNION(0), 4, B_BASENAME + 1), -1, 0, MISALIGNED,
     F_BASE, E_UNION(0)},
    {"base name odd length", build_base, PATCH(B_BASENAME, 2, 7), -1, 0, INVAL, F_BASE, E_UNION(0)},
    {"base name into the GUID array", build_base, PATCH(E_UNION(0), 4, ENTRY(1)), -1, 0, IBS,
     F_BASE, E_UNION(0)},
    {"base name offset 0", build_base, PATCH(E_UNION(0), 4, 0), -1, 0, IBS, F_BASE, E_UNION(0)},
    /* instance name lists */
    {"list longer than its names", build_base, PATCH(E_COUNT(1), 4, 3), -1, 0, IBS, F_LIST,
     E_UNION(1)},
    {"list InstanceCount 0xffffffff", build_base, PATCH(E_COUNT(1), 4, 0xffffffffu), -1, 0, IBS,
     F_LIST, E_UNION(1)},
    {"list name odd length", build_base, PATCH(B_LIST + 6, 2, 3), -1, 0, INVAL, F_LIST, E_UNION(1)},
    {"list name past the record", build_base, PATCH(B_LIST + 6, 2, 6), -1, 0, IBS, F_LIST,
     E_UNION(1)},
    {"list offset odd", build_base, PATCH(E_UNION(1), 4, B_LIST + 1), -1, 0, MISALIGNED, F_LIST,
     E_UNION(1)},
    {"list into the GUID array", build_base, PATCH(E_UNION(1), 4, HDR), -1, 0, IBS, F_LIST,
     E_UNION(1)},
    {"list past the record", build_base, PATCH(E_UNION(1), 4, B_SIZE), -1, 0, IBS, F_LIST,
     E_UNION(1)},
    {"second record list runs out of its record", build_chain, PATCH(C_R1 + E_COUNT(0), 4, 3),
     C_R1 + C1_SIZE + 64, 0, IBS, F_LIST, C_R1 + E_UNION(0)},
};

static void malformed_inputs(void **state) {
  (void)state;
  static _Alignas(8) uint8_t b[BUF_SIZE];
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const bad_case *c = &bad_cases[i];
    size_t len = c->build(b);
    for (size_t p = 0; p < 2; p++) {
      if (c->patches[p].width != 0) {
        put_le(b, c->patches[p].at, c->patches[p].width, c->patches[p].value);
      }
    }
    if (c->len >= 0) {
      len = (size_t)c->len;
    }
    wmiev_diag diag;
    memset(&diag, 0, sizeof diag);
    wmiev_reginfo_view v;
    wmiev_status st = wmiev_reginfo_validate(b, len, c->options, &v, &diag);
    expect_failure(c->name, st, &diag, c->status, c->field, c->offset);
    assert_int_equal(v.record_count, 0);
    assert_int_equal(v.block_count, 0);
    /* Same verdict without a diag. */
    assert_int_equal(wmiev_reginfo_validate(b, len, c->options, &v, NULL), c->status);
  }
}

/* ---- robustness --------------------------------------------------------- */

/* Validates @p len bytes copied into an exactly-sized heap block, so ASan sees any over-read. */
static wmiev_status validate_copy(const uint8_t *src, size_t len, uint32_t options, uint8_t **copy,
                                  wmiev_reginfo_view *v) {
  *copy = malloc(len > 0 ? len : 1);
  assert_non_null(*copy);
  memcpy(*copy, src, len);
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  wmiev_status st = wmiev_reginfo_validate(*copy, len, options, v, &diag);
  if (st != WMIEV_STATUS_SUCCESS) {
    assert_int_equal(diag.status, st);
    assert_non_null(diag.field);
    assert_true(diag.message[0] != '\0');
  }
  return st;
}

static void truncations_never_read_out_of_bounds(void **state) {
  (void)state;
  static _Alignas(8) uint8_t b[BUF_SIZE];
  unsigned accepted = 0, rejected = 0;
  for (size_t k = 0; k < VALID_COUNT; k++) {
    const valid_input *in = &valid_inputs[k];
    size_t len = in->build(b);
    /* Trailing bytes, so that some truncations still hold the whole chain. */
    memset(b + len, 0x5a, 16);
    len += 16;
    wmiev_reginfo_view full;
    assert_valid(b, len, in->options, &full);
    for (size_t t = 0; t < len; t++) {
      uint8_t *copy;
      wmiev_reginfo_view v;
      wmiev_status st = validate_copy(b, t, in->options, &copy, &v);
      if (t < full.size) {
        if (st == WMIEV_STATUS_SUCCESS) {
          fail_msg("%s: truncation to %zu of %u bytes accepted", in->name, t, (unsigned)full.size);
        }
        rejected++;
      } else {
        assert_int_equal(st, WMIEV_STATUS_SUCCESS);
        assert_same_chain(&full, &v);
        accepted++;
      }
      free(copy);
    }
  }
  assert_true(accepted > 0 && rejected > 0);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 32);
}

/* Values that sit on boundaries the parser checks. */
static uint32_t interesting(uint32_t len) {
  /* One rng() call per path, so that the sequence is the same with every compiler. */
  switch (rng() % 10) {
  case 0:
    return 0;
  case 1:
    return 1;
  case 2:
    return len;
  case 3:
    return len - 1;
  case 4:
    return 0xffffffffu;
  case 5:
    return 0x80000000u;
  case 6:
    return HDR;
  case 7:
    return ENT * (rng() % 4);
  case 8:
    return rng() % (len + 1);
  default:
    return rng() % 64;
  }
}

static void mutate(uint8_t *b, size_t *len) {
  uint32_t n = (uint32_t)*len;
  if (n == 0) {
    return;
  }
  unsigned changes = 1 + rng() % 4;
  for (unsigned i = 0; i < changes; i++) {
    switch (rng() % 5) {
    case 0: { /* flip a bit */
      uint32_t at = rng() % n;
      b[at] ^= (uint8_t)(1u << (rng() % 8));
      break;
    }
    case 1: /* a 32-bit field (any header or entry field is 4-aligned in the record) */
      if (n >= 4) {
        uint32_t at = (rng() % (n / 4)) * 4;
        put_u32(b, at, interesting(n));
      }
      break;
    case 2: /* a 16-bit count */
      if (n >= 2) {
        uint32_t at = (rng() % (n / 2)) * 2;
        put_u16(b, at, (uint16_t)interesting(n));
      }
      break;
    case 3: /* a name-source or REMOVE_GUID bit in one of the first entries' Flags */
      if (n >= E_FLAGS(0) + 4) {
        static const uint32_t bits[] = {WMIREG_FLAG_INSTANCE_LIST, WMIREG_FLAG_INSTANCE_BASENAME,
                                        WMIREG_FLAG_INSTANCE_PDO, WMIREG_FLAG_REMOVE_GUID};
        uint32_t at = E_FLAGS(rng() % 3);
        if (at + 4 <= n) {
          put_u32(b, at, get_u32(b, at) ^ bits[rng() % 4]);
        }
      }
      break;
    default: /* truncate */
      *len = rng() % (n + 1);
      return;
    }
  }
}

static void mutations_never_crash(void **state) {
  (void)state;
  static _Alignas(8) uint8_t b[BUF_SIZE];
  static const uint32_t options[] = {0, WMIEV_REGINFO_UPDATE, WMIEV_REGINFO_STRICT,
                                     WMIEV_REGINFO_UPDATE | WMIEV_REGINFO_STRICT};
  unsigned accepted = 0, rejected = 0;
  for (uint32_t iter = 0; iter < 20000; iter++) {
    const valid_input *in = &valid_inputs[iter % VALID_COUNT];
    size_t len = in->build(b);
    mutate(b, &len);
    uint32_t opt = options[rng() % 4];
    uint8_t *copy;
    wmiev_reginfo_view v;
    if (validate_copy(b, len, opt, &copy, &v) == WMIEV_STATUS_SUCCESS) {
      accepted++;
      assert_true(v.size <= len);
      assert_consistent(&v);
      wmiev_reginfo_view again;
      assert_valid(copy, len, opt, &again);
      assert_same_chain(&v, &again);
    } else {
      rejected++;
    }
    free(copy);
  }
  /* Both verdicts must be common, or the loop is not exploring anything. */
  assert_true(accepted > 1000);
  assert_true(rejected > 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(golden_x86_64_record),
      cmocka_unit_test(single_record_basename_and_list),
      cmocka_unit_test(single_record_pdo),
      cmocka_unit_test(single_record_dynamic_and_plain_flags),
      cmocka_unit_test(empty_record_and_trailing_bytes),
      cmocka_unit_test(empty_instance_list),
      cmocka_unit_test(list_with_empty_and_nul_terminated_names),
      cmocka_unit_test(two_record_chain),
      cmocka_unit_test(unaligned_chain),
      cmocka_unit_test(update_with_remove),
      cmocka_unit_test(remove_in_register_skipped_or_strict),
      cmocka_unit_test(record_limit),
      cmocka_unit_test(argument_checks),
      cmocka_unit_test(diag_messages_locate_the_fault),
      cmocka_unit_test(malformed_inputs),
      cmocka_unit_test(truncations_never_read_out_of_bounds),
      cmocka_unit_test(mutations_never_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
