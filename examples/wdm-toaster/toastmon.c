/*++

Module Name:

    toastmon.c

Abstract:

    A kernel-mode WMI consumer of the toaster's blocks, linked into the same
    image as the driver:

    - ToastMonStart opens ToasterNotifyDeviceArrival for notification and
      installs a callback that counts the events and keeps the interesting
      fields of the last WNODE in ToastMonState;
    - ToastMonQuery reads ToasterDeviceInformation with IoWMIQueryAllData
      (size first, then data);
    - ToastMonStop removes the callback and releases the block object.

Environment:

    Kernel mode

--*/

#include <wdm.h>
#include <wmistr.h>

#include "toaster.h"

#define TOASTMON_POOL_TAG \
    ((ULONG)'T' | ((ULONG)'m' << 8) | ((ULONG)'o' << 16) | ((ULONG)'n' << 24))

//
// IoWMIQueryAllData may report a larger size again if an instance appears
// between the two calls; give up after this many attempts.
//
#define TOASTMON_QUERY_ATTEMPTS 4

TOASTMON_STATE ToastMonState;

static PVOID ToastMonNotificationObject;    // from IoWMIOpenBlock
static KSPIN_LOCK ToastMonLock;             // guards ToastMonState
static BOOLEAN ToastMonLockInitialized;

static VOID
NTAPI
ToastMonNotification(
    _In_ PVOID Wnode,
    _In_opt_ PVOID Context
    );

static VOID
ToastMonRecordQuery(
    _In_ NTSTATUS Status,
    _In_ ULONG SizeNeeded,
    _In_ ULONG InstanceCount
    );

static VOID
ToastMonInitializeLock(
    VOID
    );

static NTSTATUS
ToastMonParseAllData(
    __in_bcount(Size) PUCHAR Buffer,
    __in ULONG Size,
    __out PTOASTER_DEVICE_INFORMATION Information,
    __out PULONG InstanceCount
    );

#ifdef ALLOC_PRAGMA
#pragma alloc_text(PAGE, ToastMonStart)
#pragma alloc_text(PAGE, ToastMonStop)
#pragma alloc_text(PAGE, ToastMonQuery)
#pragma alloc_text(PAGE, ToastMonParseAllData)
#endif

static VOID
ToastMonInitializeLock(
    VOID
    )
{
    if (!ToastMonLockInitialized) {
        KeInitializeSpinLock(&ToastMonLock);
        ToastMonLockInitialized = TRUE;
    }
}

// ===========================================================================
// Notifications
// ===========================================================================

NTSTATUS
ToastMonStart(
    VOID
    )
{
    GUID guid = GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL;
    PVOID object = NULL;
    NTSTATUS status;

    PAGED_CODE();

    if (ToastMonNotificationObject != NULL) {
        return STATUS_INVALID_DEVICE_STATE;
    }

    ToastMonInitializeLock();

    //
    // No callback is installed yet: nothing else touches the state.
    //
    RtlZeroMemory(&ToastMonState, sizeof(ToastMonState));

    //
    // Notification access must be combined with SYNCHRONIZE.
    //
    status = IoWMIOpenBlock(&guid, WMIGUID_NOTIFICATION | SYNCHRONIZE, &object);
    if (!NT_SUCCESS(status)) {
        KdPrint(("ToastMon: IoWMIOpenBlock failed %08x\n", (unsigned int)status));
        return status;
    }

    status = IoWMISetNotificationCallback(object, ToastMonNotification, &ToastMonState);
    if (!NT_SUCCESS(status)) {
        KdPrint(("ToastMon: IoWMISetNotificationCallback failed %08x\n", (unsigned int)status));
        ObDereferenceObject(object);
        return status;
    }

    ToastMonNotificationObject = object;
    ToastMonState.Started = TRUE;
    return STATUS_SUCCESS;
}

VOID
ToastMonStop(
    VOID
    )
{
    PVOID object;

    PAGED_CODE();

    object = ToastMonNotificationObject;
    if (object == NULL) {
        return;
    }
    ToastMonNotificationObject = NULL;

    (VOID)IoWMISetNotificationCallback(object, NULL, NULL);
    ObDereferenceObject(object);

    ToastMonState.Started = FALSE;
}

