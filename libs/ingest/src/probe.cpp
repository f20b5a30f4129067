#include "probe.hpp"

#include "millrace/core/event_type.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/httpd/http_metrics.hpp"
#include "millrace/metrics/family.hpp"

namespace millrace::ingest {

// The producer's own metric families (metrics/family.hpp), in the order of
// their table in docs/operations.md; its requests' are every HTTP
// service's (httpd/http_metrics.hpp).
const metrics::Family kEventsProduced({.name = "millrace_events_produced_total",
                                       .type = metrics::Type::kCounter,
                                       .help = "Events Kafka acknowledged, by partition and type",
                                       .labels = {"topic", "partition", "event_type"},
                                       .group = "producer"});
const metrics::Family kOrdersProduced({.name = "millrace_orders_produced_total",
                                       .type = metrics::Type::kCounter,
                                       .help = "Orders Kafka acknowledged, by partition",
                                       .labels = {"topic", "partition"},
                                       .group = "producer"});
const metrics::Family kEventsRejected(
    {.name = "millrace_events_rejected_total",
     .type = metrics::Type::kCounter,
     .help = "Events refused by millrace-producer, by reason (a rejection code, or "
             "message_too_large)",
     .labels = {"reason"},
     .group = "producer"});
const metrics::Family kDeliveryFailures(
    {.name = "millrace_delivery_failures_total",
     .type = metrics::Type::kCounter,
     .help = "Events Kafka did not acknowledge (timed out or refused)",
     .labels = {"topic"},
     .group = "producer"});
const metrics::Family kProducerRenewals(
    {.name = "millrace_producer_renewals_total",
     .type = metrics::Type::kCounter,
     .help = "Kafka producers replaced after a fatal error (their events were reported failed)",
     .group = "producer"});
const metrics::Family kProducerQueue(
    {.name = "millrace_producer_queue_messages",
     .type = metrics::Type::kGauge,
     .help = "Messages the Kafka producer holds that are not yet acknowledged",
     .group = "producer"});
const metrics::Family kDeliveryLatency(
    {.name = "millrace_delivery_latency_seconds",
     .type = metrics::Type::kHistogram,
     .help = "Time from handing an event to the producer to its delivery report",
     .buckets = metrics::latency_buckets(),
     .group = "producer"});

ProducerProbe::ProducerProbe(metrics::Registry& registry, std::string topic)
    : registry_(registry), topic_(std::move(topic)) {}

void ProducerProbe::register_metrics(const std::shared_ptr<kafka::RenewingProducer>& producer) {
  delivery_failures_ = kDeliveryFailures.counter(registry_, {{"topic", topic_}});
  renewals_ = kProducerRenewals.counter(registry_);
  delivery_latency_ = kDeliveryLatency.histogram(registry_);
  for (int i = 0; i < core::kRejectReasonCount; ++i) {
    rejected_.push_back(kEventsRejected.counter(
        registry_,
        {{"reason", std::string(core::reason_code(static_cast<core::RejectReason>(i)))}}));
  }
  rejected_.push_back(
      kEventsRejected.counter(registry_, {{"reason", std::string(kReasonTooLarge)}}));
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    request_duration_[r] =
        httpd::kHttpRequestDuration.histogram(registry_, {{"route", std::string(kRouteNames[r])}});
  }
  std::weak_ptr<kafka::RenewingProducer> weak = producer;
  kProducerQueue.computed_gauge(registry_, [weak]() -> std::vector<metrics::Sample> {
    const auto p = weak.lock();
    if (!p) return {};
    return {{{}, static_cast<double>(p->queue_length())}};
  });
}

void ProducerProbe::answered(Route route, int status, std::chrono::steady_clock::duration took) {
  request_counter(route, status).inc();
  request_duration_[route]->observe(std::chrono::duration<double>(took).count());
}

metrics::Counter& ProducerProbe::request_counter(Route route, int status) {
  if (status < kMinStatus || status > kMaxStatus) status = 500;
  auto& cell = request_counters_[route * (kMaxStatus - kMinStatus + 1) +
                                 static_cast<std::size_t>(status - kMinStatus)];
  if (metrics::Counter* c = cell.load(std::memory_order_acquire)) return *c;
  std::lock_guard lock(request_counters_mutex_);
  if (metrics::Counter* c = cell.load(std::memory_order_acquire)) return *c;
  request_counter_store_.push_back(httpd::kHttpRequests.counter(
      registry_, {{"route", std::string(kRouteNames[route])}, {"status", std::to_string(status)}}));
  cell.store(&request_counter_store_.back(), std::memory_order_release);
  return request_counter_store_.back();
}

void ProducerProbe::rejected(std::string_view reason) {
  for (int i = 0; i < core::kRejectReasonCount; ++i) {
    if (core::reason_code(static_cast<core::RejectReason>(i)) == reason) {
      rejected_[static_cast<std::size_t>(i)].inc();
      return;
    }
  }
  rejected_.back().inc();  // message_too_large
}

void ProducerProbe::order_delivered(const std::string& topic, std::int32_t partition) {
  const auto i = static_cast<std::size_t>(partition);
  if (i >= orders_produced_.size()) orders_produced_.resize(i + 1);
  if (!orders_produced_[i]) {
    orders_produced_[i] = kOrdersProduced.counter(
        registry_, {{"topic", topic}, {"partition", std::to_string(partition)}});
  }
  orders_produced_[i]->inc();
}

void ProducerProbe::delivered(std::int32_t partition, core::EventType type) {
  const auto i = static_cast<std::size_t>(partition) * 2 + static_cast<std::size_t>(type);
  if (i >= produced_.size()) produced_.resize(i + 1);
  if (!produced_[i]) {
    produced_[i] =
        kEventsProduced.counter(registry_, {{"topic", topic_},
                                            {"partition", std::to_string(partition)},
                                            {"event_type", std::string(core::to_string(type))}});
  }
  produced_[i]->inc();
}

void ProducerProbe::delivery_failed() {
  delivery_failures_->inc();
}

void ProducerProbe::producer_renewed() {
  renewals_->inc();
}

void ProducerProbe::delivery_latency(std::int64_t latency_us) {
  if (latency_us >= 0) delivery_latency_->observe(static_cast<double>(latency_us) / 1e6);
}

}  // namespace millrace::ingest
