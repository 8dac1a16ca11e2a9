/*
 * Static instance names of a registered block, generated on demand so that a
 * block with many instances costs no memory per instance (spec §3.3):
 *   INSTANCE_LIST      the names the provider listed, in order;
 *   INSTANCE_BASENAME  base name + decimal index ("Toaster" -> "Toaster0");
 *   INSTANCE_PDO       PDO instance id + "_" + decimal index, as Windows shows
 *                      them ("ROOT\TOASTER\0000_0").
 * Names compare exactly, unit by unit (docs/decisions.md).
 */
#include <string.h>

#include "registry_internal.h"

/* Writes the decimal digits of `value` into `digits`, returns how many. */
static size_t decimal_units(uint32_t value, uint16_t digits[10]) {
  uint16_t reversed[10];
  size_t n = 0;
  do {
    reversed[n++] = (uint16_t)('0' + value % 10u);
    value /= 10u;
  } while (value != 0);
  for (size_t i = 0; i < n; i++) {
    digits[i] = reversed[n - 1 - i];
  }
  return n;
}

wmiev_status wmiev__block_instance_name(const wmiev__block *block, uint32_t index, uint16_t *out,
                                        size_t out_units, size_t *units_needed) {
  if (block->names == WMIEV_NAMES_DYNAMIC || index >= block->instance_count) {
    return WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND;
  }
  const uint16_t *prefix = block->units;
  size_t prefix_units = block->units_count;
  uint16_t suffix[11];
  size_t suffix_units = 0;
  if (block->names == WMIEV_NAMES_LIST) {
    prefix = block->units + block->list_start[index];
    prefix_units = block->list_start[index + 1] - block->list_start[index];
  } else {
    if (block->names == WMIEV_NAMES_PDO) {
      suffix[suffix_units++] = '_';
    }
    suffix_units += decimal_units(index, suffix + suffix_units);
  }
  *units_needed = prefix_units + suffix_units;
  if (out == NULL || out_units < *units_needed) {
    return WMIEV_STATUS_BUFFER_TOO_SMALL;
  }
  if (prefix_units != 0) {
    memcpy(out, prefix, prefix_units * sizeof *out);
  }
  memcpy(out + prefix_units, suffix, suffix_units * sizeof *out);
  return WMIEV_STATUS_SUCCESS;
}

/* Parses the decimal suffix of a generated name: digits only, no leading
 * zero unless the index is 0, value below the instance count. */
static bool parse_index(const uint16_t *digits, size_t n, uint32_t count, uint32_t *index) {
  if (n == 0 || n > 10 || (n > 1 && digits[0] == '0')) {
    return false;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < n; i++) {
    if (digits[i] < '0' || digits[i] > '9') {
      return false;
    }
    value = value * 10u + (uint64_t)(digits[i] - '0');
  }
  if (value >= count) {
    return false;
  }
  *index = (uint32_t)value;
  return true;
}

bool wmiev__block_find_instance(const wmiev__block *block, const uint16_t *name, size_t units,
                                uint32_t *index) {
  switch (block->names) {
  case WMIEV_NAMES_LIST:
    for (uint32_t i = 0; i < block->instance_count; i++) {
      size_t len = block->list_start[i + 1] - block->list_start[i];
      if (len == units &&
          (units == 0 || memcmp(block->units + block->list_start[i], name, units * 2) == 0)) {
        *index = i;
        return true;
      }
    }
    return false;
  case WMIEV_NAMES_BASENAME:
  case WMIEV_NAMES_PDO: {
    size_t prefix = block->units_count + (block->names == WMIEV_NAMES_PDO ? 1u : 0u);
    if (units <= prefix ||
        (block->units_count != 0 && memcmp(name, block->units, block->units_count * 2) != 0) ||
        (block->names == WMIEV_NAMES_PDO && name[block->units_count] != '_')) {
      return false;
    }
    return parse_index(name + prefix, units - prefix, block->instance_count, index);
  }
  case WMIEV_NAMES_DYNAMIC:
  default:
    return false;
  }
}
