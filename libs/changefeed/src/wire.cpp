#include "wire.hpp"

#include <cstring>

namespace millrace::changefeed::wire {

std::string_view Reader::cstring() {
  const auto rest = bytes_.substr(pos_);
  const auto nul = rest.find('\0');
  if (nul == std::string_view::npos) fail("a string without its terminating NUL");
  pos_ += nul + 1;
  return rest.substr(0, nul);
}

void Reader::fail(const std::string& why) const {
  throw DecodeError(std::string(what_) + ": " + why + " at byte " + std::to_string(pos_) + " of " +
                    std::to_string(bytes_.size()));
}

std::string_view Reader::take(std::size_t n) {
  if (bytes_.size() - pos_ < n) {
    fail("truncated (" + std::to_string(n) + " more byte(s) expected)");
  }
  const auto out = bytes_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::uint64_t Reader::unsigned_be(std::size_t n) {
  const auto raw = take(n);
  std::uint64_t v = 0;
  for (const char c : raw) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

}  // namespace millrace::changefeed::wire
