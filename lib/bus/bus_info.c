/*
 * Read-only facts about a bus for the layers above it: lib/uv needs the
 * delivery mode (it refuses a bus that is not in libuv mode) and whether a
 * wakeup hook is already installed (it refuses a second attachment).
 */
#include "bus_internal.h"

wmiev_delivery wmiev_bus_delivery(wmiev_bus *bus) {
  /* Fixed at creation: no lock needed. */
  return bus != NULL ? bus->options.delivery : WMIEV_DELIVERY_SYNC;
}

bool wmiev_bus_has_wakeup(wmiev_bus *bus) {
  if (bus == NULL) {
    return false;
  }
  /* Under the setters' lock: a replacement sets the hook to NULL while it
   * waits for calls of the old one, which must not read as "none". */
  wmiev__mutex_lock(&bus->wakeup_setter);
  bool installed = atomic_load(&bus->wakeup) != NULL;
  wmiev__mutex_unlock(&bus->wakeup_setter);
  return installed;
}
