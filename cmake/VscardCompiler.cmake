# Compiler settings shared by every target: warnings, sanitizers, ccache.

find_program(VSCARD_CCACHE ccache)
if(VSCARD_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER "${VSCARD_CCACHE}")
  set(CMAKE_CXX_COMPILER_LAUNCHER "${VSCARD_CCACHE}")
endif()

add_compile_options(
  -Wall -Wextra -Wpedantic -Wshadow -Wcast-qual -Wformat=2 -Wimplicit-fallthrough
  -Wmissing-declarations $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>)
if(VSCARD_WERROR)
  add_compile_options(-Werror)
endif()

# Code that ends up in pcscd or in libcacard.so.0 must not export what it does not mean to.
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_C_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)

if(VSCARD_SANITIZERS)
  add_compile_options(-fsanitize=${VSCARD_SANITIZERS} -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${VSCARD_SANITIZERS})
endif()

if(VSCARD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VSCARD_FUZZ needs clang (the fuzz preset uses clang-16)")
  endif()
  # Coverage instrumentation for everything; only the fuzz targets link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
