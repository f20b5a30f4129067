#include "millrace/reference/store_route.hpp"

#include <optional>

#include "millrace/reference/validation.hpp"

namespace millrace::core {

StoreRoute route_store_json(std::string_view json, std::int32_t partitions, StoreEvent& event) {
  // The header is the body's own event_type, which is what parse_event_into
  // validates against, so a valid one is parsed once and routed by its
  // fields. Only an invalid one needs routing_hint's lenient second parse.
  if (!parse_event_into(json, std::nullopt, event)) {
    return route_store_event(event.event_type, event.store_id, event.priority_shipping, partitions);
  }
  return route_invalid_store_json(json, partitions);
}

}  // namespace millrace::core
