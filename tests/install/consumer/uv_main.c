/*
 * The wmiev::uv half of the install test, built once through CMake
 * (find_package(wmiev COMPONENTS uv)) and once through `pkg-config wmiev-uv`:
 * attaches a libuv-mode bus to a loop, checks that a second attachment is
 * refused, detaches and lets the loop close the handle.
 */
/* <uv.h> needs POSIX types that strict C11 hides; a strict-C11 libuv user must ask for them. */
#define _POSIX_C_SOURCE 200809L

#include <wmiev/uv.h>

#include <stdio.h>
#include <string.h>

static void closed(void *ctx) { *(int *)ctx += 1; }

int main(void) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    fprintf(stderr, "uv_loop_init failed\n");
    return 1;
  }
  wmiev_bus_options options;
  memset(&options, 0, sizeof options);
  options.delivery = WMIEV_DELIVERY_LIBUV;
  wmiev_bus *bus = NULL;
  wmiev_uv *attachment = NULL;
  wmiev_uv *second = NULL;
  if (!WMIEV_SUCCESS(wmiev_bus_create(&options, &bus)) ||
      !WMIEV_SUCCESS(wmiev_uv_attach(bus, &loop, NULL, &attachment))) {
    fprintf(stderr, "could not create and attach a bus\n");
    return 1;
  }
  int ok = wmiev_uv_attach(bus, &loop, NULL, &second) == WMIEV_STATUS_INVALID_PARAMETER;
  int closed_calls = 0;
  wmiev_uv_detach(attachment, closed, &closed_calls);
  (void)uv_run(&loop, UV_RUN_DEFAULT);
  ok = ok && closed_calls == 1 && uv_loop_close(&loop) == 0;
  wmiev_bus_destroy(bus);
  printf("wmiev-uv: attached to a libuv %s loop, second attach refused, detached\n",
         uv_version_string());
  if (!ok) {
    fprintf(stderr, "unexpected attach/detach behaviour\n");
  }
  return ok ? 0 : 1;
}
