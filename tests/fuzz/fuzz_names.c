/*
 * fuzz_names: the counted-name decoders, the UTF-8 encoder and the GUID text
 * codec (lib/core/counted_string.c, name.c, guid.c), each checked against a
 * small independent reference written here from the rules in
 * docs/decisions.md (D3 names, D4 GUID text) and the Unicode well-formed
 * UTF-8 table, not from the library's code.
 *
 * Input: the first byte picks the function (low 3 bits) and its flags (the
 * bits above); the rest is its argument, passed in an exact-size heap copy
 * at an odd address, so ASan sees any overread and nothing may assume
 * alignment.
 *
 * Properties:
 *  - counted_string_locate: status (and the order of its checks) exactly as
 *    documented; on success the pointer and count describe bytes inside the
 *    buffer; counted_string_write + locate round trips.
 *  - utf16 -> utf8: accepts exactly what the reference accepts, produces the
 *    reference's bytes (unpaired surrogates as U+FFFD), honours the
 *    two-call pattern without writing on failure, and the result encodes
 *    back to the same units.
 *  - utf8 -> utf16: accepts exactly well-formed UTF-8 without NUL within the
 *    length limit, produces the reference's units (+ NUL with ADD_NUL), a
 *    failure's diag offset lies in the offending sequence, and decoding the
 *    units again gives back the input bytes.
 *  - GUID text: parse accepts exactly the braced and bare forms, reports the
 *    documented index on failure, and parse/format round trip both ways.
 */
#include "fuzz_common.h"

enum {
  MODE_LOCATE,
  MODE_WRITE,
  MODE_UTF16_TO_UTF8,
  MODE_UTF8_TO_UTF16,
  MODE_GUID_PARSE,
  MODE_GUID_FORMAT,
  MODE_COUNT_
};

/* Sentinel for bytes a failing call must leave alone. */
#define UNTOUCHED 0xA5u

/* ---- References ---------------------------------------------------------------------------- */

/* Appends code point @p cp to @p out as UTF-8 (cp <= 0x10FFFF, not a surrogate). */
static size_t ref_put_utf8(uint8_t *out, uint32_t cp) {
  if (cp < 0x80u) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800u) {
    out[0] = (uint8_t)(0xC0u | (cp >> 6));
    out[1] = (uint8_t)(0x80u | (cp & 0x3Fu));
    return 2;
  }
  if (cp < 0x10000u) {
    out[0] = (uint8_t)(0xE0u | (cp >> 12));
    out[1] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
    out[2] = (uint8_t)(0x80u | (cp & 0x3Fu));
    return 3;
  }
  out[0] = (uint8_t)(0xF0u | (cp >> 18));
  out[1] = (uint8_t)(0x80u | ((cp >> 12) & 0x3Fu));
  out[2] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
  out[3] = (uint8_t)(0x80u | (cp & 0x3Fu));
  return 4;
}

/*
 * Well-formed UTF-8 per the Unicode Standard, Table 3-7, walked byte by
 * byte: for each lead byte, the allowed range of every following byte.
 * Returns true and the code points if @p s is well formed and NUL-free;
 * otherwise false with @p seq_start / @p bad_at: the start of the sequence
 * that broke and the first byte that cannot continue it (for a truncated
 * sequence, the end of the input).
 */
static bool ref_utf8(const uint8_t *s, size_t len, uint32_t *cps, size_t *count, size_t *seq_start,
                     size_t *bad_at) {
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    uint8_t b = s[i];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF; /* range of the first continuation byte */
    uint32_t cp;
    *seq_start = i;
    if (b == 0) {
      *bad_at = i;
      return false;
    } else if (b < 0x80) {
      need = 0;
      cp = b;
    } else if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
      cp = b & 0x1Fu;
    } else if (b == 0xE0) {
      need = 2, lo = 0xA0, cp = 0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      need = 2, cp = b & 0x0Fu;
    } else if (b == 0xED) {
      need = 2, hi = 0x9F, cp = 0x0D;
    } else if (b == 0xF0) {
      need = 3, lo = 0x90, cp = 0;
    } else if (b >= 0xF1 && b <= 0xF3) {
      need = 3, cp = b & 0x07u;
    } else if (b == 0xF4) {
      need = 3, hi = 0x8F, cp = 4;
    } else {
      *bad_at = i;
      return false;
    }
    for (size_t k = 1; k <= need; k++) {
      if (i + k >= len) {
        *bad_at = len;
        return false;
      }
      uint8_t c = s[i + k];
      uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
      if (c < l || c > h) {
        *bad_at = i + k;
        return false;
      }
      cp = (cp << 6) | (c & 0x3Fu);
    }
    cps[n++] = cp;
    i += need + 1;
  }
  *count = n;
  return true;
}

