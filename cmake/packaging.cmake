# The Debian package (`cpack -G DEB` in a build directory, or `cmake --build <dir> --target deb`):
# one package, `vitals`, with prefix /usr:
#   /usr/bin/vitalsd, /usr/bin/vitals, /usr/libexec/vitals/vitals-tool
#   /usr/lib/vitals/vitals_check_*.so        the check modules vitalsd loads on demand
#   /usr/include/vitals, /usr/lib/libvitals_*.a, /usr/lib/cmake/vitals   find_package(vitals)
#   /lib/systemd/system/vitalsd.service      deploy/systemd/vitalsd.service (not enabled)
#   /etc/vitals/vitalsd.yaml                 conffile: the built-in configuration, as a file
#   /usr/share/doc/vitals/                   README.md, vitalsd.md, security.md, copyright
#   /usr/share/man/man8/vitalsd.8.gz, /usr/share/man/man1/vitals.1.gz
# The files outside the prefix (/etc, /lib/systemd) are in the install component `deb`, which
# only the package installs: a plain `cmake --install --prefix <dir>` (tests/package) never
# writes to the host's /etc.
# Depends are computed by dpkg-shlibdeps (dpkg-dev) from the executables and the modules.
# Not for sanitizer builds (their binaries want the sanitizer runtimes).
if(NOT VITALS_INSTALL OR NOT TARGET vitalsd OR VITALS_SANITIZE)
  return()
endif()

set(deb_dir ${PROJECT_BINARY_DIR}/deb)

# /etc/vitals/vitalsd.yaml is vitalsd's built-in configuration (--print-default), generated
# from the binary so that the two never differ; the unit runs vitalsd on this file.
add_custom_command(OUTPUT ${deb_dir}/vitalsd.yaml
  COMMAND ${CMAKE_COMMAND} -DVITALSD=$<TARGET_FILE:vitalsd> -DOUT=${deb_dir}/vitalsd.yaml
          -P ${CMAKE_CURRENT_LIST_DIR}/deb/default_config.cmake
  DEPENDS vitalsd ${CMAKE_CURRENT_LIST_DIR}/deb/default_config.cmake VERBATIM)
add_custom_target(vitals_deb_files ALL DEPENDS ${deb_dir}/vitalsd.yaml)

install(FILES ${deb_dir}/vitalsd.yaml DESTINATION /etc/vitals
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/vitalsd.service
        DESTINATION /lib/systemd/system COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/vitalsd.md
              ${PROJECT_SOURCE_DIR}/docs/security.md ${CMAKE_CURRENT_LIST_DIR}/deb/copyright
        DESTINATION share/doc/vitals COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/deb/man/vitalsd.8 DESTINATION share/man/man8 COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/deb/man/vitals.1 DESTINATION share/man/man1 COMPONENT deb EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vitals)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "vitals maintainers <maintainers@users.noreply.b-seed-8bc3d0eb.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
# (CPack puts the summary first, as the synopsis.)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "vitalsd, a health-check daemon driven by a YAML file (with a hardened systemd
unit), the vitals command-line tool, the check modules vitalsd loads on demand,
and the headers, static libraries and CMake package of libvitals for
find_package(vitals).")
# DESTDIR staging, so that the absolute /etc and /lib destinations land in the package.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # executables and modules (lintian: unstripped-binary-or-object)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Building a consumer of the CMake package needs the headers vitals' own headers include and
# the libraries its archives link; a server install needs none of them (no compiler pulled in).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "g++, cmake, libboost-dev, libboost-system-dev, libyaml-cpp-dev, nlohmann-json3-dev, libssl-dev, libpq-dev, libhiredis-dev, libmariadb-dev, libmemcached-dev, libsqlite3-dev, libcurl4-openssl-dev, libgrpc++-dev")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/deb/conffiles
    ${CMAKE_CURRENT_LIST_DIR}/deb/postinst ${CMAKE_CURRENT_LIST_DIR}/deb/prerm
    ${CMAKE_CURRENT_LIST_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Everything a full install installs, plus the `deb` component.
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};vitals;ALL;/;${PROJECT_BINARY_DIR};vitals;deb;/")
# Strips the archives' DWARF (RelWithDebInfo: 230 MB -> 14 MB), adds the changelog, gzips the
# man pages.
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/deb/pre_build.cmake)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR})
include(CPack)

add_custom_target(deb
  COMMAND ${CMAKE_CPACK_COMMAND} -G DEB --config ${PROJECT_BINARY_DIR}/CPackConfig.cmake
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR} USES_TERMINAL VERBATIM)
