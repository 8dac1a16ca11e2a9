# Driver of the install.consumer test (cmake -P; see CMakeLists.txt for the
# -D variables). Steps:
#   1. cmake --install the build tree into WORK_DIR/prefix;
#   2. check that the expected files are there and that wmiev.pc names that
#      prefix (it is generated at install time for exactly this reason);
#   3. configure, build and run consumer/ with find_package(wmiev 0.1 CONFIG);
#   4. configure reject-major/: wmiev-config-version.cmake must refuse 1.0;
#   5. compile consumer/main.c with `$CC $(pkg-config --cflags --libs wmiev)`
#      and run it.
# With -DWITH_UV=ON (the build has wmiev::uv) steps 2, 3 and 5 also check
# wmiev-uv.pc and the shipped FindLibUV.cmake, and build and run
# consumer/uv_main.c through find_package(wmiev COMPONENTS uv) and through
# `pkg-config wmiev-uv`.
# Any failure stops with FATAL_ERROR and the output of the failing command.
cmake_minimum_required(VERSION 3.25)

foreach(_var WMIEV_BINARY_DIR WMIEV_VERSION SOURCE_DIR WORK_DIR GENERATOR C_COMPILER INSTALL_LIBDIR
        INSTALL_INCLUDEDIR)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "run-install-test.cmake: -D${_var}=... is required")
  endif()
endforeach()

function(step text)
  message(STATUS "install.consumer: ${text}")
endfunction()

