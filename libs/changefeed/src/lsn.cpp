#include "millrace/changefeed/lsn.hpp"

#include <charconv>
#include <cstdio>

namespace millrace::changefeed {

std::string format_lsn(Lsn lsn) {
  char buf[20];
  const int n = std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                              static_cast<unsigned>(lsn & 0xFFFFFFFFu));
  return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<Lsn> parse_lsn(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto half = [](std::string_view part) -> std::optional<std::uint32_t> {
    if (part.empty() || part.size() > 8) return std::nullopt;
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value, 16);
    if (ec != std::errc() || end != part.data() + part.size()) return std::nullopt;
    return value;
  };
  const auto hi = half(text.substr(0, slash));
  const auto lo = half(text.substr(slash + 1));
  if (!hi || !lo) return std::nullopt;
  return (static_cast<Lsn>(*hi) << 32) | *lo;
}

}  // namespace millrace::changefeed
