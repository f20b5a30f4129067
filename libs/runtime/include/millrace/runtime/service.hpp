#pragma once
// What runtime::serve() runs: every service's main part, built by its
// library's make function (make_sink, make_api, ...) and never named by its
// class outside that library.

#include <chrono>
#include <vector>

#include "millrace/runtime/health.hpp"

namespace millrace::runtime {

// Caller contract: start() once, then any number of wait() and reload()
// calls from the thread that started it, then stop() (the destructor stops
// too). rethrow_failure() after stop() says how it ended.
class Service {
 public:
  virtual ~Service() = default;

  // Starts serving. Throws with a message fit for the operator when it
  // cannot (bad properties, a taken port, a fatal database error); what is
  // merely unreachable yet is waited for, not thrown.
  virtual void start() = 0;
  // Finishes in-flight work and stops. Idempotent; does not throw.
  virtual void stop() = 0;
  // True once the service has ended by itself (a fatal failure); waits up
  // to `timeout` for that.
  virtual bool wait(std::chrono::milliseconds timeout) = 0;
  // Throws what made the service fail, if anything did.
  virtual void rethrow_failure() = 0;
  // SIGHUP, after runtime::ServiceSettings::reload took the settings: reloads
  // what else can change under a running service (a renewed TLS
  // certificate), logging what it did. Nothing by default. Does not throw:
  // what it cannot reload it logs and keeps.
  virtual void reload() {}
  // What stops the service doing its job now (GET /readyz): empty while it
  // can. Thread-safe, and answers at once: it reads what the service's
  // own threads last found (runtime::Health), it never waits on a server.
  virtual std::vector<Problem> readiness() const = 0;
};

}  // namespace millrace::runtime
