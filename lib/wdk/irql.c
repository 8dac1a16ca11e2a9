/*
 * Emulated IRQL: one value per thread, PASSIVE_LEVEL on every new thread.
 * Nothing is masked for real; the point is checking. Routines compare it
 * with their documented maximum (wmiev__irql_at_most), spin locks and
 * KeRaiseIrql move it, and the host resets it on its own threads.
 */
#include "host_private.h"

static _Thread_local KIRQL t_irql = PASSIVE_LEVEL;

static const char *irql_name(KIRQL irql) {
  switch (irql) {
  case PASSIVE_LEVEL:
    return "PASSIVE_LEVEL";
  case APC_LEVEL:
    return "APC_LEVEL";
  case DISPATCH_LEVEL:
    return "DISPATCH_LEVEL";
  default:
    return "DIRQL";
  }
}

KIRQL NTAPI KeGetCurrentIrql(VOID) { return t_irql; }

void wmiev__irql_set(KIRQL irql) { t_irql = irql; }

bool wmiev__irql_at_most(KIRQL max, const char *routine) {
  KIRQL now = t_irql;
  if (now <= max) {
    return true;
  }
  wmiev__host_violation(WMIEV_HOST_RULE_IRQL, "%s called at %s (%u); the maximum is %s (%u)",
                        routine != NULL ? routine : "?", irql_name(now), (unsigned)now,
                        irql_name(max), (unsigned)max);
  return false;
}

VOID NTAPI KeRaiseIrql(KIRQL NewIrql, PKIRQL OldIrql) {
  KIRQL now = t_irql;
  if (OldIrql != NULL) {
    *OldIrql = now;
  }
  if (NewIrql < now) {
    /* IRQL_NOT_GREATER_OR_EQUAL on Windows. */
    wmiev__host_violation(WMIEV_HOST_RULE_IRQL, "KeRaiseIrql to %s (%u) from the higher %s (%u)",
                          irql_name(NewIrql), (unsigned)NewIrql, irql_name(now), (unsigned)now);
    return;
  }
  if (NewIrql > HIGH_LEVEL) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRQL, "KeRaiseIrql to %u, above HIGH_LEVEL",
                          (unsigned)NewIrql);
    return;
  }
  t_irql = NewIrql;
}

VOID NTAPI KeLowerIrql(KIRQL NewIrql) {
  KIRQL now = t_irql;
  if (NewIrql > now) {
    /* IRQL_NOT_LESS_OR_EQUAL on Windows. */
    wmiev__host_violation(WMIEV_HOST_RULE_IRQL, "KeLowerIrql to %s (%u) from the lower %s (%u)",
                          irql_name(NewIrql), (unsigned)NewIrql, irql_name(now), (unsigned)now);
    return;
  }
  t_irql = NewIrql;
}

KIRQL NTAPI KeRaiseIrqlToDpcLevel(VOID) {
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  return old;
}

VOID wmiev_wdk_paged_code(PCSTR Function) {
  /* PAGED_CODE(): pageable code must not run at DISPATCH_LEVEL or above. */
  if (t_irql > APC_LEVEL) {
    wmiev__host_violation(WMIEV_HOST_RULE_IRQL,
                          "PAGED_CODE in %s at %s (%u): pageable code runs at APC_LEVEL at most",
                          Function != NULL ? Function : "?", irql_name(t_irql), (unsigned)t_irql);
  }
}
