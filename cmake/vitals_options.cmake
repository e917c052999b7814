# Warning and sanitizer flags, applied per target through vitals_set_warnings().
add_library(vitals_warnings INTERFACE)
target_compile_options(vitals_warnings INTERFACE -Wall -Wextra -Wpedantic)
if(VITALS_WERROR)
  target_compile_options(vitals_warnings INTERFACE -Werror)
endif()

if(VITALS_SANITIZE)
  add_compile_options(-fsanitize=${VITALS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${VITALS_SANITIZE})
  if(VITALS_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # Boost.Asio's fenced blocks use std::atomic_thread_fence, which GCC warns TSan does not
    # model (-Wtsan). Our own code uses no standalone fences.
    add_compile_options(-Wno-tsan)
  endif()
endif()

function(vitals_set_warnings target)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:vitals_warnings>)
endfunction()
