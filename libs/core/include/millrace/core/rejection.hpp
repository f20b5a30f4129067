#pragma once

// Why a record was refused, for every kind alike (kinds/record.hpp): the
// codes travel in dead-letter headers, metrics labels and SQL.

#include <cstdint>
#include <string>
#include <string_view>

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

}  // namespace millrace::core
