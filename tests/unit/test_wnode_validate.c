/*
 * The WNODE validator. Every input is built by hand here (bytes poked at the
 * offsets of spec §2/§8), not with the library's builders, so the two cannot
 * share a mistake. Three parts:
 *  - golden buffers of every kind, with every view field asserted;
 *  - a table of malformed inputs, each with its status and diag field;
 *  - truncation and mutation loops over exact-size heap copies, so that
 *    ASan (CI's address build) reports any read outside the bytes given.
 */
/* cmocka.h needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wmiev/wmiev.h>

#include "status_assert.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_HAVE_ASAN 1
#endif
#endif
#ifdef TEST_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ---- Building buffers by hand ------------------------------------------ */

#define PROVIDER 0xC0FFEE01u
#define HISTORICAL 0x0123456789ABCDEFull
#define TIMESTAMP 0x01DA2B3C4D5E6F70ll
#define CLIENT 2u

static const GUID test_guid = {0x12345678u, 0x9ABCu, 0xDEF0u, {1, 2, 3, 4, 5, 6, 7, 8}};
static const GUID other_guid = {0x87654321u, 0x1111u, 0x2222u, {8, 7, 6, 5, 4, 3, 2, 1}};

static void put16(uint8_t *b, uint32_t at, uint32_t v) {
  uint16_t x = (uint16_t)v;
  memcpy(b + at, &x, sizeof x);
}

static void put32(uint8_t *b, uint32_t at, uint32_t v) { memcpy(b + at, &v, sizeof v); }

static void put64(uint8_t *b, uint32_t at, uint64_t v) { memcpy(b + at, &v, sizeof v); }

static uint32_t get32(const uint8_t *b, uint32_t at) {
  uint32_t v;
  memcpy(&v, b + at, sizeof v);
  return v;
}

static void put_guid(uint8_t *b, uint32_t at, const GUID *g) {
  put32(b, at, g->Data1);
  put16(b, at + 4, g->Data2);
  put16(b, at + 6, g->Data3);
  memcpy(b + at + 8, g->Data4, 8);
}

/* A counted name of `units` ASCII characters (s[units - 1] may be the NUL). Returns its end. */
static uint32_t put_name(uint8_t *b, uint32_t at, const char *s, uint32_t units) {
  put16(b, at, units * 2);
  for (uint32_t i = 0; i < units; i++) {
    put16(b, at + 2 + 2 * i, (uint8_t)s[i]);
  }
  return at + 2 + 2 * units;
}

static void fill(uint8_t *b, uint32_t at, uint32_t n, uint8_t seed) {
  for (uint32_t i = 0; i < n; i++) {
    b[at + i] = (uint8_t)(seed + 7 * i);
  }
}

enum {
  G_SI_STATIC,       /* single-instance event, static name (what ClassWmiFireEvent builds) */
  G_SI_NAMED,        /* single-instance event, dynamic name */
  G_ITEM_NAMED,      /* single item, dynamic name with a trailing NUL */
  G_METHOD_STATIC,   /* method item, static name, no data, garbage OffsetInstanceName */
  G_ALL_FIXED,       /* ALL_DATA event, FIXED_INSTANCE_SIZE 6 (stride 8), static names */
  G_ALL_VAR_NAMED,   /* ALL_DATA, OffsetInstanceDataAndLength, dynamic names */
  G_ALL_FIXED_NAMED, /* ALL_DATA, FIXED_INSTANCE_SIZE, dynamic names */
  G_ALL_EMPTY,       /* ALL_DATA with no instances */
  G_ALL_SAME,        /* ALL_DATA with INSTANCES_SAME: names absent */
  G_REF_INDEX,       /* event reference by static index, severity 0x80 */
  G_REF_NAME,        /* event reference by name, severity 1 */
  G_TOO_SMALL,
  G_COUNT
};
#define NO_BUFFER (-1)
#define GOLDEN_MAX 128

typedef struct golden {
  uint8_t b[GOLDEN_MAX];
  uint32_t size;
} golden;

static golden goldens[G_COUNT];

static uint8_t *header(int id, uint32_t size, uint32_t flags) {
  golden *g = &goldens[id];
  memset(g->b, 0, sizeof g->b);
  g->size = size;
  put32(g->b, 0, size);
  put32(g->b, 4, PROVIDER);
  put64(g->b, 8, HISTORICAL);
  put64(g->b, 16, (uint64_t)TIMESTAMP);
  put_guid(g->b, 24, &test_guid);
  put32(g->b, 40, CLIENT);
  put32(g->b, 44, flags);
  return g->b;
}

static void build_goldens(void) {
  uint8_t *b;

  b = header(G_SI_STATIC, 77,
             WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES);
  put32(b, 52, 7);  /* InstanceIndex */
  put32(b, 56, 64); /* DataBlockOffset */
  put32(b, 60, 13); /* SizeDataBlock */
  fill(b, 64, 13, 0xA0);

  b = header(G_SI_NAMED, 88, WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM);
  put32(b, 48, 64);
  put32(b, 52, 0x55);         /* ignored with a dynamic name */
  put_name(b, 64, "Dev0", 4); /* 64..74 */
  put32(b, 56, 80);
  put32(b, 60, 8);
  fill(b, 80, 8, 0xB0);

  b = header(G_ITEM_NAMED, 84, WNODE_FLAG_SINGLE_ITEM);
  put32(b, 48, 68);
  put32(b, 56, 3); /* ItemId */
  put32(b, 60, 80);
  put32(b, 64, 4);
  put_name(b, 68, "abc", 4); /* "abc\0", 68..78 */
  fill(b, 80, 4, 0xC0);

  b = header(G_METHOD_STATIC, 72, WNODE_FLAG_METHOD_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES);
  put32(b, 48, 0xDEADBEEFu); /* OffsetInstanceName: not looked at with static names */
  put32(b, 52, 2);
  put32(b, 56, 9); /* MethodId */
  put32(b, 60, 72);
  put32(b, 64, 0);

  b = header(G_ALL_FIXED, 86,
             WNODE_FLAG_ALL_DATA | WNODE_FLAG_FIXED_INSTANCE_SIZE |
                 WNODE_FLAG_STATIC_INSTANCE_NAMES | WNODE_FLAG_EVENT_ITEM);
  put32(b, 48, 64);
  put32(b, 52, 3);
  put32(b, 56, 0xFFFFFFFFu); /* OffsetInstanceNameOffsets: ignored */
  put32(b, 60, 6);
  fill(b, 64, 6, 0x10);
  fill(b, 72, 6, 0x20);
  fill(b, 80, 6, 0x30);

  b = header(G_ALL_VAR_NAMED, 116, WNODE_FLAG_ALL_DATA);
  put32(b, 48, 80);
  put32(b, 52, 2);
  put32(b, 56, 96);
  put32(b, 60, 80);
  put32(b, 64, 5);
  put32(b, 68, 88);
  put32(b, 72, 8);
  fill(b, 80, 5, 0x40);
  fill(b, 88, 8, 0x50);
  put32(b, 96, 104);
  put32(b, 100, 108);
  put_name(b, 104, "x", 1);  /* 104..108 */
  put_name(b, 108, "yz", 3); /* "yz\0", 108..116 */

  b = header(G_ALL_FIXED_NAMED, 100, WNODE_FLAG_ALL_DATA | WNODE_FLAG_FIXED_INSTANCE_SIZE);
  put32(b, 48, 64);
  put32(b, 52, 2);
  put32(b, 56, 80);
  put32(b, 60, 8);
  fill(b, 64, 8, 0x60);
  fill(b, 72, 8, 0x70);
  put32(b, 80, 88);
  put32(b, 84, 92);
  put_name(b, 88, "a", 1);  /* 88..92 */
  put_name(b, 92, "bc", 3); /* 92..100 */

  header(G_ALL_EMPTY, 60, WNODE_FLAG_ALL_DATA);

  b = header(G_ALL_SAME, 75,
             WNODE_FLAG_ALL_DATA | WNODE_FLAG_INSTANCES_SAME | WNODE_FLAG_EVENT_ITEM);
  put32(b, 48, 72);
  put32(b, 52, 1);
  put32(b, 56, 0xFFFFFFFFu); /* ignored with INSTANCES_SAME */
  put32(b, 60, 72);
  put32(b, 64, 3);
  fill(b, 72, 3, 0x80);

  b = header(G_REF_INDEX, 72,
             WNODE_FLAG_EVENT_REFERENCE | WNODE_FLAG_STATIC_INSTANCE_NAMES | 0x80000000u);
  put_guid(b, 48, &test_guid);
  put32(b, 64, 4096);
  put32(b, 68, 5);

  b = header(G_REF_NAME, 74, WNODE_FLAG_EVENT_REFERENCE | 0x01000000u);
  put_guid(b, 48, &test_guid);
  put32(b, 64, 1000);
  put_name(b, 68, "Q1", 2); /* 68..74 */

  b = header(G_TOO_SMALL, 56, WNODE_FLAG_TOO_SMALL);
  put32(b, 48, 1234);
}

