/*
 * headers.c: the umbrella header from strict C11, with the per-header objects
 * linked in (see CMakeLists.txt). The layout is pinned at compile time by
 * the headers themselves; this prints it and checks that the library agrees
 * with the header about its version.
 */
#include <wmiev/wmiev.h>

#include <stdio.h>
#include <string.h>

static int failures;

static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) {
    failures++;
  }
}

#define SHOW_SIZE(type) printf("     sizeof(%s) = %zu\n", #type, sizeof(type))

int main(void) {
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", WMIEV_VERSION_MAJOR, WMIEV_VERSION_MINOR,
           WMIEV_VERSION_PATCH);
  check(strcmp(wmiev_version_string(), expected) == 0,
        "wmiev_version_string() matches WMIEV_VERSION_* of the header");
  check(strcmp(wmiev_status_name(WMIEV_STATUS_WMI_GUID_NOT_FOUND), "STATUS_WMI_GUID_NOT_FOUND") ==
            0,
        "wmiev_status_name() names a status");
  check(WMIEV_SUCCESS(WMIEV_STATUS_PENDING) && !WMIEV_SUCCESS(WMIEV_STATUS_BUFFER_OVERFLOW),
        "WMIEV_SUCCESS follows NT_SUCCESS");

  SHOW_SIZE(WNODE_HEADER);
  SHOW_SIZE(WNODE_ALL_DATA);
  SHOW_SIZE(WNODE_SINGLE_INSTANCE);
  SHOW_SIZE(WNODE_SINGLE_ITEM);
  SHOW_SIZE(WNODE_METHOD_ITEM);
  SHOW_SIZE(WNODE_EVENT_REFERENCE);
  SHOW_SIZE(WNODE_TOO_SMALL);
  SHOW_SIZE(WMIREGGUIDW);
  SHOW_SIZE(WMIREGINFOW);
  check(sizeof(WNODE_ALL_DATA) == 64, "WNODE_ALL_DATA is Microsoft's 64 bytes");
  check(sizeof(WMIREGGUIDW) == (sizeof(void *) == 4 ? 28u : 32u),
        "WMIREGGUIDW matches Windows for this word size");

  return failures == 0 ? 0 : 1;
}
