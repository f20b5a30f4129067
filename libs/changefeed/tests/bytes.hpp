#pragma once

// Builds protocol messages byte by byte (big-endian), as the server would.

#include <cstdint>
#include <string>
#include <string_view>

namespace millrace::changefeed::testing {

class Bytes {
 public:
  Bytes& ch(char c) {
    out_.push_back(c);
    return *this;
  }
  Bytes& i8(std::uint8_t v) { return be(v, 1); }
  Bytes& i16(std::uint16_t v) { return be(v, 2); }
  Bytes& i32(std::uint32_t v) { return be(v, 4); }
  Bytes& i64(std::uint64_t v) { return be(v, 8); }
  Bytes& str(std::string_view s) {
    out_.append(s);
    out_.push_back('\0');
    return *this;
  }
  Bytes& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  // A TupleData column: 't' + length + text.
  Bytes& text(std::string_view s) {
    ch('t').i32(static_cast<std::uint32_t>(s.size()));
    return raw(s);
  }
  const std::string& str() const { return out_; }
  operator std::string_view() const { return out_; }

 private:
  Bytes& be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  std::string out_;
};

}  // namespace millrace::changefeed::testing
