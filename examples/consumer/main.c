/*
 * wmiev-consumer: the smallest program that subscribes to a WMI event and
 * prints what arrives. A provider (a "thermometer" with one static-name
 * instance) registers with the bus; subscribing makes the bus send it
 * IRP_MN_ENABLE_EVENTS; it fires three events; unsubscribing sends
 * IRP_MN_DISABLE_EVENTS. Synchronous delivery: each event is printed before
 * the fire call returns.
 */
#include <stdio.h>
#include <string.h>

#include <wmiev/wmiev.h>

static const GUID thermometer_event = {
    0x2b3c7d11, 0x8e21, 0x4c0f, {0xa4, 0x6d, 0x10, 0x5e, 0x77, 0x3a, 0x91, 0xc2}};

static void print_event(const wmiev_event *ev, void *payload) {
  (void)payload;
  char guid[WMIEV_GUID_STRING_SIZE];
  wmiev_guid_format(&ev->guid, guid);
  int32_t celsius = 0;
  if (ev->data_size >= sizeof celsius) {
    memcpy(&celsius, ev->data, sizeof celsius);
  }
  printf("event %s from provider %u, instance \"%s\": %d C (%u bytes of data)\n", guid,
         ev->provider_id, wmiev_event_name_utf8(ev), celsius, ev->data_size);
}

/* The provider's two required wmilib callbacks and its function control. */
static const uint16_t base_name[] = {'T', 'h', 'e', 'r', 'm', 'o'};

static wmiev_status reginfo(wmiev_device *device, wmiev_reginfo_answer *answer, void *payload) {
  (void)device;
  (void)payload;
  answer->reg_flags = WMIREG_FLAG_INSTANCE_BASENAME; /* instance 0 is "Thermo0" */
  answer->base_name = base_name;
  answer->base_name_units = sizeof base_name / sizeof base_name[0];
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status query(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                          uint32_t instance_index, uint32_t instance_count, uint32_t *lengths,
                          uint32_t avail, uint8_t *buffer, void *payload) {
  (void)guid_index, (void)instance_index, (void)instance_count, (void)lengths, (void)avail;
  (void)buffer, (void)payload;
  /* An event-only block: nothing to query. */
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_WMI_GUID_NOT_FOUND, 0);
}

static wmiev_status control(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                            wmiev_function_control function, bool enable, void *payload) {
  (void)guid_index, (void)payload;
  if (function == WMIEV_EVENT_CONTROL) {
    printf("provider: IRP_MN_%s_EVENTS\n", enable ? "ENABLE" : "DISABLE");
  }
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, 0);
}

int main(void) {
  wmiev_bus *bus = NULL;
  if (!WMIEV_SUCCESS(wmiev_bus_create(NULL, &bus))) { /* defaults: synchronous delivery */
    return 1;
  }
  wmiev_guid_reg blocks[] = {{&thermometer_event, 1, WMIREG_FLAG_EVENT_ONLY_GUID}};
  wmiev_provider_options opts;
  memset(&opts, 0, sizeof opts);
  opts.context.guid_count = 1;
  opts.context.guid_list = blocks;
  opts.context.callbacks.query_reginfo = reginfo;
  opts.context.callbacks.query_data_block = query;
  opts.context.callbacks.function_control = control;
  wmiev_provider *provider = NULL;
  if (!WMIEV_SUCCESS(wmiev_provider_create(wmiev_bus_registry(bus), &opts, &provider)) ||
      !WMIEV_SUCCESS(wmiev_registration_control(wmiev_provider_device(provider),
                                                WMIREG_ACTION_REGISTER, NULL))) {
    return 1;
  }

  wmiev_subscription *sub = NULL;
  if (!WMIEV_SUCCESS(wmiev_bus_subscribe(bus, &thermometer_event, print_event, NULL, &sub))) {
    return 1;
  }
  for (int32_t celsius = 21; celsius <= 23; celsius++) {
    wmiev_status st = wmiev_bus_fire_event(bus, wmiev_provider_device(provider),
                                           &thermometer_event, 0, &celsius, sizeof celsius, NULL);
    if (!WMIEV_SUCCESS(st)) {
      fprintf(stderr, "fire failed: %s\n", wmiev_status_name(st));
      return 1;
    }
  }
  (void)wmiev_bus_unsubscribe(sub);

  wmiev_bus_stats stats;
  wmiev_bus_get_stats(bus, &stats);
  printf("fired %llu, delivered %llu\n", (unsigned long long)stats.fired,
         (unsigned long long)stats.delivered);
  (void)wmiev_provider_destroy(provider);
  wmiev_bus_destroy(bus);
  return stats.delivered == 3 ? 0 : 1;
}
