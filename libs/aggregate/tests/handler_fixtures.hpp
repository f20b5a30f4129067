#pragma once

// What the aggregator handler's tests share: the kinds (the store event and
// orders), each with a record of an identity and a time as its producer
// sends it; tables in memory that answer as the SQL in kind_tables.cpp and
// store_sales.cpp does (ON CONFLICT DO NOTHING on the seen, reused and late
// identities); a batch as the consumer fills it; and a handler writing to
// those tables, without Kafka or PostgreSQL. The SQL itself is covered by the
// integration tests (integration.aggregates, integration.event-identity,
// integration.orders).

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "handler.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/reference/store_totals.hpp"
#include "sample_event.hpp"

namespace millrace::aggregate::testing {

using aggregate::KindAggregates;
using aggregate::detail::AggregatorHandler;
using core::Outcome;

// Identities, and event times a minute apart from 2023-05-19 14:00.
inline const std::string kA = "00000000-0000-4000-8000-00000000000a";
inline const std::string kB = "00000000-0000-4000-8000-00000000000b";
inline const std::string kC = "00000000-0000-4000-8000-00000000000c";
inline std::string at(int minute) {
  const auto hh = 14 + minute / 60, mm = minute % 60;
  return "2023-05-19T" + std::to_string(hh) + ":" + (mm < 10 ? "0" : "") + std::to_string(mm) +
         ":00.000000";
}
inline core::TimestampUs us(int minute) {
  return *core::parse_timestamp(at(minute));
}

// The kinds, each with a record of an identity and a time, as its producer
// sends it.
struct StoreEvents;
struct Orders;
template <typename Kind>
struct Sample;

template <>
struct Sample<StoreEvents> {
  // The same id at another time is another event.
  static constexpr bool kIdsReused = true;
  static constexpr std::string_view kIncomplete =
      R"({"id":"00000000-0000-4000-8000-000000000001"})";
  static void configure(aggregate::AggregatorConfig& c) {
    c.kinds.declaration = kinds::find_kind(kinds::kStoreEvent, "");
  }
  static std::string payload(const std::string& id, int minute) {
    return core::testing::SampleBody()
        .set("id", "\"" + id + "\"")
        .set("ts", "\"" + at(minute) + "\"")
        .str();
  }
};

template <>
struct Sample<Orders> {
  static constexpr bool kIdsReused = false;
  static constexpr std::string_view kIncomplete = R"({"PaymentTransactionId": "x"})";
  static void configure(aggregate::AggregatorConfig& c) {
    c.kinds.kind = "order";
    c.kinds.declaration = kinds::find_kind("order", "");
  }
  // An order of 2 x 12.99 of product 100150 and 1 x 15.99 of 145000.
  static std::string payload(const std::string& id, int minute) {
    return order(id, minute, "41.97",
                 R"([{"Email": "", "ProductId": 100150, "Quantity": 2, "UnitPrice": 12.99},)"
                 R"( {"Email": "", "ProductId": 145000, "Quantity": 1, "UnitPrice": 15.99}])");
  }
  static std::string order(const std::string& id, int minute, const std::string& total,
                           const std::string& details) {
    return R"({"PaymentTransactionId": ")" + id + R"(", "OrderDate": ")" + at(minute) +
           R"(Z", "Total": )" + total + R"(, "Details": )" + details + "}";
  }
};

template <typename Kind>
aggregate::AggregatorConfig test_config() {
  aggregate::AggregatorConfig c;
  c.max_lateness_s = 3600;
  c.max_future_s = 60;
  Sample<Kind>::configure(c);
  return c;
}

// What PostgreSQL holds across batches, and what each statement answers.
template <typename Kind>
class FakeTables final : public KindAggregates::Tables {
 public:
  using Record = kinds::Record;
  static constexpr bool kIdsReused = Sample<Kind>::kIdsReused;

  explicit FakeTables(const KindAggregates& kind) : codec(kind.codec()) {}

