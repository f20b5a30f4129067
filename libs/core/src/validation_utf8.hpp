#pragma once

// UTF-8 checks of the validator: the payload before it is parsed, each text
// value before it is stored, and the bytes of a value quoted in a detail.
// Inline: the first two run on every message.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "millrace/core/utf8.hpp"

namespace millrace::core::detail {

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

}  // namespace millrace::core::detail