# run(<what> <command>...): runs the command; on failure stops the test and
# shows everything it printed. Its output is returned in run_output.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmdline)
    message(FATAL_ERROR "install.consumer: ${what} failed (${rc})\n  command: ${cmdline}\n${out}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(libdir "${prefix}/${INSTALL_LIBDIR}")
# Start from nothing, so that a file left by an earlier run cannot pass for
# one this build installed.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# ---- 1. Install -----------------------------------------------------------
step("installing ${WMIEV_BINARY_DIR} into ${prefix}")
set(config_args)
if(WMIEV_CONFIG)
  set(config_args --config "${WMIEV_CONFIG}")
endif()
run("cmake --install" "${CMAKE_COMMAND}" --install "${WMIEV_BINARY_DIR}" --prefix "${prefix}"
    ${config_args})

# ---- 2. Installed files and wmiev.pc -------------------------------------
foreach(_file
    "${prefix}/${INSTALL_INCLUDEDIR}/wmiev/wmiev.h"
    "${libdir}/cmake/wmiev/wmiev-config.cmake"
    "${libdir}/cmake/wmiev/wmiev-config-version.cmake"
    "${libdir}/cmake/wmiev/wmievTargets.cmake"
    "${libdir}/pkgconfig/wmiev.pc")
  if(NOT EXISTS "${_file}")
    message(FATAL_ERROR "install.consumer: ${_file} was not installed")
  endif()
endforeach()

file(READ "${libdir}/pkgconfig/wmiev.pc" pc)
step("installed wmiev.pc:\n${pc}")
# Whole lines, in any order; ${...} are pkg-config variables, kept literal.
set(expected_lines
  "prefix=${prefix}"
  "exec_prefix=\${prefix}"
  "libdir=\${exec_prefix}/${INSTALL_LIBDIR}"
  "includedir=\${prefix}/${INSTALL_INCLUDEDIR}"
  "Name: wmiev"
  "Version: ${WMIEV_VERSION}"
  "Cflags: -I\${includedir}")
foreach(_line IN LISTS expected_lines)
  string(FIND "\n${pc}\n" "\n${_line}\n" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "install.consumer: wmiev.pc lacks the line '${_line}'")
  endif()
endforeach()
# Libs may go on with what libwmiev itself needs (e.g. the thread library).
if(NOT "\n${pc}\n" MATCHES "\nLibs: -L\\\${libdir} -lwmiev( [^\n]*)?\n")
  message(FATAL_ERROR "install.consumer: wmiev.pc lacks 'Libs: -L\${libdir} -lwmiev'")
endif()

if(WITH_UV)
  foreach(_file
      "${prefix}/${INSTALL_INCLUDEDIR}/wmiev/uv.h"
      "${libdir}/cmake/wmiev/FindLibUV.cmake"
      "${libdir}/pkgconfig/wmiev-uv.pc")
    if(NOT EXISTS "${_file}")
      message(FATAL_ERROR "install.consumer: ${_file} was not installed")
    endif()
  endforeach()
  file(READ "${libdir}/pkgconfig/wmiev-uv.pc" pc_uv)
  step("installed wmiev-uv.pc:\n${pc_uv}")
  foreach(_line
      "prefix=${prefix}"
      "Name: wmiev-uv"
      "Version: ${WMIEV_VERSION}"
      "Requires: wmiev = ${WMIEV_VERSION}, libuv"
      "Libs: -L\${libdir} -lwmiev_uv")
    string(FIND "\n${pc_uv}\n" "\n${_line}\n" _at)
    if(_at EQUAL -1)
      message(FATAL_ERROR "install.consumer: wmiev-uv.pc lacks the line '${_line}'")
    endif()
  endforeach()
endif()

# ---- 3. CMake consumer ----------------------------------------------------
# Everything that makes this build what it is goes to the consumer too.
set(cmake_args -G "${GENERATOR}"
  "-DCMAKE_C_COMPILER=${C_COMPILER}"
  "-DCMAKE_C_FLAGS=${C_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  # Only the scratch prefix may satisfy find_package: no package registries.
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
  "-DWMIEV_EXPECT_UV=${WITH_UV}")
if(MAKE_PROGRAM)
  list(APPEND cmake_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(TOOLCHAIN_FILE)
  list(APPEND cmake_args "-DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE}")
endif()
if(WMIEV_CONFIG)
  list(APPEND cmake_args "-DCMAKE_BUILD_TYPE=${WMIEV_CONFIG}")
endif()

step("configuring consumer/ (find_package(wmiev 0.1 CONFIG REQUIRED))")
run("configuring the CMake consumer" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/consumer"
    -B "${WORK_DIR}/consumer-build" ${cmake_args})
# The package must have come from the scratch prefix, not from the system.
file(STRINGS "${WORK_DIR}/consumer-build/CMakeCache.txt" wmiev_dir REGEX "^wmiev_DIR:")
if(NOT wmiev_dir STREQUAL "wmiev_DIR:PATH=${libdir}/cmake/wmiev")
  message(FATAL_ERROR "install.consumer: the consumer found another wmiev: ${wmiev_dir}")
endif()
run("building the CMake consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer-build")
step("running the CMake consumer")
run("the CMake consumer" "${WORK_DIR}/consumer-build/wmiev-consumer")
string(STRIP "${run_output}" run_output)
message(STATUS "  ${run_output}")
if(WITH_UV)
  step("running the CMake wmiev::uv consumer")
  run("the CMake wmiev::uv consumer" "${WORK_DIR}/consumer-build/wmiev-uv-consumer")
  string(STRIP "${run_output}" run_output)
  message(STATUS "  ${run_output}")
endif()

# ---- 4. Version compatibility -------------------------------------------
step("configuring reject-major/ (find_package(wmiev 1.0 CONFIG) must fail)")
run("the version-compatibility check" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/reject-major"
    -B "${WORK_DIR}/reject-major-build" ${cmake_args} "-DWMIEV_EXPECTED_VERSION=${WMIEV_VERSION}")
string(REGEX MATCHALL "find_package\\(wmiev [^\n]*" lines "${run_output}")
foreach(_line IN LISTS lines)
  message(STATUS "  ${_line}")
endforeach()

# ---- 5. pkg-config consumer ---------------------------------------------
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "install.consumer: pkg-config was not found at configure time")
endif()
set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
if(PKG_CONFIG_LIBDIR)
  set(ENV{PKG_CONFIG_LIBDIR} "${PKG_CONFIG_LIBDIR}") # the i386 build's .pc files (libuv)
endif()
run("pkg-config --variable=prefix wmiev" "${PKG_CONFIG}" --variable=prefix wmiev)
string(STRIP "${run_output}" pc_prefix)
if(NOT pc_prefix STREQUAL prefix)
  message(FATAL_ERROR "install.consumer: pkg-config found a wmiev.pc with prefix '${pc_prefix}'")
endif()
run("pkg-config --modversion wmiev" "${PKG_CONFIG}" --modversion wmiev)
string(STRIP "${run_output}" pc_version)
if(NOT pc_version STREQUAL WMIEV_VERSION)
  message(FATAL_ERROR "install.consumer: pkg-config says version ${pc_version}")
endif()
run("pkg-config --cflags wmiev" "${PKG_CONFIG}" --cflags wmiev)
string(STRIP "${run_output}" pc_cflags)
run("pkg-config --libs wmiev" "${PKG_CONFIG}" --libs wmiev)
string(STRIP "${run_output}" pc_libs)

separate_arguments(cflags UNIX_COMMAND "${C_FLAGS}")
separate_arguments(ldflags UNIX_COMMAND "${LINKER_FLAGS}")
separate_arguments(pc_cflags_list UNIX_COMMAND "${pc_cflags}")
separate_arguments(pc_libs_list UNIX_COMMAND "${pc_libs}")
set(exe "${WORK_DIR}/pkg-config-consumer")
# The libraries come after the source: with a static libwmiev.a the linker
# only takes what earlier objects need.
step("compiling with pkg-config: ${C_COMPILER} ${C_FLAGS} -std=c11 ${pc_cflags} main.c ${pc_libs}")
run("compiling the pkg-config consumer" "${C_COMPILER}" ${cflags} -std=c11 ${pc_cflags_list}
    "${SOURCE_DIR}/consumer/main.c" -o "${exe}" ${ldflags} ${pc_libs_list})
step("running the pkg-config consumer")
# A shared libwmiev is found through LD_LIBRARY_PATH (pkg-config adds no rpath).
set(ENV{LD_LIBRARY_PATH} "${libdir}")
run("the pkg-config consumer" "${exe}")
string(STRIP "${run_output}" run_output)
message(STATUS "  ${run_output}")

if(WITH_UV)
  run("pkg-config --cflags wmiev-uv" "${PKG_CONFIG}" --cflags wmiev-uv)
  separate_arguments(pc_uv_cflags UNIX_COMMAND "${run_output}")
  run("pkg-config --libs wmiev-uv" "${PKG_CONFIG}" --libs wmiev-uv)
  string(STRIP "${run_output}" pc_uv_libs)
  separate_arguments(pc_uv_libs_list UNIX_COMMAND "${pc_uv_libs}")
  set(exe_uv "${WORK_DIR}/pkg-config-uv-consumer")
  step("compiling with pkg-config: ${C_COMPILER} ${C_FLAGS} -std=c11 ... uv_main.c ${pc_uv_libs}")
  run("compiling the pkg-config wmiev-uv consumer" "${C_COMPILER}" ${cflags} -std=c11
      ${pc_uv_cflags} "${SOURCE_DIR}/consumer/uv_main.c" -o "${exe_uv}" ${ldflags}
      ${pc_uv_libs_list})
  step("running the pkg-config wmiev-uv consumer")
  run("the pkg-config wmiev-uv consumer" "${exe_uv}")
  string(STRIP "${run_output}" run_output)
  message(STATUS "  ${run_output}")
endif()

step("passed")
