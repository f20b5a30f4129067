// The aggregator's one handler: what only one kind does (the store event's
// type header, id reuse and sales; an order's lines and resends), and ids' order.
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "handler_fixtures.hpp"
#include "millrace/reference/store_event_rules.hpp"
#include "millrace/reference/validation.hpp"
#include "sample_event.hpp"

using namespace millrace;
using namespace millrace::aggregate::testing;

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
