/*
 * wmistr.h (WDK face): the WMI wire structures and request codes.
 *
 * WNODE_* and WMIREGINFO/WMIREGGUID come from the core (<wmiev/wnode.h>,
 * <wmiev/reginfo.h>): one definition, byte-exact with Windows, pinned by
 * static assertions there. Their members are fixed-width integers
 * (uint32_t is ULONG here, uint16_t is WCHAR with -fshort-wchar), so driver
 * code reads and writes them exactly as on Windows.
 */
#ifndef WMIEV_WDK_WMISTR_H
#define WMIEV_WDK_WMISTR_H

#include <wmiev/reginfo.h>
#include <wmiev/wmi_codes.h>
#include <wmiev/wnode.h>

#include "ntdef.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The user-mode request codes; they share their numbering with the IRP_MN_ codes. */
typedef enum {
  WMI_GET_ALL_DATA = 0,
  WMI_GET_SINGLE_INSTANCE = 1,
  WMI_SET_SINGLE_INSTANCE = 2,
  WMI_SET_SINGLE_ITEM = 3,
  WMI_ENABLE_EVENTS = 4,
  WMI_DISABLE_EVENTS = 5,
  WMI_ENABLE_COLLECTION = 6,
  WMI_DISABLE_COLLECTION = 7,
  WMI_REGINFO = 8,
  WMI_EXECUTE_METHOD = 9,
  WMI_CAPTURE_STATE = 10
} WMIDPREQUESTCODE;

/* ---- Access rights of a WMI data block object (IoWMIOpenBlock) ---------- */
#ifndef SYNCHRONIZE
#define SYNCHRONIZE 0x00100000u
#endif
#ifndef READ_CONTROL
#define READ_CONTROL 0x00020000u
#endif
#ifndef STANDARD_RIGHTS_READ
#define STANDARD_RIGHTS_READ READ_CONTROL
#endif
#define WMIGUID_QUERY 0x0001u
#define WMIGUID_SET 0x0002u
#define WMIGUID_NOTIFICATION 0x0004u
#define WMIGUID_READ_DESCRIPTION 0x0008u
#define WMIGUID_EXECUTE 0x0010u
#define TRACELOG_CREATE_REALTIME 0x0020u
#define TRACELOG_CREATE_ONDISK 0x0040u
#define TRACELOG_GUID_ENABLE 0x0080u
#define TRACELOG_ACCESS_KERNEL_LOGGER 0x0100u
#define TRACELOG_CREATE_INPROC 0x0200u
#define TRACELOG_LOG_EVENT 0x0200u
#define TRACELOG_ACCESS_REALTIME 0x0400u
#define TRACELOG_REGISTER_GUIDS 0x0800u
#define TRACELOG_JOIN_GROUP 0x1000u
#define WMIGUID_ALL_ACCESS_WIN2K                                                                   \
  (STANDARD_RIGHTS_READ | WMIGUID_QUERY | WMIGUID_SET | WMIGUID_NOTIFICATION |                     \
   WMIGUID_READ_DESCRIPTION | WMIGUID_EXECUTE | TRACELOG_CREATE_REALTIME |                         \
   TRACELOG_CREATE_ONDISK | TRACELOG_GUID_ENABLE | TRACELOG_ACCESS_KERNEL_LOGGER |                 \
   TRACELOG_CREATE_INPROC | TRACELOG_ACCESS_REALTIME)
#define WMIGUID_ALL_ACCESS_WINXP (WMIGUID_ALL_ACCESS_WIN2K | SYNCHRONIZE | TRACELOG_REGISTER_GUIDS)
#define WMIGUID_ALL_ACCESS_RS1 (WMIGUID_ALL_ACCESS_WINXP | TRACELOG_JOIN_GROUP)
#define WMIGUID_ALL_ACCESS WMIGUID_ALL_ACCESS_RS1
#define WMI_GLOBAL_LOGGER_ID 0x0001u

#define WMI_GUIDTYPE_TRACECONTROL 0
#define WMI_GUIDTYPE_TRACE 1
#define WMI_GUIDTYPE_DATA 2
#define WMI_GUIDTYPE_EVENT 3

/** What a kernel-mode consumer's notification callback receives: the fired
 *  WNODE (a WNODE_EVENT_ITEM, valid during the call) and its registered context. */
#ifndef WMIEV_WDK_WMI_NOTIFICATION_CALLBACK_DEFINED
#define WMIEV_WDK_WMI_NOTIFICATION_CALLBACK_DEFINED
typedef VOID(NTAPI FWMI_NOTIFICATION_CALLBACK)(PVOID Wnode, PVOID Context);
typedef FWMI_NOTIFICATION_CALLBACK *WMI_NOTIFICATION_CALLBACK;
#endif

#ifdef __cplusplus
}
#endif

#endif /* WMIEV_WDK_WMISTR_H */
