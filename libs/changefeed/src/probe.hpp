#pragma once

// The change feed's metrics, kept apart from its logic.

#include <chrono>

#include "millrace/changefeed/backfill.hpp"
#include "millrace/changefeed/feed.hpp"
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
  void connected(bool up) { up_.set(up ? 1 : 0); }
  // An initial snapshot started: its backfills asked for.
  void snapshot_started() { snapshots_.inc(); }
  // A lost slot replaced (--on-slot-lost=backfill).
  void slot_lost() { slots_lost_.inc(); }
  // After each step: the backfill running, and its counters.
  void backfill(const Backfiller& backfiller);
  // After each step: whether this feed serves backfill requests (PostgreSQL
  // 14 or later, and its role may use the signal table).
  void backfills_enabled(bool on) { backfills_enabled_.set(on ? 1 : 0); }

 private:
  metrics::Counter transactions_, skipped_, changes_, batches_;
  metrics::Counter restarts_retryable_, failures_fatal_;
  metrics::Counter snapshots_;
  metrics::Counter slots_lost_;
  metrics::Gauge backfill_running_, backfills_enabled_;
  metrics::Counter backfill_rows_, backfill_rereads_, backfill_superseded_;
  BackfillStats backfill_last_{};
  const Backfiller* backfill_of_ = nullptr;
  metrics::Gauge up_, confirmed_, server_wal_end_, lag_bytes_, lag_seconds_, last_commit_time_;
  FeedStats last_{};
  std::chrono::steady_clock::time_point caught_up_at_ = std::chrono::steady_clock::now();
};

}  // namespace millrace::changefeed
