/* Device objects: creation, stacks, provider ids (spec §5.4). */
#include <stdio.h>
#include <string.h>

#include "registry_internal.h"

/* Caller holds the lock. Ids start at 1, are never 0 and are not reused
 * while the registry lives (until 2^32 devices have been created, after
 * which the search skips the ids still in use). */
static uint32_t allocate_provider_id(wmiev_registry *registry) {
  for (;;) {
    uint32_t id = registry->next_provider_id++;
    if (registry->next_provider_id == 0) {
      registry->next_provider_id = 1;
    }
    if (id != 0 && wmiev__map_get(&registry->devices_by_id, wmiev__key_from_u64(id)) == NULL) {
      return id;
    }
  }
}

static void free_device(wmiev_registry *registry, wmiev_device *device) {
  wmiev__strfree(registry, device->instance_id);
  wmiev__strfree(registry, device->name);
  wmiev__free(registry, device, sizeof *device);
}

wmiev_status wmiev_device_create(wmiev_registry *registry, const wmiev_device_options *options,
                                 wmiev_device **out) {
  if (registry == NULL || out == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  *out = NULL;
  wmiev_device_options defaults = {0};
  if (options == NULL) {
    options = &defaults;
  }
  if (options->lower != NULL && options->lower->registry != registry) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev_device *device = wmiev__alloc(registry, sizeof *device);
  if (device == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  memset(device, 0, sizeof *device);
  device->registry = registry;
  device->dispatch = options->dispatch;
  device->payload = options->payload;
  device->name = wmiev__strdup(registry, options->name != NULL ? options->name : "device");
  if (options->instance_id != NULL) {
    device->instance_id = wmiev__strdup(registry, options->instance_id);
  }
  if (device->name == NULL || (options->instance_id != NULL && device->instance_id == NULL)) {
    free_device(registry, device);
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }

  wmiev__mutex_lock(&registry->lock);
  /* Reserve first so that the two puts below cannot fail half-way. */
  wmiev_status status = wmiev__map_reserve(&registry->devices_by_id, 1);
  if (WMIEV_SUCCESS(status)) {
    status = wmiev__map_reserve(&registry->devices_by_ptr, 1);
  }
  if (!WMIEV_SUCCESS(status)) {
    wmiev__mutex_unlock(&registry->lock);
    free_device(registry, device);
    return status;
  }
  device->provider_id = allocate_provider_id(registry);
  (void)wmiev__map_put(&registry->devices_by_id, wmiev__key_from_u64(device->provider_id), device);
  (void)wmiev__map_put(&registry->devices_by_ptr, wmiev__key_from_u64((uintptr_t)device), device);
  if (options->lower != NULL) {
    /* Like IoAttachDeviceToDeviceStack: attach to the top of the stack. */
    wmiev_device *top = options->lower;
    while (top->upper != NULL) {
      top = top->upper;
    }
    top->upper = device;
    device->lower = top;
  }
  registry->device_count++;
  wmiev__mutex_unlock(&registry->lock);
  *out = device;
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_device_destroy(wmiev_device *device) {
  if (device == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev_registry *registry = device->registry;
  if (wmiev__in_dispatch_for(device)) {
    /* Freeing it would pull the device out from under the IRP being dispatched. */
    return WMIEV_STATUS_POSSIBLE_DEADLOCK;
  }
  wmiev__mutex_lock(&registry->lock);
  bool has_upper = device->upper != NULL;
  bool registered = device->reg_state != WMIEV__UNREGISTERED;
  wmiev__mutex_unlock(&registry->lock);
  if (has_upper) {
    return WMIEV_STATUS_INVALID_DEVICE_REQUEST;
  }
  if (registered) {
    wmiev_status status = wmiev_registration_control(device, WMIREG_ACTION_DEREGISTER, NULL);
    if (!WMIEV_SUCCESS(status)) {
      return status;
    }
  }
  wmiev__mutex_lock(&registry->lock);
  /* Checked again under the lock: a device may have been attached, or an IRP
   * sent, since the look above. IRPs still in flight have senders that will
   * touch the device when they return; they end within the IRP timeout
   * (abandoned IRPs no longer count), so wait for them. */
  if (device->upper != NULL) {
    wmiev__mutex_unlock(&registry->lock);
    return WMIEV_STATUS_INVALID_DEVICE_REQUEST;
  }
  while (device->inflight != 0) {
    wmiev__cond_wait(&registry->irp_done, &registry->lock);
  }
  (void)wmiev__map_remove(&registry->devices_by_id, wmiev__key_from_u64(device->provider_id));
  (void)wmiev__map_remove(&registry->devices_by_ptr, wmiev__key_from_u64((uintptr_t)device));
  if (device->lower != NULL) {
    device->lower->upper = NULL;
  }
  registry->device_count--;
  wmiev__mutex_unlock(&registry->lock);
  free_device(registry, device);
  return WMIEV_STATUS_SUCCESS;
}

uint32_t wmiev_device_provider_id(const wmiev_device *device) {
  return device != NULL ? device->provider_id : 0;
}

uintptr_t wmiev_device_irp_provider_id(const wmiev_device *device) { return (uintptr_t)device; }

wmiev_device *wmiev_registry_device_by_provider_id(wmiev_registry *registry, uint32_t id) {
  if (registry == NULL || id == 0) {
    return NULL;
  }
  wmiev__mutex_lock(&registry->lock);
  wmiev_device *device = wmiev__map_get(&registry->devices_by_id, wmiev__key_from_u64(id));
  wmiev__mutex_unlock(&registry->lock);
  return device;
}

wmiev_device *wmiev_registry_device_by_irp_provider_id(wmiev_registry *registry, uintptr_t id) {
  if (registry == NULL || id == 0) {
    return NULL;
  }
  wmiev__mutex_lock(&registry->lock);
  wmiev_device *device = wmiev__map_get(&registry->devices_by_ptr, wmiev__key_from_u64(id));
  wmiev__mutex_unlock(&registry->lock);
  return device;
}

void *wmiev_device_payload(const wmiev_device *device) {
  return device != NULL ? device->payload : NULL;
}

wmiev_device *wmiev_device_lower(const wmiev_device *device) {
  return device != NULL ? device->lower : NULL;
}

wmiev_device *wmiev_device_top(wmiev_device *device) {
  if (device == NULL) {
    return NULL;
  }
  wmiev_registry *registry = device->registry;
  wmiev__mutex_lock(&registry->lock);
  while (device->upper != NULL) {
    device = device->upper;
  }
  wmiev__mutex_unlock(&registry->lock);
  return device;
}

wmiev_registry *wmiev_device_registry(const wmiev_device *device) {
  return device != NULL ? device->registry : NULL;
}

const char *wmiev__device_name_copy(wmiev_registry *registry, uint32_t provider_id, char *out,
                                    size_t size) {
  if (out == NULL || size == 0) {
    return "";
  }
  out[0] = '\0';
  if (registry == NULL) {
    return out;
  }
  wmiev__mutex_lock(&registry->lock);
  wmiev_device *device = wmiev__map_get(&registry->devices_by_id, wmiev__key_from_u64(provider_id));
  (void)snprintf(out, size, "%s", device != NULL ? device->name : "(gone)");
  wmiev__mutex_unlock(&registry->lock);
  return out;
}

const char *wmiev_device_name(const wmiev_device *device) {
  return device != NULL ? device->name : NULL;
}
