#pragma once
// The operations endpoints every service answers (docs/operations.md,
// "Health"): GET /metrics, /healthz and /readyz. The HTTP services
// (millrace-producer, millrace-api) answer them on their own port through
// the replies below; the others on their metrics port through
// runtime::OpsServer, which serves the same replies.

#include <string>
#include <string_view>
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

// A refusal of the operations endpoints: {"error","detail"} JSON.
Reply ops_refusal(int status, std::string_view code, std::string_view detail);

}  // namespace millrace::httpd
