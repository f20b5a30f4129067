#include "capture_encoder.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace millrace::archive::detail {

namespace {

// A map value's branch in ["long","double","string","bytes"].
constexpr std::int64_t kValueLong = 0;
constexpr std::int64_t kValueString = 2;
constexpr std::int64_t kValueBytes = 3;
// Body is ["null","bytes"].
constexpr std::int64_t kBodyIsNull = 0;
constexpr std::int64_t kBodyIsBytes = 1;

// Avro's long: zigzag, then seven bits a byte, low first.
// Written to a buffer on the stack and appended once: a push_back a byte
// checked the string's room each time.
void put_long(std::string& out, std::int64_t v) {
  auto n = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  char bytes[10];  // 64 bits, seven a byte
  std::size_t size = 0;
  while (n >= 0x80) {
    bytes[size++] = static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  bytes[size++] = static_cast<char>(n);
  out.append(bytes, size);
}

// Avro's bytes and string: the length, then the bytes.
void put_bytes(std::string& out, std::string_view bytes) {
  put_long(out, static_cast<std::int64_t>(bytes.size()));
  out.append(bytes);
}

// A map key as Avro C takes it, a C string: up to its first NUL.
std::string_view c_key(std::string_view key) {
  return key.substr(0, key.find('\0'));
}

}  // namespace

std::string_view CaptureEncoder::encode(const CaptureRecordView& r) {
  out_.clear();
  put_long(out_, r.offset);  // SequenceNumber
  char offset_text[24];      // Offset: the offset's decimal text
  const auto printed = std::to_chars(offset_text, offset_text + sizeof offset_text, r.offset);
  put_bytes(out_,
            std::string_view(offset_text, static_cast<std::size_t>(printed.ptr - offset_text)));
  const std::int64_t ms = ((r.timestamp_ms % 1000) + 1000) % 1000;
  const std::int64_t second = r.timestamp_ms / 1000 - (r.timestamp_ms % 1000 < 0 ? 1 : 0);
  if (time_second_ != second) {
    time_text_ = enqueued_time_utc(r.timestamp_ms);
    time_second_ = second;
  }
  // "...:SS.fff0000Z": the milliseconds are the three digits after the dot.
  char* digits = time_text_.data() + time_text_.size() - 8;
  digits[0] = static_cast<char>('0' + ms / 100);
  digits[1] = static_cast<char>('0' + ms / 10 % 10);
  digits[2] = static_cast<char>('0' + ms % 10);
  put_bytes(out_, time_text_);
  // SystemProperties: the key (when there is one), the partition, the topic.
  put_long(out_, r.key ? 3 : 2);
  if (r.key) {
    put_bytes(out_, "x-opt-kafka-key");
    put_long(out_, kValueBytes);
    put_bytes(out_, *r.key);
  }
  put_bytes(out_, "x-opt-partition");
  put_long(out_, kValueLong);
  put_long(out_, r.partition);
  put_bytes(out_, "x-opt-topic");
  put_long(out_, kValueString);
  put_bytes(out_, r.topic);
  put_long(out_, 0);
  // Properties: the headers.
  properties_.clear();
  for (const auto& header : r.headers) {
    const std::string_view name = c_key(header.first);
    const auto same = std::find_if(properties_.begin(), properties_.end(),
                                   [&](const auto& p) { return p.first == name; });
    if (same == properties_.end()) {
      properties_.emplace_back(name, header.second);
    } else {
      same->second = header.second;
    }
  }
  if (!properties_.empty()) {
    put_long(out_, static_cast<std::int64_t>(properties_.size()));
    for (const auto& p : properties_) {
      put_bytes(out_, p.first);
      put_long(out_, kValueBytes);
      put_bytes(out_, p.second);
    }
  }
  put_long(out_, 0);
  if (r.body) {
    put_long(out_, kBodyIsBytes);
    put_bytes(out_, *r.body);
  } else {
    put_long(out_, kBodyIsNull);
  }
  return out_;
}

}  // namespace millrace::archive::detail
