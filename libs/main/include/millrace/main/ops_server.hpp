#pragma once
// The operations endpoints of a service that has no HTTP port of its own
// (docs/operations.md, "Health"): GET /metrics, /healthz and /readyz on its
// metrics address. Served by the HTTP server of libs/httpd, which stays
// private: a service's main sees only this.

#include <memory>
#include <string>

#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/service.hpp"

namespace millrace::main {

// Serves the three on `address` ("host:port", port 0: any). Binds at once:
// a taken port throws std::runtime_error naming `setting`. Other paths get
// 404, other methods 405. Caller contract: `registry` and `service` outlive
// the server.
class OpsServer {
 public:
  OpsServer(const std::string& address, const std::string& setting, metrics::Registry& registry,
            const runtime::Service& service);
  ~OpsServer();  // stops
  OpsServer(const OpsServer&) = delete;
  OpsServer& operator=(const OpsServer&) = delete;

  int port() const;

 private:
  struct Serving;
  std::unique_ptr<Serving> serving_;
};

}  // namespace millrace::main
