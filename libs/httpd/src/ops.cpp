#include "millrace/httpd/ops.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <stdexcept>
#include <utility>

#include "millrace/httpd/listen_address.hpp"

namespace millrace::httpd {

namespace {

constexpr std::string_view kJson = "application/json";

std::string problems_json(const std::vector<runtime::Problem>& problems) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("status");
  w.String(problems.empty() ? "ready" : "not_ready");
  w.Key("problems");
  w.StartArray();
  for (const auto& p : problems) {
    w.StartObject();
    w.Key("check");
    w.String(p.check.c_str(), static_cast<rapidjson::SizeType>(p.check.size()));
    w.Key("detail");
    w.String(p.detail.c_str(), static_cast<rapidjson::SizeType>(p.detail.size()));
    w.Key("action");
    w.String(p.action.c_str(), static_cast<rapidjson::SizeType>(p.action.size()));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(out.GetString(), out.GetSize()) + "\n";
}

std::string error_json(std::string_view code, std::string_view detail) {
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  w.StartObject();
  w.Key("error");
  w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
  w.Key("detail");
  w.String(detail.data(), static_cast<rapidjson::SizeType>(detail.size()));
  w.EndObject();
  return std::string(out.GetString(), out.GetSize()) + "\n";
}

}  // namespace

Reply liveness_reply() {
  return Reply{200, "{\"status\":\"alive\"}\n", kJson, {}, false};
}

Reply readiness_reply(const std::vector<runtime::Problem>& problems) {
  return Reply{problems.empty() ? 200 : 503, problems_json(problems), kJson, {}, false};
}

Reply metrics_reply(const metrics::Registry& registry) {
  return Reply{200, registry.scrape(), "text/plain; version=0.0.4; charset=utf-8", {}, false};
}

// The three routes; requests have no body to speak of.
class OpsServer::Endpoints final : public Handler {
 public:
  Endpoints(metrics::Registry& registry, const runtime::Service& service)
      : registry_(registry), service_(service) {}

  std::optional<Reply> screen(const Request& req) override {
    if (req.method() != "GET") {
      auto r = refusal(405, "method_not_allowed", "only GET is served here");
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    return std::nullopt;
  }
  void handle(const Request& req, const std::shared_ptr<Exchange>& exchange) override {
    const auto path = req.path();
    if (path == "/metrics") return exchange->reply(metrics_reply(registry_));
    if (path == "/healthz") return exchange->reply(liveness_reply());
    if (path == "/readyz") return exchange->reply(readiness_reply(service_.readiness()));
    exchange->reply(refusal(404, "not_found", "served here: /metrics, /healthz, /readyz"));
  }
  Reply refusal(int status, std::string_view code, std::string_view detail) const override {
    return Reply{status, error_json(code, detail), kJson, {}, false};
  }
  void answered(std::string_view, int, std::chrono::steady_clock::duration) noexcept override {}
  void connection_refused() noexcept override {}
  void tls_failed(std::string_view) noexcept override {}

 private:
  metrics::Registry& registry_;
  const runtime::Service& service_;
};

OpsServer::OpsServer(const std::string& address, const std::string& setting,
                     metrics::Registry& registry, const runtime::Service& service)
    : endpoints_(std::make_unique<Endpoints>(registry, service)) {
  const auto where = parse_listen_address(address, setting, 9300);
  ServerOptions options;
  options.host = where.host;
  options.port = where.port;
  options.threads = 1;
  options.max_body_bytes = 4096;
  options.max_connections = 64;
  try {
    server_ = std::make_unique<Server>(options, *endpoints_);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve metrics and health on " + address + " (" + setting +
                             "): " + e.what());
  }
  server_->start();
}

OpsServer::~OpsServer() {
  if (server_) server_->stop(std::chrono::milliseconds(500));
}

int OpsServer::port() const {
  return server_->port();
}

}  // namespace millrace::httpd
