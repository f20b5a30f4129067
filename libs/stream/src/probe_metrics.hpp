#pragma once

// The stream consumer's metric families (metrics/family.hpp), in the order
// of their tables in docs/operations.md: the accounting (consumed equals
// the sum of outcomes per partition at every scrape), then the progress.

#include "millrace/metrics/family.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::stream {

inline const metrics::Family kRecordsConsumed({.name = "millrace_records_consumed_total",
                                               .type = metrics::Type::kCounter,
                                               .help = "Records consumed and committed",
                                               .labels = {"topic", "partition"},
                                               .group = "accounting"});
inline const metrics::Family kRecordsOutcome(
    {.name = "millrace_records_outcome_total",
     .type = metrics::Type::kCounter,
     .help = "What became of the records consumed: `persisted`, `filtered`, `rejected`, `late`, "
             "`duplicate` or `expired`, with the reason (filter, validation failure "
             "such as `missing_field`, `late`/`future`, `duplicate_id`, `retention`; "
             "the aggregator's `persisted` with `id_reused` for an event reusing a "
             "counted id with another time)",
     .labels = {"topic", "partition", "outcome", "reason"},
     .group = "accounting"});
inline const metrics::Family kConsumerLag(
    {.name = "millrace_consumer_lag_records",
     .type = metrics::Type::kGauge,
     .help = "End offset minus the committed position (from PostgreSQL), per "
             "partition assigned to this member; on a transactional topic (the "
             "change feed's), 0 once every record read is committed, although the "
             "log ends with a transaction's marker that no record stands for",
     .labels = {"topic", "partition"},
     .group = "progress"});
inline const metrics::Family kConsumerFreshness(
    {.name = "millrace_consumer_freshness_seconds",
     .type = metrics::Type::kGauge,
     .help = "Age of the newest committed record (now minus its Kafka timestamp), "
             "per partition",
     .labels = {"topic", "partition"},
     .group = "progress"});
inline const metrics::Family kSinceLastCommit(
    {.name = "millrace_seconds_since_last_commit",
     .type = metrics::Type::kGauge,
     .help = "Seconds since this member last committed a batch (since start if "
             "never)",
     .group = "progress"});
inline const metrics::Family kBatchRecords({.name = "millrace_batch_records",
                                            .type = metrics::Type::kHistogram,
                                            .help = "Records per committed batch",
                                            .buckets = metrics::size_buckets(),
                                            .group = "progress"});
inline const metrics::Family kBatchCommitSeconds(
    {.name = "millrace_batch_commit_duration_seconds",
     .type = metrics::Type::kHistogram,
     .help = "Time to commit one batch (side effects and transaction)",
     .buckets = metrics::latency_buckets(),
     .group = "progress"});
inline const metrics::Family kPostgresErrors(
    {.name = "millrace_postgres_errors_total",
     .type = metrics::Type::kCounter,
     .help = "PostgreSQL (and dead-letter) failures by class: `retryable` (the batch "
             "is replayed), `poison`, `fatal`",
     .labels = {"class"},
     .group = "progress"});
inline const metrics::Family kCommitsFenced(
    {.name = "millrace_commits_fenced_total",
     .type = metrics::Type::kCounter,
     .help = "Commits refused because another member had moved an offset (a zombie "
             "was fenced)",
     .group = "progress"});
inline const metrics::Family kRebalances(
    {.name = "millrace_rebalances_total",
     .type = metrics::Type::kCounter,
     .help = "Partition assignments (`assign`) and revocations (`revoke`)",
     .labels = {"kind"},
     .group = "progress"});
inline const metrics::Family kAssignedPartitions({.name = "millrace_assigned_partitions",
                                                  .type = metrics::Type::kGauge,
                                                  .help = "Partitions assigned to this member",
                                                  .group = "progress"});
inline const metrics::Family kPartitionStalled(
    {.name = "millrace_partition_stalled_seconds",
     .type = metrics::Type::kGauge,
     .help = "Seconds an assigned partition has been behind its end offset without "
             "its committed position moving (0 when caught up or moving)",
     .labels = {"topic", "partition"},
     .group = "progress"});
inline const metrics::Family kPartitionHalted(
    {.name = "millrace_partition_halted",
     .type = metrics::Type::kGauge,
     .help = "1 for an assigned partition this member refuses to read, by reason: "
             "`offset_gap` (retention passed the stored offset) or `offset_ahead` "
             "(the stored offset is past the log end)",
     .labels = {"topic", "partition", "reason"},
     .group = "progress"});

}  // namespace millrace::stream