/* UTF-16 units of code points (surrogate pairs above U+FFFF). */
static size_t ref_units(const uint32_t *cps, size_t count, uint16_t *out) {
  size_t u = 0;
  for (size_t i = 0; i < count; i++) {
    if (cps[i] >= 0x10000u) {
      uint32_t v = cps[i] - 0x10000u;
      out[u++] = (uint16_t)(0xD800u | (v >> 10));
      out[u++] = (uint16_t)(0xDC00u | (v & 0x3FFu));
    } else {
      out[u++] = (uint16_t)cps[i];
    }
  }
  return u;
}

/* ---- Modes ---------------------------------------------------------------------------------- */

static void fuzz_locate(const uint8_t *buf, size_t size, uint32_t flags, size_t offset) {
  const uint8_t *chars = NULL;
  uint16_t count = 0;
  wmiev_diag diag;
  wmiev_status st = wmiev_counted_string_locate(buf, size, offset, flags, &chars, &count, &diag);
  /* The checks in their documented order. */
  wmiev_status want;
  uint16_t stored = 0;
  if (offset % 2 != 0) {
    want = WMIEV_STATUS_DATATYPE_MISALIGNMENT;
  } else if (offset > size || size - offset < 2) {
    want = WMIEV_STATUS_INVALID_BUFFER_SIZE;
  } else {
    memcpy(&stored, buf + offset, 2);
    if (stored % 2 != 0 && (flags & WMIEV_NAME_ALLOW_ODD) == 0) {
      want = WMIEV_STATUS_INVALID_PARAMETER;
    } else if (stored > size - offset - 2) {
      want = WMIEV_STATUS_INVALID_BUFFER_SIZE;
    } else {
      want = WMIEV_STATUS_SUCCESS;
    }
  }
  if (st != want) {
    fuzz_fail("counted_string_locate(size %zu, offset %zu, flags %u): %s, expected %s", size,
              offset, (unsigned)flags, wmiev_status_name(st), wmiev_status_name(want));
  }
  if (st == WMIEV_STATUS_SUCCESS) {
    FUZZ_CHECK(chars == buf + offset + 2);
    FUZZ_CHECK(count == stored);
  } else {
    FUZZ_CHECK(diag.status == st && diag.field != NULL && diag.message[0] != '\0');
  }
}

static void fuzz_write(const uint8_t *in, size_t size) {
  size_t units = size / 2;
  uint16_t *src = malloc(units == 0 ? 1 : units * 2);
  FUZZ_CHECK(src != NULL);
  memcpy(src, in, units * 2);
  size_t total = 2 + units * 2;
  uint8_t *dst = malloc(total);
  FUZZ_CHECK(dst != NULL);
  FUZZ_CHECK(wmiev_counted_string_write(dst, src, units) == total);
  const uint8_t *chars = NULL;
  uint16_t count = 0;
  FUZZ_CHECK(wmiev_counted_string_locate(dst, total, 0, 0, &chars, &count, NULL) ==
             WMIEV_STATUS_SUCCESS);
  FUZZ_CHECK(count == units * 2 && chars == dst + 2);
  FUZZ_CHECK(memcmp(chars, src, units * 2) == 0);
  free(dst);
  free(src);
}

