#pragma once

// millrace-api's probe (Redpanda's word): every metric it exports.
// answered() runs on the HTTP threads, database_error() on the workers;
// both are thread-safe.

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "millrace/core/failure.hpp"
#include "millrace/metrics/metrics.hpp"
#include "router.hpp"

namespace millrace::api {

class ApiProbe {
 public:
  explicit ApiProbe(metrics::Registry& registry);
  // `queued` and `ready` are read at each scrape.
  void register_gauges(std::function<double()> queued, std::function<bool()> ready);

  void answered(Route route, int status, std::chrono::steady_clock::duration took);
  void database_error(core::FailureClass failure_class);
  // A request refused because every worker was busy and the queue full.
  void shed();

  std::string scrape() const { return registry_.scrape(); }

 private:
  metrics::Registry& registry_;
  std::array<std::optional<metrics::Histogram>, kRouteCount> duration_;
  std::array<metrics::Counter, 3> database_errors_;  // by FailureClass
  metrics::Counter shed_;
  // millrace_http_requests_total by route and status, created on first use.
  std::mutex requests_mutex_;
  std::map<std::pair<Route, int>, metrics::Counter> requests_;
};

}  // namespace millrace::api
