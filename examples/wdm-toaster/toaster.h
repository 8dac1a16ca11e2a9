/*++

Module Name:

    toaster.h

Abstract:

    Shared definitions of the toaster WDM function driver prototype
    (toaster.c) and of its kernel-mode WMI consumer (toastmon.c).

    The driver exposes three WMI blocks, all with static instance names
    derived from the PDO:

      0  ToasterDeviceInformation   data block: read-only items, one
                                    writable item, one method (MakeToast)
      1  ToasterStatistics          EXPENSIVE data block: counters are
                                    collected only between
                                    IRP_MN_ENABLE_COLLECTION and
                                    IRP_MN_DISABLE_COLLECTION
      2  ToasterNotifyDeviceArrival event-only block: an arrival event with
                                    a dynamic instance name (IoWMIWriteEvent)
                                    and a status event on the static PDO
                                    instance (WmiFireEvent)

    Written in plain WDK style; compiles unchanged against the Windows
    kernel headers (WDK or mingw-w64's DDK) and against wmiev's WDK face.

    The MOF a shipping driver would compile (mofcomp -B:toaster.bmf) and
    link as the resource named TOASTER_MOF_RESOURCE_NAME:

    [WMI, Dynamic, Provider("WMIProv"), Locale("MS\\0x409"),
     Description("Toaster device information"),
     guid("{c293e45e-68e3-4c0d-a389-a508580242b4}")]
    class ToasterDeviceInformation
    {
        [key, read] string InstanceName;
        [read] boolean Active;

        [WmiDataId(1), read, Description("Connector type")] uint32 ConnectorType;
        [WmiDataId(2), read, Description("Heating power in watts")] uint32 Capacity;
        [WmiDataId(3), read, Description("Toasts made since start")] uint32 ToastsMade;
        [WmiDataId(4), read, write, Description("Debug print level")] uint32 DebugPrintLevel;
        [WmiDataId(5), read, Description("Device started")] boolean Ready;
        [WmiDataId(6), read, Description("Arrival event enabled")] boolean NotifyEnabled;

        [WmiMethodId(1), Implemented, Description("Toast one slice")]
        void MakeToast([in, ID(0)] uint32 Darkness, [out, ID(1)] uint32 ToastNumber);
    };

    [WMI, Dynamic, Provider("WMIProv"), Locale("MS\\0x409"), WmiExpense(1),
     Description("Toaster statistics (expensive: collected on demand)"),
     guid("{fe466847-8ce1-4df1-9e23-932498538fb2}")]
    class ToasterStatistics
    {
        [key, read] string InstanceName;
        [read] boolean Active;

        [WmiDataId(1), read] uint32 QueryCount;
        [WmiDataId(2), read] uint32 SetCount;
        [WmiDataId(3), read] uint32 MethodCount;
        [WmiDataId(4), read] uint32 EventCount;
    };

    [WMI, Dynamic, Provider("WMIProv"), Locale("MS\\0x409"),
     Description("Toaster arrival and status notifications"),
     guid("{c642b033-d64a-4379-8fc0-4bebbbd5f0b7}")]
    class ToasterNotifyDeviceArrival : WMIEvent
    {
        [key, read] string InstanceName;
        [read] boolean Active;

        [WmiDataId(1), read, Description("1 arrival, 2 status")] uint32 EventType;
        [WmiDataId(2), read, Description("Device number or status value")] uint32 Value;
    };

Environment:

    Kernel mode

--*/

#ifndef TOASTER_H
#define TOASTER_H

#include <wdm.h>
#include <wmistr.h>
#include <wmilib.h>

//
// WMI block GUIDs. Exactly one .c file (toaster.c) includes <initguid.h>
// before this header, which instantiates them.
//

// {c293e45e-68e3-4c0d-a389-a508580242b4}
DEFINE_GUID(GUID_TOASTER_DEVICE_INFORMATION,
    0xc293e45e, 0x68e3, 0x4c0d, 0xa3, 0x89, 0xa5, 0x08, 0x58, 0x02, 0x42, 0xb4);

