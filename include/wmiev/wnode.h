/**
 * @file wnode.h
 * @brief The WNODE_* wire structures, byte-exact with Windows (wmistr.h).
 *
 * Names, member names and member order are Windows'; the member *types* are
 * fixed-width so that the layout is the same on every host: ULONG is
 * uint32_t, WCHAR is uint16_t, HANDLE is a pointer. Every size and offset is
 * pinned with static assertions below against the tables in
 * `shared/spec/wmi-kernel-path.md` §8.2 (identical on x86_64 and i386).
 *
 * `WNODE_ALL_DATA` follows Microsoft's documented declaration (64 bytes), not
 * mingw-w64's (72 bytes); see docs/decisions.md.
 *
 * All multi-byte fields are little-endian on the wire, as on Windows; wmiev
 * supports little-endian hosts only (asserted in lib/core).
 *
 * Windows kernel builds define WMIEV_USE_SYSTEM_WMISTR (the kernel branch of
 * lib/CMakeLists.txt makes it a PUBLIC definition of the wmiev target): a
 * driver includes <wdm.h> and <wmistr.h> as well as wmiev's headers, and two
 * definitions of GUID or WNODE_HEADER in one translation unit cannot coexist.
 * This header then includes the system's <wdm.h> (mingw-w64: <ddk/wdm.h>) and
 * <wmistr.h> and adds only what they lack; the layout pins below check the
 * system's types. They are the same bytes (tests/windows/abi_equality.c),
 * except that mingw-w64's WNODE_ALL_DATA is 72 bytes (spec §8.2): wmiev's
 * core never uses sizeof(WNODE_ALL_DATA), so its output does not change.
 * The member types are then ULONG/UCHAR/WCHAR instead of uint32_t/uint8_t/
 * uint16_t: same sizes and signedness, other C types (ULONG is unsigned long).
 */
#ifndef WMIEV_WNODE_H
#define WMIEV_WNODE_H

#include "common.h"

#if defined(WMIEV_USE_SYSTEM_WMISTR)
#if defined(__MINGW32__)
#include <ddk/wdm.h>
#else
#include <wdm.h>
#endif
#include <wmistr.h>
#endif

WMIEV_BEGIN_DECLS

#if defined(WMIEV_USE_SYSTEM_WMISTR)

#ifndef __LPCGUID_DEFINED__
#define __LPCGUID_DEFINED__
typedef const GUID *LPCGUID;
#endif
/* Older targets' headers omit the flags added after Windows XP. */
#ifndef WNODE_FLAG_SEND_DATA_BLOCK
#define WNODE_FLAG_SEND_DATA_BLOCK 0x00400000
#endif
#ifndef WNODE_FLAG_VERSIONED_PROPERTIES
#define WNODE_FLAG_VERSIONED_PROPERTIES 0x00800000
#endif

#else /* !WMIEV_USE_SYSTEM_WMISTR */

#ifndef GUID_DEFINED
#define GUID_DEFINED
/** A GUID as Windows lays it out: 16 bytes, alignment 4. */
typedef struct _GUID {
  uint32_t Data1;
  uint16_t Data2;
  uint16_t Data3;
  uint8_t Data4[8];
} GUID;
#endif
/** Pointer to a constant GUID, as in guiddef.h. */
typedef const GUID *LPCGUID;

