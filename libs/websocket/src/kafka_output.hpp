#pragma once

// The source's Output to Kafka: records to the kind's topic with the
// idempotent producer (acks=all: a retry never duplicates or reorders a
// partition), keyed by the feed file's key and partitioned by it as every
// producer of Millrace does (core::partition_for_bytes), and refused frames
// to the kind's dead-letter topic, cut to fit.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "millrace/kafka/producer.hpp"
#include "millrace/websocket/source.hpp"

namespace millrace::websocket::detail {

struct KafkaOutputOptions {
  kafka::ProducerConfig producer;  // on_delivery is set here
  std::string topic;
  std::string dlq_topic;
  std::size_t dlq_max_bytes = 1000000;
  std::chrono::milliseconds flush_timeout{310000};
};

// Caller contract: record() and letter() from one thread; poll() from one
// other (the service's polling thread); flush() from the first.
class KafkaOutput final : public Output {
 public:
  // Throws core::InfraError: retryable while the brokers do not answer,
  // fatal when a topic does not exist.
  explicit KafkaOutput(KafkaOutputOptions options);
  void record(const std::string& key, const std::string& payload, Ticket* ticket) override;
  void letter(std::string_view frame,
              const std::vector<std::pair<std::string, std::string>>& headers,
              Ticket* ticket) override;
  void flush() override;
  // Serves delivery reports, waiting up to `timeout` for the first.
  void poll(std::chrono::milliseconds timeout) { producer_->poll(timeout); }

 private:
  KafkaOutputOptions options_;
  std::unique_ptr<kafka::Producer> producer_;
  std::int32_t partitions_ = 0;
  std::int32_t dlq_partitions_ = 0;
  std::uint64_t letters_ = 0;
};

}  // namespace millrace::websocket::detail
