#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "millrace/core/decimal.hpp"

namespace millrace::core::detail {

// Exponents past this are far beyond anything a JSON parser reads as a
// number, or any literal short enough to matter can bring back into range;
// clamping them keeps the arithmetic of the readers below from overflowing.
inline constexpr std::int64_t kExponentClamp = std::int64_t{1} << 40;

// A JSON number literal's parts, as written: the strict grammar
// -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? that Decimal and ExactDecimal read.
struct JsonNumber {
  bool negative = false;
  std::string_view int_digits;
  std::string_view frac_digits;
  std::int64_t exponent = 0;  // clamped to +-kExponentClamp
};

// nullopt when `literal` is not one.
std::optional<JsonNumber> scan_json_number(std::string_view literal);

}  // namespace millrace::core::detail
