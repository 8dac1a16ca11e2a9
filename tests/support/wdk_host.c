/* The WDK-face tests' shared helpers (wdk_host.h). */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <wdm.h>

#include "wdk_host.h"

/* ---- Verifier reports ------------------------------------------------------------------------ */

static pthread_mutex_t g_violation_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_violations[WMIEV_HOST_RULE_COUNT_];
static char g_last_message[WMIEV_HOST_RULE_COUNT_][512];

void host_violations_reset(void) {
  pthread_mutex_lock(&g_violation_lock);
  memset(g_violations, 0, sizeof g_violations);
  memset(g_last_message, 0, sizeof g_last_message);
  pthread_mutex_unlock(&g_violation_lock);
}

void host_violations_record(wmiev_host_rule rule, const char *message, void *ctx) {
  (void)ctx;
  pthread_mutex_lock(&g_violation_lock);
  if ((int)rule > 0 && rule < WMIEV_HOST_RULE_COUNT_) {
    g_violations[rule]++;
    snprintf(g_last_message[rule], sizeof g_last_message[rule], "%s", message);
  }
  pthread_mutex_unlock(&g_violation_lock);
}

uint64_t host_violations(wmiev_host_rule rule) {
  pthread_mutex_lock(&g_violation_lock);
  uint64_t n = g_violations[rule];
  pthread_mutex_unlock(&g_violation_lock);
  return n;
}

bool host_violation_message_has(wmiev_host_rule rule, const char *text) {
  pthread_mutex_lock(&g_violation_lock);
  const char *name = wmiev_host_rule_name(rule);
  bool has = strncmp(g_last_message[rule], name, strlen(name)) == 0 &&
             strstr(g_last_message[rule], text) != NULL;
  pthread_mutex_unlock(&g_violation_lock);
  return has;
}

void host_violations_snapshot(uint64_t seen[WMIEV_HOST_RULE_COUNT_]) {
  seen[0] = 0;
  for (int rule = 1; rule < WMIEV_HOST_RULE_COUNT_; rule++) {
    seen[rule] = host_violations((wmiev_host_rule)rule);
  }
}

void assert_host_violations(const uint64_t seen[WMIEV_HOST_RULE_COUNT_],
                            const uint64_t expected[WMIEV_HOST_RULE_COUNT_]) {
  for (int rule = 1; rule < WMIEV_HOST_RULE_COUNT_; rule++) {
    if (seen[rule] != expected[rule]) {
      fprintf(stderr, "rule %s: %llu violations, expected %llu; last: %s\n",
              wmiev_host_rule_name((wmiev_host_rule)rule), (unsigned long long)seen[rule],
              (unsigned long long)expected[rule], g_last_message[rule]);
    }
    assert_int_equal(seen[rule], expected[rule]);
  }
}

/* ---- A kernel-mode consumer ------------------------------------------------------------------ */

VOID NTAPI kconsumer_notify(PVOID Wnode, PVOID Context) {
  kconsumer *c = Context;
  const WNODE_HEADER *h = Wnode;
  c->count++;
  c->last_size = h->BufferSize < sizeof c->last ? h->BufferSize : (ULONG)sizeof c->last;
  memcpy(c->last, Wnode, c->last_size);
}

PVOID open_block(const GUID *guid, ULONG access) {
  PVOID object = NULL;
  assert_int_equal(IoWMIOpenBlock(guid, access, &object), STATUS_SUCCESS);
  assert_non_null(object);
  return object;
}

PVOID kernel_subscribe(const GUID *guid, kconsumer *c) {
  PVOID object = open_block(guid, NOTIFY_ACCESS);
  assert_int_equal(IoWMISetNotificationCallback(object, kconsumer_notify, c), STATUS_SUCCESS);
  return object;
}
