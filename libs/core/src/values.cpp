#include "millrace/core/values.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>

namespace millrace::core {

namespace {

using std::chrono::milliseconds;

constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> kUnits{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

}  // namespace

milliseconds parse_duration(std::string_view text, std::optional<milliseconds> bare) {
  std::int64_t n = 0;
  const auto* const end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, n);
  const std::string example = " such as 250ms, 5s, 30m, 1h or 7d";
  if (text.empty() || stop == text.data() || text.front() == '-' || text.front() == '+') {
    throw std::invalid_argument(quoted(text) + " is not a duration" + example);
  }
  if (ec != std::errc()) throw std::invalid_argument(quoted(text) + " is too long a duration");
  const std::string_view unit(stop, static_cast<std::size_t>(end - stop));
  std::int64_t scale = 0;
  if (unit.empty()) {
    if (!bare) {
      throw std::invalid_argument(quoted(text) + " has no unit: give one of ms, s, m, h or d, " +
                                  "as in " + std::string(text) + "s");
    }
    scale = bare->count();
  } else {
    for (const auto& [name, ms] : kUnits) {
      if (unit == name) scale = ms;
    }
    if (scale == 0) {
      throw std::invalid_argument(quoted(text) + " has an unknown unit " + quoted(unit) +
                                  ": use ms, s, m, h or d" + example.substr(5));
    }
  }
  if (n > std::numeric_limits<std::int64_t>::max() / scale) {
    throw std::invalid_argument(quoted(text) + " is too long a duration");
  }
  return milliseconds(n * scale);
}

std::string format_duration(milliseconds d) {
  const std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  for (const auto& [name, scale] : kUnits) {
    if (ms % scale == 0) return std::to_string(ms / scale) + std::string(name);
  }
  return std::to_string(ms) + "ms";
}

std::vector<std::string> split_list(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (true) {
    const auto at = text.find(separator);
    std::string_view item = text.substr(0, at);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

std::string join_list(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace millrace::core