  const KindAggregates::Codec& codec;
  aggregate::tables::PartitionMax max_ts;                                // aggregator_partitions
  std::map<std::string, core::TimestampUs> seen;                         // the seen identities
  std::map<std::string, std::pair<std::int32_t, std::int64_t>> late;     // late rows by identity
  std::map<std::pair<std::int32_t, std::int64_t>, std::string> refused;  // refused_records
  std::size_t folded = 0;                          // records added to the aggregates
  std::vector<std::vector<std::string>> recorded;  // each record_seen_ids() call's ids
  int now_reads = 0;
  int prunes = 0;
  core::TimestampUs now = us(0);

  aggregate::tables::PartitionMax read_partition_max() override { return max_ts; }
  core::TimestampUs database_now() override {
    ++now_reads;
    return now;
  }
  void insert_refused(const std::vector<aggregate::tables::RefusedRow>& rows) override {
    for (const auto& r : rows) refused.try_emplace({r.partition, r.offset}, r.sqlstate);
  }
  aggregate::tables::HeldIds record_seen_ids(
      const std::vector<aggregate::tables::SeenId>& ids) override {
    // The contract: each id once, in id order.
    for (std::size_t i = 1; i < ids.size(); ++i) CHECK(*ids[i - 1].id < *ids[i].id);
    recorded.emplace_back();
    aggregate::tables::HeldIds held;
    for (const auto& s : ids) {
      recorded.back().push_back(*s.id);
      const auto [it, added] = seen.try_emplace(*s.id, s.event_ts);
      // A declared kind never reads the time held: none is given back.
      if (!added) held.emplace(*s.id, kIdsReused ? std::optional(it->second) : std::nullopt);
    }
    return held;
  }
  std::set<std::pair<std::int32_t, std::int64_t>> insert_late(
      const aggregate::tables::Late<Record>& rows,
      const aggregate::tables::PartitionMax&) override {
    std::set<std::pair<std::int32_t, std::int64_t>> stored;
    for (const auto& [p, verdict] : rows) {
      const auto& id = codec.identity(p->record);
      // late_records takes no identity folded before.
      if (!kIdsReused && seen.contains(id)) continue;
      if (late.try_emplace(id, p->partition, p->offset).second) {
        stored.emplace(p->partition, p->offset);
      }
    }
    return stored;
  }
  void advance_partition_max(const aggregate::tables::PartitionMax& m,
                             const std::set<std::int32_t>& partitions) override {
    for (const auto& [partition, ts] : m) {
      if (!ts || !partitions.contains(partition)) continue;
      auto& held = max_ts[partition];
      if (!held || *ts > *held) held = ts;
    }
  }
  void prune_seen_ids(std::int64_t) override { ++prunes; }

  std::set<aggregate::tables::EventKey> reused;  // aggregator_reused_ids
  std::set<aggregate::tables::EventKey> insert_reused_ids(
      const std::vector<aggregate::tables::SeenId>& events) override {
    REQUIRE(kIdsReused);
    std::set<aggregate::tables::EventKey> added;
    for (const auto& s : events) {
      if (reused.emplace(*s.id, s.event_ts).second) added.emplace(*s.id, s.event_ts);
    }
    return added;
  }

  // agg_web_orders_hourly, _daily and _items; the store event's
  // agg_hourly and the others, from the declared views adopting them.
  std::map<aggregate::tables::WindowKey, aggregate::tables::KindSums> hourly, daily;
  std::map<std::int64_t, aggregate::tables::KindSums> items;
  void apply_deltas(const aggregate::tables::KindDeltas& deltas) override {
    const auto add = [](auto& to, const auto& from) {
      for (const auto& [key, s] : from) {
        auto& t = to[key];
        t.records += s.records;
        t.amount += s.amount;
        t.units += s.units;
      }
    };
    for (const auto& [hour, s] : deltas.hourly()) folded += static_cast<std::size_t>(s.records);
    add(hourly, deltas.hourly());
    add(daily, deltas.daily());
    add(items, deltas.items());
    if constexpr (kIdsReused) add_sales(deltas);
  }
  // The store event's tables as core::Deltas keeps them.
  std::map<core::WindowKey, core::Totals> sales_hourly, sales_daily;
  std::map<std::int64_t, core::ProductTotals> sales_products;
  std::map<std::string, core::Totals> sales_categories;

