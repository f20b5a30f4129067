#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace millrace::core {

// Exact intermediate for money arithmetic (price x qty x discount overflows
// 64 bits at micro-unit scale). __extension__ keeps -Wpedantic quiet.
__extension__ typedef __int128 Int128;

// An exact decimal with six fractional digits, stored as a scaled integer.
// Prices and discounts arrive as JSON number literals; keeping them scaled
// (never as double) is what lets PostgreSQL NUMERIC columns hold exactly what
// the producer sent.
class Decimal {
 public:
  static constexpr int kScale = 6;
  static constexpr std::int64_t kOne = 1'000'000;

  constexpr Decimal() = default;
  static constexpr Decimal from_units(std::int64_t units) { return Decimal(units); }
  static constexpr Decimal from_integer(std::int64_t whole) { return Decimal(whole * kOne); }

  // Parses a JSON number literal ("45.85", "-3", "1e2", "2.5E-1"). Returns
  // nullopt if it is not a number, has more than kScale significant fractional
  // digits, or does not fit.
  static std::optional<Decimal> parse(std::string_view literal);

  constexpr std::int64_t units() const { return units_; }
  // Shortest exact text: "45.85", "20", "-0.5". Valid as a PostgreSQL numeric.
  std::string to_string() const;
  // The same text written into `out`, which holds kTextMax bytes, without
  // allocating (a row's COPY text); returns its end.
  static constexpr std::size_t kTextMax = 48;
  char* to_chars(char* out) const;
  double to_double() const { return static_cast<double>(units_) / kOne; }

  friend constexpr auto operator<=>(Decimal, Decimal) = default;

 private:
  constexpr explicit Decimal(std::int64_t units) : units_(units) {}
  std::int64_t units_ = 0;
};

// Decimal::parse folds every failure into nullopt; a validator needs to tell
// the sender *why* its number was refused.
enum class DecimalStatus : std::uint8_t { kOk, kNotANumber, kTooPrecise, kOverflow };
DecimalStatus parse_decimal(std::string_view literal, Decimal& out);

}  // namespace millrace::core
