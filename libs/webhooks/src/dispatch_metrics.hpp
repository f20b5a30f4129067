#pragma once

// The metric families of the probe that do not need labels, registered
// in this order (the order a scrape lists the families of a type in).

#include "millrace/metrics/metrics.hpp"

namespace millrace::webhooks::detail {

struct DispatchMetrics {
  explicit DispatchMetrics(metrics::Registry& registry)
      : request_seconds(registry.histogram("millrace_webhooks_request_duration_seconds",
                                           "Duration of webhook requests, answered or not",
                                           metrics::latency_buckets())),
        commit_to_delivery_seconds(
            registry.histogram("millrace_webhooks_commit_to_delivery_seconds",
                               "From a change's commit in PostgreSQL to its webhook's 2xx answer",
                               metrics::latency_buckets())),
        lease_lost(registry.counter("millrace_webhooks_lease_lost_total",
                                    "Claims given up because another worker took the endpoint's "
                                    "queue (this worker stalled past its lease)")),
        continued(registry.counter("millrace_webhooks_claims_continued_total",
                                   "Times a worker kept a busy endpoint's queue: storing its "
                                   "deliveries read the next ones, instead of a new claim")),
        queue_errors(registry.counter(
            "millrace_webhooks_queue_errors_total",
            "Failures reading or writing the delivery queue in PostgreSQL (each retried)")),
        wakeups(registry.counter("millrace_webhooks_wakeups_total",
                                 "Notifications that deliveries were enqueued, each waking the "
                                 "idle workers (not those of this replica's own consumer)")),
        commit_wakeups(registry.counter(
            "millrace_webhooks_commit_wakeups_total",
            "Batches of this replica's consumer that woke its idle workers as they committed")),
        listener_lost(registry.counter("millrace_webhooks_wakeup_listener_lost_total",
                                       "Times the wake-up listener lost its connection (it "
                                       "reconnects; meanwhile idle workers only poll)")),
        paced(registry.counter("millrace_webhooks_claims_paced_total",
                               "Claims that gave an endpoint's queue up until its rate limit let "
                               "the next delivery go")),
        listening(
            registry.gauge("millrace_webhooks_wakeup_listening",
                           "1 while the wake-up listener is connected (0: workers only poll)")) {}

  metrics::Histogram request_seconds;
  metrics::Histogram commit_to_delivery_seconds;
  metrics::Counter lease_lost;
  metrics::Counter continued;
  metrics::Counter queue_errors;
  metrics::Counter wakeups;
  metrics::Counter commit_wakeups;
  metrics::Counter listener_lost;
  metrics::Counter paced;
  metrics::Gauge listening;
};

}  // namespace millrace::webhooks::detail
