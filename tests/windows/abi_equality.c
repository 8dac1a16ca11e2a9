/*
 * ABI equality of wmiev's wire structs with the Windows kernel headers.
 *
 * Compiled (never linked or run) by both mingw-w64 compilers, x86_64 and
 * i686, as the object library wmiev_abi_equality of the Windows kernel build
 * (tests/windows/CMakeLists.txt): building it is the test. It includes
 * mingw-w64's own <ddk/wdm.h>, <wmistr.h> and <ddk/wmilib.h> and then
 * wmiev's <wmiev/wnode.h>, <wmiev/reginfo.h>, <wmiev/wmi_codes.h> and
 * <wmiev/status.h>, and asserts at compile time that
 *
 *   - every struct has the same size and alignment, and every member the
 *     same offset, size and (for integers) signedness: GUID, LARGE_INTEGER,
 *     WNODE_HEADER, OFFSETINSTANCEDATAANDLENGTH, all WNODE_* bodies,
 *     WMIREGGUIDW, WMIREGINFOW (and their W-less and P* aliases);
 *   - every WNODE_FLAG_*, WMIREG_FLAG_*, WMIREG_ACTION_*, IRP_MN_* (WMI),
 *     IRP_MJ_SYSTEM_CONTROL, WMIREGISTER/WMIUPDATE value is equal, and so
 *     are wmiev's NTSTATUS values and wmilib enumerations;
 *
 * with one documented exception (shared/spec/wmi-kernel-path.md §8.2, §9.1):
 * mingw-w64 declares WNODE_ALL_DATA.OffsetInstanceDataAndLength as `[1]`
 * where Microsoft declares `[]`, which makes mingw's WNODE_ALL_DATA 72 bytes
 * and Microsoft's (and wmiev's) 64. That difference is asserted explicitly,
 * so a change on either side shows up here.
 *
 * Both sets of headers declare the same names, so wmiev's are included with
 * every type name it declares renamed to wmiev_abi_<name> by macros, and
 * every macro it defines (same names, values spelt with a `u` suffix) is
 * first captured from mingw-w64 as enumerators and then #undef'd.
 */
#include <ddk/wdm.h>
#include <wmistr.h>
#include <ddk/wmilib.h>

#include <stddef.h>

/* ---- 1. Capture mingw-w64's macro values ------------------------------------
 * Enumerators must fit an int, and WNODE_FLAG_SEVERITY_MASK does not: every
 * value is kept as two 16-bit halves. X-macro lists, reused for the checks. */

#if !defined(WNODE_FLAG_SEND_DATA_BLOCK)
#error "mingw-w64 defines WNODE_FLAG_SEND_DATA_BLOCK only for NTDDI_VERSION >= Vista; use the kernel toolchain flags"
#endif

#define ABI_WNODE_FLAGS(X)                                                                         \
  X(WNODE_FLAG_ALL_DATA)                                                                           \
  X(WNODE_FLAG_SINGLE_INSTANCE)                                                                    \
  X(WNODE_FLAG_SINGLE_ITEM)                                                                        \
  X(WNODE_FLAG_EVENT_ITEM)                                                                         \
  X(WNODE_FLAG_FIXED_INSTANCE_SIZE)                                                                \
  X(WNODE_FLAG_TOO_SMALL)                                                                          \
  X(WNODE_FLAG_INSTANCES_SAME)                                                                     \
  X(WNODE_FLAG_STATIC_INSTANCE_NAMES)                                                              \
  X(WNODE_FLAG_INTERNAL)                                                                           \
  X(WNODE_FLAG_USE_TIMESTAMP)                                                                      \
  X(WNODE_FLAG_PERSIST_EVENT)                                                                      \
  X(WNODE_FLAG_EVENT_REFERENCE)                                                                    \
  X(WNODE_FLAG_ANSI_INSTANCENAMES)                                                                 \
  X(WNODE_FLAG_METHOD_ITEM)                                                                        \
  X(WNODE_FLAG_PDO_INSTANCE_NAMES)                                                                 \
  X(WNODE_FLAG_TRACED_GUID)                                                                        \
  X(WNODE_FLAG_LOG_WNODE)                                                                          \
  X(WNODE_FLAG_USE_GUID_PTR)                                                                       \
  X(WNODE_FLAG_USE_MOF_PTR)                                                                        \
  X(WNODE_FLAG_NO_HEADER)                                                                          \
  X(WNODE_FLAG_SEND_DATA_BLOCK)                                                                    \
  X(WNODE_FLAG_VERSIONED_PROPERTIES)                                                               \
  X(WNODE_FLAG_SEVERITY_MASK)

