/*
 * Tests of the WNODE builders (lib/core/wnode_build.c).
 *
 * The golden arrays below are the whole expected output of each builder,
 * worked out by hand from spec §1, §2 and §8 and written byte by byte with
 * the field and offset of each run; none of them is produced by the code
 * under test. Every golden case also runs the two-call pattern, the
 * one-byte-short buffer and an unaligned destination.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <wmiev/wmiev.h>

#include "wnode_params.h"

#define SENTINEL 0xAA

/* ---- Helpers -------------------------------------------------------------- */

/* memcmp, but on a mismatch say where, so a layout slip is found at once. */
static void expect_bytes(const uint8_t *actual, const uint8_t *expected, size_t size,
                         const char *what) {
  for (size_t i = 0; i < size; i++) {
    if (actual[i] != expected[i]) {
      fail_msg("%s: first difference at offset %zu: got 0x%02x, expected 0x%02x", what, i,
               (unsigned)actual[i], (unsigned)expected[i]);
    }
  }
}

static void expect_all(const uint8_t *bytes, uint8_t value, size_t size, const char *what) {
  for (size_t i = 0; i < size; i++) {
    if (bytes[i] != value) {
      fail_msg("%s: byte %zu is 0x%02x, expected 0x%02x", what, i, (unsigned)bytes[i],
               (unsigned)value);
    }
  }
}

static uint32_t get_u32(const uint8_t *wnode, size_t at) {
  uint32_t value;
  memcpy(&value, wnode + at, sizeof value);
  return value;
}

/* A builder with all its arguments but the output fixed. */
typedef wmiev_status (*build_fn)(void *buf, size_t buf_size, size_t *size_needed,
                                 wmiev_diag *diag);

/*
 * Runs one golden case through everything a caller can do with it: size
 * query with a NULL buffer, a buffer one byte short (must stay untouched),
 * an exact and a larger aligned buffer, and an unaligned one.
 */
