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

// A long takes at most this many bytes: 64 bits, seven a byte.
constexpr std::size_t kLongMax = 10;

// Writes into room reserved for the whole record beforehand (encode()
// bounds it), so that no write checks for room: appending to a string a
// byte or a field at a time did, and cost about 4 % of the archiver's CPU.
class Cursor {
 public:
  explicit Cursor(char* at) : at_(at) {}
  // Avro's long: zigzag, then seven bits a byte, low first.
  void put_long(std::int64_t v) {
    auto n = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    while (n >= 0x80) {
      *at_++ = static_cast<char>((n & 0x7f) | 0x80);
      n >>= 7;
    }
    *at_++ = static_cast<char>(n);
  }
  // Avro's bytes and string: the length, then the bytes.
  void put_bytes(std::string_view bytes) {
    put_long(static_cast<std::int64_t>(bytes.size()));
    if (!bytes.empty()) std::memcpy(at_, bytes.data(), bytes.size());
    at_ += bytes.size();
  }
  char* at() const { return at_; }

 private:
  char* at_;
};

// A map key as Avro C takes it, a C string: up to its first NUL.
std::string_view c_key(std::string_view key) {
  return key.substr(0, key.find('\0'));
}

}  // namespace

std::string_view CaptureEncoder::encode(const CaptureRecordView& r) {
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
  // Properties: the headers.
  properties_.clear();
  std::size_t property_bytes = 0;
  for (const auto& header : r.headers) {
    const std::string_view name = c_key(header.first);
    const auto same = std::find_if(properties_.begin(), properties_.end(),
                                   [&](const auto& p) { return p.first == name; });
    if (same == properties_.end()) {
      properties_.emplace_back(name, header.second);
    } else {
      same->second = header.second;
    }
    property_bytes += name.size() + header.second.size();
  }
  char offset_text[24];  // Offset: the offset's decimal text
  const auto printed = std::to_chars(offset_text, offset_text + sizeof offset_text, r.offset);
  const std::string_view offset(offset_text, static_cast<std::size_t>(printed.ptr - offset_text));

  static constexpr std::string_view kKey = "x-opt-kafka-key";
  static constexpr std::string_view kPartition = "x-opt-partition";
  static constexpr std::string_view kTopic = "x-opt-topic";
  // The most the record can take: every long at its longest (18 at most
  // besides three a header), and every field's bytes.
  const std::size_t bound = kLongMax * (18 + 3 * properties_.size()) + offset.size() +
                            time_text_.size() + kKey.size() + r.key.value_or("").size() +
                            kPartition.size() + kTopic.size() + r.topic.size() + property_bytes +
                            r.body.value_or("").size();
  if (room_.size() < bound) room_.resize(std::max(bound, room_.size() * 2));

  Cursor out(room_.data());
  out.put_long(r.offset);  // SequenceNumber
  out.put_bytes(offset);
  out.put_bytes(time_text_);
  // SystemProperties: the key (when there is one), the partition, the topic.
  out.put_long(r.key ? 3 : 2);
  if (r.key) {
    out.put_bytes(kKey);
    out.put_long(kValueBytes);
    out.put_bytes(*r.key);
  }
  out.put_bytes(kPartition);
  out.put_long(kValueLong);
  out.put_long(r.partition);
  out.put_bytes(kTopic);
  out.put_long(kValueString);
  out.put_bytes(r.topic);
  out.put_long(0);
  if (!properties_.empty()) {
    out.put_long(static_cast<std::int64_t>(properties_.size()));
    for (const auto& p : properties_) {
      out.put_bytes(p.first);
      out.put_long(kValueBytes);
      out.put_bytes(p.second);
    }
  }
  out.put_long(0);
  if (r.body) {
    out.put_long(kBodyIsBytes);
    out.put_bytes(*r.body);
  } else {
    out.put_long(kBodyIsNull);
  }
  return {room_.data(), static_cast<std::size_t>(out.at() - room_.data())};
}

}  // namespace millrace::archive::detail
