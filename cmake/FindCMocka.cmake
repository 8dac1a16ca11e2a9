# FindCMocka: locates CMocka 1.1 (Debian's libcmocka-dev ships no CMake
# target) and provides the imported target cmocka::cmocka.
#
# Result variables: CMocka_FOUND, CMocka_INCLUDE_DIR, CMocka_LIBRARY.

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_CMOCKA QUIET cmocka)
endif()

find_path(CMocka_INCLUDE_DIR NAMES cmocka.h HINTS ${PC_CMOCKA_INCLUDE_DIRS})
find_library(CMocka_LIBRARY NAMES cmocka HINTS ${PC_CMOCKA_LIBRARY_DIRS})

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CMocka REQUIRED_VARS CMocka_LIBRARY CMocka_INCLUDE_DIR)

if(CMocka_FOUND AND NOT TARGET cmocka::cmocka)
  add_library(cmocka::cmocka UNKNOWN IMPORTED)
  set_target_properties(cmocka::cmocka PROPERTIES
    IMPORTED_LOCATION "${CMocka_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CMocka_INCLUDE_DIR}")
endif()
mark_as_advanced(CMocka_INCLUDE_DIR CMocka_LIBRARY)
