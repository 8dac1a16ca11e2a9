/*
 * Counted strings on the wire: a USHORT byte count, then UTF-16LE bytes.
 * Locating one is the only place wire offsets of names are bounds-checked,
 * so the WNODE validator and the WMIREGINFO parser share these rules.
 */
#include <wmiev/name.h>

#include <string.h>

wmiev_status wmiev_counted_string_locate(const void *buf, size_t size, size_t offset, uint32_t flags,
                                         const uint8_t **chars, uint16_t *byte_count,
                                         wmiev_diag *diag) {
  if (buf == NULL || chars == NULL || byte_count == NULL) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "counted string", 0,
                          "NULL argument");
  }
  uint32_t at = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset;
  if (offset % 2 != 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_DATATYPE_MISALIGNMENT, "counted string", at,
                          "counted string at offset %zu is not 2-byte aligned", offset);
  }
  /* offset <= size checked first so that size - offset cannot wrap. */
  if (offset > size || size - offset < 2) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "counted string", at,
                          "length word at offset %zu lies outside the %zu-byte buffer", offset,
                          size);
  }
  const uint8_t *p = (const uint8_t *)buf + offset;
  uint16_t count;
  memcpy(&count, p, sizeof count);
  if (count % 2 != 0 && (flags & WMIEV_NAME_ALLOW_ODD) == 0) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_PARAMETER, "counted string", at,
                          "odd byte count %u: UTF-16 needs an even number of bytes",
                          (unsigned)count);
  }
  if (size - offset - 2 < count) {
    return wmiev_diag_set(diag, WMIEV_STATUS_INVALID_BUFFER_SIZE, "counted string", at,
                          "%u bytes of characters at offset %zu run past the %zu-byte buffer",
                          (unsigned)count, offset + 2, size);
  }
  *chars = p + 2;
  *byte_count = count;
  return WMIEV_STATUS_SUCCESS;
}

size_t wmiev_counted_string_write(void *dst, const uint16_t *units, size_t units_count) {
  if (units_count > WMIEV_NAME_MAX_BYTES / 2u) {
    return 0; /* the USHORT count cannot describe it: write nothing rather than wrap */
  }
  uint16_t count = (uint16_t)(units_count * 2);
  uint8_t *p = dst;
  memcpy(p, &count, sizeof count);
  if (units_count > 0) {
    memcpy(p + 2, units, units_count * 2);
  }
  return 2 + units_count * 2;
}
