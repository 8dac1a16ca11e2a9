/**
 * @file source.h
 * @brief Event sources: a pre-resolved handle for firing one provider's
 *        event block, the fast form of WmiFireEvent (docs/decisions.md D17).
 *
 * wmiev_bus_fire_event() names the provider and the GUID on every call, so
 * the bus must look both up each time. A source does that once: it is
 * opened for one device and one GUID, and every wmiev_source_fire() then
 * checks the registration the bus keeps cached in it (updated when the
 * provider registers, updates or deregisters the block, and when the bus
 * enables or disables the provider), without a lock or a table lookup. ETW
 * has the same shape (EventRegister returns a handle, EventWrite takes it).
 *
 * A source fires exactly what wmiev_bus_fire_event() fires for the same
 * arguments: the same WNODE, the same statuses, the same counters, warnings
 * and delivery. It may be opened before the block is registered and stays
 * valid across deregistration and registration again (firing while the
 * block is not registered fails as wmiev_bus_fire_event() does).
 *
 * Threads: any number of threads may fire through one source at once; open
 * and close are not safe against a concurrent fire through the same source.
 */
#ifndef WMIEV_SOURCE_H
#define WMIEV_SOURCE_H

#include "bus.h"

WMIEV_BEGIN_DECLS

typedef struct wmiev_source wmiev_source;

/**
 * @brief Opens a source for @p device's block @p guid.
 *        The device must stay alive while it fires through the source; the
 *        source itself may outlive the device (firing then fails with
 *        STATUS_DEVICE_DOES_NOT_EXIST). Sources still open are closed by
 *        wmiev_bus_destroy().
 *        Windows: remembers the device object and the GUID (WMI keeps the
 *        registration). IRQL <= DISPATCH_LEVEL.
 * @return STATUS_SUCCESS; STATUS_INVALID_PARAMETER (NULL argument; on
 *         Windows also a device created on another bus);
 *         STATUS_INSUFFICIENT_RESOURCES.
 */
WMIEV_EXTERN wmiev_status wmiev_source_open(wmiev_bus *bus, wmiev_device *device,
                                            const GUID *guid, wmiev_source **out);

/** @brief Closes a source (NULL: nothing). Windows: frees it, IRQL <= DISPATCH_LEVEL. */
WMIEV_EXTERN void wmiev_source_close(wmiev_source *source);

/**
 * @brief True if the source's GUID has at least one subscriber now: firing
 *        would deliver (what a driver's own "events enabled" flag, set by
 *        IRP_MN_ENABLE_EVENTS, tells). A hint: a subscriber may come or go
 *        right after. Windows: the last ENABLE/DISABLE the device received
 *        for the GUID, as the backend records it.
 */
WMIEV_EXTERN bool wmiev_source_enabled(const wmiev_source *source);

/**
 * @brief wmiev_bus_fire_event(bus, device, guid, instance_index, data, size,
 *        diag) for the source's device and GUID: same WNODE, statuses,
 *        counters and delivery.
 *        Windows: as wmiev_bus_fire_event() (a pool copy + WmiFireEvent).
 */
WMIEV_EXTERN wmiev_status wmiev_source_fire(wmiev_source *source, uint32_t instance_index,
                                            const void *data, uint32_t size, wmiev_diag *diag);

WMIEV_END_DECLS

#endif /* WMIEV_SOURCE_H */
