#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/core/decimal.hpp"
#include "millrace/core/store_event_fields.hpp"
#include "millrace/core/timestamp.hpp"

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

// One validated store event: a member for each field of its declaration,
// proto/kinds/store_event.json, generated at build time
// (cmake/store_event_contract.cmake). A uuid is kept canonical lowercase, an
// ip as its text, and event_type comes from the event_type header.
struct StoreEvent {
#define MILLRACE_STORE_EVENT_MEMBER(enumerator, name, member, field_type, required, min, max, \
                                    initial)                                                  \
  member name = initial;
  MILLRACE_STORE_EVENT_FIELDS(MILLRACE_STORE_EVENT_MEMBER)
#undef MILLRACE_STORE_EVENT_MEMBER
};

// Appends `text` as a JSON string literal, quotes included. Bytes >= 0x80 pass
// through, so `text` must be UTF-8 (rejection details always are).
void append_json_string(std::string& out, std::string_view text);

// Serialises an event to the contract's JSON. With include_event_type the
// body carries an "event_type" field too (the NDJSON file format and HTTP
// bodies do; Kafka messages carry it as a header instead).
std::string to_json(const StoreEvent& event, bool include_event_type);

}  // namespace millrace::core