/* ---- Assertions ---------------------------------------------------------- */

/* Validates a golden in an exact-size heap copy; the copy must outlive the view. */
static uint8_t *validate_golden(int id, uint32_t options, wmiev_wnode_view *v) {
  const golden *g = &goldens[id];
  uint8_t *m = malloc(g->size);
  assert_non_null(m);
  memcpy(m, g->b, g->size);
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  wmiev_status st = wmiev_wnode_validate(m, g->size, options, v, &diag);
  if (st != WMIEV_STATUS_SUCCESS) {
    fail_msg("golden %d: %s %s@%u: %s", id, wmiev_status_name(st), diag.field,
             (unsigned)diag.offset, diag.message);
  }
  return m;
}

static void expect_header(const wmiev_wnode_view *v, const uint8_t *m, wmiev_wnode_kind kind,
                          uint32_t size, uint32_t flags) {
  assert_int_equal(v->kind, kind);
  assert_ptr_equal(v->base, m);
  assert_int_equal(v->buffer_size, size);
  assert_int_equal(v->provider_id, PROVIDER);
  assert_true(v->historical_context == HISTORICAL);
  assert_true(v->timestamp == TIMESTAMP);
  assert_memory_equal(&v->guid, &test_guid, sizeof(GUID));
  assert_int_equal(v->client_context, CLIENT);
  assert_int_equal(v->flags, flags);
  assert_int_equal(v->static_names, (flags & WNODE_FLAG_STATIC_INSTANCE_NAMES) != 0);
  assert_int_equal(v->severity, flags >> 24);
}

/* Compares a name's UTF-16LE bytes with ASCII `s` of `units` characters. */
static void expect_name(const wmiev_wnode_instance_view *in, const uint8_t *m, uint32_t offset,
                        const char *s, uint32_t units) {
  assert_true(in->has_name);
  assert_int_equal(in->name_offset, offset);
  assert_int_equal(in->name_bytes, units * 2);
  assert_ptr_equal(in->name, m + offset + 2);
  for (uint32_t i = 0; i < units; i++) {
    assert_int_equal(in->name[2 * i], (uint8_t)s[i]);
    assert_int_equal(in->name[2 * i + 1], 0);
  }
}

static void expect_no_name(const wmiev_wnode_instance_view *in) {
  assert_false(in->has_name);
  assert_null(in->name);
  assert_int_equal(in->name_bytes, 0);
  assert_int_equal(in->name_offset, 0);
}

static void expect_data(const wmiev_wnode_instance_view *in, const uint8_t *m, uint32_t offset,
                        uint32_t size) {
  assert_int_equal(in->data_offset, offset);
  assert_int_equal(in->size, size);
  if (size == 0) {
    assert_null(in->data);
  } else {
    assert_ptr_equal(in->data, m + offset);
  }
}

static void expect_no_all_data(const wmiev_wnode_view *v) {
  assert_false(v->fixed_instance_size);
  assert_int_equal(v->fixed_size, 0);
  assert_false(v->names_present);
}

static void expect_zero_guid(const GUID *g) {
  static const GUID zero;
  assert_memory_equal(g, &zero, sizeof zero);
}

/* ---- (a) Valid inputs of every kind --------------------------------------- */

static void test_single_instance_static(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_SI_STATIC, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_SINGLE_INSTANCE, 77,
                WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM |
                    WNODE_FLAG_STATIC_INSTANCE_NAMES);
  assert_true(v.is_event);
  assert_int_equal(v.warnings, 0);
  expect_no_name(&v.instance);
  assert_int_equal(v.instance.index, 7);
  expect_data(&v.instance, m, 64, 13);
  assert_int_equal(v.item_id, 0);
  assert_int_equal(v.data_block_offset, 64);
  assert_int_equal(v.instance_count, 1);
  expect_no_all_data(&v);
  expect_zero_guid(&v.target_guid);
  assert_int_equal(v.size_needed, 0);
  /* The same bytes pass when an event is required. */
  wmiev_wnode_view v2;
  assert_status(wmiev_wnode_validate(m, 77, WMIEV_VALIDATE_REQUIRE_EVENT, &v2, NULL),
                WMIEV_STATUS_SUCCESS);
  free(m);
}

static void test_single_instance_named(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_SI_NAMED, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_SINGLE_INSTANCE, 88,
                WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM);
  assert_true(v.is_event);
  assert_int_equal(v.warnings, 0);
  expect_name(&v.instance, m, 64, "Dev0", 4);
  assert_int_equal(v.instance.index, 0); /* InstanceIndex is not used with a dynamic name */
  expect_data(&v.instance, m, 80, 8);
  assert_int_equal(v.instance.data[0], 0xB0);
  assert_int_equal(v.item_id, 0);
  assert_int_equal(v.data_block_offset, 80);
  assert_int_equal(v.instance_count, 1);
  expect_no_all_data(&v);
  expect_zero_guid(&v.target_guid);
  assert_int_equal(v.size_needed, 0);
  free(m);
}

static void test_single_item_named(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_ITEM_NAMED, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_SINGLE_ITEM, 84, WNODE_FLAG_SINGLE_ITEM);
  assert_false(v.is_event);
  assert_int_equal(v.warnings, 0);
  expect_name(&v.instance, m, 68, "abc", 4); /* the stored count keeps the NUL */
  assert_int_equal(v.instance.index, 0);
  expect_data(&v.instance, m, 80, 4);
  assert_int_equal(v.item_id, 3);
  assert_int_equal(v.data_block_offset, 80);
  assert_int_equal(v.instance_count, 1);
  expect_no_all_data(&v);
  expect_zero_guid(&v.target_guid);
  assert_int_equal(v.size_needed, 0);
  free(m);
}

static void test_method_item_static(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_METHOD_STATIC, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_METHOD_ITEM, 72,
                WNODE_FLAG_METHOD_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES);
  assert_false(v.is_event);
  assert_int_equal(v.warnings, 0);
  expect_no_name(&v.instance);
  assert_int_equal(v.instance.index, 2);
  expect_data(&v.instance, m, 72, 0); /* no input: data NULL, offset as stored */
  assert_int_equal(v.item_id, 9);
  assert_int_equal(v.data_block_offset, 72);
  assert_int_equal(v.instance_count, 1);
  expect_no_all_data(&v);
  expect_zero_guid(&v.target_guid);
  assert_int_equal(v.size_needed, 0);
  free(m);
}

