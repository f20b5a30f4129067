#pragma once

#include <chrono>
#include <memory>

#include "millrace/cache/config.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::cache {

// millrace-cache: keeps the catalog cache in Redis equal to PostgreSQL by
// following the change feed, whoever changed the rows and however. One
// instance invalidates a cache at a time; others stand by and take over
// when its lease ends. docs/cache.md says how it works.
class CacheService {
 public:
  // `metrics` must outlive the service.
  CacheService(CacheConfig config, metrics::Registry& metrics);
  ~CacheService();  // stop()s
  CacheService(const CacheService&) = delete;
  CacheService& operator=(const CacheService&) = delete;

  // Starts the invalidator's thread; everything it connects to may still be
  // down (it waits for them). Throws on bad Kafka properties.
  void start();
  // Withdraws the cache (readers go to PostgreSQL at once), gives up the
  // right to invalidate, closes the consumer. Idempotent.
  void stop();
  // True once the invalidator failed fatally; waits up to `timeout`.
  bool wait(std::chrono::milliseconds timeout);
  void rethrow_failure();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::cache
