#pragma once

// The change feed's metrics, kept apart from its logic.

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "feed_metrics.hpp"
#include "millrace/changefeed/backfill.hpp"
#include "millrace/changefeed/feed.hpp"
#include "millrace/changefeed/outbox.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::changefeed {

class FeedProbe {
 public:
  explicit FeedProbe(metrics::Registry& registry);

  // After each step: counters move by what `stats` added since the last call
  // of this session (a new session starts from zero).
  void observe(const FeedStats& stats);
  void session_started();
  void session_failed(bool retryable);
  void connected(bool up) { m_.up.set(up ? 1 : 0); }
  // An initial snapshot started: its backfills asked for.
  void snapshot_started() { m_.snapshots.inc(); }
  // A lost slot replaced (--on-slot-lost=backfill).
  void slot_lost() { m_.slots_lost.inc(); }
  // After each step: the backfill running, and its counters.
  void backfill(const Backfiller& backfiller);
  // After each step: whether this feed serves backfill requests (PostgreSQL
  // 14 or later, and its role may use the signal table).
  void backfills_enabled(bool on) { m_.backfills_enabled.set(on ? 1 : 0); }
  // After each step: what the outbox format counted since the last call.
  // The counts live as long as the service, across sessions.
  void outbox(const outbox::Counts& counts);

 private:
  FeedMetrics m_;  // feed_metrics.hpp
  // The outbox format's, with the counts they last showed.
  metrics::Counter outbox_events_;
  std::array<metrics::Counter, 3> outbox_ignored_;     // delete, update, truncate
  std::vector<metrics::Counter> outbox_dead_letters_;  // by outbox::Reason
  std::array<std::uint64_t, 4 + outbox::kReasonCount> outbox_last_{};
  BackfillStats backfill_last_{};
  const Backfiller* backfill_of_ = nullptr;
  FeedStats last_{};
  std::chrono::steady_clock::time_point caught_up_at_ = std::chrono::steady_clock::now();
};

}  // namespace millrace::changefeed