#define ABI_WMIREG_FLAGS(X)                                                                        \
  X(WMIREG_FLAG_EXPENSIVE)                                                                         \
  X(WMIREG_FLAG_INSTANCE_LIST)                                                                     \
  X(WMIREG_FLAG_INSTANCE_BASENAME)                                                                 \
  X(WMIREG_FLAG_INSTANCE_PDO)                                                                      \
  X(WMIREG_FLAG_EVENT_ONLY_GUID)                                                                   \
  X(WMIREG_FLAG_TRACE_CONTROL_GUID)                                                                \
  X(WMIREG_FLAG_REMOVE_GUID)                                                                       \
  X(WMIREG_FLAG_RESERVED1)                                                                         \
  X(WMIREG_FLAG_RESERVED2)                                                                         \
  X(WMIREG_FLAG_TRACED_GUID)

#define ABI_WMI_CODES(X)                                                                           \
  X(IRP_MJ_SYSTEM_CONTROL)                                                                         \
  X(IRP_MN_QUERY_ALL_DATA)                                                                         \
  X(IRP_MN_QUERY_SINGLE_INSTANCE)                                                                  \
  X(IRP_MN_CHANGE_SINGLE_INSTANCE)                                                                 \
  X(IRP_MN_CHANGE_SINGLE_ITEM)                                                                     \
  X(IRP_MN_ENABLE_EVENTS)                                                                          \
  X(IRP_MN_DISABLE_EVENTS)                                                                         \
  X(IRP_MN_ENABLE_COLLECTION)                                                                      \
  X(IRP_MN_DISABLE_COLLECTION)                                                                     \
  X(IRP_MN_REGINFO)                                                                                \
  X(IRP_MN_EXECUTE_METHOD)                                                                         \
  X(IRP_MN_REGINFO_EX)                                                                             \
  X(WMIREG_ACTION_REGISTER)                                                                        \
  X(WMIREG_ACTION_DEREGISTER)                                                                      \
  X(WMIREG_ACTION_REREGISTER)                                                                      \
  X(WMIREG_ACTION_UPDATE_GUIDS)                                                                    \
  X(WMIREG_ACTION_BLOCK_IRPS)                                                                      \
  X(WMIREGISTER)                                                                                   \
  X(WMIUPDATE)

#define ABI_CAPTURE(name)                                                                          \
  abi_mingw_hi_##name = (int)((((unsigned long long)(name)) >> 16) & 0xffffu),                     \
  abi_mingw_lo_##name = (int)(((unsigned long long)(name)) & 0xffffu),                             \
  abi_mingw_fits_##name = ((long long)(name) >= 0 && (long long)(name) <= 0xffffffffLL),

enum abi_mingw_values {
  ABI_WNODE_FLAGS(ABI_CAPTURE) ABI_WMIREG_FLAGS(ABI_CAPTURE) ABI_WMI_CODES(ABI_CAPTURE)
  abi_mingw_values_end
};

/* Same number of names in the lists as #undef lines below (52). */
#define ABI_COUNT(name) +1
_Static_assert(0 ABI_WNODE_FLAGS(ABI_COUNT) ABI_WMIREG_FLAGS(ABI_COUNT) ABI_WMI_CODES(ABI_COUNT) == 52,
               "the capture lists and the #undef list below must name the same 52 macros");

