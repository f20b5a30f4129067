// The store event's codec as the sink decides with it: parsed on the
// compiled contract, then kept or filtered by the compiled filter the
// declared keep rule feeds (kinds/codec.hpp).
#include "millrace/kinds/codec.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <variant>

namespace {

using namespace millrace;

const std::string kValid =
    R"({"id":"743da362-69df-4e63-a95f-a1d93e29825e","request_id":"743da362-69df-4e63-a95f-a1d93e29825e",)"
    R"("store_id":5,"store_fqdn":"localhost","store_ip":"127.0.0.1","cust_id":549,"category":"Notebooks",)"
    R"("sku":169008,"price":45.85,"qty":34,"discount":DISCOUNT,"gift_wrap":true,"variant":"red",)"
    R"("priority_shipping":false,"ts":"2023-05-19T14:36:09.985501","contact_me":"github.com/miztiik","is_return":true})";

std::string with_discount(const std::string& d) {
  std::string s = kValid;
  s.replace(s.find("DISCOUNT"), 8, d);
  return s;
}

}  // namespace

TEST_CASE("the store event codec parses, keeps, filters and rejects") {
  const kinds::StoreEventCodec codec;
  const auto kept = codec.parse(with_discount("30"), "sale_event");
  REQUIRE(std::holds_alternative<core::StoreEvent>(kept));
  const auto& event = std::get<core::StoreEvent>(kept);
  CHECK(codec.identity(event) == "743da362-69df-4e63-a95f-a1d93e29825e");
  CHECK(codec.time(event) == event.ts);
  CHECK_FALSE(codec.not_kept(event).has_value());

  const auto at_threshold = codec.parse(with_discount("20"), "sale_event");
  REQUIRE(std::holds_alternative<core::StoreEvent>(at_threshold));
  CHECK(codec.not_kept(std::get<core::StoreEvent>(at_threshold)) == "discount_not_above_threshold");

  const auto bad = codec.parse("{nope", "sale_event");
  REQUIRE(std::holds_alternative<core::Rejection>(bad));
  CHECK(std::get<core::Rejection>(bad).reason == core::RejectReason::kInvalidJson);

  core::FilterConfig sale_only;
  sale_only.keep_inventory = false;
  const kinds::StoreEventCodec sales(sale_only);
  const auto inv = sales.parse(with_discount("30"), "inventory_event");
  REQUIRE(std::holds_alternative<core::StoreEvent>(inv));
  CHECK(sales.not_kept(std::get<core::StoreEvent>(inv)) == "event_type_not_kept");

  const auto missing = codec.parse(with_discount("30"), std::nullopt);
  REQUIRE(std::holds_alternative<core::Rejection>(missing));
  CHECK(std::get<core::Rejection>(missing).reason == core::RejectReason::kMissingEventType);
}
