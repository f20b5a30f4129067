#pragma once

// The change feed's metric families (metrics/family.hpp), in the order of
// its table in docs/operations.md, and the probe's handles of them,
// registered in the order a scrape lists the families of a type in.

#include "millrace/metrics/family.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::changefeed {

inline const metrics::Family kUp({.name = "millrace_changefeed_up",
                                  .type = metrics::Type::kGauge,
                                  .help = "1 while the feed streams from its slot",
                                  .group = "changefeed"});
inline const metrics::Family kTransactions(
    {.name = "millrace_changefeed_transactions_total",
     .type = metrics::Type::kCounter,
     .help = "Committed PostgreSQL transactions read from the slot",
     .group = "changefeed"});
inline const metrics::Family kSkipped(
    {.name = "millrace_changefeed_skipped_transactions_total",
     .type = metrics::Type::kCounter,
     .help = "Transactions read again after a restart and not published again (at or "
             "before the checkpoint)",
     .group = "changefeed"});
inline const metrics::Family kChanges({.name = "millrace_changefeed_changes_published_total",
                                       .type = metrics::Type::kCounter,
                                       .help = "Row changes published to the changes topic",
                                       .group = "changefeed"});
inline const metrics::Family kBatches(
    {.name = "millrace_changefeed_batches_total",
     .type = metrics::Type::kCounter,
     .help = "Kafka transactions committed (each holds whole PostgreSQL transactions)",
     .group = "changefeed"});
inline const metrics::Family kRestartsRetryable(
    {.name = "millrace_changefeed_restarts_total",
     .type = metrics::Type::kCounter,
     .help = "Sessions ended by a retryable failure and started again",
     .group = "changefeed"});
inline const metrics::Family kFailuresFatal(
    {.name = "millrace_changefeed_fatal_failures_total",
     .type = metrics::Type::kCounter,
     .help = "Sessions ended by a failure that stops the feed",
     .group = "changefeed"});
inline const metrics::Family kSnapshots(
    {.name = "millrace_changefeed_snapshots_total",
     .type = metrics::Type::kCounter,
     .help = "Initial snapshots started: a backfill of every published table asked for, "
             "and the first checkpoint published (their rows then count in "
             "millrace_changefeed_backfill_rows_total)",
     .group = "changefeed"});
inline const metrics::Family kSlotsLost(
    {.name = "millrace_changefeed_slots_lost_total",
     .type = metrics::Type::kCounter,
     .help = "Replication slots found invalidated or gone after changes were published "
             "from them, and replaced (--on-slot-lost=backfill): each left a gap, "
             "published as op g records, that backfills fill",
     .group = "changefeed"});
inline const metrics::Family kBackfillsEnabled(
    {.name = "millrace_changefeed_backfills_enabled",
     .type = metrics::Type::kGauge,
     .help = "1 while the feed serves backfill requests; 0 while they would wait for "
             "ever: its role may not read and update the signal table, or PostgreSQL is "
             "older than 14 (the feed's log and `millrace changefeed backfills` say "
             "which, with the fix)",
     .group = "changefeed"});
inline const metrics::Family kBackfillRunning(
    {.name = "millrace_changefeed_backfill_running",
     .type = metrics::Type::kGauge,
     .help = "The id of the backfill running (its row in the signal table), 0 when none "
             "runs",
     .group = "changefeed"});
inline const metrics::Family kBackfillRows(
    {.name = "millrace_changefeed_backfill_rows_total",
     .type = metrics::Type::kCounter,
     .help = "Rows backfills read and queued for publishing, each in its chunk's place "
             "in the stream",
     .group = "changefeed"});
inline const metrics::Family kBackfillRereads(
    {.name = "millrace_changefeed_backfill_rereads_total",
     .type = metrics::Type::kCounter,
     .help = "Backfill chunks read again: a transaction the chunk's snapshot did not see "
             "changed more rows of the table than the feed keeps track of",
     .group = "changefeed"});
