#include "probe.hpp"

#include "dispatch_metrics.hpp"
#include "millrace/core/enum_names.hpp"

namespace millrace::webhooks::detail {

namespace {

// The outcome label of millrace_webhooks_attempts_total.
constexpr core::EnumNames<Verdict, kVerdictCount> kVerdictLabels({
    {Verdict::kDelivered, "delivered"},
    {Verdict::kRetry, "retry"},
    {Verdict::kFailed, "failed"},
    {Verdict::kDisable, "disabled"},
});

metrics::Counter claims_counter(metrics::Registry& registry, const char* found) {
  return kClaims.counter(registry, {{"found", found}});
}

// Per endpoint, from 0 as soon as the endpoint is known (stats()), so that
// the alert's increase() sees its first disabling.
metrics::Counter auto_disabled(metrics::Registry& registry, const std::string& endpoint) {
  return kAutoDisabled.counter(registry, {{"endpoint", endpoint}});
}

}  // namespace

DispatchProbe::DispatchProbe(metrics::Registry& registry)
    : registry_(registry),
      claims_found_(claims_counter(registry, "yes")),
      claims_empty_(claims_counter(registry, "no")),
      m_(registry) {
  const auto per_endpoint = [this](auto field) {
    return [this, field] {
      std::lock_guard lock(mutex_);
      std::vector<metrics::Sample> out;
      for (const auto& e : last_.endpoints) {
        out.push_back(
            {{{"endpoint", std::to_string(e.id)}, {"state", e.active ? "active" : "disabled"}},
             static_cast<double>(e.*field)});
      }
      return out;
    };
  };
  kPendingDeliveries.computed_gauge(registry, per_endpoint(&QueueStats::Endpoint::pending));
  kFailedDeliveries.computed_gauge(registry, per_endpoint(&QueueStats::Endpoint::failed));
  kOldestPendingAge.computed_gauge(registry, per_endpoint(&QueueStats::Endpoint::oldest_pending_s));
  kFilteredChanges.computed_gauge(registry, per_endpoint(&QueueStats::Endpoint::filtered));
  kFailingSeconds.computed_gauge(registry, per_endpoint(&QueueStats::Endpoint::failing_s));
  kEndpoints.computed_gauge(registry, [this] {
    std::lock_guard lock(mutex_);
    double active = 0, disabled = 0;
    for (const auto& e : last_.endpoints) (e.active ? active : disabled) += 1;
    return std::vector<metrics::Sample>{{{{"state", "active"}}, active},
                                        {{{"state", "disabled"}}, disabled}};
  });
}

void DispatchProbe::claimed(std::int64_t endpoint, const ClaimResult& result) {
  const std::string id = std::to_string(endpoint);
  for (const auto& a : result.attempts) {
    kAttempts
        .counter(registry_,
                 {{"endpoint", id}, {"outcome", std::string(kVerdictLabels.name(a.verdict))}})
        .inc();
    m_.request_seconds.observe(a.seconds);
    if (a.verdict == Verdict::kDelivered) m_.commit_to_delivery_seconds.observe(a.since_commit_s);
  }
  if (result.lease_lost) m_.lease_lost.inc();
  if (result.paced) m_.paced.inc();
  if (!result.auto_disabled.empty()) auto_disabled(registry_, id).inc();
  if (result.continued > 0) m_.continued.inc(result.continued);
}

void DispatchProbe::request_cut_to(std::int64_t endpoint) {
  kBatchRequestsCut.counter(registry_, {{"endpoint", std::to_string(endpoint)}}).inc();
}

void DispatchProbe::queue_error() {
  m_.queue_errors.inc();
}

void DispatchProbe::stats(const QueueStats& stats) {
  for (const auto& e : stats.endpoints) auto_disabled(registry_, std::to_string(e.id));
  std::lock_guard lock(mutex_);
  last_ = stats;
}

}  // namespace millrace::webhooks::detail
