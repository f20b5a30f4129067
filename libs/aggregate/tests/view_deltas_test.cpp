// What a batch adds to a declared view (view_deltas.cpp): each row to its
// slot and group, counts, exact products with a percentage off, extremes,
// and a row per line for a view over lines.

#include "view_deltas.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <variant>

#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"

using namespace millrace;
using aggregate::detail::ViewDeltas;
using aggregate::detail::ViewKey;

namespace {

const char* kBasket = R"({
  "kind": "basket",
  "topic": {"name": "baskets", "env": "MILLRACE_BASKETS_TOPIC", "partitions": 2},
  "table": "baskets", "identity": "Id", "time": "At",
  "fields": [
    {"name": "Id", "column": "id", "type": "text", "required": true, "max_bytes": 40},
    {"name": "At", "column": "at", "type": "timestamp", "required": true},
    {"name": "Store", "column": "store", "type": "integer", "required": true, "min": 0, "max": 999},
    {"name": "Discount", "column": "discount", "type": "decimal", "required": true, "min": 0, "max": 100}
  ],
  "lines": {"name": "Items", "table": "basket_items", "number_column": "n", "min_items": 1,
            "max_items": 50, "fields": [
    {"name": "Sku", "column": "sku", "type": "integer", "required": true, "min": 0, "max": 1000000},
    {"name": "Qty", "column": "qty", "type": "integer", "required": true, "min": 1, "max": 1000},
    {"name": "Price", "column": "price", "type": "decimal", "required": true, "min": 0, "max": 100000}
  ]},
  "views": [
    {"name": "per_store", "window": {"size": "1h", "time_zone": "America/New_York"},
     "group_by": ["Store"],
     "measures": [{"as": "baskets", "op": "count"},
                  {"as": "biggest_discount", "op": "max", "of": ["Discount"]},
                  {"as": "smallest_discount", "op": "min", "of": ["Discount"]}]},
    {"name": "per_sku", "window": {"size": "1h"}, "group_by": ["Sku"],
     "measures": [{"as": "revenue", "op": "sum", "of": ["Price", "Qty", {"percent_off": "Discount"}]},
                  {"as": "lines", "op": "count"}]}
  ]})";

kinds::Record basket(const kinds::Declaration& d, const std::string& json) {
  auto parsed = kinds::parse_record(d, json);
  REQUIRE(std::holds_alternative<kinds::Record>(parsed));
  return std::get<kinds::Record>(std::move(parsed));
}

core::TimestampUs at(const std::string& rfc3339) {
  return *core::parse_timestamp(rfc3339);
}

}  // namespace

TEST_CASE("a declared view folds each row into its slot and group, exactly", "[aggregate][views]") {
  const auto d = kinds::parse_declaration(kBasket, "test basket");
  ViewDeltas per_store(d, d.views[0]), per_sku(d, d.views[1]);
  for (const auto* json : {
           R"({"Id": "a", "At": "2026-11-01T05:20:00Z", "Store": 1, "Discount": 12.5,
               "Items": [{"Sku": 7, "Qty": 3, "Price": 19.99}, {"Sku": 8, "Qty": 1, "Price": 5}]})",
           R"({"Id": "b", "At": "2026-11-01T05:44:59.999999Z", "Store": 1, "Discount": 0,
               "Items": [{"Sku": 7, "Qty": 1, "Price": 0.000001}]})",
           R"({"Id": "c", "At": "2026-11-01T06:10:00Z", "Store": 2, "Discount": 100,
               "Items": [{"Sku": 7, "Qty": 2, "Price": 3}]})"}) {
    const auto r = basket(d, json);
    per_store.fold(r);
    per_sku.fold(r);
  }
  // In a time zone, hour windows fold by UTC quarter hours (PostgreSQL maps
  // them to local hours): 05:15, 05:30 and 06:00.
  const auto& stores = per_store.slots();
  REQUIRE(stores.size() == 3);
  const auto& first = stores.at(ViewKey{at("2026-11-01T05:15:00Z"), {"1"}});
  CHECK(first.rows == 1);
  CHECK(first.extremes[1] == 12'500'000);  // micro-units
  CHECK(first.extremes[2] == 12'500'000);
  CHECK(stores.at(ViewKey{at("2026-11-01T05:30:00Z"), {"1"}}).rows == 1);
  CHECK(stores.at(ViewKey{at("2026-11-01T06:00:00Z"), {"2"}}).extremes[1] == 100'000'000);

  // Over lines, in UTC hours: a row per line. Revenue at 14 decimals:
  // price (6) × qty × (1 − discount / 100) (8).
  const auto& skus = per_sku.slots();
  REQUIRE(skus.size() == 3);
  const auto& sku7 = skus.at(ViewKey{at("2026-11-01T05:00:00Z"), {"7"}});
  CHECK(sku7.rows == 2);
  REQUIRE(sku7.sums[0].parts.size() == 1);
  // 19.99 × 3 × 0.875 + 0.000001 × 1 × 1 = 52.473751
  CHECK(sku7.sums[0].parts[0] == core::Int128{5'247'375'100'000'000});
  CHECK(skus.at(ViewKey{at("2026-11-01T05:00:00Z"), {"8"}}).sums[0].parts[0] ==
        core::Int128{437'500'000'000'000});  // 5 × 0.875
  // 100 % off: revenue 0, the line still counted.
  const auto& free = skus.at(ViewKey{at("2026-11-01T06:00:00Z"), {"7"}});
  CHECK(free.rows == 1);
  CHECK(free.sums[0].parts[0] == 0);
}
