# sanitize.cmake - sanitizer and fuzzing builds.
#
#   -DCSAMPLER_SANITIZE=address,undefined   csampler, its libraries and its test programs
#                                           are built with these sanitizers
#   -DCSAMPLER_FUZZ=ON (clang only)         the harnesses in tests/fuzz link libFuzzer, and
#                                           the libraries carry its coverage instrumentation
#
# The allocation agent (agent/) and the programs the tests profile (tests/targets/,
# examples/) are left alone: they run inside targets, and a target is a user's program
# that csampler must cope with as it is. UBSan is made fatal so that a finding fails the
# test that hit it instead of scrolling past in a log.
#
# The top-level CMakeLists.txt includes this first and calls cs_sanitize_targets() at its
# end: the flags are added per target, once every directory has defined its targets.

set(CSAMPLER_SANITIZE "" CACHE STRING
    "Sanitizers for csampler and its tests (e.g. address,undefined); empty: none")
option(CSAMPLER_FUZZ "Build the fuzz harnesses with libFuzzer (needs clang)" OFF)

if(CSAMPLER_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CSAMPLER_FUZZ needs clang (-DCMAKE_C_COMPILER=clang)")
  endif()
  # libFuzzer finds far more with sanitizers, and their runtime provides the coverage
  # callbacks the instrumented libraries need in programs without libFuzzer.
  if(NOT CSAMPLER_SANITIZE)
    set(CSAMPLER_SANITIZE address,undefined CACHE STRING "" FORCE)
  endif()
endif()

set(CS_SAN_COMPILE "")
set(CS_SAN_LINK "")
if(CSAMPLER_SANITIZE)
  list(APPEND CS_SAN_COMPILE -fsanitize=${CSAMPLER_SANITIZE} -fno-omit-frame-pointer -g)
  list(APPEND CS_SAN_LINK -fsanitize=${CSAMPLER_SANITIZE})
  if(CSAMPLER_SANITIZE MATCHES "undefined")
    list(APPEND CS_SAN_COMPILE -fno-sanitize-recover=undefined)
    list(APPEND CS_SAN_LINK -fno-sanitize-recover=undefined)
  endif()
  message(STATUS "csampler: sanitizers ${CSAMPLER_SANITIZE} (not in agent/, tests/targets/, examples/)")
endif()
# Coverage for libFuzzer, on every target but those whose CS_FUZZ_COVERAGE property is
# OFF (the harnesses' own checking code: its branches are not csampler's).
set(CS_FUZZ_COMPILE "")
if(CSAMPLER_FUZZ)
  set(CS_FUZZ_COMPILE -fsanitize=fuzzer-no-link)
endif()

# Add the flags to every target defined in dir and below, except the excluded folders.
function(cs_sanitize_dir dir)
  foreach(skip agent tests/targets examples)
    if(dir STREQUAL "${CMAKE_SOURCE_DIR}/${skip}")
      return()
    endif()
  endforeach()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY|STATIC_LIBRARY|OBJECT_LIBRARY)$")
      target_compile_options(${t} PRIVATE ${CS_SAN_COMPILE})
      get_target_property(cov ${t} CS_FUZZ_COVERAGE)
      if(NOT cov STREQUAL "OFF")
        target_compile_options(${t} PRIVATE ${CS_FUZZ_COMPILE})
      endif()
    endif()
    if(type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY)$")
      target_link_options(${t} PRIVATE ${CS_SAN_LINK})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(d IN LISTS subdirs)
    cs_sanitize_dir(${d})
  endforeach()
endfunction()

function(cs_sanitize_targets)
  if(CS_SAN_COMPILE OR CS_FUZZ_COMPILE)
    cs_sanitize_dir(${CMAKE_SOURCE_DIR})
  endif()
endfunction()
