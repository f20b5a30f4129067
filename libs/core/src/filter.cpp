#include "millrace/core/filter.hpp"

namespace millrace::core {

std::string_view reason_code(FilterReason reason) {
  switch (reason) {
    case FilterReason::kEventTypeNotKept:
      return "event_type_not_kept";
    case FilterReason::kDiscountNotAbove:
      return "discount_not_above_threshold";
  }
  return "unknown";
}

std::optional<FilterReason> apply_filter(const StoreEvent& event, const FilterConfig& config) {
  const bool kept_type =
      event.event_type == EventType::kSale ? config.keep_sale : config.keep_inventory;
  if (!kept_type) return FilterReason::kEventTypeNotKept;
  if (event.discount <= config.min_discount_exclusive) return FilterReason::kDiscountNotAbove;
  return std::nullopt;
}

}  // namespace millrace::core
