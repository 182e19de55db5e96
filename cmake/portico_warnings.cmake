# Portico's own code is kept warning-free with GCC and clang; PORTICO_WERROR (CI turns it on)
# makes that an error. It is off by default so that a newer compiler's new warning, or a known
# false positive in a build type nobody here tried, does not stop a user's or packager's build.
set(portico_werror $<$<BOOL:${PORTICO_WERROR}>:-Werror>)
set(PORTICO_WARNING_FLAGS
  -Wall -Wextra -Wpedantic ${portico_werror}
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
set(PORTICO_C_WARNING_FLAGS -Wall -Wextra ${portico_werror} -Wshadow -Wconversion -Wsign-conversion)  # tools/

if(PORTICO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# libFuzzer steers by the coverage of the code under test, so every library is instrumented
# (-fsanitize=fuzzer-no-link), not only the harnesses that link libFuzzer's main
# (tests/fuzz/CMakeLists.txt): in a minute from its seeds, fuzz_scsi_command reached 170 edges
# with only the harness instrumented, 2,739 with the core instrumented too.
if(PORTICO_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PORTICO_FUZZ=ON needs clang and libFuzzer: configure with CC=clang CXX=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()

# portico_component(<name> SOURCES ... DEPS ...): one library target per folder.
function(portico_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PORTICO_SOURCE_ROOT})
  target_compile_options(${name} PRIVATE ${PORTICO_WARNING_FLAGS})
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
endfunction()
