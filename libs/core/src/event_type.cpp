#include "millrace/core/event_type.hpp"

namespace millrace::core {

std::string_view to_string(EventType type) {
  switch (type) {
    case EventType::kInventory:
      return kInventoryEvent;
    case EventType::kSale:
      return kSaleEvent;
  }
  return "unknown";
}

std::optional<EventType> parse_event_type(std::string_view text) {
  if (text == kSaleEvent) return EventType::kSale;
  if (text == kInventoryEvent) return EventType::kInventory;
  return std::nullopt;
}

}  // namespace millrace::core
