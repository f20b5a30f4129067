// Keep rules and enrichment in a declaration: what parses, what is refused
// (naming the declaration and the condition), and how a rule judges a
// record (kinds/codec.hpp).
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "millrace/core/options.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;
using Catch::Matchers::Contains;

namespace {

// A kind with one field of each type a rule can test, and lines.
std::string parcel(std::string_view more) {
  return R"({
  "kind": "parcel",
  "topic": {"name": "parcels", "env": "MILLRACE_PARCELS_TOPIC", "partitions": 1},
  "table": "parcels",
  "identity": "Id",
  "time": "At",
  "fields": [
    {"name": "Id", "column": "id", "type": "text", "required": true},
    {"name": "At", "column": "at", "type": "timestamp", "required": true},
    {"name": "Weight", "column": "weight", "type": "decimal", "min": 0, "max": 1000},
    {"name": "Boxes", "column": "boxes", "type": "integer", "min": 0, "max": 100},
    {"name": "Carrier", "column": "carrier", "type": "text"},
    {"name": "Sku", "column": "sku", "type": "integer", "min": 0, "max": 999999999},
    {"name": "Fragile", "column": "fragile", "type": "boolean"}
  ],
  "lines": {"name": "Items", "table": "parcel_items", "number_column": "item_no",
            "min_items": 0, "max_items": 5,
            "fields": [{"name": "ProductId", "column": "product_id", "type": "integer",
                        "required": true, "min": 0, "max": 999999999},
                       {"name": "Label", "column": "label", "type": "text"}]})" +
         std::string(more) + "}";
}

std::string refusal(std::string_view more) {
  try {
    parse_declaration(parcel(more), "test parcel");
  } catch (const core::UsageError& e) {
    return e.what();
  }
  FAIL("the declaration was accepted: " << more);
  return {};
}

Record record(const Declaration& d, std::string_view body) {
  auto parsed = parse_record(d, body, millrace::kinds::testing::type_header_of(d, body));
  if (const auto* r = std::get_if<core::Rejection>(&parsed)) FAIL(r->detail);
  return std::get<Record>(std::move(parsed));
}

}  // namespace

TEST_CASE("keep: conditions parse, with their reasons", "[kinds][keep]") {
  const auto d = parse_declaration(parcel(R"(, "keep": [
        {"field": "Weight", "gt": 2.5},
        {"field": "Boxes", "le": 10, "reason": "too_many_boxes"},
        {"field": "At", "ge": "2024-01-01T00:00:00Z"},
        {"field": "Carrier", "not_in": ["pigeon", "owl"]}
      ])"),
                                   "test parcel");
  REQUIRE(d.keep.size() == 4);
  CHECK(d.keep[0].field == *d.find("Weight"));
  CHECK(d.keep[0].op == KeepCondition::Op::kGt);
  CHECK(d.keep[0].decimal == *core::Decimal::parse("2.5"));
  CHECK(d.keep[0].reason == "weight_not_kept");
  CHECK(d.keep[1].op == KeepCondition::Op::kLe);
  CHECK(d.keep[1].integer == 10);
  CHECK(d.keep[1].reason == "too_many_boxes");
  CHECK(d.keep[2].integer == *core::parse_timestamp("2024-01-01T00:00:00Z"));
  CHECK(d.keep[3].values == std::vector<std::string>{"pigeon", "owl"});
  CHECK(d.keep[3].op == KeepCondition::Op::kNotIn);
  CHECK(parse_declaration(parcel(""), "test parcel").keep.empty());
}

