# FindLibUV: locates libuv through pkg-config (Debian 12's libuv1-dev ships
# no CMake package) and provides the imported target uv::uv.
#
# Installed with the wmiev package (wmiev-config.cmake finds wmiev::uv's
# dependency with it), so it must work without pkg-config too: the plain
# search paths are tried when pkg-config is missing.

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_LIBUV QUIET libuv)
endif()

find_path(LibUV_INCLUDE_DIR NAMES uv.h HINTS ${PC_LIBUV_INCLUDE_DIRS})
find_library(LibUV_LIBRARY NAMES uv HINTS ${PC_LIBUV_LIBRARY_DIRS})
set(LibUV_VERSION ${PC_LIBUV_VERSION})

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibUV
  REQUIRED_VARS LibUV_LIBRARY LibUV_INCLUDE_DIR
  VERSION_VAR LibUV_VERSION)

if(LibUV_FOUND AND NOT TARGET uv::uv)
  add_library(uv::uv UNKNOWN IMPORTED)
  set_target_properties(uv::uv PROPERTIES
    IMPORTED_LOCATION "${LibUV_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibUV_INCLUDE_DIR}")
endif()
mark_as_advanced(LibUV_INCLUDE_DIR LibUV_LIBRARY)
