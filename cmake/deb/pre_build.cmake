# CPACK_PRE_BUILD_SCRIPTS, on the tree staged for the package:
# - strips the debug sections of the static libraries (CPACK_STRIP_FILES strips executables and
#   modules only; RelWithDebInfo archives are 230 MB with their DWARF, 14 MB without);
# - adds /usr/share/doc/vitals/changelog.gz (native package: Debian policy 12.7);
# - compresses the man pages (policy 12.1).
file(GLOB_RECURSE archives "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*.a")
foreach(a ${archives})
  execute_process(COMMAND strip --strip-debug --enable-deterministic-archives ${a}
                  COMMAND_ERROR_IS_FATAL ANY)
endforeach()
string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(doc "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/usr/share/doc/vitals")
configure_file(${CMAKE_CURRENT_LIST_DIR}/changelog.in ${doc}/changelog @ONLY)
execute_process(COMMAND gzip -9nf ${doc}/changelog COMMAND_ERROR_IS_FATAL ANY)
file(GLOB man_pages "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/usr/share/man/man*/*.[0-9]")
foreach(m ${man_pages})
  execute_process(COMMAND gzip -9nf ${m} COMMAND_ERROR_IS_FATAL ANY)
endforeach()
