/*
 * The host's verifier: every rule violation is counted, formatted with the
 * rule's name first, and handed to the configured hook (or printed). It is
 * the stand-in for Driver Verifier's bugchecks: on Windows most of these
 * would have crashed the machine; here the test that provoked them can
 * observe them and carry on. Also ASSERT's and DbgBreakPoint's landing place.
 */
#include <stdio.h>

#include "host_private.h"

static uint64_t g_counts[WMIEV_HOST_RULE_COUNT_];

static const char *const g_rule_names[WMIEV_HOST_RULE_COUNT_] = {
    [WMIEV_HOST_RULE_WMI_NOT_COMPLETED] = "WMI_NOT_COMPLETED",
    [WMIEV_HOST_RULE_IRQL] = "IRQL",
    [WMIEV_HOST_RULE_DEREGISTER_IN_DISPATCH] = "DEREGISTER_IN_DISPATCH",
    [WMIEV_HOST_RULE_EVENT_NOT_ENABLED] = "EVENT_NOT_ENABLED",
    [WMIEV_HOST_RULE_EVENT_NAME_MISMATCH] = "EVENT_NAME_MISMATCH",
    [WMIEV_HOST_RULE_POOL_DOUBLE_FREE] = "POOL_DOUBLE_FREE",
    [WMIEV_HOST_RULE_POOL_FREE_AFTER_TAKEN] = "POOL_FREE_AFTER_TAKEN",
    [WMIEV_HOST_RULE_IRP_COMPLETED_TWICE] = "IRP_COMPLETED_TWICE",
    [WMIEV_HOST_RULE_POOL_BAD_FREE] = "POOL_BAD_FREE",
    [WMIEV_HOST_RULE_WMI_BAD_REPLY] = "WMI_BAD_REPLY",
    [WMIEV_HOST_RULE_WMI_PENDING_TIMEOUT] = "WMI_PENDING_TIMEOUT",
    [WMIEV_HOST_RULE_WMI_WARNING] = "WMI_WARNING",
    [WMIEV_HOST_RULE_LEAK] = "LEAK",
    [WMIEV_HOST_RULE_SPIN_LOCK] = "SPIN_LOCK",
    [WMIEV_HOST_RULE_REMOVE_LOCK] = "REMOVE_LOCK",
    [WMIEV_HOST_RULE_IRP] = "IRP",
    [WMIEV_HOST_RULE_DEVICE] = "DEVICE",
    [WMIEV_HOST_RULE_OBJECT] = "OBJECT",
    [WMIEV_HOST_RULE_ASSERT] = "ASSERT",
    [WMIEV_HOST_RULE_BREAKPOINT] = "BREAKPOINT",
    [WMIEV_HOST_RULE_HOST] = "HOST",
};

const char *wmiev_host_rule_name(wmiev_host_rule rule) {
  if ((int)rule <= 0 || (int)rule >= WMIEV_HOST_RULE_COUNT_) {
    return "UNKNOWN";
  }
  return g_rule_names[rule];
}

uint64_t wmiev_host_violation_count(wmiev_host_rule rule) {
  if ((int)rule <= 0 || (int)rule >= WMIEV_HOST_RULE_COUNT_) {
    return 0;
  }
  return __atomic_load_n(&g_counts[rule], __ATOMIC_SEQ_CST);
}

void wmiev__verifier_reset(void) {
  for (size_t i = 0; i < WMIEV_HOST_RULE_COUNT_; i++) {
    __atomic_store_n(&g_counts[i], 0, __ATOMIC_SEQ_CST);
  }
}

