/* The event a subscriber receives, from a validated WNODE (event_view.h). */
#include "event_view.h"

#include <string.h>

#include <wmiev/name.h>

void wmiev__event_fill(wmiev_event *ev, const uint8_t *wnode, const wmiev_wnode_view *view) {
  memset(ev, 0, sizeof *ev);
  ev->guid = view->guid;
  ev->provider_id = view->provider_id;
  ev->timestamp = view->timestamp;
  const wmiev_wnode_instance_view *in = &view->instance;
  if (view->kind == WMIEV_WNODE_ALL_DATA) {
    /* Many instances: the whole block from DataBlockOffset is the data; walk
     * view to see each. The validator checks DataBlockOffset only with
     * FIXED_INSTANCE_SIZE (the array form does not use it), so it is taken
     * only when it lies past the fixed part and inside the WNODE: data then
     * stays inside the event and is NULL exactly when data_size is 0
     * (found by tests/fuzz/fuzz_fire). */
    uint64_t fixed_part =
        view->fixed_instance_size
            ? 64u /* Microsoft's sizeof(WNODE_ALL_DATA), decisions D1 */
            : offsetof(WNODE_ALL_DATA, OffsetInstanceDataAndLength) +
                  (uint64_t)view->instance_count * sizeof(OFFSETINSTANCEDATAANDLENGTH);
    uint32_t offset = view->data_block_offset;
    if (view->instance_count != 0 && offset >= fixed_part && offset < view->buffer_size) {
      ev->data = wnode + offset;
      ev->data_size = view->buffer_size - offset;
    }
    return;
  }
  ev->has_name = in->has_name;
  ev->instance_index = in->has_name ? 0 : in->index;
  if (in->has_name) {
    size_t units = in->name_bytes / 2u;
    /* Names are 2-aligned in the WNODE (validated), the WNODE itself aligned. */
    const uint16_t *name = (const uint16_t *)(const void *)in->name;
    if (units != 0 && name[units - 1] == 0) {
      units--;
    }
    ev->name_utf16 = name;
    ev->name_units = (uint32_t)units;
  }
  ev->data = in->data;
  ev->data_size = in->size;
}

const char *wmiev__event_name_utf8(const void *units, size_t count, char *stack, size_t stack_size,
                                   void *(*alloc)(size_t size, void *ctx), void *ctx, char **heap,
                                   size_t *heap_size) {
  size_t len = 0;
  wmiev_status st = wmiev_name_utf16_to_utf8(units, count * 2, 0, stack, stack_size, &len, NULL);
  if (WMIEV_SUCCESS(st)) {
    return stack;
  }
  if (st != WMIEV_STATUS_BUFFER_TOO_SMALL) {
    return "";
  }
  char *block = alloc(len + 1, ctx);
  if (block == NULL) {
    return "";
  }
  *heap = block;
  *heap_size = len + 1;
  st = wmiev_name_utf16_to_utf8(units, count * 2, 0, block, len + 1, &len, NULL);
  return WMIEV_SUCCESS(st) ? block : "";
}
