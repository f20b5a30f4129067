#include "millrace/core/store_message.hpp"

#include <charconv>
#include <utility>

#include "millrace/core/event_type.hpp"
#include "millrace/core/partitioner.hpp"

namespace millrace::core {

EventHeaders::EventHeaders(std::optional<std::string_view> event_type, bool priority_shipping) {
  if (event_type) headers_[size_++] = {kHeaderEventType, *event_type};
  headers_[size_++] = {kHeaderPriorityShipping, priority_shipping ? "true" : "false"};
}

StoreKey::StoreKey(std::int32_t store_id) {
  const auto result = std::to_chars(text_.data(), text_.data() + text_.size(), store_id);
  size_ = static_cast<std::size_t>(result.ptr - text_.data());
}

std::optional<std::string_view> StoreRoute::header() const {
  if (valid) return to_string(event_type);
  if (raw_event_type) return *raw_event_type;
  return std::nullopt;
}

StoreRoute route_store_event(EventType type, std::int32_t store_id, bool priority_shipping,
                             std::int32_t partitions) {
  StoreRoute route;
  route.valid = true;
  route.event_type = type;
  route.store_id = store_id;
  route.priority_shipping = priority_shipping;
  route.partition = partition_for(type, store_id, partitions);
  return route;
}

StoreRoute route_invalid_store_json(std::string_view json, std::int32_t partitions) {
  StoreRoute route;
  auto hint = routing_hint(json);
  route.store_id = hint.store_id;
  route.raw_event_type = std::move(hint.raw_event_type);
  route.partition = hint.event_type && hint.store_id
                        ? partition_for(*hint.event_type, *hint.store_id, partitions)
                        : partition_for_bytes(json.data(), json.size(), partitions);
  return route;
}

}  // namespace millrace::core