/* Walks every instance of an ALL_DATA through the iterator; `names` may be NULL. */
static void expect_all_data_instances(const wmiev_wnode_view *v, const uint8_t *m,
                                      const uint32_t *offsets, const uint32_t *sizes,
                                      const uint32_t *name_offsets, const char *const *names,
                                      const uint32_t *name_units) {
  for (uint32_t i = 0; i < v->instance_count; i++) {
    wmiev_wnode_instance_view in;
    memset(&in, 0xA5, sizeof in);
    assert_status(wmiev_wnode_view_instance(v, i, &in), WMIEV_STATUS_SUCCESS);
    assert_int_equal(in.index, i);
    expect_data(&in, m, offsets[i], sizes[i]);
    if (names != NULL) {
      expect_name(&in, m, name_offsets[i], names[i], name_units[i]);
    } else {
      expect_no_name(&in);
    }
  }
  wmiev_wnode_instance_view in;
  assert_status(wmiev_wnode_view_instance(v, v->instance_count, &in),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_status(wmiev_wnode_view_instance(v, UINT32_MAX, &in), WMIEV_STATUS_INVALID_PARAMETER);
}

static void test_all_data_fixed(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_ALL_FIXED, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_ALL_DATA, 86,
                WNODE_FLAG_ALL_DATA | WNODE_FLAG_FIXED_INSTANCE_SIZE |
                    WNODE_FLAG_STATIC_INSTANCE_NAMES | WNODE_FLAG_EVENT_ITEM);
  assert_true(v.is_event);
  assert_int_equal(v.warnings, 0);
  assert_int_equal(v.data_block_offset, 64);
  assert_int_equal(v.instance_count, 3);
  assert_true(v.fixed_instance_size);
  assert_int_equal(v.fixed_size, 6);
  assert_false(v.names_present);
  assert_int_equal(v.item_id, 0);
  expect_zero_guid(&v.target_guid);
  assert_int_equal(v.size_needed, 0);
  static const uint32_t offsets[] = {64, 72, 80}, sizes[] = {6, 6, 6};
  expect_all_data_instances(&v, m, offsets, sizes, NULL, NULL, NULL);
  free(m);
}

static void test_all_data_variable_named(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_ALL_VAR_NAMED, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_ALL_DATA, 116, WNODE_FLAG_ALL_DATA);
  assert_false(v.is_event);
  assert_int_equal(v.warnings, 0);
  assert_int_equal(v.data_block_offset, 80);
  assert_int_equal(v.instance_count, 2);
  assert_false(v.fixed_instance_size);
  assert_int_equal(v.fixed_size, 0);
  assert_true(v.names_present);
  expect_zero_guid(&v.target_guid);
  static const uint32_t offsets[] = {80, 88}, sizes[] = {5, 8}, name_offsets[] = {104, 108};
  static const char *const names[] = {"x", "yz"};
  static const uint32_t units[] = {1, 3};
  expect_all_data_instances(&v, m, offsets, sizes, name_offsets, names, units);
  free(m);
}

static void test_all_data_fixed_named(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_ALL_FIXED_NAMED, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_ALL_DATA, 100,
                WNODE_FLAG_ALL_DATA | WNODE_FLAG_FIXED_INSTANCE_SIZE);
  assert_false(v.is_event);
  assert_int_equal(v.instance_count, 2);
  assert_true(v.fixed_instance_size);
  assert_int_equal(v.fixed_size, 8);
  assert_true(v.names_present);
  static const uint32_t offsets[] = {64, 72}, sizes[] = {8, 8}, name_offsets[] = {88, 92};
  static const char *const names[] = {"a", "bc"};
  static const uint32_t units[] = {1, 3};
  expect_all_data_instances(&v, m, offsets, sizes, name_offsets, names, units);
  free(m);
}

static void test_all_data_empty_and_same(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_ALL_EMPTY, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_ALL_DATA, 60, WNODE_FLAG_ALL_DATA);
  assert_int_equal(v.instance_count, 0);
  assert_false(v.names_present); /* dynamic-name block, but nothing to name */
  assert_false(v.fixed_instance_size);
  wmiev_wnode_instance_view in;
  assert_status(wmiev_wnode_view_instance(&v, 0, &in), WMIEV_STATUS_INVALID_PARAMETER);
  free(m);

  m = validate_golden(G_ALL_SAME, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_ALL_DATA, 75,
                WNODE_FLAG_ALL_DATA | WNODE_FLAG_INSTANCES_SAME | WNODE_FLAG_EVENT_ITEM);
  assert_true(v.is_event);
  assert_int_equal(v.instance_count, 1);
  assert_false(v.names_present); /* OffsetInstanceNameOffsets 0xFFFFFFFF is never followed */
  static const uint32_t offsets[] = {72}, sizes[] = {3};
  expect_all_data_instances(&v, m, offsets, sizes, NULL, NULL, NULL);
  free(m);
}

static void test_event_reference_index(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_REF_INDEX, WMIEV_VALIDATE_REQUIRE_EVENT, &v);
  expect_header(&v, m, WMIEV_WNODE_EVENT_REFERENCE, 72,
                WNODE_FLAG_EVENT_REFERENCE | WNODE_FLAG_STATIC_INSTANCE_NAMES | 0x80000000u);
  assert_true(v.is_event);
  assert_int_equal(v.severity, 0x80);
  assert_int_equal(v.warnings, 0);
  assert_memory_equal(&v.target_guid, &test_guid, sizeof(GUID));
  expect_no_name(&v.instance);
  assert_int_equal(v.instance.index, 5);
  assert_null(v.instance.data);
  assert_int_equal(v.instance.data_offset, 0);
  assert_int_equal(v.instance.size, 4096); /* TargetDataBlockSize */
  assert_int_equal(v.instance_count, 1);
  assert_int_equal(v.data_block_offset, 0);
  assert_int_equal(v.item_id, 0);
  expect_no_all_data(&v);
  assert_int_equal(v.size_needed, 0);
  wmiev_wnode_instance_view in;
  assert_status(wmiev_wnode_view_instance(&v, 0, &in), WMIEV_STATUS_SUCCESS);
  assert_memory_equal(&in, &v.instance, sizeof in);
  assert_status(wmiev_wnode_view_instance(&v, 1, &in), WMIEV_STATUS_INVALID_PARAMETER);
  free(m);
}

static void test_event_reference_name(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_REF_NAME, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_EVENT_REFERENCE, 74, WNODE_FLAG_EVENT_REFERENCE | 0x01000000u);
  assert_true(v.is_event);
  assert_int_equal(v.severity, 1);
  assert_int_equal(v.warnings, 0);
  assert_memory_equal(&v.target_guid, &test_guid, sizeof(GUID));
  expect_name(&v.instance, m, 68, "Q1", 2);
  assert_int_equal(v.instance.index, 0);
  assert_null(v.instance.data);
  assert_int_equal(v.instance.size, 1000);
  assert_int_equal(v.instance_count, 1);
  expect_no_all_data(&v);
  free(m);
}

