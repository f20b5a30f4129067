#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "millrace/sink/config.hpp"

namespace millrace::sink {

// Lifetime totals of one worker process (Prometheus metrics come from these).
struct SinkStats {
  std::uint64_t consumed = 0;
  std::uint64_t persisted = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t filtered = 0;
  std::uint64_t rejected = 0;
  std::uint64_t batches = 0;
  std::uint64_t fenced = 0;     // commits refused because another member moved an offset
  std::uint64_t db_errors = 0;  // retryable PostgreSQL / dead-letter failures
  std::uint64_t rebalances = 0;
};

// One member of the sink consumer group: consumes store events, validates and
// filters them, dead-letters invalid ones, and commits kept rows together with
// offsets and accounting in one PostgreSQL transaction.
class SinkWorker {
 public:
  explicit SinkWorker(SinkConfig config);
  ~SinkWorker();
  SinkWorker(const SinkWorker&) = delete;
  SinkWorker& operator=(const SinkWorker&) = delete;

  // Creates the Kafka handles (bad properties throw here) and starts the
  // consuming thread. Connecting to PostgreSQL happens on that thread, with
  // retries, so a database that starts later is waited for.
  void Start();
  // Finishes the current batch, commits it, leaves the group, flushes the
  // dead-letter producer and joins. Idempotent.
  void Stop();
  // True once the consuming thread has ended (after Stop() or a fatal error).
  bool wait(std::chrono::milliseconds timeout);
  // Rethrows the fatal error that ended the thread, if any.
  void rethrow_failure();

  SinkStats stats() const;

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace millrace::sink
