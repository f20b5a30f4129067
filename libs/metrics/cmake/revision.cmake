# Writes the git revision of the source tree into a header, at build time:
# a revision read when CMake configures goes stale with the next commit.
# The header is rewritten only when the revision changes, so an unchanged
# tree rebuilds nothing. A tree with uncommitted changes gets "-dirty".
#   cmake -DSOURCE_DIR=... -DOUTPUT=... -P revision.cmake
set(revision "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
    WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE head RESULT_VARIABLE rc
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(rc EQUAL 0 AND head)
    set(revision "${head}")
    # Tracked files only: the build directory or a test's scratch files
    # inside the tree do not make a build dirty. `git diff` compares
    # contents where a file's stat changed (diff-index would call a touched
    # but unchanged file dirty) and does not write the index.
    execute_process(COMMAND ${GIT_EXECUTABLE} diff --no-ext-diff --quiet HEAD --
      WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND revision "-dirty")
    endif()
  endif()
endif()
set(content "#pragma once\n#define MILLRACE_REVISION \"${revision}\"\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUTPUT} "${content}")
endif()
