/*
 * Small helpers several test programs share (no cmocka: the stress program
 * uses them too): a monotonic clock and a sleep in milliseconds, the
 * system time in Windows' units, and a
 * portable provider's method callback with a known answer.
 */
#ifndef WMIEV_TEST_UTIL_H
#define WMIEV_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <wmiev/wmiev.h>

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t now_ms(void);
/* Sleeps at least `ms` milliseconds (resumed when a signal interrupts it). */
void sleep_ms(long ms);

/* The system time as Windows counts it (KeQuerySystemTime): 100-ns units
 * since 1601-01-01, from CLOCK_REALTIME, or from CLOCK_REALTIME_COARSE (the
 * kernel's tick-granular copy) when `coarse`. */
int64_t windows_time_100ns(bool coarse);
/* How far the tick clock (decisions D20) may lag a precise reading: a tick,
 * or a kernel tick when it reads the coarse clock directly, plus however
 * long a loaded machine delays the ticker. Generous; it is never ahead. */
#define TICK_SLACK_100NS (50 * 10000LL)

/* A deterministic pseudo-random sequence (xorshift64*) for tests that pick
 * sizes and actions: the next value from *state (which must not start at
 * 0), and one below `n` (> 0). */
uint64_t test_rng_next(uint64_t *state);
uint32_t test_rng_below(uint64_t *state, uint32_t n);

/* The key of xor_method(): output byte i = input byte i ^ XOR_METHOD_KEY. */
#define XOR_METHOD_KEY 0x5Au
/* A wmilib execute_method callback: method 1, on any instance, answers its
 * input XOR XOR_METHOD_KEY, or STATUS_BUFFER_TOO_SMALL asking for the input's
 * size; any other method is STATUS_WMI_ITEMID_NOT_FOUND. */
wmiev_status xor_method(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                        uint32_t instance_index, uint32_t method_id, uint32_t in_size,
                        uint32_t out_size, uint8_t *buffer, void *payload);

#endif /* WMIEV_TEST_UTIL_H */
