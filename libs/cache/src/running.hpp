#pragma once

// An Invalidator over the real change topic and database, stepping on a
// thread of its own: what millrace-cache (into Redis) and CatalogLookup
// (into memory) both run.

#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "invalidator.hpp"
#include "sources.hpp"

namespace millrace::cache::detail {

// Rules with the system's clocks, the schema, batch and backoff filled in.
InvalidatorRules system_rules(const std::string& schema, std::int64_t batch,
                              const core::RetryBackoff& retry);

class RunningInvalidator {
 public:
  // `store` and `probe` must outlive it. Does no I/O.
  RunningInvalidator(const kafka::KafkaClientOptions& kafka, const pg::PgOptions& pg, Store& store,
                     InvalidatorProbe& probe, InvalidatorRules rules);
  ~RunningInvalidator();  // stop()s

  void start();
  // Ends the thread, withdraws and releases (Invalidator::stop), closes the
  // consumer. Idempotent.
  void stop();
  // True once a fatal failure ended it; waits up to `timeout` for that.
  bool wait_failed(std::chrono::milliseconds timeout);
  void rethrow_failure();

 private:
  void run();

  KafkaFeed feed_;
  PgTruth truth_;
  Invalidator invalidator_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false, started_ = false, stopped_ = false;
  std::exception_ptr failure_;
};

}  // namespace millrace::cache::detail
