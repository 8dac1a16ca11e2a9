/* GUID text parsing and formatting, ordering and hashing (include/wmiev/guid.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <wmiev/wmiev.h>

/* MSWmi_Guid-style example from the spec; every field written out by hand. */
static const char *const sample_braced = "{78ebc104-4cf9-11d2-ba4a-00a0c9062910}";
static const char *const sample_bare = "78ebc104-4cf9-11d2-ba4a-00a0c9062910";
static const char *const sample_formatted = "{78EBC104-4CF9-11D2-BA4A-00A0C9062910}";
static const GUID sample = {0x78ebc104u, 0x4cf9u, 0x11d2u,
                            {0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10}};

#define CHECK(label, cond)                                                                         \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fail_msg("%s: check failed: %s", (label), #cond);                                            \
    }                                                                                              \
  } while (0)

/*
 * Parses from a heap copy that ends exactly at `len`, so that under AddressSanitizer a read
 * past `len` is caught instead of landing on the string literal's NUL. The copy sits at the
 * end of a (len + 1)-byte block because ASan gives malloc(0) one usable byte.
 */
static wmiev_status parse_exact(const char *text, size_t len, GUID *out, wmiev_diag *diag) {
  char *block = malloc(len + 1);
  assert_non_null(block);
  memcpy(block + 1, text, len);
  wmiev_status st = wmiev_guid_parse(block + 1, len, out, diag);
  free(block);
  return st;
}

static void assert_guid_fields(const GUID *g, uint32_t d1, uint16_t d2, uint16_t d3,
                               const uint8_t d4[8]) {
  assert_int_equal(g->Data1, d1);
  assert_int_equal(g->Data2, d2);
  assert_int_equal(g->Data3, d3);
  assert_memory_equal(g->Data4, d4, 8);
}

static void parse_braced_lower_case(void **state) {
  (void)state;
  GUID g;
  memset(&g, 0xA5, sizeof g);
  wmiev_diag diag;
  memset(&diag, 0x5A, sizeof diag);
  wmiev_diag before = diag;
  assert_int_equal(parse_exact(sample_braced, 38, &g, &diag), WMIEV_STATUS_SUCCESS);
  static const uint8_t d4[8] = {0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10};
  assert_guid_fields(&g, 0x78ebc104u, 0x4cf9u, 0x11d2u, d4);
  /* diag.h: left untouched on success. */
  assert_memory_equal(&diag, &before, sizeof diag);
}

static void parse_bare_and_either_case(void **state) {
  (void)state;
  static const uint8_t d4[8] = {0xba, 0x4a, 0x00, 0xa0, 0xc9, 0x06, 0x29, 0x10};
  static const char *const forms[] = {
      "78ebc104-4cf9-11d2-ba4a-00a0c9062910",
      "78EBC104-4CF9-11D2-BA4A-00A0C9062910",
      "{78EBC104-4CF9-11D2-BA4A-00A0C9062910}",
      "{78eBc104-4Cf9-11D2-bA4a-00A0c9062910}",
  };
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    GUID g;
    memset(&g, 0, sizeof g);
    assert_int_equal(parse_exact(forms[i], strlen(forms[i]), &g, NULL), WMIEV_STATUS_SUCCESS);
    assert_guid_fields(&g, 0x78ebc104u, 0x4cf9u, 0x11d2u, d4);
  }
}

