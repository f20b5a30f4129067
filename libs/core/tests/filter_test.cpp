#include "millrace/core/filter.hpp"

#include <catch2/catch.hpp>

#include "millrace/reference/store_event_rules.hpp"

using namespace millrace::core;

namespace {

StoreEvent with(EventType type, std::string_view discount) {
  StoreEvent e;
  e.event_type = type;
  e.discount = *Decimal::parse(discount);
  return e;
}

}  // namespace

TEST_CASE("filter reason codes", "[filter]") {
  CHECK(reason_code(FilterReason::kEventTypeNotKept) == "event_type_not_kept");
  CHECK(reason_code(FilterReason::kDiscountNotAbove) == "discount_not_above_threshold");
}

TEST_CASE("discount must be strictly greater than the threshold", "[filter]") {
  const FilterConfig config;  // threshold 20, both types kept
  CHECK(apply_filter(with(EventType::kSale, "20"), config) == FilterReason::kDiscountNotAbove);
  CHECK(apply_filter(with(EventType::kSale, "0"), config) == FilterReason::kDiscountNotAbove);
  CHECK(apply_filter(with(EventType::kSale, "19.999999"), config) ==
        FilterReason::kDiscountNotAbove);
  CHECK_FALSE(apply_filter(with(EventType::kSale, "20.000001"), config));
  CHECK_FALSE(apply_filter(with(EventType::kInventory, "20.1"), config));
  CHECK_FALSE(apply_filter(with(EventType::kSale, "100"), config));

  FilterConfig zero;
  zero.min_discount_exclusive = Decimal::from_integer(0);
  CHECK(apply_filter(with(EventType::kSale, "0"), zero) == FilterReason::kDiscountNotAbove);
  CHECK_FALSE(apply_filter(with(EventType::kSale, "0.000001"), zero));
}

TEST_CASE("event types not kept are filtered first", "[filter]") {
  FilterConfig sale_only;
  sale_only.keep_inventory = false;
  CHECK(apply_filter(with(EventType::kInventory, "50"), sale_only) ==
        FilterReason::kEventTypeNotKept);
  // Type is reported even when the discount would also fail.
  CHECK(apply_filter(with(EventType::kInventory, "5"), sale_only) ==
        FilterReason::kEventTypeNotKept);
  CHECK_FALSE(apply_filter(with(EventType::kSale, "50"), sale_only));

  FilterConfig inventory_only;
  inventory_only.keep_sale = false;
  CHECK(apply_filter(with(EventType::kSale, "50"), inventory_only) ==
        FilterReason::kEventTypeNotKept);
  CHECK_FALSE(apply_filter(with(EventType::kInventory, "50"), inventory_only));

  FilterConfig none;
  none.keep_sale = none.keep_inventory = false;
  CHECK(apply_filter(with(EventType::kSale, "50"), none) == FilterReason::kEventTypeNotKept);
  CHECK(apply_filter(with(EventType::kInventory, "50"), none) == FilterReason::kEventTypeNotKept);
}
