/*
 * From a validated event WNODE to the wmiev_event a subscriber receives. One
 * definition for the in-process bus (deliver.c) and the Windows backend's
 * notification callback (lib/backend/windows/consumer.c), so both hand
 * consumers the same fields, and the same instance names. Pure C: no locks;
 * memory only through the caller's allocation function.
 */
#ifndef WMIEV_BUS_EVENT_VIEW_H
#define WMIEV_BUS_EVENT_VIEW_H

#include <wmiev/bus.h>

/* Fills every field of `ev` that the WNODE determines (not lost_before,
 * from_reference, internal): its pointers point into `wnode`. The WNODE and
 * `view` themselves are the caller's to keep for wmiev_event_wnode() and
 * wmiev_event_view() (the event context `internal` points at). `wnode`
 * must be 2-aligned (names are read in place). */
void wmiev__event_fill(wmiev_event *ev, const uint8_t *wnode, const wmiev_wnode_view *view);

/* A UTF-8 copy of `count` UTF-16 units for wmiev_event_name_utf8(): in
 * `stack` when it fits, else in a block from `alloc(size, ctx)`, returned in
 * *heap / *heap_size for the caller to free when the callback is over.
 * Unpaired surrogates become U+FFFD; "" when no memory is left. */
const char *wmiev__event_name_utf8(const void *units, size_t count, char *stack, size_t stack_size,
                                   void *(*alloc)(size_t size, void *ctx), void *ctx, char **heap,
                                   size_t *heap_size);

#endif /* WMIEV_BUS_EVENT_VIEW_H */
