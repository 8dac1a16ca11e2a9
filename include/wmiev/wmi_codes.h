/**
 * @file wmi_codes.h
 * @brief IRP_MJ_SYSTEM_CONTROL minor codes, registration actions and DataPath
 *        values of the WMI path, with Windows' numbers (spec §3.4, §4).
 *
 * With WMIEV_USE_SYSTEM_WMISTR (Windows kernel builds, see wnode.h) they come
 * from the system's <wdm.h> instead: same values, no second definition.
 */
#ifndef WMIEV_WMI_CODES_H
#define WMIEV_WMI_CODES_H

#include "common.h"

#if defined(WMIEV_USE_SYSTEM_WMISTR)
#if defined(__MINGW32__)
#include <ddk/wdm.h>
#else
#include <wdm.h>
#endif
#else /* !WMIEV_USE_SYSTEM_WMISTR */

/** The major function code of every WMI IRP. */
#define IRP_MJ_SYSTEM_CONTROL 0x17

/* ---- WMI minor function codes ------------------------------------------ */
#define IRP_MN_QUERY_ALL_DATA 0x00
#define IRP_MN_QUERY_SINGLE_INSTANCE 0x01
#define IRP_MN_CHANGE_SINGLE_INSTANCE 0x02
#define IRP_MN_CHANGE_SINGLE_ITEM 0x03
#define IRP_MN_ENABLE_EVENTS 0x04
#define IRP_MN_DISABLE_EVENTS 0x05
#define IRP_MN_ENABLE_COLLECTION 0x06
#define IRP_MN_DISABLE_COLLECTION 0x07
#define IRP_MN_REGINFO 0x08
#define IRP_MN_EXECUTE_METHOD 0x09
/* 0x0A has no IRP_MN_ name (WMI_CAPTURE_STATE in user mode only). */
#define IRP_MN_REGINFO_EX 0x0b

/* ---- IoWMIRegistrationControl actions ---------------------------------- */
#define WMIREG_ACTION_REGISTER 1
#define WMIREG_ACTION_DEREGISTER 2
#define WMIREG_ACTION_REREGISTER 3
#define WMIREG_ACTION_UPDATE_GUIDS 4
#define WMIREG_ACTION_BLOCK_IRPS 5

/* ---- Parameters.WMI.DataPath values of a REGINFO(_EX) request ---------- */
#define WMIREGISTER 0
#define WMIUPDATE 1

#endif /* WMIEV_USE_SYSTEM_WMISTR */

#endif /* WMIEV_WMI_CODES_H */
