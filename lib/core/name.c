/*
 * Instance names: UTF-16LE (the wire) <-> UTF-8 (the portable API), spec §2.8.
 *
 * Both directions validate the whole input first and only then look at the output buffer,
 * so a size query (out == NULL) already reports malformed input, and a failing call never
 * writes anything.
 */
#include <wmiev/name.h>

#define NAME_FIELD "instance name"
#define NAME_KNOWN_FLAGS (WMIEV_NAME_STRICT | WMIEV_NAME_ALLOW_ODD | WMIEV_NAME_ADD_NUL)
#define NAME_MAX_UNITS (WMIEV_NAME_MAX_BYTES / 2u)
#define REPLACEMENT_CHARACTER 0xFFFDu

/* wmiev_diag offsets are 32-bit; inputs that large are absurd but must not wrap silently.
 * `>=` rather than `>` so that 32-bit hosts do not see an always-false comparison. */
static uint32_t diag_offset(size_t at) {
  return at >= UINT32_MAX ? UINT32_MAX : (uint32_t)at;
}

/* Reads byte by byte: the input may sit at an odd address, and the wire is little-endian. */
static uint16_t load_le16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

static bool is_high_surrogate(uint32_t u) {
  return u >= 0xD800u && u <= 0xDBFFu;
}

static bool is_low_surrogate(uint32_t u) {
  return u >= 0xDC00u && u <= 0xDFFFu;
}

static size_t utf8_length(uint32_t cp) {
  return cp < 0x80u ? 1 : cp < 0x800u ? 2 : cp < 0x10000u ? 3 : 4;
}

static char *put_utf8(char *p, uint32_t cp) {
  switch (utf8_length(cp)) {
  case 1:
    *p++ = (char)cp;
    break;
  case 2:
    *p++ = (char)(0xC0u | cp >> 6);
    *p++ = (char)(0x80u | (cp & 0x3Fu));
    break;
  case 3:
    *p++ = (char)(0xE0u | cp >> 12);
    *p++ = (char)(0x80u | (cp >> 6 & 0x3Fu));
    *p++ = (char)(0x80u | (cp & 0x3Fu));
    break;
  default:
    *p++ = (char)(0xF0u | cp >> 18);
    *p++ = (char)(0x80u | (cp >> 12 & 0x3Fu));
    *p++ = (char)(0x80u | (cp >> 6 & 0x3Fu));
    *p++ = (char)(0x80u | (cp & 0x3Fu));
    break;
  }
  return p;
}

/*
 * Decodes the code point at unit index *i of units[0..n), advancing *i past it. An unpaired
 * surrogate comes back as itself (a value in D800-DFFF) so the caller decides what to do.
 */
static uint32_t next_utf16(const uint8_t *units, size_t n, size_t *i) {
  uint32_t u = load_le16(units + 2 * *i);
  (*i)++;
  if (is_high_surrogate(u) && *i < n) {
    uint32_t lo = load_le16(units + 2 * *i);
    if (is_low_surrogate(lo)) {
      (*i)++;
      return 0x10000u + ((u - 0xD800u) << 10) + (lo - 0xDC00u);
    }
  }
  return u;
}

wmiev_status wmiev_name_utf16_to_utf8(const void *utf16le, size_t byte_count, uint32_t flags,
                                      char *out, size_t out_size, size_t *out_len,
                                      wmiev_diag *diag) {
  /* (NULL, 0) is an empty name, as in an empty UNICODE_STRING. */
  if ((utf16le == NULL && byte_count != 0) || out_len == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, 0, "NULL argument");
  }
  if ((flags & ~NAME_KNOWN_FLAGS) != 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, 0,
                          "unknown flag bits 0x%X", (unsigned)(flags & ~NAME_KNOWN_FLAGS));
  }
  if (byte_count % 2 != 0 && (flags & WMIEV_NAME_ALLOW_ODD) == 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD,
                          diag_offset(byte_count - 1),
                          "odd byte count %zu: UTF-16 needs an even number of bytes", byte_count);
  }
  const uint8_t *units = utf16le;
  size_t n = byte_count / 2;
  /* The documentation disagrees on whether the count covers a terminating NUL (spec §2.8),
   * so one is accepted and is not part of the name. */
  if (n > 0 && load_le16(units + 2 * (n - 1)) == 0) {
    n--;
  }
  bool strict = (flags & WMIEV_NAME_STRICT) != 0;

  size_t need = 0;
  for (size_t i = 0; i < n;) {
    size_t at = 2 * i;
    uint32_t cp = next_utf16(units, n, &i);
    if (cp == 0) {
      return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, diag_offset(at),
                            "U+0000 at byte %zu: only a trailing NUL is allowed", at);
    }
    if (cp >= 0xD800u && cp <= 0xDFFFu) {
      if (strict) {
        return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, diag_offset(at),
                              "unpaired %s surrogate 0x%04X at byte %zu",
                              is_high_surrogate(cp) ? "high" : "low", (unsigned)cp, at);
      }
      cp = REPLACEMENT_CHARACTER;
    }
    need += utf8_length(cp);
  }

  /* `need >= out_size` rather than `need + 1 > out_size`: the NUL must fit too. */
  if (out == NULL || need >= out_size) {
    *out_len = need;
    return wmiev_diag_set(diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "out_size", 0,
                          "need %zu bytes plus the NUL, have %zu", need,
                          out == NULL ? 0 : out_size);
  }
  char *p = out;
  for (size_t i = 0; i < n;) {
    uint32_t cp = next_utf16(units, n, &i);
    p = put_utf8(p, cp >= 0xD800u && cp <= 0xDFFFu ? REPLACEMENT_CHARACTER : cp);
  }
  *p = '\0';
  *out_len = need;
  return WMIEV_STATUS_SUCCESS;
}

