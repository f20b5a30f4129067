#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace millrace::archive {

// The values of the settings src/settings.cpp declares, each initialised
// to its default.
struct ArchiverSettings {
  std::string spool;
  std::int64_t window_s = 300;
  std::int64_t max_mb = 300;
  std::int64_t max_record_kb = 1088;
  bool empty_files = false;
  std::int64_t parallel_parts = 8;
};

}  // namespace millrace::archive