TEST_CASE("keep: a rule the field cannot take is refused, naming the declaration and field",
          "[kinds][keep]") {
  CHECK_THAT(
      refusal(R"(, "keep": [{"field": "Nope", "gt": 1}])"),
      Contains("kind declaration test parcel: keep[0].field: names no field") && Contains("Nope"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Carrier", "gt": 1}])"),
             Contains("keep[0].gt: field \"Carrier\" is text, which cannot take gt"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Boxes", "in": [1, 2]}])"),
             Contains("keep[0].in: field \"Boxes\" is integer, which cannot take in"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Fragile", "in": ["true"]}])"),
             Contains("field \"Fragile\" is boolean"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Boxes", "gt": 1.5}])"),
             Contains("keep[0].gt: must be an integer"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Weight", "gt": "heavy"}])"),
             Contains("keep[0].gt: must be a number"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "At", "lt": "yesterday"}])"),
             Contains("keep[0].lt: must be an RFC 3339 timestamp"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Carrier", "in": []}])"),
             Contains("keep[0].in: must be a non-empty array of strings"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Boxes", "gt": 1, "lt": 5}])"),
             Contains("keep[0]: holds more than one operator"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Boxes"}])"), Contains("keep[0]: needs one operator"));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Boxes", "gt": 1, "or": 2}])"),
             Contains("keep[0]: unknown member \"or\""));
  CHECK_THAT(refusal(R"(, "keep": [{"field": "Boxes", "gt": 1, "reason": "Bad Reason"}])"),
             Contains("keep[0].reason"));
  CHECK_THAT(refusal(R"(, "keep": {"field": "Boxes", "gt": 1})"),
             Contains("keep: must be an array"));
}

TEST_CASE("keep: a record failing a condition gets that condition's reason", "[kinds][keep]") {
  const auto d = parse_declaration(parcel(R"(, "keep": [
        {"field": "Weight", "gt": 2.5},
        {"field": "Carrier", "in": ["post", "courier"], "reason": "carrier_not_kept"},
        {"field": "At", "lt": "2030-01-01T00:00:00Z"}
      ])"),
                                   "test parcel");
  const DeclaredCodec codec(d);
  const auto with = [&](std::string_view weight, std::string_view carrier,
                        std::string_view at = "2025-01-01T00:00:00Z") {
    return record(d, R"({"Id": "p1", "At": ")" + std::string(at) + R"(", "Weight": )" +
                         std::string(weight) + R"(, "Carrier": ")" + std::string(carrier) +
                         R"(", "Items": []})");
  };
  CHECK_FALSE(codec.not_kept(with("2.6", "post")).has_value());
  CHECK(codec.not_kept(with("2.5", "post")) == "weight_not_kept");  // gt is strict
  CHECK(codec.not_kept(with("30", "owl")) == "carrier_not_kept");
  CHECK(codec.not_kept(with("1", "owl")) == "weight_not_kept");  // the first failing one
  CHECK(codec.not_kept(with("3", "post", "2030-01-01T00:00:00Z")) == "at_not_kept");
  // A null value holds no condition.
  CHECK(codec.not_kept(record(d, R"({"Id": "p2", "At": "2025-01-01T00:00:00Z", "Items": []})")) ==
        "weight_not_kept");
  CHECK(codec.time(with("3", "post")) == *core::parse_timestamp("2025-01-01T00:00:00Z"));
  CHECK(codec.identity(with("3", "post")) == "p1");
}

TEST_CASE("keep: the store event's rule is its compiled filter's, with today's reasons",
          "[kinds][keep]") {
  const auto d = find_kind(kStoreEvent, "");
  REQUIRE(d.keep.size() == 2);
  const auto keep = store_event_keep(d);
  CHECK(keep.min_discount == "20");
  CHECK(keep.keep_types == std::vector<std::string>{"sale_event", "inventory_event"});
  CHECK(built_in_store_event_keep().min_discount == "20");
  CHECK(d.keep[0].reason == core::reason_code(core::FilterReason::kDiscountNotAbove));
  CHECK(d.keep[1].reason == core::reason_code(core::FilterReason::kEventTypeNotKept));

  // A rule the compiled filter cannot follow is refused, not ignored.
  auto other = d;
  other.keep[0].op = KeepCondition::Op::kGe;
  CHECK_THROWS_WITH(store_event_keep(other), Contains("not discount ge"));
  other = d;
  other.keep.pop_back();
  CHECK_THROWS_WITH(store_event_keep(other), Contains("both conditions are needed"));
  other = d;
  other.keep[1].reason = "types";
  CHECK_THROWS_WITH(store_event_keep(other), Contains("(reason types)"));
}

