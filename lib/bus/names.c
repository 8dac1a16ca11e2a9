/* Names of the bus's warnings and rejection reasons (bus.h), for logs. One
 * table for the in-process bus and the Windows backend, which both compile
 * this file. */
#include <wmiev/bus.h>

static const char *const warning_names[WMIEV_WARN_COUNT_] = {
    [WMIEV_WARN_NOT_ENABLED] = "NOT_ENABLED",
    [WMIEV_WARN_PROVIDER_NOT_ENABLED] = "PROVIDER_NOT_ENABLED",
    [WMIEV_WARN_STATIC_FOR_DYNAMIC] = "STATIC_FOR_DYNAMIC",
    [WMIEV_WARN_DYNAMIC_FOR_STATIC] = "DYNAMIC_FOR_STATIC",
    [WMIEV_WARN_PDO_FLAG_MISMATCH] = "PDO_FLAG_MISMATCH",
    [WMIEV_WARN_TARGET_GUID_MISMATCH] = "TARGET_GUID_MISMATCH",
    [WMIEV_WARN_UNDEFINED_FLAGS] = "UNDEFINED_FLAGS",
    [WMIEV_WARN_ENABLE_FAILED] = "ENABLE_FAILED",
    [WMIEV_WARN_REFERENCE_FAILED] = "REFERENCE_FAILED",
};

const char *wmiev_warning_name(wmiev_warning warning) {
  if ((int)warning <= 0 || warning >= WMIEV_WARN_COUNT_) {
    return "WARN_<unknown>";
  }
  return warning_names[warning];
}

static const char *const reject_names[WMIEV_REJECT_COUNT_] = {
    [WMIEV_REJECT_MALFORMED] = "MALFORMED",
    [WMIEV_REJECT_TOO_LARGE] = "TOO_LARGE",
    [WMIEV_REJECT_UNKNOWN_PROVIDER] = "UNKNOWN_PROVIDER",
    [WMIEV_REJECT_GUID_NOT_REGISTERED] = "GUID_NOT_REGISTERED",
    [WMIEV_REJECT_BAD_INSTANCE] = "BAD_INSTANCE",
    [WMIEV_REJECT_STRICT] = "STRICT",
};

const char *wmiev_reject_reason_name(wmiev_reject_reason reason) {
  if ((int)reason < 0 || reason >= WMIEV_REJECT_COUNT_) {
    return "REJECT_<unknown>";
  }
  return reject_names[reason];
}
