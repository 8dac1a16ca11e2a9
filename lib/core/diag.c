/* Filling a wmiev_diag: one place, so every parser reports the same way. */
#include <wmiev/diag.h>

#include <stdarg.h>
#include <stdio.h>

wmiev_status wmiev_diag_set(wmiev_diag *diag, wmiev_status status, const char *field, uint32_t offset,
                            const char *fmt, ...) {
  if (diag != NULL) {
    diag->status = status;
    diag->field = field != NULL ? field : "";
    diag->offset = offset;
    va_list args;
    va_start(args, fmt);
    (void)vsnprintf(diag->message, sizeof diag->message, fmt, args);
    va_end(args);
  }
  return status;
}
