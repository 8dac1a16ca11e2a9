# Checks that make_seeds still writes exactly the committed seed corpus, so a
# change to the builders or to a fuzz target's input format cannot leave the
# seeds silently stale. Regenerate with: fuzz_make_seeds tests/fuzz/corpus
#
#   cmake -DMAKE_SEEDS=<fuzz_make_seeds> -DCORPUS=<dir> -DWORK=<scratch dir> -P check_seeds.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND "${MAKE_SEEDS}" "${WORK}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_seeds failed (${rc})")
endif()
file(GLOB_RECURSE fresh RELATIVE "${WORK}" "${WORK}/*")
file(GLOB_RECURSE committed RELATIVE "${CORPUS}" "${CORPUS}/*")
list(SORT fresh)
list(SORT committed)
if(NOT fresh STREQUAL committed)
  message(FATAL_ERROR "seed files differ from tests/fuzz/corpus:\n generated: ${fresh}\n committed: ${committed}")
endif()
foreach(f IN LISTS fresh)
  file(SHA256 "${WORK}/${f}" a)
  file(SHA256 "${CORPUS}/${f}" b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "tests/fuzz/corpus/${f} is stale: rerun fuzz_make_seeds tests/fuzz/corpus")
  endif()
endforeach()
list(LENGTH fresh n)
message(STATUS "${n} seed files up to date")
