/* Counted UTF-16 instance names and UTF-16LE <-> UTF-8 conversion (include/wmiev/name.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <wmiev/wmiev.h>

#define CHECK(label, cond)                                                                         \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fail_msg("%s: check failed: %s", (label), #cond);                                            \
    }                                                                                              \
  } while (0)

#define STATUS_EQ(label, got, want)                                                                \
  do {                                                                                             \
    wmiev_status got_ = (got);                                                                     \
    wmiev_status want_ = (want);                                                                   \
    if (got_ != want_) {                                                                           \
      fail_msg("%s: got %s, expected %s", (label), wmiev_status_name(got_),                        \
               wmiev_status_name(want_));                                                          \
    }                                                                                              \
  } while (0)

/* Byte arrays written out by hand, with their size, usable in static tables. */
#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
#define UNITS(...)                                                                                 \
  (const uint16_t[]){__VA_ARGS__}, sizeof((const uint16_t[]){__VA_ARGS__}) / sizeof(uint16_t)

/*
 * Copies the input to the very end of a heap block, so ASan catches any read past it (even
 * for an empty input: the block is never empty), at an even address or, with `misalign`, an
 * odd one, so UBSan catches 16-bit loads from it. The caller frees *block.
 */
static const uint8_t *placed_copy(const void *src, size_t n, bool misalign, void **block) {
  size_t lead = misalign ? 1 : 2;
  uint8_t *p = malloc(lead + n);
  assert_non_null(p);
  *block = p;
  if (n > 0) {
    memcpy(p + lead, src, n);
  }
  return p + lead;
}

/* ---- UTF-16LE -> UTF-8 ------------------------------------------------------------------ */

typedef struct {
  const char *label;
  const uint8_t *in;
  size_t in_len;
  uint32_t flags;
  wmiev_status status;
  const uint8_t *out; /* expected UTF-8 on success; diag offset in `offset` otherwise */
  size_t out_len;
  uint32_t offset;
} decode_case;

#define OK(label, in, flags, out) {label, in, flags, WMIEV_STATUS_SUCCESS, out, 0}
#define BAD(label, in, flags, offset)                                                              \
  {label, in, flags, WMIEV_STATUS_INVALID_PARAMETER, (const uint8_t *)"", 0, offset}
#define NO_BYTES (const uint8_t *)"", 0

static const decode_case decode_cases[] = {
    OK("ASCII", BYTES(0x41, 0x00), 0, BYTES(0x41)),
    OK("ASCII word", BYTES('D', 0, 'i', 0, 's', 0, 'k', 0, '_', 0, '0', 0), 0,
       BYTES('D', 'i', 's', 'k', '_', '0')),
    OK("U+007F", BYTES(0x7F, 0x00), 0, BYTES(0x7F)),
    OK("U+0080 first 2-byte", BYTES(0x80, 0x00), 0, BYTES(0xC2, 0x80)),
    OK("U+00E9", BYTES(0xE9, 0x00), 0, BYTES(0xC3, 0xA9)),
    OK("U+07FF last 2-byte", BYTES(0xFF, 0x07), 0, BYTES(0xDF, 0xBF)),
    OK("U+0800 first 3-byte", BYTES(0x00, 0x08), 0, BYTES(0xE0, 0xA0, 0x80)),
    OK("U+20AC", BYTES(0xAC, 0x20), 0, BYTES(0xE2, 0x82, 0xAC)),
    OK("U+D7FF before surrogates", BYTES(0xFF, 0xD7), 0, BYTES(0xED, 0x9F, 0xBF)),
    OK("U+E000 after surrogates", BYTES(0x00, 0xE0), 0, BYTES(0xEE, 0x80, 0x80)),
    OK("U+FFFD itself", BYTES(0xFD, 0xFF), 0, BYTES(0xEF, 0xBF, 0xBD)),
    OK("U+FFFF last 3-byte", BYTES(0xFF, 0xFF), 0, BYTES(0xEF, 0xBF, 0xBF)),
    OK("U+10000 pair", BYTES(0x00, 0xD8, 0x00, 0xDC), 0, BYTES(0xF0, 0x90, 0x80, 0x80)),
    OK("U+1F600 pair", BYTES(0x3D, 0xD8, 0x00, 0xDE), 0, BYTES(0xF0, 0x9F, 0x98, 0x80)),
    OK("U+10FFFF pair", BYTES(0xFF, 0xDB, 0xFF, 0xDF), 0, BYTES(0xF4, 0x8F, 0xBF, 0xBF)),
    OK("mixed", BYTES(0x61, 0x00, 0xE9, 0x00, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE, 0x7A, 0x00), 0,
       BYTES(0x61, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0x7A)),
    OK("strict accepts a valid pair", BYTES(0x3D, 0xD8, 0x00, 0xDE), WMIEV_NAME_STRICT,
       BYTES(0xF0, 0x9F, 0x98, 0x80)),
    /* trailing NUL */
    OK("trailing NUL dropped", BYTES(0x41, 0x00, 0x00, 0x00), 0, BYTES(0x41)),
    OK("NUL only is empty", BYTES(0x00, 0x00), 0, NO_BYTES),
    OK("pair then trailing NUL", BYTES(0x3D, 0xD8, 0x00, 0xDE, 0x00, 0x00), 0,
       BYTES(0xF0, 0x9F, 0x98, 0x80)),
    BAD("two trailing NULs", BYTES(0x41, 0x00, 0x00, 0x00, 0x00, 0x00), 0, 2),
    BAD("embedded NUL", BYTES(0x41, 0x00, 0x00, 0x00, 0x42, 0x00), 0, 2),
    BAD("leading NUL", BYTES(0x00, 0x00, 0x41, 0x00), 0, 0),
    BAD("NUL NUL", BYTES(0x00, 0x00, 0x00, 0x00), 0, 0),
    /* unpaired surrogates: replaced... */
    OK("lone high at end", BYTES(0x41, 0x00, 0x3D, 0xD8), 0, BYTES(0x41, 0xEF, 0xBF, 0xBD)),
    OK("lone high before NUL", BYTES(0x3D, 0xD8, 0x00, 0x00), 0, BYTES(0xEF, 0xBF, 0xBD)),
    OK("lone high then ASCII", BYTES(0x3D, 0xD8, 0x41, 0x00), 0, BYTES(0xEF, 0xBF, 0xBD, 0x41)),
    OK("lone low", BYTES(0x00, 0xDE, 0x41, 0x00), 0, BYTES(0xEF, 0xBF, 0xBD, 0x41)),
    OK("reversed pair", BYTES(0x00, 0xDE, 0x3D, 0xD8), 0,
       BYTES(0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD)),
    OK("high high low", BYTES(0x3D, 0xD8, 0x3D, 0xD8, 0x00, 0xDE), 0,
       BYTES(0xEF, 0xBF, 0xBD, 0xF0, 0x9F, 0x98, 0x80)),
    OK("lone DBFF and DC00", BYTES(0xFF, 0xDB, 0x41, 0x00, 0x00, 0xDC), 0,
       BYTES(0xEF, 0xBF, 0xBD, 0x41, 0xEF, 0xBF, 0xBD)),
    /* ...or rejected in strict mode at the byte offset of the unit */
    BAD("strict lone high at end", BYTES(0x41, 0x00, 0x3D, 0xD8), WMIEV_NAME_STRICT, 2),
    BAD("strict lone high before NUL", BYTES(0x3D, 0xD8, 0x00, 0x00), WMIEV_NAME_STRICT, 0),
    BAD("strict lone low", BYTES(0x41, 0x00, 0x42, 0x00, 0x00, 0xDC), WMIEV_NAME_STRICT, 4),
    BAD("strict high high low", BYTES(0x3D, 0xD8, 0x3D, 0xD8, 0x00, 0xDE), WMIEV_NAME_STRICT, 0),
    BAD("strict reversed pair", BYTES(0x41, 0x00, 0x00, 0xDE, 0x3D, 0xD8), WMIEV_NAME_STRICT, 2),
    /* odd byte counts */
    BAD("odd count", BYTES(0x41, 0x00, 0x42), 0, 2),
    BAD("one byte", BYTES(0x41), 0, 0),
    OK("odd count allowed", BYTES(0x41, 0x00, 0x42), WMIEV_NAME_ALLOW_ODD, BYTES(0x41)),
    OK("one byte allowed", BYTES(0x41), WMIEV_NAME_ALLOW_ODD, NO_BYTES),
    OK("odd after trailing NUL", BYTES(0x41, 0x00, 0x00, 0x00, 0x7F), WMIEV_NAME_ALLOW_ODD,
       BYTES(0x41)),
    BAD("odd and strict", BYTES(0x3D, 0xD8, 0x41), WMIEV_NAME_STRICT, 2),
    BAD("odd allowed, then strict", BYTES(0x3D, 0xD8, 0x41),
        WMIEV_NAME_STRICT | WMIEV_NAME_ALLOW_ODD, 0),
    /* flags */
    OK("ADD_NUL is accepted and means nothing here", BYTES(0x41, 0x00), WMIEV_NAME_ADD_NUL,
       BYTES(0x41)),
    BAD("unknown flag 0x8", BYTES(0x41, 0x00), 0x8u, 0),
    BAD("unknown flag bit 31", BYTES(0x41, 0x00), 0x80000000u, 0),
};

