#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace millrace::core {

// An exact decimal of any size and precision: digits * 10^exponent, so that
// 0.1 is 0.1 and 1e-7 or 1e40 are what they say. Slower than Decimal (its
// digits are a string), for what compares numbers as written rather than
// stores money: the webhooks' Event Grid filters (Event Grid compares .NET
// decimals, not doubles).
struct ExactDecimal {
  bool negative = false;
  std::string digits;  // no leading or trailing zeros; empty for zero
  std::int64_t exponent = 0;

  // A JSON number literal, with the strict grammar Decimal::parse reads
  // ("-1.50", "2e-7", "1E+40"); nullopt when it is not one. -0 is zero, and
  // exponents are clamped far beyond anything a JSON parser reads.
  static std::optional<ExactDecimal> parse(std::string_view literal);

  // JSON text: plain digits when the leading digit's power of ten is from -6
  // to 20 (as JavaScript prints numbers), else like 1.5e40 or 1e-7.
  std::string to_json() const;

  int sign() const { return digits.empty() ? 0 : (negative ? -1 : 1); }

  friend bool operator==(const ExactDecimal&, const ExactDecimal&) = default;
  friend std::strong_ordering operator<=>(const ExactDecimal& a, const ExactDecimal& b);
};

}  // namespace millrace::core
