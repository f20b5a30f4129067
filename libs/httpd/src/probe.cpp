#include "millrace/httpd/probe.hpp"

#include "millrace/httpd/server.hpp"

namespace millrace::httpd {

ServerProbe::ServerProbe(metrics::Registry& registry, const std::string& cap_setting)
    : registry_(registry),
      refused_(registry.counter("millrace_http_connections_refused_total",
                                "Connections answered 503 and closed because " + cap_setting +
                                    " were already being served.")),
      tls_failures_(registry.counter(
          "millrace_http_tls_handshake_failures_total",
          "TLS handshakes that failed (a plain-HTTP client on the TLS port, no common protocol "
          "version or cipher, a client that left or stalled); each connection is closed.")) {}

void ServerProbe::watch(const Server& server) {
  registry_.computed_gauge("millrace_http_connections", "HTTP connections being served.",
                           [&server]() -> std::vector<metrics::Sample> {
                             return {{{}, static_cast<double>(server.connections())}};
                           });
}

}  // namespace millrace::httpd
