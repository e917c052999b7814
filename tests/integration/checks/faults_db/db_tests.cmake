# Helpers for the data-store check tests (postgres, mysql, redis, memcached, faults_db).
include_guard(GLOBAL)

# db_test_properties(<test target> <lock> <label>...): every test case discovered from the target
# gets the ctest RESOURCE_LOCK, so tests that count a shared server's connections or SIGSTOP it
# never run at the same time as another test of that server, and the full label list (set here
# again: a list passed through gtest_discover_tests' PROPERTIES keeps only its first element).
# gtest_discover_tests lists the cases in <target>_TESTS when ctest includes its file; ours is
# included right after it.
function(db_test_properties target lock)
  set(labels "${ARGN}")
  set(file ${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake)
  file(WRITE ${file}
       "if(${target}_TESTS)\n"
       "  set_tests_properties(\${${target}_TESTS} PROPERTIES RESOURCE_LOCK ${lock}\n"
       "                       LABELS \"${labels}\")\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${file})
endfunction()

# db_test_includes(<target>): the shared test support (db_support.hpp, server_client.hpp) and
# the checks' private detail headers.
function(db_test_includes target)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests/integration/checks/faults_db
                             ${PROJECT_SOURCE_DIR}/tests/integration)
endfunction()
