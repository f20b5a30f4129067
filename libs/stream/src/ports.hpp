#pragma once

// What the stream loop (loop.hpp) needs of Kafka and of PostgreSQL, as
// two small interfaces: kafka::Consumer and BatchCommitter in production,
// scripted fakes in the loop's unit tests (tests/loop_test.cpp), which so
// exercise rebalances, fencing, failed commits and resets without a broker
// or a database.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "millrace/kafka/consumer.hpp"
#include "millrace/stream/batch.hpp"
#include "millrace/stream/handler.hpp"

namespace millrace::stream::detail {

// A Kafka group member. Rebalance callbacks reach the listener from inside
// poll() and close(), on the caller's thread, as librdkafka's do. Contracts
// as kafka::Consumer's.
class ConsumerPort {
 public:
  virtual ~ConsumerPort() = default;
  virtual void subscribe(const std::vector<std::string>& topics) = 0;
  virtual std::optional<kafka::Message> poll(std::chrono::milliseconds timeout) = 0;
  // From the commit thread: ends the loop thread's poll() early.
  virtual void wake() = 0;
  virtual void pause(const std::vector<kafka::TopicPartition>& partitions) = 0;
  virtual void resume(const std::vector<kafka::TopicPartition>& partitions) = 0;
  // False when the group dropped this member: nothing changed, and the
  // revocation and the next assignment come through the listener.
  virtual bool assign(const std::vector<kafka::TopicPartition>& partitions) = 0;
  virtual void commit_async(const std::vector<kafka::TopicPartition>& partitions) = 0;
  virtual std::pair<std::int64_t, std::int64_t> watermarks(const std::string& topic,
                                                           std::int32_t partition,
                                                           std::chrono::milliseconds timeout) = 0;
  // The next offset to read of each partition, past transaction markers
  // (kafka::kOffsetInvalid where nothing was fetched yet).
  virtual std::vector<kafka::TopicPartition> positions(
      const std::vector<kafka::TopicPartition>& partitions) = 0;
  virtual void close() = 0;
};

// What one commit did.
struct CommitResult {
  // Partitions whose offset another member moved: then nothing committed.
  std::vector<std::int32_t> fenced;
  // Records PostgreSQL refused, set aside by the handler before the batch
  // committed without them.
  std::vector<Refusal> refused;
};

// The group's PostgreSQL state: stored offsets, and batches committed with
// them. Contracts as BatchCommitter's (batch_committer.hpp). Throws
// core::InfraError.
class CommitPort {
 public:
  virtual ~CommitPort() = default;
  // Before the first session: the schema migrated, or waited for
  // (pg::prepare_schema); `pause` as there. False: a stop came first.
  virtual bool prepare_schema(const std::function<bool(std::chrono::milliseconds)>& pause) = 0;
  virtual void ensure_connected() = 0;
  virtual void disconnect() = 0;
  virtual void register_group(const std::string& service) = 0;
  virtual std::map<std::int32_t, std::optional<std::int64_t>> claim(
      const std::vector<std::int32_t>& partitions) = 0;
  virtual CommitResult commit(Batch& batch, BatchState& state,
                              const std::vector<OffsetTransition>& plan) = 0;
  virtual bool record_gap(std::int32_t partition, std::int64_t from, std::int64_t to) = 0;
};

// How a loop reaches Kafka and PostgreSQL.
struct Ports {
  // Called by start() with the loop as the listener.
  std::function<std::unique_ptr<ConsumerPort>(kafka::RebalanceListener*)> consumer;
  std::unique_ptr<CommitPort> committer;
  // The probe's lag thread, which queries the brokers itself.
  bool lag = true;
};

}  // namespace millrace::stream::detail
