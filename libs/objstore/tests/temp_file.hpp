#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace millrace::objstore::testing {

// A file of the given bytes, removed with the object.
struct TempFile {
  explicit TempFile(const std::string& bytes) {
    path = (std::filesystem::temp_directory_path() /
            ("millrace-objstore-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter()++)))
               .string();
    std::ofstream(path, std::ios::binary) << bytes;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string path;
};

}  // namespace millrace::objstore::testing
