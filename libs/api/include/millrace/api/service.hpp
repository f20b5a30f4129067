#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "millrace/api/config.hpp"
#include "millrace/catalog/reads.hpp"
#include "millrace/metrics/metrics.hpp"

namespace millrace::api {

// The seam where a cache plugs into the catalog's reads. Each database
// worker calls it once, in ApiService::start() on the calling thread, with
// the reads it made on its own reader session; the worker then reads the
// catalog only through what it returns, from its own thread alone
// (catalog::Reads' caller contract). A cache returns an object that wraps
// `database` and reads through it on a miss; it must not share the
// database object with another worker. Exceptions stop start().
using ReadsFactory =
    std::function<std::unique_ptr<catalog::Reads>(std::unique_ptr<catalog::Reads> database)>;

// The default: the database's reads, unchanged.
ReadsFactory database_reads();

// millrace-api: the analytics views, the catalog and the accounting over
// HTTP (JSON or CSV), and the catalog's admin writes. Database work runs on
// a pool of worker threads, each with its own sessions, never on the HTTP
// event loops. Also serves /healthz, /readyz and /metrics on the same port.
// docs/api.md describes the protocol, proto/openapi.yaml its schema.
class ApiService {
 public:
  // `metrics` must outlive the service. The catalog is read through the
  // Redis cache when config.cache names one (its read metrics in
  // `metrics`), from the database otherwise.
  ApiService(ApiConfig config, metrics::Registry& metrics);
  // The same, with the catalog's reads made by `reads`.
  ApiService(ApiConfig config, metrics::Registry& metrics, ReadsFactory reads);
  ~ApiService();  // stop()s
  ApiService(const ApiService&) = delete;
  ApiService& operator=(const ApiService&) = delete;

  // Checks that the reader can connect (fatal failures, such as a bad
  // password or a missing schema, throw core::InfraError; an unreachable
  // server only leaves /readyz at 503 until it answers), makes each worker's
  // reads through the factory, binds the HTTP port (a taken port throws)
  // and starts serving.
  void start();
  // Stops accepting connections, lets in-flight requests finish (up to the
  // request timeout), then stops the workers. Idempotent.
  void stop();
  // True when the service has failed by itself (the listener died); waits
  // up to `timeout` for that.
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

}  // namespace millrace::api
