# Precompiled headers: the headers most files include are parsed once per
# tree instead of once per file, which is most of a clean build's time for
# the many small files (scripts/test builds from scratch on every CI run).
#
# Two holders, since a precompiled header is only valid with the compile
# options it was made with:
# - millrace_test_pch, for test code (-Og): Catch2's single header and the
#   standard headers the tests include most. A test file compiles in about
#   half the time with it.
# - millrace_lib_pch, for the libraries, services and tools (the build
#   type's -O2): the standard headers and libpqxx's.
# Each file still includes what it uses by name; the sanitizer tree builds
# without them (MILLRACE_PCH=OFF), so a missing include still fails a build
# there. -Winvalid-pch (an error under -Werror) fails the build if a target's
# options ever make GCC skip the header, rather than parsing it again
# silently.
option(MILLRACE_PCH "Precompile the common headers (main tree)" ON)

if(MILLRACE_PCH)
  # hiredis' pkg-config flags define _FILE_OFFSET_BITS=64, and a header
  # precompiled without a macro the standard headers read is not valid for a
  # file compiled with it: every target gets it (on 64-bit Linux, where
  # off_t already has 64 bits, it changes no type).
  add_compile_definitions(_FILE_OFFSET_BITS=64)
  add_library(millrace_test_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch_anchor.cpp)
  target_compile_options(millrace_test_pch PRIVATE ${MILLRACE_TEST_COMPILE_OPTIONS})
  target_link_libraries(millrace_test_pch PRIVATE Catch2::Catch2)
  target_precompile_headers(millrace_test_pch PRIVATE
    <catch2/catch.hpp> <algorithm> <atomic> <chrono> <cstdint> <filesystem> <fstream>
    <functional> <map> <memory> <mutex> <optional> <set> <sstream> <stdexcept> <string>
    <string_view> <thread> <vector>)

  add_library(millrace_lib_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch_anchor.cpp)
  target_link_libraries(millrace_lib_pch PRIVATE PkgConfig::PQXX)
  target_precompile_headers(millrace_lib_pch PRIVATE
    <algorithm> <array> <atomic> <charconv> <chrono> <cstddef> <cstdint> <cstdio> <cstring>
    <functional> <map> <memory> <mutex> <optional> <stdexcept> <string> <string_view>
    <utility> <vector> <pqxx/pqxx>)
endif()

function(millrace_reuse_pch target holder)
  if(NOT MILLRACE_PCH)
    return()
  endif()
  target_precompile_headers(${target} REUSE_FROM ${holder})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Winvalid-pch)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 at -O2 reports std::string's own memcpy, inlined from a
    # precompiled (or forced) header, as out of bounds, over-reading or
    # overflowing, in operator+ and in appends past the inline buffer: false
    # positives of its middle-end access checks (like the -Wrestrict the top
    # CMakeLists.txt turns off) that it keeps quiet when it reads the same
    # header as text; seen elsewhere too, e.g. micmacIGN/micmac#236. Builds
    # with MILLRACE_PCH=OFF keep the three warnings.
    target_compile_options(${target} PRIVATE -Wno-array-bounds -Wno-stringop-overread
      -Wno-stringop-overflow)
  endif()
endfunction()

# A test target (compiled with MILLRACE_TEST_COMPILE_OPTIONS).
function(millrace_test_use_pch target)
  millrace_reuse_pch(${target} millrace_test_pch)
endfunction()

# Every library, service and tool target defined so far under libs/,
# services/ and bench/ that compiles C++ with the build type's options (the
# test targets have their own header, above). Called once, at the end of the
# top CMakeLists.txt.
function(millrace_use_lib_pch)
  if(NOT MILLRACE_PCH)
    return()
  endif()
  set(dirs ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/services/cli ${PROJECT_SOURCE_DIR}/bench)
  file(GLOB lib_dirs LIST_DIRECTORIES true ${PROJECT_SOURCE_DIR}/libs/*)
  foreach(dir ${lib_dirs})
    if(EXISTS ${dir}/CMakeLists.txt)
      list(APPEND dirs ${dir})
    endif()
  endforeach()
  foreach(dir ${dirs})
    get_directory_property(targets DIRECTORY ${dir} BUILDSYSTEM_TARGETS)
    foreach(target ${targets})
      get_target_property(type ${target} TYPE)
      get_target_property(reuse ${target} PRECOMPILE_HEADERS_REUSE_FROM)
      get_target_property(own ${target} PRECOMPILE_HEADERS)
      if(NOT type MATCHES "^(STATIC_LIBRARY|EXECUTABLE|OBJECT_LIBRARY)$" OR reuse OR own
         OR target MATCHES "_pch$")
        continue()
      endif()
      millrace_reuse_pch(${target} millrace_lib_pch)
      # Unity builds for the libraries: their sources compiled eight to a
      # translation unit, so the headers they share (Boost.Beast and Asio
      # above all) are parsed and their templates instantiated once per
      # eight files. A clean build of the demo's programs takes about 40%
      # less time on two cores. Like the precompiled header, it could hide
      # a missing include, which the sanitizer tree (no PCH, no unity)
      # still catches. A file whose file-local names clash with a
      # neighbour's is kept out (SKIP_UNITY_BUILD_INCLUSION where it is
      # listed). Not the CLI, whose subcommands each keep their own kUsage.
      if(type STREQUAL "STATIC_LIBRARY")
        set_target_properties(${target} PROPERTIES UNITY_BUILD ON)
      endif()
    endforeach()
  endforeach()
endfunction()
