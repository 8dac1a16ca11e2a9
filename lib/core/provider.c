/*
 * A portable provider: a device whose IRP_MJ_SYSTEM_CONTROL dispatch routine
 * runs the wmilib logic with the provider's callbacks and then does what a
 * WDM driver calling WmiSystemControl does with the disposition (spec §4.4).
 * This is the one place the portable API and the WDK face meet, so both run
 * the same wmilib.c.
 */
#include <string.h>

#include "registry_internal.h"

struct wmiev_provider {
  wmiev_registry *registry;
  wmiev_device *device;
  /* Read by every IRP and by the REGINFO path after query_reginfo has run
   * (which may call wmiev_provider_set_guid_list() to fill the list late). */
  wmiev_wmilib_context context;
};

static wmiev_status provider_dispatch(wmiev_device *device, wmiev_irp *irp, void *payload) {
  wmiev_provider *provider = payload;
  wmiev_irp_disposition disposition;
  wmiev_status status = wmiev_wmilib_system_control(&provider->context, device, irp, &disposition);
  switch (disposition) {
  case WMIEV_IRP_PROCESSED:
    return status; /* a callback completed it, or pended it and will */
  case WMIEV_IRP_NOT_COMPLETED:
    return wmiev_irp_complete(irp, irp->IoStatus.Status, irp->IoStatus.Information);
  case WMIEV_IRP_NOT_WMI:
  case WMIEV_IRP_FORWARD:
  default:
    return wmiev_irp_forward(device, irp);
  }
}

wmiev_status wmiev_provider_create(wmiev_registry *registry, const wmiev_provider_options *options,
                                   wmiev_provider **out) {
  if (out != NULL) {
    *out = NULL;
  }
  /* The two callbacks WMILIB_CONTEXT requires (spec §3.5): refusing them here
   * beats failing every REGINFO and query later. */
  if (registry == NULL || options == NULL || out == NULL ||
      options->context.callbacks.query_reginfo == NULL ||
      options->context.callbacks.query_data_block == NULL ||
      (options->context.guid_count != 0 && options->context.guid_list == NULL)) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev_provider *provider = wmiev__alloc(registry, sizeof *provider);
  if (provider == NULL) {
    return WMIEV_STATUS_INSUFFICIENT_RESOURCES;
  }
  memset(provider, 0, sizeof *provider);
  /* options->wdm_device is for the Windows backend; here the provider's
   * device is one of the registry's own, so it is ignored. */
  provider->registry = registry;
  provider->context = options->context;
  wmiev_device_options device_options = {
      .dispatch = provider_dispatch,
      .payload = provider,
      .lower = options->lower,
      .instance_id = options->instance_id,
      .name = options->name != NULL ? options->name : "provider",
  };
  wmiev_status status = wmiev_device_create(registry, &device_options, &provider->device);
  if (!WMIEV_SUCCESS(status)) {
    wmiev__free(registry, provider, sizeof *provider);
    return status;
  }
  *out = provider;
  return WMIEV_STATUS_SUCCESS;
}

wmiev_status wmiev_provider_destroy(wmiev_provider *provider) {
  if (provider == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  /* Deregisters first (waiting for IRPs in flight); refused while another
   * device sits on top, in which case the provider stays usable. */
  wmiev_status status = wmiev_device_destroy(provider->device);
  if (!WMIEV_SUCCESS(status)) {
    return status;
  }
  wmiev__free(provider->registry, provider, sizeof *provider);
  return WMIEV_STATUS_SUCCESS;
}

wmiev_device *wmiev_provider_device(const wmiev_provider *provider) {
  return provider != NULL ? provider->device : NULL;
}

wmiev_status wmiev_provider_system_control(wmiev_provider *provider, void *irp) {
  /* The provider's device already runs the wmilib logic from its own
   * dispatch routine (provider_dispatch); there is no WDM IRP to take here.
   * The Windows backend (lib/backend/windows) implements the real thing. */
  (void)provider;
  (void)irp;
  return WMIEV_STATUS_NOT_SUPPORTED;
}

void wmiev_provider_set_guid_list(wmiev_provider *provider, const wmiev_guid_reg *guid_list,
                                  uint32_t guid_count) {
  if (provider == NULL) {
    return;
  }
  /* Like a WMILIB_CONTEXT, the list is plain data: change it from inside
   * query_reginfo, or while no IRP can reach the provider. */
  provider->context.guid_list = guid_list;
  provider->context.guid_count = guid_list != NULL ? guid_count : 0;
}
