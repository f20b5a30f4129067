#include "millrace/httpd/probe.hpp"

#include "millrace/httpd/http_metrics.hpp"
#include "millrace/httpd/server.hpp"

namespace millrace::httpd {

ServerProbe::ServerProbe(metrics::Registry& registry)
    : registry_(registry),
      refused_(kHttpConnectionsRefused.counter(registry)),
      tls_failures_(kHttpTlsFailures.counter(registry)) {}

void ServerProbe::watch(const Server& server) {
  kHttpConnections.computed_gauge(registry_, [&server]() -> std::vector<metrics::Sample> {
    return {{{}, static_cast<double>(server.connections())}};
  });
}

}  // namespace millrace::httpd
