// The store event's fields read from its declaration's record, and a
// declaration they cannot be read from refused by name.
#include "millrace/kinds/store_event.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/core/event_type.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "shipped.hpp"

using namespace millrace;
using namespace millrace::kinds;

namespace {

constexpr std::string_view kEvent =
    R"({"id":"743DA362-69DF-4E2B-9E5C-1E0A4F3C0B3A","request_id":"0c7a9d1e-2f4b-4c3d-8e5f-6a7b8c9d0e1f",)"
    R"("store_id":7,"store_fqdn":"store-007.millrace.local","store_ip":"10.0.0.7","cust_id":42,)"
    R"("category":"Books","sku":1001,"price":12.5,"qty":3,"discount":25.5,"gift_wrap":false,)"
    R"("variant":"red","priority_shipping":true,"ts":"2026-11-29T10:00:00Z","is_return":false)";

// The built-in declaration with `from` replaced by `to` in its text.
Declaration changed(const std::string& from, const std::string& to) {
  std::string json;
  for (const auto& b : built_in_kinds()) {
    if (b.kind == kStoreEvent) json = std::string(b.json);
  }
  // Without its views (its last member), which read the fields changed here.
  const auto views = json.find(",\n  \"views\"");
  REQUIRE(views != std::string::npos);
  json = json.substr(0, views) + "\n}\n";
  REQUIRE(json.find(from) != std::string::npos);
  json.replace(json.find(from), from.size(), to);
  return parse_declaration(json, "test store_event");
}

}  // namespace

TEST_CASE("the store event's fields are read from its record, its type from the body first") {
  const DeclaredCodec codec(testing::store_event(), TypeFrom::kBody);
  const StoreEventFields& fields = StoreEventFields::built_in();
  Record record;
  REQUIRE_FALSE(codec.parse_into(std::string(kEvent) + R"(,"event_type":"sale_event"})",
                                 "inventory_event", record));
  CHECK(fields.event_type(record) == core::EventType::kSale);
  CHECK(fields.id(record) == "743da362-69df-4e2b-9e5c-1e0a4f3c0b3a");
  CHECK(fields.store_id(record) == 7);
  CHECK(fields.priority_shipping(record));
  CHECK(fields.price(record) == *core::Decimal::parse("12.5"));
  CHECK(fields.qty(record) == 3);
  CHECK(fields.discount(record) == *core::Decimal::parse("25.5"));
  CHECK_FALSE(fields.is_return(record));
  // Without the field the header stands in; without either, refused.
  REQUIRE_FALSE(codec.parse_into(std::string(kEvent) + "}", "inventory_event", record));
  CHECK(fields.event_type(record) == core::EventType::kInventory);
  const auto missing = codec.parse_into(std::string(kEvent) + "}", std::nullopt, record);
  REQUIRE(missing);
  CHECK(missing->reason == core::RejectReason::kMissingEventType);
  // Read from the header, a body's other type is a mismatch.
  const DeclaredCodec by_header(testing::store_event());
  const auto mismatch =
      by_header.parse(std::string(kEvent) + R"(,"event_type":"sale_event"})", "inventory_event");
  REQUIRE(std::holds_alternative<core::Rejection>(mismatch));
  CHECK(std::get<core::Rejection>(mismatch).reason == core::RejectReason::kEventTypeMismatch);
}

TEST_CASE("a store event declaration its fields cannot be read from is refused by name") {
  CHECK_NOTHROW(StoreEventFields(testing::store_event()));
  CHECK_THROWS_WITH(StoreEventFields(changed(R"("name": "qty")", R"("name": "quantity")")),
                    Catch::Contains("field qty is missing"));
  CHECK_THROWS_WITH(
      StoreEventFields(changed(R"("max": 2147483647, "generate": {"range": [1, 50]})",
                               R"("max": 2147483648, "generate": {"range": [1, 50]})")),
      Catch::Contains("store_id must fit 32 bits"));
  CHECK_THROWS_WITH(StoreEventFields(changed(R"("column": "qty", "type": "integer")",
                                             R"("column": "qty", "type": "decimal")")),
                    Catch::Contains("qty has another type"));
}
