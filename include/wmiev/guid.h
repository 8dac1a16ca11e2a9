/**
 * @file guid.h
 * @brief GUID text in registry form, comparison and hashing.
 */
#ifndef WMIEV_GUID_H
#define WMIEV_GUID_H

#include "diag.h"
#include "wnode.h"

WMIEV_BEGIN_DECLS

/** Bytes needed to format a GUID in registry form, with braces and the NUL. */
#define WMIEV_GUID_STRING_SIZE 39

/**
 * @brief Parses `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` (hex digits in either
 *        case). The bare 36-character form without braces is accepted too.
 *
 * @param text  the characters; need not be NUL-terminated
 * @param len   number of characters in @p text (no trailing NUL counted)
 * @param out   receives the GUID on success; untouched on failure
 * @param diag  optional; on failure `offset` is the index of the first bad character
 * @return STATUS_SUCCESS; STATUS_INVALID_PARAMETER for NULL arguments, a wrong
 *         length, a missing or misplaced brace or dash, or a non-hex digit.
 */
WMIEV_EXTERN wmiev_status wmiev_guid_parse(const char *text, size_t len, GUID *out, wmiev_diag *diag);

/**
 * @brief Formats @p guid as `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` (upper-case
 *        hex, as the registry writes it) into @p out, NUL-terminated.
 * @return the number of characters written, excluding the NUL: 38, or 0
 *         (and "" if @p out is not NULL) when @p guid is NULL.
 */
WMIEV_EXTERN size_t wmiev_guid_format(const GUID *guid, char out[WMIEV_GUID_STRING_SIZE]);

/** @brief True if the two GUIDs are equal (IsEqualGUID). */
WMIEV_EXTERN bool wmiev_guid_equal(const GUID *a, const GUID *b);

/**
 * @brief Total order on GUIDs: compares Data1, Data2, Data3, then Data4 bytes.
 * @return negative, zero or positive.
 */
WMIEV_EXTERN int wmiev_guid_compare(const GUID *a, const GUID *b);

/** @brief A well-mixed 32-bit hash of the 16 bytes, stable across runs and hosts. */
WMIEV_EXTERN uint32_t wmiev_guid_hash(const GUID *guid);

WMIEV_END_DECLS

#endif /* WMIEV_GUID_H */
