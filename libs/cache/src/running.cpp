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
    : feed_(kafka), truth_(pg), invalidator_(std::move(rules), feed_, truth_, store, probe) {}

RunningInvalidator::~RunningInvalidator() {
  stop();
}

void RunningInvalidator::start() {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void RunningInvalidator::run() {
  for (;;) {
    std::chrono::milliseconds pause{0};
    try {
      pause = invalidator_.step();
    } catch (const std::exception& e) {
      runtime::log_error("cache", std::string("stopping: ") + e.what());
      std::lock_guard lock(mutex_);
      failure_ = std::current_exception();
      cv_.notify_all();
      return;
    }
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, pause, [&] { return stopping_; })) return;
  }
}

void RunningInvalidator::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  invalidator_.stop();
  try {
    feed_.close();
  } catch (const std::exception& e) {
    runtime::log_warn("cache", std::string("closing the change topic's consumer: ") + e.what());
  }
}

bool RunningInvalidator::wait_failed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return failure_ != nullptr; });
}

void RunningInvalidator::rethrow_failure() {
  std::lock_guard lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

}  // namespace millrace::cache::detail
