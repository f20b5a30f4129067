#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "millrace/core/decimal.hpp"

namespace millrace::core {

enum class FilterReason : std::uint8_t {
  kEventTypeNotKept,  // "event_type_not_kept"
  kDiscountNotAbove,  // "discount_not_above_threshold"
};
std::string_view reason_code(FilterReason reason);

struct FilterConfig {
  bool keep_sale = true;
  bool keep_inventory = true;
  Decimal min_discount_exclusive = Decimal::from_integer(20);
};

}  // namespace millrace::core
