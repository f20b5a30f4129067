#include "running.hpp"

#include "millrace/runtime/log.hpp"

namespace millrace::cache::detail {

InvalidatorRules system_rules(const std::string& schema, std::int64_t batch,
                              const core::RetryBackoff& retry) {
  InvalidatorRules rules;
  rules.schema = schema;
  rules.batch = static_cast<std::size_t>(batch);
  rules.first_backoff = std::chrono::milliseconds(retry.first_ms);
  rules.max_backoff = std::chrono::milliseconds(retry.max_ms);
  rules.now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  rules.steady = [] { return std::chrono::steady_clock::now(); };
  return rules;
}

RunningInvalidator::RunningInvalidator(const kafka::KafkaClientOptions& kafka,
                                       const pg::PgOptions& pg, Store& store,
                                       InvalidatorProbe& probe, InvalidatorRules rules)
    : feed_(kafka),
      truth_(pg, rules.assets),
      invalidator_(std::move(rules), feed_, truth_, store, probe) {}

RunningInvalidator::~RunningInvalidator() {
  stop();
}

void RunningInvalidator::start() {
  if (started_) return;
  started_ = true;
  worker_.spawn([this] { return runtime::Worker::Next::after(invalidator_.step()); });
}

void RunningInvalidator::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  worker_.stop();
  invalidator_.stop();
  try {
    feed_.close();
  } catch (const std::exception& e) {
    runtime::log_warn("cache", std::string("closing the change topic's consumer: ") + e.what());
  }
}

bool RunningInvalidator::wait_failed(std::chrono::milliseconds timeout) {
  return worker_.wait(timeout) && worker_.failed();
}

void RunningInvalidator::rethrow_failure() {
  worker_.rethrow_failure();
}

}  // namespace millrace::cache::detail
