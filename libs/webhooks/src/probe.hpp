#pragma once

// The delivery side's metrics, kept apart from its logic. The change
// topic's consumer reports through the stream consumer's own metrics
// (records read, and their outcomes: persisted = enqueued for at least one
// endpoint, filtered = matched none).

#include <mutex>

#include "dispatch.hpp"
#include "millrace/metrics/metrics.hpp"
#include "queue.hpp"

namespace millrace::webhooks::detail {

class DispatchProbe {
 public:
  explicit DispatchProbe(metrics::Registry& registry);

  // A claim was tried: it found an endpoint to take, or none.
  void looked(bool found) { (found ? claims_found_ : claims_empty_).inc(); }
  void claimed(std::int64_t endpoint, const ClaimResult& result);
  void queue_error();
  void stats(const QueueStats& stats);
  // The wake-up listener: connected, lost (it reconnects), stopped, and
  // each wake-up it passed on.
  void listening(bool up) { listening_.set(up ? 1 : 0); }
  void listener_lost() {
    listening_.set(0);
    listener_lost_.inc();
  }
  void woken() { wakeups_.inc(); }
  // Its own consumer's batch committed a wake-up (wakeup.hpp, LocalWake).
  void woken_by_commit() { commit_wakeups_.inc(); }

 private:
  metrics::Registry& registry_;
  metrics::Histogram request_seconds_, commit_to_delivery_seconds_;
  metrics::Counter claims_found_, claims_empty_, lease_lost_, continued_, queue_errors_, wakeups_,
      commit_wakeups_, listener_lost_, paced_;
  metrics::Gauge listening_;
  std::mutex mutex_;
  QueueStats last_;  // under mutex_, read by the computed gauges at scrape
};

}  // namespace millrace::webhooks::detail