inline const metrics::Family kBackfillSuperseded(
    {.name = "millrace_changefeed_backfill_rows_superseded_total",
     .type = metrics::Type::kCounter,
     .help = "Rows left out of a backfill chunk because a change the chunk's snapshot "
             "did not see was streamed in its window",
     .group = "changefeed"});
inline const metrics::Family kConfirmed(
    {.name = "millrace_changefeed_confirmed_lsn",
     .type = metrics::Type::kGauge,
     .help = "The slot's flush position the feed last confirmed, as a WAL byte position",
     .group = "changefeed"});
inline const metrics::Family kServerWalEnd({.name = "millrace_changefeed_server_wal_end_lsn",
                                            .type = metrics::Type::kGauge,
                                            .help = "The server's WAL end the feed last heard of",
                                            .group = "changefeed"});
inline const metrics::Family kLagBytes(
    {.name = "millrace_changefeed_slot_lag_bytes",
     .type = metrics::Type::kGauge,
     .help = "WAL the slot holds that the feed has not confirmed: the server's WAL end "
             "minus the confirmed position",
     .group = "changefeed"});
inline const metrics::Family kLagSeconds(
    {.name = "millrace_changefeed_slot_lag_seconds",
     .type = metrics::Type::kGauge,
     .help = "How long the confirmed position has been behind the server's WAL end (0 "
             "when caught up)",
     .group = "changefeed"});
inline const metrics::Family kLastCommitTime(
    {.name = "millrace_changefeed_last_commit_timestamp_seconds",
     .type = metrics::Type::kGauge,
     .help = "Commit time of the last published transaction (Unix seconds)",
     .group = "changefeed"});

inline const metrics::Family kOutboxEvents(
    {.name = "millrace_changefeed_outbox_events_total",
     .type = metrics::Type::kCounter,
     .help = "Outbox format: rows inserted into an outbox table and published as events (as "
             "encoded: a publish that failed is encoded again)",
     .group = "changefeed"});
inline const metrics::Family kOutboxIgnored(
    {.name = "millrace_changefeed_outbox_ignored_total",
     .type = metrics::Type::kCounter,
     .help = "Outbox format: deletes, updates and truncates of an outbox table, which are no "
             "events, by op",
     .labels = {"op"},
     .group = "changefeed"});
inline const metrics::Family kOutboxDeadLetters(
    {.name = "millrace_changefeed_outbox_dead_letters_total",
     .type = metrics::Type::kCounter,
     .help = "Outbox format: rows dead-lettered to the feed's topic, by reason "
             "(millrace.outbox.reason)",
     .labels = {"reason"},
     .group = "changefeed"});

struct FeedMetrics {
  explicit FeedMetrics(metrics::Registry& registry)
      : transactions(kTransactions.counter(registry)),
        skipped(kSkipped.counter(registry)),
        changes(kChanges.counter(registry)),
        batches(kBatches.counter(registry)),
        restarts_retryable(kRestartsRetryable.counter(registry)),
        failures_fatal(kFailuresFatal.counter(registry)),
        snapshots(kSnapshots.counter(registry)),
        slots_lost(kSlotsLost.counter(registry)),
        backfill_running(kBackfillRunning.gauge(registry)),
        backfills_enabled(kBackfillsEnabled.gauge(registry)),
        backfill_rows(kBackfillRows.counter(registry)),
        backfill_rereads(kBackfillRereads.counter(registry)),
        backfill_superseded(kBackfillSuperseded.counter(registry)),
        up(kUp.gauge(registry)),
        confirmed(kConfirmed.gauge(registry)),
        server_wal_end(kServerWalEnd.gauge(registry)),
        lag_bytes(kLagBytes.gauge(registry)),
        lag_seconds(kLagSeconds.gauge(registry)),
        last_commit_time(kLastCommitTime.gauge(registry)) {}

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
