#pragma once

// The metric families of the probe that do not need labels, registered
// in this order (the order a scrape lists the families of a type in).

#include "millrace/metrics/metrics.hpp"

namespace millrace::changefeed {

struct FeedMetrics {
  explicit FeedMetrics(metrics::Registry& registry)
      : transactions(registry.counter("millrace_changefeed_transactions_total",
                                      "Committed PostgreSQL transactions read from the slot")),
        skipped(registry.counter("millrace_changefeed_skipped_transactions_total",
                                 "Transactions read again after a restart and not published again "
                                 "(at or before the checkpoint)")),
        changes(registry.counter("millrace_changefeed_changes_published_total",
                                 "Row changes published to the changes topic")),
        batches(registry.counter(
            "millrace_changefeed_batches_total",
            "Kafka transactions committed (each holds whole PostgreSQL transactions)")),
        restarts_retryable(
            registry.counter("millrace_changefeed_restarts_total",
                             "Sessions ended by a retryable failure and started again")),
        failures_fatal(registry.counter("millrace_changefeed_fatal_failures_total",
                                        "Sessions ended by a failure that stops the feed")),
        snapshots(registry.counter("millrace_changefeed_snapshots_total",
                                   "Initial snapshots started: a backfill of every published table "
                                   "asked for, and the first checkpoint published (their rows then "
                                   "count in millrace_changefeed_backfill_rows_total)")),
        slots_lost(
            registry.counter("millrace_changefeed_slots_lost_total",
                             "Replication slots found invalidated or gone after changes were "
                             "published from them, and replaced (--on-slot-lost=backfill): each "
                             "left a gap, published as op g records, that backfills fill")),
        backfill_running(registry.gauge(
            "millrace_changefeed_backfill_running",
            "The id of the backfill running (its row in the signal table), 0 when none runs")),
        backfills_enabled(registry.gauge(
            "millrace_changefeed_backfills_enabled",
            "1 while the feed serves backfill requests; 0 while they wait for ever: its role may "
            "not read and update the signal table, or PostgreSQL is older than 14 (the feed's log, "
            "and `millrace changefeed backfills`, say which)")),
        backfill_rows(registry.counter("millrace_changefeed_backfill_rows_total",
                                       "Rows backfills read and queued for publishing, each in its "
                                       "chunk's place in the stream")),
        backfill_rereads(registry.counter(
            "millrace_changefeed_backfill_rereads_total",
            "Backfill chunks read again: a transaction the chunk's snapshot did not see changed "
            "more rows of the table than the feed keeps track of")),
        backfill_superseded(
            registry.counter("millrace_changefeed_backfill_rows_superseded_total",
                             "Rows left out of a backfill chunk because a change the chunk's "
                             "snapshot did not see was streamed in its window")),
        up(registry.gauge("millrace_changefeed_up", "1 while the feed streams from its slot")),
        confirmed(registry.gauge(
            "millrace_changefeed_confirmed_lsn",
            "The slot's flush position the feed last confirmed, as a WAL byte position")),
        server_wal_end(registry.gauge("millrace_changefeed_server_wal_end_lsn",
                                      "The server's WAL end the feed last heard of")),
        lag_bytes(registry.gauge("millrace_changefeed_slot_lag_bytes",
                                 "WAL the slot holds that the feed has not confirmed: the server's "
                                 "WAL end minus the confirmed position")),
        lag_seconds(registry.gauge("millrace_changefeed_slot_lag_seconds",
                                   "How long the confirmed position has been behind the server's "
                                   "WAL end (0 when caught up)")),
        last_commit_time(
            registry.gauge("millrace_changefeed_last_commit_timestamp_seconds",
                           "Commit time of the last published transaction (Unix seconds)")) {}

  metrics::Counter transactions;
  metrics::Counter skipped;
  metrics::Counter changes;
  metrics::Counter batches;
  metrics::Counter restarts_retryable;
  metrics::Counter failures_fatal;
  metrics::Counter snapshots;
  metrics::Counter slots_lost;
  metrics::Gauge backfill_running;
  metrics::Gauge backfills_enabled;
  metrics::Counter backfill_rows;
  metrics::Counter backfill_rereads;
  metrics::Counter backfill_superseded;
  metrics::Gauge up;
  metrics::Gauge confirmed;
  metrics::Gauge server_wal_end;
  metrics::Gauge lag_bytes;
  metrics::Gauge lag_seconds;
  metrics::Gauge last_commit_time;
};

}  // namespace millrace::changefeed