#ifndef WMIEV_LARGE_INTEGER_DEFINED
#define WMIEV_LARGE_INTEGER_DEFINED
/** Windows' LARGE_INTEGER: a signed 64-bit value with 8-byte alignment on every target. */
typedef union _LARGE_INTEGER {
  struct {
    uint32_t LowPart;
    int32_t HighPart;
  };
  struct {
    uint32_t LowPart;
    int32_t HighPart;
  } u;
  WMIEV_ALIGN8 int64_t QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;
#endif

/* ---- WNODE_HEADER.Flags (spec §1.2) ------------------------------------ */
#define WNODE_FLAG_ALL_DATA 0x00000001u
#define WNODE_FLAG_SINGLE_INSTANCE 0x00000002u
#define WNODE_FLAG_SINGLE_ITEM 0x00000004u
#define WNODE_FLAG_EVENT_ITEM 0x00000008u
#define WNODE_FLAG_FIXED_INSTANCE_SIZE 0x00000010u
#define WNODE_FLAG_TOO_SMALL 0x00000020u
#define WNODE_FLAG_INSTANCES_SAME 0x00000040u
#define WNODE_FLAG_STATIC_INSTANCE_NAMES 0x00000080u
#define WNODE_FLAG_INTERNAL 0x00000100u
#define WNODE_FLAG_USE_TIMESTAMP 0x00000200u
#define WNODE_FLAG_PERSIST_EVENT 0x00000400u
#define WNODE_FLAG_EVENT_REFERENCE 0x00002000u
#define WNODE_FLAG_ANSI_INSTANCENAMES 0x00004000u
#define WNODE_FLAG_METHOD_ITEM 0x00008000u
#define WNODE_FLAG_PDO_INSTANCE_NAMES 0x00010000u
#define WNODE_FLAG_TRACED_GUID 0x00020000u
#define WNODE_FLAG_LOG_WNODE 0x00040000u
#define WNODE_FLAG_USE_GUID_PTR 0x00080000u
#define WNODE_FLAG_USE_MOF_PTR 0x00100000u
#define WNODE_FLAG_NO_HEADER 0x00200000u
#define WNODE_FLAG_SEND_DATA_BLOCK 0x00400000u
#define WNODE_FLAG_VERSIONED_PROPERTIES 0x00800000u
#define WNODE_FLAG_SEVERITY_MASK 0xff000000u

/** The 48-byte header every WNODE starts with. */
typedef struct _WNODE_HEADER {
  uint32_t BufferSize;
  uint32_t ProviderId;
  union {
    WMIEV_ALIGN8 uint64_t HistoricalContext;
    struct {
      uint32_t Version;
      uint32_t Linkage;
    };
  };
  union {
    uint32_t CountLost;
    void *KernelHandle;
    LARGE_INTEGER TimeStamp;
  };
  GUID Guid;
  uint32_t ClientContext;
  uint32_t Flags;
} WNODE_HEADER, *PWNODE_HEADER;

/** One {offset, length} pair of a variable-size WNODE_ALL_DATA. */
typedef struct {
  uint32_t OffsetInstanceData;
  uint32_t LengthInstanceData;
} OFFSETINSTANCEDATAANDLENGTH, *POFFSETINSTANCEDATAANDLENGTH;

/** All instances of a block (64 bytes, Microsoft's declaration). */
typedef struct tagWNODE_ALL_DATA {
  WNODE_HEADER WnodeHeader;
  uint32_t DataBlockOffset;
  uint32_t InstanceCount;
  uint32_t OffsetInstanceNameOffsets;
  union {
    uint32_t FixedInstanceSize;
    WMIEV_VLA_MEMBER(OFFSETINSTANCEDATAANDLENGTH, OffsetInstanceDataAndLength);
  };
} WNODE_ALL_DATA, *PWNODE_ALL_DATA;

/** One instance of a block. */
typedef struct tagWNODE_SINGLE_INSTANCE {
  WNODE_HEADER WnodeHeader;
  uint32_t OffsetInstanceName;
  uint32_t InstanceIndex;
  uint32_t DataBlockOffset;
  uint32_t SizeDataBlock;
  uint8_t VariableData[];
} WNODE_SINGLE_INSTANCE, *PWNODE_SINGLE_INSTANCE;

/** One data item of one instance. */
typedef struct tagWNODE_SINGLE_ITEM {
  WNODE_HEADER WnodeHeader;
  uint32_t OffsetInstanceName;
  uint32_t InstanceIndex;
  uint32_t ItemId;
  uint32_t DataBlockOffset;
  uint32_t SizeDataItem;
  uint8_t VariableData[];
} WNODE_SINGLE_ITEM, *PWNODE_SINGLE_ITEM;

/** A method call: input data in, output data back in the same place. */
typedef struct tagWNODE_METHOD_ITEM {
  WNODE_HEADER WnodeHeader;
  uint32_t OffsetInstanceName;
  uint32_t InstanceIndex;
  uint32_t MethodId;
  uint32_t DataBlockOffset;
  uint32_t SizeDataBlock;
  uint8_t VariableData[];
} WNODE_METHOD_ITEM, *PWNODE_METHOD_ITEM;

/** The type IoWMIWriteEvent takes; the real body is chosen by the flags. */
typedef struct tagWNODE_EVENT_ITEM {
  WNODE_HEADER WnodeHeader;
} WNODE_EVENT_ITEM, *PWNODE_EVENT_ITEM;

/** An event too large to send: WMI queries the instance it names. */
typedef struct tagWNODE_EVENT_REFERENCE {
  WNODE_HEADER WnodeHeader;
  GUID TargetGuid;
  uint32_t TargetDataBlockSize;
  union {
    uint32_t TargetInstanceIndex;
    WMIEV_VLA_MEMBER(uint16_t, TargetInstanceName);
  };
} WNODE_EVENT_REFERENCE, *PWNODE_EVENT_REFERENCE;

/** Reply when the output buffer is too small: how many bytes are needed. */
typedef struct tagWNODE_TOO_SMALL {
  WNODE_HEADER WnodeHeader;
  uint32_t SizeNeeded;
} WNODE_TOO_SMALL, *PWNODE_TOO_SMALL;

#endif /* WMIEV_USE_SYSTEM_WMISTR */

/** Extracts the severity byte of a WNODE_EVENT_REFERENCE's flags. */
#define WMIEV_WNODE_SEVERITY(flags) ((uint8_t)(((uint32_t)(flags)) >> 24))

/* ---- Layout pins (spec §8.2; identical on x86_64 and i386) ------------- */
#define WMIEV__PIN(cond) WMIEV_STATIC_ASSERT(cond, #cond)
WMIEV__PIN(sizeof(GUID) == 16);
WMIEV__PIN(sizeof(LARGE_INTEGER) == 8 && WMIEV_ALIGNOF(LARGE_INTEGER) == 8);
WMIEV__PIN(sizeof(WNODE_HEADER) == 48 && WMIEV_ALIGNOF(WNODE_HEADER) == 8);
WMIEV__PIN(offsetof(WNODE_HEADER, BufferSize) == 0);
WMIEV__PIN(offsetof(WNODE_HEADER, ProviderId) == 4);
WMIEV__PIN(offsetof(WNODE_HEADER, HistoricalContext) == 8);
WMIEV__PIN(offsetof(WNODE_HEADER, Version) == 8);
WMIEV__PIN(offsetof(WNODE_HEADER, Linkage) == 12);
WMIEV__PIN(offsetof(WNODE_HEADER, CountLost) == 16);
WMIEV__PIN(offsetof(WNODE_HEADER, KernelHandle) == 16);
WMIEV__PIN(offsetof(WNODE_HEADER, TimeStamp) == 16);
WMIEV__PIN(offsetof(WNODE_HEADER, Guid) == 24);
WMIEV__PIN(offsetof(WNODE_HEADER, ClientContext) == 40);
WMIEV__PIN(offsetof(WNODE_HEADER, Flags) == 44);
WMIEV__PIN(sizeof(OFFSETINSTANCEDATAANDLENGTH) == 8 && WMIEV_ALIGNOF(OFFSETINSTANCEDATAANDLENGTH) == 4);
#if defined(WMIEV_USE_SYSTEM_WMISTR) && defined(__MINGW32__)
/* mingw-w64 declares OffsetInstanceDataAndLength[1] where Microsoft declares
 * []: 8 bytes of tail (spec §8.2, §9.1). Same members at the same offsets. */
WMIEV__PIN(sizeof(WNODE_ALL_DATA) == 72 && WMIEV_ALIGNOF(WNODE_ALL_DATA) == 8);
#else
WMIEV__PIN(sizeof(WNODE_ALL_DATA) == 64 && WMIEV_ALIGNOF(WNODE_ALL_DATA) == 8);
#endif
WMIEV__PIN(offsetof(WNODE_ALL_DATA, DataBlockOffset) == 48);
WMIEV__PIN(offsetof(WNODE_ALL_DATA, InstanceCount) == 52);
WMIEV__PIN(offsetof(WNODE_ALL_DATA, OffsetInstanceNameOffsets) == 56);
WMIEV__PIN(offsetof(WNODE_ALL_DATA, FixedInstanceSize) == 60);
WMIEV__PIN(offsetof(WNODE_ALL_DATA, OffsetInstanceDataAndLength) == 60);
WMIEV__PIN(sizeof(WNODE_SINGLE_INSTANCE) == 64 && WMIEV_ALIGNOF(WNODE_SINGLE_INSTANCE) == 8);
WMIEV__PIN(offsetof(WNODE_SINGLE_INSTANCE, OffsetInstanceName) == 48);
WMIEV__PIN(offsetof(WNODE_SINGLE_INSTANCE, InstanceIndex) == 52);
WMIEV__PIN(offsetof(WNODE_SINGLE_INSTANCE, DataBlockOffset) == 56);
WMIEV__PIN(offsetof(WNODE_SINGLE_INSTANCE, SizeDataBlock) == 60);
WMIEV__PIN(offsetof(WNODE_SINGLE_INSTANCE, VariableData) == 64);
WMIEV__PIN(sizeof(WNODE_SINGLE_ITEM) == 72 && WMIEV_ALIGNOF(WNODE_SINGLE_ITEM) == 8);
WMIEV__PIN(offsetof(WNODE_SINGLE_ITEM, OffsetInstanceName) == 48);
WMIEV__PIN(offsetof(WNODE_SINGLE_ITEM, InstanceIndex) == 52);
WMIEV__PIN(offsetof(WNODE_SINGLE_ITEM, ItemId) == 56);
WMIEV__PIN(offsetof(WNODE_SINGLE_ITEM, DataBlockOffset) == 60);
WMIEV__PIN(offsetof(WNODE_SINGLE_ITEM, SizeDataItem) == 64);
WMIEV__PIN(offsetof(WNODE_SINGLE_ITEM, VariableData) == 68);
WMIEV__PIN(sizeof(WNODE_METHOD_ITEM) == 72 && WMIEV_ALIGNOF(WNODE_METHOD_ITEM) == 8);
WMIEV__PIN(offsetof(WNODE_METHOD_ITEM, OffsetInstanceName) == 48);
WMIEV__PIN(offsetof(WNODE_METHOD_ITEM, InstanceIndex) == 52);
WMIEV__PIN(offsetof(WNODE_METHOD_ITEM, MethodId) == 56);
WMIEV__PIN(offsetof(WNODE_METHOD_ITEM, DataBlockOffset) == 60);
WMIEV__PIN(offsetof(WNODE_METHOD_ITEM, SizeDataBlock) == 64);
WMIEV__PIN(offsetof(WNODE_METHOD_ITEM, VariableData) == 68);
WMIEV__PIN(sizeof(WNODE_EVENT_ITEM) == 48 && WMIEV_ALIGNOF(WNODE_EVENT_ITEM) == 8);
WMIEV__PIN(sizeof(WNODE_EVENT_REFERENCE) == 72 && WMIEV_ALIGNOF(WNODE_EVENT_REFERENCE) == 8);
WMIEV__PIN(offsetof(WNODE_EVENT_REFERENCE, TargetGuid) == 48);
WMIEV__PIN(offsetof(WNODE_EVENT_REFERENCE, TargetDataBlockSize) == 64);
WMIEV__PIN(offsetof(WNODE_EVENT_REFERENCE, TargetInstanceIndex) == 68);
WMIEV__PIN(offsetof(WNODE_EVENT_REFERENCE, TargetInstanceName) == 68);
WMIEV__PIN(sizeof(WNODE_TOO_SMALL) == 56 && WMIEV_ALIGNOF(WNODE_TOO_SMALL) == 8);
WMIEV__PIN(offsetof(WNODE_TOO_SMALL, SizeNeeded) == 48);

WMIEV_END_DECLS

#endif /* WMIEV_WNODE_H */
