#pragma once

// The store event's compiled contract: the tests' and benchmarks' reference
// (tests/reference). Every service reads the store event through its
// declaration, proto/kinds/store_event.json, with the `sax` codec
// (libs/kinds); the tests compare that path against this one. No library
// under libs/ includes it. It keeps the namespace the code had in core.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "millrace/core/decimal.hpp"
#include "millrace/core/event_type.hpp"
#include "millrace/core/json_string.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/reference/store_event_fields.hpp"

namespace millrace::core {

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

// Serialises an event to the contract's JSON. With include_event_type the
// body carries an "event_type" field too (the NDJSON file format and HTTP
// bodies do; Kafka messages carry it as a header instead).
std::string to_json(const StoreEvent& event, bool include_event_type);

}  // namespace millrace::core
