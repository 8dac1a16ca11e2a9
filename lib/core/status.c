/* Symbolic names of the NTSTATUS values wmiev uses (spec §7). */
#include <wmiev/status.h>

#include <stddef.h>

typedef struct {
  wmiev_status value;
  const char *name;
} status_name;

#define ENTRY(n) {WMIEV_##n, #n}
static const status_name status_names[] = {
    ENTRY(STATUS_SUCCESS),
    ENTRY(STATUS_PENDING),
    ENTRY(STATUS_DATATYPE_MISALIGNMENT),
    ENTRY(STATUS_BUFFER_OVERFLOW),
    ENTRY(STATUS_UNSUCCESSFUL),
    ENTRY(STATUS_NOT_IMPLEMENTED),
    ENTRY(STATUS_INVALID_PARAMETER),
    ENTRY(STATUS_INVALID_DEVICE_REQUEST),
    ENTRY(STATUS_NO_MEMORY),
    ENTRY(STATUS_BUFFER_TOO_SMALL),
    ENTRY(STATUS_INVALID_PARAMETER_MIX),
    ENTRY(STATUS_INTEGER_OVERFLOW),
    ENTRY(STATUS_INSUFFICIENT_RESOURCES),
    ENTRY(STATUS_IO_TIMEOUT),
    ENTRY(STATUS_NOT_SUPPORTED),
    ENTRY(STATUS_DEVICE_DOES_NOT_EXIST),
    ENTRY(STATUS_NAME_TOO_LONG),
    ENTRY(STATUS_DRIVER_INTERNAL_ERROR),
    ENTRY(STATUS_POSSIBLE_DEADLOCK),
    ENTRY(STATUS_INVALID_BUFFER_SIZE),
    ENTRY(STATUS_WMI_GUID_NOT_FOUND),
    ENTRY(STATUS_WMI_INSTANCE_NOT_FOUND),
    ENTRY(STATUS_WMI_ITEMID_NOT_FOUND),
    ENTRY(STATUS_WMI_TRY_AGAIN),
    ENTRY(STATUS_WMI_READ_ONLY),
    ENTRY(STATUS_WMI_SET_FAILURE),
    ENTRY(STATUS_WMI_NOT_SUPPORTED),
    ENTRY(STATUS_WMI_GUID_DISCONNECTED),
    ENTRY(STATUS_WMI_ALREADY_DISABLED),
    ENTRY(STATUS_WMI_ALREADY_ENABLED),
};
#undef ENTRY

const char *wmiev_status_name(wmiev_status status) {
  for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++) {
    if (status_names[i].value == status) {
      return status_names[i].name;
    }
  }
  return "STATUS_<unknown>";
}
