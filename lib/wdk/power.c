/*
 * The power manager's part a WDM driver calls: PoCallDriver (IoCallDriver
 * since Vista), PoStartNextPowerIrp (no power IRP queueing here), and
 * PoSetPowerState, which records the state a driver reports.
 */
#include "host_private.h"

VOID NTAPI PoStartNextPowerIrp(PIRP Irp) { (void)Irp; }

NTSTATUS NTAPI PoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  return IoCallDriver(DeviceObject, Irp);
}

POWER_STATE NTAPI PoSetPowerState(PDEVICE_OBJECT DeviceObject, POWER_STATE_TYPE Type,
                                  POWER_STATE State) {
  POWER_STATE previous;
  previous.DeviceState = PowerDeviceUnspecified;
  (void)wmiev__irql_at_most(DISPATCH_LEVEL, "PoSetPowerState");
  if (!wmiev__device_is_live(DeviceObject)) {
    wmiev__host_violation(WMIEV_HOST_RULE_DEVICE, "PoSetPowerState(%p): not a live device object",
                          (void *)DeviceObject);
    return previous;
  }
  struct _DEVOBJ_EXTENSION *ext = DeviceObject->DeviceObjectExtension;
  wmiev__host_lock();
  if (Type == SystemPowerState) {
    previous = ext->system_power;
    ext->system_power = State;
  } else {
    previous = ext->device_power;
    ext->device_power = State;
  }
  wmiev__host_unlock();
  return previous;
}
