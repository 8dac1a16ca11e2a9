/* Small helpers several test programs share (test_util.h). */
#define _POSIX_C_SOURCE 200809L /* nanosleep, clock_gettime */

#include "test_util.h"

#include <time.h>

uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

int64_t windows_time_100ns(bool coarse) {
  struct timespec ts;
  clock_gettime(coarse ? CLOCK_REALTIME_COARSE : CLOCK_REALTIME, &ts);
  return ((int64_t)ts.tv_sec + 11644473600LL) * 10000000LL + ts.tv_nsec / 100;
}

wmiev_status xor_method(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                        uint32_t instance_index, uint32_t method_id, uint32_t in_size,
                        uint32_t out_size, uint8_t *buffer, void *payload) {
  (void)guid_index;
  (void)instance_index;
  (void)payload;
  if (method_id != 1) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_WMI_ITEMID_NOT_FOUND, 0);
  }
  if (out_size < in_size) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL, in_size);
  }
  for (uint32_t i = 0; i < in_size; i++) {
    buffer[i] ^= XOR_METHOD_KEY;
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, in_size);
}

uint64_t test_rng_next(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

uint32_t test_rng_below(uint64_t *state, uint32_t n) {
  return (uint32_t)(test_rng_next(state) >> 33) % n;
}
