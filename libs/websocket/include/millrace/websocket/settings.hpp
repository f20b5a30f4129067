#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "millrace/runtime/registry.hpp"

namespace millrace::websocket {

// The values of the settings src/settings.cpp declares, each initialised
// to its default.
struct WebsocketSettings {
  std::string url;
  std::string feed;
  std::vector<std::string> symbols;
  std::string source_name;
  std::string ca_file;
  std::int64_t run_for = 0;
  std::int64_t every = 0;
  double alert_below_ratio = 0.5;
  std::int64_t max_frame_bytes = 1'048'576;
  std::int64_t connect_timeout_ms = 10'000;
  std::int64_t idle_timeout_ms = 30'000;
  std::int64_t produce_timeout_ms = 300'000;
  std::int64_t dlq_max_bytes = 1'000'000;
};

}  // namespace millrace::websocket
