#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/core/decimal.hpp"
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

// One validated store event; the fields of proto/store_event.schema.json.
struct StoreEvent {
  std::string id;          // canonical lowercase UUID
  std::string request_id;  // canonical lowercase UUID
  std::int32_t store_id = 0;
  std::string store_fqdn;
  std::string store_ip;  // textual IPv4 or IPv6 address
  std::int64_t cust_id = 0;
  std::string category;
  std::int64_t sku = 0;
  Decimal price;
  std::int32_t qty = 0;
  Decimal discount;  // percentage, 0..100
  bool gift_wrap = false;
  std::string variant;
  bool priority_shipping = false;
  TimestampUs ts = 0;
  std::optional<std::string> contact_me;
  bool is_return = false;
  EventType event_type = EventType::kSale;  // from the event_type header
};

// Appends `text` as a JSON string literal, quotes included. Bytes >= 0x80 pass
// through, so `text` must be UTF-8 (rejection details always are).
void append_json_string(std::string& out, std::string_view text);

// Serialises an event to the contract's JSON. With include_event_type the
// body carries an "event_type" field too (the NDJSON file format and HTTP
// bodies do; Kafka messages carry it as a header instead).
std::string to_json(const StoreEvent& event, bool include_event_type);

}  // namespace millrace::core
