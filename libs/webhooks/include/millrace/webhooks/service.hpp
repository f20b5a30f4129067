#pragma once

#include <chrono>
#include <memory>

#include "millrace/metrics/metrics.hpp"
#include "millrace/stream/consumer.hpp"
#include "millrace/webhooks/config.hpp"

namespace millrace::webhooks {

namespace detail {
class ReadMarks;
}

// millrace-webhooks: a consumer group member on the change topic that
// enqueues a delivery per change and matching endpoint (in the transaction
// of its offsets), and delivery workers that send them, signed, in order
// per endpoint (commit order, or key order where an endpoint asks), with
// retries. docs/exactly-once.md, "Webhooks".
class Webhooks {
 public:
  Webhooks(WebhooksConfig config, metrics::Registry& metrics);
  ~Webhooks();
  Webhooks(const Webhooks&) = delete;
  Webhooks& operator=(const Webhooks&) = delete;

  void start();
  // Stops the workers after their request in flight, then the consumer
  // (its batch committed). Idempotent.
  void stop();
  // True once the consumer or a worker ended on a fatal error (or stop()).
  bool wait(std::chrono::milliseconds timeout);
  void rethrow_failure();
  stream::StreamStats stats() const;

 private:
  class Dispatcher;
  WebhooksConfig config_;
  std::unique_ptr<detail::ReadMarks> marks_;
  std::unique_ptr<stream::Handler> handler_;
  std::unique_ptr<stream::TransactionalConsumer> consumer_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace millrace::webhooks
