#include "millrace/core/base64.hpp"

#include <array>
#include <cstdint>

namespace millrace::core {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0-63 for a character of the alphabet, -1 otherwise.
constexpr std::array<std::int8_t, 256> kValues = [] {
  std::array<std::int8_t, 256> v{};
  for (auto& x : v) x = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    v[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return v;
}();

}  // namespace

void append_base64(std::string& out, std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  out.reserve(out.size() + 4 * ((n + 2) / 3));
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == n) {
    const std::uint32_t v = std::uint32_t{p[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == n) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
}

std::string base64(std::string_view bytes) {
  std::string out;
  append_base64(out, bytes);
  return out;
}

bool unbase64(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.clear();
  out.reserve(3 * text.size() / 4);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      const bool padding_place = i + 4 == text.size() && j >= 4 - pad;
      if (padding_place) {
        if (c != '=') return false;
        v <<= 6;
        continue;
      }
      const std::int8_t x = kValues[static_cast<unsigned char>(c)];
      if (x < 0) return false;
      v = (v << 6) | static_cast<std::uint32_t>(x);
    }
    out += static_cast<char>((v >> 16) & 0xFF);
    if (!(i + 4 == text.size() && pad == 2)) out += static_cast<char>((v >> 8) & 0xFF);
    if (!(i + 4 == text.size() && pad >= 1)) out += static_cast<char>(v & 0xFF);
  }
  return true;
}

}  // namespace millrace::core
