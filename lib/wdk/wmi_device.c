/*
 * The core device behind each DEVICE_OBJECT that takes part in WMI.
 *
 * WMI knows a provider by a core wmiev_device (provider id, registration
 * state, blocks); the driver knows it by its DEVICE_OBJECT. The first
 * IoWMIRegistrationControl or IoWMIDeviceObjectToProviderId for a device
 * object creates its core device in the host's registry and keeps it in the
 * device's WMI slot; the core device's payload points back. Its dispatch
 * routine (wmi_irp.c) carries every WMI IRP into the device's WDK stack.
 * The core device is not stacked in the core: the WDK stack does the
 * stacking, so each registered device object has a standalone core device.
 *
 * IoDeleteDevice runs our delete hook first: the core device is deregistered
 * (waiting for WMI IRPs in flight) and destroyed before the device object
 * goes. A device still registered at that point broke the documented rule
 * (deregister on IRP_MN_REMOVE_DEVICE / SURPRISE_REMOVAL): reported as a leak.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#include <wmiev/name.h>

#include "wmi_internal.h"

/* What our core devices carry as payload. */
typedef struct binding {
  PDEVICE_OBJECT device;
  bool registered; /* under g_lock */
} binding;

/* Guards the WMI slots of device objects and binding state. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

PDEVICE_OBJECT wmiev__wmi_device_object(const wmiev_device *core) {
  const binding *b = wmiev_device_payload(core);
  return b != NULL ? b->device : NULL;
}

void wmiev__wmi_set_registered(wmiev_device *core, bool registered) {
  binding *b = wmiev_device_payload(core);
  if (b != NULL) {
    pthread_mutex_lock(&g_lock);
    b->registered = registered;
    pthread_mutex_unlock(&g_lock);
  }
}

/* "<service>:<pointer>" for the core's diagnostics, e.g. "\Driver\Toaster:0x5578..". */
static void device_name(PDEVICE_OBJECT device, char *out, size_t out_size) {
  char driver[96] = "?";
  PDRIVER_OBJECT d = device->DriverObject;
  if (d != NULL && d->DriverName.Buffer != NULL) {
    size_t len = 0;
    if (!WMIEV_SUCCESS(wmiev_name_utf16_to_utf8(d->DriverName.Buffer, d->DriverName.Length & ~1u, 0,
                                                driver, sizeof driver, &len, NULL))) {
      (void)snprintf(driver, sizeof driver, "?");
    }
  }
  (void)snprintf(out, out_size, "%s:%p", driver, (void *)device);
}

static void on_device_delete(PDEVICE_OBJECT device);

wmiev_device *wmiev__wmi_core_device(PDEVICE_OBJECT device, bool create) {
  if (device == NULL || !wmiev__device_is_live(device)) {
    return NULL;
  }
  void **slot = wmiev__device_wmi_slot(device);
  if (slot == NULL) {
    return NULL;
  }
  pthread_mutex_lock(&g_lock);
  wmiev_device *core = *slot;
  pthread_mutex_unlock(&g_lock);
  if (core != NULL || !create) {
    return core;
  }
  /* Idempotent; repeated on every core device creation rather than once per
   * process, so it does not depend on whether the host keeps it across a
   * shutdown. */
  wmiev__set_device_delete_hook(on_device_delete);
  binding *b = wmiev__host_alloc(sizeof *b);
  if (b == NULL) {
    return NULL;
  }
  b->device = device;
  char name[160];
  device_name(device, name, sizeof name);
  wmiev_device_options options = {
      .dispatch = wmiev__wmi_dispatch,
      .payload = b,
      .instance_id = wmiev__pdo_instance_id(device),
      .name = name,
  };
  wmiev_status status = wmiev_device_create(wmiev__host_registry(), &options, &core);
  if (!WMIEV_SUCCESS(status)) {
    wmiev__host_free(b, sizeof *b);
    return NULL;
  }
  /* Created outside the lock (the registry has its own): if another thread
   * won the race, keep its device and drop ours, which nobody has seen. */
  pthread_mutex_lock(&g_lock);
  wmiev_device *winner = *slot;
  if (winner == NULL) {
    *slot = core;
  }
  pthread_mutex_unlock(&g_lock);
  if (winner != NULL) {
    (void)wmiev_device_destroy(core);
    wmiev__host_free(b, sizeof *b);
    return winner;
  }
  return core;
}

static void on_device_delete(PDEVICE_OBJECT device) {
  void **slot = wmiev__device_wmi_slot(device);
  if (slot == NULL) {
    return;
  }
  pthread_mutex_lock(&g_lock);
  wmiev_device *core = *slot;
  binding *b = core != NULL ? wmiev_device_payload(core) : NULL;
  bool registered = b != NULL && b->registered;
  pthread_mutex_unlock(&g_lock);
  if (core == NULL) {
    return;
  }
  if (registered) {
    wmiev__host_violation(WMIEV_HOST_RULE_LEAK,
                          "device object %p of driver %p deleted while still registered with "
                          "WMI (IoWMIRegistrationControl(WMIREG_ACTION_DEREGISTER) belongs in "
                          "IRP_MN_REMOVE_DEVICE or IRP_MN_SURPRISE_REMOVAL); deregistered now",
                          (void *)device, (void *)device->DriverObject);
  }
  /* Deregisters if needed and waits for WMI IRPs still in flight to it. */
  wmiev_status status = wmiev_device_destroy(core);
  if (!WMIEV_SUCCESS(status)) {
    /* Only from inside the device's own WMI dispatch: the IRP being handled
     * still uses it. It stays registered and is never freed. */
    wmiev__host_violation(WMIEV_HOST_RULE_DEVICE,
                          "device object %p deleted from inside its own WMI dispatch routine "
                          "(%s): its WMI registration cannot be removed",
                          (void *)device, wmiev_status_name(status));
    return;
  }
  pthread_mutex_lock(&g_lock);
  *slot = NULL;
  pthread_mutex_unlock(&g_lock);
  wmiev__host_free(b, sizeof *b);
}
