/**
 * @file reginfo.h
 * @brief WMIREGINFO / WMIREGGUID, the registration records a provider returns
 *        for IRP_MN_REGINFO(_EX), and the WMIREG_FLAG_* values (spec §3).
 *
 * Unlike the WNODEs these differ between 32- and 64-bit Windows because of the
 * pointer-sized union member (`Pdo`): WMIREGGUIDW is 32 bytes on x86_64 and 28
 * on i386, and the GUID array of WMIREGINFOW starts at 24 or 20. A `uintptr_t`
 * reproduces that on the matching Linux word size.
 *
 * With WMIEV_USE_SYSTEM_WMISTR (Windows kernel builds, see wnode.h) the
 * system's <wmistr.h>, included by wnode.h, defines all of this; only the
 * layout pins remain.
 */
#ifndef WMIEV_REGINFO_H
#define WMIEV_REGINFO_H

#include "wnode.h"

WMIEV_BEGIN_DECLS

#if !defined(WMIEV_USE_SYSTEM_WMISTR)

/* ---- WMIREGGUID.Flags (spec §3.3) -------------------------------------- */
#define WMIREG_FLAG_EXPENSIVE 0x00000001u
#define WMIREG_FLAG_INSTANCE_LIST 0x00000004u
#define WMIREG_FLAG_INSTANCE_BASENAME 0x00000008u
#define WMIREG_FLAG_INSTANCE_PDO 0x00000020u
#define WMIREG_FLAG_EVENT_ONLY_GUID 0x00000040u
#define WMIREG_FLAG_TRACE_CONTROL_GUID 0x00001000u
#define WMIREG_FLAG_REMOVE_GUID 0x00010000u
#define WMIREG_FLAG_RESERVED1 0x00020000u
#define WMIREG_FLAG_RESERVED2 0x00040000u
#define WMIREG_FLAG_TRACED_GUID 0x00080000u

/** One registered block: GUID, flags, static instance count and name source. */
typedef struct {
  GUID Guid;
  uint32_t Flags;
  uint32_t InstanceCount;
  union {
    uint32_t InstanceNameList; /**< INSTANCE_LIST: offset to InstanceCount counted strings */
    uint32_t BaseNameOffset;   /**< INSTANCE_BASENAME: offset to one counted base name */
    uintptr_t Pdo;             /**< INSTANCE_PDO: the PDO pointer itself (spec §3.2) */
    uintptr_t InstanceInfo;    /**< reserved for WMI; samples store the PDO here */
  };
} WMIREGGUIDW, *PWMIREGGUIDW;

/** A registration record: header, then GuidCount WMIREGGUIDW, then strings. */
typedef struct {
  uint32_t BufferSize;
  uint32_t NextWmiRegInfo;
  uint32_t RegistryPath;
  uint32_t MofResourceName;
  uint32_t GuidCount;
  WMIREGGUIDW WmiRegGuid[];
} WMIREGINFOW, *PWMIREGINFOW;

typedef WMIREGGUIDW WMIREGGUID;
typedef PWMIREGGUIDW PWMIREGGUID;
typedef WMIREGINFOW WMIREGINFO;
typedef PWMIREGINFOW PWMIREGINFO;

#endif /* !WMIEV_USE_SYSTEM_WMISTR */

/* ---- Layout pins (spec §8.2) ------------------------------------------- */
#if UINTPTR_MAX == 0xffffffffu
WMIEV__PIN(sizeof(WMIREGGUIDW) == 28 && WMIEV_ALIGNOF(WMIREGGUIDW) == 4);
WMIEV__PIN(sizeof(WMIREGINFOW) == 20 && WMIEV_ALIGNOF(WMIREGINFOW) == 4);
WMIEV__PIN(offsetof(WMIREGINFOW, WmiRegGuid) == 20);
#else
WMIEV__PIN(sizeof(WMIREGGUIDW) == 32 && WMIEV_ALIGNOF(WMIREGGUIDW) == 8);
WMIEV__PIN(sizeof(WMIREGINFOW) == 24 && WMIEV_ALIGNOF(WMIREGINFOW) == 8);
WMIEV__PIN(offsetof(WMIREGINFOW, WmiRegGuid) == 24);
#endif
WMIEV__PIN(offsetof(WMIREGGUIDW, Guid) == 0);
WMIEV__PIN(offsetof(WMIREGGUIDW, Flags) == 16);
WMIEV__PIN(offsetof(WMIREGGUIDW, InstanceCount) == 20);
WMIEV__PIN(offsetof(WMIREGGUIDW, InstanceNameList) == 24);
WMIEV__PIN(offsetof(WMIREGGUIDW, BaseNameOffset) == 24);
WMIEV__PIN(offsetof(WMIREGGUIDW, Pdo) == 24);
WMIEV__PIN(offsetof(WMIREGGUIDW, InstanceInfo) == 24);
WMIEV__PIN(offsetof(WMIREGINFOW, BufferSize) == 0);
WMIEV__PIN(offsetof(WMIREGINFOW, NextWmiRegInfo) == 4);
WMIEV__PIN(offsetof(WMIREGINFOW, RegistryPath) == 8);
WMIEV__PIN(offsetof(WMIREGINFOW, MofResourceName) == 12);
WMIEV__PIN(offsetof(WMIREGINFOW, GuidCount) == 16);

WMIEV_END_DECLS

#endif /* WMIEV_REGINFO_H */
