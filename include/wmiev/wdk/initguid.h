/*
 * initguid.h (WDK face): include it before a GUID header in the one
 * translation unit that should hold the GUIDs' storage. It defines INITGUID;
 * DEFINE_GUID (guiddef.h) then defines weak `const GUID` objects instead of
 * declaring them, so several units doing the same still link.
 */
#ifndef INITGUID
#define INITGUID
#endif

#include "guiddef.h"
