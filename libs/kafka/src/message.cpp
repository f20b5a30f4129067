// Message: a consumed record's fields, read in place from librdkafka's
// message, or from a ConsumedRecord made without a broker (the tests' fakes).
#include <memory>
#include <string>
#include <utility>

#include "handles.hpp"
#include "millrace/kafka/consumer.hpp"

namespace millrace::kafka {

namespace {
rd_kafka_message_t* as_msg(void* raw) {
  return static_cast<rd_kafka_message_t*>(raw);
}
}  // namespace

// ---- Message ---------------------------------------------------------------

Message::Message(void* raw) : raw_(raw) {}
Message Message::from_record(ConsumedRecord record) {
  Message m(nullptr);
  m.owned_ = std::make_unique<ConsumedRecord>(std::move(record));
  return m;
}
Message::~Message() {
  if (raw_ != nullptr) rd_kafka_message_destroy(as_msg(raw_));
}
Message::Message(Message&& other) noexcept
    : raw_(std::exchange(other.raw_, nullptr)), owned_(std::move(other.owned_)) {}
Message& Message::operator=(Message&& other) noexcept {
  if (this != &other) {
    if (raw_ != nullptr) rd_kafka_message_destroy(as_msg(raw_));
    raw_ = std::exchange(other.raw_, nullptr);
    owned_ = std::move(other.owned_);
  }
  return *this;
}

std::string_view Message::topic() const {
  if (owned_) return owned_->topic;
  return rd_kafka_topic_name(as_msg(raw_)->rkt);
}
std::int32_t Message::partition() const {
  if (owned_) return owned_->partition;
  return as_msg(raw_)->partition;
}
std::int64_t Message::offset() const {
  if (owned_) return owned_->offset;
  return as_msg(raw_)->offset;
}
std::string_view Message::payload() const {
  if (owned_) return owned_->payload;
  const auto* m = as_msg(raw_);
  return m->payload == nullptr ? std::string_view{}
                               : std::string_view(static_cast<const char*>(m->payload), m->len);
}
std::optional<std::string_view> Message::value() const {
  if (owned_) return std::string_view(owned_->payload);
  if (as_msg(raw_)->payload == nullptr) return std::nullopt;
  return payload();
}
std::optional<std::string_view> Message::key() const {
  if (owned_) return owned_->key ? std::optional<std::string_view>(*owned_->key) : std::nullopt;
  const auto* m = as_msg(raw_);
  if (m->key == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(m->key), m->key_len);
}
std::optional<std::int64_t> Message::timestamp_ms() const {
  if (owned_) return owned_->timestamp_ms;
  rd_kafka_timestamp_type_t type;
  const std::int64_t ts = rd_kafka_message_timestamp(as_msg(raw_), &type);
  if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0) return std::nullopt;
  return ts;
}
std::optional<std::string_view> Message::header(std::string_view name) const {
  if (owned_) {
    std::optional<std::string_view> last;
    for (const auto& [k, v] : owned_->headers) {
      if (k == name) last = v;
    }
    return last;
  }
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(as_msg(raw_), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  const std::string key(name);
  const void* value = nullptr;
  std::size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, key.c_str(), &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  if (value == nullptr) return std::string_view{};
  return std::string_view(static_cast<const char*>(value), size);
}
std::vector<std::pair<std::string_view, std::string_view>> Message::headers() const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  headers(out);
  return out;
}
void Message::headers(std::vector<std::pair<std::string_view, std::string_view>>& out) const {
  out.clear();
  if (owned_) {
    for (const auto& [k, v] : owned_->headers) out.emplace_back(k, v);
    return;
  }
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(as_msg(raw_), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    out.emplace_back(name, value == nullptr
                               ? std::string_view{}
                               : std::string_view(static_cast<const char*>(value), size));
  }
}

}  // namespace millrace::kafka
