#include "probe.hpp"

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
  return registry.counter("millrace_webhooks_claims_total",
                          "Claims of an endpoint's queue tried, by whether one was found (yes) or "
                          "none was free with due deliveries (no)",
                          {{"found", found}});
}

// Per endpoint, from 0 as soon as the endpoint is known (stats()), so that
// the alert's increase() sees its first disabling.
metrics::Counter auto_disabled(metrics::Registry& registry, const std::string& endpoint) {
  return registry.counter("millrace_webhooks_auto_disabled_total",
                          "Times an endpoint was disabled for having failed longer than its "
                          "disable_after",
                          {{"endpoint", endpoint}});
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
  registry.computed_gauge("millrace_webhooks_pending",
                          "Deliveries waiting, per endpoint (state: active or disabled)",
                          per_endpoint(&QueueStats::Endpoint::pending));
  registry.computed_gauge("millrace_webhooks_failed",
                          "Deliveries that used up the retry schedule, per endpoint (millrace "
                          "webhooks deliveries --failed; replay to send them again)",
                          per_endpoint(&QueueStats::Endpoint::failed));
  registry.computed_gauge("millrace_webhooks_oldest_pending_age_seconds",
                          "Age of the oldest waiting delivery, per endpoint (0 with none)",
                          per_endpoint(&QueueStats::Endpoint::oldest_pending_s));
  registry.computed_gauge("millrace_webhooks_filtered_changes",
                          "Changes read that an endpoint's filters (tables, operations, Event "
                          "Grid filter) left out, per endpoint, since it was registered",
                          per_endpoint(&QueueStats::Endpoint::filtered));
  registry.computed_gauge("millrace_webhooks_failing_seconds",
                          "How long an endpoint has been failing: since its first failed attempt "
                          "after its last delivery (0: not failing); it is disabled once this "
                          "passes its disable_after",
                          per_endpoint(&QueueStats::Endpoint::failing_s));
  registry.computed_gauge("millrace_webhooks_endpoints", "Registered endpoints, by state", [this] {
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
    registry_
        .counter("millrace_webhooks_attempts_total",
                 "Webhook requests, by endpoint and what came of them",
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

void DispatchProbe::queue_error() {
  m_.queue_errors.inc();
}

void DispatchProbe::stats(const QueueStats& stats) {
  for (const auto& e : stats.endpoints) auto_disabled(registry_, std::to_string(e.id));
  std::lock_guard lock(mutex_);
  last_ = stats;
}

}  // namespace millrace::webhooks::detail