static void parse_extremes(void **state) {
  (void)state;
  GUID g;
  assert_int_equal(parse_exact("{00000000-0000-0000-0000-000000000000}", 38, &g, NULL),
                   WMIEV_STATUS_SUCCESS);
  static const uint8_t zero[8] = {0};
  assert_guid_fields(&g, 0, 0, 0, zero);

  assert_int_equal(parse_exact("ffffffff-FFFF-ffff-FFFF-ffffffffffff", 36, &g, NULL),
                   WMIEV_STATUS_SUCCESS);
  static const uint8_t ones[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  assert_guid_fields(&g, 0xffffffffu, 0xffffu, 0xffffu, ones);

  /* Every nibble position distinct, to catch swapped digits or fields. */
  assert_int_equal(parse_exact("{01234567-89ab-cdef-0123-456789abcdef}", 38, &g, NULL),
                   WMIEV_STATUS_SUCCESS);
  static const uint8_t seq[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  assert_guid_fields(&g, 0x01234567u, 0x89abu, 0xcdefu, seq);
}

static void parse_stops_at_len(void **state) {
  (void)state;
  /* A valid GUID followed by more text: only `len` characters count. */
  const char *text = "78ebc104-4cf9-11d2-ba4a-00a0c9062910 trailing junk";
  GUID g;
  assert_int_equal(wmiev_guid_parse(text, 36, &g, NULL), WMIEV_STATUS_SUCCESS);
  assert_true(wmiev_guid_equal(&g, &sample));
  const char *braced = "{78ebc104-4cf9-11d2-ba4a-00a0c9062910}xyz";
  assert_int_equal(wmiev_guid_parse(braced, 38, &g, NULL), WMIEV_STATUS_SUCCESS);
  assert_true(wmiev_guid_equal(&g, &sample));
}

typedef struct {
  const char *text;
  size_t len; /* 0 means strlen(text), except for the empty string */
  uint32_t offset;
  const char *message_part; /* substring the diag message must contain, or NULL */
} bad_guid;

static const bad_guid bad_guids[] = {
    {"", 0, 0, "length 0: expected 36 or 38 characters"},
    {"{", 0, 1, "length 1"},
    {"-", 0, 0, "expected hex digit or '{' at index 0, got '-'"},
    /* too short / too long, the rest fine: offset is the first missing or extra character */
    {"78ebc104-4cf9-11d2-ba4a-00a0c906291", 0, 35, "length 35: expected 36 or 38 characters"},
    {"78ebc104-4cf9-11d2-ba4a-00a0c90629100", 0, 36, "length 37"},
    {"{78ebc104-4cf9-11d2-ba4a-00a0c9062910", 0, 37, "length 37"},
    {"{78ebc104-4cf9-11d2-ba4a-00a0c9062910}}", 0, 38, "length 39"},
    {"{78ebc104-4cf9-11d2-ba4a-00a0c906291", 0, 36, "length 36"},
    {"78ebc104-4cf9-11d2-ba4a-00a0c9062910}", 0, 36, "length 37"},
    {"78ebc104-4cf9-11d2-ba4a-00a0c9062910 ", 0, 36, "length 37"},
    /* bad characters */
    {"g8ebc104-4cf9-11d2-ba4a-00a0c9062910", 0, 0, "expected hex digit or '{' at index 0, got 'g'"},
    {"{78ebc1g4-4cf9-11d2-ba4a-00a0c9062910}", 0, 7, "expected hex digit at index 7, got 'g'"},
    {"{78ebc104_4cf9-11d2-ba4a-00a0c9062910}", 0, 9, "expected '-' at index 9, got '_'"},
    {"{78ebc104-4cf9+11d2-ba4a-00a0c9062910}", 0, 14, "expected '-' at index 14"},
    {"{78ebc104-4cf9-11d2 ba4a-00a0c9062910}", 0, 19, "expected '-' at index 19, got ' '"},
    {"{78ebc104-4cf9-11d2-ba4a:00a0c9062910}", 0, 24, "expected '-' at index 24"},
    {"78ebc104-4cf9-11d2-ba4a_00a0c9062910", 0, 23, "expected '-' at index 23"},
    {"78ebc1044-cf9-11d2-ba4a-00a0c9062910", 0, 8, "expected '-' at index 8, got '4'"},
    {"78ebc10-44cf9-11d2-ba4a-00a0c9062910", 0, 7, "expected hex digit at index 7, got '-'"},
    {"{78ebc104-4cf9-11d2-ba4a-00a0c90629x0}", 0, 35, "got 'x'"},
    {"{78ebc104-4cf9-11d2-ba4a-00a0c9062910)", 0, 37, "expected '}' at index 37, got ')'"},
    {"(78ebc104-4cf9-11d2-ba4a-00a0c9062910)", 0, 0, "got '('"},
    {" 78ebc104-4cf9-11d2-ba4a-00a0c906291", 0, 0, "got ' '"},
    {"0x78ebc104-4cf9-11d2-ba4a-00a0c90629", 0, 1, "got 'x'"},
    {"{{8ebc104-4cf9-11d2-ba4a-00a0c9062910}", 0, 1, "got '{'"},
    {"78ebc104-4cf9-11d2-ba4a-00a0c90\x00" "2910", 36, 31, "got 0x00"},
    {"78ebc\xC3\xA9" "4-4cf9-11d2-ba4a-00a0c906291", 0, 5, "got 0xC3"},
    {"{78ebc104-4cf9-11d2-ba4a-00a0c9062910\x7f", 0, 37, "got 0x7F"},
    /* a bad character before the point where the length goes wrong is reported first */
    {"78ebc1z4-4cf9", 0, 6, "got 'z'"},
};

static void parse_rejects_malformed(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_guids / sizeof bad_guids[0]; i++) {
    const bad_guid *c = &bad_guids[i];
    size_t len = c->len != 0 ? c->len : strlen(c->text);
    GUID g;
    memset(&g, 0xA5, sizeof g);
    GUID untouched = g;
    wmiev_diag diag;
    memset(&diag, 0, sizeof diag);
    wmiev_status st = parse_exact(c->text, len, &g, &diag);
    CHECK(c->text, st == WMIEV_STATUS_INVALID_PARAMETER);
    CHECK(c->text, diag.status == WMIEV_STATUS_INVALID_PARAMETER);
    CHECK(c->text, diag.field != NULL && strcmp(diag.field, "GUID text") == 0);
    if (diag.offset != c->offset) {
      fail_msg("%s: diag offset %u, expected %u (%s)", c->text, (unsigned)diag.offset,
               (unsigned)c->offset, diag.message);
    }
    if (c->message_part != NULL && strstr(diag.message, c->message_part) == NULL) {
      fail_msg("%s: message \"%s\" lacks \"%s\"", c->text, diag.message, c->message_part);
    }
    CHECK(c->text, memcmp(&g, &untouched, sizeof g) == 0);
    /* Same answer without a diag. */
    CHECK(c->text, parse_exact(c->text, len, &g, NULL) == WMIEV_STATUS_INVALID_PARAMETER);
  }
}

static void parse_rejects_null_arguments(void **state) {
  (void)state;
  GUID g;
  memset(&g, 0xA5, sizeof g);
  GUID untouched = g;
  wmiev_diag diag;
  memset(&diag, 0, sizeof diag);
  assert_int_equal(wmiev_guid_parse(NULL, 38, &g, &diag), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(diag.status, WMIEV_STATUS_INVALID_PARAMETER);
  assert_string_equal(diag.field, "GUID text");
  assert_memory_equal(&g, &untouched, sizeof g);
  assert_int_equal(wmiev_guid_parse(NULL, 0, &g, NULL), WMIEV_STATUS_INVALID_PARAMETER);
  assert_int_equal(wmiev_guid_parse(sample_braced, 38, NULL, &diag),
                   WMIEV_STATUS_INVALID_PARAMETER);
}

static void format_exact_text(void **state) {
  (void)state;
  char buf[WMIEV_GUID_STRING_SIZE + 4];
  memset(buf, '#', sizeof buf);
  assert_int_equal(wmiev_guid_format(&sample, buf), 38);
  assert_string_equal(buf, sample_formatted);
  /* Exactly 39 bytes written, nothing after the NUL. */
  assert_int_equal(buf[38], '\0');
  assert_int_equal(buf[39], '#');

  static const struct {
    GUID g;
    const char *text;
  } cases[] = {
      {{0, 0, 0, {0}}, "{00000000-0000-0000-0000-000000000000}"},
      {{0xffffffffu, 0xffffu, 0xffffu, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
       "{FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF}"},
      {{0x01234567u, 0x89abu, 0xcdefu, {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}},
       "{01234567-89AB-CDEF-0123-456789ABCDEF}"},
      {{0x0000000au, 0x000bu, 0x00c0u, {0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e}},
       "{0000000A-000B-00C0-0D00-00000000000E}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[WMIEV_GUID_STRING_SIZE];
    assert_int_equal(wmiev_guid_format(&cases[i].g, out), 38);
    assert_string_equal(out, cases[i].text);
  }
}

static void format_null_guid_gives_empty_string(void **state) {
  (void)state;
  char out[WMIEV_GUID_STRING_SIZE];
  memset(out, '#', sizeof out);
  assert_int_equal(wmiev_guid_format(NULL, out), 0);
  assert_int_equal(out[0], '\0');
  assert_int_equal(wmiev_guid_format(&sample, NULL), 0);
}

static void round_trips(void **state) {
  (void)state;
  /* text -> GUID -> text -> GUID, over GUIDs that exercise every digit value. */
  uint32_t x = 0x9e3779b9u;
  for (int n = 0; n < 200; n++) {
    GUID g;
    uint8_t raw[16];
    for (size_t i = 0; i < 16; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      raw[i] = (uint8_t)x;
    }
    g.Data1 = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
    g.Data2 = (uint16_t)(raw[4] << 8 | raw[5]);
    g.Data3 = (uint16_t)(raw[6] << 8 | raw[7]);
    memcpy(g.Data4, raw + 8, 8);

    char text[WMIEV_GUID_STRING_SIZE];
    assert_int_equal(wmiev_guid_format(&g, text), 38);
    GUID back;
    assert_int_equal(parse_exact(text, 38, &back, NULL), WMIEV_STATUS_SUCCESS);
    assert_true(wmiev_guid_equal(&g, &back));
    assert_int_equal(wmiev_guid_compare(&g, &back), 0);
    /* Bare form: the same characters without the braces. */
    assert_int_equal(parse_exact(text + 1, 36, &back, NULL), WMIEV_STATUS_SUCCESS);
    assert_true(wmiev_guid_equal(&g, &back));
  }

  GUID g;
  assert_int_equal(parse_exact(sample_bare, 36, &g, NULL), WMIEV_STATUS_SUCCESS);
  char text[WMIEV_GUID_STRING_SIZE];
  wmiev_guid_format(&g, text);
  assert_string_equal(text, sample_formatted);
}

static int sign(int v) {
  return (v > 0) - (v < 0);
}

static void compare_is_a_field_order(void **state) {
  (void)state;
  /* Ascending. Pairs chosen so that comparing the raw little-endian bytes (memcmp) or
   * comparing signed values would give a different order. */
  static const GUID ordered[] = {
      {0x00000000u, 0x0000u, 0x0000u, {0, 0, 0, 0, 0, 0, 0, 0}},
      {0x00000000u, 0x0000u, 0x0000u, {0, 0, 0, 0, 0, 0, 0, 1}},
      {0x00000000u, 0x0000u, 0x0000u, {0, 0, 0, 0, 0, 0, 0, 0x7f}},
      {0x00000000u, 0x0000u, 0x0000u, {0, 0, 0, 0, 0, 0, 0, 0x80}},
      {0x00000000u, 0x0000u, 0x0000u, {1, 0, 0, 0, 0, 0, 0, 0}},
      {0x00000000u, 0x0000u, 0x00ffu, {0, 0, 0, 0, 0, 0, 0, 0}},
      {0x00000000u, 0x0000u, 0x0100u, {0, 0, 0, 0, 0, 0, 0, 0}},
      {0x00000000u, 0x00ffu, 0x0000u, {0, 0, 0, 0, 0, 0, 0, 0}},
      {0x00000000u, 0x0100u, 0x0000u, {0, 0, 0, 0, 0, 0, 0, 0}},
      {0x00000000u, 0xffffu, 0xffffu, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
      {0x000000ffu, 0x0000u, 0x0000u, {0, 0, 0, 0, 0, 0, 0, 0}},
      {0x00000100u, 0x0000u, 0x0000u, {0, 0, 0, 0, 0, 0, 0, 0}},
      {0x7fffffffu, 0xffffu, 0xffffu, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
      {0x80000000u, 0x0000u, 0x0000u, {0, 0, 0, 0, 0, 0, 0, 0}},
      {0xffffffffu, 0xffffu, 0xffffu, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
  };
  size_t n = sizeof ordered / sizeof ordered[0];
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < n; j++) {
      int expected = (i > j) - (i < j);
      int got = sign(wmiev_guid_compare(&ordered[i], &ordered[j]));
      if (got != expected) {
        fail_msg("compare(#%zu, #%zu) = %d, expected %d", i, j, got, expected);
      }
      assert_int_equal(wmiev_guid_equal(&ordered[i], &ordered[j]), i == j);
    }
  }
}

static void compare_and_equal_with_null(void **state) {
  (void)state;
  assert_int_equal(wmiev_guid_compare(NULL, NULL), 0);
  assert_true(wmiev_guid_compare(NULL, &sample) < 0);
  assert_true(wmiev_guid_compare(&sample, NULL) > 0);
  assert_false(wmiev_guid_equal(NULL, &sample));
  assert_false(wmiev_guid_equal(&sample, NULL));
  assert_false(wmiev_guid_equal(NULL, NULL));
  assert_true(wmiev_guid_equal(&sample, &sample));
}

/* Flips bit `bit` (0..127) of the GUID's text-order bytes. */
static GUID flip_bit(const GUID *g, unsigned bit) {
  GUID r = *g;
  unsigned byte = bit / 8;
  unsigned mask = 1u << (bit % 8);
  if (byte < 4) {
    r.Data1 ^= (uint32_t)mask << (8 * (3 - byte));
  } else if (byte < 6) {
    r.Data2 = (uint16_t)(r.Data2 ^ (mask << (8 * (5 - byte))));
  } else if (byte < 8) {
    r.Data3 = (uint16_t)(r.Data3 ^ (mask << (8 * (7 - byte))));
  } else {
    r.Data4[byte - 8] = (uint8_t)(r.Data4[byte - 8] ^ mask);
  }
  return r;
}

static unsigned popcount32(uint32_t v) {
  unsigned n = 0;
  for (; v != 0; v &= v - 1) {
    n++;
  }
  return n;
}

static void equal_detects_every_bit(void **state) {
  (void)state;
  for (unsigned bit = 0; bit < 128; bit++) {
    GUID near = flip_bit(&sample, bit);
    if (wmiev_guid_equal(&near, &sample) || wmiev_guid_compare(&near, &sample) == 0) {
      fail_msg("bit %u not seen by equal/compare", bit);
    }
  }
}

static void hash_is_pinned_and_stable(void **state) {
  (void)state;
  /* Pinned: the hash feeds on-disk/cross-host uses and must not change silently.
   * FNV-1a over the 16 wire bytes, then the murmur3 32-bit finaliser. */
  assert_int_equal(wmiev_guid_hash(&sample), 0xbc1a7d2bu);
  static const GUID zero = {0, 0, 0, {0}};
  assert_int_equal(wmiev_guid_hash(&zero), 0xc1da283bu);

  GUID copy;
  assert_int_equal(parse_exact(sample_braced, 38, &copy, NULL), WMIEV_STATUS_SUCCESS);
  assert_int_equal(wmiev_guid_hash(&copy), wmiev_guid_hash(&sample));
  assert_int_equal(wmiev_guid_hash(NULL), 0);
}

static void hash_separates_near_guids(void **state) {
  (void)state;
  uint32_t hashes[129];
  hashes[0] = wmiev_guid_hash(&sample);
  unsigned changed_bits = 0;
  for (unsigned bit = 0; bit < 128; bit++) {
    GUID near = flip_bit(&sample, bit);
    hashes[bit + 1] = wmiev_guid_hash(&near);
    changed_bits += popcount32(hashes[bit + 1] ^ hashes[0]);
  }
  for (size_t i = 0; i < 129; i++) {
    for (size_t j = i + 1; j < 129; j++) {
      if (hashes[i] == hashes[j]) {
        fail_msg("hash collision between near GUIDs #%zu and #%zu", i, j);
      }
    }
  }
  /* Well mixed: one input bit flips about half of the 32 output bits on average. */
  double mean = changed_bits / 128.0;
  if (mean < 14.0 || mean > 18.0) {
    fail_msg("mean output bits changed per input bit %.2f, expected about 16", mean);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_braced_lower_case),
      cmocka_unit_test(parse_bare_and_either_case),
      cmocka_unit_test(parse_extremes),
      cmocka_unit_test(parse_stops_at_len),
      cmocka_unit_test(parse_rejects_malformed),
      cmocka_unit_test(parse_rejects_null_arguments),
      cmocka_unit_test(format_exact_text),
      cmocka_unit_test(format_null_guid_gives_empty_string),
      cmocka_unit_test(round_trips),
      cmocka_unit_test(compare_is_a_field_order),
      cmocka_unit_test(compare_and_equal_with_null),
      cmocka_unit_test(equal_detects_every_bit),
      cmocka_unit_test(hash_is_pinned_and_stable),
      cmocka_unit_test(hash_separates_near_guids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
