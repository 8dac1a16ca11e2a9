/*
 * thermo: the portable provider (what it is: thermo.h). Only <wmiev/wmiev.h>
 * and the C library's freestanding headers: the same object code runs in a
 * Linux test and in a Windows driver.
 *
 * Memory comes from wmiev_allocator_default(): malloc on Linux, nonpaged
 * pool in the Windows kernel build (there is no malloc in a driver).
 * The reading may be fired from a DPC on Windows while WMI's function
 * control runs on another thread, hence the atomics.
 */
#include "thermo.h"

#include <stdatomic.h>
#include <string.h>

/* {6a8e00eb-5890-49a3-a922-d294686d0e65} */
const GUID thermo_reading_guid = {
    0x6a8e00eb, 0x5890, 0x49a3, {0xa9, 0x22, 0xd2, 0x94, 0x68, 0x6d, 0x0e, 0x65}};
/* {c89b6462-2627-43da-b51f-b7d79c09d977} */
const GUID thermo_state_guid = {
    0xc89b6462, 0x2627, 0x43da, {0xb5, 0x1f, 0xb7, 0xd7, 0x9c, 0x09, 0xd9, 0x77}};

enum { READING_INDEX = 0, STATE_INDEX = 1, GUID_COUNT = 2 };

/* One static instance each, named from the base name: "Thermo0". */
static const wmiev_guid_reg thermo_guids[GUID_COUNT] = {
    [READING_INDEX] = {&thermo_reading_guid, 1, WMIREG_FLAG_EVENT_ONLY_GUID},
    [STATE_INDEX] = {&thermo_state_guid, 1, 0},
};

static const uint16_t base_name[] = {'T', 'h', 'e', 'r', 'm', 'o'};

struct thermo {
  wmiev_bus *bus;
  wmiev_provider *provider;
  atomic_bool enabled; /* WMI enabled the reading event */
  atomic_int celsius;
  atomic_uint readings;
};

/* ---- wmilib callbacks (PASSIVE_LEVEL on Windows) ---------------------------------------- */

static wmiev_status query_reginfo(wmiev_device *device, wmiev_reginfo_answer *answer,
                                  void *payload) {
  (void)device;
  (void)payload;
  /* No registry path: on Windows the backend answers with the driver's
   * service key; no MOF resource in this example. */
  answer->reg_flags = WMIREG_FLAG_INSTANCE_BASENAME;
  answer->base_name = base_name;
  answer->base_name_units = sizeof base_name / sizeof base_name[0];
  return WMIEV_STATUS_SUCCESS;
}

static wmiev_status query_data_block(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                     uint32_t instance_index, uint32_t instance_count,
                                     uint32_t *instance_lengths, uint32_t buffer_avail,
                                     uint8_t *buffer, void *payload) {
  thermo *t = payload;
  if (guid_index == READING_INDEX) {
    /* Event-only: WMI never queries it. */
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_INVALID_DEVICE_REQUEST, 0);
  }
  if (guid_index != STATE_INDEX) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_WMI_GUID_NOT_FOUND, 0);
  }
  if (instance_index != 0 || instance_count != 1) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND, 0);
  }
  thermo_state state = {atomic_load(&t->celsius), atomic_load(&t->readings)};
  if (instance_lengths == NULL || buffer_avail < sizeof state) {
    return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_BUFFER_TOO_SMALL,
                                         (uint32_t)sizeof state);
  }
  memcpy(buffer, &state, sizeof state);
  instance_lengths[0] = (uint32_t)sizeof state;
  return wmiev_wmilib_complete_request(device, irp, WMIEV_STATUS_SUCCESS, (uint32_t)sizeof state);
}

static wmiev_status function_control(wmiev_device *device, wmiev_irp *irp, uint32_t guid_index,
                                     wmiev_function_control function, bool enable,
                                     void *payload) {
  thermo *t = payload;
  wmiev_status status = WMIEV_STATUS_SUCCESS;
  if (guid_index >= GUID_COUNT) {
    status = WMIEV_STATUS_WMI_GUID_NOT_FOUND;
  } else if (guid_index == READING_INDEX && function == WMIEV_EVENT_CONTROL) {
    /* WMI counts consumers: one enable for the first, one disable after the last. */
    atomic_store(&t->enabled, enable);
  }
  return wmiev_wmilib_complete_request(device, irp, status, 0);
}

/* ---- Life cycle ------------------------------------------------------------------------------ */

