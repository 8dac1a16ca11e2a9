/*
 * wmiev-portable-driver: the Linux host of the portable provider thermo.c
 * (the Windows host is windows_entry.c). The in-process bus plays WMI:
 * subscribing makes it send the provider IRP_MN_ENABLE_EVENTS, two readings
 * are fired (one through each fire path), the data block is queried by its
 * instance name, and unsubscribing sends IRP_MN_DISABLE_EVENTS. Synchronous
 * delivery: an event is printed before its fire call returns.
 *
 * Exit status 0 when both events arrived with the values fired and the
 * query answered; registered as the CTest examples.portable_driver.
 */
#include <stdio.h>
#include <string.h>

#include "thermo.h"

typedef struct received {
  int count;
  thermo_reading last[2];
} received;

static void on_reading(const wmiev_event *ev, void *payload) {
  received *r = payload;
  thermo_reading reading;
  memset(&reading, 0, sizeof reading);
  if (ev->data_size >= sizeof reading) {
    memcpy(&reading, ev->data, sizeof reading);
  }
  printf("event from provider %u, instance \"%s\": %d C, reading #%u\n", ev->provider_id,
         wmiev_event_name_utf8(ev), reading.celsius, reading.sequence);
  if (r->count < 2) {
    r->last[r->count] = reading;
  }
  r->count++;
}

static int fail(const char *what, wmiev_status status) {
  fprintf(stderr, "wmiev-portable-driver: %s: %s\n", what, wmiev_status_name(status));
  return 1;
}

int main(void) {
  wmiev_bus_options options;
  memset(&options, 0, sizeof options);
  options.delivery = WMIEV_DELIVERY_SYNC;
  wmiev_bus *bus = NULL;
  wmiev_status st = wmiev_bus_create(&options, &bus);
  if (!WMIEV_SUCCESS(st)) {
    return fail("wmiev_bus_create", st);
  }
  thermo *t = NULL;
  st = thermo_start(bus, NULL, &t); /* no WDM device object on Linux */
  if (!WMIEV_SUCCESS(st)) {
    return fail("thermo_start", st);
  }
  received got;
  memset(&got, 0, sizeof got);
  wmiev_subscription *sub = NULL;
  st = wmiev_bus_subscribe(bus, &thermo_reading_guid, on_reading, &got, &sub);
  if (!WMIEV_SUCCESS(st)) {
    return fail("wmiev_bus_subscribe", st);
  }

  /* 21: WmiFireEvent form; 95: IoWMIWriteEvent form (THERMO_ALARM_CELSIUS). */
  const int32_t readings[2] = {21, 95};
  for (int i = 0; i < 2; i++) {
    st = thermo_fire(t, readings[i]);
    if (!WMIEV_SUCCESS(st)) {
      return fail("thermo_fire", st);
    }
  }

  /* The data block, by its static instance name, as a consumer asks WMI. */
  static const uint16_t name[] = {'T', 'h', 'e', 'r', 'm', 'o', '0'};
  wmiev_instance_ref instance;
  memset(&instance, 0, sizeof instance);
  instance.name = name;
  instance.name_units = sizeof name / sizeof name[0];
  _Alignas(8) uint8_t reply[256];
  uint32_t size = sizeof reply;
  st = wmiev_query_single_instance(wmiev_bus_registry(bus), &thermo_state_guid, &instance, reply,
                                   &size, NULL);
  if (!WMIEV_SUCCESS(st)) {
    return fail("wmiev_query_single_instance", st);
  }
  wmiev_wnode_view view;
  st = wmiev_wnode_validate(reply, size, 0, &view, NULL);
  thermo_state state;
  memset(&state, 0, sizeof state);
  if (WMIEV_SUCCESS(st) && view.instance.size >= sizeof state) {
    memcpy(&state, view.instance.data, sizeof state);
  }
  printf("state: %d C after %u readings\n", state.celsius, state.readings);

  st = wmiev_bus_unsubscribe(sub);
  if (!WMIEV_SUCCESS(st)) {
    return fail("wmiev_bus_unsubscribe", st);
  }
  st = thermo_stop(t);
  if (!WMIEV_SUCCESS(st)) {
    return fail("thermo_stop", st);
  }
  wmiev_bus_destroy(bus);

  bool ok = got.count == 2 && got.last[0].celsius == 21 && got.last[0].sequence == 1 &&
            got.last[1].celsius == 95 && got.last[1].sequence == 2 && state.celsius == 95 &&
            state.readings == 2;
  printf("%s: %d events received\n", ok ? "ok" : "FAILED", got.count);
  return ok ? 0 : 1;
}
