#include "millrace/changefeed/lsn.hpp"

#include <charconv>

namespace millrace::changefeed {

namespace {

// `v` in upper-case hexadecimal without leading zeros (printf's %X).
char* put_hex(char* out, std::uint32_t v) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  int shift = 28;
  while (shift > 0 && (v >> shift) == 0) shift -= 4;
  for (; shift >= 0; shift -= 4) *out++ = kDigits[(v >> shift) & 0xF];
  return out;
}

}  // namespace

void append_lsn(std::string& out, Lsn lsn) {
  char buf[17];
  char* end = put_hex(buf, static_cast<std::uint32_t>(lsn >> 32));
  *end++ = '/';
  end = put_hex(end, static_cast<std::uint32_t>(lsn & 0xFFFFFFFFu));
  out.append(buf, end);
}

std::string format_lsn(Lsn lsn) {
  std::string out;
  append_lsn(out, lsn);
  return out;
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
