#pragma once

// The delivery side's metrics, kept apart from its logic. The change
// topic's consumer reports through the stream consumer's own metrics
// (records read, and their outcomes: persisted = enqueued for at least one
// endpoint, filtered = matched none).

#include <mutex>

#include "dispatch.hpp"
#include "dispatch_metrics.hpp"
#include "millrace/metrics/metrics.hpp"
#include "queue.hpp"

namespace millrace::webhooks::detail {

class DispatchProbe {
 public:
  explicit DispatchProbe(metrics::Registry& registry);

  // A claim was tried: it found an endpoint to take, or none.
  void looked(bool found) { (found ? claims_found_ : claims_empty_).inc(); }
  void claimed(std::int64_t endpoint, const ClaimResult& result);
  // The consumer's own requests to an endpoint in a batch (direct.hpp),
  // whether they used the batch's budget up, and whether it cut one.
  void sent_from_batch(std::int64_t endpoint, const ClaimResult& result, bool budget_spent,
                       bool request_cut) {
    claimed(endpoint, result);
    m_.batch_requests.inc(static_cast<double>(result.attempts.size()));
    if (budget_spent) m_.batch_budget_spent.inc();
    if (request_cut) request_cut_to(endpoint);
  }
  void queue_error();
  void stats(const QueueStats& stats);
  // The wake-up listener: connected, lost (it reconnects), stopped, and
  // each wake-up it passed on.
  void listening(bool up) { m_.listening.set(up ? 1 : 0); }
  void listener_lost() {
    m_.listening.set(0);
    m_.listener_lost.inc();
  }
  void woken() { m_.wakeups.inc(); }
  // Its own consumer's batch committed a wake-up (wakeup.hpp, LocalWake).
  void woken_by_commit() { m_.commit_wakeups.inc(); }

 private:
  void request_cut_to(std::int64_t endpoint);

  metrics::Registry& registry_;
  // Registered before m_, as they always were: a scrape lists the families
  // of a type in the order they were registered.
  metrics::Counter claims_found_, claims_empty_;
  DispatchMetrics m_;  // dispatch_metrics.hpp
  std::mutex mutex_;
  QueueStats last_;  // under mutex_, read by the computed gauges at scrape
};

}  // namespace millrace::webhooks::detail
