#include "millrace/core/decimal.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>

#include "decimal_parse.hpp"

namespace millrace::core {
namespace detail {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<JsonNumber> scan_json_number(std::string_view literal) {
  std::size_t pos = 0;
  const std::size_t n = literal.size();
  JsonNumber out;
  if (pos < n && literal[pos] == '-') {
    out.negative = true;
    ++pos;
  }
  const std::size_t int_begin = pos;
  if (pos >= n || !is_digit(literal[pos])) return std::nullopt;
  if (literal[pos] == '0') {
    ++pos;
  } else {
    while (pos < n && is_digit(literal[pos])) ++pos;
  }
  out.int_digits = literal.substr(int_begin, pos - int_begin);
  if (pos < n && literal[pos] == '.') {
    ++pos;
    const std::size_t frac_begin = pos;
    while (pos < n && is_digit(literal[pos])) ++pos;
    if (pos == frac_begin) return std::nullopt;
    out.frac_digits = literal.substr(frac_begin, pos - frac_begin);
  }
  if (pos < n && (literal[pos] == 'e' || literal[pos] == 'E')) {
    ++pos;
    bool exp_negative = false;
    if (pos < n && (literal[pos] == '+' || literal[pos] == '-')) {
      exp_negative = literal[pos] == '-';
      ++pos;
    }
    if (pos >= n || !is_digit(literal[pos])) return std::nullopt;
    std::int64_t exponent = 0;
    for (; pos < n && is_digit(literal[pos]); ++pos) {
      exponent = std::min<std::int64_t>(exponent * 10 + (literal[pos] - '0'), kExponentClamp);
    }
    out.exponent = exp_negative ? -exponent : exponent;
  }
  if (pos != n) return std::nullopt;
  return out;
}

}  // namespace detail

DecimalStatus parse_decimal(std::string_view literal, Decimal& out) {
  const auto number = detail::scan_json_number(literal);
  if (!number) return DecimalStatus::kNotANumber;
  const bool negative = number->negative;

  // Value = digits * 10^power, with digits = integer part followed by the
  // fraction part; then strip zeros so only significant digits remain.
  const std::string_view int_digits = number->int_digits;
  const std::string_view frac_digits = number->frac_digits;
  std::int64_t power = number->exponent - static_cast<std::int64_t>(frac_digits.size());

  // Significant digits span [first, last] over the concatenation.
  auto digit_at = [&](std::size_t i) {
    return i < int_digits.size() ? int_digits[i] : frac_digits[i - int_digits.size()];
  };
  std::size_t total = int_digits.size() + frac_digits.size();
  std::size_t first = 0;
  while (first < total && digit_at(first) == '0') ++first;
  if (first == total) {
    out = Decimal::from_units(0);
    return DecimalStatus::kOk;
  }
  std::size_t last = total;  // one past the last significant digit
  while (digit_at(last - 1) == '0') {
    --last;
    ++power;
  }
  const std::int64_t shift = power + Decimal::kScale;
  if (shift < 0) return DecimalStatus::kTooPrecise;
  const std::int64_t digit_count = static_cast<std::int64_t>(last - first);
  if (digit_count + shift > 19) return DecimalStatus::kOverflow;

  const std::uint64_t limit =
      negative ? static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1
               : static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t magnitude = 0;
  for (std::size_t i = first; i < last; ++i) {
    if (__builtin_mul_overflow(magnitude, 10u, &magnitude) ||
        __builtin_add_overflow(magnitude, static_cast<unsigned>(digit_at(i) - '0'), &magnitude)) {
      return DecimalStatus::kOverflow;
    }
  }
  for (std::int64_t i = 0; i < shift; ++i) {
    if (__builtin_mul_overflow(magnitude, 10u, &magnitude)) return DecimalStatus::kOverflow;
  }
  if (magnitude > limit) return DecimalStatus::kOverflow;
  // Two's complement negation of the magnitude gives INT64_MIN exactly too.
  const std::uint64_t bits = negative ? (~magnitude + 1) : magnitude;
  out = Decimal::from_units(static_cast<std::int64_t>(bits));
  return DecimalStatus::kOk;
}

std::optional<Decimal> Decimal::parse(std::string_view literal) {
  Decimal value;
  if (parse_decimal(literal, value) != DecimalStatus::kOk) return std::nullopt;
  return value;
}

std::string Decimal::to_string() const {
  char buf[kTextMax];
  return std::string(buf, to_chars(buf));
}

char* Decimal::to_chars(char* out) const {
  const bool negative = units_ < 0;
  // Via unsigned so that INT64_MIN has a magnitude too.
  const std::uint64_t magnitude =
      negative ? ~static_cast<std::uint64_t>(units_) + 1 : static_cast<std::uint64_t>(units_);
  const std::uint64_t whole = magnitude / static_cast<std::uint64_t>(kOne);
  std::uint64_t frac = magnitude % static_cast<std::uint64_t>(kOne);

  char* p = out;
  if (negative) *p++ = '-';
  p = std::to_chars(p, out + kTextMax, whole).ptr;
  if (frac != 0) {
    int digits = kScale;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    *p++ = '.';
    char* end = p + digits;
    for (char* q = end; q != p;) {
      *--q = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    p = end;
  }
  return p;
}

}  // namespace millrace::core
