#pragma once

// The metric families every HTTP service exports (metrics/family.hpp), the
// same in millrace-producer and millrace-api, in the order of their table
// in docs/operations.md: the requests, registered by each service's own
// probe with its routes, and the connections (ServerProbe).

#include "millrace/metrics/family.hpp"

namespace millrace::httpd {

inline const metrics::Family kHttpRequests(
    {.name = "millrace_http_requests_total",
     .type = metrics::Type::kCounter,
     .help = "HTTP requests answered, by route and status; `route` is the path template, `other` "
             "for unknown paths",
     .labels = {"route", "status"},
     .group = "http"});
inline const metrics::Family kHttpRequestDuration(
    {.name = "millrace_http_request_duration_seconds",
     .type = metrics::Type::kHistogram,
     .help = "Time from reading a request's headers to writing its response, by "
             "route (buckets from 100 us: most answers take a few milliseconds)",
     .labels = {"route"},
     .buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                 1, 2.5, 5, 10, 30},
     .group = "http"});
inline const metrics::Family kHttpConnections({.name = "millrace_http_connections",
                                               .type = metrics::Type::kGauge,
                                               .help = "HTTP connections being served",
                                               .group = "http"});
inline const metrics::Family kHttpConnectionsRefused(
    {.name = "millrace_http_connections_refused_total",
     .type = metrics::Type::kCounter,
     .help = "Connections answered 503 and closed because the service's connection "
             "cap (millrace-producer's MILLRACE_HTTP_MAX_CONNECTIONS, millrace-api's "
             "MILLRACE_API_MAX_CONNECTIONS) were already being served",
     .group = "http"});
inline const metrics::Family kHttpTlsFailures(
    {.name = "millrace_http_tls_handshake_failures_total",
     .type = metrics::Type::kCounter,
     .help = "TLS handshakes that failed (a plain-HTTP client on the TLS port, no "
             "common protocol version or cipher, a client that left or stalled); "
             "each connection is closed",
     .group = "http"});

}  // namespace millrace::httpd