// {fe466847-8ce1-4df1-9e23-932498538fb2}
DEFINE_GUID(GUID_TOASTER_STATISTICS,
    0xfe466847, 0x8ce1, 0x4df1, 0x9e, 0x23, 0x93, 0x24, 0x98, 0x53, 0x8f, 0xb2);

// {c642b033-d64a-4379-8fc0-4bebbbd5f0b7}
DEFINE_GUID(GUID_TOASTER_NOTIFY_DEVICE_ARRIVAL,
    0xc642b033, 0xd64a, 0x4379, 0x8f, 0xc0, 0x4b, 0xeb, 0xbb, 0xd5, 0xf0, 0xb7);

//
// Index of each block in the driver's WMIGUIDREGINFO list (the GuidIndex
// the WMI library passes to the DpWmiXxx callbacks).
//
#define TOASTER_WMI_DEVICE_INFORMATION_INDEX    0
#define TOASTER_WMI_STATISTICS_INDEX            1
#define TOASTER_WMI_NOTIFY_ARRIVAL_INDEX        2
#define TOASTER_WMI_GUID_COUNT                  3

//
// Name of the binary MOF resource returned from DpWmiQueryReginfo.
//
#define TOASTER_MOF_RESOURCE_NAME   L"ToasterWmi"

//
// Pool tag "Toas" (written with shifts: multi-character constants are
// implementation-defined in C).
//
#define TOASTER_POOL_TAG \
    ((ULONG)'T' | ((ULONG)'o' << 8) | ((ULONG)'a' << 16) | ((ULONG)'s' << 24))

// ---------------------------------------------------------------------------
// Block 0: ToasterDeviceInformation
// ---------------------------------------------------------------------------

typedef struct _TOASTER_DEVICE_INFORMATION {
    ULONG   ConnectorType;      // WmiDataId(1), read
    ULONG   Capacity;           // WmiDataId(2), read
    ULONG   ToastsMade;         // WmiDataId(3), read
    ULONG   DebugPrintLevel;    // WmiDataId(4), read/write
    BOOLEAN Ready;              // WmiDataId(5), read
    BOOLEAN NotifyEnabled;      // WmiDataId(6), read
} TOASTER_DEVICE_INFORMATION, *PTOASTER_DEVICE_INFORMATION;

//
// Size of one instance as the MOF lays it out: 4 uint32 + 2 boolean = 18
// bytes, without the C structure's trailing padding. Queries return this
// many bytes; a set must supply at least this many.
//
#define TOASTER_DEVICE_INFORMATION_SIZE \
    ((ULONG)(FIELD_OFFSET(TOASTER_DEVICE_INFORMATION, NotifyEnabled) + sizeof(BOOLEAN)))

// WmiDataId values of the items
#define TOASTER_ITEM_CONNECTOR_TYPE     1
#define TOASTER_ITEM_CAPACITY           2
#define TOASTER_ITEM_TOASTS_MADE        3
#define TOASTER_ITEM_DEBUG_PRINT_LEVEL  4   // the only writable item
#define TOASTER_ITEM_READY              5
#define TOASTER_ITEM_NOTIFY_ENABLED     6

// ConnectorType values
#define TOASTER_CONNECTOR_INTERNAL      0
#define TOASTER_CONNECTOR_USB           1
#define TOASTER_CONNECTOR_SERIAL        2

#define TOASTER_DEFAULT_CAPACITY        800     // watts

//
// Method MakeToast (WmiMethodId 1): in Darkness (1..10), out ToastNumber
// (ToastsMade after this toast). Input shorter than a ULONG or a darkness
// out of range: STATUS_INVALID_PARAMETER. Output space below a ULONG:
// STATUS_BUFFER_TOO_SMALL, checked before the toast is made.
//
#define TOASTER_METHOD_MAKE_TOAST       1
#define TOASTER_DARKNESS_MIN            1
#define TOASTER_DARKNESS_MAX            10

typedef struct _TOASTER_MAKE_TOAST_IN {
    ULONG Darkness;
} TOASTER_MAKE_TOAST_IN, *PTOASTER_MAKE_TOAST_IN;

