#pragma once

// A directory of the test's own under /tmp, removed with everything in it.

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace millrace::archive::testing {

struct TempDir {
  TempDir() {
    std::string name = "/tmp/millrace-archive-XXXXXX";
    path = ::mkdtemp(name.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path path;
};

}  // namespace millrace::archive::testing
