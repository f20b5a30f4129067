#pragma once

// A transactional producer: everything produced between begin() and
// commit() becomes visible to read_committed consumers together, or not at
// all. With a stable transactional.id, starting a new instance fences the
// old one (its next commit fails), so two writers never interleave.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "millrace/kafka/types.hpp"

namespace millrace::kafka {

struct TransactionalConfig {
  std::string brokers;
  std::string client_id = "millrace";
  std::string transactional_id;
  // The broker aborts a transaction left open longer than this (a writer
  // that died mid-transaction).
  std::int32_t transaction_timeout_ms = 60000;
  Properties extra;
  // The owner's stop, looked at while the producer waits on the brokers:
  // once it returns true, the wait for InitProducerId ends within half a
  // second, and one for a transaction under way (its offsets, its commit
  // or abort, a full queue) within 5 s more, throwing runtime::Stopped.
  // That transaction is then aborted by the broker after
  // transaction_timeout_ms, or by the next producer of the transactional.id,
  // which fences this one: nothing of it is lost or published twice, as
  // after a crash. Unset: only the calls' timeouts end their waits.
  std::function<bool()> stopping;
};

// Caller contract: one thread; begin() → produce()... → commit() or abort().
// A call waiting on the brokers throws runtime::Stopped once the config's
// `stopping` says so (above). Every call throws core::InfraError:
// - retryable: the transaction was aborted (or never begun) and nothing of
//   it is visible; begin() again and produce it all again;
// - fatal: the producer is unusable (fenced by a newer instance with the
//   same transactional.id, or a fatal idempotence error): make a new one,
//   which fences this one in turn.
class TransactionalProducer {
 public:
  // Connects and runs InitProducerId, which waits for (or aborts) what an
  // earlier instance with the same transactional.id left open. Waits up to
  // `timeout`.
  TransactionalProducer(const TransactionalConfig& config, std::chrono::milliseconds timeout);
  ~TransactionalProducer();
  TransactionalProducer(const TransactionalProducer&) = delete;
  TransactionalProducer& operator=(const TransactionalProducer&) = delete;

  void begin();
  // Enqueues one message, partitioned by the hash of `key` as Java clients
  // do (murmur2), so other producers of the same keys agree. Blocks while
  // librdkafka's queue is full.
  // A view with no data (std::string_view{}) is a null key or value: a
  // record with a null value is a tombstone. `timestamp_ms` is the
  // record's timestamp in milliseconds since the Unix epoch; 0, as
  // librdkafka takes it, is the time it is produced.
  void produce(const std::string& topic, std::string_view key, std::string_view value,
               std::span<const OutHeader> headers = {}, std::int64_t timestamp_ms = 0);
  // The topic's partition count from broker metadata. Throws
  // UnknownTopicError when it does not exist, core::InfraError otherwise.
  std::int32_t partition_count(const std::string& topic, std::chrono::milliseconds timeout);
  // Commits `offset` and `metadata` for `group` on `topic`[`partition`] as
  // part of this transaction: they become visible exactly when its messages
  // do (Kafka's own exactly-once bookkeeping; see committed_offset()).
  // Comes back within `timeout` and a few seconds even where librdkafka
  // 2.0.2 would wait forever (a group coordinator that is down): then it
  // throws retryable and this producer is given up, every later call
  // throwing retryable too; make a new one. A producer given up is first
  // cut off from every broker, so the offsets it still holds never reach
  // one after the new producer's (Kafka would drop those: see
  // transactional.cpp, SocketFence).
  void commit_offset(const std::string& group, const std::string& topic, std::int32_t partition,
                     std::int64_t offset, const std::string& metadata,
                     std::chrono::milliseconds timeout);
  // Flushes and commits. On a retryable failure the transaction has been
  // aborted.
  void commit(std::chrono::milliseconds timeout);
  void abort(std::chrono::milliseconds timeout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::kafka