//
// Called by WMI for every ToasterNotifyDeviceArrival event. The WNODE is
// valid only during the call: everything kept is copied. Not pageable (the
// IRQL of the call is not documented) and defensive: every offset is
// checked against BufferSize before it is followed.
//
static VOID
NTAPI
ToastMonNotification(
    _In_ PVOID Wnode,
    _In_opt_ PVOID Context
    )
{
    PTOASTMON_STATE state = (PTOASTMON_STATE)Context;
    PWNODE_HEADER header = (PWNODE_HEADER)Wnode;
    PWNODE_SINGLE_INSTANCE single;
    PUCHAR base = (PUCHAR)Wnode;
    TOASTER_NOTIFY_EVENT eventData;
    WCHAR name[TOASTMON_MAX_NAME_CHARS + 1];
    USHORT nameLength = 0;
    ULONG bufferSize;
    ULONG offset;
    ULONG dataSize = 0;
    ULONG instanceIndex = 0;
    BOOLEAN staticName = FALSE;
    BOOLEAN malformed = FALSE;
    KIRQL oldIrql;

    if (state == NULL || header == NULL) {
        return;
    }

    RtlZeroMemory(&eventData, sizeof(eventData));
    RtlZeroMemory(name, sizeof(name));

    bufferSize = header->BufferSize;
    if (bufferSize < sizeof(WNODE_HEADER)) {
        malformed = TRUE;

    } else if ((header->Flags & WNODE_FLAG_SINGLE_INSTANCE) != 0) {
        if (bufferSize < FIELD_OFFSET(WNODE_SINGLE_INSTANCE, VariableData)) {
            malformed = TRUE;
        } else {
            single = (PWNODE_SINGLE_INSTANCE)Wnode;

            if ((header->Flags & WNODE_FLAG_STATIC_INSTANCE_NAMES) != 0) {
                staticName = TRUE;
                instanceIndex = single->InstanceIndex;
            } else {
                //
                // Counted name: USHORT byte count, then the characters.
                //
                offset = single->OffsetInstanceName;
                if (offset > bufferSize || bufferSize - offset < sizeof(USHORT)) {
                    malformed = TRUE;
                } else {
                    RtlCopyMemory(&nameLength, base + offset, sizeof(USHORT));
                    if (nameLength > bufferSize - offset - sizeof(USHORT)) {
                        malformed = TRUE;
                        nameLength = 0;
                    } else {
                        RtlCopyMemory(name, base + offset + sizeof(USHORT),
                                      nameLength < TOASTMON_MAX_NAME_CHARS * sizeof(WCHAR)
                                          ? nameLength
                                          : TOASTMON_MAX_NAME_CHARS * sizeof(WCHAR));
                    }
                }
            }

            offset = single->DataBlockOffset;
            dataSize = single->SizeDataBlock;
            if (offset > bufferSize || dataSize > bufferSize - offset) {
                malformed = TRUE;
            } else if (dataSize >= sizeof(TOASTER_NOTIFY_EVENT)) {
                RtlCopyMemory(&eventData, base + offset, sizeof(eventData));
            }
        }
    }

    KeAcquireSpinLock(&ToastMonLock, &oldIrql);

    state->EventCount++;
    if (malformed) {
        state->MalformedCount++;
    }
    if (bufferSize >= sizeof(WNODE_HEADER)) {
        state->LastGuid = header->Guid;
        state->LastFlags = header->Flags;
        state->LastProviderId = header->ProviderId;
        state->LastTimeStamp = header->TimeStamp;
    }
    state->LastBufferSize = bufferSize;
    state->LastStaticName = staticName;
    state->LastInstanceIndex = instanceIndex;
    state->LastInstanceNameLength = nameLength;
    RtlCopyMemory(state->LastInstanceName, name, sizeof(name));
    state->LastDataSize = dataSize;
    state->LastEvent = eventData;

    KeReleaseSpinLock(&ToastMonLock, oldIrql);
}

VOID
ToastMonGetState(
    _Out_ PTOASTMON_STATE State
    )
{
    KIRQL oldIrql;

    ToastMonInitializeLock();

    KeAcquireSpinLock(&ToastMonLock, &oldIrql);
    RtlCopyMemory(State, &ToastMonState, sizeof(TOASTMON_STATE));
    KeReleaseSpinLock(&ToastMonLock, oldIrql);
}

// ===========================================================================
// Queries
// ===========================================================================

static VOID
ToastMonRecordQuery(
    _In_ NTSTATUS Status,
    _In_ ULONG SizeNeeded,
    _In_ ULONG InstanceCount
    )
{
    KIRQL oldIrql;

    ToastMonInitializeLock();

    KeAcquireSpinLock(&ToastMonLock, &oldIrql);
    ToastMonState.QueryCount++;
    ToastMonState.LastQueryStatus = Status;
    ToastMonState.LastQuerySizeNeeded = SizeNeeded;
    ToastMonState.LastQueryInstanceCount = InstanceCount;
    KeReleaseSpinLock(&ToastMonLock, oldIrql);
}

