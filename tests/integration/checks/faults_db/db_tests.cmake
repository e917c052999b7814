# Helpers for the data-store check tests (postgres, mysql, redis, memcached, faults_db).
include_guard(GLOBAL)

# db_resource_lock(<test target> <lock>): every test case discovered from the target gets the
# ctest RESOURCE_LOCK, so tests that count a shared server's connections, or SIGSTOP it, never
# run at the same time as another test of that server. gtest_discover_tests lists the cases in
# <target>_TESTS when ctest includes its file; ours is included right after it.
function(db_resource_lock target lock)
  set(file ${CMAKE_CURRENT_BINARY_DIR}/${target}_resource_lock.cmake)
  file(WRITE ${file}
       "if(${target}_TESTS)\n"
       "  set_tests_properties(\${${target}_TESTS} PROPERTIES RESOURCE_LOCK ${lock})\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${file})
endfunction()

# db_test_includes(<target>): the shared test support (db_support.hpp, server_client.hpp) and
# the checks' private detail headers.
function(db_test_includes target)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests/integration/checks/faults_db
                             ${PROJECT_SOURCE_DIR}/tests/integration)
endfunction()
