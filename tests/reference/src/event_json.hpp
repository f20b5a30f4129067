#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "millrace/reference/store_event.hpp"

namespace millrace::core::detail {

using core::append_json_string;

// to_json with control over the body's "event_type" (nullopt: no such
// field). Writes into `out`, replacing its content.
void write_event_json(std::string& out, const StoreEvent& event,
                      std::optional<std::string_view> event_type_field);

}  // namespace millrace::core::detail
