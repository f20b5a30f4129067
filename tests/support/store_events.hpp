#pragma once

// Store events as `millrace produce --count` makes them: from the kinds
// generator and the store event's declaration (proto/kinds/store_event.json),
// each body naming its own event_type.

#include <optional>
#include <string>
#include <string_view>

#include "millrace/kinds/generator.hpp"
#include "millrace/reference/store_event.hpp"

namespace millrace::testing {

// The store event's generator for `options` (seed, bad_ratio, time window).
kinds::RecordGenerator store_event_generator(const kinds::RecordGeneratorOptions& options);

// The event `json` is, if it is valid.
std::optional<core::StoreEvent> valid_store_event(std::string_view json);

// `json` without its event_type member: the body of a client that sends
// the type in a header.
std::string without_event_type(std::string json);

}  // namespace millrace::testing
