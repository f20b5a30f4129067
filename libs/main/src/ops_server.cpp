#include "millrace/main/ops_server.hpp"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "millrace/httpd/listen_address.hpp"
#include "millrace/httpd/ops.hpp"
#include "millrace/httpd/server.hpp"

namespace millrace::main {

namespace {

// The three routes; requests have no body to speak of.
class Endpoints final : public httpd::Handler {
 public:
  Endpoints(metrics::Registry& registry, const runtime::Service& service)
      : registry_(registry), service_(service) {}

  std::optional<httpd::Reply> screen(const httpd::Request& req) override {
    if (req.method() != "GET") {
      auto r = refusal(405, "method_not_allowed", "only GET is served here");
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    return std::nullopt;
  }
  void handle(const httpd::Request& req,
              const std::shared_ptr<httpd::Exchange>& exchange) override {
    const auto path = req.path();
    if (path == "/metrics") return exchange->reply(httpd::metrics_reply(registry_));
    if (path == "/healthz") return exchange->reply(httpd::liveness_reply());
    if (path == "/readyz") return exchange->reply(httpd::readiness_reply(service_.readiness()));
    exchange->reply(refusal(404, "not_found", "served here: /metrics, /healthz, /readyz"));
  }
  httpd::Reply refusal(int status, std::string_view code, std::string_view detail) const override {
    return httpd::ops_refusal(status, code, detail);
  }
  void answered(std::string_view, int, std::chrono::steady_clock::duration) noexcept override {}
  void connection_refused() noexcept override {}
  void tls_failed(std::string_view) noexcept override {}

 private:
  metrics::Registry& registry_;
  const runtime::Service& service_;
};

}  // namespace

struct OpsServer::Serving {
  Serving(metrics::Registry& registry, const runtime::Service& service)
      : endpoints(registry, service) {}
  Endpoints endpoints;
  std::unique_ptr<httpd::Server> server;
};

OpsServer::OpsServer(const std::string& address, const std::string& setting,
                     metrics::Registry& registry, const runtime::Service& service)
    : serving_(std::make_unique<Serving>(registry, service)) {
  const auto where = httpd::parse_listen_address(address, setting, 9300);
  httpd::ServerOptions options;
  options.host = where.host;
  options.port = where.port;
  options.threads = 1;
  options.max_body_bytes = 4096;
  options.max_connections = 64;
  try {
    serving_->server = std::make_unique<httpd::Server>(options, serving_->endpoints);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve metrics and health on " + address + " (" + setting +
                             "): " + e.what());
  }
  serving_->server->start();
}

OpsServer::~OpsServer() {
  if (serving_->server) serving_->server->stop(std::chrono::milliseconds(500));
}

int OpsServer::port() const {
  return serving_->server->port();
}

}  // namespace millrace::main
