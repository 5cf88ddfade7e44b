# vscard_add_qtest(NAME SOURCES... LABELS label... [LIBRARIES lib...])
# A Qt Test executable registered with CTest under the given labels.
function(vscard_add_qtest name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LABELS;LIBRARIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Qt6::Test ${ARG_LIBRARIES})
  add_test(NAME ${name} COMMAND ${name})
  # The timeout only stops a hung test; no test asserts on how long it took. CTest's TIMEOUT is
  # the one that counts: QTest's own per-function watchdog (5 minutes) is pushed past it.
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300
                       ENVIRONMENT "QTEST_FUNCTION_TIMEOUT=3600000")
endfunction()