/* Runs one decode case with the input at an aligned or an odd address. */
static void run_decode_case(const decode_case *c, bool misalign) {
  void *block;
  const uint8_t *in = placed_copy(c->in, c->in_len, misalign, &block);
  char out[64];
  memset(out, '#', sizeof out);
  size_t out_len = 12345;
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  wmiev_status st = wmiev_name_utf16_to_utf8(in, c->in_len, c->flags, out, sizeof out, &out_len,
                                             &diag);
  free(block);
  STATUS_EQ(c->label, st, c->status);
  if (c->status == WMIEV_STATUS_SUCCESS) {
    if (out_len != c->out_len || memcmp(out, c->out, c->out_len) != 0) {
      fail_msg("%s: wrong UTF-8 (length %zu, expected %zu)", c->label, out_len, c->out_len);
    }
    CHECK(c->label, out[out_len] == '\0');
    CHECK(c->label, out[out_len + 1] == '#');
  } else {
    CHECK(c->label, diag.status == c->status);
    CHECK(c->label, diag.field != NULL && strcmp(diag.field, "instance name") == 0);
    if (diag.offset != c->offset) {
      fail_msg("%s: diag offset %u, expected %u (%s)", c->label, (unsigned)diag.offset,
               (unsigned)c->offset, diag.message);
    }
    CHECK(c->label, out_len == 12345);
    CHECK(c->label, out[0] == '#');
  }
}

static void decode_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof decode_cases / sizeof decode_cases[0]; i++) {
    run_decode_case(&decode_cases[i], false);
  }
}

static void decode_table_unaligned(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof decode_cases / sizeof decode_cases[0]; i++) {
    run_decode_case(&decode_cases[i], true);
  }
}

