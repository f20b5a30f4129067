#pragma once

// The validator's second pass: what the reader kept of a message, judged
// against the contract field by field.

#include <optional>
#include <string_view>

#include "millrace/reference/store_event.hpp"
#include "millrace/reference/validation.hpp"
#include "validation_reader.hpp"

namespace millrace::core::detail {

// The checks after the syntax pass, shared by parse_event and
// parse_event_into. `event` is filled in place; on failure it holds a partial
// event the caller must ignore.
std::optional<Rejection> validate_parsed(const ParsedBody& body,
                                         std::optional<std::string_view> event_type_header,
                                         StoreEvent& event);

}  // namespace millrace::core::detail