static void fuzz_utf16_to_utf8(const uint8_t *in, size_t size, uint32_t flags) {
  /* Reference: the units, less a stray odd byte (ALLOW_ODD) and one trailing NUL. */
  bool odd_bad = size % 2 != 0 && (flags & WMIEV_NAME_ALLOW_ODD) == 0;
  size_t n = size / 2;
  if (n > 0 && in[2 * n - 2] == 0 && in[2 * n - 1] == 0) {
    n--;
  }
  uint32_t *cps = malloc((n + 1) * sizeof *cps);
  uint8_t *want = malloc(4 * n + 1);
  FUZZ_CHECK(cps != NULL && want != NULL);
  bool valid = !odd_bad;
  bool replaced = false;
  size_t count = 0, want_len = 0;
  for (size_t i = 0; valid && i < n; i++) {
    uint32_t u = (uint32_t)in[2 * i] | (uint32_t)in[2 * i + 1] << 8;
    if (u == 0) {
      valid = false; /* only a trailing NUL is allowed */
    } else if (u >= 0xD800u && u <= 0xDBFFu && i + 1 < n &&
               (((uint32_t)in[2 * i + 2] | (uint32_t)in[2 * i + 3] << 8) & 0xFC00u) == 0xDC00u) {
      uint32_t lo = (uint32_t)in[2 * i + 2] | (uint32_t)in[2 * i + 3] << 8;
      cps[count++] = 0x10000u + ((u - 0xD800u) << 10) + (lo - 0xDC00u);
      i++;
    } else if (u >= 0xD800u && u <= 0xDFFFu) {
      if ((flags & WMIEV_NAME_STRICT) != 0) {
        valid = false;
      }
      cps[count++] = 0xFFFDu;
      replaced = true;
    } else {
      cps[count++] = u;
    }
  }
  for (size_t i = 0; valid && i < count; i++) {
    want_len += ref_put_utf8(want + want_len, cps[i]);
  }

  size_t len = 12345;
  wmiev_diag diag;
  wmiev_status st = wmiev_name_utf16_to_utf8(in, size, flags, NULL, 0, &len, &diag);
  if (!valid) {
    FUZZ_CHECK(st == WMIEV_STATUS_INVALID_PARAMETER);
    FUZZ_CHECK(diag.status == st && diag.message[0] != '\0');
    FUZZ_CHECK(len == 12345); /* nothing reported on bad input */
    free(cps);
    free(want);
    return;
  }
  if (st != WMIEV_STATUS_BUFFER_TOO_SMALL) {
    fuzz_fail("size query of a valid name: %s (%s)", wmiev_status_name(st), diag.message);
  }
  FUZZ_CHECK(len == want_len);

  /* One byte short (no room for the NUL): refused, nothing written. */
  char *out = malloc(len + 1);
  FUZZ_CHECK(out != NULL);
  memset(out, UNTOUCHED, len + 1);
  size_t again = 0;
  FUZZ_CHECK(wmiev_name_utf16_to_utf8(in, size, flags, out, len, &again, NULL) ==
             WMIEV_STATUS_BUFFER_TOO_SMALL);
  FUZZ_CHECK(again == len);
  for (size_t i = 0; i < len + 1; i++) {
    FUZZ_CHECK((uint8_t)out[i] == UNTOUCHED);
  }
  FUZZ_CHECK(wmiev_name_utf16_to_utf8(in, size, flags, out, len + 1, &again, NULL) ==
             WMIEV_STATUS_SUCCESS);
  FUZZ_CHECK(again == len);
  FUZZ_CHECK(out[len] == '\0');
  FUZZ_CHECK(memcmp(out, want, len) == 0);

  /* Back to UTF-16: the same units, unpaired surrogates now U+FFFD. */
  size_t units = 0;
  uint16_t *back = malloc(2 * len + 2);
  uint16_t *want16 = malloc(2 * len + 2);
  FUZZ_CHECK(back != NULL && want16 != NULL);
  wmiev_status bst = wmiev_name_utf8_to_utf16(out, len, 0, back, len + 1, &units, &diag);
  if (bst != WMIEV_STATUS_SUCCESS) {
    fuzz_fail("the decoder's own UTF-8 does not encode back: %s (%s)", wmiev_status_name(bst),
              diag.message);
  }
  FUZZ_CHECK(units == ref_units(cps, count, want16));
  FUZZ_CHECK(units == 0 || memcmp(back, want16, units * 2) == 0);
  if (!replaced) {
    FUZZ_CHECK(units == n && (n == 0 || memcmp(back, in, 2 * n) == 0));
  }
  free(back);
  free(want16);
  free(out);
  free(cps);
  free(want);
}

