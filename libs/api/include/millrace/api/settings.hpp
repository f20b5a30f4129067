#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "millrace/runtime/registry.hpp"

namespace millrace::api {

// The values of the settings src/settings.cpp declares, each initialised
// to its default.
struct ApiSettings {
  std::string http_addr = std::string(runtime::default_metrics_addr("api"));
  std::string admin_pg_dsn;
  std::string admin_token;
  std::string read_token;
  bool allow_open = false;
  std::int64_t http_threads = 2;
  std::int64_t workers = 4;
  std::int64_t queue_max = 1000;
  std::int64_t request_timeout_ms = 10'000;
  std::int64_t max_connections = 512;
  std::int64_t max_body_bytes = 65'536;
  std::int64_t near_cache_entries = 100'000;
  std::string dead_letter_topics = "store-events.dlq";
};

}  // namespace millrace::api
