/**
 * @file diag.h
 * @brief Diagnostics that accompany a failing status: which field, where, why.
 *
 * Every parser and builder takes an optional `wmiev_diag *`; on failure it is
 * filled with the status, the name of the offending field (Windows member
 * spelling, e.g. "WnodeHeader.BufferSize"), the byte offset of that field in
 * the input, and a one-line English message. On success it is left untouched.
 */
#ifndef WMIEV_DIAG_H
#define WMIEV_DIAG_H

#include "status.h"

WMIEV_BEGIN_DECLS

/** Longest message kept, including the terminating NUL. */
#define WMIEV_DIAG_MESSAGE_SIZE 160

/** Details of a failure. */
typedef struct wmiev_diag {
  wmiev_status status;                    /**< the status the call returned */
  const char *field;                      /**< static string naming the field, never NULL after a failure */
  /** Byte offset of the field in the input (0 if not applicable; capped at
   *  UINT32_MAX). Builders, which have no input buffer, put the index of the
   *  offending array element here; the message names it too. Indexed fields
   *  are spelt with "[]" (e.g. "WmiRegGuid[].Flags") because `field` is static. */
  uint32_t offset;
  char message[WMIEV_DIAG_MESSAGE_SIZE];  /**< human-readable reason */
} wmiev_diag;

/**
 * @brief Fills @p diag (if not NULL) and returns @p status, for one-line error returns.
 *
 * The message is printf-formatted and truncated to fit.
 */
WMIEV_EXTERN wmiev_status wmiev_diag_set(wmiev_diag *diag, wmiev_status status, const char *field,
                                         uint32_t offset, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

WMIEV_END_DECLS

#endif /* WMIEV_DIAG_H */
