#pragma once

#include <cstdint>
#include <optional>

#include <pqxx/pqxx>

#include "millrace/kafka/consumer.hpp"
#include "millrace/stream/batch.hpp"

namespace millrace::stream {

// What a service does with the records a TransactionalConsumer hands it. The
// consumer owns batching, offsets, fencing, accounting and recovery; the
// handler only decides each record's outcome and writes its own rows.
// All calls come from the consumer's thread.
class Handler {
 public:
  virtual ~Handler() = default;

  // Once per new PostgreSQL session, after migrations (temp tables, ...).
  virtual void on_connect(pqxx::connection& connection) { (void)connection; }

  // Decides one record's outcome: count it in `progress.tally` (every
  // record must be counted exactly once) and buffer what write() needs.
  virtual void handle(const kafka::Message& message, PartitionProgress& progress) = 0;

  // Before the transaction: make side effects outside PostgreSQL durable
  // (dead letters). Throws core::InfraError; a retryable one replays the batch.
  virtual void before_commit() {}

  // Inside the batch's transaction, after its offsets were fenced: write the
  // buffered rows. May move counts between outcomes in the batch's tallies
  // (e.g. "kept" into "persisted" and "duplicate" once the database knows).
  virtual void write(pqxx::work& tx, Batch& batch) = 0;

  // Forgets what was buffered: for one partition (revoked) or all (the
  // batch is replayed from the stored offsets).
  virtual void discard(std::optional<std::int32_t> partition) = 0;
};

}  // namespace millrace::stream
