// headers.cxx: the umbrella header from C++11. Linking proves the extern "C"
// guards (without them the calls below would look for C++-mangled names);
// the static_asserts re-check the Windows layout as a C++ compiler sees it.
#include <wmiev/wmiev.h>

#include <cstddef>
#include <cstdio>
#include <cstring>

static_assert(sizeof(WNODE_HEADER) == 48, "WNODE_HEADER");
static_assert(alignof(WNODE_HEADER) == 8, "WNODE_HEADER alignment");
static_assert(offsetof(WNODE_HEADER, TimeStamp) == 16, "TimeStamp");
static_assert(offsetof(WNODE_HEADER, Guid) == 24, "Guid");
static_assert(sizeof(WNODE_ALL_DATA) == 64, "WNODE_ALL_DATA (Microsoft's declaration)");
static_assert(sizeof(WNODE_SINGLE_INSTANCE) == 64, "WNODE_SINGLE_INSTANCE");
static_assert(sizeof(WNODE_SINGLE_ITEM) == 72, "WNODE_SINGLE_ITEM");
static_assert(sizeof(WNODE_METHOD_ITEM) == 72, "WNODE_METHOD_ITEM");
static_assert(sizeof(WNODE_EVENT_REFERENCE) == 72, "WNODE_EVENT_REFERENCE");
static_assert(sizeof(WNODE_TOO_SMALL) == 56, "WNODE_TOO_SMALL");
static_assert(sizeof(WMIREGGUIDW) == (sizeof(void *) == 4 ? 28 : 32), "WMIREGGUIDW");

namespace {

int failures = 0;

void check(bool ok, const char *what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) {
    ++failures;
  }
}

} // namespace

int main() {
  char expected[32];
  std::snprintf(expected, sizeof expected, "%d.%d.%d", WMIEV_VERSION_MAJOR, WMIEV_VERSION_MINOR,
                WMIEV_VERSION_PATCH);
  std::printf("     wmiev_version_string() = \"%s\"\n", wmiev_version_string());
  check(std::strcmp(wmiev_version_string(), expected) == 0,
        "C++ calls wmiev_version_string() and gets the header's version");
  check(std::strcmp(wmiev_status_name(WMIEV_STATUS_INVALID_BUFFER_SIZE),
                    "STATUS_INVALID_BUFFER_SIZE") == 0,
        "C++ calls wmiev_status_name()");
  check(sizeof(WNODE_ALL_DATA) == 64, "sizeof(WNODE_ALL_DATA) == 64 in C++");
  check(offsetof(WNODE_EVENT_REFERENCE, TargetInstanceName) == 68,
        "TargetInstanceName at 68 in C++");
  return failures == 0 ? 0 : 1;
}
