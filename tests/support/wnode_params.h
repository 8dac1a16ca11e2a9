/*
 * Arguments for the WNODE builders (wmiev/wnode.h) shared by the tests that
 * build WNODEs and by the fuzz seed generator: the header of the golden
 * cases of tests/unit/test_wnode_build.c (make_seeds writes those goldens
 * as seeds, so both must use the same one) and instances by index or by
 * name. Header only: make_seeds links no test support library.
 */
#ifndef WMIEV_TEST_WNODE_PARAMS_H
#define WMIEV_TEST_WNODE_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wmiev/wmiev.h>

/* The golden cases' header: every field non-zero, so each shows in the bytes. */
static inline wmiev_wnode_header_params golden_hdr(uint32_t extra_flags) {
  wmiev_wnode_header_params h = {
      .guid = {0x01234567u, 0x89ABu, 0xCDEFu, {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE}},
      .provider_id = 0x11223344u,
      .extra_flags = extra_flags,
      .timestamp = INT64_C(0x01D9A0B0C0D0E0F0),
      .client_context = 0x55667788u,
  };
  return h;
}

/* Static instance `index` carrying `size` bytes at `data`. */
static inline wmiev_wnode_instance by_index(uint32_t index, const void *data, uint32_t size) {
  wmiev_wnode_instance in = {.index = index, .data = data, .size = size};
  return in;
}

/* The instance named by `units` UTF-16 units at `name` (a dynamic name). */
static inline wmiev_wnode_instance by_name(const uint16_t *name, size_t units, const void *data,
                                           uint32_t size) {
  wmiev_wnode_instance in = {
      .dynamic_name = true, .name = name, .name_units = units, .data = data, .size = size};
  return in;
}

#endif /* WMIEV_TEST_WNODE_PARAMS_H */
