# Runs a fuzz target once on every file in the given directories: its seed
# corpus and its saved crash inputs (tests/fuzz/regressions/<target>/).
# libFuzzer given only files (no directory) executes each once and stops,
# failing on the first crash, leak or broken property.
#
#   cmake -DFUZZER=<fuzz_x> -DDIRS=<dir>|<dir> -P replay.cmake
#
# README files and dot files are documentation, not inputs.
string(REPLACE "|" ";" dirs "${DIRS}")
set(inputs)
foreach(dir IN LISTS dirs)
  file(GLOB files LIST_DIRECTORIES false "${dir}/*")
  foreach(f IN LISTS files)
    get_filename_component(name "${f}" NAME)
    if(NOT name MATCHES "^(README.*|\\..*)$")
      list(APPEND inputs "${f}")
    endif()
  endforeach()
endforeach()
list(LENGTH inputs count)
if(count EQUAL 0)
  message(FATAL_ERROR "no inputs in ${DIRS}: the seed corpus is missing")
endif()
execute_process(COMMAND "${FUZZER}" ${inputs} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message("${out}")
  message(FATAL_ERROR "${FUZZER} failed (${rc}) on one of ${count} inputs")
endif()
message(STATUS "${count} inputs replayed")