#undef WNODE_FLAG_ALL_DATA
#undef WNODE_FLAG_SINGLE_INSTANCE
#undef WNODE_FLAG_SINGLE_ITEM
#undef WNODE_FLAG_EVENT_ITEM
#undef WNODE_FLAG_FIXED_INSTANCE_SIZE
#undef WNODE_FLAG_TOO_SMALL
#undef WNODE_FLAG_INSTANCES_SAME
#undef WNODE_FLAG_STATIC_INSTANCE_NAMES
#undef WNODE_FLAG_INTERNAL
#undef WNODE_FLAG_USE_TIMESTAMP
#undef WNODE_FLAG_PERSIST_EVENT
#undef WNODE_FLAG_EVENT_REFERENCE
#undef WNODE_FLAG_ANSI_INSTANCENAMES
#undef WNODE_FLAG_METHOD_ITEM
#undef WNODE_FLAG_PDO_INSTANCE_NAMES
#undef WNODE_FLAG_TRACED_GUID
#undef WNODE_FLAG_LOG_WNODE
#undef WNODE_FLAG_USE_GUID_PTR
#undef WNODE_FLAG_USE_MOF_PTR
#undef WNODE_FLAG_NO_HEADER
#undef WNODE_FLAG_SEND_DATA_BLOCK
#undef WNODE_FLAG_VERSIONED_PROPERTIES
#undef WNODE_FLAG_SEVERITY_MASK
#undef WMIREG_FLAG_EXPENSIVE
#undef WMIREG_FLAG_INSTANCE_LIST
#undef WMIREG_FLAG_INSTANCE_BASENAME
#undef WMIREG_FLAG_INSTANCE_PDO
#undef WMIREG_FLAG_EVENT_ONLY_GUID
#undef WMIREG_FLAG_TRACE_CONTROL_GUID
#undef WMIREG_FLAG_REMOVE_GUID
#undef WMIREG_FLAG_RESERVED1
#undef WMIREG_FLAG_RESERVED2
#undef WMIREG_FLAG_TRACED_GUID
#undef IRP_MJ_SYSTEM_CONTROL
#undef IRP_MN_QUERY_ALL_DATA
#undef IRP_MN_QUERY_SINGLE_INSTANCE
#undef IRP_MN_CHANGE_SINGLE_INSTANCE
#undef IRP_MN_CHANGE_SINGLE_ITEM
#undef IRP_MN_ENABLE_EVENTS
#undef IRP_MN_DISABLE_EVENTS
#undef IRP_MN_ENABLE_COLLECTION
#undef IRP_MN_DISABLE_COLLECTION
#undef IRP_MN_REGINFO
#undef IRP_MN_EXECUTE_METHOD
#undef IRP_MN_REGINFO_EX
#undef WMIREG_ACTION_REGISTER
#undef WMIREG_ACTION_DEREGISTER
#undef WMIREG_ACTION_REREGISTER
#undef WMIREG_ACTION_UPDATE_GUIDS
#undef WMIREG_ACTION_BLOCK_IRPS
#undef WMIREGISTER
#undef WMIUPDATE

/* ---- 2. wmiev's headers, type names renamed ---------------------------------
 * GUID_DEFINED is mingw-w64's guard too: without the #undef wnode.h would
 * reuse mingw's GUID and there would be nothing to compare. wnode.h defines
 * it again. */
#undef GUID_DEFINED

#define _GUID wmiev_abi__GUID
#define GUID wmiev_abi_GUID
#define LPCGUID wmiev_abi_LPCGUID
#define _LARGE_INTEGER wmiev_abi__LARGE_INTEGER
#define LARGE_INTEGER wmiev_abi_LARGE_INTEGER
#define PLARGE_INTEGER wmiev_abi_PLARGE_INTEGER
#define _WNODE_HEADER wmiev_abi__WNODE_HEADER
#define WNODE_HEADER wmiev_abi_WNODE_HEADER
#define PWNODE_HEADER wmiev_abi_PWNODE_HEADER
#define OFFSETINSTANCEDATAANDLENGTH wmiev_abi_OFFSETINSTANCEDATAANDLENGTH
#define POFFSETINSTANCEDATAANDLENGTH wmiev_abi_POFFSETINSTANCEDATAANDLENGTH
#define tagWNODE_ALL_DATA wmiev_abi_tagWNODE_ALL_DATA
#define WNODE_ALL_DATA wmiev_abi_WNODE_ALL_DATA
#define PWNODE_ALL_DATA wmiev_abi_PWNODE_ALL_DATA
#define tagWNODE_SINGLE_INSTANCE wmiev_abi_tagWNODE_SINGLE_INSTANCE
#define WNODE_SINGLE_INSTANCE wmiev_abi_WNODE_SINGLE_INSTANCE
#define PWNODE_SINGLE_INSTANCE wmiev_abi_PWNODE_SINGLE_INSTANCE
#define tagWNODE_SINGLE_ITEM wmiev_abi_tagWNODE_SINGLE_ITEM
#define WNODE_SINGLE_ITEM wmiev_abi_WNODE_SINGLE_ITEM
#define PWNODE_SINGLE_ITEM wmiev_abi_PWNODE_SINGLE_ITEM
#define tagWNODE_METHOD_ITEM wmiev_abi_tagWNODE_METHOD_ITEM
#define WNODE_METHOD_ITEM wmiev_abi_WNODE_METHOD_ITEM
#define PWNODE_METHOD_ITEM wmiev_abi_PWNODE_METHOD_ITEM
#define tagWNODE_EVENT_ITEM wmiev_abi_tagWNODE_EVENT_ITEM
#define WNODE_EVENT_ITEM wmiev_abi_WNODE_EVENT_ITEM
#define PWNODE_EVENT_ITEM wmiev_abi_PWNODE_EVENT_ITEM
#define tagWNODE_EVENT_REFERENCE wmiev_abi_tagWNODE_EVENT_REFERENCE
#define WNODE_EVENT_REFERENCE wmiev_abi_WNODE_EVENT_REFERENCE
#define PWNODE_EVENT_REFERENCE wmiev_abi_PWNODE_EVENT_REFERENCE
#define tagWNODE_TOO_SMALL wmiev_abi_tagWNODE_TOO_SMALL
#define WNODE_TOO_SMALL wmiev_abi_WNODE_TOO_SMALL
#define PWNODE_TOO_SMALL wmiev_abi_PWNODE_TOO_SMALL
#define WMIREGGUIDW wmiev_abi_WMIREGGUIDW
#define PWMIREGGUIDW wmiev_abi_PWMIREGGUIDW
#define WMIREGGUID wmiev_abi_WMIREGGUID
#define PWMIREGGUID wmiev_abi_PWMIREGGUID
#define WMIREGINFOW wmiev_abi_WMIREGINFOW
#define PWMIREGINFOW wmiev_abi_PWMIREGINFOW
#define WMIREGINFO wmiev_abi_WMIREGINFO
#define PWMIREGINFO wmiev_abi_PWMIREGINFO