 private:
  static core::Int128 total(const aggregate::detail::ViewSums& s, std::size_t measure) {
    core::Int128 t = 0;
    for (const auto part : s.sums[measure].parts) t += part;
    return t;
  }
  // events, units, revenue, discount_total, returns: agg_hourly's and
  // agg_daily's measures; agg_categories' without discount_total.
  static core::Totals totals(const aggregate::detail::ViewSums& s, bool discounts) {
    core::Totals t;
    t.events = static_cast<std::int64_t>(total(s, 0));
    t.units = static_cast<std::int64_t>(total(s, 1));
    t.revenue = core::Amount::from_units14(total(s, 2));
    if (discounts) t.discount_total = core::Amount::from_units14(total(s, 3));
    t.returns = static_cast<std::int64_t>(total(s, discounts ? 4 : 3));
    return t;
  }
  void add_sales(const aggregate::tables::KindDeltas& deltas) {
    const auto& d = codec.declaration();
    for (std::size_t v = 0; v < d.views.size(); ++v) {
      const auto& name = d.views[v].name;
      for (const auto& [key, s] : deltas.views()[v].slots()) {
        if (name == "agg_hourly" || name == "agg_daily") {
          const core::WindowKey k{
              key.slot,
              key.groups[0] == "sale_event" ? core::EventType::kSale : core::EventType::kInventory,
              key.groups[1]};
          (name == "agg_hourly" ? sales_hourly : sales_daily)[k] += totals(s, true);
          if (name == "agg_hourly") folded += static_cast<std::size_t>(total(s, 0));
        } else if (name == "agg_products") {
          auto& p = sales_products[std::stoll(key.groups[0])];
          p.units += static_cast<std::int64_t>(total(s, 0));
          p.revenue += core::Amount::from_units14(total(s, 1));
        } else if (name == "agg_categories") {
          sales_categories[key.groups[0]] += totals(s, false);
        }
      }
    }
  }
};

// One batch as the consumer fills it.
template <typename Kind>
struct Fill {
  explicit Fill(AggregatorHandler& h) : handler(h), state(h.open_batch()) {}

  AggregatorHandler& handler;
  stream::Batch batch;
  std::unique_ptr<stream::BatchState> state;

  // A record; its Kafka timestamp is the record's time unless given.
  void add(std::int32_t partition, std::int64_t offset, std::string body,
           std::optional<std::int64_t> kafka_ms, bool typed = true) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (typed) headers.emplace_back(std::string(core::kHeaderEventType), "sale_event");
    const auto msg = kafka::Message::from_record(
        {"a-topic", partition, offset, std::move(body), std::nullopt, kafka_ms, headers});
    handler.handle(msg, batch.add(partition, offset, kafka_ms.value_or(-1)), *state);
  }
  void event(std::int32_t partition, std::int64_t offset, const std::string& id, int minute) {
    add(partition, offset, Sample<Kind>::payload(id, minute), us(minute) / 1000);
  }
  std::uint64_t count(std::int32_t partition, Outcome outcome, std::string_view reason) {
    const auto& counts = batch.at(partition).tally.counts();
    const auto it = counts.find({outcome, reason});
    return it == counts.end() ? 0 : it->second;
  }
  const AggregatorHandler::Batch& pending() {
    return static_cast<AggregatorHandler::Batch&>(*state);
  }
};

// A handler, and the tables its batches are written to.
template <typename Kind>
struct Rig {
  aggregate::AggregatorConfig config = test_config<Kind>();
  metrics::Registry registry{"aggregator"};
  AggregatorHandler handler{config, registry};
  KindAggregates kind{config, registry};
  FakeTables<Kind> tables{kind};

  void write(Fill<Kind>& f) { handler.write_to(tables, f.batch, *f.state); }
};

}  // namespace millrace::aggregate::testing
