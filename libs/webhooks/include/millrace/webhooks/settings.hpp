#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "millrace/webhooks/schedule.hpp"

namespace millrace::webhooks {

// The values of the settings src/settings.cpp declares, each initialised
// to its default.
struct WebhooksSettings {
  std::int64_t workers = 4;
  std::int64_t timeout_ms = 15'000;
  std::string retry_schedule = std::string(kDefaultSchedule);
  std::int64_t poll_ms = 1000;
  std::int64_t max_per_claim = 100;
  std::string cloudevents_source;
  std::int64_t keep_delivered_h = 168;
  std::int64_t direct_ms = 1000;
};

}  // namespace millrace::webhooks
