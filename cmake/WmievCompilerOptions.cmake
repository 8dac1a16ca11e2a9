# Warning and sanitizer flags shared by every wmiev target.
#
# wmiev_target_options(<target>) applies the warning set; sanitizers are
# applied globally (library, tests and examples must agree on them).

set(_wmiev_warnings -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wcast-align -Wconversion -Wno-sign-conversion -Wvla)

function(wmiev_target_options target)
  target_compile_options(${target} PRIVATE ${_wmiev_warnings})
  if(WMIEV_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(WMIEV_SANITIZER STREQUAL "address")
  set(_wmiev_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
elseif(WMIEV_SANITIZER STREQUAL "thread")
  set(_wmiev_san -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT WMIEV_SANITIZER STREQUAL "none")
  message(FATAL_ERROR "WMIEV_SANITIZER must be none, address or thread (got '${WMIEV_SANITIZER}')")
endif()
if(_wmiev_san)
  add_compile_options(${_wmiev_san})
  add_link_options(${_wmiev_san})
endif()
# Exposed so that tests building code outside this build (tests/install) can
# compile it the same way: an ASan library needs an ASan consumer.
set(WMIEV_SANITIZER_FLAGS ${_wmiev_san})
