#pragma once

#include <cstddef>
#include <string>

namespace millrace::archive::detail {

// Lowercase hex of a digest, as archive_files stores checksums.
inline std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace millrace::archive::detail