typedef struct _TOASTER_MAKE_TOAST_OUT {
    ULONG ToastNumber;
} TOASTER_MAKE_TOAST_OUT, *PTOASTER_MAKE_TOAST_OUT;

// ---------------------------------------------------------------------------
// Block 1: ToasterStatistics (WMIREG_FLAG_EXPENSIVE)
// ---------------------------------------------------------------------------

//
// Counted only while WMI has collection enabled; reset to zero on each
// IRP_MN_ENABLE_COLLECTION. QueryCount counts answered queries of block 0,
// SetCount successful sets (block or item), MethodCount successful
// MakeToast calls, EventCount events accepted by IoWMIWriteEvent or
// WmiFireEvent.
//
typedef struct _TOASTER_STATISTICS {
    ULONG QueryCount;
    ULONG SetCount;
    ULONG MethodCount;
    ULONG EventCount;
} TOASTER_STATISTICS, *PTOASTER_STATISTICS;

// ---------------------------------------------------------------------------
// Block 2: ToasterNotifyDeviceArrival (WMIREG_FLAG_EVENT_ONLY_GUID)
// ---------------------------------------------------------------------------

#define TOASTER_EVENT_ARRIVAL   1   // Value = the device number
#define TOASTER_EVENT_STATUS    2   // Value = the caller's value

typedef struct _TOASTER_NOTIFY_EVENT {
    ULONG EventType;    // WmiDataId(1)
    ULONG Value;        // WmiDataId(2)
} TOASTER_NOTIFY_EVENT, *PTOASTER_NOTIFY_EVENT;

//
// The arrival event carries a dynamic instance name: this prefix followed
// by the device number in decimal ("ToasterArrival_0", ...), stored as a
// counted string without a terminating NUL.
//
#define TOASTER_ARRIVAL_NAME_PREFIX     L"ToasterArrival_"
#define TOASTER_MAX_INSTANCE_NAME_CHARS 32

// ---------------------------------------------------------------------------
// Device extension of the functional device object
// ---------------------------------------------------------------------------

typedef enum _TOASTER_PNP_STATE {
    ToasterNotStarted = 0,
    ToasterStarted,
    ToasterStopped,
    ToasterSurpriseRemoved,
    ToasterDeleted
} TOASTER_PNP_STATE;

typedef struct _TOASTER_FDO_DATA {
    PDEVICE_OBJECT      Self;               // the FDO
    PDEVICE_OBJECT      UnderlyingPdo;      // the PDO AddDevice was given
    PDEVICE_OBJECT      NextLowerDriver;    // top of the stack below us
    IO_REMOVE_LOCK      RemoveLock;
    TOASTER_PNP_STATE   PnpState;
    ULONG               DeviceNumber;       // 0, 1, ... in AddDevice order

    // WMI
    WMILIB_CONTEXT      WmiLibInfo;
    BOOLEAN             WmiRegistered;      // PASSIVE_LEVEL PnP paths only
    volatile LONG       ArrivalEventEnabled;    // IRP_MN_ENABLE/DISABLE_EVENTS
    volatile LONG       ArrivalEnableCount;     // enables received
    volatile LONG       StatisticsCollecting;   // IRP_MN_ENABLE/DISABLE_COLLECTION
    volatile LONG       StatisticsEnableCount;  // collection enables received

    // ToasterDeviceInformation
    ULONG               ConnectorType;
    ULONG               Capacity;
    volatile LONG       ToastsMade;
    volatile LONG       DebugPrintLevel;

    // ToasterStatistics
    volatile LONG       QueryCount;
    volatile LONG       SetCount;
    volatile LONG       MethodCount;
    volatile LONG       EventCount;
} TOASTER_FDO_DATA, *PTOASTER_FDO_DATA;

// ---------------------------------------------------------------------------
// toaster.c
// ---------------------------------------------------------------------------

DRIVER_INITIALIZE DriverEntry;

