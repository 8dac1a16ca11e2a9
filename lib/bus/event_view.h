/*
 * From a validated event WNODE to the wmiev_event a subscriber receives. One
 * definition for the in-process bus (deliver.c) and the Windows backend's
 * notification callback (lib/backend/windows/consumer.c), so both hand
 * consumers the same fields. Pure C: no locks, no allocation.
 */
#ifndef WMIEV_BUS_EVENT_VIEW_H
#define WMIEV_BUS_EVENT_VIEW_H

#include <wmiev/bus.h>

/* Fills every field of `ev` that the WNODE determines (not lost_before,
 * from_reference, internal). `wnode` must be 2-aligned (names are read in place). */
void wmiev__event_fill(wmiev_event *ev, const uint8_t *wnode, const wmiev_wnode_view *view);

#endif /* WMIEV_BUS_EVENT_VIEW_H */
