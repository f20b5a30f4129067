#include "millrace/pg/copy_binary.hpp"

#include <array>
#include <stdexcept>

namespace millrace::pg {

namespace {

// The binary format's signature, then its flags and header extension
// length (both 0).
constexpr std::array<char, 19> kHeader = {'P',  'G', 'C', 'O', 'P', 'Y', '\n', '\xff', '\r', '\n',
                                          '\0', 0,   0,   0,   0,   0,   0,    0,      0};

void put_be(std::string& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

CopyBinary& CopyBinary::begin_row() {
  row_start_ = data_.size();
  fields_ = 0;
  put_be(data_, 0, 2);  // the field count, written by end_row()
  return *this;
}

void CopyBinary::field(std::int32_t length) {
  ++fields_;
  put_be(data_, static_cast<std::uint32_t>(length), 4);
}

CopyBinary& CopyBinary::int4(std::int32_t value) {
  field(4);
  put_be(data_, static_cast<std::uint32_t>(value), 4);
  return *this;
}

CopyBinary& CopyBinary::int8(std::int64_t value) {
  field(8);
  put_be(data_, static_cast<std::uint64_t>(value), 8);
  return *this;
}

CopyBinary& CopyBinary::uuid(std::string_view text) {
  const bool dashed = text.size() == 36;
  if (!dashed && text.size() != 32) {
    throw std::invalid_argument("not a uuid's text: \"" + std::string(text) + "\"");
  }
  std::array<char, 16> bytes{};
  std::size_t at = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (dashed && (at == 8 || at == 13 || at == 18 || at == 23)) {
      if (text[at] != '-')
        throw std::invalid_argument("not a uuid's text: \"" + std::string(text) + "\"");
      ++at;
    }
    const int high = hex_digit(text[at]);
    const int low = hex_digit(text[at + 1]);
    if (high < 0 || low < 0) {
      throw std::invalid_argument("not a uuid's text: \"" + std::string(text) + "\"");
    }
    bytes[i] = static_cast<char>(high << 4 | low);
    at += 2;
  }
  field(16);
  data_.append(bytes.data(), bytes.size());
  return *this;
}

CopyBinary& CopyBinary::end_row() {
  data_[row_start_] = static_cast<char>((static_cast<std::uint16_t>(fields_) >> 8) & 0xff);
  data_[row_start_ + 1] = static_cast<char>(static_cast<std::uint16_t>(fields_) & 0xff);
  return *this;
}

void CopyBinary::begin_copy() {
  data_.append(kHeader.data(), kHeader.size());
}

void CopyBinary::end_copy() {
  data_.append("\xff\xff", 2);  // a row of -1 fields
}

}  // namespace millrace::pg
