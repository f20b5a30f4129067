#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "millrace/core/event.hpp"

namespace millrace::core::detail {

using core::append_json_string;

// Deliberate deviations from the contract, for the generator's bad messages:
// one field left out, one field's value replaced by raw JSON text, or one
// number or boolean sent as a string ("3", "true"), as a careless producer
// does.
struct JsonTweak {
  std::string_view omit_field;
  std::string_view replace_field;
  std::string_view replace_raw;
  std::string_view quote_field;
};

// to_json with control over the body's "event_type" (nullopt: no such field)
// and optional tweaks. Writes into `out`, replacing its content.
void write_event_json(std::string& out, const StoreEvent& event,
                      std::optional<std::string_view> event_type_field, const JsonTweak& tweak);

}  // namespace millrace::core::detail