wmiev_status thermo_start(wmiev_bus *bus, void *wdm_device, thermo **out) {
  if (out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  *out = NULL;
  const wmiev_allocator *a = wmiev_allocator_default();
  thermo *t = a->alloc(sizeof *t, a->ctx);
  if (t == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  memset(t, 0, sizeof *t);
  t->bus = bus;
  atomic_init(&t->enabled, false);
  atomic_init(&t->celsius, 0);
  atomic_init(&t->readings, 0u);

  wmiev_provider_options options;
  memset(&options, 0, sizeof options);
  options.context.guid_count = GUID_COUNT;
  options.context.guid_list = thermo_guids;
  options.context.callbacks.query_reginfo = query_reginfo;
  options.context.callbacks.query_data_block = query_data_block;
  options.context.callbacks.function_control = function_control;
  options.context.payload = t;
  options.name = "thermo";
  options.wdm_device = wdm_device;
  wmiev_status status = wmiev_provider_create(wmiev_bus_registry(bus), &options, &t->provider);
  if (!WMIEV_SUCCESS(status)) {
    a->free(t, sizeof *t, a->ctx);
    return status;
  }
  /* Published before registering: on Windows WMI sends IRP_MN_REGINFO(_EX)
   * to the driver's dispatch routine, which must find the provider, and it
   * may do so before IoWMIRegistrationControl returns. */
  *out = t;
  status = wmiev_registration_control(wmiev_provider_device(t->provider), WMIREG_ACTION_REGISTER,
                                      NULL);
  if (!WMIEV_SUCCESS(status)) {
    *out = NULL;
    (void)wmiev_provider_destroy(t->provider);
    a->free(t, sizeof *t, a->ctx);
    return status;
  }
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status thermo_stop(thermo *t) {
  if (t == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev_status status = wmiev_provider_destroy(t->provider);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  const wmiev_allocator *a = wmiev_allocator_default();
  a->free(t, sizeof *t, a->ctx);
  return WMIEV_STATUS_SUCCESS;
}

wmiev_provider *thermo_provider(thermo *t) {
  return t != NULL ? t->provider : NULL;
}

/* ---- Firing -------------------------------------------------------------------------------- */

/*
 * The IoWMIWriteEvent form: the driver builds the whole WNODE in memory from
 * wmiev_bus_alloc_event() (nonpaged pool on Windows). On success it is no
 * longer ours; on failure we still own it and free it.
 */
static wmiev_status write_reading(thermo *t, const thermo_reading *reading) {
  wmiev_wnode_header_params header;
  memset(&header, 0, sizeof header);
  header.guid = thermo_reading_guid;
  header.provider_id = wmiev_device_provider_id(wmiev_provider_device(t->provider));
  header.extra_flags = WNODE_FLAG_EVENT_ITEM;
  wmiev_wnode_instance instance;
  memset(&instance, 0, sizeof instance);
  instance.index = 0; /* static name "Thermo0" */
  instance.data = reading;
  instance.size = (uint32_t)sizeof *reading;

  size_t size = 0;
  wmiev_status status = wmiev_wnode_build_single_instance(NULL, 0, &header, &instance, &size, NULL);
  if (status != WMIEV_STATUS_BUFFER_TOO_SMALL) {
    return status;
  }
  void *wnode = wmiev_bus_alloc_event(t->bus, size);
  if (wnode == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  status = wmiev_wnode_build_single_instance(wnode, size, &header, &instance, &size, NULL);
  if (WMIEV_SUCCESS(status)) {
    status = wmiev_bus_write_event(t->bus, wnode, NULL);
  }
  if (!WMIEV_SUCCESS(status)) {
    wmiev_bus_free_event(t->bus, wnode);
  }
  return status;
}

wmiev_status thermo_fire(thermo *t, int32_t celsius) {
  if (t == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  atomic_store(&t->celsius, celsius);
  uint32_t sequence = atomic_fetch_add(&t->readings, 1u) + 1u;
  if (!atomic_load(&t->enabled)) {
    return WMIEV_STATUS_SUCCESS; /* nobody listens: drivers fire only enabled events */
  }
  thermo_reading reading = {celsius, sequence};
  if (celsius >= THERMO_ALARM_CELSIUS) {
    return write_reading(t, &reading);
  }
  /* The WmiFireEvent form: static instance 0, the data is copied. */
  return wmiev_bus_fire_event(t->bus, wmiev_provider_device(t->provider), &thermo_reading_guid, 0,
                              &reading, (uint32_t)sizeof reading, NULL);
}
