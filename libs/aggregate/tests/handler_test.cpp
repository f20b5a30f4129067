// The aggregator's one handler, for store events and for a declared kind
// (orders), each from its declaration, without Kafka or PostgreSQL:
// records are handed to it as the consumer would, and write()'s steps run
// against tables in memory that answer as the SQL in kind_tables.cpp and
// store_sales.cpp does (ON CONFLICT DO NOTHING on the seen, reused and late
// identities). The behaviour both kinds share is tested for each
// (TEMPLATE_TEST_CASE). The SQL itself is covered by the integration tests
// (integration.aggregates, integration.event-identity, integration.orders).
#include "handler.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "millrace/kinds/registry.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/reference/store_event_rules.hpp"
#include "millrace/reference/validation.hpp"
#include "sample_event.hpp"

namespace {

using namespace millrace;
using aggregate::KindAggregates;
using aggregate::detail::AggregatorHandler;
using core::Outcome;

// Identities, and event times a minute apart from 2023-05-19 14:00.
const std::string kA = "00000000-0000-4000-8000-00000000000a";
const std::string kB = "00000000-0000-4000-8000-00000000000b";
const std::string kC = "00000000-0000-4000-8000-00000000000c";
std::string at(int minute) {
  const auto hh = 14 + minute / 60, mm = minute % 60;
  return "2023-05-19T" + std::to_string(hh) + ":" + (mm < 10 ? "0" : "") + std::to_string(mm) +
         ":00.000000";
}
core::TimestampUs us(int minute) {
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

}  // namespace

// What both kinds share, tested for each.
#define EVERY_KIND_TEST_CASE(name) TEMPLATE_TEST_CASE(name, "[handler]", StoreEvents, Orders)

EVERY_KIND_TEST_CASE(
    "aggregator handler: invalid records are counted rejected, valid ones buffered") {
  Rig<TestType> rig;
  Fill<TestType> f{rig.handler};
  const auto payload = Sample<TestType>::payload;
  f.add(0, 0, "{nope", 1000);
  f.add(0, 1, payload(kA, 0), std::nullopt);
  f.add(1, 7, std::string(Sample<TestType>::kIncomplete), 1000);

  CHECK(f.count(0, Outcome::kRejected, "invalid_json") == 1);
  CHECK(f.count(0, Outcome::kPersisted, "") == 1);
  CHECK(f.batch.at(0).tally.total() == 2);
  CHECK(f.count(1, Outcome::kRejected, "missing_field") == 1);
  REQUIRE(f.pending().pending.size() == 1);
  const auto& p = f.pending().pending.front();
  CHECK(rig.kind.codec().identity(p.record) == kA);
  CHECK(rig.kind.codec().time(p.record) == us(0));
  CHECK(p.partition == 0);
  CHECK(p.offset == 1);
  CHECK(p.payload == payload(kA, 0));
  CHECK(p.record_timestamp_ms == -1);  // none from the broker
}

// A store event is an id and its time: the same id at another time is
// another event, which folds. A declared kind's record is its identity: the
// same identity at another time is a resend too, the first in the batch (by
// offset) winning.
EVERY_KIND_TEST_CASE("aggregator handler: a record folds once, a resend is a duplicate") {
  constexpr bool kReused = Sample<TestType>::kIdsReused;
  Rig<TestType> rig;

  Fill<TestType> first{rig.handler};
  first.event(0, 0, kA, 1);
  first.event(0, 1, kA, 1);  // resent within the batch
  first.event(1, 0, kB, 1);
  first.event(1, 1, kB, 2);  // B's identity again, another time
  first.add(1, 2, "{nope", 1000);
  rig.write(first);
  CHECK(rig.tables.folded == (kReused ? 3 : 2));
  CHECK(first.count(0, Outcome::kPersisted, "") == 1);
  CHECK(first.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(first.count(1, Outcome::kPersisted, "") == 1);
  CHECK(first.count(1, Outcome::kPersisted, "id_reused") == (kReused ? 1 : 0));
  CHECK(first.count(1, Outcome::kDuplicate, "duplicate_id") == (kReused ? 0 : 1));
  CHECK(first.count(1, Outcome::kRejected, "invalid_json") == 1);
  CHECK(rig.tables.seen == std::map<std::string, core::TimestampUs>{{kA, us(1)}, {kB, us(1)}});
  CHECK(rig.tables.max_ts[0] == us(1));
  CHECK(rig.tables.max_ts[1] == us(2));

  // The producer sends them all again, with one new record: only that folds.
  Fill<TestType> again{rig.handler};
  again.event(0, 2, kA, 1);
  again.event(1, 3, kB, 1);
  again.event(1, 4, kB, 2);
  again.event(1, 5, kC, 3);
  rig.write(again);
  CHECK(rig.tables.folded == (kReused ? 4 : 3));
  CHECK(again.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(again.count(1, Outcome::kDuplicate, "duplicate_id") == 2);
  CHECK(again.count(1, Outcome::kPersisted, "") == 1);
  CHECK(again.batch.at(1).tally.total() == 3);
}

// A batch parses into the records of the batches destroyed before it
// (batch.hpp's RecordPool): each record as a new one would be, whatever
// the record it reuses held, a rejected message's partial one included.
EVERY_KIND_TEST_CASE("aggregator handler: a batch reuses the records of those committed before") {
  Rig<TestType> rig;
  const auto payload = Sample<TestType>::payload;
  {
    Fill<TestType> first{rig.handler};
    first.event(0, 0, kA, 1);
    first.event(0, 1, kB, 2);
    first.add(0, 2, "{nope", 1000);
    rig.write(first);
    CHECK(rig.tables.folded == 2);
  }
  Fill<TestType> next{rig.handler};
  CHECK(next.pending().spare.size() == 3);
  next.add(0, 3, std::string(Sample<TestType>::kIncomplete), 1000);
  next.event(1, 0, kC, 5);
  next.event(1, 1, kB, 7);
  CHECK(next.count(0, Outcome::kRejected, "missing_field") == 1);
  CHECK(next.pending().spare.size() == 1);
  REQUIRE(next.pending().pending.size() == 2);
  for (const auto& [p, id, minute] : {std::tuple{&next.pending().pending[0], kC, 5},
                                      std::tuple{&next.pending().pending[1], kB, 7}}) {
    const auto fresh = rig.kind.codec().parse(payload(id, minute), "sale_event");
    REQUIRE(std::holds_alternative<kinds::Record>(fresh));
    CHECK(p->record.values == std::get<kinds::Record>(fresh).values);
    CHECK(p->record.lines == std::get<kinds::Record>(fresh).lines);
    CHECK(p->time == us(minute));
    CHECK(p->payload == payload(id, minute));
    CHECK(p->partition == 1);
  }
  rig.write(next);
  CHECK(rig.tables.folded == (Sample<TestType>::kIdsReused ? 4 : 3));
  CHECK(rig.tables.seen ==
        std::map<std::string, core::TimestampUs>{{kA, us(1)}, {kB, us(2)}, {kC, us(5)}});
}

EVERY_KIND_TEST_CASE("aggregator handler: late and future records are kept aside once") {
  Rig<TestType> rig;
  rig.tables.max_ts[0] = us(180);  // 17:00

  Fill<TestType> f{rig.handler};
  f.event(0, 0, kA, 100);                                               // 80 min behind: late
  f.add(0, 1, Sample<TestType>::payload(kB, 179), us(170) / 1000);      // 9 min past its record
  f.event(0, 2, kC, 150);                                               // within the hour: on time
  f.add(0, 3, Sample<TestType>::payload(kA, 100), us(100) / 1000 + 1);  // A again, same offence
  rig.write(f);
  CHECK(f.count(0, Outcome::kLate, "late") == 1);
  CHECK(f.count(0, Outcome::kLate, "future") == 1);
  CHECK(f.count(0, Outcome::kPersisted, "") == 1);
  CHECK(f.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(rig.tables.folded == 1);
  CHECK(rig.tables.late.size() == 2);
  CHECK_FALSE(rig.tables.seen.contains(kA));  // a late record does not claim its identity
  CHECK(rig.tables.max_ts[0] == us(180));     // on-time records older than the max leave it
  CHECK(rig.tables.now_reads == 0);           // every record had a Kafka timestamp

  // Resent later, the late one is a duplicate, not late twice; a record
  // without a Kafka timestamp is judged against the database's clock.
  rig.tables.now = us(300);
  Fill<TestType> again{rig.handler};
  again.event(0, 4, kA, 100);
  again.add(0, 5, Sample<TestType>::payload(kB, 250), std::nullopt);
  rig.write(again);
  CHECK(again.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(again.count(0, Outcome::kPersisted, "") == 1);
  CHECK(rig.tables.now_reads == 1);
  CHECK(rig.tables.max_ts[0] == us(250));
}

EVERY_KIND_TEST_CASE("aggregator handler: refused records leave the batch for refused_records") {
  Rig<TestType> rig;
  Fill<TestType> f{rig.handler};
  f.event(0, 0, kA, 1);
  f.event(0, 1, kB, 1);
  f.event(1, 0, kC, 1);
  rig.handler.refuse(
      f.batch, *f.state,
      {{{0, 1}, "22003", "numeric field overflow"}, {{1, 9}, "23514", "not in batch"}});
  CHECK(f.count(0, Outcome::kRejected, "db_refused") == 1);
  CHECK(f.count(0, Outcome::kPersisted, "") == 1);
  CHECK(f.batch.at(1).tally.of(Outcome::kRejected) == 0);
  CHECK(f.pending().pending.size() == 2);
  REQUIRE(f.pending().refused.size() == 1);
  CHECK(f.pending().refused.front().record.payload == Sample<TestType>::payload(kB, 1));

  rig.write(f);
  CHECK(rig.tables.refused ==
        std::map<std::pair<std::int32_t, std::int64_t>, std::string>{{{0, 1}, "22003"}});
  CHECK(rig.tables.folded == 2);
  CHECK_FALSE(rig.tables.seen.contains(kB));
  // Probing slices, the consumer writes none of the refused again.
  const auto slice = f.state->slice(0, 1);
  CHECK(static_cast<AggregatorHandler::Batch&>(*slice).refused.empty());
  CHECK(slice->size() == 1);
}

EVERY_KIND_TEST_CASE(
    "aggregator handler: a partition revoked mid-batch is forgotten, the others "
    "written") {
  Rig<TestType> rig;
  Fill<TestType> f{rig.handler};
  f.event(0, 0, kA, 1);
  f.event(1, 0, kB, 5);
  f.event(1, 1, kC, 6);
  rig.handler.refuse(f.batch, *f.state, {{{1, 1}, "22003", "overflow"}});
  // What the consumer does on a revoke: the next owner reads partition 1 again.
  f.state->discard(1);
  f.batch.drop_partition(1);
  CHECK(f.state->size() == 1);
  rig.write(f);
  CHECK(rig.tables.folded == 1);
  CHECK(rig.tables.seen.size() == 1);
  CHECK(rig.tables.seen.contains(kA));
  CHECK(rig.tables.refused.empty());
  CHECK_FALSE(rig.tables.max_ts.contains(1));
}

EVERY_KIND_TEST_CASE("aggregator handler: forgotten ids are pruned once every 50 batches") {
  Rig<TestType> rig;
  for (int i = 0; i < 100; ++i) {
    Fill<TestType> f{rig.handler};
    f.event(0, i, kA, 1);
    rig.write(f);
    CHECK(rig.tables.prunes == (i + 1) / 50);
  }
  // A batch with nothing to fold does not count.
  Fill<TestType> empty{rig.handler};
  empty.add(0, 100, "{nope", 1000);
  for (int i = 0; i < 50; ++i) rig.write(empty);
  CHECK(rig.tables.prunes == 2);
}

// The store event's.

TEST_CASE("aggregator handler: a store event needs its type header", "[handler]") {
  Rig<StoreEvents> rig;
  Fill<StoreEvents> f{rig.handler};
  f.add(0, 1, Sample<StoreEvents>::payload(kA, 0), 1000, /*typed=*/false);
  CHECK(f.count(0, Outcome::kRejected, "missing_event_type") == 1);
  CHECK(f.pending().pending.empty());
}

// The ids go to aggregator_seen_ids sorted, each once, with the time of its
// first event in the batch (by offset, not by id or time); that first one
// decides which of the others are resends and which reuse the id.
TEST_CASE("aggregator handler: each id recorded once, in id order, as its first event has it",
          "[handler]") {
  Rig<StoreEvents> rig;
  const std::string kHigh = "ffffffff-0000-4000-8000-000000000001";
  const std::string kMid = "7fffffff-ffff-4fff-bfff-ffffffffffff";
  Fill<StoreEvents> f{rig.handler};
  f.event(0, 0, kHigh, 5);
  f.event(0, 1, kB, 3);
  f.event(0, 2, kMid, 4);
  f.event(0, 3, kB, 2);     // B again, earlier in time: reuses B's id
  f.event(0, 4, kHigh, 5);  // a resend
  f.event(0, 5, kA, 1);
  f.event(0, 6, kB, 2);  // a resend of the reuse
  rig.write(f);
  REQUIRE(rig.tables.recorded.size() == 1);
  CHECK(rig.tables.recorded[0] == std::vector<std::string>{kA, kB, kMid, kHigh});
  CHECK(rig.tables.seen.at(kB) == us(3));
  CHECK(rig.tables.folded == 5);
  CHECK(f.count(0, Outcome::kPersisted, "") == 4);
  CHECK(f.count(0, Outcome::kPersisted, "id_reused") == 1);
  CHECK(f.count(0, Outcome::kDuplicate, "duplicate_id") == 2);
  CHECK(rig.tables.reused == std::set<aggregate::tables::EventKey>{{kB, us(2)}});
}

TEST_CASE("aggregator handler: a resend behind its id's reuse in a later batch is a duplicate",
          "[handler]") {
  Rig<StoreEvents> rig;
  Fill<StoreEvents> first{rig.handler};
  first.event(0, 0, kB, 1);
  rig.write(first);
  // B reused at another time, then B's first event resent: the batch's
  // first B is the reuse, and the resend is of the time held already.
  Fill<StoreEvents> second{rig.handler};
  second.event(0, 1, kB, 2);
  second.event(0, 2, kB, 1);
  rig.write(second);
  CHECK(rig.tables.folded == 2);
  CHECK(second.count(0, Outcome::kPersisted, "id_reused") == 1);
  CHECK(second.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(rig.tables.reused == std::set<aggregate::tables::EventKey>{{kB, us(2)}});
}

// The store event folds from its declared record into agg_hourly and the
// others exactly as core::Deltas folds the compiled contract's event.
TEST_CASE("aggregator handler: a store event's sales fold as the compiled event's do",
          "[handler]") {
  Rig<StoreEvents> rig;
  Fill<StoreEvents> f{rig.handler};
  core::Deltas expected;
  const auto add = [&](std::int64_t offset, const std::string& id, int minute,
                       const std::string& type, const std::string& price, const std::string& qty,
                       const std::string& discount, bool is_return) {
    const auto body = core::testing::SampleBody()
                          .set("id", "\"" + id + "\"")
                          .set("ts", "\"" + at(minute) + "\"")
                          .set("price", price)
                          .set("qty", qty)
                          .set("discount", discount)
                          .set("is_return", is_return ? "true" : "false")
                          .str();
    const auto msg = kafka::Message::from_record({"a-topic",
                                                  0,
                                                  offset,
                                                  body,
                                                  std::nullopt,
                                                  us(minute) / 1000,
                                                  {{std::string(core::kHeaderEventType), type}}});
    rig.handler.handle(msg, f.batch.add(0, offset, us(minute) / 1000), *f.state);
    const auto compiled = core::parse_event(body, type);
    REQUIRE(std::holds_alternative<core::StoreEvent>(compiled));
    expected.fold(core::sale_of(std::get<core::StoreEvent>(compiled)));
  };
  add(0, kA, 1, "sale_event", "45.85", "34", "10.3", false);
  add(1, kB, 2, "sale_event", "0.000001", "1000000", "99.999999", true);
  add(2, kC, 70, "inventory_event", "1000000000", "7", "0", false);
  add(3, kA, 130, "sale_event", "3.333333", "3", "0", true);
  add(4, kB, 131, "sale_event", "19.99", "2", "100", false);
  rig.write(f);
  CHECK(rig.tables.folded == 5);
  CHECK(rig.tables.sales_hourly == expected.hourly());
  CHECK(rig.tables.sales_hourly.size() == 3);
  CHECK(rig.tables.sales_daily == expected.daily());
  CHECK(rig.tables.sales_products == expected.products());
  // agg_categories has no discount_total (core::Deltas keeps one).
  auto categories = expected.categories();
  for (auto& [category, t] : categories) t.discount_total = {};
  CHECK(rig.tables.sales_categories == categories);
  CHECK(rig.tables.sales_categories.size() == 1);
}

// A declared kind's (orders).

// Every order to its hour and day, each line's product to the product's
// totals, once per order.
TEST_CASE("aggregator handler: an order adds to its hour, day and products once", "[handler]") {
  Rig<Orders> rig;
  using aggregate::tables::KindSums;
  const auto sums = [](const KindSums& s) {
    return std::tuple(s.records, static_cast<std::int64_t>(s.amount), s.units);
  };

  Fill<Orders> first{rig.handler};
  first.event(0, 0, kA, 5);   // 14:05
  first.event(0, 1, kB, 70);  // 15:10
  first.event(0, 2, kB, 70);  // resent
  first.event(1, 0, kB, 2);   // B again, another time: still B
  first.add(
      1, 1,
      Sample<Orders>::order(kC, 10, "3.5",
                            R"([{"Email": "", "ProductId": 7, "Quantity": 1, "UnitPrice": 1},)"
                            R"( {"Email": "", "ProductId": 7, "Quantity": 1, "UnitPrice": 2.5}])"),
      us(10) / 1000);
  rig.write(first);
  CHECK(rig.tables.recorded == std::vector<std::vector<std::string>>{{kA, kB, kC}});
  CHECK(rig.tables.seen.at(kB) == us(70));
  CHECK(rig.tables.folded == 3);
  CHECK(first.batch.at(0).tally.of(Outcome::kDuplicate) +
            first.batch.at(1).tally.of(Outcome::kDuplicate) ==
        2);

  // Amounts in micro-units: 41.97 for A and B each, 3.50 for C.
  CHECK(rig.tables.hourly.size() == 2);
  CHECK(sums(rig.tables.hourly.at({us(0), {}})) == std::tuple(2, 45'470'000, 5));
  CHECK(sums(rig.tables.hourly.at({us(60), {}})) == std::tuple(1, 41'970'000, 3));
  CHECK(rig.tables.daily.size() == 1);
  CHECK(sums(rig.tables.daily.begin()->second) == std::tuple(3, 87'440'000, 8));
  CHECK(sums(rig.tables.items.at(100150)) == std::tuple(2, 51'960'000, 4));
  CHECK(sums(rig.tables.items.at(145000)) == std::tuple(2, 31'980'000, 2));
  CHECK(sums(rig.tables.items.at(7)) == std::tuple(1, 3'500'000, 2));  // once per order
}

// late_records takes no identity folded before: a resend that comes after
// its partition moved on is a duplicate, not late.
TEST_CASE("aggregator handler: an order resent after its partition moved on is a duplicate",
          "[handler]") {
  Rig<Orders> rig;
  Fill<Orders> first{rig.handler};
  first.event(0, 0, kA, 0);
  first.event(0, 1, kB, 200);
  rig.write(first);
  CHECK(rig.tables.folded == 2);

  Fill<Orders> again{rig.handler};
  again.event(0, 2, kA, 0);   // 200 min behind, folded before
  again.event(0, 3, kC, 10);  // 190 min behind, never seen
  rig.write(again);
  CHECK(again.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(again.count(0, Outcome::kLate, "late") == 1);
  CHECK(rig.tables.late.size() == 1);
  CHECK(rig.tables.late.contains(kC));
}

TEST_CASE("aggregator handler: a uuid's order is its digits' bits, canonical or not", "[handler]") {
  using aggregate::uuid_bits;
  using aggregate::UuidBits;
  const UuidBits bits{0x0123abcd456789efULL, 0xfedcba9876543210ULL};
  CHECK(uuid_bits("0123abcd-4567-89ef-fedc-ba9876543210") == bits);
  CHECK(uuid_bits("0123ABCD-4567-89EF-FEDC-BA9876543210") == bits);
  CHECK(uuid_bits("0123abcd456789effedcba9876543210") == bits);
  // A canonical shape holding another character: its digits alone count.
  CHECK(uuid_bits("0123abcg-4567-89ef-fedc-ba9876543210") ==
        uuid_bits("0123abc456789effedcba9876543210"));
  CHECK(uuid_bits("0123abcg-4567-89ef-fedc-ba9876543210") != bits);
}
