#pragma once

#include <chrono>
#include <memory>

#include "millrace/http/config.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::http {

// millrace-producer: takes store events over HTTP (POST /v1/events),
// validates each, and produces the valid ones to Kafka with the routing of
// `millrace produce`. Also serves /healthz, /readyz and /metrics on the same
// port. docs/http.md describes the protocol.
class ProducerService {
 public:
  // `metrics` must outlive the service.
  ProducerService(HttpConfig config, metrics::Registry& metrics);
  ~ProducerService();  // stop()s
  ProducerService(const ProducerService&) = delete;
  ProducerService& operator=(const ProducerService&) = delete;

  // Creates the Kafka producer (bad properties throw), reads the topic's
  // partition count (it must be even), binds the HTTP port (a taken port
  // throws) and starts serving. Throws core::InfraError or std::runtime_error
  // with a message fit for the operator.
  void start();
  // Stops accepting connections, lets in-flight requests finish (they still
  // get their acknowledgements), then flushes the producer. Idempotent.
  void stop();
  // True when the service has failed by itself (the listener died or the
  // producer hit a fatal error); waits up to `timeout` for that.
  bool wait(std::chrono::milliseconds timeout);
  // Throws what made the service fail, if anything did.
  void rethrow_failure();
  // SIGHUP: reads the TLS certificate and key again (a renewed certificate)
  // for new connections; a failure is logged and the old ones stay.
  void reload();

  // The port listened on (useful with port 0); 0 before start().
  int port() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace millrace::http