static void decode_empty_and_null(void **state) {
  (void)state;
  char out[4] = "###";
  size_t len = 99;
  assert_int_equal(wmiev_name_utf16_to_utf8("", 0, 0, out, sizeof out, &len, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(len, 0);
  assert_int_equal(out[0], '\0');
  /* An empty UNICODE_STRING has Buffer NULL and Length 0. */
  memcpy(out, "###", 4);
  len = 99;
  assert_int_equal(wmiev_name_utf16_to_utf8(NULL, 0, 0, out, sizeof out, &len, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(len, 0);
  assert_int_equal(out[0], '\0');

  wmiev_diag diag;
  assert_int_equal(wmiev_name_utf16_to_utf8(NULL, 2, 0, out, sizeof out, &len, &diag),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(diag.status, WMIEV_STATUS_INVALID_PARAMETER);
  static const uint8_t a[] = {0x41, 0x00};
  assert_int_equal(wmiev_name_utf16_to_utf8(a, 2, 0, out, sizeof out, NULL, &diag),
                   WMIEV_STATUS_INVALID_PARAMETER);
}

static void decode_two_call_pattern(void **state) {
  (void)state;
  /* "A€😀": 1 + 3 + 4 = 8 UTF-8 bytes, then the NUL. */
  static const uint8_t in[] = {0x41, 0x00, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE, 0x00, 0x00};
  static const uint8_t want[] = {0x41, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0x00};
  size_t len = 0;
  wmiev_diag diag;
  assert_int_equal(wmiev_name_utf16_to_utf8(in, sizeof in, 0, NULL, 0, &len, &diag),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(len, 8);
  assert_int_equal(diag.status, WMIEV_STATUS_BUFFER_TOO_SMALL);
  /* NULL is a size query whatever out_size says. */
  len = 0;
  assert_int_equal(wmiev_name_utf16_to_utf8(in, sizeof in, 0, NULL, 100, &len, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(len, 8);

  /* 8 bytes leave no room for the NUL: still too small, and nothing written. */
  char out[16];
  memset(out, '#', sizeof out);
  len = 0;
  assert_int_equal(wmiev_name_utf16_to_utf8(in, sizeof in, 0, out, 8, &len, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(len, 8);
  for (size_t i = 0; i < sizeof out; i++) {
    assert_int_equal(out[i], '#');
  }
  len = 0;
  assert_int_equal(wmiev_name_utf16_to_utf8(in, sizeof in, 0, out, 9, &len, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(len, 8);
  assert_memory_equal(out, want, sizeof want);
  assert_int_equal(out[9], '#');

  /* Empty name: needs 0 + 1. */
  static const uint8_t nul_only[] = {0x00, 0x00};
  len = 99;
  assert_int_equal(wmiev_name_utf16_to_utf8(nul_only, 2, 0, NULL, 0, &len, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(len, 0);
  assert_int_equal(wmiev_name_utf16_to_utf8(nul_only, 2, 0, out, 0, &len, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(wmiev_name_utf16_to_utf8(nul_only, 2, 0, out, 1, &len, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(out[0], '\0');
}

static void decode_reports_malformed_before_size(void **state) {
  (void)state;
  /* A size query on malformed input reports the input, not the size. */
  static const uint8_t in[] = {0x41, 0x00, 0x00, 0x00, 0x42, 0x00};
  size_t len = 77;
  assert_int_equal(wmiev_name_utf16_to_utf8(in, sizeof in, 0, NULL, 0, &len, NULL),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(len, 77);
}

/* ---- UTF-8 -> UTF-16 -------------------------------------------------------------------- */

typedef struct {
  const char *label;
  const uint8_t *in;
  size_t in_len;
  uint32_t flags;
  const uint16_t *units;
  size_t units_len;
} encode_case;

static const encode_case encode_cases[] = {
    {"ASCII", BYTES('A'), 0, UNITS(0x0041)},
    {"U+007F", BYTES(0x7F), 0, UNITS(0x007F)},
    {"U+0080", BYTES(0xC2, 0x80), 0, UNITS(0x0080)},
    {"U+00E9", BYTES(0xC3, 0xA9), 0, UNITS(0x00E9)},
    {"U+07FF", BYTES(0xDF, 0xBF), 0, UNITS(0x07FF)},
    {"U+0800", BYTES(0xE0, 0xA0, 0x80), 0, UNITS(0x0800)},
    {"U+20AC", BYTES(0xE2, 0x82, 0xAC), 0, UNITS(0x20AC)},
    {"U+D7FF", BYTES(0xED, 0x9F, 0xBF), 0, UNITS(0xD7FF)},
    {"U+E000", BYTES(0xEE, 0x80, 0x80), 0, UNITS(0xE000)},
    {"U+FFFF", BYTES(0xEF, 0xBF, 0xBF), 0, UNITS(0xFFFF)},
    {"U+10000", BYTES(0xF0, 0x90, 0x80, 0x80), 0, UNITS(0xD800, 0xDC00)},
    {"U+1F600", BYTES(0xF0, 0x9F, 0x98, 0x80), 0, UNITS(0xD83D, 0xDE00)},
    {"U+10FFFF", BYTES(0xF4, 0x8F, 0xBF, 0xBF), 0, UNITS(0xDBFF, 0xDFFF)},
    {"mixed", BYTES(0x61, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0x7A), 0,
     UNITS(0x0061, 0x00E9, 0x20AC, 0xD83D, 0xDE00, 0x007A)},
    {"ADD_NUL", BYTES('A', 'B'), WMIEV_NAME_ADD_NUL, UNITS(0x0041, 0x0042, 0x0000)},
    {"STRICT and ALLOW_ODD accepted", BYTES('A'), WMIEV_NAME_STRICT | WMIEV_NAME_ALLOW_ODD,
     UNITS(0x0041)},
};

static void encode_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof encode_cases / sizeof encode_cases[0]; i++) {
    const encode_case *c = &encode_cases[i];
    void *block;
    const uint8_t *in = placed_copy(c->in, c->in_len, false, &block);
    uint16_t out[16];
    memset(out, 0xEE, sizeof out);
    size_t need = 0;
    wmiev_status st =
        wmiev_name_utf8_to_utf16((const char *)in, c->in_len, c->flags, out, 16, &need, NULL);
    STATUS_EQ(c->label, st, WMIEV_STATUS_SUCCESS);
    if (need != c->units_len || memcmp(out, c->units, need * 2) != 0) {
      fail_msg("%s: wrong units (%zu, expected %zu)", c->label, need, c->units_len);
    }
    CHECK(c->label, out[need] == 0xEEEE);

    /* And back: the name without any NUL. */
    char back[64];
    size_t back_len = 0;
    st = wmiev_name_utf16_to_utf8(out, need * 2, 0, back, sizeof back, &back_len, NULL);
    STATUS_EQ(c->label, st, WMIEV_STATUS_SUCCESS);
    CHECK(c->label, back_len == c->in_len && memcmp(back, in, c->in_len) == 0);
    free(block);
  }
}

static void encode_empty(void **state) {
  (void)state;
  uint16_t out[2] = {0xEEEE, 0xEEEE};
  size_t need = 99;
  assert_int_equal(wmiev_name_utf8_to_utf16("", 0, 0, out, 2, &need, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(need, 0);
  assert_int_equal(out[0], 0xEEEE);
  assert_int_equal(wmiev_name_utf8_to_utf16(NULL, 0, WMIEV_NAME_ADD_NUL, out, 2, &need, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(need, 1);
  assert_int_equal(out[0], 0x0000);
  assert_int_equal(out[1], 0xEEEE);

  assert_int_equal(wmiev_name_utf8_to_utf16(NULL, 1, 0, out, 2, &need, NULL),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_name_utf8_to_utf16("A", 1, 0, out, 2, NULL, NULL),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_name_utf8_to_utf16("A", 1, 0x8u, out, 2, &need, NULL),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_name_utf8_to_utf16("A", 1, 0x100u, out, 2, &need, NULL),
                   WMIEV_STATUS_INVALID_PARAMETER);
}

static void encode_two_call_pattern(void **state) {
  (void)state;
  static const char in[] = "A\xF0\x9F\x98\x80"; /* A + U+1F600: 3 units */
  size_t need = 0;
  wmiev_diag diag;
  assert_int_equal(wmiev_name_utf8_to_utf16(in, 5, 0, NULL, 0, &need, &diag),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, 3);
  assert_int_equal(diag.status, WMIEV_STATUS_BUFFER_TOO_SMALL);
  need = 0;
  assert_int_equal(wmiev_name_utf8_to_utf16(in, 5, WMIEV_NAME_ADD_NUL, NULL, 50, &need, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, 4);

  uint16_t out[6];
  memset(out, 0xEE, sizeof out);
  need = 0;
  /* Room for the pair's first half only: nothing written. */
  assert_int_equal(wmiev_name_utf8_to_utf16(in, 5, 0, out, 2, &need, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, 3);
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(out[i], 0xEEEE);
  }
  assert_int_equal(wmiev_name_utf8_to_utf16(in, 5, WMIEV_NAME_ADD_NUL, out, 3, &need, NULL),
                   WMIEV_STATUS_BUFFER_TOO_SMALL);
  assert_int_equal(need, 4);
  assert_int_equal(out[0], 0xEEEE);

  need = 0;
  assert_int_equal(wmiev_name_utf8_to_utf16(in, 5, 0, out, 3, &need, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(need, 3);
  static const uint16_t want[] = {0x0041, 0xD83D, 0xDE00};
  assert_memory_equal(out, want, sizeof want);
  assert_int_equal(out[3], 0xEEEE);
  assert_int_equal(wmiev_name_utf8_to_utf16(in, 5, WMIEV_NAME_ADD_NUL, out, 4, &need, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(need, 4);
  assert_int_equal(out[3], 0x0000);
  assert_int_equal(out[4], 0xEEEE);
}

typedef struct {
  const char *label;
  const uint8_t *in;
  size_t in_len;
  uint32_t offset;
  const char *message_part;
} bad_utf8;

static const bad_utf8 bad_utf8_cases[] = {
    {"lone continuation", BYTES(0x80), 0, "lead byte 0x80"},
    {"continuation after ASCII", BYTES(0x41, 0xBF), 1, "lead byte 0xBF"},
    {"C0 lead", BYTES(0xC0, 0x80), 0, "lead byte 0xC0"},
    {"C1 lead", BYTES(0x41, 0xC1, 0xBF), 1, "lead byte 0xC1"},
    {"F5 lead", BYTES(0xF5, 0x80, 0x80, 0x80), 0, "lead byte 0xF5"},
    {"F7 lead", BYTES(0xF7, 0xBF, 0xBF, 0xBF), 0, "lead byte 0xF7"},
    {"FE", BYTES(0xFE), 0, "lead byte 0xFE"},
    {"FF", BYTES(0x41, 0x42, 0xFF), 2, "lead byte 0xFF"},
    {"truncated 2-byte", BYTES(0xC3), 0, "truncated 2-byte"},
    {"truncated 3-byte", BYTES(0x41, 0xE2, 0x82), 1, "truncated 3-byte"},
    {"truncated 4-byte", BYTES(0x41, 0xF0, 0x9F, 0x98), 1, "truncated 4-byte"},
    {"bad 2nd byte", BYTES(0xC3, 0x41), 1, "continuation byte at index 1"},
    {"lead as 2nd byte", BYTES(0xC3, 0xC3, 0xA9), 1, "got 0xC3"},
    {"bad 2nd of 3", BYTES(0xE2, 0x28, 0xA1), 1, "got 0x28"},
    {"bad 3rd of 3", BYTES(0xE2, 0x82, 0x28), 2, "index 2"},
    {"bad 4th of 4", BYTES(0xF0, 0x9F, 0x98, 0x41), 3, "index 3"},
    {"NUL as continuation", BYTES(0xE2, 0x82, 0x00), 2, "got 0x00"},
    {"overlong NUL 3-byte", BYTES(0xE0, 0x80, 0x80), 0, "overlong"},
    {"overlong U+07FF", BYTES(0xE0, 0x9F, 0xBF), 0, "overlong 3-byte UTF-8 encoding of U+07FF"},
    {"overlong 4-byte", BYTES(0xF0, 0x80, 0x80, 0x80), 0, "overlong"},
    {"overlong U+FFFF", BYTES(0x41, 0xF0, 0x8F, 0xBF, 0xBF), 1, "U+FFFF"},
    {"surrogate D800", BYTES(0xED, 0xA0, 0x80), 0, "surrogate U+D800"},
    {"surrogate DFFF", BYTES(0xED, 0xBF, 0xBF), 0, "surrogate U+DFFF"},
    {"surrogate after ASCII", BYTES(0x41, 0xED, 0xB0, 0x80), 1, "surrogate U+DC00"},
    {"CESU-8 pair", BYTES(0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80), 0, "surrogate"},
    {"above U+10FFFF", BYTES(0xF4, 0x90, 0x80, 0x80), 0, "U+110000 above U+10FFFF"},
    {"NUL byte", BYTES(0x00), 0, "NUL byte at index 0"},
    {"embedded NUL", BYTES(0x41, 0x00, 0x42), 1, "NUL"},
    {"trailing NUL", BYTES(0x41, 0x42, 0x00), 2, "NUL"},
    {"first error wins", BYTES(0x41, 0xC3, 0x41, 0x80), 2, "continuation"},
};

static void encode_rejects_malformed(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_utf8_cases / sizeof bad_utf8_cases[0]; i++) {
    const bad_utf8 *c = &bad_utf8_cases[i];
    void *block;
    const uint8_t *in = placed_copy(c->in, c->in_len, false, &block);
    uint16_t out[8];
    memset(out, 0xEE, sizeof out);
    size_t need = 4321;
    wmiev_diag diag;
    memset(&diag, 0, sizeof diag);
    wmiev_status st =
        wmiev_name_utf8_to_utf16((const char *)in, c->in_len, 0, out, 8, &need, &diag);
    STATUS_EQ(c->label, st, WMIEV_STATUS_INVALID_PARAMETER);
    CHECK(c->label, diag.status == WMIEV_STATUS_INVALID_PARAMETER);
    CHECK(c->label, diag.field != NULL && strcmp(diag.field, "instance name") == 0);
    if (diag.offset != c->offset) {
      fail_msg("%s: diag offset %u, expected %u (%s)", c->label, (unsigned)diag.offset,
               (unsigned)c->offset, diag.message);
    }
    if (strstr(diag.message, c->message_part) == NULL) {
      fail_msg("%s: message \"%s\" lacks \"%s\"", c->label, diag.message, c->message_part);
    }
    CHECK(c->label, need == 4321);
    CHECK(c->label, out[0] == 0xEEEE);
    /* A size query sees the same error. */
    st = wmiev_name_utf8_to_utf16((const char *)in, c->in_len, 0, NULL, 0, &need, NULL);
    STATUS_EQ(c->label, st, WMIEV_STATUS_INVALID_PARAMETER);
    free(block);
  }
}

/* Builds n copies of the UTF-8 sequence `unit` followed by `tail`, in a fresh block. */
static char *repeat(const char *unit, size_t n, const char *tail, size_t *len) {
  size_t ul = strlen(unit);
  size_t tl = strlen(tail);
  *len = ul * n + tl;
  char *s = malloc(*len + 1);
  assert_non_null(s);
  for (size_t i = 0; i < n; i++) {
    memcpy(s + i * ul, unit, ul);
  }
  memcpy(s + ul * n, tail, tl);
  return s;
}

static void expect_length(const char *label, const char *s, size_t len, uint32_t flags,
                          wmiev_status want, size_t want_units, uint32_t want_offset) {
  size_t need = 0;
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  wmiev_status st = wmiev_name_utf8_to_utf16(s, len, flags, NULL, 0, &need, &diag);
  if (want == WMIEV_STATUS_SUCCESS) {
    /* Only the size is wrong: the query says BUFFER_TOO_SMALL with the count, then it fits. */
    STATUS_EQ(label, st, WMIEV_STATUS_BUFFER_TOO_SMALL);
    CHECK(label, need == want_units);
    uint16_t *out = malloc(need * sizeof *out);
    assert_non_null(out);
    st = wmiev_name_utf8_to_utf16(s, len, flags, out, need, &need, NULL);
    STATUS_EQ(label, st, WMIEV_STATUS_SUCCESS);
    CHECK(label, need == want_units);
    free(out);
    return;
  }
  STATUS_EQ(label, st, want);
  CHECK(label, diag.status == want);
  if (diag.offset != want_offset) {
    fail_msg("%s: diag offset %u, expected %u (%s)", label, (unsigned)diag.offset,
             (unsigned)want_offset, diag.message);
  }
  CHECK(label, need == 0);
}

static void encode_name_too_long_boundary(void **state) {
  (void)state;
  const wmiev_status ok = WMIEV_STATUS_SUCCESS;
  const wmiev_status too_long = WMIEV_STATUS_NAME_TOO_LONG;
  const uint32_t nul = WMIEV_NAME_ADD_NUL;
  size_t len;
  char *s;

  s = repeat("a", 32767, "", &len);
  expect_length("32767 units", s, len, 0, ok, 32767, 0);
  expect_length("32767 units + NUL", s, len, nul, too_long, 0, 32766);
  free(s);

  s = repeat("a", 32766, "", &len);
  expect_length("32766 units + NUL", s, len, nul, ok, 32767, 0);
  free(s);

  s = repeat("a", 32768, "", &len);
  expect_length("32768 units", s, len, 0, too_long, 0, 32767);
  free(s);

  /* The limit counts UTF-16 units, not UTF-8 bytes: 32767 three-byte characters fit. */
  s = repeat("\xE2\x82\xAC", 32767, "", &len);
  expect_length("32767 x U+20AC", s, len, 0, ok, 32767, 0);
  free(s);
  s = repeat("\xE2\x82\xAC", 32768, "", &len);
  expect_length("32768 x U+20AC", s, len, 0, too_long, 0, 3u * 32767u);
  free(s);

  /* A surrogate pair that would straddle the limit. */
  s = repeat("a", 32765, "\xF0\x9F\x98\x80", &len);
  expect_length("32765 + pair", s, len, 0, ok, 32767, 0);
  free(s);
  s = repeat("a", 32766, "\xF0\x9F\x98\x80", &len);
  expect_length("32766 + pair", s, len, 0, too_long, 0, 32766);
  free(s);

  /* Malformed input is reported even when the name is also too long. */
  s = repeat("a", 40000, "\x80", &len);
  expect_length("too long and malformed", s, len, 0, WMIEV_STATUS_INVALID_PARAMETER, 0, 40000);
  free(s);
}

static void max_name_round_trips_through_wire(void **state) {
  (void)state;
  /* The longest name, encoded, written as a counted string, located, decoded. */
  size_t len;
  char *s = repeat("\xC3\xA9", 32766, "z", &len);
  uint16_t *units = malloc(32767 * sizeof *units);
  assert_non_null(units);
  size_t n = 0;
  assert_int_equal(wmiev_name_utf8_to_utf16(s, len, 0, units, 32767, &n, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(n, 32767);
  uint8_t *wire = malloc(2 + 2 * n);
  assert_non_null(wire);
  assert_int_equal(wmiev_counted_string_write(wire, units, n), 2 + 2 * n);
  assert_int_equal(wire[0], 0xFE);
  assert_int_equal(wire[1], 0xFF);
  const uint8_t *chars = NULL;
  uint16_t count = 0;
  assert_int_equal(wmiev_counted_string_locate(wire, 2 + 2 * n, 0, 0, &chars, &count, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(count, WMIEV_NAME_MAX_BYTES);
  char *back = malloc(len + 1);
  assert_non_null(back);
  size_t back_len = 0;
  assert_int_equal(wmiev_name_utf16_to_utf8(chars, count, 0, back, len + 1, &back_len, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(back_len, len);
  assert_memory_equal(back, s, len);
  free(back);
  free(wire);
  free(units);
  free(s);
}

/* Independent reference: the UTF-8 and UTF-16 of one code point, by the textbook formulas. */
static size_t ref_utf8(uint32_t cp, uint8_t b[4]) {
  if (cp <= 0x7F) {
    b[0] = (uint8_t)cp;
    return 1;
  }
  if (cp <= 0x7FF) {
    b[0] = (uint8_t)(0xC0 + cp / 64);
    b[1] = (uint8_t)(0x80 + cp % 64);
    return 2;
  }
  if (cp <= 0xFFFF) {
    b[0] = (uint8_t)(0xE0 + cp / 4096);
    b[1] = (uint8_t)(0x80 + cp / 64 % 64);
    b[2] = (uint8_t)(0x80 + cp % 64);
    return 3;
  }
  b[0] = (uint8_t)(0xF0 + cp / 262144);
  b[1] = (uint8_t)(0x80 + cp / 4096 % 64);
  b[2] = (uint8_t)(0x80 + cp / 64 % 64);
  b[3] = (uint8_t)(0x80 + cp % 64);
  return 4;
}

static void every_code_point_round_trips(void **state) {
  (void)state;
  for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
    if (cp == 0xD800) {
      cp = 0xE000;
    }
    uint8_t u8[4];
    size_t n8 = ref_utf8(cp, u8);
    uint16_t want[2];
    size_t n16 = 1;
    if (cp >= 0x10000) {
      want[0] = (uint16_t)(0xD800 + (cp - 0x10000) / 1024);
      want[1] = (uint16_t)(0xDC00 + (cp - 0x10000) % 1024);
      n16 = 2;
    } else {
      want[0] = (uint16_t)cp;
    }
    uint16_t units[2] = {0, 0};
    size_t need = 0;
    wmiev_status st = wmiev_name_utf8_to_utf16((const char *)u8, n8, WMIEV_NAME_STRICT, units, 2,
                                               &need, NULL);
    if (st != WMIEV_STATUS_SUCCESS || need != n16 || memcmp(units, want, n16 * 2) != 0) {
      fail_msg("U+%04X: UTF-8 -> UTF-16 wrong (%s)", (unsigned)cp, wmiev_status_name(st));
    }
    uint8_t le[4];
    for (size_t i = 0; i < n16; i++) {
      le[2 * i] = (uint8_t)(want[i] & 0xFF);
      le[2 * i + 1] = (uint8_t)(want[i] >> 8);
    }
    char back[5];
    size_t back_len = 0;
    st = wmiev_name_utf16_to_utf8(le, n16 * 2, WMIEV_NAME_STRICT, back, sizeof back, &back_len,
                                  NULL);
    if (st != WMIEV_STATUS_SUCCESS || back_len != n8 || memcmp(back, u8, n8) != 0) {
      fail_msg("U+%04X: UTF-16 -> UTF-8 wrong (%s)", (unsigned)cp, wmiev_status_name(st));
    }
  }
}

static void every_lone_surrogate_is_replaced_or_rejected(void **state) {
  (void)state;
  for (uint32_t u = 0xD800; u <= 0xDFFF; u++) {
    uint8_t le[4] = {'x', 0, (uint8_t)(u & 0xFF), (uint8_t)(u >> 8)};
    char out[8];
    size_t len = 0;
    wmiev_status st = wmiev_name_utf16_to_utf8(le, 4, 0, out, sizeof out, &len, NULL);
    if (st != WMIEV_STATUS_SUCCESS || len != 4 || memcmp(out, "x\xEF\xBF\xBD", 5) != 0) {
      fail_msg("0x%04X not replaced by U+FFFD", (unsigned)u);
    }
    wmiev_diag diag;
    st = wmiev_name_utf16_to_utf8(le, 4, WMIEV_NAME_STRICT, out, sizeof out, &len, &diag);
    if (st != WMIEV_STATUS_INVALID_PARAMETER || diag.offset != 2) {
      fail_msg("0x%04X not rejected at byte 2 in strict mode", (unsigned)u);
    }
  }
}

/* ---- counted strings on the wire -------------------------------------------------------- */

typedef struct {
  const char *label;
  const uint8_t *buf;
  size_t size;
  size_t offset;
  uint32_t flags;
  wmiev_status status;
  size_t chars_at; /* on success: expected offset of the characters */
  uint16_t count;  /* on success */
  uint32_t diag_offset;
} locate_case;

static const locate_case locate_cases[] = {
    {"at 0", BYTES(0x04, 0x00, 'A', 0, 'B', 0), 0, 0, WMIEV_STATUS_SUCCESS, 2, 4, 0},
    {"at 2", BYTES(0xEE, 0xEE, 0x04, 0x00, 'A', 0, 'B', 0), 2, 0, WMIEV_STATUS_SUCCESS, 4, 4, 0},
    {"count 0 at the very end", BYTES(0xEE, 0xEE, 0x00, 0x00), 2, 0, WMIEV_STATUS_SUCCESS, 4, 0, 0},
    {"characters exactly fill", BYTES(0x02, 0x00, 'A', 0), 0, 0, WMIEV_STATUS_SUCCESS, 2, 2, 0},
    {"more bytes than needed", BYTES(0x02, 0x00, 'A', 0, 0xEE, 0xEE), 0, 0, WMIEV_STATUS_SUCCESS, 2,
     2, 0},
    {"odd offset", BYTES(0xEE, 0x02, 0x00, 'A', 0), 1, 0, WMIEV_STATUS_DATATYPE_MISALIGNMENT, 0, 0,
     1},
    {"odd offset past the end", BYTES(0x00, 0x00), 3, 0, WMIEV_STATUS_DATATYPE_MISALIGNMENT, 0, 0,
     3},
    {"offset == size", BYTES(0x00, 0x00), 2, 0, WMIEV_STATUS_INVALID_BUFFER_SIZE, 0, 0, 2},
    {"offset > size", BYTES(0x00, 0x00), 4, 0, WMIEV_STATUS_INVALID_BUFFER_SIZE, 0, 0, 4},
    {"length word straddles the end", BYTES(0x00, 0x00, 0x02), 2, 0,
     WMIEV_STATUS_INVALID_BUFFER_SIZE, 0, 0, 2},
    {"characters past the end", BYTES(0x06, 0x00, 'A', 0, 'B', 0), 0, 0,
     WMIEV_STATUS_INVALID_BUFFER_SIZE, 0, 0, 0},
    {"count 0xFFFE in a small buffer", BYTES(0xFE, 0xFF, 'A', 0), 0, 0,
     WMIEV_STATUS_INVALID_BUFFER_SIZE, 0, 0, 0},
    {"odd count", BYTES(0x03, 0x00, 'A', 0, 'B', 0), 0, 0, WMIEV_STATUS_INVALID_PARAMETER, 0, 0, 0},
    {"odd count allowed", BYTES(0x03, 0x00, 'A', 0, 'B', 0), 0, WMIEV_NAME_ALLOW_ODD,
     WMIEV_STATUS_SUCCESS, 2, 3, 0},
    {"odd count checked before the size", BYTES(0xEE, 0xEE, 0xFF, 0xFF), 2, 0,
     WMIEV_STATUS_INVALID_PARAMETER, 0, 0, 2},
    {"odd count allowed, past the end", BYTES(0xEE, 0xEE, 0xFF, 0xFF), 2, WMIEV_NAME_ALLOW_ODD,
     WMIEV_STATUS_INVALID_BUFFER_SIZE, 0, 0, 2},
    {"odd count allowed, one byte short", BYTES(0x03, 0x00, 'A', 0), 0, WMIEV_NAME_ALLOW_ODD,
     WMIEV_STATUS_INVALID_BUFFER_SIZE, 0, 0, 0},
};

static void run_locate_case(const locate_case *c, bool misalign) {
  void *block;
  const uint8_t *buf = placed_copy(c->buf, c->size, misalign, &block);
  const uint8_t *chars = (const uint8_t *)"untouched";
  const uint8_t *chars_before = chars;
  uint16_t count = 0xABCD;
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  wmiev_status st = wmiev_counted_string_locate(buf, c->size, c->offset, c->flags, &chars, &count,
                                                &diag);
  STATUS_EQ(c->label, st, c->status);
  if (st == WMIEV_STATUS_SUCCESS) {
    CHECK(c->label, chars == buf + c->chars_at);
    CHECK(c->label, count == c->count);
  } else {
    CHECK(c->label, chars == chars_before);
    CHECK(c->label, count == 0xABCD);
    CHECK(c->label, diag.status == c->status);
    if (diag.offset != c->diag_offset) {
      fail_msg("%s: diag offset %u, expected %u", c->label, (unsigned)diag.offset,
               (unsigned)c->diag_offset);
    }
  }
  free(block);
}

static void locate_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof locate_cases / sizeof locate_cases[0]; i++) {
    run_locate_case(&locate_cases[i], false);
    /* Offsets are relative: the buffer itself may sit at an odd address. */
    run_locate_case(&locate_cases[i], true);
  }
}

static void locate_huge_offsets_do_not_wrap(void **state) {
  (void)state;
  static const uint8_t buf[4] = {0x02, 0x00, 'A', 0};
  const uint8_t *chars = NULL;
  uint16_t count = 0;
  wmiev_diag diag;
  assert_int_equal(wmiev_counted_string_locate(buf, 4, SIZE_MAX, 0, &chars, &count, &diag),
                   WMIEV_STATUS_DATATYPE_MISALIGNMENT);
  /* Even offsets near SIZE_MAX: `offset + 2` would wrap to a small number. */
  assert_int_equal(wmiev_counted_string_locate(buf, 4, SIZE_MAX - 1, 0, &chars, &count, &diag),
                   WMIEV_STATUS_INVALID_BUFFER_SIZE);
  size_t big = SIZE_MAX - 1;
  uint32_t clamped = big >= UINT32_MAX ? UINT32_MAX : (uint32_t)big;
  assert_int_equal(diag.offset, clamped);
  assert_int_equal(wmiev_counted_string_locate(buf, 4, SIZE_MAX - 3, 0, &chars, &count, &diag),
                   WMIEV_STATUS_INVALID_BUFFER_SIZE);
  /* A huge claimed size with a real count: only the count decides how far is read. */
  assert_int_equal(wmiev_counted_string_locate(buf, SIZE_MAX, 0, 0, &chars, &count, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_ptr_equal(chars, buf + 2);
  assert_int_equal(count, 2);
}

static void locate_null_arguments(void **state) {
  (void)state;
  static const uint8_t buf[4] = {0x02, 0x00, 'A', 0};
  const uint8_t *chars = NULL;
  uint16_t count = 0;
  wmiev_diag diag;
  assert_int_equal(wmiev_counted_string_locate(NULL, 4, 0, 0, &chars, &count, &diag),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(diag.status, WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_counted_string_locate(buf, 4, 0, 0, NULL, &count, NULL),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_counted_string_locate(buf, 4, 0, 0, &chars, NULL, NULL),
                   WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_counted_string_locate(buf, 0, 0, 0, &chars, &count, NULL),
                   WMIEV_STATUS_INVALID_BUFFER_SIZE);
}

static void write_exact_bytes(void **state) {
  (void)state;
  static const uint16_t units[] = {0x0041, 0x20AC, 0xD83D, 0xDE00};
  static const uint8_t want[] = {0x08, 0x00, 0x41, 0x00, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE};
  uint8_t buf[16];
  memset(buf, 0xEE, sizeof buf);
  assert_int_equal(wmiev_counted_string_write(buf, units, 4), 10);
  assert_memory_equal(buf, want, sizeof want);
  assert_int_equal(buf[10], 0xEE);

  /* At an odd address, as inside a packed wire buffer under construction. */
  memset(buf, 0xEE, sizeof buf);
  assert_int_equal(wmiev_counted_string_write(buf + 1, units, 4), 10);
  assert_int_equal(buf[0], 0xEE);
  assert_memory_equal(buf + 1, want, sizeof want);
  assert_int_equal(buf[11], 0xEE);

  /* More units than a USHORT byte count can describe: nothing is written. */
  memset(buf, 0xEE, sizeof buf);
  assert_int_equal(wmiev_counted_string_write(buf, units, 32768), 0);
  assert_int_equal(buf[0], 0xEE);
  assert_int_equal(buf[1], 0xEE);

  /* Empty: just the zero count; no units needed. */
  memset(buf, 0xEE, sizeof buf);
  assert_int_equal(wmiev_counted_string_write(buf, NULL, 0), 2);
  assert_int_equal(buf[0], 0x00);
  assert_int_equal(buf[1], 0x00);
  assert_int_equal(buf[2], 0xEE);

  /* Count 0x0100 checks the byte order of the length word. */
  uint16_t many[128];
  for (size_t i = 0; i < 128; i++) {
    many[i] = (uint16_t)(0x0100 + i);
  }
  uint8_t big[2 + 256 + 1];
  big[258] = 0xEE;
  assert_int_equal(wmiev_counted_string_write(big, many, 128), 258);
  assert_int_equal(big[0], 0x00);
  assert_int_equal(big[1], 0x01);
  assert_int_equal(big[2], 0x00);
  assert_int_equal(big[3], 0x01);
  assert_int_equal(big[256], 0x7F);
  assert_int_equal(big[257], 0x01);
  assert_int_equal(big[258], 0xEE);
}

static void write_locate_decode_round_trip(void **state) {
  (void)state;
  static const char name[] = "Disk\xC3\xA9_\xE2\x82\xAC_\xF0\x9F\x98\x80";
  uint16_t units[32];
  size_t n = 0;
  assert_int_equal(wmiev_name_utf8_to_utf16(name, sizeof name - 1, WMIEV_NAME_ADD_NUL, units, 32,
                                            &n, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(n, 4 + 1 + 1 + 1 + 1 + 2 + 1);
  /* A WNODE-like buffer: the counted string at offset 6. */
  uint8_t wire[64];
  memset(wire, 0xEE, sizeof wire);
  size_t written = wmiev_counted_string_write(wire + 6, units, n);
  assert_int_equal(written, 2 + 2 * n);
  const uint8_t *chars;
  uint16_t count;
  assert_int_equal(wmiev_counted_string_locate(wire, 6 + written, 6, 0, &chars, &count, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(count, 2 * n);
  char out[32];
  size_t len = 0;
  /* The NUL the encoder added is counted, and the decoder drops it again. */
  assert_int_equal(wmiev_name_utf16_to_utf8(chars, count, 0, out, sizeof out, &len, NULL),
                   WMIEV_STATUS_SUCCESS);
  assert_int_equal(len, sizeof name - 1);
  assert_string_equal(out, name);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decode_table),
      cmocka_unit_test(decode_table_unaligned),
      cmocka_unit_test(decode_empty_and_null),
      cmocka_unit_test(decode_two_call_pattern),
      cmocka_unit_test(decode_reports_malformed_before_size),
      cmocka_unit_test(encode_table),
      cmocka_unit_test(encode_empty),
      cmocka_unit_test(encode_two_call_pattern),
      cmocka_unit_test(encode_rejects_malformed),
      cmocka_unit_test(encode_name_too_long_boundary),
      cmocka_unit_test(max_name_round_trips_through_wire),
      cmocka_unit_test(every_code_point_round_trips),
      cmocka_unit_test(every_lone_surrogate_is_replaced_or_rejected),
      cmocka_unit_test(locate_table),
      cmocka_unit_test(locate_huge_offsets_do_not_wrap),
      cmocka_unit_test(locate_null_arguments),
      cmocka_unit_test(write_exact_bytes),
      cmocka_unit_test(write_locate_decode_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
