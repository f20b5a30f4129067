// What a batch adds to a declared view (view_deltas.cpp): each row to its
// slot and group, counts, exact products with a percentage off, extremes,
// a row per line for a view over lines, and groups by the catalog's facts
// of each row's product as the catalog holds them when it is folded.

#include "view_deltas.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>

#include "kind_tables.hpp"
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

namespace {

// The basket kind enriched on its lines' sku, with views by the catalog.
std::string enriched_basket() {
  std::string json = kBasket;
  const std::string views = R"("views": [)";
  json.replace(json.find(views), views.size(), R"("enrich": {"sku": "Sku"},
  "views": [
    {"name": "per_category", "window": {"size": "1d"},
     "group_by": [{"catalog": "category"}, "Store"],
     "measures": [{"as": "units", "op": "sum", "of": ["Qty"]}]},
    {"name": "per_brand", "window": {"size": "1d"}, "group_by": [{"catalog": "brand"}],
     "measures": [{"as": "lines", "op": "count"}]},)");
  return json;
}

}  // namespace

TEST_CASE("view keys of one slot and hash are told apart by their groups", "[aggregate][views]") {
  // Keys are ordered by slot, then their groups' hash, then the groups: two
  // groups of the same hash are two keys, and each is found.
  ViewKey a{7, {"sale_event", "kitchen"}}, b{7, {"sale_event", "lighting"}};
  b.hash = a.hash;
  std::map<ViewKey, int> keys{{a, 1}, {b, 2}};
  REQUIRE(keys.size() == 2);
  CHECK(keys.at(a) == 1);
  CHECK(keys.at(b) == 2);
  CHECK(a != b);
  CHECK(ViewKey{7, {"sale_event", "kitchen"}} == a);
  CHECK(ViewKey{8, {"sale_event", "kitchen"}} != a);
}

TEST_CASE("a view grouped by the catalog folds each line under its product's fact as it is then",
          "[aggregate][views][enrich]") {
  const auto d = kinds::parse_declaration(enriched_basket(), "test basket");
  REQUIRE(d.views[0].needs_catalog());
  std::map<std::int64_t, cache::ProductFacts> catalog{{7, {"Kettle", "Acme", "kitchen"}},
                                                      {8, {"Lamp", std::nullopt, "lighting"}}};
  std::int64_t lookups = 0;
  // Through KindDeltas, as the aggregator (and any caller folding records)
  // does: the folding itself knows nothing of the catalog.
  aggregate::tables::KindDeltas deltas(d,
                                       [&](std::int64_t sku) -> std::optional<cache::ProductFacts> {
                                         ++lookups;
                                         const auto it = catalog.find(sku);
                                         if (it == catalog.end()) return std::nullopt;
                                         return it->second;
                                       });
  deltas.fold(basket(d, R"({"Id": "a", "At": "2026-11-01T05:20:00Z", "Store": 1, "Discount": 0,
      "Items": [{"Sku": 7, "Qty": 3, "Price": 1}, {"Sku": 8, "Qty": 1, "Price": 5},
                {"Sku": 99, "Qty": 4, "Price": 2}]})"));
  // The kettle moves to another category: what was folded stays where it
  // was, what comes after goes to the new one.
  catalog.at(7).category = "appliances";
  deltas.fold(basket(d, R"({"Id": "b", "At": "2026-11-01T23:59:59Z", "Store": 1, "Discount": 0,
      "Items": [{"Sku": 7, "Qty": 2, "Price": 1}]})"));
  const auto day = at("2026-11-01T00:00:00Z");
  const auto& categories = deltas.views()[0].slots();
  REQUIRE(categories.size() == 4);
  CHECK(categories.at(ViewKey{day, {"kitchen", "1"}}).sums[0].parts[0] == 3);
  CHECK(categories.at(ViewKey{day, {"appliances", "1"}}).sums[0].parts[0] == 2);
  CHECK(categories.at(ViewKey{day, {"lighting", "1"}}).sums[0].parts[0] == 1);
  // An unknown sku is kept, under the stated value, never dropped.
  const auto& unknown = categories.at(ViewKey{day, {std::string(kinds::kUnknownProduct), "1"}});
  CHECK(unknown.rows == 1);
  CHECK(unknown.sums[0].parts[0] == 4);
  // A product without a brand groups with the unknown ones.
  const auto& brands = deltas.views()[1].slots();
  REQUIRE(brands.size() == 2);
  CHECK(brands.at(ViewKey{day, {"Acme"}}).rows == 2);
  CHECK(brands.at(ViewKey{day, {std::string(kinds::kUnknownProduct)}}).rows == 2);
  // One lookup per line and view, none for the views by fields.
  CHECK(lookups == 8);
}

TEST_CASE("a view grouped by the catalog is not folded without one", "[aggregate][views][enrich]") {
  const auto d = kinds::parse_declaration(enriched_basket(), "test basket");
  CHECK_THROWS_AS(ViewDeltas(d, d.views[0]), std::logic_error);
  CHECK_THROWS_AS(aggregate::tables::KindDeltas(d), std::logic_error);
  // A view by fields alone needs none.
  CHECK_NOTHROW(ViewDeltas(d, d.views[2]));
}
