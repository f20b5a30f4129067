#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "millrace/core/event.hpp"

namespace millrace::core {

// Why a message was rejected. The codes returned by reason_code() are a
// public interface: they appear in dead-letter headers, metrics labels and
// SQL, so never rename one.
enum class RejectReason : std::uint8_t {
  kInvalidJson,        // "invalid_json": not parseable JSON
  kNotAnObject,        // "not_an_object": valid JSON but not an object
  kMissingField,       // "missing_field": a required field is absent or null
  kWrongType,          // "wrong_type": e.g. a string where a number belongs
  kOutOfRange,         // "out_of_range": e.g. negative qty, discount > 100
  kInvalidFormat,      // "invalid_format": bad uuid, ip or timestamp text
  kMissingEventType,   // "missing_event_type": no event_type header
  kUnknownEventType,   // "unknown_event_type": header not a known type
  kEventTypeMismatch,  // "event_type_mismatch": body field disagrees with header
};
inline constexpr int kRejectReasonCount = 9;

std::string_view reason_code(RejectReason reason);

struct Rejection {
  RejectReason reason;
  std::string field;   // the offending field, empty when not about one field
  std::string detail;  // human-readable, e.g. "qty must be >= 1, got -3"
};

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

// Whether PostgreSQL's text can hold `text`: valid UTF-8 (no overlong
// sequence, no surrogate) without U+0000. A JSON escape ("\u0000", a lone
// "\udc00") can decode to either from a valid document. Declared kinds
// (libs/kinds) check their text with it as store events do.
bool is_storable_text(std::string_view text);

// What a producer needs to route a raw NDJSON line without validating it:
// the event type (from an "event_type" field) and the store_id, each when
// present and well typed. Never throws; garbage yields two nullopts.
struct RoutingHint {
  std::optional<EventType> event_type;
  std::optional<std::string> raw_event_type;  // the field's text, even if unknown
  std::optional<std::int32_t> store_id;
};
RoutingHint routing_hint(std::string_view payload);

}  // namespace millrace::core
