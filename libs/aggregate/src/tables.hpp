#pragma once

// The aggregator's SQL every kind shares, all inside the batch's
// transaction, and the interface the one handler writes a batch through
// (BatchTables). The steps that call them, and in which order, are
// AggregatorHandler::write_to() (handler.cpp); a kind's tables are
// kind_tables.hpp's, with the store event's own in store_sales.hpp.

#include <array>
#include <cstddef>
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

namespace detail {

// A hex digit's value, 0xff for any other byte.
inline constexpr auto kHexValue = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(0xff);
  for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<std::uint8_t>(c);
  for (int c = 0; c < 6; ++c) {
    t['a' + c] = static_cast<std::uint8_t>(10 + c);
    t['A' + c] = static_cast<std::uint8_t>(10 + c);
  }
  return t;
}();

// Where a canonical UUID's 32 digits are (8-4-4-4-12).
inline constexpr std::array<std::uint8_t, 32> kUuidDigitAt = {
    0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11, 12, 14, 15, 16, 17,
    19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35};

}  // namespace detail

inline UuidBits uuid_bits(std::string_view id) {
  // A canonical UUID (every uuid identity: its codec writes it so) is read
  // by table, without a branch per character, which the aggregator's loop
  // thread mispredicted on every event (docs/benchmarks.md, issue 79).
  if (id.size() == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-') {
    std::uint64_t half[2] = {0, 0};
    std::uint8_t not_hex = 0;
    for (std::size_t i = 0; i < detail::kUuidDigitAt.size(); ++i) {
      const auto v = detail::kHexValue[static_cast<unsigned char>(id[detail::kUuidDigitAt[i]])];
      not_hex |= v;
      half[i / 16] = (half[i / 16] << 4) | (v & 0xf);
    }
    if ((not_hex & 0xf0) == 0) return {half[0], half[1]};
  }
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
