# Debian's libcacard source package, whose tests/ and fuzz/ run against our libcacard.so.0
# (tests/upstream, tests/fuzz): fetched once by tests/upstream/fetch-libcacard-source and kept
# in VSCARD_LIBCACARD_SOURCE_CACHE.
set(VSCARD_LIBCACARD_SOURCE_CACHE "$ENV{HOME}/.cache/vscard/libcacard-source" CACHE PATH
    "Where Debian's libcacard source package is unpacked and kept")

# vscard_libcacard_source(SOURCE_VAR ERROR_VAR): SOURCE_VAR gets the unpacked source's
# directory; if it cannot be had, SOURCE_VAR is empty and ERROR_VAR says why.
function(vscard_libcacard_source source_var error_var)
  execute_process(
    COMMAND "${PROJECT_SOURCE_DIR}/tests/upstream/fetch-libcacard-source"
            "${VSCARD_LIBCACARD_SOURCE_CACHE}"
    OUTPUT_VARIABLE source OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_VARIABLE errors ERROR_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE fetched)
  if(NOT fetched EQUAL 0)
    set(source "")
  endif()
  set(${source_var} "${source}" PARENT_SCOPE)
  set(${error_var} "${errors}" PARENT_SCOPE)
endfunction()
