#pragma once

// The text formats the contract names besides timestamps (timestamp.hpp) and
// decimals: a UUID and an IP address, as the store event's validator and
// every kind's codec (libs/kinds) check them. Inline: every message carries
// several.

#include <arpa/inet.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace millrace::core {

// Per byte of a UUID's text: the byte itself for '-' where a dash belongs,
// a hex digit in lower case, or 0 for a byte that does not belong there.
// One table lookup per byte replaces a chain of per-character conditions.
inline constexpr std::array<char, 256> kLowerHex = [] {
  std::array<char, 256> t{};
  for (char c = '0'; c <= '9'; ++c) t[static_cast<unsigned char>(c)] = c;
  for (char c = 'a'; c <= 'f'; ++c) t[static_cast<unsigned char>(c)] = c;
  for (char c = 'A'; c <= 'F'; ++c)
    t[static_cast<unsigned char>(c)] = static_cast<char>(c - 'A' + 'a');
  return t;
}();
inline constexpr std::size_t kUuidLength = 36;

inline bool is_uuid_dash_position(std::size_t i) {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

// Writes the canonical 8-4-4-4-12 UUID `text` to `out` in lower case. False if
// `text` is not one; `out` may then hold part of it.
inline bool lower_uuid(std::string_view text, std::string& out) {
  bool ok = text.size() == kUuidLength && text[8] == '-' && text[13] == '-' && text[18] == '-' &&
            text[23] == '-';
  if (ok) {
    out.resize(kUuidLength);
    for (std::size_t i = 0; i < kUuidLength; ++i) {
      if (is_uuid_dash_position(i)) {
        out[i] = '-';
        continue;
      }
      const char lower = kLowerHex[static_cast<unsigned char>(text[i])];
      ok &= lower != 0;
      out[i] = lower;
    }
  }
  return ok;
}

// A textual IPv4 or IPv6 address, as inet_pton reads them.
inline bool is_ip_address(std::string_view text) {
  // inet_pton reads a C string: an embedded NUL would hide a suffix.
  char buf[64];
  bool ok = !text.empty() && text.size() < sizeof buf &&
            std::memchr(text.data(), '\0', text.size()) == nullptr;
  if (ok) {
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    unsigned char addr[16];
    ok = inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
  }
  return ok;
}

}  // namespace millrace::core
