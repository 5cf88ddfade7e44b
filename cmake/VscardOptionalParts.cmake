# Parts of the test suite that need a package outside the `build` group (packaging/install-deps).
# Without that package the build still configures and builds (./packaging/demo needs nothing
# more); what needs it is left out with one line saying so, and a test that fails in its place,
# so that a test run on such a machine is red, never quietly smaller.

# vscard_left_out(ID WHAT WHY)
# Says that WHAT is left out, and WHY, and registers the failing test ID_missing (label system,
# which ./tests/run runs).
function(vscard_left_out id what hint)
  message(NOTICE "vscard: left out ${what} (${hint})")
  add_test(NAME ${id}_missing COMMAND sh -c "echo 'left out ${what}: ${hint}'; exit 1")
  set_tests_properties(${id}_missing PROPERTIES LABELS system)
endfunction()

# Debian's libcacard, the reference the emulated CAC is compared with; QEMU, the reference host.
pkg_check_modules(LIBCACARD QUIET IMPORTED_TARGET libcacard)
find_program(VSCARD_QEMU qemu-system-x86_64)
if(VSCARD_QEMU)
  set(VSCARD_HAVE_QEMU ON)
else()
  set(VSCARD_HAVE_QEMU OFF)
endif()

if(NOT LIBCACARD_FOUND)
  vscard_left_out(libcacard_reference
    "the tests and benchmarks that compare with Debian's libcacard"
    "libcacard-dev is missing: ./packaging/install-deps test")
endif()
if(NOT VSCARD_HAVE_QEMU)
  vscard_left_out(qemu "the QEMU guest tests and benchmark"
    "qemu-system-x86 is missing: ./packaging/install-deps test")
endif()

# The fuzz targets are another preset's (`cmake --preset fuzz`: clang-16 with libFuzzer), never
# part of this build; say so where that preset could not configure.
find_program(VSCARD_CLANG16 clang++-16)
if(NOT VSCARD_CLANG16)
  message(NOTICE "vscard: left out the fuzz targets (built by `cmake --preset fuzz`; clang-16 is "
                 "missing: ./packaging/install-deps fuzz)")
endif()
