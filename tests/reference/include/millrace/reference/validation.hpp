#pragma once

// The store event's compiled SAX validator (tests/reference): the reference
// the `sax` codec of libs/kinds is compared against.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/core/rejection.hpp"
#include "millrace/reference/store_event.hpp"

namespace millrace::core {

// Parses and validates one message value against the contract.
// event_type_header is the value of the `event_type` Kafka header, nullopt if
// the header is absent. A body may carry an optional "event_type" field; if it
// does it must equal the header. Unknown extra fields are ignored (forward
// compatibility); known fields must have the contract's type and range.
std::variant<StoreEvent, Rejection> parse_event(std::string_view payload,
                                                std::optional<std::string_view> event_type_header);

// For bodies that carry their type themselves (HTTP requests): the type is the
// body's "event_type" string when it has one, else `fallback_event_type` (a
// request header). Same checks and rejection order as parse_event, in one
// parse. Fills `event` in place, reusing its strings' capacity, so a caller
// that keeps one StoreEvent per thread validates without allocating; on a
// rejection `event` holds a partial result to ignore. nullopt means valid.
std::optional<Rejection> parse_event_into(std::string_view payload,
                                          std::optional<std::string_view> fallback_event_type,
                                          StoreEvent& event);

}  // namespace millrace::core
