/**
 * @file name.h
 * @brief Counted UTF-16 instance names: reading them out of wire buffers and
 *        converting between UTF-16LE and UTF-8 (spec §2.8).
 *
 * A counted string on the wire is a USHORT byte count followed by that many
 * bytes of UTF-16LE, the USHORT 2-byte aligned. The rules wmiev applies
 * (docs/decisions.md, "Instance names"):
 *  - the count is the number of bytes actually stored; an odd count is
 *    malformed (STATUS_INVALID_PARAMETER) unless WMIEV_NAME_ALLOW_ODD, which
 *    ignores the stray last byte;
 *  - one trailing U+0000 unit, if present, is not part of the name (the
 *    documentation disagrees on whether the count covers it, so both forms
 *    are accepted); a U+0000 anywhere else is malformed;
 *  - an unpaired surrogate becomes U+FFFD when decoding, unless
 *    WMIEV_NAME_STRICT, which rejects it;
 *  - encoding never writes a trailing NUL unless WMIEV_NAME_ADD_NUL.
 */
#ifndef WMIEV_NAME_H
#define WMIEV_NAME_H

#include "diag.h"

WMIEV_BEGIN_DECLS

/** Reject unpaired surrogates instead of replacing them with U+FFFD. */
#define WMIEV_NAME_STRICT 0x1u
/** Ignore a stray odd last byte instead of rejecting the name. */
#define WMIEV_NAME_ALLOW_ODD 0x2u
/** When encoding, append a U+0000 unit (counted in the units produced). */
#define WMIEV_NAME_ADD_NUL 0x4u

/** Largest byte count a counted string can hold (the USHORT maximum, even). */
#define WMIEV_NAME_MAX_BYTES 65534u

/**
 * @brief Locates the counted string at @p offset of a buffer of @p size bytes
 *        without reading outside it.
 *
 * @param chars       receives a pointer to the first byte after the count
 * @param byte_count  receives the count as stored
 * @return STATUS_SUCCESS; STATUS_DATATYPE_MISALIGNMENT if @p offset is odd;
 *         STATUS_INVALID_BUFFER_SIZE if the count or the characters run past
 *         @p size; STATUS_INVALID_PARAMETER for an odd count (unless
 *         WMIEV_NAME_ALLOW_ODD in @p flags) or NULL arguments.
 */
WMIEV_EXTERN wmiev_status wmiev_counted_string_locate(const void *buf, size_t size, size_t offset,
                                                      uint32_t flags, const uint8_t **chars,
                                                      uint16_t *byte_count, wmiev_diag *diag);

/**
 * @brief Writes a counted string (USHORT byte count, then the units as UTF-16LE)
 *        at @p dst. The caller provides 2 + 2 * @p units bytes.
 * @pre @p units_count <= WMIEV_NAME_MAX_BYTES / 2 (the builders check it
 *      first); a larger count cannot be described by the USHORT and writes
 *      nothing.
 * @return bytes written (0 when the precondition is broken).
 */
WMIEV_EXTERN size_t wmiev_counted_string_write(void *dst, const uint16_t *units, size_t units_count);

/**
 * @brief Decodes @p byte_count bytes of UTF-16LE to UTF-8.
 *
 * Two-call pattern: with @p out NULL or too small, returns
 * STATUS_BUFFER_TOO_SMALL and sets @p out_len to the length needed. On
 * success @p out is NUL-terminated and @p out_len is its length without the NUL:
 * allocate `*out_len + 1` bytes for the second call.
 * @p utf16le need not be 2-byte aligned.
 *
 * @return STATUS_SUCCESS, STATUS_BUFFER_TOO_SMALL (diag filled too), or
 *         STATUS_INVALID_PARAMETER (odd count, embedded NUL, unpaired
 *         surrogate in strict mode, NULL arguments); @p diag's offset is the
 *         byte offset of the bad unit. Bad input is reported before a short
 *         output buffer.
 */
WMIEV_EXTERN wmiev_status wmiev_name_utf16_to_utf8(const void *utf16le, size_t byte_count, uint32_t flags,
                                                   char *out, size_t out_size, size_t *out_len,
                                                   wmiev_diag *diag);

/**
 * @brief Encodes @p len bytes of UTF-8 as UTF-16 code units (host order; the
 *        library supports little-endian hosts only, so they are wire-ready).
 *
 * Two-call pattern as above, counted in units: @p units_needed receives the
 * number of units the name takes (including the NUL with WMIEV_NAME_ADD_NUL).
 *
 * @return STATUS_SUCCESS, STATUS_BUFFER_TOO_SMALL, STATUS_INVALID_PARAMETER
 *         (malformed UTF-8: bad lead or continuation byte, overlong form,
 *         encoded surrogate, value above U+10FFFF, truncated sequence, or an
 *         embedded NUL; @p diag's offset is the byte index), or
 *         STATUS_NAME_TOO_LONG if the result exceeds WMIEV_NAME_MAX_BYTES.
 */
WMIEV_EXTERN wmiev_status wmiev_name_utf8_to_utf16(const char *utf8, size_t len, uint32_t flags,
                                                   uint16_t *out, size_t out_units,
                                                   size_t *units_needed, wmiev_diag *diag);

WMIEV_END_DECLS

#endif /* WMIEV_NAME_H */