#include <wmiev/reginfo.h>
#include <wmiev/status.h>
#include <wmiev/wmi_codes.h>
#include <wmiev/wmilib.h>
#include <wmiev/wnode.h>

#undef _GUID
#undef GUID
#undef LPCGUID
#undef _LARGE_INTEGER
#undef LARGE_INTEGER
#undef PLARGE_INTEGER
#undef _WNODE_HEADER
#undef WNODE_HEADER
#undef PWNODE_HEADER
#undef OFFSETINSTANCEDATAANDLENGTH
#undef POFFSETINSTANCEDATAANDLENGTH
#undef tagWNODE_ALL_DATA
#undef WNODE_ALL_DATA
#undef PWNODE_ALL_DATA
#undef tagWNODE_SINGLE_INSTANCE
#undef WNODE_SINGLE_INSTANCE
#undef PWNODE_SINGLE_INSTANCE
#undef tagWNODE_SINGLE_ITEM
#undef WNODE_SINGLE_ITEM
#undef PWNODE_SINGLE_ITEM
#undef tagWNODE_METHOD_ITEM
#undef WNODE_METHOD_ITEM
#undef PWNODE_METHOD_ITEM
#undef tagWNODE_EVENT_ITEM
#undef WNODE_EVENT_ITEM
#undef PWNODE_EVENT_ITEM
#undef tagWNODE_EVENT_REFERENCE
#undef WNODE_EVENT_REFERENCE
#undef PWNODE_EVENT_REFERENCE
#undef tagWNODE_TOO_SMALL
#undef WNODE_TOO_SMALL
#undef PWNODE_TOO_SMALL
#undef WMIREGGUIDW
#undef PWMIREGGUIDW
#undef WMIREGGUID
#undef PWMIREGGUID
#undef WMIREGINFOW
#undef PWMIREGINFOW
#undef WMIREGINFO
#undef PWMIREGINFO

/* (type)-1 < (type)1 holds exactly for signed types, and unlike "< 0" does
 * not trip -Wtype-limits for unsigned ones. */
#define ABI_IS_SIGNED_TYPE(type) ((type)-1 < (type)1)
#define ABI_IS_SIGNED(T, m) ABI_IS_SIGNED_TYPE(__typeof__(((T *)0)->m))

/* ---- 3. Macro values --------------------------------------------------------
 * wmiev's macros now hold the names; mingw-w64's values are the enumerators. */
