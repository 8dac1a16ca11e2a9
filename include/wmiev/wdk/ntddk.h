/*
 * ntddk.h (WDK face): on Windows a superset of wdm.h for non-WDM kernel
 * drivers. Here it is wdm.h: a driver that includes <ntddk.h> gets the same
 * declarations and builds unchanged.
 */
#ifndef WMIEV_WDK_NTDDK_H
#define WMIEV_WDK_NTDDK_H

#include "wdm.h"

#endif /* WMIEV_WDK_NTDDK_H */
