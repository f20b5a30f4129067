// Views made of another view's slots (view_sharing.hpp): which views are,
// and that each holds what folding every row into it would have, exactly:
// a day in UTC from a time zone's quarter hours, a view of all time, views
// narrowed by a group's value, sums, counts, averages and extremes.

#include "view_sharing.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "kind_tables.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "view_deltas.hpp"

using namespace millrace;
using aggregate::detail::slot_source;
using aggregate::detail::slot_sources;
using aggregate::detail::ViewDeltas;
using aggregate::detail::ViewSums;

namespace {

const char* kVisit = R"({
  "kind": "visit",
  "topic": {"name": "visits", "env": "MILLRACE_VISITS_TOPIC", "partitions": 2},
  "table": "visits", "identity": "Id", "time": "At",
  "fields": [
    {"name": "Id", "column": "id", "type": "text", "required": true, "max_bytes": 40},
    {"name": "At", "column": "at", "type": "timestamp", "required": true},
    {"name": "Store", "column": "store", "type": "integer", "required": true, "min": 0, "max": 99},
    {"name": "Channel", "column": "channel", "type": "text", "required": true,
     "values": ["web", "shop"]},
    {"name": "Member", "column": "member", "type": "boolean", "required": true},
    {"name": "Amount", "column": "amount", "type": "decimal", "required": true, "min": 0,
     "max": 100000},
    {"name": "Qty", "column": "qty", "type": "integer", "required": true, "min": 1, "max": 100}
  ],
  "views": [
    {"name": "local_hourly", "window": {"size": "1h", "time_zone": "America/New_York"},
     "group_by": ["Store", "Channel"],
     "measures": [{"as": "visits", "op": "count"},
                  {"as": "amount", "op": "sum", "of": ["Amount"]},
                  {"as": "biggest", "op": "max", "of": ["Amount"]},
                  {"as": "smallest", "op": "min", "of": ["Amount"]},
                  {"as": "member_visits", "op": "count", "where": {"Member": true}},
                  {"as": "qty_net", "op": "sum", "of": ["Qty"], "negative_when": "Member"},
                  {"as": "avg_qty", "op": "avg", "of": ["Qty"]}]},
    {"name": "utc_daily", "window": {"size": "1d"}, "group_by": ["Channel"],
     "measures": [{"as": "smallest", "op": "min", "of": ["Amount"]},
                  {"as": "avg_qty", "op": "avg", "of": ["Qty"]},
                  {"as": "members", "op": "count", "where": {"Member": true}},
                  {"as": "amount", "op": "sum", "of": ["Amount"]}]},
    {"name": "web_by_store", "table": "web_by_store", "window": "all",
     "where": {"Channel": "web"}, "group_by": ["Store"],
     "measures": [{"as": "amount", "op": "sum", "of": ["Amount"]},
                  {"as": "visits", "op": "count"}]},
    {"name": "store_7", "window": {"size": "2h"}, "where": {"Store": 7}, "group_by": ["Channel"],
     "measures": [{"as": "visits", "op": "count"},
                  {"as": "biggest", "op": "max", "of": ["Amount"]}]},
    {"name": "members_daily", "window": {"size": "1d"}, "where": {"Member": true},
     "group_by": ["Channel"], "measures": [{"as": "visits", "op": "count"}]},
    {"name": "per_32m", "window": {"size": "32m"}, "group_by": ["Store"],
     "measures": [{"as": "amount", "op": "sum", "of": ["Amount"]}]},
    {"name": "per_32m_again", "window": {"size": "32m"}, "group_by": ["Store"],
     "measures": [{"as": "amount", "op": "sum", "of": ["Amount"]}]}
  ]})";

kinds::Record parsed(const kinds::Declaration& d, const std::string& json,
                     std::optional<std::string_view> type = std::nullopt) {
  auto r = kinds::parse_record(d, json, type, kinds::TypeFrom::kBody);
  REQUIRE(std::holds_alternative<kinds::Record>(r));
  return std::get<kinds::Record>(std::move(r));
}

// Random visits over ten days across the end of daylight saving time in
// New York (2026-11-01).
std::vector<kinds::Record> visits(const kinds::Declaration& d, int n) {
  std::mt19937_64 rng(79);
  const auto start = *core::parse_timestamp("2026-10-28T00:00:00Z");
  std::vector<kinds::Record> out;
  for (int i = 0; i < n; ++i) {
    const auto at = start + static_cast<core::TimestampUs>(rng() % (10ULL * 86'400'000'000ULL));
    const auto cents = rng() % 10'000'000;
    const std::string amount = std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") +
                               std::to_string(cents % 100);
    out.push_back(parsed(d, R"({"Id": ")" + std::to_string(i) + R"(", "At": ")" +
                                core::format_timestamp(at) + R"(", "Store": )" +
                                std::to_string(rng() % 12) + R"(, "Channel": ")" +
                                (rng() % 3 == 0 ? "web" : "shop") + R"(", "Member": )" +
                                (rng() % 4 == 0 ? "true" : "false") + R"(, "Amount": )" + amount +
                                R"(, "Qty": )" + std::to_string(1 + rng() % 100) + "}"));
  }
  return out;
}

core::Int128 total(const ViewSums& s, std::size_t measure) {
  core::Int128 t = 0;
  for (const auto part : s.sums[measure].parts) t += part;
  return t;
}