static void run_golden(build_fn build, const uint8_t *golden, size_t golden_size) {
  wmiev_diag diag;
  size_t need = 0;

  assert_int_equal(build(NULL, 0, &need, &diag), WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, golden_size);
  assert_int_equal(diag.status, WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_string_equal(diag.field, "buf_size");

  /* +16 so that bytes past BufferSize can be checked; +1 for the unaligned run. */
  uint8_t *mem = malloc(golden_size + 17);
  assert_non_null(mem);

  memset(mem, SENTINEL, golden_size + 17);
  need = 0;
  assert_int_equal(build(mem, golden_size - 1, &need, &diag), WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, golden_size);
  expect_all(mem, SENTINEL, golden_size + 17, "one byte short: buffer written");

  memset(mem, SENTINEL, golden_size + 17);
  need = 0;
  diag.field = "untouched";
  assert_int_equal(build(mem, golden_size, &need, &diag), WMIEV_STATUS_SUCCESS);
  assert_int_equal(need, golden_size);
  assert_string_equal(diag.field, "untouched");
  expect_bytes(mem, golden, golden_size, "exact buffer");
  expect_all(mem + golden_size, SENTINEL, 17, "exact buffer: past BufferSize");

  memset(mem, SENTINEL, golden_size + 17);
  need = 0;
  assert_int_equal(build(mem, golden_size + 16, &need, &diag), WMIEV_STATUS_SUCCESS);
  assert_int_equal(need, golden_size);
  expect_bytes(mem, golden, golden_size, "larger buffer");
  expect_all(mem + golden_size, SENTINEL, 17, "larger buffer: past BufferSize");

  memset(mem, SENTINEL, golden_size + 17);
  need = 0;
  assert_int_equal(build(mem + 1, golden_size + 16, &need, &diag), WMIEV_STATUS_SUCCESS);
  assert_int_equal(need, golden_size);
  assert_int_equal(mem[0], SENTINEL);
  expect_bytes(mem + 1, golden, golden_size, "unaligned buffer");
  expect_all(mem + 1 + golden_size, SENTINEL, 16, "unaligned buffer: past BufferSize");

  free(mem);
}

/*
 * Checks a rejection: exact status and field, and nothing written — neither
 * the 256-byte destination nor *size_needed.
 */
#define REJECT_BUF_SIZE 256
typedef struct reject_ctx {
  uint8_t buf[REJECT_BUF_SIZE];
  size_t need;
  wmiev_diag diag;
} reject_ctx;

static void reject_begin(reject_ctx *ctx) {
  memset(ctx->buf, SENTINEL, sizeof ctx->buf);
  ctx->need = 12345;
  memset(&ctx->diag, 0, sizeof ctx->diag);
}

static void reject_check(const reject_ctx *ctx, wmiev_status got, wmiev_status expected,
                         const char *field, uint32_t offset) {
  if (got != expected) {
    fail_msg("status %s (0x%08lx), expected %s; diag: %s: %s", wmiev_status_name(got),
             (unsigned long)(uint32_t)got, wmiev_status_name(expected),
             ctx->diag.field ? ctx->diag.field : "(none)", ctx->diag.message);
  }
  assert_int_equal(ctx->diag.status, expected);
  assert_non_null(ctx->diag.field);
  assert_string_equal(ctx->diag.field, field);
  assert_int_equal(ctx->diag.offset, offset);
  assert_true(ctx->diag.message[0] != '\0');
  assert_int_equal(ctx->need, 12345);
  expect_all(ctx->buf, SENTINEL, sizeof ctx->buf, "rejected call wrote to the buffer");
}

/* ---- Golden bytes --------------------------------------------------------- */

/*
 * Offsets 4..43 of every header built from golden_hdr(): ProviderId,
 * HistoricalContext (always 0), TimeStamp, Guid and ClientContext, little-endian.
 */
#define HDR_MIDDLE                                                                                 \
  /*  4 ProviderId = 0x11223344 */ 0x44, 0x33, 0x22, 0x11,                                         \
  /*  8 HistoricalContext = 0 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,                   \
  /* 16 TimeStamp = 0x01D9A0B0C0D0E0F0 */ 0xF0, 0xE0, 0xD0, 0xC0, 0xB0, 0xA0, 0xD9, 0x01,          \
  /* 24 Guid.Data1 */ 0x67, 0x45, 0x23, 0x01,                                                     \
  /* 28 Guid.Data2 */ 0xAB, 0x89, /* 30 Guid.Data3 */ 0xEF, 0xCD,                                  \
  /* 32 Guid.Data4 */ 0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,                              \
  /* 40 ClientContext = 0x55667788 */ 0x88, 0x77, 0x66, 0x55

/* The same GUID again, as TargetGuid of an event reference. */
#define TARGET_GUID                                                                                \
  0x67, 0x45, 0x23, 0x01, 0xAB, 0x89, 0xEF, 0xCD, 0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE

static const uint16_t name_dev0[] = {'D', 'e', 'v', '0'};
static const uint16_t name_m1[] = {'M', '1'};
static const uint16_t name_a[] = {'A'};
static const uint16_t name_bc[] = {'B', 'C'};
static const uint16_t name_x[] = {'x'};
static const uint16_t name_yz[] = {'y', 'z'};

/* Single instance, static index 5, 4 data bytes, fired as an event. */
static const uint8_t golden_si_static[68] = {
    /*  0 BufferSize = 68 */ 0x44, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = SINGLE_INSTANCE 0x2 | EVENT_ITEM 0x8 | STATIC_INSTANCE_NAMES 0x80 */
    0x8A, 0x00, 0x00, 0x00,
    /* 48 OffsetInstanceName = 0 */ 0x00, 0x00, 0x00, 0x00,
    /* 52 InstanceIndex = 5 */ 0x05, 0x00, 0x00, 0x00,
    /* 56 DataBlockOffset = 64 */ 0x40, 0x00, 0x00, 0x00,
    /* 60 SizeDataBlock = 4 */ 0x04, 0x00, 0x00, 0x00,
    /* 64 data */ 0xDE, 0xAD, 0xBE, 0xEF,
};

static wmiev_status build_si_static(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  static const uint8_t data[] = {0xDE, 0xAD, 0xBE, 0xEF};
  wmiev_wnode_header_params hdr = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance instance = by_index(5, data, sizeof data);
  return wmiev_wnode_build_single_instance(buf, n, &hdr, &instance, need, diag);
}

/* Single instance named "Dev0" (8 name bytes), 3 data bytes; the index given is ignored. */
static const uint8_t golden_si_dynamic[83] = {
    /*  0 BufferSize = 83 */ 0x53, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = SINGLE_INSTANCE 0x2 | EVENT_ITEM 0x8 */ 0x0A, 0x00, 0x00, 0x00,
    /* 48 OffsetInstanceName = 64 */ 0x40, 0x00, 0x00, 0x00,
    /* 52 InstanceIndex = 0 */ 0x00, 0x00, 0x00, 0x00,
    /* 56 DataBlockOffset = ALIGN8(66 + 8) = 80 */ 0x50, 0x00, 0x00, 0x00,
    /* 60 SizeDataBlock = 3 */ 0x03, 0x00, 0x00, 0x00,
    /* 64 name byte count = 8 */ 0x08, 0x00,
    /* 66 "Dev0" UTF-16LE */ 0x44, 0x00, 0x65, 0x00, 0x76, 0x00, 0x30, 0x00,
    /* 74 padding to 80 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 80 data */ 0x01, 0x02, 0x03,
};

static wmiev_status build_si_dynamic(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  static const uint8_t data[] = {0x01, 0x02, 0x03};
  wmiev_wnode_header_params hdr = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance instance = by_name(name_dev0, 4, data, sizeof data);
  instance.index = 9;
  return wmiev_wnode_build_single_instance(buf, n, &hdr, &instance, need, diag);
}

/* Single instance, static index 1, no data: data offset still 64, 64 bytes in all. */
static const uint8_t golden_si_empty[64] = {
    /*  0 BufferSize = 64 */ 0x40, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = SINGLE_INSTANCE 0x2 | STATIC_INSTANCE_NAMES 0x80 */ 0x82, 0x00, 0x00, 0x00,
    /* 48 OffsetInstanceName = 0 */ 0x00, 0x00, 0x00, 0x00,
    /* 52 InstanceIndex = 1 */ 0x01, 0x00, 0x00, 0x00,
    /* 56 DataBlockOffset = 64 */ 0x40, 0x00, 0x00, 0x00,
    /* 60 SizeDataBlock = 0 */ 0x00, 0x00, 0x00, 0x00,
};

static wmiev_status build_si_empty(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance instance = by_index(1, NULL, 0);
  return wmiev_wnode_build_single_instance(buf, n, &hdr, &instance, need, diag);
}

/* Single item 7 of static instance 2: a USHORT 0x1234, data at ALIGN8(68) = 72. */
static const uint8_t golden_item_static[74] = {
    /*  0 BufferSize = 74 */ 0x4A, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = SINGLE_ITEM 0x4 | EVENT_ITEM 0x8 | STATIC_INSTANCE_NAMES 0x80 */
    0x8C, 0x00, 0x00, 0x00,
    /* 48 OffsetInstanceName = 0 */ 0x00, 0x00, 0x00, 0x00,
    /* 52 InstanceIndex = 2 */ 0x02, 0x00, 0x00, 0x00,
    /* 56 ItemId = 7 */ 0x07, 0x00, 0x00, 0x00,
    /* 60 DataBlockOffset = 72 */ 0x48, 0x00, 0x00, 0x00,
    /* 64 SizeDataItem = 2 */ 0x02, 0x00, 0x00, 0x00,
    /* 68 padding to 72 */ 0x00, 0x00, 0x00, 0x00,
    /* 72 data */ 0x34, 0x12,
};

static wmiev_status build_item_static(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  static const uint8_t data[] = {0x34, 0x12};
  wmiev_wnode_header_params hdr = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance instance = by_index(2, data, sizeof data);
  return wmiev_wnode_build_single_item(buf, n, &hdr, &instance, 7, need, diag);
}

/* Method 3 on instance "M1" (4 name bytes at 68) with 5 input bytes at ALIGN8(70 + 4) = 80. */
static const uint8_t golden_method_dynamic[85] = {
    /*  0 BufferSize = 85 */ 0x55, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = METHOD_ITEM 0x8000 */ 0x00, 0x80, 0x00, 0x00,
    /* 48 OffsetInstanceName = 68 */ 0x44, 0x00, 0x00, 0x00,
    /* 52 InstanceIndex = 0 */ 0x00, 0x00, 0x00, 0x00,
    /* 56 MethodId = 3 */ 0x03, 0x00, 0x00, 0x00,
    /* 60 DataBlockOffset = 80 */ 0x50, 0x00, 0x00, 0x00,
    /* 64 SizeDataBlock = 5 */ 0x05, 0x00, 0x00, 0x00,
    /* 68 name byte count = 4 */ 0x04, 0x00,
    /* 70 "M1" UTF-16LE */ 0x4D, 0x00, 0x31, 0x00,
    /* 74 padding to 80 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 80 data */ 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
};

static wmiev_status build_method_dynamic(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  static const uint8_t data[] = {0x0A, 0x0B, 0x0C, 0x0D, 0x0E};
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance instance = by_name(name_m1, 2, data, sizeof data);
  return wmiev_wnode_build_method_item(buf, n, &hdr, &instance, 3, need, diag);
}

/* All data, 3 static instances of 6 bytes: fixed size, 2 padding bytes between instances. */
static const uint8_t golden_all_fixed[86] = {
    /*  0 BufferSize = 86 */ 0x56, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = ALL_DATA 0x1 | EVENT_ITEM 0x8 | FIXED_INSTANCE_SIZE 0x10
     *          | STATIC_INSTANCE_NAMES 0x80 */
    0x99, 0x00, 0x00, 0x00,
    /* 48 DataBlockOffset = 64 */ 0x40, 0x00, 0x00, 0x00,
    /* 52 InstanceCount = 3 */ 0x03, 0x00, 0x00, 0x00,
    /* 56 OffsetInstanceNameOffsets = 0 */ 0x00, 0x00, 0x00, 0x00,
    /* 60 FixedInstanceSize = 6 */ 0x06, 0x00, 0x00, 0x00,
    /* 64 instance 0 */ 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, /* 70 pad */ 0x00, 0x00,
    /* 72 instance 1 */ 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, /* 78 pad */ 0x00, 0x00,
    /* 80 instance 2 */ 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5,
};

static wmiev_status build_all_fixed_layout(void *buf, size_t n, size_t *need, wmiev_diag *diag,
                                           wmiev_all_data_layout layout) {
  static const uint8_t d0[] = {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5};
  static const uint8_t d1[] = {0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5};
  static const uint8_t d2[] = {0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5};
  wmiev_wnode_header_params hdr = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  /* Indexes are ignored in ALL_DATA: the position is the index. */
  wmiev_wnode_instance instances[3] = {by_index(7, d0, 6), by_index(8, d1, 6), by_index(9, d2, 6)};
  return wmiev_wnode_build_all_data(buf, n, &hdr, instances, 3, layout, need, diag);
}

static wmiev_status build_all_fixed_auto(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  return build_all_fixed_layout(buf, n, need, diag, WMIEV_ALL_DATA_AUTO);
}

static wmiev_status build_all_fixed_forced(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  return build_all_fixed_layout(buf, n, need, diag, WMIEV_ALL_DATA_FIXED);
}

/*
 * All data, variable sizes, dynamic names "A" (3 bytes of data) and "BC" (9 bytes).
 * Array of 2 pairs at 60..75, data from ALIGN8(76) = 80; instance 1 at
 * ALIGN8(83) = 88, ends at 97; name offsets at ALIGN4(97) = 100; names at 108, 112.
 */
static const uint8_t golden_all_variable_named[118] = {
    /*  0 BufferSize = 118 */ 0x76, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = ALL_DATA 0x1 */ 0x01, 0x00, 0x00, 0x00,
    /* 48 DataBlockOffset = 80 */ 0x50, 0x00, 0x00, 0x00,
    /* 52 InstanceCount = 2 */ 0x02, 0x00, 0x00, 0x00,
    /* 56 OffsetInstanceNameOffsets = 100 */ 0x64, 0x00, 0x00, 0x00,
    /* 60 [0].OffsetInstanceData = 80 */ 0x50, 0x00, 0x00, 0x00,
    /* 64 [0].LengthInstanceData = 3 */ 0x03, 0x00, 0x00, 0x00,
    /* 68 [1].OffsetInstanceData = 88 */ 0x58, 0x00, 0x00, 0x00,
    /* 72 [1].LengthInstanceData = 9 */ 0x09, 0x00, 0x00, 0x00,
    /* 76 padding to 80 */ 0x00, 0x00, 0x00, 0x00,
    /* 80 instance 0 */ 0x11, 0x22, 0x33,
    /* 83 padding to 88 */ 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 88 instance 1 */ 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
    /* 97 padding to 100 */ 0x00, 0x00, 0x00,
    /* 100 name offset [0] = 108 */ 0x6C, 0x00, 0x00, 0x00,
    /* 104 name offset [1] = 112 */ 0x70, 0x00, 0x00, 0x00,
    /* 108 name 0: count 2, "A" */ 0x02, 0x00, 0x41, 0x00,
    /* 112 name 1: count 4, "BC" */ 0x04, 0x00, 0x42, 0x00, 0x43, 0x00,
};

static wmiev_status build_all_variable_named(void *buf, size_t n, size_t *need,
                                             wmiev_diag *diag) {
  static const uint8_t d0[] = {0x11, 0x22, 0x33};
  static const uint8_t d1[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance instances[2] = {by_name(name_a, 1, d0, sizeof d0),
                                       by_name(name_bc, 2, d1, sizeof d1)};
  return wmiev_wnode_build_all_data(buf, n, &hdr, instances, 2, WMIEV_ALL_DATA_AUTO, need, diag);
}

/* All data, fixed size 4, dynamic names "x" and "yz": data ends at 76, already 4-aligned. */
static const uint8_t golden_all_fixed_named[94] = {
    /*  0 BufferSize = 94 */ 0x5E, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = ALL_DATA 0x1 | EVENT_ITEM 0x8 | FIXED_INSTANCE_SIZE 0x10 */
    0x19, 0x00, 0x00, 0x00,
    /* 48 DataBlockOffset = 64 */ 0x40, 0x00, 0x00, 0x00,
    /* 52 InstanceCount = 2 */ 0x02, 0x00, 0x00, 0x00,
    /* 56 OffsetInstanceNameOffsets = 76 */ 0x4C, 0x00, 0x00, 0x00,
    /* 60 FixedInstanceSize = 4 */ 0x04, 0x00, 0x00, 0x00,
    /* 64 instance 0 */ 0xD0, 0xD1, 0xD2, 0xD3, /* 68 pad */ 0x00, 0x00, 0x00, 0x00,
    /* 72 instance 1 */ 0xE0, 0xE1, 0xE2, 0xE3,
    /* 76 name offset [0] = 84 */ 0x54, 0x00, 0x00, 0x00,
    /* 80 name offset [1] = 88 */ 0x58, 0x00, 0x00, 0x00,
    /* 84 name 0: count 2, "x" */ 0x02, 0x00, 0x78, 0x00,
    /* 88 name 1: count 4, "yz" */ 0x04, 0x00, 0x79, 0x00, 0x7A, 0x00,
};

static wmiev_status build_all_fixed_named(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  static const uint8_t d0[] = {0xD0, 0xD1, 0xD2, 0xD3};
  static const uint8_t d1[] = {0xE0, 0xE1, 0xE2, 0xE3};
  wmiev_wnode_header_params hdr = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance instances[2] = {by_name(name_x, 1, d0, sizeof d0),
                                       by_name(name_yz, 2, d1, sizeof d1)};
  return wmiev_wnode_build_all_data(buf, n, &hdr, instances, 2, WMIEV_ALL_DATA_AUTO, need, diag);
}

/* All data, VARIABLE asked for although both static instances have 2 bytes. */
static const uint8_t golden_all_variable_static[90] = {
    /*  0 BufferSize = 90 */ 0x5A, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = ALL_DATA 0x1 | STATIC_INSTANCE_NAMES 0x80 */ 0x81, 0x00, 0x00, 0x00,
    /* 48 DataBlockOffset = ALIGN8(60 + 16) = 80 */ 0x50, 0x00, 0x00, 0x00,
    /* 52 InstanceCount = 2 */ 0x02, 0x00, 0x00, 0x00,
    /* 56 OffsetInstanceNameOffsets = 0 */ 0x00, 0x00, 0x00, 0x00,
    /* 60 [0] = {80, 2} */ 0x50, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    /* 68 [1] = {88, 2} */ 0x58, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    /* 76 padding to 80 */ 0x00, 0x00, 0x00, 0x00,
    /* 80 instance 0 */ 0xF1, 0xF2, /* 82 pad */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 88 instance 1 */ 0xF3, 0xF4,
};

static wmiev_status build_all_variable_static(void *buf, size_t n, size_t *need,
                                              wmiev_diag *diag) {
  static const uint8_t d0[] = {0xF1, 0xF2};
  static const uint8_t d1[] = {0xF3, 0xF4};
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance instances[2] = {by_index(0, d0, 2), by_index(1, d1, 2)};
  return wmiev_wnode_build_all_data(buf, n, &hdr, instances, 2, WMIEV_ALL_DATA_VARIABLE, need,
                                    diag);
}

/* All data with no instances: the 64-byte fixed form whatever the layout asked. */
static const uint8_t golden_all_empty[64] = {
    /*  0 BufferSize = 64 */ 0x40, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = ALL_DATA 0x1 | FIXED_INSTANCE_SIZE 0x10 | STATIC_INSTANCE_NAMES 0x80 */
    0x91, 0x00, 0x00, 0x00,
    /* 48 DataBlockOffset = 64 */ 0x40, 0x00, 0x00, 0x00,
    /* 52 InstanceCount = 0 */ 0x00, 0x00, 0x00, 0x00,
    /* 56 OffsetInstanceNameOffsets = 0 */ 0x00, 0x00, 0x00, 0x00,
    /* 60 FixedInstanceSize = 0 */ 0x00, 0x00, 0x00, 0x00,
};

static wmiev_status build_all_empty_auto(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  wmiev_wnode_header_params hdr = golden_hdr(0);
  return wmiev_wnode_build_all_data(buf, n, &hdr, NULL, 0, WMIEV_ALL_DATA_AUTO, need, diag);
}

static wmiev_status build_all_empty_variable(void *buf, size_t n, size_t *need,
                                             wmiev_diag *diag) {
  wmiev_wnode_header_params hdr = golden_hdr(0);
  return wmiev_wnode_build_all_data(buf, n, &hdr, NULL, 0, WMIEV_ALL_DATA_VARIABLE, need, diag);
}

/* Event reference to static instance 4, severity 0x80, target block of 64 KiB. */
static const uint8_t golden_ref_index[72] = {
    /*  0 BufferSize = 72 */ 0x48, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = STATIC_INSTANCE_NAMES 0x80 | EVENT_REFERENCE 0x2000 | severity 0x80 << 24 */
    0x80, 0x20, 0x00, 0x80,
    /* 48 TargetGuid = Guid */ TARGET_GUID,
    /* 64 TargetDataBlockSize = 0x10000 */ 0x00, 0x00, 0x01, 0x00,
    /* 68 TargetInstanceIndex = 4 */ 0x04, 0x00, 0x00, 0x00,
};

static wmiev_status build_ref_index(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance target = by_index(4, NULL, 0x10000);
  return wmiev_wnode_build_event_reference(buf, n, &hdr, &target, 0x80, need, diag);
}

/* Event reference to instance "Dev0", severity 1: 68 + 2 + 8 = 78 bytes. */
static const uint8_t golden_ref_name[78] = {
    /*  0 BufferSize = 78 */ 0x4E, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = EVENT_REFERENCE 0x2000 | severity 0x01 << 24 */ 0x00, 0x20, 0x00, 0x01,
    /* 48 TargetGuid = Guid */ TARGET_GUID,
    /* 64 TargetDataBlockSize = 0x200 */ 0x00, 0x02, 0x00, 0x00,
    /* 68 name byte count = 8 */ 0x08, 0x00,
    /* 70 "Dev0" UTF-16LE */ 0x44, 0x00, 0x65, 0x00, 0x76, 0x00, 0x30, 0x00,
};

static wmiev_status build_ref_name(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance target = by_name(name_dev0, 4, NULL, 0x200);
  return wmiev_wnode_build_event_reference(buf, n, &hdr, &target, 0x01, need, diag);
}

/* Event reference with an empty name: never shorter than the 72-byte struct. */
static const uint8_t golden_ref_empty_name[72] = {
    /*  0 BufferSize = 72 */ 0x48, 0x00, 0x00, 0x00,
    HDR_MIDDLE,
    /* 44 Flags = EVENT_REFERENCE 0x2000 */ 0x00, 0x20, 0x00, 0x00,
    /* 48 TargetGuid = Guid */ TARGET_GUID,
    /* 64 TargetDataBlockSize = 8 */ 0x08, 0x00, 0x00, 0x00,
    /* 68 name byte count = 0 */ 0x00, 0x00, /* 70 padding to 72 */ 0x00, 0x00,
};

static wmiev_status build_ref_empty_name(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance target = by_name(NULL, 0, NULL, 8);
  return wmiev_wnode_build_event_reference(buf, n, &hdr, &target, 0, need, diag);
}

/* TOO_SMALL asking for 0x1234 bytes: only BufferSize, Flags and SizeNeeded are non-zero. */
static const uint8_t golden_too_small[56] = {
    /*  0 BufferSize = 56 */ 0x38, 0x00, 0x00, 0x00,
    /*  4 ProviderId */ 0x00, 0x00, 0x00, 0x00,
    /*  8 HistoricalContext */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 16 TimeStamp */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 24 Guid */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 40 ClientContext */ 0x00, 0x00, 0x00, 0x00,
    /* 44 Flags = TOO_SMALL 0x20 */ 0x20, 0x00, 0x00, 0x00,
    /* 48 SizeNeeded = 0x1234 */ 0x34, 0x12, 0x00, 0x00,
    /* 52 tail padding */ 0x00, 0x00, 0x00, 0x00,
};

static wmiev_status build_too_small(void *buf, size_t n, size_t *need, wmiev_diag *diag) {
  return wmiev_wnode_build_too_small(buf, n, 0x1234, need, diag);
}

#define GOLDEN_TEST(fn, golden)                                                                    \
  static void test_golden_##fn(void **state) {                                                     \
    (void)state;                                                                                   \
    run_golden(build_##fn, golden, sizeof golden);                                                 \
  }

GOLDEN_TEST(si_static, golden_si_static)
GOLDEN_TEST(si_dynamic, golden_si_dynamic)
GOLDEN_TEST(si_empty, golden_si_empty)
GOLDEN_TEST(item_static, golden_item_static)
GOLDEN_TEST(method_dynamic, golden_method_dynamic)
GOLDEN_TEST(all_fixed_auto, golden_all_fixed)
GOLDEN_TEST(all_fixed_forced, golden_all_fixed)
GOLDEN_TEST(all_variable_named, golden_all_variable_named)
GOLDEN_TEST(all_fixed_named, golden_all_fixed_named)
GOLDEN_TEST(all_variable_static, golden_all_variable_static)
GOLDEN_TEST(all_empty_auto, golden_all_empty)
GOLDEN_TEST(all_empty_variable, golden_all_empty)
GOLDEN_TEST(ref_index, golden_ref_index)
GOLDEN_TEST(ref_name, golden_ref_name)
GOLDEN_TEST(ref_empty_name, golden_ref_empty_name)
GOLDEN_TEST(too_small, golden_too_small)

/* ---- Behaviour beyond the goldens ----------------------------------------- */

/* Flags the caller may pass go through unchanged, next to the builder's own. */
static void test_extra_flags_pass_through(void **state) {
  (void)state;
  uint8_t buf[64];
  size_t need = 0;
  wmiev_wnode_header_params hdr =
      golden_hdr(WNODE_FLAG_PDO_INSTANCE_NAMES | WNODE_FLAG_USE_TIMESTAMP | WNODE_FLAG_EVENT_ITEM);
  wmiev_wnode_instance instance = by_index(0, NULL, 0);
  assert_int_equal(
      wmiev_wnode_build_single_instance(buf, sizeof buf, &hdr, &instance, &need, NULL),
      WMIEV_STATUS_SUCCESS);
  /* PDO_INSTANCE_NAMES 0x10000 | USE_TIMESTAMP 0x200 | STATIC_INSTANCE_NAMES 0x80
   * | EVENT_ITEM 0x8 | SINGLE_INSTANCE 0x2 */
  assert_int_equal(get_u32(buf, offsetof(WNODE_HEADER, Flags)), 0x0001028Au);
}

/* The header's "buf is NULL" case: too small whatever buf_size says. */
static void test_null_buffer_with_size(void **state) {
  (void)state;
  size_t need = 0;
  assert_int_equal(wmiev_wnode_build_too_small(NULL, 4096, 1, &need, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, 56);
}

/* A name of 32767 units (65534 bytes, the USHORT limit) is accepted. */
static uint16_t long_name[32768];

static void fill_long_name(void) {
  for (size_t i = 0; i < sizeof long_name / sizeof long_name[0]; i++) {
    long_name[i] = (uint16_t)('a' + i % 26);
  }
}

static void test_longest_name(void **state) {
  (void)state;
  fill_long_name();
  size_t need = 0;
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance instance = by_name(long_name, 32767, NULL, 0);

  /* 64 + 2 + 65534 = 65600, already 8-aligned. */
  assert_int_equal(wmiev_wnode_build_single_instance(NULL, 0, &hdr, &instance, &need, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, 65600);
  uint8_t *buf = malloc(need);
  assert_non_null(buf);
  assert_int_equal(wmiev_wnode_build_single_instance(buf, need, &hdr, &instance, &need, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(buf[64], 0xFE);
  assert_int_equal(buf[65], 0xFF);
  assert_memory_equal(buf + 66, long_name, 65534);
  assert_int_equal(get_u32(buf, offsetof(WNODE_SINGLE_INSTANCE, DataBlockOffset)), 65600);
  free(buf);

  /* Event reference: 68 + 2 + 65534. */
  assert_int_equal(wmiev_wnode_build_event_reference(NULL, 0, &hdr, &instance, 0, &need, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, 65604);
}

/*
 * Sizes up to exactly 4 GiB - 1 are accepted and reported (the NULL buffer
 * means no data is read); one byte more is INVALID_BUFFER_SIZE.
 */
static void test_largest_sizes(void **state) {
  (void)state;
  static const uint8_t small[4] = {1, 2, 3, 4};
  size_t need = 0;
  wmiev_wnode_header_params hdr = golden_hdr(0);

  wmiev_wnode_instance instance = by_index(0, small, UINT32_MAX - 64);
  assert_int_equal(wmiev_wnode_build_single_instance(NULL, 0, &hdr, &instance, &need, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, UINT32_MAX);

  /* Fixed layout with one named instance: data ends at 0xFFFFFFF0, offsets to
   * 0xFFFFFFF4, and "Dev0" (10 bytes) ends at 0xFFFFFFFE. */
  wmiev_wnode_instance named = by_name(name_dev0, 4, small, 0xFFFFFFB0u);
  assert_int_equal(wmiev_wnode_build_all_data(NULL, 0, &hdr, &named, 1, WMIEV_ALL_DATA_AUTO,
                                              &need, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, 0xFFFFFFFEu);
}

/* ---- Rejections ----------------------------------------------------------- */

/* Each builder with valid arguments except the header, for the checks every builder shares. */
typedef wmiev_status (*build_hdr_fn)(void *buf, size_t n, const wmiev_wnode_header_params *hdr,
                                     size_t *need, wmiev_diag *diag);

static const wmiev_wnode_instance valid_static = {false, NULL, 0, 3, NULL, 0};

static wmiev_status hdr_single_instance(void *buf, size_t n, const wmiev_wnode_header_params *hdr,
                                        size_t *need, wmiev_diag *diag) {
  return wmiev_wnode_build_single_instance(buf, n, hdr, &valid_static, need, diag);
}

static wmiev_status hdr_single_item(void *buf, size_t n, const wmiev_wnode_header_params *hdr,
                                    size_t *need, wmiev_diag *diag) {
  return wmiev_wnode_build_single_item(buf, n, hdr, &valid_static, 1, need, diag);
}

static wmiev_status hdr_method_item(void *buf, size_t n, const wmiev_wnode_header_params *hdr,
                                    size_t *need, wmiev_diag *diag) {
  return wmiev_wnode_build_method_item(buf, n, hdr, &valid_static, 1, need, diag);
}

static wmiev_status hdr_all_data(void *buf, size_t n, const wmiev_wnode_header_params *hdr,
                                 size_t *need, wmiev_diag *diag) {
  return wmiev_wnode_build_all_data(buf, n, hdr, &valid_static, 1, WMIEV_ALL_DATA_AUTO, need,
                                    diag);
}

static wmiev_status hdr_event_reference(void *buf, size_t n, const wmiev_wnode_header_params *hdr,
                                        size_t *need, wmiev_diag *diag) {
  return wmiev_wnode_build_event_reference(buf, n, hdr, &valid_static, 0, need, diag);
}

static const build_hdr_fn hdr_builders[] = {hdr_single_instance, hdr_single_item, hdr_method_item,
                                            hdr_all_data, hdr_event_reference};
#define HDR_BUILDER_COUNT (sizeof hdr_builders / sizeof hdr_builders[0])

static void test_reject_owned_flags(void **state) {
  (void)state;
  reject_ctx ctx;
  for (size_t b = 0; b < HDR_BUILDER_COUNT; b++) {
    /* The same arguments succeed without the bad bit, so the bit alone is rejected. */
    wmiev_wnode_header_params hdr = golden_hdr(0);
    reject_begin(&ctx);
    assert_int_equal(hdr_builders[b](ctx.buf, sizeof ctx.buf, &hdr, &ctx.need, &ctx.diag),
                     WMIEV_STATUS_SUCCESS);
    for (unsigned bit = 0; bit < 32; bit++) {
      uint32_t flag = 1u << bit;
      if ((flag & WMIEV_WNODE_BUILDER_OWNED_FLAGS) == 0) {
        continue;
      }
      hdr = golden_hdr(flag | WNODE_FLAG_USE_TIMESTAMP);
      reject_begin(&ctx);
      reject_check(&ctx, hdr_builders[b](ctx.buf, sizeof ctx.buf, &hdr, &ctx.need, &ctx.diag),
                   WMIEV_STATUS_INVALID_PARAMETER, "extra_flags", 0);
    }
  }
}

static void test_reject_event_item_on_method_and_reference(void **state) {
  (void)state;
  reject_ctx ctx;
  wmiev_wnode_header_params hdr = golden_hdr(WNODE_FLAG_EVENT_ITEM);
  reject_begin(&ctx);
  reject_check(&ctx, hdr_method_item(ctx.buf, sizeof ctx.buf, &hdr, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "extra_flags", 0);
  reject_begin(&ctx);
  reject_check(&ctx, hdr_event_reference(ctx.buf, sizeof ctx.buf, &hdr, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "extra_flags", 0);
  /* The other three accept it: that is how an event is marked. */
  for (size_t b = 0; b < HDR_BUILDER_COUNT; b++) {
    if (hdr_builders[b] == hdr_method_item || hdr_builders[b] == hdr_event_reference) {
      continue;
    }
    reject_begin(&ctx);
    assert_int_equal(hdr_builders[b](ctx.buf, sizeof ctx.buf, &hdr, &ctx.need, &ctx.diag),
                     WMIEV_STATUS_SUCCESS);
  }
}

static void test_reject_null_arguments(void **state) {
  (void)state;
  reject_ctx ctx;
  wmiev_wnode_header_params hdr = golden_hdr(0);
  for (size_t b = 0; b < HDR_BUILDER_COUNT; b++) {
    reject_begin(&ctx);
    reject_check(&ctx, hdr_builders[b](ctx.buf, sizeof ctx.buf, NULL, &ctx.need, &ctx.diag),
                 WMIEV_STATUS_INVALID_PARAMETER, "hdr", 0);
    reject_begin(&ctx);
    assert_int_equal(hdr_builders[b](ctx.buf, sizeof ctx.buf, &hdr, NULL, &ctx.diag),
                     WMIEV_STATUS_INVALID_PARAMETER);
    assert_string_equal(ctx.diag.field, "size_needed");
    expect_all(ctx.buf, SENTINEL, sizeof ctx.buf, "NULL size_needed: buffer written");
  }
  reject_begin(&ctx);
  assert_int_equal(wmiev_wnode_build_too_small(ctx.buf, sizeof ctx.buf, 1, NULL, &ctx.diag),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_string_equal(ctx.diag.field, "size_needed");
  expect_all(ctx.buf, SENTINEL, sizeof ctx.buf, "NULL size_needed: buffer written");

  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_instance(ctx.buf, sizeof ctx.buf, &hdr, NULL,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instance", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_item(ctx.buf, sizeof ctx.buf, &hdr, NULL, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instance", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_method_item(ctx.buf, sizeof ctx.buf, &hdr, NULL, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instance", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_event_reference(ctx.buf, sizeof ctx.buf, &hdr, NULL, 0,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "target", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, NULL, 2,
                                                WMIEV_ALL_DATA_AUTO, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instances", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, &valid_static, 1,
                                                (wmiev_all_data_layout)7, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "layout", 0);
}

/* A failing call with no diag still fails cleanly. */
static void test_reject_without_diag(void **state) {
  (void)state;
  size_t need = 7;
  wmiev_wnode_header_params hdr = golden_hdr(WNODE_FLAG_ALL_DATA);
  assert_int_equal(
      wmiev_wnode_build_single_instance(NULL, 0, &hdr, &valid_static, &need, NULL),
      WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(need, 7);
}

static void test_reject_null_data_with_size(void **state) {
  (void)state;
  reject_ctx ctx;
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance bad = by_index(0, NULL, 1);

  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_instance(ctx.buf, sizeof ctx.buf, &hdr, &bad,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instance.data", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_item(ctx.buf, sizeof ctx.buf, &hdr, &bad, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instance.data", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_method_item(ctx.buf, sizeof ctx.buf, &hdr, &bad, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instance.data", 0);

  /* In ALL_DATA the offending index is reported in diag.offset. */
  static const uint8_t d[4] = {0};
  wmiev_wnode_instance instances[3] = {by_index(0, d, 4), by_index(0, NULL, 4), by_index(0, d, 4)};
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, instances, 3,
                                                WMIEV_ALL_DATA_AUTO, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instances[].data", 1);
}

static void test_reject_null_name_with_units(void **state) {
  (void)state;
  reject_ctx ctx;
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance bad = by_name(NULL, 3, NULL, 0);

  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_instance(ctx.buf, sizeof ctx.buf, &hdr, &bad,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instance.name", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_item(ctx.buf, sizeof ctx.buf, &hdr, &bad, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instance.name", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_method_item(ctx.buf, sizeof ctx.buf, &hdr, &bad, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instance.name", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_event_reference(ctx.buf, sizeof ctx.buf, &hdr, &bad, 0,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "target.name", 0);

  wmiev_wnode_instance instances[3] = {by_name(name_a, 1, NULL, 0), by_name(name_bc, 2, NULL, 0),
                                       by_name(NULL, 1, NULL, 0)};
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, instances, 3,
                                                WMIEV_ALL_DATA_AUTO, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instances[].name", 2);
}

static void test_reject_reference_with_data(void **state) {
  (void)state;
  static const uint8_t d[4] = {0};
  reject_ctx ctx;
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance target = by_index(0, d, 4);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_event_reference(ctx.buf, sizeof ctx.buf, &hdr, &target, 0,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "target.data", 0);
}

static void test_reject_mixed_names(void **state) {
  (void)state;
  reject_ctx ctx;
  wmiev_wnode_header_params hdr = golden_hdr(0);

  wmiev_wnode_instance named_first[2] = {by_name(name_a, 1, NULL, 0), by_index(1, NULL, 0)};
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, named_first, 2,
                                                WMIEV_ALL_DATA_AUTO, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instances[].dynamic_name", 1);

  wmiev_wnode_instance static_first[3] = {by_index(0, NULL, 0), by_index(1, NULL, 0),
                                          by_name(name_a, 1, NULL, 0)};
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, static_first, 3,
                                                WMIEV_ALL_DATA_VARIABLE, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instances[].dynamic_name", 2);
}

static void test_reject_fixed_unequal_sizes(void **state) {
  (void)state;
  static const uint8_t d[8] = {0};
  reject_ctx ctx;
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance instances[3] = {by_index(0, d, 4), by_index(0, d, 4), by_index(0, d, 8)};
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, instances, 3,
                                                WMIEV_ALL_DATA_FIXED, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_PARAMETER, "instances[].size", 2);
}

static void test_reject_name_too_long(void **state) {
  (void)state;
  fill_long_name();
  reject_ctx ctx;
  wmiev_wnode_header_params hdr = golden_hdr(0);
  wmiev_wnode_instance bad = by_name(long_name, 32768, NULL, 0);

  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_instance(ctx.buf, sizeof ctx.buf, &hdr, &bad,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_NAME_TOO_LONG, "instance.name", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_item(ctx.buf, sizeof ctx.buf, &hdr, &bad, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_NAME_TOO_LONG, "instance.name", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_method_item(ctx.buf, sizeof ctx.buf, &hdr, &bad, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_NAME_TOO_LONG, "instance.name", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_event_reference(ctx.buf, sizeof ctx.buf, &hdr, &bad, 0,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_NAME_TOO_LONG, "target.name", 0);

  wmiev_wnode_instance instances[2] = {by_name(name_a, 1, NULL, 0), bad};
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, instances, 2,
                                                WMIEV_ALL_DATA_AUTO, &ctx.need, &ctx.diag),
               WMIEV_STATUS_NAME_TOO_LONG, "instances[].name", 1);

  /* A name_units so large that units * 2 would wrap must not slip through. */
  bad.name_units = SIZE_MAX / 2 + 2;
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_instance(ctx.buf, sizeof ctx.buf, &hdr, &bad,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_NAME_TOO_LONG, "instance.name", 0);
}

/*
 * Sizes that would push BufferSize past 4 GiB - 1. The data pointers point at
 * 4 bytes: the builder must fail on the arithmetic before it reads any data.
 */
static void test_reject_over_4gib(void **state) {
  (void)state;
  static const uint8_t small[4] = {1, 2, 3, 4};
  reject_ctx ctx;
  wmiev_wnode_header_params hdr = golden_hdr(0);

  wmiev_wnode_instance huge = by_index(0, small, 0xFFFFFFF0u);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_instance(ctx.buf, sizeof ctx.buf, &hdr, &huge,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_BUFFER_SIZE, "instance.size", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_item(ctx.buf, sizeof ctx.buf, &hdr, &huge, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_BUFFER_SIZE, "instance.size", 0);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_method_item(ctx.buf, sizeof ctx.buf, &hdr, &huge, 1,
                                                   &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_BUFFER_SIZE, "instance.size", 0);

  /* One byte past the limit: 64 + (4 GiB - 64) = 4 GiB. */
  huge.size = UINT32_MAX - 63;
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_instance(ctx.buf, sizeof ctx.buf, &hdr, &huge,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_BUFFER_SIZE, "instance.size", 0);

  /* A dynamic name moves the data: 64 + ALIGN8(2 + 8) + (4 GiB - 80) passes the limit too. */
  wmiev_wnode_instance named = by_name(name_dev0, 4, small, UINT32_MAX - 79);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_single_instance(ctx.buf, sizeof ctx.buf, &hdr, &named,
                                                       &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_BUFFER_SIZE, "instance.size", 0);

  /* ALL_DATA: two 2 GiB instances; the second one crosses the limit. */
  wmiev_wnode_instance two[2] = {by_index(0, small, 0x80000000u), by_index(1, small, 0x80000000u)};
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, two, 2,
                                                WMIEV_ALL_DATA_AUTO, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_BUFFER_SIZE, "instances[].size", 1);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, two, 2,
                                                WMIEV_ALL_DATA_VARIABLE, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_BUFFER_SIZE, "instances[].size", 1);

  /* ALL_DATA: the data fits (ends at 0xFFFFFFF0) but the names do not: the offset
   * array ends at 0xFFFFFFF4 and an 18-byte counted name passes 4 GiB. */
  static const uint16_t eight[8] = {'D', 'e', 'v', '0', 'D', 'e', 'v', '0'};
  wmiev_wnode_instance late = by_name(eight, 8, small, 0xFFFFFFB0u);
  reject_begin(&ctx);
  reject_check(&ctx, wmiev_wnode_build_all_data(ctx.buf, sizeof ctx.buf, &hdr, &late, 1,
                                                WMIEV_ALL_DATA_AUTO, &ctx.need, &ctx.diag),
               WMIEV_STATUS_INVALID_BUFFER_SIZE, "instances[].name", 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden_si_static),
      cmocka_unit_test(test_golden_si_dynamic),
      cmocka_unit_test(test_golden_si_empty),
      cmocka_unit_test(test_golden_item_static),
      cmocka_unit_test(test_golden_method_dynamic),
      cmocka_unit_test(test_golden_all_fixed_auto),
      cmocka_unit_test(test_golden_all_fixed_forced),
      cmocka_unit_test(test_golden_all_variable_named),
      cmocka_unit_test(test_golden_all_fixed_named),
      cmocka_unit_test(test_golden_all_variable_static),
      cmocka_unit_test(test_golden_all_empty_auto),
      cmocka_unit_test(test_golden_all_empty_variable),
      cmocka_unit_test(test_golden_ref_index),
      cmocka_unit_test(test_golden_ref_name),
      cmocka_unit_test(test_golden_ref_empty_name),
      cmocka_unit_test(test_golden_too_small),
      cmocka_unit_test(test_extra_flags_pass_through),
      cmocka_unit_test(test_null_buffer_with_size),
      cmocka_unit_test(test_longest_name),
      cmocka_unit_test(test_largest_sizes),
      cmocka_unit_test(test_reject_owned_flags),
      cmocka_unit_test(test_reject_event_item_on_method_and_reference),
      cmocka_unit_test(test_reject_null_arguments),
      cmocka_unit_test(test_reject_without_diag),
      cmocka_unit_test(test_reject_null_data_with_size),
      cmocka_unit_test(test_reject_null_name_with_units),
      cmocka_unit_test(test_reject_reference_with_data),
      cmocka_unit_test(test_reject_mixed_names),
      cmocka_unit_test(test_reject_fixed_unequal_sizes),
      cmocka_unit_test(test_reject_name_too_long),
      cmocka_unit_test(test_reject_over_4gib),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
