/*
 * A program built against an installed wmiev, once through CMake and once
 * through pkg-config. It checks that the library it linked answers like the
 * headers it was compiled with.
 */
#include <wmiev/wmiev.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  int ok = 1;
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", WMIEV_VERSION_MAJOR, WMIEV_VERSION_MINOR,
           WMIEV_VERSION_PATCH);
  const char *version = wmiev_version_string();
  const char *name = wmiev_status_name(WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND);
  const char *unknown = wmiev_status_name(WMIEV_NTSTATUS(0xC0DEC0DEu));

  printf("wmiev %s; 0x%08x is %s; 0xC0DEC0DE is %s\n", version,
         (unsigned)WMIEV_STATUS_WMI_INSTANCE_NOT_FOUND, name, unknown);
  if (strcmp(version, expected) != 0) {
    fprintf(stderr, "library version %s, headers say %s\n", version, expected);
    ok = 0;
  }
  if (strcmp(name, "STATUS_WMI_INSTANCE_NOT_FOUND") != 0 ||
      strcmp(unknown, "STATUS_<unknown>") != 0) {
    fprintf(stderr, "wmiev_status_name gave unexpected names\n");
    ok = 0;
  }
  return ok ? 0 : 1;
}
