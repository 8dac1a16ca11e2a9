/* Version string, and the host assumptions the wire code relies on. */
#include <wmiev/wmiev.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "wmiev reads and writes WNODEs in host order and supports little-endian hosts only"
#endif

#define WMIEV_STR2(x) #x
#define WMIEV_STR(x) WMIEV_STR2(x)

const char *wmiev_version_string(void) {
  return WMIEV_STR(WMIEV_VERSION_MAJOR) "." WMIEV_STR(WMIEV_VERSION_MINOR) "." WMIEV_STR(
      WMIEV_VERSION_PATCH);
}
