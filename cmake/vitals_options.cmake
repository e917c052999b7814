# Warning and sanitizer flags, applied per target through vitals_set_warnings().
add_library(vitals_warnings INTERFACE)
target_compile_options(vitals_warnings INTERFACE -Wall -Wextra -Wpedantic)
if(VITALS_WERROR)
  target_compile_options(vitals_warnings INTERFACE -Werror)
endif()

if(VITALS_SANITIZE)
  add_compile_options(-fsanitize=${VITALS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${VITALS_SANITIZE})
endif()

function(vitals_set_warnings target)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:vitals_warnings>)
endfunction()