//
// Walks the chain of WNODE_ALL_DATA (one per provider, linked by
// WnodeHeader.Linkage, 0 = last), counts the instances and copies the
// first instance's data.
//
static NTSTATUS
ToastMonParseAllData(
    __in_bcount(Size) PUCHAR Buffer,
    __in ULONG Size,
    __out PTOASTER_DEVICE_INFORMATION Information,
    __out PULONG InstanceCount
    )
{
    PWNODE_ALL_DATA wnode;
    ULONG offset = 0;
    ULONG wnodeSize;
    ULONG dataOffset;
    ULONG dataLength;
    ULONG total = 0;
    BOOLEAN copied = FALSE;

    PAGED_CODE();

    *InstanceCount = 0;

    for (;;) {
        if (offset > Size ||
            Size - offset < FIELD_OFFSET(WNODE_ALL_DATA, OffsetInstanceDataAndLength)) {
            return STATUS_UNSUCCESSFUL;
        }
        wnode = (PWNODE_ALL_DATA)(PVOID)(Buffer + offset);  // WNODEs are 8-byte aligned
        wnodeSize = wnode->WnodeHeader.BufferSize;
        if (wnodeSize > Size - offset ||
            wnodeSize < FIELD_OFFSET(WNODE_ALL_DATA, OffsetInstanceDataAndLength)) {
            return STATUS_UNSUCCESSFUL;
        }

        if (wnode->InstanceCount != 0 && !copied) {
            if ((wnode->WnodeHeader.Flags & WNODE_FLAG_FIXED_INSTANCE_SIZE) != 0) {
                dataOffset = wnode->DataBlockOffset;
                dataLength = wnode->FixedInstanceSize;
            } else {
                if (wnodeSize < FIELD_OFFSET(WNODE_ALL_DATA, OffsetInstanceDataAndLength) +
                                    sizeof(OFFSETINSTANCEDATAANDLENGTH)) {
                    return STATUS_UNSUCCESSFUL;
                }
                dataOffset = wnode->OffsetInstanceDataAndLength[0].OffsetInstanceData;
                dataLength = wnode->OffsetInstanceDataAndLength[0].LengthInstanceData;
            }
            if (dataOffset > wnodeSize || dataLength > wnodeSize - dataOffset) {
                return STATUS_UNSUCCESSFUL;
            }
            RtlCopyMemory(Information, (PUCHAR)wnode + dataOffset,
                          dataLength < sizeof(TOASTER_DEVICE_INFORMATION)
                              ? dataLength
                              : sizeof(TOASTER_DEVICE_INFORMATION));
            copied = TRUE;
        }

        total += wnode->InstanceCount;

        if (wnode->WnodeHeader.Linkage == 0) {
            break;
        }
        offset += wnode->WnodeHeader.Linkage;
    }

    *InstanceCount = total;
    return STATUS_SUCCESS;
}

NTSTATUS
ToastMonQuery(
    __out PTOASTER_DEVICE_INFORMATION Information,
    __out_opt PULONG InstanceCount
    )
{
    GUID guid = GUID_TOASTER_DEVICE_INFORMATION;
    PVOID object = NULL;
    PUCHAR buffer = NULL;
    ULONG size = 0;
    ULONG sizeNeeded = 0;
    ULONG count = 0;
    ULONG attempt;
    NTSTATUS status;

    PAGED_CODE();

    RtlZeroMemory(Information, sizeof(TOASTER_DEVICE_INFORMATION));
    if (InstanceCount != NULL) {
        *InstanceCount = 0;
    }

    status = IoWMIOpenBlock(&guid, WMIGUID_QUERY, &object);
    if (!NT_SUCCESS(status)) {
        ToastMonRecordQuery(status, 0, 0);
        return status;
    }

    //
    // First call without a buffer: WMI answers with the size it needs.
    //
    status = IoWMIQueryAllData(object, &size, NULL);
    sizeNeeded = size;

    for (attempt = 0;
         status == STATUS_BUFFER_TOO_SMALL && attempt < TOASTMON_QUERY_ATTEMPTS;
         attempt++) {

        if (buffer != NULL) {
            ExFreePool(buffer);
        }
        buffer = (PUCHAR)ExAllocatePoolWithTag(PagedPool, size, TOASTMON_POOL_TAG);
        if (buffer == NULL) {
            status = STATUS_INSUFFICIENT_RESOURCES;
            break;
        }
        status = IoWMIQueryAllData(object, &size, buffer);
    }

    if (NT_SUCCESS(status) && buffer != NULL && size != 0) {
        status = ToastMonParseAllData(buffer, size, Information, &count);
    }

    if (buffer != NULL) {
        ExFreePool(buffer);
    }
    ObDereferenceObject(object);

    ToastMonRecordQuery(status, sizeNeeded, count);

    if (NT_SUCCESS(status) && InstanceCount != NULL) {
        *InstanceCount = count;
    }
    return status;
}
