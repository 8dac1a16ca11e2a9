/*
 * Sending WMI IRPs down a device stack and completing them (spec §4).
 *
 * An IRP and the sender's buffer are allocated together (wmiev__irp_state),
 * the caller's bytes copied in, and copied back out when it completes. That
 * copy is what lets a sender give up on a pended IRP after the timeout: the
 * late completer then frees the state, and nobody touches the caller's
 * memory after the call returned.
 *
 * A layer above the core may install a completer on an IRP it received
 * (wmiev__irp_set_completer): completion then goes through that layer first
 * (the WDK face's IoCompleteRequest, with its completion routines) and comes
 * back through wmiev__irp_complete_now().
 */
#include <string.h>

#include "registry_internal.h"

/* The dispatch calls this thread is inside, innermost first: lets
 * DEREGISTER tell "called from the device's own dispatch" (a deadlock on
 * Windows) from an ordinary call. */
typedef struct dispatch_frame {
  const wmiev_device *target;
  const struct dispatch_frame *outer;
} dispatch_frame;

static _Thread_local const dispatch_frame *innermost_frame;

bool wmiev__in_dispatch_for(const wmiev_device *target) {
  for (const dispatch_frame *f = innermost_frame; f != NULL; f = f->outer) {
    if (f->target == target) {
      return true;
    }
  }
  return false;
}

static wmiev_status call_dispatch(wmiev_device *device, wmiev_irp *irp) {
  if (device->dispatch == NULL) {
    return wmiev_irp_forward(device, irp);
  }
  return device->dispatch(device, irp, device->payload);
}

