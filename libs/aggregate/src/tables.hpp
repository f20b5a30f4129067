#pragma once

// The aggregator's SQL: one function per table it reads or writes, all
// inside the batch's transaction. The steps that call them, and in which
// order, are AggregatorHandler::write_to() (handler.cpp), through
// BatchTables below.

#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "batch.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/core/window.hpp"
#include "millrace/pg/copy.hpp"

namespace millrace::aggregate::tables {

// Newest event time per partition of `topic` (aggregator_partitions).
using PartitionMax = std::map<std::int32_t, std::optional<core::TimestampUs>>;
PartitionMax read_partition_max(pqxx::work& tx, const std::string& topic);
// Raises each partition's newest event time to `max_ts`, for the partitions
// in `partitions` only.
void advance_partition_max(pqxx::work& tx, const std::string& topic, const PartitionMax& max_ts,
                           const std::set<std::int32_t>& partitions);

// The transaction's timestamp: one clock for the whole group.
core::TimestampUs database_now(pqxx::work& tx);

// refused_records; a replayed batch refuses the same records again: stored once.
void insert_refused(pqxx::work& tx, const std::string& group, const std::string& topic,
                    const std::vector<Refused>& refused);
// The same for any record: where it came from, why, and its payload.
struct RefusedRow {
  std::int32_t partition;
  std::int64_t offset;
  std::string_view sqlstate, message, payload;
};
void insert_refused(pqxx::work& tx, const std::string& group, const std::string& topic,
                    const std::vector<RefusedRow>& refused);

// The number aggregator_seen_ids keys `topic`'s ids by (aggregator_topics),
// given to the topic the first time it is asked for; committed in
// transactions of its own, so `connection` must have none open.
std::int32_t topic_number(pqxx::connection& connection, const std::string& topic);

// aggregator_seen_ids: an event id, the start of its hour (for pruning) and
// its exact time (to tell a resend from a new event reusing the id), under
// its topic's number.
struct SeenId {
  const std::string* id;   // the event's, alive while the batch is written
  core::TimestampUs hour;  // the start of the event's hour
  core::TimestampUs event_ts;
};
// COPYs ids in, failing on one seen before (the caller's savepoint then
// falls back to insert_seen_ids).
void copy_seen_ids(pqxx::transaction_base& tx, std::int32_t topic_id,
                   const std::vector<SeenId>& ids);
// Inserts the new ids and returns those PostgreSQL held already, each with
// the event time it holds for it (none for an id recorded before migration
// 0013, which kept no time).
using HeldIds = std::unordered_map<std::string, std::optional<core::TimestampUs>>;
HeldIds insert_seen_ids(pqxx::work& tx, std::int32_t topic_id, const std::vector<SeenId>& ids);
// aggregator_reused_ids: events whose id an earlier event of another time
// holds in aggregator_seen_ids. Inserts these (id, event time) pairs and
// returns those that were new; the others are resends.
using EventKey = std::pair<std::string, core::TimestampUs>;
std::set<EventKey> insert_reused_ids(pqxx::work& tx, const std::string& topic,
                                     const std::vector<SeenId>& events);
// Forgets ids older than every partition's horizon (max_lateness_s), plus
// an hour: an id is kept by the start of its event's hour, so up to an
// hour longer than the horizon, never shorter. The reused ids go by the
// same horizon.
void prune_seen_ids(pqxx::work& tx, const std::string& topic, std::int32_t topic_id,
                    std::int64_t max_lateness_s);
// Pruning is cheap but not free: an aggregator prunes once every this many
// batches.
inline constexpr std::uint64_t kPruneEvery = 50;

// late_events: each late or future event with its partition's newest event
// time. Returns the (partition, offset) of those stored; an id late_events
// holds already is not stored again.
using Late = std::vector<std::pair<const Pending*, core::TimeVerdict>>;
std::set<std::pair<std::int32_t, std::int64_t>> insert_late(pqxx::work& tx,
                                                            const std::string& topic,
                                                            const Late& late,
                                                            const PartitionMax& max_ts);

// agg_hourly, agg_daily, agg_products and agg_categories: additive upserts.
void apply_deltas(pqxx::work& tx, const core::Deltas& deltas);

// The tables as one batch's write sees them, for its topic and group: the
// functions above in the batch's transaction (PgBatchTables), or the unit
// tests' tables in memory. Contracts as the functions'.
class BatchTables {
 public:
  virtual ~BatchTables() = default;
  virtual PartitionMax read_partition_max() = 0;
  virtual core::TimestampUs database_now() = 0;
  virtual void insert_refused(const std::vector<Refused>& refused) = 0;
  // Records the ids, sorted, as insert_seen_ids() (COPYed straight in when
  // none is held); returns those held already.
  virtual HeldIds record_seen_ids(const std::vector<SeenId>& ids) = 0;
  virtual std::set<EventKey> insert_reused_ids(const std::vector<SeenId>& events) = 0;
  virtual std::set<std::pair<std::int32_t, std::int64_t>> insert_late(
      const Late& late, const PartitionMax& max_ts) = 0;
  virtual void apply_deltas(const core::Deltas& deltas) = 0;
  virtual void advance_partition_max(const PartitionMax& max_ts,
                                     const std::set<std::int32_t>& partitions) = 0;
  virtual void prune_seen_ids(std::int64_t max_lateness_s) = 0;
};

class PgBatchTables final : public BatchTables {
 public:
  // `seen` outlives the batch: it remembers whether the last batch met held
  // ids, to skip the COPY that would fail again. `topic_id` is topic_number()'s.
  PgBatchTables(pqxx::work& tx, const std::string& group, const std::string& topic,
                std::int32_t topic_id, pg::OptimisticCopy& seen)
      : tx_(tx), group_(group), topic_(topic), topic_id_(topic_id), seen_(seen) {}

  PartitionMax read_partition_max() override { return tables::read_partition_max(tx_, topic_); }
  core::TimestampUs database_now() override { return tables::database_now(tx_); }
  void insert_refused(const std::vector<Refused>& refused) override {
    tables::insert_refused(tx_, group_, topic_, refused);
  }
  HeldIds record_seen_ids(const std::vector<SeenId>& ids) override;
  std::set<EventKey> insert_reused_ids(const std::vector<SeenId>& events) override {
    return tables::insert_reused_ids(tx_, topic_, events);
  }
  std::set<std::pair<std::int32_t, std::int64_t>> insert_late(const Late& late,
                                                              const PartitionMax& max_ts) override {
    return tables::insert_late(tx_, topic_, late, max_ts);
  }
  void apply_deltas(const core::Deltas& deltas) override { tables::apply_deltas(tx_, deltas); }
  void advance_partition_max(const PartitionMax& max_ts,
                             const std::set<std::int32_t>& partitions) override {
    tables::advance_partition_max(tx_, topic_, max_ts, partitions);
  }
  void prune_seen_ids(std::int64_t max_lateness_s) override {
    tables::prune_seen_ids(tx_, topic_, topic_id_, max_lateness_s);
  }

 private:
  pqxx::work& tx_;
  const std::string& group_;
  const std::string& topic_;
  std::int32_t topic_id_;
  pg::OptimisticCopy& seen_;
};

}  // namespace millrace::aggregate::tables
