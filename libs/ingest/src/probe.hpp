#pragma once

// millrace-producer's probe (Redpanda's word): every metric it exports.
// Thread safety: answered() and rejected() run on the HTTP threads;
// delivered() and failed() only on delivery reports, which run on one
// thread at a time (the poller, then stop()'s flush).

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/event_type.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/kafka/renewing_producer.hpp"
#include "millrace/metrics/metrics.hpp"
#include "routes.hpp"

namespace millrace::ingest {

// Codes of the per-event "reason" for what the HTTP layer adds to the
// validator's codes (core::reason_code).
inline constexpr std::string_view kReasonTooLarge = "message_too_large";

class ProducerProbe {
 public:
  ProducerProbe(metrics::Registry& registry, std::string topic);
  // Registers the metrics; the queue gauge reads `producer` while it lives.
  void register_metrics(const std::shared_ptr<kafka::RenewingProducer>& producer);

  void answered(Route route, int status, std::chrono::steady_clock::duration took);
  // An event refused with a core reason code, or kReasonTooLarge.
  void rejected(std::string_view reason);
  void delivered(std::int32_t partition, core::EventType type);
  // An order Kafka acknowledged, on `topic`.
  void order_delivered(const std::string& topic, std::int32_t partition);
  void delivery_failed();
  // The Kafka producer failed fatally and was replaced.
  void producer_renewed();
  void delivery_latency(std::int64_t latency_us);

  std::string scrape() const { return registry_.scrape(); }

 private:
  metrics::Counter& request_counter(Route route, int status);

  metrics::Registry& registry_;
  std::string topic_;
  std::vector<std::optional<metrics::Counter>> produced_;         // by partition, then type
  std::vector<std::optional<metrics::Counter>> orders_produced_;  // by partition
  std::optional<metrics::Counter> delivery_failures_;
  std::optional<metrics::Counter> renewals_;
  std::optional<metrics::Histogram> delivery_latency_;
  std::vector<metrics::Counter> rejected_;  // core reasons, then message_too_large
  std::array<std::optional<metrics::Histogram>, kRouteCount> request_duration_;
  // http_requests_total by route and status, created on first use.
  static constexpr int kMinStatus = 100, kMaxStatus = 599;
  std::mutex request_counters_mutex_;
  std::deque<metrics::Counter> request_counter_store_;
  std::array<std::atomic<metrics::Counter*>, kRouteCount*(kMaxStatus - kMinStatus + 1)>
      request_counters_{};
};

}  // namespace millrace::ingest
