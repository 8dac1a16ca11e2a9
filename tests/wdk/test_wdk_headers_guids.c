/* Second unit of the header test: defines the same GUIDs again (weak, like
 * DECLSPEC_SELECTANY), plus a driver GUID the first unit defines too. */
#include <initguid.h>
#include <ntddk.h>
#include <wdmguid.h>
#include <wmiguid.h>

DEFINE_GUID(SAMPLE_WMI_EVENT_GUID, 0x1ea5b1d2, 0x7c1a, 0x4b6e, 0x9f, 0x2d, 0x31, 0x0a, 0x55, 0xc3,
            0x8e, 0x01);

const GUID *other_unit_power_enable(void);
const GUID *other_unit_sample_guid(void);

const GUID *other_unit_power_enable(void) { return &GUID_POWER_DEVICE_ENABLE; }
const GUID *other_unit_sample_guid(void) { return &SAMPLE_WMI_EVENT_GUID; }