#define ABI_SAME_VALUE(name)                                                                       \
  _Static_assert(abi_mingw_fits_##name, #name ": mingw-w64's value is not a 32-bit unsigned");   \
  _Static_assert((long long)(name) >= 0 && (long long)(name) <= 0xffffffffLL,                     \
                 #name ": wmiev's value is not a 32-bit unsigned");                                \
  _Static_assert(((((unsigned long long)(name)) >> 16) & 0xffffu) == abi_mingw_hi_##name &&        \
                     (((unsigned long long)(name)) & 0xffffu) == abi_mingw_lo_##name,              \
                 #name ": wmiev and mingw-w64 differ");

ABI_WNODE_FLAGS(ABI_SAME_VALUE)
ABI_WMIREG_FLAGS(ABI_SAME_VALUE)
ABI_WMI_CODES(ABI_SAME_VALUE)

/* NTSTATUS values (spec §7): wmiev_status is an int32_t holding NTSTATUS. */
_Static_assert(sizeof(wmiev_status) == sizeof(NTSTATUS), "wmiev_status: size");
_Static_assert(ABI_IS_SIGNED_TYPE(wmiev_status) == ABI_IS_SIGNED_TYPE(NTSTATUS), "wmiev_status: signedness");
#define ABI_SAME_STATUS(name)                                                                      \
  _Static_assert(WMIEV_##name == name, "WMIEV_" #name " differs from mingw-w64's " #name);
ABI_SAME_STATUS(STATUS_SUCCESS)
ABI_SAME_STATUS(STATUS_PENDING)
ABI_SAME_STATUS(STATUS_DATATYPE_MISALIGNMENT)
ABI_SAME_STATUS(STATUS_BUFFER_OVERFLOW)
ABI_SAME_STATUS(STATUS_UNSUCCESSFUL)
ABI_SAME_STATUS(STATUS_NOT_IMPLEMENTED)
ABI_SAME_STATUS(STATUS_INVALID_PARAMETER)
ABI_SAME_STATUS(STATUS_INVALID_DEVICE_REQUEST)
ABI_SAME_STATUS(STATUS_NO_MEMORY)
ABI_SAME_STATUS(STATUS_BUFFER_TOO_SMALL)
ABI_SAME_STATUS(STATUS_INVALID_PARAMETER_MIX)
ABI_SAME_STATUS(STATUS_INTEGER_OVERFLOW)
ABI_SAME_STATUS(STATUS_INSUFFICIENT_RESOURCES)
ABI_SAME_STATUS(STATUS_IO_TIMEOUT)
ABI_SAME_STATUS(STATUS_NOT_SUPPORTED)
ABI_SAME_STATUS(STATUS_DEVICE_DOES_NOT_EXIST)
ABI_SAME_STATUS(STATUS_NAME_TOO_LONG)
ABI_SAME_STATUS(STATUS_DRIVER_INTERNAL_ERROR)
ABI_SAME_STATUS(STATUS_POSSIBLE_DEADLOCK)
ABI_SAME_STATUS(STATUS_INVALID_BUFFER_SIZE)
ABI_SAME_STATUS(STATUS_WMI_GUID_NOT_FOUND)
ABI_SAME_STATUS(STATUS_WMI_INSTANCE_NOT_FOUND)
ABI_SAME_STATUS(STATUS_WMI_ITEMID_NOT_FOUND)
ABI_SAME_STATUS(STATUS_WMI_TRY_AGAIN)
ABI_SAME_STATUS(STATUS_WMI_READ_ONLY)
ABI_SAME_STATUS(STATUS_WMI_SET_FAILURE)
ABI_SAME_STATUS(STATUS_WMI_NOT_SUPPORTED)
ABI_SAME_STATUS(STATUS_WMI_GUID_DISCONNECTED)
ABI_SAME_STATUS(STATUS_WMI_ALREADY_DISABLED)
ABI_SAME_STATUS(STATUS_WMI_ALREADY_ENABLED)

/* The portable wmilib's enumerations mirror <ddk/wmilib.h>'s (spec §3.5, §4.4). */
_Static_assert(sizeof(wmiev_function_control) == sizeof(WMIENABLEDISABLECONTROL),
               "wmiev_function_control: size");
_Static_assert((int)WMIEV_EVENT_CONTROL == (int)WmiEventControl, "WMIEV_EVENT_CONTROL");
_Static_assert((int)WMIEV_DATA_BLOCK_CONTROL == (int)WmiDataBlockControl, "WMIEV_DATA_BLOCK_CONTROL");
_Static_assert(sizeof(wmiev_irp_disposition) == sizeof(SYSCTL_IRP_DISPOSITION),
               "wmiev_irp_disposition: size");
_Static_assert((int)WMIEV_IRP_PROCESSED == (int)IrpProcessed, "WMIEV_IRP_PROCESSED");
_Static_assert((int)WMIEV_IRP_NOT_COMPLETED == (int)IrpNotCompleted, "WMIEV_IRP_NOT_COMPLETED");
_Static_assert((int)WMIEV_IRP_NOT_WMI == (int)IrpNotWmi, "WMIEV_IRP_NOT_WMI");
_Static_assert((int)WMIEV_IRP_FORWARD == (int)IrpForward, "WMIEV_IRP_FORWARD");

/* ---- 4. Layouts -----------------------------------------------------------------
 * mw = mingw-w64's type, ours = wmiev's (renamed). */
#define ABI_MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define ABI_ELEMENT_SIZE(T, m) sizeof(((T *)0)->m[0])

/* mw is mingw-w64's type name; wmiev's is the same name renamed by section 2
 * (wmiev_abi_<mw>), so a check can never pair two different types. */

/* Whole type: size and alignment. */
#define ABI_SAME_TYPE(mw)                                                                          \
  _Static_assert(sizeof(mw) == sizeof(wmiev_abi_##mw), #mw ": size");                              \
  _Static_assert(_Alignof(mw) == _Alignof(wmiev_abi_##mw), #mw ": alignment");

/* Member of any type: offset and size. */
#define ABI_SAME_MEMBER(mw, m)                                                                     \
  _Static_assert(offsetof(mw, m) == offsetof(wmiev_abi_##mw, m), #mw "." #m ": offset");           \
  _Static_assert(ABI_MEMBER_SIZE(mw, m) == ABI_MEMBER_SIZE(wmiev_abi_##mw, m),                     \
                 #mw "." #m ": size");

/* Integer member: offset, size and signedness. */
#define ABI_SAME_INTEGER(mw, m)                                                                    \
  ABI_SAME_MEMBER(mw, m)                                                                           \
  _Static_assert(ABI_IS_SIGNED(mw, m) == ABI_IS_SIGNED(wmiev_abi_##mw, m),                         \
                 #mw "." #m ": signedness");

/* Trailing variable-length array: offset and element size (the declared
 * element counts differ legitimately: [] or [0] against [1]). */
#define ABI_SAME_TRAILER(mw, m)                                                                    \
  _Static_assert(offsetof(mw, m) == offsetof(wmiev_abi_##mw, m), #mw "." #m ": offset");           \
  _Static_assert(ABI_ELEMENT_SIZE(mw, m) == ABI_ELEMENT_SIZE(wmiev_abi_##mw, m),                   \
                 #mw "." #m "[0]: size");

/* wmiev's pointer typedef P points to its struct typedef T. */
#define ABI_POINTER_TYPEDEF(P, T)                                                                  \
  _Static_assert(_Generic((wmiev_abi_##P)0, wmiev_abi_##T * : 1, default : 0), #P " is " #T " *");

/* GUID */
ABI_SAME_TYPE(GUID)
ABI_SAME_INTEGER(GUID, Data1)
ABI_SAME_INTEGER(GUID, Data2)
ABI_SAME_INTEGER(GUID, Data3)
ABI_SAME_MEMBER(GUID, Data4)
_Static_assert(ABI_ELEMENT_SIZE(GUID, Data4) == ABI_ELEMENT_SIZE(wmiev_abi_GUID, Data4), "GUID.Data4[0]: size");
_Static_assert(_Generic((wmiev_abi_LPCGUID)0, const wmiev_abi_GUID *: 1, default: 0), "LPCGUID is const GUID *");

/* LARGE_INTEGER */
ABI_SAME_TYPE(LARGE_INTEGER)
ABI_SAME_INTEGER(LARGE_INTEGER, LowPart)
ABI_SAME_INTEGER(LARGE_INTEGER, HighPart)
ABI_SAME_INTEGER(LARGE_INTEGER, u.LowPart)
ABI_SAME_INTEGER(LARGE_INTEGER, u.HighPart)
ABI_SAME_INTEGER(LARGE_INTEGER, QuadPart)
ABI_POINTER_TYPEDEF(PLARGE_INTEGER, LARGE_INTEGER)

/* WNODE_HEADER */
ABI_SAME_TYPE(WNODE_HEADER)
ABI_SAME_INTEGER(WNODE_HEADER, BufferSize)
ABI_SAME_INTEGER(WNODE_HEADER, ProviderId)
ABI_SAME_INTEGER(WNODE_HEADER, HistoricalContext)
ABI_SAME_INTEGER(WNODE_HEADER, Version)
ABI_SAME_INTEGER(WNODE_HEADER, Linkage)
ABI_SAME_INTEGER(WNODE_HEADER, CountLost)
ABI_SAME_MEMBER(WNODE_HEADER, KernelHandle)
ABI_SAME_MEMBER(WNODE_HEADER, TimeStamp)
ABI_SAME_MEMBER(WNODE_HEADER, Guid)
ABI_SAME_INTEGER(WNODE_HEADER, ClientContext)
ABI_SAME_INTEGER(WNODE_HEADER, Flags)
ABI_POINTER_TYPEDEF(PWNODE_HEADER, WNODE_HEADER)

/* OFFSETINSTANCEDATAANDLENGTH */
ABI_SAME_TYPE(OFFSETINSTANCEDATAANDLENGTH)
ABI_SAME_INTEGER(OFFSETINSTANCEDATAANDLENGTH, OffsetInstanceData)
ABI_SAME_INTEGER(OFFSETINSTANCEDATAANDLENGTH, LengthInstanceData)
ABI_POINTER_TYPEDEF(POFFSETINSTANCEDATAANDLENGTH, OFFSETINSTANCEDATAANDLENGTH)

/* WNODE_ALL_DATA: the documented exception. Same members at the same
 * offsets; mingw-w64's OffsetInstanceDataAndLength[1] adds one 8-byte
 * element at offset 60, so its union is 8 bytes (not 4) and the struct,
 * padded to its 8-byte alignment, is 72 bytes instead of Microsoft's 64. */
_Static_assert(sizeof(WNODE_ALL_DATA) == sizeof(wmiev_abi_WNODE_ALL_DATA) + 8,
               "WNODE_ALL_DATA: mingw-w64's declaration is 8 bytes longer than Microsoft's "
               "(spec section 8.2); wmiev follows Microsoft");
_Static_assert(sizeof(wmiev_abi_WNODE_ALL_DATA) == 64, "WNODE_ALL_DATA: wmiev's is 64 bytes");
_Static_assert(sizeof(WNODE_ALL_DATA) == 72, "WNODE_ALL_DATA: mingw-w64's is 72 bytes");
_Static_assert(_Alignof(WNODE_ALL_DATA) == _Alignof(wmiev_abi_WNODE_ALL_DATA), "WNODE_ALL_DATA: alignment");
_Static_assert(ABI_MEMBER_SIZE(WNODE_ALL_DATA, OffsetInstanceDataAndLength) ==
                   1 * sizeof(OFFSETINSTANCEDATAANDLENGTH),
               "WNODE_ALL_DATA.OffsetInstanceDataAndLength: mingw-w64 declares one element");
ABI_SAME_MEMBER(WNODE_ALL_DATA, WnodeHeader)
ABI_SAME_INTEGER(WNODE_ALL_DATA, DataBlockOffset)
ABI_SAME_INTEGER(WNODE_ALL_DATA, InstanceCount)
ABI_SAME_INTEGER(WNODE_ALL_DATA, OffsetInstanceNameOffsets)
ABI_SAME_INTEGER(WNODE_ALL_DATA, FixedInstanceSize)
ABI_SAME_TRAILER(WNODE_ALL_DATA, OffsetInstanceDataAndLength)
ABI_POINTER_TYPEDEF(PWNODE_ALL_DATA, WNODE_ALL_DATA)

/* WNODE_SINGLE_INSTANCE */
ABI_SAME_TYPE(WNODE_SINGLE_INSTANCE)
ABI_SAME_MEMBER(WNODE_SINGLE_INSTANCE, WnodeHeader)
ABI_SAME_INTEGER(WNODE_SINGLE_INSTANCE, OffsetInstanceName)
ABI_SAME_INTEGER(WNODE_SINGLE_INSTANCE, InstanceIndex)
ABI_SAME_INTEGER(WNODE_SINGLE_INSTANCE, DataBlockOffset)
ABI_SAME_INTEGER(WNODE_SINGLE_INSTANCE, SizeDataBlock)
ABI_SAME_TRAILER(WNODE_SINGLE_INSTANCE, VariableData)
ABI_POINTER_TYPEDEF(PWNODE_SINGLE_INSTANCE, WNODE_SINGLE_INSTANCE)

/* WNODE_SINGLE_ITEM */
ABI_SAME_TYPE(WNODE_SINGLE_ITEM)
ABI_SAME_MEMBER(WNODE_SINGLE_ITEM, WnodeHeader)
ABI_SAME_INTEGER(WNODE_SINGLE_ITEM, OffsetInstanceName)
ABI_SAME_INTEGER(WNODE_SINGLE_ITEM, InstanceIndex)
ABI_SAME_INTEGER(WNODE_SINGLE_ITEM, ItemId)
ABI_SAME_INTEGER(WNODE_SINGLE_ITEM, DataBlockOffset)
ABI_SAME_INTEGER(WNODE_SINGLE_ITEM, SizeDataItem)
ABI_SAME_TRAILER(WNODE_SINGLE_ITEM, VariableData)
ABI_POINTER_TYPEDEF(PWNODE_SINGLE_ITEM, WNODE_SINGLE_ITEM)

/* WNODE_METHOD_ITEM */
ABI_SAME_TYPE(WNODE_METHOD_ITEM)
ABI_SAME_MEMBER(WNODE_METHOD_ITEM, WnodeHeader)
ABI_SAME_INTEGER(WNODE_METHOD_ITEM, OffsetInstanceName)
ABI_SAME_INTEGER(WNODE_METHOD_ITEM, InstanceIndex)
ABI_SAME_INTEGER(WNODE_METHOD_ITEM, MethodId)
ABI_SAME_INTEGER(WNODE_METHOD_ITEM, DataBlockOffset)
ABI_SAME_INTEGER(WNODE_METHOD_ITEM, SizeDataBlock)
ABI_SAME_TRAILER(WNODE_METHOD_ITEM, VariableData)
ABI_POINTER_TYPEDEF(PWNODE_METHOD_ITEM, WNODE_METHOD_ITEM)

/* WNODE_EVENT_ITEM */
ABI_SAME_TYPE(WNODE_EVENT_ITEM)
ABI_SAME_MEMBER(WNODE_EVENT_ITEM, WnodeHeader)
ABI_POINTER_TYPEDEF(PWNODE_EVENT_ITEM, WNODE_EVENT_ITEM)

/* WNODE_EVENT_REFERENCE: mingw-w64's TargetInstanceName[1] shares the union
 * with a ULONG, so here the [1]-against-[] difference does not change the size. */
ABI_SAME_TYPE(WNODE_EVENT_REFERENCE)
ABI_SAME_MEMBER(WNODE_EVENT_REFERENCE, WnodeHeader)
ABI_SAME_MEMBER(WNODE_EVENT_REFERENCE, TargetGuid)
ABI_SAME_INTEGER(WNODE_EVENT_REFERENCE, TargetDataBlockSize)
ABI_SAME_INTEGER(WNODE_EVENT_REFERENCE, TargetInstanceIndex)
ABI_SAME_TRAILER(WNODE_EVENT_REFERENCE, TargetInstanceName)
_Static_assert(ABI_IS_SIGNED(WNODE_EVENT_REFERENCE, TargetInstanceName[0]) ==
                   ABI_IS_SIGNED(wmiev_abi_WNODE_EVENT_REFERENCE, TargetInstanceName[0]),
               "WNODE_EVENT_REFERENCE.TargetInstanceName[0]: signedness");
ABI_POINTER_TYPEDEF(PWNODE_EVENT_REFERENCE, WNODE_EVENT_REFERENCE)

/* WNODE_TOO_SMALL */
ABI_SAME_TYPE(WNODE_TOO_SMALL)
ABI_SAME_MEMBER(WNODE_TOO_SMALL, WnodeHeader)
ABI_SAME_INTEGER(WNODE_TOO_SMALL, SizeNeeded)
ABI_POINTER_TYPEDEF(PWNODE_TOO_SMALL, WNODE_TOO_SMALL)

/* WMIREGGUIDW: 32 bytes on x86_64, 28 on i686 (pointer-sized union). */
ABI_SAME_TYPE(WMIREGGUIDW)
ABI_SAME_MEMBER(WMIREGGUIDW, Guid)
ABI_SAME_INTEGER(WMIREGGUIDW, Flags)
ABI_SAME_INTEGER(WMIREGGUIDW, InstanceCount)
ABI_SAME_INTEGER(WMIREGGUIDW, InstanceNameList)
ABI_SAME_INTEGER(WMIREGGUIDW, BaseNameOffset)
ABI_SAME_INTEGER(WMIREGGUIDW, Pdo)
ABI_SAME_INTEGER(WMIREGGUIDW, InstanceInfo)
ABI_POINTER_TYPEDEF(PWMIREGGUIDW, WMIREGGUIDW)
ABI_SAME_TYPE(WMIREGGUID)
_Static_assert(_Generic((wmiev_abi_WMIREGGUID *)0, wmiev_abi_WMIREGGUIDW *: 1, default: 0), "WMIREGGUID is WMIREGGUIDW");
ABI_POINTER_TYPEDEF(PWMIREGGUID, WMIREGGUIDW)

/* WMIREGINFOW: 24 bytes on x86_64, 20 on i686 (alignment of WmiRegGuid[]). */
ABI_SAME_TYPE(WMIREGINFOW)
ABI_SAME_INTEGER(WMIREGINFOW, BufferSize)
ABI_SAME_INTEGER(WMIREGINFOW, NextWmiRegInfo)
ABI_SAME_INTEGER(WMIREGINFOW, RegistryPath)
ABI_SAME_INTEGER(WMIREGINFOW, MofResourceName)
ABI_SAME_INTEGER(WMIREGINFOW, GuidCount)
ABI_SAME_TRAILER(WMIREGINFOW, WmiRegGuid)
ABI_POINTER_TYPEDEF(PWMIREGINFOW, WMIREGINFOW)
ABI_SAME_TYPE(WMIREGINFO)
_Static_assert(_Generic((wmiev_abi_WMIREGINFO *)0, wmiev_abi_WMIREGINFOW *: 1, default: 0), "WMIREGINFO is WMIREGINFOW");
ABI_POINTER_TYPEDEF(PWMIREGINFO, WMIREGINFOW)

/* ISO C wants at least one external definition in a translation unit. */
extern const int wmiev_abi_equality_checked;
const int wmiev_abi_equality_checked = 1;
