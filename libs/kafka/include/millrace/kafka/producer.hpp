#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "millrace/kafka/types.hpp"

namespace millrace::kafka {

struct ProducerConfig {
  std::string brokers;
  std::string client_id = "millrace";
  // Idempotent with acks=all: retries never duplicate or reorder a partition.
  bool idempotent = true;
  std::int32_t linger_ms = 5;
  // How long librdkafka keeps retrying one message before reporting it failed.
  std::int32_t message_timeout_ms = 30000;
  Properties extra;
};

// Totals of delivery reports received so far.
struct DeliveryStats {
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  std::string first_error;  // empty when failed == 0
};

// A thread-compatible wrapper over one librdkafka producer handle. produce()
// copies key, value and headers, so callers may reuse their buffers.
class Producer {
 public:
  explicit Producer(const ProducerConfig& config);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Enqueues one message for an explicit partition. While librdkafka's queue
  // is full it serves delivery reports and retries, so memory stays bounded.
  // Throws core::InfraError (fatal) on an idempotence fatal error or an
  // unknown topic/partition.
  void produce(std::string_view topic, std::int32_t partition, std::string_view key,
               std::string_view value, std::span<const OutHeader> headers);

  // Serves delivery reports without blocking.
  void poll();

  // Waits until every enqueued message has a delivery report or the timeout
  // passes. Returns the number of messages still in flight (0 on success).
  int flush(std::chrono::milliseconds timeout);

  DeliveryStats stats() const;

  // Partition count of a topic from broker metadata; throws core::InfraError
  // (retryable) on timeout and (fatal) if the topic does not exist.
  std::int32_t partition_count(const std::string& topic, std::chrono::milliseconds timeout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::kafka
