#pragma once

// How a rejection's detail text shows what was sent. Only failures build
// these strings, so they stay out of line.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "millrace/reference/validation.hpp"
#include "validation_reader.hpp"

namespace millrace::core::detail {

// Offending values are quoted in details up to this many bytes.
constexpr std::size_t kMaxQuotedBytes = 40;

// A value quoted for a detail message: JSON-escaped, cut to a short prefix,
// and with invalid UTF-8 bytes shown as \xNN so the detail itself is always
// valid text (it ends up in headers and SQL).
std::string quoted(std::string_view text);

// A number's literal, cut to a short prefix.
std::string short_number(std::string_view text);

// "string \"7\"", "number 7", "true", "an object or array": what was sent.
std::string describe(const Slot& slot);

// "an array", "a scalar": what the message is instead of an object.
std::string_view root_name(Root root);

// A rejection about the message as a whole rather than one field.
inline Rejection reject(RejectReason reason, std::string detail) {
  return Rejection{reason, std::string(), std::move(detail)};
}

}  // namespace millrace::core::detail
