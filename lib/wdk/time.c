/*
 * Time: KeQuerySystemTime reads the host bus's clock (the configured one —
 * possibly a simulator's virtual clock — or the system clock), so that
 * timestamps a driver writes and those the bus stamps agree.
 */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "host_private.h"

VOID NTAPI KeQuerySystemTime(PLARGE_INTEGER CurrentTime) {
  CurrentTime->QuadPart = wmiev_bus_now(wmiev__host_bus());
}

VOID NTAPI KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime) { KeQuerySystemTime(CurrentTime); }

ULONGLONG NTAPI KeQueryInterruptTime(VOID) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ULONGLONG)ts.tv_sec * 10000000u + (ULONGLONG)ts.tv_nsec / 100u;
}

VOID NTAPI KeStallExecutionProcessor(ULONG MicroSeconds) {
  /* A busy wait, as on Windows (callable at any IRQL). */
  struct timespec start;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  uint64_t limit = (uint64_t)MicroSeconds * 1000u;
  do {
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((uint64_t)(now.tv_sec - start.tv_sec) * 1000000000u + (uint64_t)now.tv_nsec -
               (uint64_t)start.tv_nsec <
           limit);
}
