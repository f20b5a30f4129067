#pragma once

// An Invalidator over the real change topic and database, stepping on a
// thread of its own: what millrace-cache (into Redis) and CatalogLookup
// (into memory) both run.

#include <chrono>
#include <memory>

#include "invalidator.hpp"
#include "millrace/runtime/worker.hpp"
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
  KafkaFeed feed_;
  PgTruth truth_;
  Invalidator invalidator_;  // retries by itself: its steps fail only fatally
  runtime::Worker worker_{{.component = "cache"}};
  bool started_ = false, stopped_ = false;
};

}  // namespace millrace::cache::detail