static bool is_continuation(uint8_t b) {
  return (b & 0xC0u) == 0x80u;
}

/*
 * Decodes one UTF-8 sequence starting at s[i] (s has len bytes), strictly. On success stores
 * the code point and the sequence length. Offsets reported: the lead byte for a bad lead,
 * a truncated sequence or a forbidden value (overlong, surrogate, above U+10FFFF), because
 * those describe the whole sequence; the offending byte for a bad continuation byte.
 */
static wmiev_status next_utf8(const uint8_t *s, size_t len, size_t i, uint32_t *cp_out,
                              size_t *seq_len, wmiev_diag *diag) {
  uint8_t lead = s[i];
  size_t n;
  uint32_t cp;
  if (lead == 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, diag_offset(i),
                          "NUL byte at index %zu: a name cannot contain U+0000", i);
  }
  if (lead < 0x80u) {
    *cp_out = lead;
    *seq_len = 1;
    return WMIEV_STATUS_SUCCESS;
  }
  if (lead >= 0xC2u && lead <= 0xDFu) {
    n = 2;
    cp = lead & 0x1Fu;
  } else if (lead >= 0xE0u && lead <= 0xEFu) {
    n = 3;
    cp = lead & 0x0Fu;
  } else if (lead >= 0xF0u && lead <= 0xF4u) {
    n = 4;
    cp = lead & 0x07u;
  } else {
    /* 80-BF continue a sequence, C0/C1 can only start overlong ones, F5-FF exceed U+10FFFF. */
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, diag_offset(i),
                          "invalid UTF-8 lead byte 0x%02X at index %zu", (unsigned)lead, i);
  }
  for (size_t k = 1; k < n; k++) {
    if (len - i <= k) {
      return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, diag_offset(i),
                            "truncated %zu-byte UTF-8 sequence at index %zu: input ends after "
                            "%zu byte(s)",
                            n, i, k);
    }
    uint8_t b = s[i + k];
    if (!is_continuation(b)) {
      return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD,
                            diag_offset(i + k),
                            "expected UTF-8 continuation byte at index %zu, got 0x%02X", i + k,
                            (unsigned)b);
    }
    cp = cp << 6 | (b & 0x3Fu);
  }
  static const uint32_t min_for_length[5] = {0, 0, 0x80u, 0x800u, 0x10000u};
  if (cp < min_for_length[n]) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, diag_offset(i),
                          "overlong %zu-byte UTF-8 encoding of U+%04X at index %zu", n,
                          (unsigned)cp, i);
  }
  if (cp >= 0xD800u && cp <= 0xDFFFu) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, diag_offset(i),
                          "UTF-8 encoded surrogate U+%04X at index %zu", (unsigned)cp, i);
  }
  if (cp > 0x10FFFFu) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, diag_offset(i),
                          "UTF-8 value U+%X above U+10FFFF at index %zu", (unsigned)cp, i);
  }
  *cp_out = cp;
  *seq_len = n;
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_name_utf8_to_utf16(const char *utf8, size_t len, uint32_t flags, uint16_t *out,
                                      size_t out_units, size_t *units_needed, wmiev_diag *diag) {
  if ((utf8 == NULL && len != 0) || units_needed == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, 0, "NULL argument");
  }
  if ((flags & ~NAME_KNOWN_FLAGS) != 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, NAME_FIELD, 0,
                          "unknown flag bits 0x%X", (unsigned)(flags & ~NAME_KNOWN_FLAGS));
  }
  const uint8_t *s = (const uint8_t *)utf8;
  size_t nul = (flags & WMIEV_NAME_ADD_NUL) != 0 ? 1 : 0;
  /* The NUL, when asked for, lives inside the same USHORT byte count as the name. */
  size_t limit = NAME_MAX_UNITS - nul;

  size_t units = 0;
  size_t overflow_at = SIZE_MAX;
  for (size_t i = 0; i < len;) {
    uint32_t cp = 0;
    size_t seq = 0;
    wmiev_status st = next_utf8(s, len, i, &cp, &seq, diag);
    if (st != WMIEV_STATUS_SUCCESS) {
      return st;
    }
    units += cp >= 0x10000u ? 2 : 1;
    if (units > limit && overflow_at == SIZE_MAX) {
      overflow_at = i;
    }
    i += seq;
  }
  /* Malformed input is reported first, whatever its length; then the length limit. */
  if (units > limit) {
    return wmiev_diag_set(diag, WMIEV_STATUS_NAME_TOO_LONG, NAME_FIELD, diag_offset(overflow_at),
                          "name needs %zu UTF-16 units, at most %u fit a counted string "
                          "(first character over the limit at index %zu)",
                          units + nul, (unsigned)NAME_MAX_UNITS, overflow_at);
  }
  size_t need = units + nul;
  if (out == NULL || out_units < need) {
    *units_needed = need;
    return wmiev_diag_set(diag, WMIEV_STATUS_BUFFER_TOO_SMALL, "out_units", 0,
                          "need %zu UTF-16 units, have %zu", need, out == NULL ? 0 : out_units);
  }
  uint16_t *p = out;
  for (size_t i = 0; i < len;) {
    uint32_t cp = 0;
    size_t seq = 0;
    /* Already validated; cannot fail. */
    (void)next_utf8(s, len, i, &cp, &seq, NULL);
    if (cp >= 0x10000u) {
      cp -= 0x10000u;
      *p++ = (uint16_t)(0xD800u | cp >> 10);
      *p++ = (uint16_t)(0xDC00u | (cp & 0x3FFu));
    } else {
      *p++ = (uint16_t)cp;
    }
    i += seq;
  }
  if (nul != 0) {
    *p = 0;
  }
  *units_needed = need;
  return WMIEV_STATUS_SUCCESS;
}
