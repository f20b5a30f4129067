#pragma once
// The kit for a consumer-group service (docs/adding-a-service.md): its
// handler, the parts the handler leans on, and the TransactionalConsumer
// that drives it, assembled by the service's make function and run by
// runtime::run_main.

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/health.hpp"
#include "millrace/runtime/lifecycle.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/stream/consumer.hpp"
#include "millrace/stream/handler.hpp"

namespace millrace::stream {

// A consumer service's parts, in one runtime::Lifecycle: what is added
// before consume() starts before the consumer and stops after it (the
// handler, and what the handler leans on); what is added after starts once
// the consumer runs and stops before it. A part may refer to any part added
// before it.
class ConsumerService final : public runtime::Service {
 public:
  // `component` names the service in logs and in PostgreSQL's
  // application_name; `metrics` must outlive the service.
  ConsumerService(std::string component, metrics::Registry& metrics);
  ~ConsumerService() override;  // stop()s
  ConsumerService(const ConsumerService&) = delete;
  ConsumerService& operator=(const ConsumerService&) = delete;

  // Adds a part (owned): something with any of start(), stop(), failed()
  // and rethrow_failure() (runtime::Lifecycle's contract).
  template <typename T>
  T& add(std::unique_ptr<T> part) {
    return parts_.add(std::move(part));
  }
  // Keeps `value` (the configuration, say) as long as the parts.
  template <typename T>
  T& keep(T value) {
    return parts_.keep(std::move(value));
  }
  // Adds the consumer of `config`'s topic and group, which drives `handler`
  // (a part added before, or kept). Once. Its readiness checks come with
  // it: PostgreSQL answers, Kafka answers and the topic exists, and no
  // partition is halted.
  void consume(const StreamConfig& config, Handler& handler);
  // The service's readiness checks, for a part to add its own (before
  // start()) or to report what it meets.
  runtime::Health& health() { return health_; }

  // Starts the parts in order; a failure stops those started and throws.
  void start() override;
  // Stops the parts in reverse order: the consumer commits its batch and
  // leaves the group. Logs the consumer's totals once. Idempotent.
  void stop() override;
  // True once the consumer or a part has ended by itself (a fatal error),
  // or after stop(); waits up to `timeout` for the consumer.
  bool wait(std::chrono::milliseconds timeout) override;
  // Rethrows the fatal error that ended it, the first in the parts' order.
  void rethrow_failure() override;
  // The health checks' problems, then one per halted partition ("partition").
  std::vector<runtime::Problem> readiness() const override;
  StreamStats stats() const;

 private:
  std::string component_;
  metrics::Registry& metrics_;
  runtime::Health health_{component_};  // started after the parts, stopped before them
  runtime::Lifecycle parts_;
  TransactionalConsumer* consumer_ = nullptr;  // one of parts_
  bool reported_ = false;
};

}  // namespace millrace::stream
