/*
 * What the WDK-face tests that load a driver into the host share
 * (tests/wdk/test_wdk_wmi.c, test_wdk_toaster.c):
 *
 *   - a violation recorder for wmiev_host_options.on_violation: counts the
 *     verifier's reports per rule and keeps each rule's latest message
 *     (thread-safe: drivers report from any thread), and the teardown check
 *     that every rule fired exactly as often as the test expected;
 *   - a kernel-mode consumer (IoWMIOpenBlock + IoWMISetNotificationCallback)
 *     that counts notifications and keeps a copy of the latest WNODE.
 *
 * Include after <cmocka.h> and <wdm.h>.
 */
#ifndef WMIEV_TEST_WDK_HOST_H
#define WMIEV_TEST_WDK_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include <wmiev/host.h>

/* ---- Verifier reports ------------------------------------------------------------------------ */

/* Forgets every count and message (setup, before the host is configured). */
void host_violations_reset(void);
/* The hook: wmiev_host_options.on_violation = host_violations_record. */
void host_violations_record(wmiev_host_rule rule, const char *message, void *ctx);
/* Reports of `rule` since the reset. */
uint64_t host_violations(wmiev_host_rule rule);
/* The latest message of `rule` starts with the rule's name and contains `text`. */
bool host_violation_message_has(wmiev_host_rule rule, const char *text);
/* Every rule's count now (seen[0] is 0). */
void host_violations_snapshot(uint64_t seen[WMIEV_HOST_RULE_COUNT_]);
/* seen[rule] == expected[rule] for every rule; each mismatch is printed
 * with the rule's name and latest message before the assertion fails. */
void assert_host_violations(const uint64_t seen[WMIEV_HOST_RULE_COUNT_],
                            const uint64_t expected[WMIEV_HOST_RULE_COUNT_]);

/* ---- A kernel-mode consumer ------------------------------------------------------------------ */

#define NOTIFY_ACCESS (WMIGUID_NOTIFICATION | SYNCHRONIZE)

typedef struct kconsumer {
  int count;
  _Alignas(8) uint8_t last[256]; /* the latest WNODE, cut at 256 bytes */
  ULONG last_size;
} kconsumer;

/* The notification callback; Context is a kconsumer. */
VOID NTAPI kconsumer_notify(PVOID Wnode, PVOID Context);
/* IoWMIOpenBlock, asserting success. */
PVOID open_block(const GUID *guid, ULONG access);
/* Opens `guid` for notification and sets kconsumer_notify with `c`. */
PVOID kernel_subscribe(const GUID *guid, kconsumer *c);

#endif /* WMIEV_TEST_WDK_HOST_H */
