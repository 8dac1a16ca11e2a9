/*
 * GUIDs: registry-form text, ordering and hashing.
 *
 * Every function reads the GUID field by field, never as raw struct bytes, so
 * results do not depend on padding or host byte order.
 */
#include <wmiev/guid.h>

#include <stdio.h>

#define GUID_FIELD "GUID text"
#define GUID_BARE_LEN 36u
#define GUID_BRACED_LEN 38u

static const char hex_upper[] = "0123456789ABCDEF";

/* Value of a hex digit, or -1. Written out instead of <ctype.h> so the locale cannot matter. */
static int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Quotes a printable character, shows anything else as hex, so messages stay one clean line. */
static const char *describe_char(char c, char buf[8]) {
  unsigned char u = (unsigned char)c;
  if (u >= 0x20 && u < 0x7f) {
    (void)snprintf(buf, 8, "'%c'", c);
  } else {
    (void)snprintf(buf, 8, "0x%02X", (unsigned)u);
  }
  return buf;
}

/* Positions are counted from the first hex digit, so both forms share them. */
static bool is_dash_position(size_t pos) {
  return pos == 8 || pos == 13 || pos == 18 || pos == 23;
}

wmiev_status wmiev_guid_parse(const char *text, size_t len, GUID *out, wmiev_diag *diag) {
  if (text == NULL || out == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, GUID_FIELD, 0, "NULL argument");
  }
  /* The first character decides the form; then characters are checked in order, so the
   * offset reported is the first one that cannot belong to a GUID in that form. A wrong
   * length is reported only after every present character was fine, at the index of the
   * first missing (too short) or extra (too long) character. */
  bool braced = len > 0 && text[0] == '{';
  size_t want = braced ? GUID_BRACED_LEN : GUID_BARE_LEN;
  size_t scan = len < want ? len : want;
  size_t first = braced ? 1 : 0;
  uint8_t bytes[16] = {0};
  size_t nibble = 0;
  char got[8];

  for (size_t i = first; i < scan; i++) {
    char c = text[i];
    if (braced && i == GUID_BRACED_LEN - 1) {
      if (c != '}') {
        return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, GUID_FIELD, (uint32_t)i,
                              "expected '}' at index %zu, got %s", i, describe_char(c, got));
      }
      continue;
    }
    if (is_dash_position(i - first)) {
      if (c != '-') {
        return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, GUID_FIELD, (uint32_t)i,
                              "expected '-' at index %zu, got %s", i, describe_char(c, got));
      }
      continue;
    }
    int v = hex_value(c);
    if (v < 0) {
      return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, GUID_FIELD, (uint32_t)i,
                            "expected hex digit%s at index %zu, got %s", i == 0 ? " or '{'" : "",
                            i, describe_char(c, got));
    }
    bytes[nibble / 2] = (uint8_t)(bytes[nibble / 2] | (v << (nibble % 2 == 0 ? 4 : 0)));
    nibble++;
  }
  if (len != want) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, GUID_FIELD, (uint32_t)scan,
                          "length %zu: expected 36 or 38 characters", len);
  }

  /* The text spells Data1..Data3 most significant digit first, Data4 byte by byte. */
  GUID g;
  g.Data1 = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
            (uint32_t)bytes[3];
  g.Data2 = (uint16_t)(bytes[4] << 8 | bytes[5]);
  g.Data3 = (uint16_t)(bytes[6] << 8 | bytes[7]);
  for (size_t i = 0; i < 8; i++) {
    g.Data4[i] = bytes[8 + i];
  }
  *out = g;
  return WMIEV_STATUS_SUCCESS;
}

static char *put_hex(char *p, uint32_t value, unsigned digits) {
  while (digits > 0) {
    digits--;
    *p++ = hex_upper[(value >> (4 * digits)) & 0xfu];
  }
  return p;
}

size_t wmiev_guid_format(const GUID *guid, char out[WMIEV_GUID_STRING_SIZE]) {
  if (out == NULL) {
    return 0;
  }
  if (guid == NULL) {
    /* Nothing sensible to print; an empty string keeps callers that print `out` safe. */
    out[0] = '\0';
    return 0;
  }
  char *p = out;
  *p++ = '{';
  p = put_hex(p, guid->Data1, 8);
  *p++ = '-';
  p = put_hex(p, guid->Data2, 4);
  *p++ = '-';
  p = put_hex(p, guid->Data3, 4);
  *p++ = '-';
  for (size_t i = 0; i < 8; i++) {
    if (i == 2) {
      *p++ = '-';
    }
    p = put_hex(p, guid->Data4[i], 2);
  }
  *p++ = '}';
  *p = '\0';
  return (size_t)(p - out);
}

int wmiev_guid_compare(const GUID *a, const GUID *b) {
  /* NULL sorts first so that a comparator never crashes a sort on bad input. */
  if (a == b) {
    return 0;
  }
  if (a == NULL) {
    return -1;
  }
  if (b == NULL) {
    return 1;
  }
  if (a->Data1 != b->Data1) {
    return a->Data1 < b->Data1 ? -1 : 1;
  }
  if (a->Data2 != b->Data2) {
    return a->Data2 < b->Data2 ? -1 : 1;
  }
  if (a->Data3 != b->Data3) {
    return a->Data3 < b->Data3 ? -1 : 1;
  }
  for (size_t i = 0; i < 8; i++) {
    if (a->Data4[i] != b->Data4[i]) {
      return a->Data4[i] < b->Data4[i] ? -1 : 1;
    }
  }
  return 0;
}

bool wmiev_guid_equal(const GUID *a, const GUID *b) {
  return a != NULL && b != NULL && wmiev_guid_compare(a, b) == 0;
}

static uint32_t fnv1a_byte(uint32_t h, uint32_t byte) {
  return (h ^ (byte & 0xffu)) * 16777619u;
}

uint32_t wmiev_guid_hash(const GUID *guid) {
  if (guid == NULL) {
    return 0;
  }
  /* FNV-1a over the wire bytes (fields little-endian, as Windows stores them), then the
   * murmur3 finaliser: FNV alone leaves the low bits weak for the last bytes fed, and
   * hash tables index by the low bits. */
  uint32_t h = 2166136261u;
  for (unsigned shift = 0; shift < 32; shift += 8) {
    h = fnv1a_byte(h, guid->Data1 >> shift);
  }
  for (unsigned shift = 0; shift < 16; shift += 8) {
    h = fnv1a_byte(h, (uint32_t)guid->Data2 >> shift);
  }
  for (unsigned shift = 0; shift < 16; shift += 8) {
    h = fnv1a_byte(h, (uint32_t)guid->Data3 >> shift);
  }
  for (size_t i = 0; i < 8; i++) {
    h = fnv1a_byte(h, guid->Data4[i]);
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}
