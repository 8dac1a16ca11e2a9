/* The default allocator: malloc/free behind the wmiev_allocator hook. */
#include <wmiev/alloc.h>

#include <stdlib.h>

static void *default_alloc(size_t size, void *ctx) {
  (void)ctx;
  return malloc(size == 0 ? 1 : size);
}

static void default_free(void *ptr, size_t size, void *ctx) {
  (void)size;
  (void)ctx;
  free(ptr);
}

static const wmiev_allocator default_allocator = {default_alloc, default_free, NULL};

const wmiev_allocator *wmiev_allocator_default(void) { return &default_allocator; }
