#include "probe.hpp"

namespace millrace::changefeed {

FeedProbe::FeedProbe(metrics::Registry& r)
    : transactions_(r.counter("millrace_changefeed_transactions_total",
                              "Committed PostgreSQL transactions read from the slot")),
      skipped_(r.counter("millrace_changefeed_skipped_transactions_total",
                         "Transactions read again after a restart and not published again "
                         "(at or before the checkpoint)")),
      changes_(r.counter("millrace_changefeed_changes_published_total",
                         "Row changes published to the changes topic")),
      batches_(
          r.counter("millrace_changefeed_batches_total",
                    "Kafka transactions committed (each holds whole PostgreSQL transactions)")),
      restarts_retryable_(r.counter("millrace_changefeed_restarts_total",
                                    "Sessions ended by a retryable failure and started again")),
      failures_fatal_(r.counter("millrace_changefeed_fatal_failures_total",
                                "Sessions ended by a failure that stops the feed")),
      snapshots_(r.counter("millrace_changefeed_snapshots_total",
                           "Initial snapshots started: a backfill of every published table asked "
                           "for, and the first checkpoint published (their rows then count in "
                           "millrace_changefeed_backfill_rows_total)")),
      slots_lost_(r.counter("millrace_changefeed_slots_lost_total",
                            "Replication slots found invalidated or gone after changes were "
                            "published from them, and replaced (--on-slot-lost=backfill): each "
                            "left a gap, published as op g records, that backfills fill")),
      backfill_running_(r.gauge("millrace_changefeed_backfill_running",
                                "The id of the backfill running (its row in the signal table), 0 "
                                "when none runs")),
      backfills_enabled_(r.gauge(
          "millrace_changefeed_backfills_enabled",
          "1 while the feed serves backfill requests; 0 while they wait for ever: its role may "
          "not read and update the signal table, or PostgreSQL is older than 14 (the feed's "
          "log, and `millrace changefeed backfills`, say which)")),
      backfill_rows_(r.counter("millrace_changefeed_backfill_rows_total",
                               "Rows backfills read and queued for publishing, each in its "
                               "chunk's place in the stream")),
      backfill_rereads_(r.counter("millrace_changefeed_backfill_rereads_total",
                                  "Backfill chunks read again: a transaction the chunk's "
                                  "snapshot did not see changed more rows of the table than "
                                  "the feed keeps track of")),
      backfill_superseded_(r.counter("millrace_changefeed_backfill_rows_superseded_total",
                                     "Rows left out of a backfill chunk because a change the "
                                     "chunk's snapshot did not see was streamed in its window")),
      up_(r.gauge("millrace_changefeed_up", "1 while the feed streams from its slot")),
      confirmed_(r.gauge("millrace_changefeed_confirmed_lsn",
                         "The slot's flush position the feed last confirmed, as a WAL byte "
                         "position")),
      server_wal_end_(r.gauge("millrace_changefeed_server_wal_end_lsn",
                              "The server's WAL end the feed last heard of")),
      lag_bytes_(r.gauge("millrace_changefeed_slot_lag_bytes",
                         "WAL the slot holds that the feed has not confirmed: the server's WAL "
                         "end minus the confirmed position")),
      lag_seconds_(r.gauge("millrace_changefeed_slot_lag_seconds",
                           "How long the confirmed position has been behind the server's WAL "
                           "end (0 when caught up)")),
      last_commit_time_(r.gauge("millrace_changefeed_last_commit_timestamp_seconds",
                                "Commit time of the last published transaction (Unix seconds)")) {}

void FeedProbe::session_started() {
  last_ = FeedStats{};
}

void FeedProbe::session_failed(bool retryable) {
  (retryable ? restarts_retryable_ : failures_fatal_).inc();
  up_.set(0);
  backfill_running_.set(0);
  backfills_enabled_.set(0);
}

void FeedProbe::backfill(const Backfiller& b) {
  if (backfill_of_ != &b) {  // a new session's
    backfill_of_ = &b;
    backfill_last_ = BackfillStats{};
  }
  const auto& s = b.stats();
  backfill_rows_.inc(static_cast<double>(s.rows - backfill_last_.rows));
  backfill_rereads_.inc(static_cast<double>(s.rereads - backfill_last_.rereads));
  backfill_superseded_.inc(static_cast<double>(s.superseded - backfill_last_.superseded));
  backfill_last_ = s;
  backfill_running_.set(static_cast<double>(b.running().value_or(0)));
}

void FeedProbe::observe(const FeedStats& s) {
  transactions_.inc(static_cast<double>(s.transactions - last_.transactions));
  skipped_.inc(static_cast<double>(s.skipped_transactions - last_.skipped_transactions));
  changes_.inc(static_cast<double>(s.changes - last_.changes));
  batches_.inc(static_cast<double>(s.batches - last_.batches));
  last_ = s;
  confirmed_.set(static_cast<double>(s.confirmed));
  server_wal_end_.set(static_cast<double>(s.server_wal_end));
  const auto now = std::chrono::steady_clock::now();
  const bool behind = s.server_wal_end > s.confirmed;
  lag_bytes_.set(behind ? static_cast<double>(s.server_wal_end - s.confirmed) : 0.0);
  if (!behind) caught_up_at_ = now;
  lag_seconds_.set(std::chrono::duration<double>(now - caught_up_at_).count());
  if (s.last_commit_time_pg_us != 0) {
    last_commit_time_.set(static_cast<double>(unix_us_from_pg(s.last_commit_time_pg_us)) / 1e6);
  }
}

}  // namespace millrace::changefeed
