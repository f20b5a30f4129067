#include "kafka_output.hpp"

#include <vector>

#include "millrace/core/partitioner.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::websocket::detail {

KafkaOutput::KafkaOutput(KafkaOutputOptions options) : options_(std::move(options)) {
  options_.producer.on_delivery = [](const kafka::Delivery& d) {
    static_cast<Ticket*>(d.opaque)->answer(d.ok);
  };
  producer_ = std::make_unique<kafka::Producer>(options_.producer);
  partitions_ = producer_->partition_count(options_.topic, std::chrono::milliseconds(10000));
  dlq_partitions_ =
      producer_->partition_count(options_.dlq_topic, std::chrono::milliseconds(10000));
}

void KafkaOutput::record(const std::string& key, const std::string& payload, Ticket* ticket) {
  const auto partition = core::partition_for_bytes(key.data(), key.size(), partitions_);
  producer_->produce(options_.topic, partition, key, payload, {}, ticket);
}

void KafkaOutput::letter(std::string_view frame,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         Ticket* ticket) {
  std::vector<kafka::OutHeader> out;
  out.reserve(headers.size() + 1);
  std::size_t size = 0;
  for (const auto& [k, v] : headers) {
    out.push_back({k, v});
    size += k.size() + v.size();
  }
  // Cut to fit, as the sink's letters are: the headers say how long it was.
  std::string_view payload = frame;
  const std::size_t room =
      options_.dlq_max_bytes > size + 64 ? options_.dlq_max_bytes - size - 64 : 0;
  if (payload.size() > room) {
    payload = payload.substr(0, room);
    out.push_back({"millrace.truncated", "true"});
  }
  // Letters have no key: spread over the partitions in turn.
  const auto partition =
      static_cast<std::int32_t>(letters_++ % static_cast<std::uint64_t>(dlq_partitions_));
  producer_->produce(options_.dlq_topic, partition, "", payload, out, ticket);
}

void KafkaOutput::flush() {
  if (producer_->flush(options_.flush_timeout) != 0) {
    runtime::log_warn("websocket",
                      "Kafka still had records in flight after the produce timeout; their frames "
                      "are counted when it answers");
  }
}

}  // namespace millrace::websocket::detail
