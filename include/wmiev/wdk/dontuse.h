/*
 * dontuse.h (WDK face): in the WDK it marks deprecated C runtime routines
 * with deprecation pragmas for Microsoft's compiler. Nothing to do here; it
 * exists so that drivers that include it build unchanged.
 */
#ifndef WMIEV_WDK_DONTUSE_H
#define WMIEV_WDK_DONTUSE_H
#endif /* WMIEV_WDK_DONTUSE_H */
