/*
 * wmilib.h (WDK face): the WMI library a WDM driver links (wmilib.lib on
 * Windows): WMILIB_CONTEXT, WmiSystemControl, WmiCompleteRequest,
 * WmiFireEvent. Implemented in lib/wdk/wmi_*.c on the core's wmilib logic,
 * the same code that serves portable providers (spec §3.5, §4.4, §4.5, §5.3).
 */
#ifndef WMIEV_WDK_WMILIB_H
#define WMIEV_WDK_WMILIB_H

#include "wdm.h"
#include "wmistr.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One block the driver serves: its GUID, static instance count and WMIREG_FLAG_*. */
typedef struct _WMIGUIDREGINFO {
  LPCGUID Guid;
  ULONG InstanceCount;
  ULONG Flags;
} WMIGUIDREGINFO, *PWMIGUIDREGINFO;

typedef enum _WMIENABLEDISABLECONTROL {
  WmiEventControl = 0,    /* IRP_MN_ENABLE_EVENTS / IRP_MN_DISABLE_EVENTS */
  WmiDataBlockControl = 1 /* IRP_MN_ENABLE_COLLECTION / IRP_MN_DISABLE_COLLECTION */
} WMIENABLEDISABLECONTROL,
    *PWMIENABLEDISABLECONTROL;

typedef enum _SYSCTL_IRP_DISPOSITION {
  IrpProcessed = 0,
  IrpNotCompleted = 1,
  IrpNotWmi = 2,
  IrpForward = 3
} SYSCTL_IRP_DISPOSITION,
    *PSYSCTL_IRP_DISPOSITION;

typedef NTSTATUS WMI_QUERY_REGINFO_CALLBACK(PDEVICE_OBJECT DeviceObject, PULONG RegFlags,
                                            PUNICODE_STRING InstanceName,
                                            PUNICODE_STRING *RegistryPath,
                                            PUNICODE_STRING MofResourceName, PDEVICE_OBJECT *Pdo);
typedef WMI_QUERY_REGINFO_CALLBACK *PWMI_QUERY_REGINFO;

typedef NTSTATUS WMI_FUNCTION_CONTROL_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                               ULONG GuidIndex, WMIENABLEDISABLECONTROL Function,
                                               BOOLEAN Enable);
typedef WMI_FUNCTION_CONTROL_CALLBACK *PWMI_FUNCTION_CONTROL;

typedef NTSTATUS WMI_QUERY_DATABLOCK_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                              ULONG GuidIndex, ULONG InstanceIndex,
                                              ULONG InstanceCount, PULONG InstanceLengthArray,
                                              ULONG BufferAvail, PUCHAR Buffer);
typedef WMI_QUERY_DATABLOCK_CALLBACK *PWMI_QUERY_DATABLOCK;

typedef NTSTATUS WMI_EXECUTE_METHOD_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                             ULONG InstanceIndex, ULONG MethodId,
                                             ULONG InBufferSize, ULONG OutBufferSize,
                                             PUCHAR Buffer);
typedef WMI_EXECUTE_METHOD_CALLBACK *PWMI_EXECUTE_METHOD;

typedef NTSTATUS WMI_SET_DATABLOCK_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                            ULONG InstanceIndex, ULONG BufferSize, PUCHAR Buffer);
typedef WMI_SET_DATABLOCK_CALLBACK *PWMI_SET_DATABLOCK;

typedef NTSTATUS WMI_SET_DATAITEM_CALLBACK(PDEVICE_OBJECT DeviceObject, PIRP Irp, ULONG GuidIndex,
                                           ULONG InstanceIndex, ULONG DataItemId, ULONG BufferSize,
                                           PUCHAR Buffer);
typedef WMI_SET_DATAITEM_CALLBACK *PWMI_SET_DATAITEM;

typedef struct _WMILIB_CONTEXT {
  ULONG GuidCount;
  PWMIGUIDREGINFO GuidList;
  PWMI_QUERY_REGINFO QueryWmiRegInfo;
  PWMI_QUERY_DATABLOCK QueryWmiDataBlock;
  PWMI_SET_DATABLOCK SetWmiDataBlock;
  PWMI_SET_DATAITEM SetWmiDataItem;
  PWMI_EXECUTE_METHOD ExecuteWmiMethod;
  PWMI_FUNCTION_CONTROL WmiFunctionControl;
} WMILIB_CONTEXT, *PWMILIB_CONTEXT;

#if UINTPTR_MAX == 0xffffffffu
C_ASSERT(sizeof(WMIGUIDREGINFO) == 12 && sizeof(WMILIB_CONTEXT) == 32);
#else
C_ASSERT(sizeof(WMIGUIDREGINFO) == 16 && sizeof(WMILIB_CONTEXT) == 64);
#endif

/** Packages the reply for the IRP's minor code and completes it (≤ DISPATCH_LEVEL). */
NTKERNELAPI NTSTATUS NTAPI WmiCompleteRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp,
                                              NTSTATUS Status, ULONG BufferUsed,
                                              CCHAR PriorityBoost);
/** Decodes a WMI IRP for @p WmiLibInfo and calls its callbacks (PASSIVE_LEVEL). */
NTKERNELAPI NTSTATUS NTAPI WmiSystemControl(PWMILIB_CONTEXT WmiLibInfo, PDEVICE_OBJECT DeviceObject,
                                            PIRP Irp, PSYSCTL_IRP_DISPOSITION IrpDisposition);
/** Fires a static-name single-instance event; EventData (pool) belongs to WMI afterwards. */
NTKERNELAPI NTSTATUS NTAPI WmiFireEvent(PDEVICE_OBJECT DeviceObject, LPCGUID Guid,
                                        ULONG InstanceIndex, ULONG EventDataSize, PVOID EventData);

#ifdef __cplusplus
}
#endif

#endif /* WMIEV_WDK_WMILIB_H */
