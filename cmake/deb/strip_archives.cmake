# CPACK_PRE_BUILD_SCRIPTS: strip the debug sections of the static libraries staged for the
# package (CPACK_STRIP_FILES strips executables and modules only).
file(GLOB_RECURSE archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(a ${archives})
  execute_process(COMMAND strip --strip-debug --enable-deterministic-archives ${a}
                  COMMAND_ERROR_IS_FATAL ANY)
endforeach()
