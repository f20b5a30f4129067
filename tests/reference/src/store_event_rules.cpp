#include "millrace/reference/store_event_rules.hpp"

namespace millrace::core {

Sale sale_of(const StoreEvent& event) {
  return {event.ts,    event.event_type, &event.category, event.sku,
          event.price, event.qty,        event.discount,  event.is_return};
}

std::optional<FilterReason> apply_filter(const StoreEvent& event, const FilterConfig& config) {
  const bool kept_type =
      event.event_type == EventType::kSale ? config.keep_sale : config.keep_inventory;
  if (!kept_type) return FilterReason::kEventTypeNotKept;
  if (event.discount <= config.min_discount_exclusive) return FilterReason::kDiscountNotAbove;
  return std::nullopt;
}

}  // namespace millrace::core