TEST_CASE("enrich: names an integer field of the record or of its lines", "[kinds][enrich]") {
  const auto on_record = parse_declaration(parcel(R"(, "enrich": {"sku": "Sku"})"), "test parcel");
  REQUIRE(on_record.enrich.has_value());
  CHECK_FALSE(on_record.enrich->on_lines);
  CHECK(on_record.enrich->sku == *on_record.find("Sku"));
  const auto on_lines =
      parse_declaration(parcel(R"(, "enrich": {"sku": "ProductId"})"), "test parcel");
  REQUIRE(on_lines.enrich.has_value());
  CHECK(on_lines.enrich->on_lines);
  CHECK(on_lines.enrich->sku == 0);
  CHECK_FALSE(parse_declaration(parcel(""), "test parcel").enrich.has_value());
  CHECK(find_kind(kStoreEvent, "").enrich.has_value());

  CHECK_THAT(refusal(R"(, "enrich": {"sku": "Carrier"})"),
             Contains("kind declaration test parcel: enrich.sku: field \"Carrier\" is text"));
  CHECK_THAT(refusal(R"(, "enrich": {"sku": "Label"})"), Contains("is text"));
  CHECK_THAT(refusal(R"(, "enrich": {"sku": "Nope"})"),
             Contains("enrich.sku: names no field of the record or its lines"));
  CHECK_THAT(refusal(R"(, "enrich": {"product": "Sku"})"),
             Contains("enrich: unknown member \"product\""));
}

TEST_CASE("enrich: an asset is a text field, beside a sku or alone", "[kinds][enrich]") {
  const auto alone =
      parse_declaration(parcel(R"(, "enrich": {"asset": "Carrier"})"), "test parcel");
  REQUIRE(alone.enrich_asset.has_value());
  CHECK_FALSE(alone.enrich_asset->on_lines);
  CHECK(alone.enrich_asset->symbol == *alone.find("Carrier"));
  CHECK_FALSE(alone.enrich.has_value());  // no sku: no product columns
  const auto both = parse_declaration(
      parcel(R"(, "enrich": {"sku": "ProductId", "asset": "Label"})"), "test parcel");
  REQUIRE(both.enrich.has_value());
  REQUIRE(both.enrich_asset.has_value());
  CHECK(both.enrich_asset->on_lines);
  CHECK(both.enrich_asset->symbol == 1);
  CHECK_FALSE(parse_declaration(parcel(R"(, "enrich": {"sku": "Sku"})"), "test parcel")
                  .enrich_asset.has_value());
  // The shipped trade kind is enriched on its symbol, and on no product.
  const auto trade = find_kind("trade", "");
  REQUIRE(trade.enrich_asset.has_value());
  CHECK(trade.fields[trade.enrich_asset->symbol].name == "Symbol");
  CHECK_FALSE(trade.enrich.has_value());

  CHECK_THAT(refusal(R"(, "enrich": {"asset": "Sku"})"),
             Contains("enrich.asset: field \"Sku\" is integer; an asset's symbol is text"));
  CHECK_THAT(refusal(R"(, "enrich": {"asset": "Nope"})"),
             Contains("enrich.asset: names no field of the record or its lines"));
  CHECK_THAT(refusal(R"(, "enrich": {})"), Contains("enrich: names neither \"sku\""));
  CHECK_THAT(refusal(R"(, "enrich": {"asset": ""})"), Contains("must be a non-empty string"));
}
