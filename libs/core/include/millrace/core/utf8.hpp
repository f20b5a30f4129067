#pragma once

// UTF-8, one code point at a time: what the validator checks every message's
// text with, and what the webhooks' filter reads strings by. Inline: the
// validator runs it on every message.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace millrace::core {

// The code point at s[i] and its length in bytes; a byte that starts no valid
// UTF-8 sequence (truncated, overlong, a surrogate, past U+10FFFF) stands for
// itself, with length 1 and `valid` false.
struct Utf8CodePoint {
  char32_t value;
  std::size_t length;
  bool valid;
};

inline Utf8CodePoint decode_utf8(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1, true};
  std::size_t n = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return {b0, 1, false};
  }
  if (i + n > s.size()) return {b0, 1, false};
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {b0, 1, false};
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {b0, 1, false};
  return {cp, n, true};
}

// Whether `text` is valid UTF-8 without a control character but JSON's
// whitespace (tab, line feed, carriage return). RapidJSON's fast reading of
// such a text (its SSE2 scans, no UTF-8 check of its own) is its careful
// reading's; of another, not: its SSE2 scan of a string lets 0x1a..0x1f
// through, which JSON refuses raw. Eight ASCII bytes are checked at a time.
inline bool is_plain_json_text(std::string_view text) {
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  constexpr std::uint64_t kSpaces = 0x2020202020202020ULL;
  for (std::size_t i = 0; i < text.size();) {
    if (i + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      // No byte of the high half, and none below a space.
      if (((word | ((word - kSpaces) & ~word)) & kHigh) == 0) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20) {
      if (c != '\t' && c != '\n' && c != '\r') return false;
      ++i;
    } else if (c < 0x80) {
      ++i;
    } else {
      const auto cp = decode_utf8(text, i);
      if (!cp.valid) return false;
      i += cp.length;
    }
  }
  return true;
}

// Appends `cp` (at most U+10FFFF) as UTF-8.
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// `text` with each byte that starts no valid UTF-8 sequence (a character
// cut off included), and each NUL, replaced by U+FFFD: what a PostgreSQL
// text value, or an error message quoting a client, can hold of arbitrary
// bytes, such as a receiver's answer.
inline std::string utf8_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto cp = decode_utf8(text, i);
    if (cp.valid && cp.value != 0) {
      out.append(text.substr(i, cp.length));
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
    }
    i += cp.length;
  }
  return out;
}

// The length .NET (or Java, or JavaScript) gives `s`: UTF-16 code units. A
// byte of no valid sequence counts as one.
inline std::size_t utf16_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    const auto cp = decode_utf8(s, i);
    n += cp.valid && cp.value >= 0x10000 ? 2 : 1;
    i += cp.length;
  }
  return n;
}

// Whole-text checks, run on every message: the payload before it is
// parsed, each text value before it is stored.

// Length of the valid UTF-8 sequence at text[i] (no surrogates, no overlongs),
// or 0 if the bytes there are not one.
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto cp = decode_utf8(text, i);
  return cp.valid ? cp.length : 0;
}

// Offset of the first byte that does not start a valid UTF-8 sequence, or
// npos. Messages are almost all ASCII, so eight bytes are checked at a time.
inline std::size_t first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

// PostgreSQL text refuses NUL and invalid UTF-8; JSON escapes ("\u0000", a
// lone "\udc00") can produce both even from valid JSON input.
inline bool is_storable_text(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (i + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      // Eight ASCII bytes, none of them NUL (the classic has-zero-byte test).
      const std::uint64_t zero = (word - 0x0101010101010101ULL) & ~word & 0x8080808080808080ULL;
      if ((word & 0x8080808080808080ULL) == 0 && zero == 0) {
        i += 8;
        continue;
      }
    }
    if (text[i] == '\0') return false;
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

}  // namespace millrace::core
