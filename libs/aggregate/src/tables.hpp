#pragma once

// The aggregator's SQL every kind shares, all inside the batch's
// transaction, and the interface the one handler writes a batch through
// (BatchTables). The steps that call them, and in which order, are
// AggregatorHandler::write_to() (handler.cpp); a kind's tables are
// kind_tables.hpp's, with the store event's own in store_sales.hpp.

#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "batch.hpp"
#include "millrace/aggregate/config.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/core/window.hpp"
#include "millrace/stream/refused_records.hpp"
#include "seen_ids.hpp"

namespace millrace::aggregate::tables {

// What every kind's aggregator shares.

// Newest event time per partition of `topic` (aggregator_partitions).
using PartitionMax = std::map<std::int32_t, std::optional<core::TimestampUs>>;
PartitionMax read_partition_max(pqxx::work& tx, const std::string& topic);
// Raises each partition's newest event time to `max_ts`, for the partitions
// in `partitions` only.
void advance_partition_max(pqxx::work& tx, const std::string& topic, const PartitionMax& max_ts,
                           const std::set<std::int32_t>& partitions);

// A time as a quoted SQL literal.
std::string ts_literal(pqxx::work& tx, core::TimestampUs ts);

// The transaction's timestamp: one clock for the whole group.
core::TimestampUs database_now(pqxx::work& tx);

// refused_records' rows: stream::store_refused writes them.
using RefusedRow = stream::RefusedRecord;

// Late and future records, each with its verdict.
template <typename Record>
using Late = std::vector<std::pair<const Pending<Record>*, core::TimeVerdict>>;
using Stored = std::set<std::pair<std::int32_t, std::int64_t>>;  // (partition, offset)
// A record's identity and time.
using EventKey = std::pair<std::string, core::TimestampUs>;

// Pruning is cheap but not free: an aggregator prunes once every this many
// batches.
inline constexpr std::uint64_t kPruneEvery = 50;

// The tables as one batch's write sees them, for its topic and group: a
// kind's SQL in the batch's transaction, or the unit tests' tables in
// memory. `Deltas` is what a batch's on-time records fold into.
template <typename Record, typename Deltas>
class BatchTables {
 public:
  virtual ~BatchTables() = default;
  virtual PartitionMax read_partition_max() = 0;
  virtual core::TimestampUs database_now() = 0;
  virtual void insert_refused(const std::vector<RefusedRow>& refused) = 0;
  // Records the identities (each once, sorted); returns those held already.
  virtual HeldIds record_seen_ids(const std::vector<SeenId>& ids) = 0;
  // Where the same identity at another time is another record (the store
  // event's: its table's key is (time, id)): records these (identity,
  // time) pairs and returns those that were new; the others are resends.
  // Never called for a kind whose identity alone is a record.
  virtual std::set<EventKey> insert_reused_ids(const std::vector<SeenId>& records) = 0;
  // Keeps late and future records aside, with their partition's newest
  // event time; returns those stored. One kept aside before is not stored
  // again.
  virtual Stored insert_late(const Late<Record>& late, const PartitionMax& max_ts) = 0;
  // Adds the folded deltas to the aggregates.
  virtual void apply_deltas(const Deltas& deltas) = 0;
  virtual void advance_partition_max(const PartitionMax& max_ts,
                                     const std::set<std::int32_t>& partitions) = 0;
  // Forgets identities older than every partition's horizon
  // (max_lateness_s), plus an hour.
  virtual void prune_seen_ids(std::int64_t max_lateness_s) = 0;
};

// The functions every kind's tables in PostgreSQL share.
template <typename Interface>
class PgTables : public Interface {
 public:
  PgTables(pqxx::work& tx, const std::string& group, const std::string& topic)
      : tx_(tx), group_(group), topic_(topic) {}

  PartitionMax read_partition_max() override { return tables::read_partition_max(tx_, topic_); }
  core::TimestampUs database_now() override { return tables::database_now(tx_); }
  void insert_refused(const std::vector<RefusedRow>& refused) override {
    stream::store_refused(tx_, group_, topic_, refused);
  }
  void advance_partition_max(const PartitionMax& max_ts,
                             const std::set<std::int32_t>& partitions) override {
    tables::advance_partition_max(tx_, topic_, max_ts, partitions);
  }

 protected:
  pqxx::work& tx_;
  const std::string& group_;
  const std::string& topic_;
};

}  // namespace millrace::aggregate::tables

namespace millrace::aggregate {

// A UUID's 128 bits, its hex digits read in order (dashes skipped).
using UuidBits = std::pair<std::uint64_t, std::uint64_t>;
inline UuidBits uuid_bits(std::string_view id) {
  UuidBits out{0, 0};
  int digits = 0;
  for (const char c : id) {
    std::uint64_t v;
    if (c >= '0' && c <= '9') {
      v = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = static_cast<std::uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v = static_cast<std::uint64_t>(c - 'A' + 10);
    } else {
      continue;
    }
    auto& half = digits < 16 ? out.first : out.second;
    half = (half << 4) | v;
    ++digits;
  }
  return out;
}

}  // namespace millrace::aggregate