//
// Fires the arrival event (dynamic instance name, IoWMIWriteEvent) for the
// device. IRQL <= APC_LEVEL. Returns STATUS_INVALID_DEVICE_STATE while WMI
// has not enabled ToasterNotifyDeviceArrival, the remove lock's status once
// removal has begun, STATUS_INSUFFICIENT_RESOURCES, or IoWMIWriteEvent's
// status (the driver frees the WNODE when that fails). The driver also
// calls it after a successful IRP_MN_START_DEVICE if the event is enabled.
//
NTSTATUS
ToasterFireArrival(
    _In_ PDEVICE_OBJECT Fdo
    );

//
// Fires the status event (static PDO instance 0, WmiFireEvent, EventType
// TOASTER_EVENT_STATUS) carrying Value. IRQL <= DISPATCH_LEVEL. Same
// statuses as ToasterFireArrival, or WmiFireEvent's; the event data
// belongs to WMI once WmiFireEvent has been called.
//
NTSTATUS
ToasterFireStatus(
    _In_ PDEVICE_OBJECT Fdo,
    _In_ ULONG Value
    );

// ---------------------------------------------------------------------------
// toastmon.c: a kernel-mode consumer of the toaster's blocks
// ---------------------------------------------------------------------------

#define TOASTMON_MAX_NAME_CHARS 64

typedef struct _TOASTMON_STATE {
    BOOLEAN         Started;            // between ToastMonStart and ToastMonStop

    // Notifications (ToasterNotifyDeviceArrival)
    ULONG           EventCount;         // WNODEs received
    ULONG           MalformedCount;     // of which could not be parsed
    GUID            LastGuid;           // last WNODE's header
    ULONG           LastFlags;
    ULONG           LastProviderId;
    ULONG           LastBufferSize;
    LARGE_INTEGER   LastTimeStamp;
    BOOLEAN         LastStaticName;     // TRUE: LastInstanceIndex applies
    ULONG           LastInstanceIndex;
    USHORT          LastInstanceNameLength;                 // bytes, as sent
    WCHAR           LastInstanceName[TOASTMON_MAX_NAME_CHARS + 1]; // NUL-terminated,
                                                            // truncated copy
    ULONG           LastDataSize;       // SizeDataBlock
    TOASTER_NOTIFY_EVENT LastEvent;     // zero if the data was shorter

    // Queries (ToastMonQuery)
    ULONG           QueryCount;
    NTSTATUS        LastQueryStatus;
    ULONG           LastQuerySizeNeeded;    // from the first IoWMIQueryAllData
    ULONG           LastQueryInstanceCount; // over the whole WNODE chain
} TOASTMON_STATE, *PTOASTMON_STATE;

//
// Updated by the notification callback under a spin lock; read it with
// ToastMonGetState for a consistent copy (or directly when deliveries are
// known to be quiescent).
//
extern TOASTMON_STATE ToastMonState;

//
// Opens ToasterNotifyDeviceArrival for notification (WMIGUID_NOTIFICATION |
// SYNCHRONIZE) and installs the callback; resets ToastMonState.
// PASSIVE_LEVEL. STATUS_INVALID_DEVICE_STATE if already started, else the
// status of IoWMIOpenBlock / IoWMISetNotificationCallback.
//
NTSTATUS
ToastMonStart(
    VOID
    );

//
// Removes the callback and dereferences the block object. PASSIVE_LEVEL.
// Does nothing if not started.
//
VOID
ToastMonStop(
    VOID
    );

//
// Queries all instances of ToasterDeviceInformation (IoWMIOpenBlock with
// WMIGUID_QUERY, then IoWMIQueryAllData: once for the size, then with a
// buffer of that size) and copies the first instance's data to
// Information (zero-filled if there is none). InstanceCount, if given,
// receives the number of instances over all providers. PASSIVE_LEVEL.
//
NTSTATUS
ToastMonQuery(
    __out PTOASTER_DEVICE_INFORMATION Information,
    __out_opt PULONG InstanceCount
    );

//
// Copies ToastMonState under its lock. IRQL <= DISPATCH_LEVEL.
//
VOID
ToastMonGetState(
    _Out_ PTOASTMON_STATE State
    );

#endif // TOASTER_H