// Each view as KindDeltas holds it, against the view folded alone from
// every record: the same slots, rows, sums and extremes.
void check_each_view_as_folded_alone(const kinds::Declaration& d,
                                     const std::vector<kinds::Record>& records) {
  aggregate::tables::KindDeltas shared(d);
  for (const auto& r : records) shared.fold(r);
  for (std::size_t v = 0; v < d.views.size(); ++v) {
    INFO("view " << d.views[v].name);
    ViewDeltas alone(d, d.views[v]);
    for (const auto& r : records) alone.fold(r);
    const auto& got = shared.views()[v].slots();
    const auto& want = alone.slots();
    REQUIRE(!want.empty());
    REQUIRE(got.size() == want.size());
    for (auto g = got.begin(), w = want.begin(); w != want.end(); ++g, ++w) {
      REQUIRE(g->first == w->first);
      CHECK(g->second.rows == w->second.rows);
      REQUIRE(g->second.sums.size() == w->second.sums.size());
      for (std::size_t m = 0; m < w->second.sums.size(); ++m) {
        CHECK(g->second.sums[m].parts.size() == w->second.sums[m].parts.size());
        CHECK(total(g->second, m) == total(w->second, m));
        CHECK(g->second.extremes[m] == w->second.extremes[m]);
      }
    }
  }
}

}  // namespace

TEST_CASE("views made of another's slots are told by their groups, rows, measures and windows",
          "[aggregate][views][sharing]") {
  const auto d = kinds::parse_declaration(kVisit, "test visit");
  const auto sources = slot_sources(d);
  REQUIRE(sources.size() == 7);
  CHECK_FALSE(sources[0]);  // the finest: folded
  // A day in UTC from New York's quarter hours, the measures in its order.
  REQUIRE(sources[1]);
  CHECK(sources[1]->view == 0);
  CHECK(sources[1]->groups == std::vector<std::size_t>{1});
  CHECK(sources[1]->measures == std::vector<std::size_t>{3, 6, 4, 1});
  CHECK(sources[1]->only.empty());
  // All time, of the web's slots only; two hours of store 7's.
  // A count of every row is the slots' rows.
  REQUIRE(sources[2]);
  CHECK(sources[2]->view == 0);
  CHECK(sources[2]->only == std::vector<std::pair<std::size_t, std::string>>{{1, "web"}});
  CHECK(sources[2]->measures == std::vector<std::size_t>{1, aggregate::detail::kSlotRows});
  REQUIRE(sources[3]);
  CHECK(sources[3]->only == std::vector<std::pair<std::size_t, std::string>>{{0, "7"}});
  // Members are no group of any view: folded from the rows.
  CHECK_FALSE(sources[4]);
  // 32 minutes are no multiple of a quarter hour; the same view twice
  // is folded once.
  CHECK_FALSE(sources[5]);
  REQUIRE(sources[6]);
  CHECK(sources[6]->view == 5);
  // Neither way between views of other rows or finer slots.
  CHECK_FALSE(slot_source(d, 0, 1));
  CHECK_FALSE(slot_source(d, 2, 3));
  CHECK_FALSE(slot_source(d, 5, 0));
}

TEST_CASE("a view made of another's slots holds what folding its rows would, exactly",
          "[aggregate][views][sharing]") {
  const auto d = kinds::parse_declaration(kVisit, "test visit");
  check_each_view_as_folded_alone(d, visits(d, 3000));
}

TEST_CASE("the store event folds agg_hourly and agg_products, and sums the others from them",
          "[aggregate][views][sharing]") {
  const auto d = kinds::find_kind(kinds::kStoreEvent, "");
  const auto sources = slot_sources(d);
  REQUIRE(sources.size() == 4);
  REQUIRE(d.views[0].name == "agg_hourly");
  REQUIRE(d.views[2].name == "agg_products");
  CHECK_FALSE(sources[0]);
  REQUIRE(sources[1]);  // agg_daily
  CHECK(sources[1]->view == 0);
  CHECK_FALSE(sources[2]);
  REQUIRE(sources[3]);  // agg_categories: agg_hourly's sale events
  CHECK(sources[3]->view == 0);

  std::mt19937_64 rng(80);
  std::vector<kinds::Record> records;
  const auto start = *core::parse_timestamp("2026-11-29T18:00:00Z");
  for (int i = 0; i < 2000; ++i) {
    const auto at = start + static_cast<core::TimestampUs>(rng() % (30ULL * 3'600'000'000ULL));
    const std::string sku = std::to_string(1 + rng() % 40);
    records.push_back(parsed(
        d,
        R"({"id": "00000000-0000-4000-8000-)" + std::string(12 - std::to_string(i).size(), '0') +
            std::to_string(i) +
            R"(", "request_id": "00000000-0000-4000-8000-000000000001", "store_id": 3,
            "store_fqdn": "store-003.millrace.local", "store_ip": "10.0.0.3", "cust_id": 9,
            "category": "c)" +
            std::to_string(rng() % 5) + R"(", "sku": )" + sku + R"(, "price": )" +
            std::to_string(rng() % 100000) + "." + std::to_string(rng() % 100) + R"(, "qty": )" +
            std::to_string(1 + rng() % 50) + R"(, "discount": )" + std::to_string(rng() % 50) +
            "." + std::to_string(rng() % 10) +
            R"(, "gift_wrap": false, "variant": "red", "priority_shipping": false, "ts": ")" +
            core::format_timestamp(at) + R"(", "is_return": )" +
            (rng() % 10 == 0 ? "true" : "false") + "}",
        rng() % 3 == 0 ? "inventory_event" : "sale_event"));
  }
  check_each_view_as_folded_alone(d, records);
}
