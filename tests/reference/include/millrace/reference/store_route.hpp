#pragma once

#include <cstdint>
#include <string_view>

#include "millrace/core/store_message.hpp"
#include "millrace/reference/store_event.hpp"

namespace millrace::core {

// A store event given as JSON that names its own event_type, routed as
// core::route_store_event (valid) or core::route_invalid_store_json
// (invalid) would, the JSON read with the compiled contract
// (parse_event_into, the body's event_type its type). `event` is the parsed
// event when the route is valid (reused: its strings keep their capacity); a
// partial result to ignore otherwise. `millrace produce` reads it with the
// store event's declaration instead (libs/produce); the tests' oracle reads
// it with this.
StoreRoute route_store_json(std::string_view json, std::int32_t partitions, StoreEvent& event);

}  // namespace millrace::core
