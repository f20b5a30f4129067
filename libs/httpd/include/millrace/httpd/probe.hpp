#pragma once

// The metrics every HTTP service exports about its server's connections
// (Redpanda's "probe"), the same in millrace-producer and millrace-api
// (httpd/http_metrics.hpp): millrace_http_connections,
// millrace_http_connections_refused_total and
// millrace_http_tls_handshake_failures_total.
// Thread-safe. The service's Handler forwards connection_refused() and
// tls_failed() here.

#include <string>

#include "millrace/metrics/metrics.hpp"

namespace millrace::httpd {

class Server;

class ServerProbe {
 public:
  explicit ServerProbe(metrics::Registry& registry);
  // Registers the connections gauge, which reads `server` at each scrape:
  // the server must outlive the registry's scrapes.
  void watch(const Server& server);
  void connection_refused() { refused_.inc(); }
  void tls_failed() { tls_failures_.inc(); }

 private:
  metrics::Registry& registry_;
  metrics::Counter refused_;
  metrics::Counter tls_failures_;
};

}  // namespace millrace::httpd