static void report(wmiev_host_rule rule, const char *fmt, va_list args) {
  char message[1024];
  int n = snprintf(message, sizeof message, "%s: ", wmiev_host_rule_name(rule));
  if (n < 0) {
    n = 0;
  }
  vsnprintf(message + n, sizeof message - (size_t)n, fmt, args);
  if ((int)rule > 0 && (int)rule < WMIEV_HOST_RULE_COUNT_) {
    __atomic_add_fetch(&g_counts[rule], 1, __ATOMIC_SEQ_CST);
  }
  void (*fn)(wmiev_host_rule, const char *, void *) = NULL;
  void *ctx = NULL;
  bool quiet = false;
  wmiev__host_violation_sink(&fn, &ctx, &quiet);
  if (fn != NULL) {
    fn(rule, message, ctx);
  } else if (!quiet) {
    fprintf(stderr, "wmiev host: %s\n", message);
  }
}

void wmiev__host_violation(wmiev_host_rule rule, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  report(rule, fmt, args);
  va_end(args);
}

/* ---- Bridges from the core and the bus ---------------------------------------------------- */

void wmiev__verifier_on_core_violation(wmiev_violation rule, const char *message, void *ctx) {
  (void)ctx;
  wmiev_host_rule host_rule;
  switch (rule) {
  case WMIEV_VIOLATION_NOT_COMPLETED:
    host_rule = WMIEV_HOST_RULE_WMI_NOT_COMPLETED;
    break;
  case WMIEV_VIOLATION_COMPLETED_TWICE:
    host_rule = WMIEV_HOST_RULE_IRP_COMPLETED_TWICE;
    break;
  case WMIEV_VIOLATION_DEREGISTER_IN_DISPATCH:
    host_rule = WMIEV_HOST_RULE_DEREGISTER_IN_DISPATCH;
    break;
  case WMIEV_VIOLATION_BAD_REPLY:
    host_rule = WMIEV_HOST_RULE_WMI_BAD_REPLY;
    break;
  case WMIEV_VIOLATION_PENDING_TIMEOUT:
    host_rule = WMIEV_HOST_RULE_WMI_PENDING_TIMEOUT;
    break;
  default:
    host_rule = WMIEV_HOST_RULE_WMI_WARNING;
    break;
  }
  wmiev__host_violation(host_rule, "%s", message != NULL ? message : "");
}

void wmiev__verifier_on_bus_warning(wmiev_warning warning, const char *message, void *ctx) {
  (void)ctx;
  wmiev_host_rule host_rule;
  switch (warning) {
  case WMIEV_WARN_NOT_ENABLED:
  case WMIEV_WARN_PROVIDER_NOT_ENABLED:
    host_rule = WMIEV_HOST_RULE_EVENT_NOT_ENABLED;
    break;
  case WMIEV_WARN_STATIC_FOR_DYNAMIC:
  case WMIEV_WARN_DYNAMIC_FOR_STATIC:
  case WMIEV_WARN_PDO_FLAG_MISMATCH:
    host_rule = WMIEV_HOST_RULE_EVENT_NAME_MISMATCH;
    break;
  default:
    host_rule = WMIEV_HOST_RULE_WMI_WARNING;
    break;
  }
  wmiev__host_violation(host_rule, "%s (%s)", message != NULL ? message : "",
                        wmiev_warning_name(warning));
}

/* ---- ASSERT and breakpoints --------------------------------------------------------------- */

VOID NTAPI RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName, ULONG LineNumber,
                     PSTR MutableMessage) {
  const char *expr = VoidFailedAssertion != NULL ? (const char *)VoidFailedAssertion : "?";
  const char *file = VoidFileName != NULL ? (const char *)VoidFileName : "?";
  if (MutableMessage != NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_ASSERT, "%s: assertion failed: %s (%s:%u)",
                          MutableMessage, expr, file, (unsigned)LineNumber);
  } else {
    wmiev__host_violation(WMIEV_HOST_RULE_ASSERT, "assertion failed: %s (%s:%u)", expr, file,
                          (unsigned)LineNumber);
  }
}

VOID NTAPI DbgBreakPoint(VOID) {
  PDRIVER_OBJECT driver = wmiev__current_driver();
  wmiev__host_violation(WMIEV_HOST_RULE_BREAKPOINT, "DbgBreakPoint reached (driver %s)",
                        wmiev__driver_name(driver));
}
