#pragma once

// The webhooks' metric families (metrics/family.hpp), in the order of their
// table in docs/operations.md, and the probe's handles of those without
// labels, registered in the order a scrape lists the families of a type in.

#include "millrace/metrics/family.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::webhooks::detail {

inline const metrics::Family kAttempts(
    {.name = "millrace_webhooks_attempts_total",
     .type = metrics::Type::kCounter,
     .help = "Webhook requests, by endpoint and what came of them (outcome: "
             "`delivered`, `retry`, `failed` or `disabled`)",
     .labels = {"endpoint", "outcome"},
     .group = "webhooks"});
inline const metrics::Family kRequestSeconds(
    {.name = "millrace_webhooks_request_duration_seconds",
     .type = metrics::Type::kHistogram,
     .help = "Duration of webhook requests, answered or not",
     .buckets = metrics::latency_buckets(),
     .group = "webhooks"});
inline const metrics::Family kCommitToDeliverySeconds(
    {.name = "millrace_webhooks_commit_to_delivery_seconds",
     .type = metrics::Type::kHistogram,
     .help = "From a change's commit in PostgreSQL to its webhook's 2xx answer",
     .buckets = metrics::latency_buckets(),
     .group = "webhooks"});
inline const metrics::Family kPendingDeliveries(
    {.name = "millrace_webhooks_pending",
     .type = metrics::Type::kGauge,
     .help = "Deliveries waiting, per endpoint (state: `active` or `disabled`)",
     .labels = {"endpoint", "state"},
     .group = "webhooks"});
inline const metrics::Family kFailedDeliveries(
    {.name = "millrace_webhooks_failed",
     .type = metrics::Type::kGauge,
     .help = "Deliveries that used up the retry schedule, per endpoint (millrace "
             "webhooks deliveries --failed; replay to send them again)",
     .labels = {"endpoint", "state"},
     .group = "webhooks"});
inline const metrics::Family kOldestPendingAge(
    {.name = "millrace_webhooks_oldest_pending_age_seconds",
     .type = metrics::Type::kGauge,
     .help = "Age of the oldest waiting delivery, per endpoint (0 with none)",
     .labels = {"endpoint", "state"},
     .group = "webhooks"});
inline const metrics::Family kFilteredChanges(
    {.name = "millrace_webhooks_filtered_changes",
     .type = metrics::Type::kGauge,
     .help = "Changes read that an endpoint's filters (tables, operations, Event "
             "Grid filter) left out, per endpoint, since it was registered (from the "
             "database: the same on every replica)",
     .labels = {"endpoint", "state"},
     .group = "webhooks"});
inline const metrics::Family kFailingSeconds(
    {.name = "millrace_webhooks_failing_seconds",
     .type = metrics::Type::kGauge,
     .help = "How long an endpoint has been failing: since its first failed attempt "
             "after its last delivery (0: not failing); it is disabled once this "
             "passes its disable_after",
     .labels = {"endpoint", "state"},
     .group = "webhooks"});
inline const metrics::Family kAutoDisabled(
    {.name = "millrace_webhooks_auto_disabled_total",
     .type = metrics::Type::kCounter,
     .help = "Times an endpoint was disabled for having failed longer than its "
             "disable_after",
     .labels = {"endpoint"},
     .group = "webhooks"});
inline const metrics::Family kClaimsPaced(
    {.name = "millrace_webhooks_claims_paced_total",
     .type = metrics::Type::kCounter,
     .help = "Claims that gave an endpoint's queue up until its rate limit let the "
             "next delivery go",
     .group = "webhooks"});
inline const metrics::Family kEndpoints(
    {.name = "millrace_webhooks_endpoints",
     .type = metrics::Type::kGauge,
     .help = "Registered endpoints, by state (`active` or `disabled`)",
     .labels = {"state"},
     .group = "webhooks"});
inline const metrics::Family kClaims(
    {.name = "millrace_webhooks_claims_total",
     .type = metrics::Type::kCounter,
     .help = "Claims of an endpoint's queue tried, by whether one was found (yes) or "
             "none was free with due deliveries (no)",
     .labels = {"found"},
     .group = "webhooks"});
inline const metrics::Family kClaimsContinued(
    {.name = "millrace_webhooks_claims_continued_total",
     .type = metrics::Type::kCounter,
     .help = "Times a worker kept a busy endpoint's queue: storing its deliveries "
             "read the next ones, instead of a new claim",
     .group = "webhooks"});
