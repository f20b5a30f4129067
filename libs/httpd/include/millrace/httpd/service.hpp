#pragma once
// The shell every HTTP service shares (millrace-producer, millrace-api): a
// runtime::Service that is its own server's Handler, with the server, the
// failure latch, the order of start and stop, and SIGHUP's certificate
// reload. The derived class says how it listens, what it opens before the
// listener and closes after it, and how it answers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "millrace/httpd/probe.hpp"
#include "millrace/httpd/server.hpp"
#include "millrace/httpd/tls_options.hpp"
#include "millrace/runtime/failure.hpp"
#include "millrace/runtime/service.hpp"

namespace millrace::httpd {

// Where and how a service listens, from its configuration.
struct Listen {
  std::string host;
  int port = 0;
  std::int64_t threads = 2;
  std::int64_t max_body_bytes = 1 << 20;
  std::int64_t max_connections = 512;
  TlsFiles tls;
};

// The Listen of a service configuration that names its fields so (host,
// port, http_threads, max_body_bytes, max_connections, tls).
template <typename Config>
Listen listen_of(const Config& c) {
  return {c.host, c.port, c.http_threads, c.max_body_bytes, c.max_connections, c.tls};
}

// Caller contract for the derived class: it is final, and its destructor
// calls stop() (its members must outlive the listener's last request). Its
// handler methods may run on the server's threads from start() to stop().
class HttpService : public runtime::Service, public Handler {
 public:
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // open(), then binds (a taken port throws) and serves; logs where, with
  // describe(). Once: a second call does nothing.
  void start() final;
  // Stops accepting connections, lets in-flight requests finish (up to
  // drain_grace()), then close(). Idempotent; nothing before start().
  void stop() final;
  // True once the service has failed by itself (fail(): the listener died,
  // or what the derived class reports); waits up to `timeout`.
  bool wait(std::chrono::milliseconds timeout) final { return failure_.wait(timeout); }
  void rethrow_failure() final { failure_.rethrow(); }
  // SIGHUP: reads the TLS certificate and key again for new connections; a
  // failure is logged and the old ones stay.
  void reload() final;

 protected:
  // `component` names the service in logs.
  HttpService(std::string component, metrics::Registry& metrics);
  ~HttpService() override;

  virtual Listen listen() const = 0;
  // What start() starts before the listener (it may throw: the start fails
  // and stop() then calls close() on what was opened).
  virtual void open() {}
  // The end of the "serving ..." log line: " for topic ...".
  virtual std::string describe() const { return {}; }
  // How long in-flight requests get to finish at stop().
  virtual std::chrono::milliseconds drain_grace() const = 0;
  // What stop() stops after the listener, in reverse order of open().
  virtual void close() {}

  // Records the service's failure (the first) and logs it.
  void fail(std::string what);
  // True from the start of stop(): /readyz answers 503.
  bool stopping() const { return stopping_.load(); }
  // The port listened on; 0 before the listener is bound.
  int bound_port() const { return bound_port_.load(); }
  const std::string& component() const { return component_; }

  // httpd::Handler: the connection cap's and TLS's counters.
  void connection_refused() noexcept override { server_probe_.connection_refused(); }
  void tls_failed(std::string_view) noexcept override { server_probe_.tls_failed(); }

 private:
  std::string component_;
  ServerProbe server_probe_;
  runtime::FailureLatch failure_;
  std::optional<Server> server_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> bound_port_{0};
  std::mutex mutex_;  // start, stop and reload
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace millrace::httpd
