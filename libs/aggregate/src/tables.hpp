#pragma once

// The aggregator's SQL: one function per table it reads or writes, all
// inside the batch's transaction. The steps that call them, and in which
// order, are AggregatorHandler::write_to() (handler.cpp), through a kind's
// BatchTables below: the store event's here, a declared kind's in
// kind_tables.hpp.

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
#include "millrace/kinds/codec.hpp"
#include "millrace/metrics/metrics.hpp"
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

// The transaction's timestamp: one clock for the whole group.
core::TimestampUs database_now(pqxx::work& tx);

// refused_records' rows: stream::store_refused writes them.
using RefusedRow = stream::RefusedRecord;

// Late and future records, each with its verdict.
template <typename Record>
using Late = std::vector<std::pair<const Pending<Record>*, core::TimeVerdict>>;
using Stored = std::set<std::pair<std::int32_t, std::int64_t>>;  // (partition, offset)

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

// The store event's.

// aggregator_reused_ids: events whose id an earlier event of another time
// holds in aggregator_seen_ids. Inserts these (id, event time) pairs and
// returns those that were new; the others are resends.
using EventKey = std::pair<std::string, core::TimestampUs>;
std::set<EventKey> insert_reused_ids(pqxx::work& tx, const std::string& topic,
                                     const std::vector<SeenId>& events);
// Forgets the reused ids by the seen ids' horizon (SeenIds::prune), by
// their event time.
void prune_reused_ids(pqxx::work& tx, const std::string& topic, std::int64_t max_lateness_s);

// late_events: each late or future event with its partition's newest event
// time. An id late_events holds already is not stored again.
Stored insert_late(pqxx::work& tx, const std::string& topic, const Late<core::StoreEvent>& late,
                   const PartitionMax& max_ts);

// agg_hourly, agg_daily, agg_products and agg_categories: additive upserts.
void apply_deltas(pqxx::work& tx, const core::Deltas& deltas);

// The store event's tables: an id reused by an event of another time is
// another event, which aggregator_reused_ids remembers.
class StoreEventTables : public BatchTables<core::StoreEvent, core::Deltas> {
 public:
  virtual std::set<EventKey> insert_reused_ids(const std::vector<SeenId>& events) = 0;
};

class PgStoreEventTables final : public PgTables<StoreEventTables> {
 public:
  // `seen`, the topic's ids, outlives the batch.
  PgStoreEventTables(pqxx::work& tx, const std::string& group, const std::string& topic,
                     SeenIds& seen)
      : PgTables(tx, group, topic), seen_(seen) {}

  HeldIds record_seen_ids(const std::vector<SeenId>& ids) override {
    return seen_.record(tx_, ids);
  }
  std::set<EventKey> insert_reused_ids(const std::vector<SeenId>& events) override {
    return tables::insert_reused_ids(tx_, topic_, events);
  }
  Stored insert_late(const Late<core::StoreEvent>& late, const PartitionMax& max_ts) override {
    return tables::insert_late(tx_, topic_, late, max_ts);
  }
  void apply_deltas(const core::Deltas& deltas) override { tables::apply_deltas(tx_, deltas); }
  void prune_seen_ids(std::int64_t max_lateness_s) override {
    seen_.prune(tx_, topic_, max_lateness_s);
    tables::prune_reused_ids(tx_, topic_, max_lateness_s);
  }

 private:
  SeenIds& seen_;
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

// The types the one handler takes from its kind (handler.hpp): the
// records' codec, what on-time records fold into, the tables, and whether
// the same identity at another time is another record.
template <typename CodecT, typename DeltasT, typename TablesT, bool ids_reused>
struct KindTypes {
  using Codec = CodecT;
  using Deltas = DeltasT;
  using Tables = TablesT;
  static constexpr bool kIdsReused = ids_reused;
};

// What the aggregator does with store events (the default, --kind
// store_event): the handler's template parameter (handler.hpp). An event
// is an id and its time: the same id at another time is another event,
// which folds too (accounted `persisted`, reason `id_reused`).
class StoreEventAggregates
    : public KindTypes<kinds::StoreEventCodec, core::Deltas, tables::StoreEventTables, true> {
 public:
  // `config` must outlive this. The handler gives every kind the
  // aggregator's metrics (KindAggregates registers its catalog's there);
  // the store event's aggregates register none of their own.
  StoreEventAggregates(const AggregatorConfig& config, metrics::Registry& /*metrics*/)
      : config_(config), seen_(config.stream.kafka.topic, true) {}

  const Codec& codec() const { return codec_; }
  // The order identities are recorded in: by the ids' 128 bits (integer
  // comparisons), where sorting the ids' text took the commit thread about
  // 5 % longer (docs/benchmarks.md, change 26). The ids are canonical
  // (lower-case), so their bits' order is their text's.
  static UuidBits id_order(const std::string& id) { return uuid_bits(id); }
  Deltas deltas() const { return {}; }

  // Looks up the topic's number in aggregator_topics.
  void on_connect(pqxx::connection& connection) { seen_.connect(connection); }
  tables::PgStoreEventTables pg_tables(pqxx::work& tx) {
    return {tx, config_.stream.group, config_.stream.kafka.topic, seen_};
  }

 private:
  const AggregatorConfig& config_;
  Codec codec_;
  tables::SeenIds seen_;  // the topic's ids; commit thread only (write())
};

}  // namespace millrace::aggregate
