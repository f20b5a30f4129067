#pragma once

#include <chrono>
#include <memory>

#include "millrace/cache/lookup.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/sink/config.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::sink {

namespace detail {
class StorePartitions;
}

// One member of the sink consumer group: consumes store events, validates and
// filters them, dead-letters invalid ones, and commits kept rows together with
// offsets and accounting in one PostgreSQL transaction.
class SinkWorker {
 public:
  SinkWorker(SinkConfig config, metrics::Registry& metrics);
  ~SinkWorker();
  SinkWorker(const SinkWorker&) = delete;
  SinkWorker& operator=(const SinkWorker&) = delete;

  // Creates the Kafka handles (bad properties throw here), checks the
  // dead-letter topic exists, and starts consuming.
  void start();
  // Finishes and commits the current batch, leaves the group, then flushes
  // the dead-letter producer. Idempotent.
  void stop();
  bool wait(std::chrono::milliseconds timeout);
  void rethrow_failure();
  stream::StreamStats stats() const;

 private:
  class Handler;
  SinkConfig config_;
  std::unique_ptr<cache::CatalogLookup> lookup_;  // null: enrichment off
  std::unique_ptr<detail::StorePartitions> store_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<stream::TransactionalConsumer> consumer_;
};

}  // namespace millrace::sink
