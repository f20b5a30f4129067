#pragma once

#include <string>
#include <string_view>

// Where a test binary's checkout and build tree are, for tests that read
// the repository's files or run the programs built beside them.
//
// Defined in one generated file (tests/paths/paths.cpp.in), not as macros
// on the test targets: a macro holding an absolute path changes every file
// compiled with it in each new clone, and ccache (scripts/test) then misses
// them all. Only that one small file differs between clones.
namespace millrace::test_paths {

// The checkout's root (PROJECT_SOURCE_DIR).
const std::string& source_dir();
// The build tree's programs (CMAKE_BINARY_DIR/bin).
const std::string& bin_dir();
// The directory tests write their logs and reports to (CMAKE_BINARY_DIR/test-logs).
const std::string& log_dir();

// source_dir() + "/" + relative.
std::string source(std::string_view relative);

}  // namespace millrace::test_paths