static void test_too_small(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t *m = validate_golden(G_TOO_SMALL, 0, &v);
  expect_header(&v, m, WMIEV_WNODE_TOO_SMALL, 56, WNODE_FLAG_TOO_SMALL);
  assert_false(v.is_event);
  assert_int_equal(v.warnings, 0);
  assert_int_equal(v.size_needed, 1234);
  assert_int_equal(v.instance_count, 0);
  expect_no_name(&v.instance);
  assert_null(v.instance.data);
  expect_no_all_data(&v);
  wmiev_wnode_instance_view in;
  assert_status(wmiev_wnode_view_instance(&v, 0, &in), WMIEV_STATUS_INVALID_PARAMETER);
  free(m);
  /* SizeNeeded ends at 52: the 4 bytes of tail padding are not required. */
  uint8_t b[52];
  memcpy(b, goldens[G_TOO_SMALL].b, sizeof b);
  put32(b, 0, 52);
  assert_status(wmiev_wnode_validate(b, sizeof b, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(v.size_needed, 1234);
}

static void test_single_kinds_iterator(void **state) {
  (void)state;
  static const int ids[] = {G_SI_STATIC, G_SI_NAMED, G_ITEM_NAMED, G_METHOD_STATIC};
  for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
    wmiev_wnode_view v;
    uint8_t *m = validate_golden(ids[k], 0, &v);
    wmiev_wnode_instance_view in;
    assert_status(wmiev_wnode_view_instance(&v, 0, &in), WMIEV_STATUS_SUCCESS);
    assert_memory_equal(&in, &v.instance, sizeof in);
    assert_status(wmiev_wnode_view_instance(&v, 1, &in), WMIEV_STATUS_INVALID_PARAMETER);
    assert_status(wmiev_wnode_view_instance(&v, 0, NULL), WMIEV_STATUS_INVALID_PARAMETER);
    assert_status(wmiev_wnode_view_instance(NULL, 0, &in), WMIEV_STATUS_INVALID_PARAMETER);
    free(m);
  }
}

static void test_warnings(void **state) {
  (void)state;
  wmiev_wnode_view v;
  uint8_t b[GOLDEN_MAX];
  uint32_t size = goldens[G_SI_STATIC].size;
  uint32_t flags = get32(goldens[G_SI_STATIC].b, 44);

  static const uint32_t odd_bits[] = {0x800u, 0x1000u, 0x01000000u, 0xFF000000u};
  for (size_t i = 0; i < sizeof odd_bits / sizeof odd_bits[0]; i++) {
    memcpy(b, goldens[G_SI_STATIC].b, size);
    put32(b, 44, flags | odd_bits[i]);
    assert_status(wmiev_wnode_validate(b, size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
    assert_int_equal(v.warnings, WMIEV_WNODE_WARN_UNDEFINED_FLAGS);
    assert_int_equal(v.severity, odd_bits[i] >> 24);
  }

  /* A reference may carry a severity; its Guid should equal TargetGuid. */
  size = goldens[G_REF_INDEX].size;
  memcpy(b, goldens[G_REF_INDEX].b, size);
  put_guid(b, 48, &other_guid);
  assert_status(wmiev_wnode_validate(b, size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(v.warnings, WMIEV_WNODE_WARN_TARGET_GUID_MISMATCH);
  assert_memory_equal(&v.target_guid, &other_guid, sizeof(GUID));
  put32(b, 44, get32(b, 44) | 0x800u);
  assert_status(wmiev_wnode_validate(b, size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(v.warnings,
                   WMIEV_WNODE_WARN_TARGET_GUID_MISMATCH | WMIEV_WNODE_WARN_UNDEFINED_FLAGS);
}

static void test_api_misuse(void **state) {
  (void)state;
  const golden *g = &goldens[G_SI_STATIC];
  wmiev_wnode_view v;
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  assert_status(wmiev_wnode_validate(g->b, g->size, 0, NULL, &diag),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_string_equal(diag.field, "view");
  assert_status(wmiev_wnode_validate(g->b, g->size, 0x2u, &v, &diag),
                WMIEV_STATUS_INVALID_PARAMETER);
  assert_string_equal(diag.field, "options");
  /* A NULL diag is allowed on both paths. */
  assert_status(wmiev_wnode_validate(g->b, 10, 0, &v, NULL), WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_status(wmiev_wnode_validate(g->b, g->size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
  /* Success leaves the diag untouched. */
  memset(&diag, 0x5A, sizeof diag);
  wmiev_diag before = diag;
  assert_status(wmiev_wnode_validate(g->b, g->size, 0, &v, &diag), WMIEV_STATUS_SUCCESS);
  assert_memory_equal(&diag, &before, sizeof diag);
}

static void test_kind_names(void **state) {
  (void)state;
  assert_string_equal(wmiev_wnode_kind_name(WMIEV_WNODE_ALL_DATA), "WNODE_ALL_DATA");
  assert_string_equal(wmiev_wnode_kind_name(WMIEV_WNODE_SINGLE_INSTANCE), "WNODE_SINGLE_INSTANCE");
  assert_string_equal(wmiev_wnode_kind_name(WMIEV_WNODE_SINGLE_ITEM), "WNODE_SINGLE_ITEM");
  assert_string_equal(wmiev_wnode_kind_name(WMIEV_WNODE_METHOD_ITEM), "WNODE_METHOD_ITEM");
  assert_string_equal(wmiev_wnode_kind_name(WMIEV_WNODE_EVENT_REFERENCE), "WNODE_EVENT_REFERENCE");
  assert_string_equal(wmiev_wnode_kind_name(WMIEV_WNODE_TOO_SMALL), "WNODE_TOO_SMALL");
  assert_string_equal(wmiev_wnode_kind_name((wmiev_wnode_kind)0), "WNODE_<unknown>");
  assert_string_equal(wmiev_wnode_kind_name((wmiev_wnode_kind)99), "WNODE_<unknown>");
}

/* ---- Comparing views (pointers relative to their own base) --------------- */

static int64_t rel(const uint8_t *p, const uint8_t *base) {
  return p == NULL ? -1 : (int64_t)(p - base);
}

static void expect_same_instance(const wmiev_wnode_instance_view *a, const uint8_t *abase,
                                 const wmiev_wnode_instance_view *b, const uint8_t *bbase) {
  assert_int_equal(a->has_name, b->has_name);
  assert_true(rel(a->name, abase) == rel(b->name, bbase));
  assert_int_equal(a->name_bytes, b->name_bytes);
  assert_int_equal(a->name_offset, b->name_offset);
  assert_int_equal(a->index, b->index);
  assert_true(rel(a->data, abase) == rel(b->data, bbase));
  assert_int_equal(a->data_offset, b->data_offset);
  assert_int_equal(a->size, b->size);
}

static void expect_same_view(const wmiev_wnode_view *a, const wmiev_wnode_view *b) {
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->buffer_size, b->buffer_size);
  assert_int_equal(a->provider_id, b->provider_id);
  assert_true(a->historical_context == b->historical_context);
  assert_true(a->timestamp == b->timestamp);
  assert_memory_equal(&a->guid, &b->guid, sizeof(GUID));
  assert_int_equal(a->client_context, b->client_context);
  assert_int_equal(a->flags, b->flags);
  assert_int_equal(a->is_event, b->is_event);
  assert_int_equal(a->static_names, b->static_names);
  assert_int_equal(a->severity, b->severity);
  assert_int_equal(a->warnings, b->warnings);
  expect_same_instance(&a->instance, a->base, &b->instance, b->base);
  assert_int_equal(a->item_id, b->item_id);
  assert_int_equal(a->data_block_offset, b->data_block_offset);
  assert_int_equal(a->instance_count, b->instance_count);
  assert_int_equal(a->fixed_instance_size, b->fixed_instance_size);
  assert_int_equal(a->fixed_size, b->fixed_size);
  assert_int_equal(a->names_present, b->names_present);
  assert_memory_equal(&a->target_guid, &b->target_guid, sizeof(GUID));
  assert_int_equal(a->size_needed, b->size_needed);
}

/* Bytes of [p, p + n) must lie inside the validated buffer; reading them lets ASan check. */
static unsigned touch(const wmiev_wnode_view *v, const uint8_t *p, size_t n) {
  if (p == NULL) {
    assert_int_equal(n, 0);
    return 0;
  }
  assert_true(p >= v->base && (size_t)(p - v->base) + n <= v->buffer_size);
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    sum += p[i];
  }
  return sum;
}

/*
 * What "a view can be walked without further checks" means: every instance
 * the view promises can be fetched, and its name and data lie inside the
 * buffer. A FIXED_INSTANCE_SIZE of 0 allows any InstanceCount, so long
 * views are sampled at both ends.
 */
static unsigned walk_view(const wmiev_wnode_view *v) {
  unsigned sum = 0;
  uint32_t n = v->instance_count;
  for (uint64_t k = 0; k < n && k < 512; k++) {
    uint32_t i = k < 256 ? (uint32_t)k : n - 1 - (uint32_t)(k - 256);
    wmiev_wnode_instance_view in;
    assert_status(wmiev_wnode_view_instance(v, i, &in), WMIEV_STATUS_SUCCESS);
    sum += touch(v, in.data, in.data == NULL ? 0 : in.size);
    if (in.has_name) {
      sum += touch(v, in.name - 2, (size_t)in.name_bytes + 2);
    }
  }
  wmiev_wnode_instance_view in;
  wmiev_status st = wmiev_wnode_view_instance(v, n, &in);
  assert_true(st == WMIEV_STATUS_INVALID_PARAMETER || v->kind != WMIEV_WNODE_ALL_DATA);
  if (v->kind != WMIEV_WNODE_ALL_DATA && v->instance.has_name) {
    sum += touch(v, v->instance.name, v->instance.name_bytes);
  }
  return sum;
}

/* ---- Layout independence: any alignment, trailing bytes ignored ---------- */

static void test_unaligned_and_trailing(void **state) {
  (void)state;
  for (int id = 0; id < G_COUNT; id++) {
    const golden *g = &goldens[id];
    wmiev_wnode_view ref;
    uint8_t *m = validate_golden(id, 0, &ref);
    for (size_t shift = 1; shift < 8; shift++) {
      uint8_t *raw = malloc(g->size + shift);
      assert_non_null(raw);
      memcpy(raw + shift, g->b, g->size);
      wmiev_wnode_view v;
      assert_status(wmiev_wnode_validate(raw + shift, g->size, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
      expect_same_view(&ref, &v);
      (void)walk_view(&v);
      free(raw);
    }
    /* len > BufferSize: the tail is poisoned under ASan, so reading it would abort. */
    size_t tail = 64;
    uint8_t *big = malloc(g->size + tail);
    assert_non_null(big);
    memcpy(big, g->b, g->size);
    memset(big + g->size, 0xEE, tail);
    POISON(big + g->size, tail);
    wmiev_wnode_view v;
    assert_status(wmiev_wnode_validate(big, g->size + tail, 0, &v, NULL), WMIEV_STATUS_SUCCESS);
    expect_same_view(&ref, &v);
    (void)walk_view(&v);
    UNPOISON(big + g->size, tail);
    free(big);
    free(m);
  }
}

/* ---- (b) Malformed inputs ---------------------------------------------------- */

typedef struct poke {
  uint16_t at;
  uint8_t width; /* 1, 2 or 4; 0 ends the list */
  uint32_t value;
} poke;
/* One row per case reads better than one field per line. */
/* clang-format off */
#define P16(at, v) {at, 2, v}
#define P32(at, v) {at, 4, v}
#define AS_IS (-1)

#define F_SI (WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES)
#define IBS WMIEV_STATUS_INVALID_BUFFER_SIZE
#define IP WMIEV_STATUS_INVALID_PARAMETER
#define DM WMIEV_STATUS_DATATYPE_MISALIGNMENT
#define BTS WMIEV_STATUS_BUFFER_TOO_SMALL
#define NS WMIEV_STATUS_NOT_SUPPORTED
#define DATA_OFF "OffsetInstanceDataAndLength[].OffsetInstanceData"
#define DATA_LEN "OffsetInstanceDataAndLength[].LengthInstanceData"
#define NAME_OFF "OffsetInstanceNameOffsets[]"

typedef struct bad_case {
  const char *what;
  int base;       /* golden to start from, or NO_BUFFER */
  poke pokes[3];  /* applied to a copy of the golden */
  int len;        /* bytes passed (an exact-size heap copy); AS_IS: the golden's size */
  uint32_t options;
  wmiev_status status;
  const char *field;
  uint32_t offset;
  const char *message; /* a substring of diag.message, or NULL */
} bad_case;

static const bad_case bad_cases[] = {
    /* R1, R2: the header itself */
    {"len 0", G_SI_STATIC, {{0}}, 0, 0, BTS, "WnodeHeader", 0, NULL},
    {"len 47", G_SI_STATIC, {{0}}, 47, 0, BTS, "WnodeHeader", 0, "47 bytes"},
    {"NULL buffer", NO_BUFFER, {{0}}, 100, 0, BTS, "WnodeHeader", 0, NULL},
    {"BufferSize > len", G_SI_STATIC, {P32(0, 78)}, AS_IS, 0, IBS, "WnodeHeader.BufferSize", 0,
     "larger"},
    {"BufferSize 0xFFFFFFFF", G_SI_STATIC, {P32(0, 0xFFFFFFFFu)}, AS_IS, 0, IBS,
     "WnodeHeader.BufferSize", 0, NULL},
    {"BufferSize 47 < header", G_SI_STATIC, {P32(0, 47)}, AS_IS, 0, IBS, "WnodeHeader.BufferSize",
     0, "48-byte"},
    {"BufferSize 0", G_SI_STATIC, {P32(0, 0)}, AS_IS, 0, IBS, "WnodeHeader.BufferSize", 0, NULL},
    {"SINGLE_INSTANCE BufferSize 63 < 64", G_SI_STATIC, {P32(0, 63)}, AS_IS, 0, IBS,
     "WnodeHeader.BufferSize", 0, "64-byte fixed part"},
    {"SINGLE_ITEM BufferSize 67 < 68", G_ITEM_NAMED, {P32(0, 67)}, AS_IS, 0, IBS,
     "WnodeHeader.BufferSize", 0, "68-byte fixed part"},
    {"METHOD_ITEM BufferSize 67 < 68", G_METHOD_STATIC, {P32(0, 67)}, AS_IS, 0, IBS,
     "WnodeHeader.BufferSize", 0, "68-byte fixed part"},
    {"ALL_DATA fixed BufferSize 63 < 64", G_ALL_FIXED, {P32(0, 63)}, AS_IS, 0, IBS,
     "WnodeHeader.BufferSize", 0, "64-byte fixed part"},
    {"ALL_DATA variable BufferSize 59 < 60", G_ALL_VAR_NAMED, {P32(0, 59)}, AS_IS, 0, IBS,
     "WnodeHeader.BufferSize", 0, "60-byte fixed part"},
    {"EVENT_REFERENCE index BufferSize 71 < 72", G_REF_INDEX, {P32(0, 71)}, AS_IS, 0, IBS,
     "WnodeHeader.BufferSize", 0, "72-byte fixed part"},
    {"EVENT_REFERENCE name BufferSize 69 < 70", G_REF_NAME, {P32(0, 69)}, AS_IS, 0, IBS,
     "WnodeHeader.BufferSize", 0, "70-byte fixed part"},
    {"TOO_SMALL BufferSize 51 < 52", G_TOO_SMALL, {P32(0, 51)}, AS_IS, 0, IBS,
     "WnodeHeader.BufferSize", 0, "52-byte fixed part"},

    /* R3, R4: flags */
    {"no kind flag", G_SI_STATIC, {P32(44, 0)}, AS_IS, 0, IP, "WnodeHeader.Flags", 44,
     "no kind flag"},
    {"no kind flag, other bits", G_SI_STATIC,
     {P32(44, WNODE_FLAG_STATIC_INSTANCE_NAMES | WNODE_FLAG_USE_TIMESTAMP)}, AS_IS, 0, IP,
     "WnodeHeader.Flags", 44, "no kind flag"},
    {"two kind flags", G_SI_STATIC, {P32(44, F_SI | WNODE_FLAG_ALL_DATA)}, AS_IS, 0, IP,
     "WnodeHeader.Flags", 44, "two kind flags: WNODE_FLAG_ALL_DATA | WNODE_FLAG_SINGLE_INSTANCE"},
    {"three kind flags", G_SI_STATIC,
     {P32(44, WNODE_FLAG_TOO_SMALL | WNODE_FLAG_METHOD_ITEM | WNODE_FLAG_SINGLE_ITEM)}, AS_IS, 0,
     IP, "WnodeHeader.Flags", 44, "several kind flags"},
    {"EVENT_ITEM alone", G_SI_STATIC, {P32(44, WNODE_FLAG_EVENT_ITEM)}, AS_IS, 0, IP,
     "WnodeHeader.Flags", 44, "EVENT_ITEM without a kind"},
    {"EVENT_ITEM + METHOD_ITEM", G_METHOD_STATIC,
     {P32(44, WNODE_FLAG_METHOD_ITEM | WNODE_FLAG_EVENT_ITEM | WNODE_FLAG_STATIC_INSTANCE_NAMES)},
     AS_IS, 0, IP, "WnodeHeader.Flags", 44, "EVENT_ITEM with WNODE_FLAG_METHOD_ITEM"},
    {"EVENT_ITEM + EVENT_REFERENCE", G_REF_INDEX,
     {P32(44, WNODE_FLAG_EVENT_REFERENCE | WNODE_FLAG_EVENT_ITEM |
                  WNODE_FLAG_STATIC_INSTANCE_NAMES)},
     AS_IS, 0, IP, "WnodeHeader.Flags", 44, "EVENT_ITEM with"},
    {"EVENT_ITEM + TOO_SMALL", G_TOO_SMALL, {P32(44, WNODE_FLAG_TOO_SMALL | WNODE_FLAG_EVENT_ITEM)},
     AS_IS, 0, IP, "WnodeHeader.Flags", 44, "EVENT_ITEM with"},
    {"FIXED_INSTANCE_SIZE without ALL_DATA", G_SI_STATIC,
     {P32(44, F_SI | WNODE_FLAG_FIXED_INSTANCE_SIZE)}, AS_IS, 0, IP, "WnodeHeader.Flags", 44,
     "FIXED_INSTANCE_SIZE"},
    {"TRACED_GUID", G_SI_STATIC, {P32(44, F_SI | WNODE_FLAG_TRACED_GUID)}, AS_IS, 0, NS,
     "WnodeHeader.Flags", 44, "ETW"},
    {"USE_GUID_PTR with LOG_WNODE", G_SI_STATIC,
     {P32(44, F_SI | WNODE_FLAG_LOG_WNODE | WNODE_FLAG_USE_GUID_PTR)}, AS_IS, 0, NS,
     "WnodeHeader.Flags", 44, NULL},
    {"USE_MOF_PTR, no kind", G_SI_STATIC, {P32(44, WNODE_FLAG_USE_MOF_PTR)}, AS_IS, 0, NS,
     "WnodeHeader.Flags", 44, NULL},
    {"TRACED_GUID but BufferSize > len: BufferSize first", G_SI_STATIC,
     {P32(0, 0x30000), P32(44, WNODE_FLAG_TRACED_GUID)}, AS_IS, 0, IBS, "WnodeHeader.BufferSize",
     0, NULL},
    {"REQUIRE_EVENT on a method item", G_METHOD_STATIC, {{0}}, AS_IS,
     WMIEV_VALIDATE_REQUIRE_EVENT, IP, "WnodeHeader.Flags", 44, "event was required"},
    {"REQUIRE_EVENT on a plain ALL_DATA", G_ALL_VAR_NAMED, {{0}}, AS_IS,
     WMIEV_VALIDATE_REQUIRE_EVENT, IP, "WnodeHeader.Flags", 44, "event was required"},
    {"REQUIRE_EVENT on TOO_SMALL", G_TOO_SMALL, {{0}}, AS_IS, WMIEV_VALIDATE_REQUIRE_EVENT, IP,
     "WnodeHeader.Flags", 44, NULL},
    {"unknown option bit", G_SI_STATIC, {{0}}, AS_IS, 0x80000000u, IP, "options", 0, NULL},

    /* R6: single-kind names */
    {"name offset past end", G_SI_NAMED, {P32(48, 0x1000)}, AS_IS, 0, IBS, "OffsetInstanceName",
     48, "outside"},
    {"name offset at BufferSize", G_SI_NAMED, {P32(48, 88)}, AS_IS, 0, IBS, "OffsetInstanceName",
     48, NULL},
    {"name offset 0xFFFFFFFE", G_ITEM_NAMED, {P32(48, 0xFFFFFFFEu)}, AS_IS, 0, IBS,
     "OffsetInstanceName", 48, NULL},
    {"name offset into the header", G_SI_NAMED, {P32(48, 40)}, AS_IS, 0, IBS, "OffsetInstanceName",
     48, "points into the 64-byte fixed part"},
    {"name offset 0", G_SI_NAMED, {P32(48, 0)}, AS_IS, 0, IBS, "OffsetInstanceName", 48,
     "fixed part"},
    {"SINGLE_ITEM name at 64 < 68", G_ITEM_NAMED, {P32(48, 64)}, AS_IS, 0, IBS,
     "OffsetInstanceName", 48, "68-byte fixed part"},
    {"odd name offset", G_SI_NAMED, {P32(48, 65)}, AS_IS, 0, DM, "OffsetInstanceName", 48, NULL},
    {"odd name length", G_SI_NAMED, {P16(64, 7)}, AS_IS, 0, IP, "OffsetInstanceName", 48, "odd"},
    {"name length past end", G_SI_NAMED, {P16(64, 0x100)}, AS_IS, 0, IBS, "OffsetInstanceName", 48,
     "run past"},
    {"name length 0xFFFE", G_ITEM_NAMED, {P16(68, 0xFFFE)}, AS_IS, 0, IBS, "OffsetInstanceName", 48,
     NULL},

    /* R6: single-kind data */
    {"data offset past end", G_SI_STATIC, {P32(56, 0x1000)}, AS_IS, 0, IBS, "DataBlockOffset", 56,
     "past BufferSize"},
    {"data offset into the header", G_SI_STATIC, {P32(56, 48)}, AS_IS, 0, IBS, "DataBlockOffset",
     56, "fixed part"},
    {"data offset 0", G_SI_STATIC, {P32(56, 0)}, AS_IS, 0, IBS, "DataBlockOffset", 56, NULL},
    {"misaligned data offset", G_SI_STATIC, {P32(56, 68)}, AS_IS, 0, DM, "DataBlockOffset", 56,
     "multiple of 8"},
    {"data length past end", G_SI_STATIC, {P32(60, 14)}, AS_IS, 0, IBS, "SizeDataBlock", 60,
     "run past"},
    {"offset + length overflows 32 bits (0xFFFFFFF8 + 16)", G_SI_STATIC,
     {P32(56, 0xFFFFFFF8u), P32(60, 16)}, AS_IS, 0, IBS, "DataBlockOffset", 56, "overflow"},
    {"length wraps 32 bits back inside (64 + 0xFFFFFFF0)", G_SI_STATIC,
     {P32(56, 64), P32(60, 0xFFFFFFF0u)}, AS_IS, 0, IBS, "SizeDataBlock", 60, "overflow"},
    {"SINGLE_ITEM SizeDataItem past end", G_ITEM_NAMED, {P32(64, 5)}, AS_IS, 0, IBS,
     "SizeDataItem", 64, NULL},
    {"SINGLE_ITEM misaligned data", G_ITEM_NAMED, {P32(60, 76)}, AS_IS, 0, DM, "DataBlockOffset",
     60, NULL},
    {"METHOD_ITEM data in the fixed part", G_METHOD_STATIC, {P32(60, 64)}, AS_IS, 0, IBS,
     "DataBlockOffset", 60, "68-byte fixed part"},
    {"METHOD_ITEM data past end, size 0", G_METHOD_STATIC, {P32(60, 80)}, AS_IS, 0, IBS,
     "DataBlockOffset", 60, NULL},
    {"name/data overlap", G_SI_NAMED, {P32(56, 72)}, AS_IS, 0, IP, "DataBlockOffset", 56,
     "overlaps"},
    {"name inside data", G_SI_NAMED, {P32(48, 80), P16(80, 2)}, AS_IS, 0, IP, "DataBlockOffset",
     56, "overlaps"},

    /* R5, R7: ALL_DATA */
    {"InstanceCount that cannot fit (0x20000000)", G_ALL_VAR_NAMED, {P32(52, 0x20000000u)}, AS_IS,
     0, IBS, "InstanceCount", 52, "cannot fit"},
    {"InstanceCount 0xFFFFFFFF", G_ALL_VAR_NAMED, {P32(52, 0xFFFFFFFFu)}, AS_IS, 0, IBS,
     "InstanceCount", 52, "cannot fit"},
    {"InstanceCount 8: array ends at 124 > 116", G_ALL_VAR_NAMED, {P32(52, 8)}, AS_IS, 0, IBS,
     "InstanceCount", 52, "124"},
    {"variable instance offset past end", G_ALL_VAR_NAMED, {P32(68, 0x200)}, AS_IS, 0, IBS,
     DATA_OFF, 68, "OffsetInstanceDataAndLength[1].OffsetInstanceData"},
    {"variable instance misaligned", G_ALL_VAR_NAMED, {P32(60, 84)}, AS_IS, 0, DM, DATA_OFF, 60,
     "OffsetInstanceDataAndLength[0].OffsetInstanceData"},
    {"variable instance into the array", G_ALL_VAR_NAMED, {P32(68, 72)}, AS_IS, 0, IBS,
     DATA_OFF, 68, "76-byte fixed part"},
    {"variable instance length past end", G_ALL_VAR_NAMED, {P32(72, 29)}, AS_IS, 0, IBS, DATA_LEN,
     72, NULL},
    {"variable offset + length overflows", G_ALL_VAR_NAMED, {P32(60, 0xFFFFFFF8u), P32(64, 16)},
     AS_IS, 0, IBS, DATA_OFF, 60, "overflow"},
    {"name offset array past end", G_ALL_VAR_NAMED, {P32(56, 112)}, AS_IS, 0, IBS,
     "OffsetInstanceNameOffsets", 56, "run past"},
    {"name offset array 0xFFFFFFFC", G_ALL_VAR_NAMED, {P32(56, 0xFFFFFFFCu)}, AS_IS, 0, IBS,
     "OffsetInstanceNameOffsets", 56, NULL},
    {"name offset array into the fixed part", G_ALL_VAR_NAMED, {P32(56, 60)}, AS_IS, 0, IBS,
     "OffsetInstanceNameOffsets", 56, "fixed part"},
    {"a name in the array out of bounds", G_ALL_VAR_NAMED, {P32(100, 0x1000)}, AS_IS, 0, IBS,
     NAME_OFF, 100, "OffsetInstanceNameOffsets[1]"},
    {"a name in the array into the header", G_ALL_VAR_NAMED, {P32(96, 40)}, AS_IS, 0, IBS, NAME_OFF,
     96, "fixed part"},
    {"a name in the array at an odd offset", G_ALL_VAR_NAMED, {P32(96, 105)}, AS_IS, 0, DM,
     NAME_OFF, 96, NULL},
    {"a name in the array with an odd length", G_ALL_VAR_NAMED, {P16(104, 3)}, AS_IS, 0, IP,
     NAME_OFF, 96, "odd"},
    {"a name in the array running past end", G_ALL_VAR_NAMED, {P16(108, 8)}, AS_IS, 0, IBS,
     NAME_OFF, 100, NULL},
    {"fixed: DataBlockOffset into the header", G_ALL_FIXED, {P32(48, 56)}, AS_IS, 0, IBS,
     "DataBlockOffset", 48, "fixed part"},
    {"fixed: DataBlockOffset misaligned", G_ALL_FIXED, {P32(48, 68)}, AS_IS, 0, DM,
     "DataBlockOffset", 48, NULL},
    {"fixed: last instance past end", G_ALL_FIXED, {P32(60, 7)}, AS_IS, 0, IBS, "FixedInstanceSize",
     60, NULL},
    {"fixed: InstanceCount 0x20000000", G_ALL_FIXED, {P32(52, 0x20000000u)}, AS_IS, 0, IBS,
     "FixedInstanceSize", 60, "overflow"},
    {"fixed: FixedInstanceSize 0xFFFFFFFF", G_ALL_FIXED, {P32(60, 0xFFFFFFFFu)}, AS_IS, 0, IBS,
     "FixedInstanceSize", 60, "overflow"},
    {"fixed: DataBlockOffset past end", G_ALL_FIXED, {P32(48, 0x10000)}, AS_IS, 0, IBS,
     "DataBlockOffset", 48, NULL},
    {"fixed, named: name offset array past end", G_ALL_FIXED_NAMED, {P32(56, 96)}, AS_IS, 0, IBS,
     "OffsetInstanceNameOffsets", 56, NULL},
    {"fixed, named: name offset 62 < 64", G_ALL_FIXED_NAMED, {P32(80, 62)}, AS_IS, 0, IBS,
     NAME_OFF, 80, "fixed part"},

    /* R5, R8: event references */
    {"reference name past end", G_REF_NAME, {P16(68, 6)}, AS_IS, 0, IBS, "TargetInstanceName", 68,
     NULL},
    {"reference name count 0xFFFE", G_REF_NAME, {P16(68, 0xFFFE)}, AS_IS, 0, IBS,
     "TargetInstanceName", 68, NULL},
    {"reference name with an odd count", G_REF_NAME, {P16(68, 3)}, AS_IS, 0, IP,
     "TargetInstanceName", 68, "odd"},
};

/* clang-format on */

static const uint8_t *apply(const bad_case *t, uint8_t *scratch) {
  if (t->base == NO_BUFFER) {
    return NULL;
  }
  memcpy(scratch, goldens[t->base].b, GOLDEN_MAX);
  for (size_t i = 0; i < 3 && t->pokes[i].width != 0; i++) {
    if (t->pokes[i].width == 2) {
      put16(scratch, t->pokes[i].at, t->pokes[i].value);
    } else {
      put32(scratch, t->pokes[i].at, t->pokes[i].value);
    }
  }
  return scratch;
}

static void test_malformed_table(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof bad_cases / sizeof bad_cases[0]; k++) {
    const bad_case *t = &bad_cases[k];
    uint8_t scratch[GOLDEN_MAX];
    const uint8_t *src = apply(t, scratch);
    size_t len = (size_t)t->len;
    uint8_t *m = NULL;
    if (src != NULL) {
      if (t->len == AS_IS) {
        len = goldens[t->base].size;
      }
      m = malloc(len > 0 ? len : 1);
      assert_non_null(m);
      memcpy(m, src, len);
    }
    wmiev_wnode_view v;
    wmiev_diag diag;
    memset(&diag, 0, sizeof diag);
    wmiev_status st = wmiev_wnode_validate(m, len, t->options, &v, &diag);
    if (st != t->status || diag.status != st || diag.field == NULL ||
        strcmp(diag.field, t->field) != 0 || diag.offset != t->offset ||
        (t->message != NULL && strstr(diag.message, t->message) == NULL)) {
      fail_msg("case \"%s\": got %s %s@%u \"%s\"; want %s %s@%u \"%s\"", t->what,
               wmiev_status_name(st), diag.field ? diag.field : "(null)", (unsigned)diag.offset,
               diag.message, wmiev_status_name(t->status), t->field, (unsigned)t->offset,
               t->message ? t->message : "");
    }
    assert_true(diag.message[0] != '\0');
    free(m);
  }
}

/* ---- (c) Never reads out of bounds ------------------------------------------ */

static void test_truncations(void **state) {
  (void)state;
  for (int id = 0; id < G_COUNT; id++) {
    const golden *g = &goldens[id];
    wmiev_wnode_view ref;
    uint8_t *whole = validate_golden(id, 0, &ref);
    free(whole);
    for (uint32_t len = 0; len < g->size; len++) {
      /* BufferSize left as is: always more than given. Exact-size copy for ASan. */
      uint8_t *m = malloc(len > 0 ? len : 1);
      assert_non_null(m);
      memcpy(m, g->b, len);
      wmiev_wnode_view v;
      wmiev_diag diag;
      wmiev_status st = wmiev_wnode_validate(m, len, 0, &v, &diag);
      if (st == WMIEV_STATUS_SUCCESS) {
        fail_msg("golden %d truncated to %u bytes was accepted", id, (unsigned)len);
      }
      assert_status(diag.status, st);
      assert_status(st, len < 48 ? BTS : IBS);
      /* BufferSize shrunk to match: may pass or fail, but must stay inside. */
      if (len >= 4) {
        put32(m, 0, len);
        st = wmiev_wnode_validate(m, len, 0, &v, &diag);
        if (st == WMIEV_STATUS_SUCCESS) {
          (void)walk_view(&v);
        } else {
          assert_status(diag.status, st);
        }
      }
      free(m);
    }
  }
}

static uint32_t rng_state = 0x9E3779B9u;

static uint32_t rnd(void) { /* xorshift32: deterministic across platforms */
  uint32_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}

/* Values that sit on the edges the validator checks. */
static uint32_t interesting(uint32_t size) {
  /* Near the header and fixed parts, and near 2^32 where 32-bit sums wrap. */
  static const uint32_t low[] = {0, 1, 2, 3, 4, 6, 7, 8, 47, 48, 52, 56, 60, 64, 68, 70, 72};
  static const uint32_t high[] = {0x20000000u, 0x7FFFFFFFu, 0x80000000u,
                                  0xFFFFFFF8u, 0xFFFFFFFCu, 0xFFFFFFFFu};
  switch (rnd() % 7) {
  case 0:
    return size;
  case 1:
    return size - 1 - rnd() % 8;
  case 2:
    return size + rnd() % 8;
  case 3:
    return rnd();
  case 4:
    return high[rnd() % (sizeof high / sizeof high[0])];
  default:
    return low[rnd() % (sizeof low / sizeof low[0])];
  }
}

static void mutate(uint8_t *b, uint32_t *len) {
  uint32_t n = 1 + rnd() % 4;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t size = *len;
    switch (rnd() % 6) {
    case 0: /* flip a bit anywhere */
      b[rnd() % size] ^= (uint8_t)(1u << (rnd() % 8));
      break;
    case 1: /* an edge value into a field-sized slot past the header */
      put32(b, 48 + 4 * (rnd() % ((size - 48) / 4 + 1)) - (rnd() % 2) * 2, interesting(size));
      break;
    case 2: /* an edge value into BufferSize */
      put32(b, 0, interesting(size));
      break;
    case 3: /* toggle one flag bit */
      put32(b, 44, get32(b, 44) ^ (1u << (rnd() % 32)));
      break;
    case 4: /* a random counted-string length at an even offset */
      put16(b, 48 + 2 * (rnd() % ((size - 48) / 2 + 1)), rnd() % 64);
      break;
    default: /* grow or shrink what is given */
      *len = 48 + rnd() % (GOLDEN_MAX - 48 + 1);
      break;
    }
  }
}

static void test_mutations(void **state) {
  (void)state;
  unsigned accepted = 0, rejected = 0;
  for (int iter = 0; iter < 20000; iter++) {
    int id = (int)(rnd() % G_COUNT);
    uint8_t scratch[GOLDEN_MAX + 8];
    for (size_t i = 0; i < sizeof scratch; i++) {
      scratch[i] = (uint8_t)rnd();
    }
    memcpy(scratch, goldens[id].b, goldens[id].size);
    uint32_t len = goldens[id].size;
    mutate(scratch, &len);
    uint8_t *m = malloc(len);
    assert_non_null(m);
    memcpy(m, scratch, len);
    uint32_t options = rnd() % 4 == 0 ? WMIEV_VALIDATE_REQUIRE_EVENT : 0;
    wmiev_wnode_view v, again;
    wmiev_diag diag;
    wmiev_status st = wmiev_wnode_validate(m, len, options, &v, &diag);
    if (st == WMIEV_STATUS_SUCCESS) {
      accepted++;
      assert_true(v.buffer_size <= len);
      (void)walk_view(&v);
      assert_status(wmiev_wnode_validate(m, len, options, &again, NULL), WMIEV_STATUS_SUCCESS);
      expect_same_view(&v, &again);
      assert_ptr_equal(again.base, m);
    } else {
      rejected++;
      assert_status(diag.status, st);
      assert_non_null(diag.field);
      assert_true(st == BTS || st == IBS || st == IP || st == DM || st == NS);
    }
    free(m);
  }
  /* Both outcomes must be common, or the loop is not exploring anything. */
  print_message("mutations: %u accepted, %u rejected\n", accepted, rejected);
  assert_true(accepted > 1000);
  assert_true(rejected > 1000);
}

static int setup(void **state) {
  (void)state;
  build_goldens();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single_instance_static),
      cmocka_unit_test(test_single_instance_named),
      cmocka_unit_test(test_single_item_named),
      cmocka_unit_test(test_method_item_static),
      cmocka_unit_test(test_all_data_fixed),
      cmocka_unit_test(test_all_data_variable_named),
      cmocka_unit_test(test_all_data_fixed_named),
      cmocka_unit_test(test_all_data_empty_and_same),
      cmocka_unit_test(test_event_reference_index),
      cmocka_unit_test(test_event_reference_name),
      cmocka_unit_test(test_too_small),
      cmocka_unit_test(test_single_kinds_iterator),
      cmocka_unit_test(test_warnings),
      cmocka_unit_test(test_api_misuse),
      cmocka_unit_test(test_kind_names),
      cmocka_unit_test(test_unaligned_and_trailing),
      cmocka_unit_test(test_malformed_table),
      cmocka_unit_test(test_truncations),
      cmocka_unit_test(test_mutations),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
