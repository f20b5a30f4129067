#include "millrace/core/exact_decimal.hpp"

#include <algorithm>

#include "decimal_parse.hpp"

namespace millrace::core {

std::optional<ExactDecimal> ExactDecimal::parse(std::string_view literal) {
  const auto number = detail::scan_json_number(literal);
  if (!number) return std::nullopt;
  std::string all;
  all.reserve(number->int_digits.size() + number->frac_digits.size());
  all += number->int_digits;
  all += number->frac_digits;
  const auto first = all.find_first_not_of('0');
  if (first == std::string::npos) return ExactDecimal{};  // zero, -0 included
  const auto last = all.find_last_not_of('0');
  const std::int64_t exponent = number->exponent -
                                static_cast<std::int64_t>(number->frac_digits.size()) +
                                static_cast<std::int64_t>(all.size() - 1 - last);
  ExactDecimal d;
  d.negative = number->negative;
  d.digits = all.substr(first, last - first + 1);
  d.exponent = std::clamp(exponent, -detail::kExponentClamp, detail::kExponentClamp);
  return d;
}

std::string ExactDecimal::to_json() const {
  if (digits.empty()) return "0";
  std::string out = negative ? "-" : "";
  const auto n = static_cast<std::int64_t>(digits.size());
  const std::int64_t scientific = n - 1 + exponent;
  if (scientific >= -6 && scientific <= 20) {
    if (exponent >= 0) {
      out += digits;
      out.append(static_cast<std::size_t>(exponent), '0');
    } else if (n + exponent > 0) {
      const auto whole = static_cast<std::size_t>(n + exponent);
      out += digits.substr(0, whole);
      out += '.';
      out += digits.substr(whole);
    } else {
      out += "0.";
      out.append(static_cast<std::size_t>(-(n + exponent)), '0');
      out += digits;
    }
    return out;
  }
  out += digits[0];
  if (n > 1) {
    out += '.';
    out += digits.substr(1);
  }
  out += 'e';
  out += std::to_string(scientific);
  return out;
}

namespace {

// As |a| is below, equal to or above |b|.
std::strong_ordering compare_magnitude(const ExactDecimal& a, const ExactDecimal& b) {
  // One past the leading digit's power of ten: digits carry no leading zeros.
  const auto top_a = static_cast<std::int64_t>(a.digits.size()) + a.exponent;
  const auto top_b = static_cast<std::int64_t>(b.digits.size()) + b.exponent;
  if (top_a != top_b) return top_a <=> top_b;
  return a.digits.compare(b.digits) <=> 0;  // neither has trailing zeros
}

}  // namespace

std::strong_ordering operator<=>(const ExactDecimal& a, const ExactDecimal& b) {
  const int sa = a.sign();
  const int sb = b.sign();
  if (sa != sb) return sa <=> sb;
  if (sa == 0) return std::strong_ordering::equal;
  return sa > 0 ? compare_magnitude(a, b) : compare_magnitude(b, a);
}

}  // namespace millrace::core
