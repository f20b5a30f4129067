#pragma once
// The operations endpoints every service answers (docs/operations.md,
// "Health"): GET /metrics, /healthz and /readyz. The HTTP services
// (millrace-producer, millrace-api) answer them on their own port through
// the replies below; the others on their metrics port through OpsServer.

#include <memory>
#include <string>
#include <vector>

#include "millrace/httpd/server.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/health.hpp"
#include "millrace/runtime/service.hpp"

namespace millrace::httpd {

// /healthz: the process is alive and its server answers. No I/O.
Reply liveness_reply();
// /readyz: 200 {"status":"ready","problems":[]} without problems, else 503
// {"status":"not_ready","problems":[{"check","detail","action"}...]}.
Reply readiness_reply(const std::vector<runtime::Problem>& problems);
// /metrics in Prometheus' text format.
Reply metrics_reply(const metrics::Registry& registry);

// Serves the three on `address` ("host:port", port 0: any) for a service
// that has no HTTP port of its own. Binds at once: a taken port throws
// std::runtime_error naming `setting`. Other paths get 404, other methods
// 405. Caller contract: `registry` and `service` outlive the server.
class OpsServer {
 public:
  OpsServer(const std::string& address, const std::string& setting, metrics::Registry& registry,
            const runtime::Service& service);
  ~OpsServer();  // stops
  OpsServer(const OpsServer&) = delete;
  OpsServer& operator=(const OpsServer&) = delete;

  int port() const;

 private:
  class Endpoints;
  std::unique_ptr<Endpoints> endpoints_;
  std::unique_ptr<Server> server_;
};

}  // namespace millrace::httpd