static void fuzz_utf8_to_utf16(const uint8_t *in, size_t size, uint32_t flags) {
  uint32_t *cps = malloc((size + 1) * sizeof *cps);
  FUZZ_CHECK(cps != NULL);
  size_t count = 0, seq_start = 0, bad_at = 0;
  bool well_formed = ref_utf8(in, size, cps, &count, &seq_start, &bad_at);
  bool add_nul = (flags & WMIEV_NAME_ADD_NUL) != 0;
  uint16_t *want = malloc(2 * (2 * count + 1));
  FUZZ_CHECK(want != NULL);
  size_t want_units = well_formed ? ref_units(cps, count, want) : 0;
  if (add_nul) {
    want[want_units++] = 0;
  }

  size_t need = 12345;
  wmiev_diag diag;
  const char *text = (const char *)in;
  wmiev_status st = wmiev_name_utf8_to_utf16(text, size, flags, NULL, 0, &need, &diag);
  if (!well_formed) {
    if (st != WMIEV_STATUS_INVALID_PARAMETER) {
      fuzz_fail("ill-formed UTF-8 (byte %zu) gave %s", bad_at, wmiev_status_name(st));
    }
    /* The offset names the lead byte of the broken sequence or one of its
     * continuation bytes (the first non-continuation byte is reported even
     * where an earlier one already made the value overlong: name.c's rule). */
    size_t last = seq_start + 3 < size ? seq_start + 3 : size;
    if (diag.offset < seq_start || diag.offset > last) {
      fuzz_fail("diag offset %u outside the broken sequence at %zu (first bad byte %zu)",
                (unsigned)diag.offset, seq_start, bad_at);
    }
    FUZZ_CHECK(need == 12345);
    free(cps);
    free(want);
    return;
  }
  if (want_units * 2 > WMIEV_NAME_MAX_BYTES) {
    FUZZ_CHECK(st == WMIEV_STATUS_NAME_TOO_LONG);
    free(cps);
    free(want);
    return;
  }
  if (st != WMIEV_STATUS_BUFFER_TOO_SMALL) {
    fuzz_fail("size query of well-formed UTF-8: %s (%s)", wmiev_status_name(st), diag.message);
  }
  FUZZ_CHECK(need == want_units);

  uint16_t *out = malloc(2 * (need + 1));
  FUZZ_CHECK(out != NULL);
  if (need > 0) {
    memset(out, UNTOUCHED, 2 * need);
    size_t again = 0;
    FUZZ_CHECK(wmiev_name_utf8_to_utf16(text, size, flags, out, need - 1, &again, NULL) ==
               WMIEV_STATUS_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < 2 * need; i++) {
      FUZZ_CHECK(((uint8_t *)out)[i] == UNTOUCHED);
    }
  }
  size_t got = 0;
  FUZZ_CHECK(wmiev_name_utf8_to_utf16(text, size, flags, out, need, &got, NULL) ==
             WMIEV_STATUS_SUCCESS);
  FUZZ_CHECK(got == want_units);
  FUZZ_CHECK(got == 0 || memcmp(out, want, 2 * got) == 0);

  /* Decoding the units (strict: there are no lone surrogates) gives the input back. */
  char *back = malloc(size + 1);
  FUZZ_CHECK(back != NULL);
  size_t len = 0;
  wmiev_status bst =
      wmiev_name_utf16_to_utf8(out, 2 * got, WMIEV_NAME_STRICT, back, size + 1, &len, &diag);
  if (bst != WMIEV_STATUS_SUCCESS) {
    fuzz_fail("the encoder's own units do not decode: %s (%s)", wmiev_status_name(bst),
              diag.message);
  }
  FUZZ_CHECK(len == size && memcmp(back, in, size) == 0);
  free(back);
  free(out);
  free(want);
  free(cps);
}

static int hex_digit(uint8_t c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
    return (c | 0x20) - 'a' + 10;
  }
  return -1;
}

/* Registry form {8-4-4-4-12} or the bare 36 characters: where the text first
 * stops being a GUID (docs/decisions.md D4), or -1 if it is one. */
static long ref_guid_bad_index(const uint8_t *t, size_t len) {
  bool braced = len > 0 && t[0] == '{';
  size_t want = braced ? 38 : 36, first = braced ? 1 : 0;
  size_t scan = len < want ? len : want;
  for (size_t i = first; i < scan; i++) {
    size_t pos = i - first;
    bool ok;
    if (braced && i == 37) {
      ok = t[i] == '}';
    } else if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
      ok = t[i] == '-';
    } else {
      ok = hex_digit(t[i]) >= 0;
    }
    if (!ok) {
      return (long)i;
    }
  }
  return len == want ? -1 : (long)scan;
}

