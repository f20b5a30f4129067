#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "millrace/runtime/registry.hpp"

namespace millrace::ingest {

// The values of the settings src/settings.cpp declares, each initialised
// to its default.
struct IngestSettings {
  std::string http_addr = std::string(runtime::default_metrics_addr("producer"));
  std::int64_t http_threads = 2;
  std::int64_t max_connections = 512;
  std::int64_t max_body_bytes = 1'048'576;
  std::string auth_token;
  bool allow_open = false;
  std::int64_t produce_timeout_ms = 10'000;
  std::int64_t queue_max_messages = 100'000;
};

}  // namespace millrace::ingest