inline const metrics::Family kBatchRequests(
    {.name = "millrace_webhooks_batch_requests_total",
     .type = metrics::Type::kCounter,
     .help = "Webhook requests the change topic's consumer made itself, in its batches' "
             "transactions (MILLRACE_WEBHOOKS_DIRECT_MS; also in attempts_total)",
     .group = "webhooks"});
inline const metrics::Family kBatchBudgetSpent(
    {.name = "millrace_webhooks_batch_budget_spent_total",
     .type = metrics::Type::kCounter,
     .help = "Times an endpoint used up a batch's budget for its requests, and went "
             "through the workers for 30 s",
     .group = "webhooks"});
inline const metrics::Family kBatchRequestsCut(
    {.name = "millrace_webhooks_batch_requests_cut_total",
     .type = metrics::Type::kCounter,
     .help = "Requests the change topic's consumer made itself that outlasted its batch's "
             "budget and were cut, by endpoint: not attempts; the workers send each again, "
             "so its receiver may get it twice (as after any timeout)",
     .labels = {"endpoint"},
     .group = "webhooks"});
inline const metrics::Family kLeaseLost(
    {.name = "millrace_webhooks_lease_lost_total",
     .type = metrics::Type::kCounter,
     .help = "Claims given up because another worker took the endpoint's queue (this "
             "worker stalled past its lease)",
     .group = "webhooks"});
inline const metrics::Family kQueueErrors(
    {.name = "millrace_webhooks_queue_errors_total",
     .type = metrics::Type::kCounter,
     .help = "Failures reading or writing the delivery queue in PostgreSQL (each "
             "retried)",
     .group = "webhooks"});
inline const metrics::Family kWakeups(
    {.name = "millrace_webhooks_wakeups_total",
     .type = metrics::Type::kCounter,
     .help = "Notifications that deliveries were enqueued by another replica (each "
             "wakes an idle worker, which wakes another when its claim saw a second "
             "endpoint free)",
     .group = "webhooks"});
inline const metrics::Family kCommitWakeups(
    {.name = "millrace_webhooks_commit_wakeups_total",
     .type = metrics::Type::kCounter,
     .help = "Batches of this replica's own consumer that woke its idle workers as "
             "they committed (in memory, not by the notification)",
     .group = "webhooks"});
inline const metrics::Family kWakeupListening(
    {.name = "millrace_webhooks_wakeup_listening",
     .type = metrics::Type::kGauge,
     .help = "1 while the wake-up listener is connected; at 0 new deliveries wait "
             "for the next poll (MILLRACE_WEBHOOKS_POLL_MS, 1 s)",
     .group = "webhooks"});
inline const metrics::Family kListenerLost(
    {.name = "millrace_webhooks_wakeup_listener_lost_total",
     .type = metrics::Type::kCounter,
     .help = "Times the wake-up listener lost its connection (it reconnects with "
             "backoff, and then wakes the workers once)",
     .group = "webhooks"});

struct DispatchMetrics {
  explicit DispatchMetrics(metrics::Registry& registry)
      : request_seconds(kRequestSeconds.histogram(registry)),
        commit_to_delivery_seconds(kCommitToDeliverySeconds.histogram(registry)),
        lease_lost(kLeaseLost.counter(registry)),
        continued(kClaimsContinued.counter(registry)),
        queue_errors(kQueueErrors.counter(registry)),
        wakeups(kWakeups.counter(registry)),
        commit_wakeups(kCommitWakeups.counter(registry)),
        listener_lost(kListenerLost.counter(registry)),
        paced(kClaimsPaced.counter(registry)),
        batch_requests(kBatchRequests.counter(registry)),
        batch_budget_spent(kBatchBudgetSpent.counter(registry)),
        listening(kWakeupListening.gauge(registry)) {}

  metrics::Histogram request_seconds;
  metrics::Histogram commit_to_delivery_seconds;
  metrics::Counter lease_lost;
  metrics::Counter continued;
  metrics::Counter queue_errors;
  metrics::Counter wakeups;
  metrics::Counter commit_wakeups;
  metrics::Counter listener_lost;
  metrics::Counter paced;
  metrics::Counter batch_requests;
  metrics::Counter batch_budget_spent;
  metrics::Gauge listening;
};

}  // namespace millrace::webhooks::detail
