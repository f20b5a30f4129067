#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/kafka/types.hpp"

namespace millrace::kafka {

// A produced message's content, copied out of a delivery report.
struct OwnedRecord {
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One delivery report, as ProducerConfig::on_delivery sees it.
struct Delivery {
  void* opaque = nullptr;  // as given to try_produce; nullptr for produce()
  std::int32_t partition = -1;
  std::int64_t offset = -1;      // -1 when the broker gave none (or on failure)
  std::int64_t latency_us = -1;  // enqueue to delivery report; -1 when unknown
  bool ok = false;
  // The partition does not exist (any more): refresh partition_count().
  bool unknown_partition = false;
  // The message (with its headers) exceeded what the client or the broker
  // accepts (message.max.bytes, the topic's max.message.bytes): resending
  // it unchanged can never succeed.
  bool too_large = false;
  // The cluster refuses the topic for good as far as this client can tell:
  // not authorized, or the topic does not exist (deleted). Retrying waits
  // for an operator.
  bool refused = false;
  std::string_view error;  // librdkafka's text, empty when ok; valid during the call

  // Copies the message out of the report (to send it again, changed).
  // Only during the on_delivery call.
  OwnedRecord copy() const;

  const void* raw = nullptr;  // the rd_kafka_message_t, during the call
};

// What try_produce did with a message. Everything but kQueued means nothing
// was enqueued and no delivery report will come.
enum class Enqueue : std::uint8_t {
  kQueued,
  kQueueFull,         // queue.buffering.max.messages/kbytes reached: back off
  kUnknownPartition,  // not in the topic's metadata: refresh partition_count()
  kTooLarge,          // larger than message.max.bytes: will never fit
};

struct ProducerConfig {
  std::string brokers;
  std::string client_id = "millrace";
  // Idempotent with acks=all: retries never duplicate or reorder a partition.
  bool idempotent = true;
  std::int32_t linger_ms = 5;
  // How long librdkafka keeps retrying one message before reporting it failed.
  std::int32_t message_timeout_ms = 30000;
  Properties extra;
  // Called for every delivery report, on the thread that polls, after stats()
  // counts it. It runs inside librdkafka's C frames, so it must not throw (the
  // trampoline is noexcept: a throw terminates).
  std::function<void(const Delivery&)> on_delivery;
};

// Totals of delivery reports received so far.
struct DeliveryStats {
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  std::string first_error;  // empty when failed == 0
};

// A wrapper over one librdkafka producer handle. produce() copies key, value
// and headers, so callers may reuse their buffers. librdkafka's producer is
// thread-safe, and so are try_produce(), poll(), queue_length() and
// partition_count(): request threads may enqueue while one thread polls.
class Producer {
 public:
  explicit Producer(const ProducerConfig& config);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Enqueues one message for an explicit partition. While librdkafka's queue
  // is full it serves delivery reports and retries, so memory stays bounded.
  // Throws core::InfraError (fatal) on an idempotence fatal error or an
  // unknown topic/partition. `opaque` comes back in the Delivery (only once
  // produce() returned: on a throw no report comes).
  void produce(std::string_view topic, std::int32_t partition, std::string_view key,
               std::string_view value, std::span<const OutHeader> headers, void* opaque = nullptr);

  // Enqueues one message without ever blocking, for callers that must not
  // wait on a full queue (an HTTP request answers 503 instead). Copies key,
  // value and headers. `opaque` comes back in the Delivery. The expected
  // refusals are values (see Enqueue); anything else throws core::InfraError
  // (fatal), like produce().
  Enqueue try_produce(const std::string& topic, std::int32_t partition, std::string_view key,
                      std::string_view value, std::span<const OutHeader> headers, void* opaque);

  // Serves delivery reports without blocking.
  void poll();
  // Serves delivery reports, waiting up to `timeout` for the first one (for a
  // thread dedicated to polling).
  void poll(std::chrono::milliseconds timeout);

  // Messages enqueued and not yet reported (librdkafka's outq length).
  int queue_length() const;

  // Waits until every enqueued message has a delivery report or the timeout
  // passes. Returns the number of messages still in flight (0 on success).
  int flush(std::chrono::milliseconds timeout);

  DeliveryStats stats() const;

  // librdkafka's reason once it raised a fatal error (an idempotence
  // failure): the producer can send nothing more (RenewingProducer replaces
  // it). Empty while the producer is sound.
  std::optional<std::string> fatal() const;

  // Fails every message still queued or in flight: each gets a failed
  // delivery report at a later poll (for a producer that can send nothing
  // more, or that RenewingProducer replaced, so its messages' senders learn
  // it now). From then on produce() and try_produce() throw core::InfraError
  // (retryable) and retired() is true: a sender that comes to the handle
  // afterwards writes nothing through it.
  void purge();
  bool retired() const;

  // Partition count of a topic from broker metadata; throws core::InfraError
  // (retryable) on timeout and (fatal) if the topic does not exist.
  std::int32_t partition_count(const std::string& topic, std::chrono::milliseconds timeout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::kafka
