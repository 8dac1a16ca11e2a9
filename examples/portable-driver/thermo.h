/*
 * thermo: a WMI provider written once against the portable API
 * (<wmiev/wmiev.h>) and built twice from the same source (docs/windows.md,
 * "The portable example driver"):
 *
 *   - on Linux, into wmiev-portable-driver (linux_main.c), where the
 *     in-process bus stands in for WMI and the CTest examples.portable_driver
 *     subscribes to the event and checks that it arrives;
 *   - for the Windows kernel, into wmiev-portable.sys (windows_entry.c, the
 *     WDM glue), where the same calls forward to WmiSystemControl,
 *     WmiFireEvent, IoWMIWriteEvent and IoWMIRegistrationControl.
 *
 * It registers two blocks, both with one static instance named "Thermo0":
 *   - ThermoReading (thermo_reading_guid), an event: fired by thermo_fire()
 *     while WMI has it enabled;
 *   - ThermoState (thermo_state_guid), a data block: the last reading and
 *     how many there were, answered from the query callback.
 *
 * The classes, as a driver would declare them in its MOF:
 *
 *   [WMI, Dynamic, Provider("WMIProv"), Description("wmiev thermo reading"),
 *    guid("{6a8e00eb-5890-49a3-a922-d294686d0e65}")]
 *   class WmievThermo_Reading : WMIEvent {
 *     [key, read] string InstanceName;
 *     [read] boolean Active;
 *     [WmiDataId(1), read] sint32 Celsius;
 *     [WmiDataId(2), read] uint32 Sequence;  // readings since start
 *   };
 *
 *   [WMI, Dynamic, Provider("WMIProv"), Description("wmiev thermo state"),
 *    guid("{c89b6462-2627-43da-b51f-b7d79c09d977}")]
 *   class WmievThermo_State {
 *     [key, read] string InstanceName;
 *     [read] boolean Active;
 *     [WmiDataId(1), read] sint32 Celsius;
 *     [WmiDataId(2), read] uint32 Readings;
 *   };
 */
#ifndef WMIEV_EXAMPLE_THERMO_H
#define WMIEV_EXAMPLE_THERMO_H

#include <wmiev/wmiev.h>

typedef struct thermo thermo;

/** The event block and the data block. */
extern const GUID thermo_reading_guid;
extern const GUID thermo_state_guid;

/** Data of a ThermoReading event (WmiDataId order). */
typedef struct thermo_reading {
  int32_t celsius;
  uint32_t sequence;
} thermo_reading;

/** Data of the ThermoState block. */
typedef struct thermo_state {
  int32_t celsius;
  uint32_t readings;
} thermo_state;

/** Readings at or above this are fired as a driver-built WNODE (IoWMIWriteEvent). */
#define THERMO_ALARM_CELSIUS 90

/**
 * Creates the provider on @p bus's registry and registers it with WMI.
 * @p wdm_device: on Windows the driver's device object (PDEVICE_OBJECT), on
 * Linux NULL. @p *out is set before the registration (and reset to NULL if
 * it fails): WMI's REGINFO request may reach the driver's dispatch routine,
 * which looks there, before this returns. IRQL: PASSIVE_LEVEL on Windows.
 */
wmiev_status thermo_start(wmiev_bus *bus, void *wdm_device, thermo **out);

/**
 * Records a reading and, while WMI has the event enabled, fires it:
 * WmiFireEvent-style (the data is copied) below THERMO_ALARM_CELSIUS,
 * IoWMIWriteEvent-style (a WNODE built here) from it on. Nothing is fired
 * while the event is disabled. IRQL: <= DISPATCH_LEVEL on Windows.
 */
wmiev_status thermo_fire(thermo *t, int32_t celsius);

/** Deregisters (if still registered) and frees. IRQL: PASSIVE_LEVEL on Windows. */
wmiev_status thermo_stop(thermo *t);

/** The provider, for the driver's IRP_MJ_SYSTEM_CONTROL glue. */
wmiev_provider *thermo_provider(thermo *t);

#endif /* WMIEV_EXAMPLE_THERMO_H */
