#pragma once

// Big-endian reading and writing for PostgreSQL's replication protocol and
// pgoutput messages (network byte order throughout).

#include <cstdint>
#include <string>
#include <string_view>

#include "millrace/changefeed/pgoutput.hpp"

namespace millrace::changefeed::wire {

// Reads fields in order from one message; any read past its end, or a
// String without its terminating NUL, throws DecodeError naming `what` and
// the offset, so a truncated message is reported rather than misread.
class Reader {
 public:
  Reader(std::string_view bytes, const char* what) : bytes_(bytes), what_(what) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  char byte() { return take(1)[0]; }
  std::int16_t i16() { return static_cast<std::int16_t>(unsigned_be(2)); }
  std::int32_t i32() { return static_cast<std::int32_t>(unsigned_be(4)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(unsigned_be(4)); }
  std::int64_t i64() { return static_cast<std::int64_t>(unsigned_be(8)); }
  std::uint64_t u64() { return unsigned_be(8); }
  // A NUL-terminated string (the protocol's String).
  std::string_view cstring();
  // Exactly n bytes.
  std::string_view bytes(std::size_t n) { return take(n); }
  // Whatever is left.
  std::string_view rest() { return take(bytes_.size() - pos_); }

  bool at_end() const { return pos_ == bytes_.size(); }
  std::size_t offset() const { return pos_; }
  [[noreturn]] void fail(const std::string& why) const;

 private:
  std::string_view take(std::size_t n);
  std::uint64_t unsigned_be(std::size_t n);

  std::string_view bytes_;
  std::size_t pos_ = 0;
  const char* what_;
};

inline void put_u8(std::string& out, std::uint8_t v) {
  out.push_back(static_cast<char>(v));
}
inline void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

}  // namespace millrace::changefeed::wire
