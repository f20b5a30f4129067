#include "millrace/kinds/duration.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>

namespace millrace::kinds {

namespace {

// Longest unit first, so that format_duration() picks the shortest text.
constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> kUnits = {{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};
constexpr std::int64_t kMaxMs = 100LL * 366 * 86'400'000;

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const auto digits = text.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos || digits > 12) return std::nullopt;
  std::int64_t n = 0;
  std::from_chars(text.data(), text.data() + digits, n);
  const auto unit = text.substr(digits);
  for (const auto& [name, ms] : kUnits) {
    if (unit != name) continue;
    if (n > kMaxMs / ms) return std::nullopt;
    return std::chrono::milliseconds(n * ms);
  }
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  for (const auto& [name, unit] : kUnits) {
    if (ms != 0 && ms % unit == 0) return std::to_string(ms / unit) + std::string(name);
  }
  return std::to_string(ms) + "ms";
}

}  // namespace millrace::kinds