wmiev_status wmiev_irp_forward(wmiev_device *device, wmiev_irp *irp) {
  if (device == NULL || irp == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  if (device->lower == NULL) {
    /* The bottom of the stack completes what nobody above handled, keeping
     * the status it arrived with (STATUS_NOT_SUPPORTED unless changed). */
    return wmiev_irp_complete(irp, irp->IoStatus.Status, irp->IoStatus.Information);
  }
  return call_dispatch(device->lower, irp);
}

void wmiev_irp_mark_pending(wmiev_irp *irp) {
  if (irp != NULL && irp->internal != NULL) {
    wmiev__irp_state *state = irp->internal;
    wmiev__mutex_lock(&state->registry->lock);
    state->pending = true;
    wmiev__mutex_unlock(&state->registry->lock);
  }
}

bool wmiev_irp_is_completed(const wmiev_irp *irp) {
  if (irp == NULL || irp->internal == NULL) {
    return false;
  }
  wmiev__irp_state *state = irp->internal;
  wmiev__mutex_lock(&state->registry->lock);
  /* Handed to a completer counts: the driver has completed it, the reply is
   * final, and a second completion is already an error. */
  bool completed = state->completed || state->completing;
  wmiev__mutex_unlock(&state->registry->lock);
  return completed;
}

static void free_state(wmiev__irp_state *state) {
  wmiev__free(state->registry, state, state->alloc_size);
}

void wmiev__irp_set_completer(wmiev_irp *irp, wmiev__irp_completer_fn fn, void *ctx) {
  if (irp == NULL || irp->internal == NULL) {
    return;
  }
  wmiev__irp_state *state = irp->internal;
  wmiev__mutex_lock(&state->registry->lock);
  state->completer = fn;
  state->completer_ctx = ctx;
  wmiev__mutex_unlock(&state->registry->lock);
}

/* Called with the lock held; releases it. */
static wmiev_status report_completed_twice(wmiev_registry *registry, const wmiev_irp *irp,
                                           wmiev_status status) {
  wmiev__mutex_unlock(&registry->lock);
  wmiev__report_violation(registry, WMIEV_VIOLATION_COMPLETED_TWICE,
                          "IRP (minor 0x%02x) completed twice; second status %s ignored",
                          (unsigned)irp->MinorFunction, wmiev_status_name(status));
  return WMIEV_STATUS_INVALID_DEVICE_REQUEST;
}

/* The completion itself (lock held on entry, released on return). */
static wmiev_status finish_locked(wmiev_irp *irp, wmiev__irp_state *state, wmiev_status status,
                                  uintptr_t information) {
  wmiev_registry *registry = state->registry;
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = information;
  state->completed = true;
  bool owner_gone = state->abandoned;
  if (!owner_gone) {
    /* An abandoned IRP's sender drops the count itself (release_inflight);
     * its target may be gone by now. */
    state->target->inflight--;
  } else {
    registry->abandoned_irps--;
  }
  wmiev__cond_broadcast(&registry->irp_done);
  wmiev__mutex_unlock(&registry->lock);
  if (owner_gone) {
    free_state(state);
  }
  return status;
}

/* An IRP the library did not send (built by a test): nothing to track. */
static wmiev_status complete_untracked(wmiev_irp *irp, wmiev_status status,
                                       uintptr_t information) {
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = information;
  return status;
}

wmiev_status wmiev_irp_complete(wmiev_irp *irp, wmiev_status status, uintptr_t information) {
  if (irp == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev__irp_state *state = irp->internal;
  if (state == NULL) {
    return complete_untracked(irp, status, information);
  }
  wmiev_registry *registry = state->registry;
  wmiev__mutex_lock(&registry->lock);
  if (state->completed || state->completing) {
    return report_completed_twice(registry, irp, status);
  }
  if (state->completer != NULL) {
    /* The layer above completes its own IRP first; it calls
     * wmiev__irp_complete_now() when its completion reaches the end. The
     * IRP may be freed by the time the completer returns: not touched again. */
    state->completing = true;
    wmiev__irp_completer_fn fn = state->completer;
    void *ctx = state->completer_ctx;
    wmiev__mutex_unlock(&registry->lock);
    fn(irp, status, information, ctx);
    return status;
  }
  return finish_locked(irp, state, status, information);
}

wmiev_status wmiev__irp_complete_now(wmiev_irp *irp, wmiev_status status, uintptr_t information) {
  if (irp == NULL) {
    return WMIEV_STATUS_INVALID_PARAMETER;
  }
  wmiev__irp_state *state = irp->internal;
  if (state == NULL) {
    return complete_untracked(irp, status, information);
  }
  wmiev__mutex_lock(&state->registry->lock);
  if (state->completed) {
    return report_completed_twice(state->registry, irp, status);
  }
  return finish_locked(irp, state, status, information);
}

/* Waits for a pended IRP; false on timeout (the state is then abandoned).
 * An abandoned IRP stops counting as in flight once its sender has let go
 * of the device (release_inflight): nobody waits for it any more, so
 * DEREGISTER and BLOCK_IRPS need not either, and the device may be
 * destroyed before the late completion, which must then not touch it. */
static bool wait_for_completion(wmiev_registry *registry, wmiev__irp_state *state) {
  uint64_t deadline =
      wmiev__monotonic_ns() + (uint64_t)registry->options.irp_timeout_ms * 1000000u;
  while (!state->completed) {
    uint64_t now = wmiev__monotonic_ns();
    if (now >= deadline) {
      state->abandoned = true;
      registry->abandoned_irps++;
      registry->stats.irps_timed_out++;
      return false;
    }
    uint64_t left_ms = (deadline - now + 999999u) / 1000000u;
    (void)wmiev__cond_timedwait(&registry->irp_done, &registry->lock, (uint32_t)left_ms);
  }
  return true;
}

/* The sender's last use of the device: drop the in-flight count that kept
 * DEREGISTER and wmiev_device_destroy() waiting. */
static void release_inflight(wmiev_registry *registry, wmiev_device *device) {
  wmiev__mutex_lock(&registry->lock);
  device->inflight--;
  wmiev__cond_broadcast(&registry->irp_done);
  wmiev__mutex_unlock(&registry->lock);
}

/* Sends to `device`, or (device NULL) to the device with 32-bit id
 * `provider_id`, looked up under the registry lock in the same step that
 * counts the IRP in flight: a device that a caller only knows from an
 * earlier snapshot cannot be destroyed between the look and the send
 * (destroy waits for in-flight IRPs). */
static wmiev_status send_irp(wmiev_registry *registry, wmiev_device *device, uint32_t provider_id,
                             uint8_t minor, void *data_path, void *buffer, uint32_t buffer_size,
                             bool allow_blocked, wmiev_io_status *io_status) {
  wmiev_io_status result = {WMIEV_STATUS_INVALID_PARAMETER, 0};
  if (registry == NULL || (buffer == NULL && buffer_size != 0)) {
    if (io_status != NULL) {
      *io_status = result;
    }
    return result.Status;
  }
  /* On 32-bit hosts the sum can wrap: treat that like a failed allocation. */
  size_t alloc_size = sizeof(wmiev__irp_state) + (size_t)buffer_size;
  wmiev__irp_state *state =
      alloc_size < sizeof(wmiev__irp_state) ? NULL : wmiev__alloc(registry, alloc_size);
  if (state == NULL) {
    result.Status = WMIEV_STATUS_INSUFFICIENT_RESOURCES;
    if (io_status != NULL) {
      *io_status = result;
    }
    return result.Status;
  }
  memset(state, 0, sizeof *state);
  state->registry = registry;
  state->alloc_size = alloc_size;
  if (buffer_size != 0) {
    memcpy(state->buffer, buffer, buffer_size);
  }
  wmiev_irp *irp = &state->irp;
  irp->MajorFunction = IRP_MJ_SYSTEM_CONTROL;
  irp->MinorFunction = minor;
  irp->Wmi.DataPath = data_path;
  irp->Wmi.BufferSize = buffer_size;
  irp->Wmi.Buffer = buffer_size != 0 ? state->buffer : NULL;
  irp->IoStatus.Status = WMIEV_STATUS_NOT_SUPPORTED;
  irp->internal = state;

  wmiev__mutex_lock(&registry->lock);
  if (device == NULL) {
    device = wmiev__map_get(&registry->devices_by_id, wmiev__key_from_u64(provider_id));
  }
  if (device == NULL || device->deregistering ||
      (device->reg_state == WMIEV__BLOCKED && !allow_blocked)) {
    /* Gone, going, or blocked: the status Microsoft documents for a block
     * that went away. */
    wmiev__mutex_unlock(&registry->lock);
    free_state(state);
    result.Status = WMIEV_STATUS_WMI_GUID_DISCONNECTED;
    if (io_status != NULL) {
      *io_status = result;
    }
    return result.Status;
  }
  state->target = device;
  irp->Wmi.ProviderId = wmiev_device_irp_provider_id(device);
  device->inflight++;
  registry->stats.irps_sent++;
  wmiev__mutex_unlock(&registry->lock);

  dispatch_frame frame = {device, innermost_frame};
  innermost_frame = &frame;
  wmiev_status returned = call_dispatch(wmiev_device_top(device), irp);
  innermost_frame = frame.outer;

  wmiev__mutex_lock(&registry->lock);
  if (!state->completed) {
    /* Handed to a completer that has not finished (an upper layer's
     * completion is still under way): as good as pended. */
    if (returned == WMIEV_STATUS_PENDING || state->pending || state->completing) {
      if (!wait_for_completion(registry, state)) {
        wmiev__mutex_unlock(&registry->lock);
        wmiev__report_violation(registry, WMIEV_VIOLATION_PENDING_TIMEOUT,
                                "device '%s' pended IRP minor 0x%02x and did not complete it "
                                "within %u ms",
                                device->name, (unsigned)minor,
                                (unsigned)registry->options.irp_timeout_ms);
        release_inflight(registry, device);
        result.Status = WMIEV_STATUS_IO_TIMEOUT;
        if (io_status != NULL) {
          *io_status = result;
        }
        return result.Status;
      }
    } else {
      /* WmiComplete/WmiForward broken: take the IRP back so it cannot leak.
       * It stays in flight until the report below has used device->name. */
      state->completed = true;
      irp->IoStatus.Status = WMIEV_STATUS_DRIVER_INTERNAL_ERROR;
      irp->IoStatus.Information = 0;
      wmiev__mutex_unlock(&registry->lock);
      wmiev__report_violation(registry, WMIEV_VIOLATION_NOT_COMPLETED,
                              "dispatch of device '%s' returned %s for IRP minor 0x%02x without "
                              "completing, forwarding or pending it (SDV rule WmiComplete)",
                              device->name, wmiev_status_name(returned), (unsigned)minor);
      release_inflight(registry, device);
      wmiev__mutex_lock(&registry->lock);
    }
  }
  wmiev__mutex_unlock(&registry->lock);

  result = irp->IoStatus;
  if (buffer_size != 0) {
    memcpy(buffer, state->buffer, buffer_size);
  }
  free_state(state);
  if (io_status != NULL) {
    *io_status = result;
  }
  return result.Status;
}

wmiev_status wmiev__send_wmi_irp(wmiev_device *device, uint8_t minor, void *data_path,
                                 void *buffer, uint32_t buffer_size, bool allow_blocked,
                                 wmiev_io_status *io_status) {
  if (device == NULL) {
    wmiev_io_status result = {WMIEV_STATUS_INVALID_PARAMETER, 0};
    if (io_status != NULL) {
      *io_status = result;
    }
    return result.Status;
  }
  return send_irp(device->registry, device, 0, minor, data_path, buffer, buffer_size,
                  allow_blocked, io_status);
}

wmiev_status wmiev__send_wmi_irp_to(wmiev_registry *registry, uint32_t provider_id, uint8_t minor,
                                    void *data_path, void *buffer, uint32_t buffer_size,
                                    wmiev_io_status *io_status) {
  if (provider_id == 0) {
    wmiev_io_status result = {WMIEV_STATUS_INVALID_PARAMETER, 0};
    if (io_status != NULL) {
      *io_status = result;
    }
    return result.Status;
  }
  return send_irp(registry, NULL, provider_id, minor, data_path, buffer, buffer_size, false,
                  io_status);
}

wmiev_status wmiev_device_send_wmi_irp(wmiev_device *device, uint8_t minor, void *data_path,
                                       void *buffer, uint32_t buffer_size,
                                       wmiev_io_status *io_status) {
  return wmiev__send_wmi_irp(device, minor, data_path, buffer, buffer_size, false, io_status);
}
