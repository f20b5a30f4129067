#include "millrace/sink/decision.hpp"

#include <catch2/catch.hpp>
#include <string>

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

TEST_CASE("classify keeps, filters and rejects") {
  const auto kept = sink::classify(with_discount("30"), "sale_event", core::FilterConfig{});
  REQUIRE(std::holds_alternative<sink::Kept>(kept));
  CHECK(std::get<sink::Kept>(kept).event.id == "743da362-69df-4e63-a95f-a1d93e29825e");

  const auto at_threshold = sink::classify(with_discount("20"), "sale_event", core::FilterConfig{});
  REQUIRE(std::holds_alternative<sink::Filtered>(at_threshold));
  CHECK(std::get<sink::Filtered>(at_threshold).reason == core::FilterReason::kDiscountNotAbove);

  const auto bad = sink::classify("{nope", "sale_event", core::FilterConfig{});
  REQUIRE(std::holds_alternative<sink::Rejected>(bad));
  CHECK(std::get<sink::Rejected>(bad).rejection.reason == core::RejectReason::kInvalidJson);

  core::FilterConfig sale_only;
  sale_only.keep_inventory = false;
  const auto inv = sink::classify(with_discount("30"), "inventory_event", sale_only);
  REQUIRE(std::holds_alternative<sink::Filtered>(inv));
  CHECK(std::get<sink::Filtered>(inv).reason == core::FilterReason::kEventTypeNotKept);

  const auto missing = sink::classify(with_discount("30"), std::nullopt, core::FilterConfig{});
  REQUIRE(std::holds_alternative<sink::Rejected>(missing));
  CHECK(std::get<sink::Rejected>(missing).rejection.reason ==
        core::RejectReason::kMissingEventType);
}
