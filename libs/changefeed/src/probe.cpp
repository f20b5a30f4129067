#include "probe.hpp"

namespace millrace::changefeed {

FeedProbe::FeedProbe(metrics::Registry& registry)
    : m_(registry),
      outbox_events_(kOutboxEvents.counter(registry)),
      outbox_ignored_{kOutboxIgnored.counter(registry, {{"op", "delete"}}),
                      kOutboxIgnored.counter(registry, {{"op", "update"}}),
                      kOutboxIgnored.counter(registry, {{"op", "truncate"}})} {
  for (std::size_t i = 0; i < outbox::kReasonCount; ++i) {
    const auto code = outbox::reason_code(static_cast<outbox::Reason>(i));
    outbox_dead_letters_.push_back(
        kOutboxDeadLetters.counter(registry, {{"reason", std::string(code)}}));
  }
}

void FeedProbe::outbox(const outbox::Counts& c) {
  const auto move = [&](metrics::Counter& counter, std::size_t i, std::uint64_t now) {
    counter.inc(static_cast<double>(now - outbox_last_[i]));
    outbox_last_[i] = now;
  };
  move(outbox_events_, 0, c.events.load());
  move(outbox_ignored_[0], 1, c.deletes_ignored.load());
  move(outbox_ignored_[1], 2, c.updates_ignored.load());
  move(outbox_ignored_[2], 3, c.truncates_ignored.load());
  for (std::size_t i = 0; i < outbox::kReasonCount; ++i) {
    move(outbox_dead_letters_[i], 4 + i, c.dead_letters[i].load());
  }
}

void FeedProbe::session_started() {
  last_ = FeedStats{};
}

void FeedProbe::session_failed(bool retryable) {
  (retryable ? m_.restarts_retryable : m_.failures_fatal).inc();
  m_.up.set(0);
  m_.backfill_running.set(0);
  m_.backfills_enabled.set(0);
}

void FeedProbe::backfill(const Backfiller& b) {
  if (backfill_of_ != &b) {  // a new session's
    backfill_of_ = &b;
    backfill_last_ = BackfillStats{};
  }
  const auto& s = b.stats();
  m_.backfill_rows.inc(static_cast<double>(s.rows - backfill_last_.rows));
  m_.backfill_rereads.inc(static_cast<double>(s.rereads - backfill_last_.rereads));
  m_.backfill_superseded.inc(static_cast<double>(s.superseded - backfill_last_.superseded));
  backfill_last_ = s;
  m_.backfill_running.set(static_cast<double>(b.running().value_or(0)));
}

void FeedProbe::observe(const FeedStats& s) {
  m_.transactions.inc(static_cast<double>(s.transactions - last_.transactions));
  m_.skipped.inc(static_cast<double>(s.skipped_transactions - last_.skipped_transactions));
  m_.changes.inc(static_cast<double>(s.changes - last_.changes));
  m_.batches.inc(static_cast<double>(s.batches - last_.batches));
  last_ = s;
  m_.confirmed.set(static_cast<double>(s.confirmed));
  m_.server_wal_end.set(static_cast<double>(s.server_wal_end));
  const auto now = std::chrono::steady_clock::now();
  const bool behind = s.server_wal_end > s.confirmed;
  m_.lag_bytes.set(behind ? static_cast<double>(s.server_wal_end - s.confirmed) : 0.0);
  if (!behind) caught_up_at_ = now;
  m_.lag_seconds.set(std::chrono::duration<double>(now - caught_up_at_).count());
  if (s.last_commit_time_pg_us != 0) {
    m_.last_commit_time.set(static_cast<double>(unix_us_from_pg(s.last_commit_time_pg_us)) / 1e6);
  }
}

}  // namespace millrace::changefeed
