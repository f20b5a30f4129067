#pragma once

// The store event's two types and the Kafka headers its messages carry
// (proto/README.md): what routes a store message (store_message.hpp,
// partitioner.hpp) and what the declared kinds' shared code names
// (kinds/store_event.hpp), without the event's fields.

#include <cstdint>
#include <optional>
#include <string_view>

namespace millrace::core {

enum class EventType : std::uint8_t { kInventory = 0, kSale = 1 };

inline constexpr std::string_view kSaleEvent = "sale_event";
inline constexpr std::string_view kInventoryEvent = "inventory_event";

std::string_view to_string(EventType type);
std::optional<EventType> parse_event_type(std::string_view text);

// Kafka header names that carry the event properties (the Event Hubs
// "properties" of the original system).
inline constexpr std::string_view kHeaderEventType = "event_type";
inline constexpr std::string_view kHeaderPriorityShipping = "priority_shipping";

}  // namespace millrace::core