static void check_guid_text(const GUID *g, const char *text) {
  /* Upper-case hex, braces, dashes at 9, 14, 19, 24. */
  FUZZ_CHECK(strlen(text) == 38 && text[0] == '{' && text[37] == '}');
  for (size_t i = 1; i < 37; i++) {
    bool dash = i == 9 || i == 14 || i == 19 || i == 24;
    FUZZ_CHECK(dash ? text[i] == '-'
                    : ((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'A' && text[i] <= 'F')));
  }
  GUID back;
  FUZZ_CHECK(wmiev_guid_parse(text, 38, &back, NULL) == WMIEV_STATUS_SUCCESS);
  FUZZ_CHECK(wmiev_guid_equal(g, &back) && wmiev_guid_compare(g, &back) == 0);
  FUZZ_CHECK(wmiev_guid_hash(g) == wmiev_guid_hash(&back));
  FUZZ_CHECK(wmiev_guid_parse(text + 1, 36, &back, NULL) == WMIEV_STATUS_SUCCESS);
  FUZZ_CHECK(wmiev_guid_equal(g, &back));
}

static void fuzz_guid_parse(const uint8_t *in, size_t size) {
  GUID g;
  memset(&g, 0x5a, sizeof g);
  GUID untouched = g;
  wmiev_diag diag;
  wmiev_status st = wmiev_guid_parse((const char *)in, size, &g, &diag);
  long bad = ref_guid_bad_index(in, size);
  if (bad >= 0) {
    if (st != WMIEV_STATUS_INVALID_PARAMETER || diag.offset != (uint32_t)bad) {
      fuzz_fail("GUID text of %zu characters: %s at %u, expected INVALID_PARAMETER at %ld", size,
                wmiev_status_name(st), (unsigned)diag.offset, bad);
    }
    FUZZ_CHECK(memcmp(&g, &untouched, sizeof g) == 0);
    return;
  }
  FUZZ_CHECK(st == WMIEV_STATUS_SUCCESS);
  char text[WMIEV_GUID_STRING_SIZE];
  FUZZ_CHECK(wmiev_guid_format(&g, text) == 38);
  /* The formatted text is the input's digits, upper-cased, braced. */
  size_t first = in[0] == '{' ? 1 : 0;
  for (size_t i = 0; i < 36; i++) {
    uint8_t c = in[first + i];
    uint8_t upper = (uint8_t)(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
    FUZZ_CHECK((uint8_t)text[1 + i] == upper);
  }
  check_guid_text(&g, text);
}

static void fuzz_guid_format(const uint8_t *in, size_t size) {
  uint8_t raw[16] = {0};
  memcpy(raw, in, size < 16 ? size : 16);
  GUID g;
  g.Data1 =
      (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24;
  g.Data2 = (uint16_t)(raw[4] | raw[5] << 8);
  g.Data3 = (uint16_t)(raw[6] | raw[7] << 8);
  memcpy(g.Data4, raw + 8, 8);
  char text[WMIEV_GUID_STRING_SIZE];
  FUZZ_CHECK(wmiev_guid_format(&g, text) == 38);
  check_guid_text(&g, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  unsigned mode = (data[0] & 7u) % MODE_COUNT_;
  uint32_t flags =
      (uint32_t)(data[0] >> 3) & (WMIEV_NAME_STRICT | WMIEV_NAME_ALLOW_ODD | WMIEV_NAME_ADD_NUL);
  size_t offset = 0;
  const uint8_t *arg = data + 1;
  size_t n = size - 1;
  if (mode == MODE_LOCATE) {
    /* Two more bytes: the offset to look at. */
    fuzz_in in = {arg, n};
    offset = fuzz_u16(&in);
    arg = in.p;
    n = in.n;
  }
  /* An exact-size copy at an odd address (see the top of the file). */
  uint8_t *block = malloc(n + 1);
  FUZZ_CHECK(block != NULL);
  uint8_t *copy = block + 1;
  if (n != 0) {
    memcpy(copy, arg, n);
  }
  switch (mode) {
  case MODE_LOCATE:
    fuzz_locate(copy, n, flags & WMIEV_NAME_ALLOW_ODD, offset);
    break;
  case MODE_WRITE:
    fuzz_write(copy, n);
    break;
  case MODE_UTF16_TO_UTF8:
    fuzz_utf16_to_utf8(copy, n, flags & (WMIEV_NAME_STRICT | WMIEV_NAME_ALLOW_ODD));
    break;
  case MODE_UTF8_TO_UTF16:
    fuzz_utf8_to_utf16(copy, n, flags & WMIEV_NAME_ADD_NUL);
    break;
  case MODE_GUID_PARSE:
    fuzz_guid_parse(copy, n);
    break;
  case MODE_GUID_FORMAT:
    fuzz_guid_format(copy, n);
    break;
  }
  free(block);
  return 0;
}
