#include "millrace/http/service.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ingest.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/http/request.hpp"
#include "millrace/httpd/probe.hpp"
#include "millrace/httpd/request.hpp"
#include "millrace/httpd/server.hpp"
#include "millrace/httpd/tls_options.hpp"
#include "millrace/runtime/failure.hpp"
#include "millrace/runtime/log.hpp"
#include "probe.hpp"
#include "routes.hpp"

namespace millrace::http {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kReadyCacheFor{1000};
constexpr milliseconds kReadyQueryTimeout{500};

// A request rejected before its events are read.
struct Refusal {
  int status;
  std::string_view error;
  std::string detail;
};

}  // namespace

// The service's routing, readiness and life cycle. The events route is
// Ingest's (ingest.cpp); every metric is the probe's (probe.cpp).
struct ProducerService::State final : httpd::Handler {
  State(HttpConfig c, metrics::Registry& r)
      : config(std::move(c)),
        probe(r, config.kafka.topic),
        server_probe(r, "MILLRACE_HTTP_MAX_CONNECTIONS"),
        ingest(config, probe, [this](std::string what) { fail(std::move(what)); }) {}

  HttpConfig config;
  ProducerProbe probe;
  httpd::ServerProbe server_probe;
  Ingest ingest;

  std::optional<httpd::Server> server;
  std::thread poller;
  std::atomic<bool> poller_stop{false};
  std::atomic<bool> stopping{false};
  std::atomic<int> bound_port{0};

  std::mutex stop_mutex;
  bool started = false;
  bool stopped = false;

  // Failure of the service itself (listener died, fatal producer error).
  runtime::FailureLatch failure;

  // Kept by the poller, so /readyz never waits for a broker on an HTTP
  // thread (which serves many connections).
  std::atomic<bool> ready_cached{false};
  Clock::time_point ready_checked{};  // poller only

  void fail(std::string what);
  void check_ready();

  // httpd::Handler
  std::optional<httpd::Reply> screen(const httpd::Request& req) override;
  void handle(const httpd::Request& req, const std::shared_ptr<httpd::Exchange>& exchange) override;
  httpd::Reply refusal(int status, std::string_view code, std::string_view detail) const override {
    return error_reply(status, code, detail);
  }
  void answered(std::string_view path, int status, Clock::duration took) noexcept override {
    probe.answered(route_of(path), status, took);
  }
  void connection_refused() noexcept override { server_probe.connection_refused(); }
  void tls_failed(std::string_view) noexcept override { server_probe.tls_failed(); }

  std::optional<Refusal> precheck(const httpd::Request& req) const;
};

void ProducerService::State::fail(std::string what) {
  if (failure.fail(what)) runtime::log_error(kComponent, what);
}

void ProducerService::State::check_ready() {
  const auto now = Clock::now();
  if (now - ready_checked < kReadyCacheFor) return;
  try {
    ingest.producer()->partition_count(config.kafka.topic, kReadyQueryTimeout);
    ready_cached = true;
  } catch (const core::InfraError&) {
    ready_cached = false;  // that is the answer /readyz gives
  }
  ready_checked = Clock::now();
}

std::optional<Refusal> ProducerService::State::precheck(const httpd::Request& req) const {
  if (!config.auth_token.empty() &&
      !httpd::bearer_matches(req.header("Authorization").value_or(""), config.auth_token)) {
    return Refusal{401, "unauthorized", "send Authorization: Bearer <token>"};
  }
  if (!httpd::body_format(req.header("Content-Type").value_or(""))) {
    return Refusal{415, "unsupported_media_type",
                   "Content-Type must be application/json or application/x-ndjson (UTF-8)"};
  }
  if (!parse_ack(httpd::query_param(req.query(), "ack"))) {
    return Refusal{400, "bad_request", "ack must be all or none"};
  }
  return std::nullopt;
}

std::optional<httpd::Reply> ProducerService::State::screen(const httpd::Request& req) {
  if (req.path() != kEventsPath || req.method() != "POST") return std::nullopt;
  auto refusal = precheck(req);
  if (!refusal) return std::nullopt;
  httpd::Reply r = error_reply(refusal->status, refusal->error, refusal->detail);
  if (refusal->status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

void ProducerService::State::handle(const httpd::Request& req,
                                    const std::shared_ptr<httpd::Exchange>& exchange) {
  const std::string_view path = req.path();
  const std::string_view method = req.method();
  const bool get = method == "GET";
  const auto only = [&](std::string_view allowed) {
    httpd::Reply r =
        error_reply(405, "method_not_allowed", allowed == "POST" ? "use POST" : "use GET");
    r.headers.emplace_back("Allow", allowed);
    exchange->reply(std::move(r));
  };
  switch (route_of(path)) {
    case kRouteEvents:
      if (method != "POST") return only("POST");
      return ingest.handle(req, exchange);
    case kRouteHealthz:
      if (!get) return only("GET");
      return exchange->reply(text_reply(200, "ok\n", "text/plain"));
    case kRouteReadyz:
      if (!get) return only("GET");
      if (!stopping.load() && ready_cached.load()) {
        return exchange->reply(text_reply(200, "ready\n", "text/plain"));
      }
      return exchange->reply(text_reply(
          503, stopping.load() ? "stopping\n" : "no metadata for the topic\n", "text/plain"));
    case kRouteMetrics:
      if (!get) return only("GET");
      return exchange->reply(
          text_reply(200, probe.scrape(), "text/plain; version=0.0.4; charset=utf-8"));
    case kRouteOther:
      break;
  }
  exchange->reply(error_reply(404, "not_found", "no such path"));
}

ProducerService::ProducerService(HttpConfig config, metrics::Registry& metrics)
    : state_(std::make_unique<State>(std::move(config), metrics)) {}

ProducerService::~ProducerService() {
  stop();
}

void ProducerService::start() {
  State& s = *state_;
  std::lock_guard lock(s.stop_mutex);
  if (s.started) return;
  s.started = true;

  if (s.config.auth_token.empty()) {
    runtime::log_warn(kComponent,
                      "MILLRACE_AUTH_TOKEN is empty: /v1/events is open to anyone "
                      "who can reach " +
                          s.config.http_addr);
  }
  s.ingest.start();
  const std::int32_t partitions = s.ingest.partitions();
  s.probe.register_metrics(s.ingest.producer());

  s.ready_cached = true;  // partition_count just answered
  s.ready_checked = Clock::now();
  s.poller = std::thread([&s] {
    while (!s.poller_stop.load()) {
      s.ingest.producer()->poll(milliseconds(100));
      s.ingest.after_poll();
      s.check_ready();
    }
  });

  httpd::ServerOptions options;
  options.host = s.config.host;
  options.port = s.config.port;
  options.threads = static_cast<int>(s.config.http_threads);
  options.max_body_bytes = static_cast<std::uint64_t>(s.config.max_body_bytes);
  options.max_connections = static_cast<std::size_t>(s.config.max_connections);
  options.tls_cert_file = s.config.tls.cert_file;
  options.tls_key_file = s.config.tls.key_file;
  s.server.emplace(options, s);
  s.server_probe.watch(*s.server);
  s.server->on_failure([&s](std::string what) { s.fail(std::move(what)); });
  s.bound_port = s.server->port();
  s.server->start();
  runtime::log_info(kComponent,
                    std::string("serving ") + (s.server->secure() ? "https" : "http") + "://" +
                        s.config.host + ":" + std::to_string(s.bound_port.load()) + " for topic " +
                        s.config.kafka.topic + " (" + std::to_string(partitions) + " partitions, " +
                        std::to_string(s.config.http_threads) + " HTTP threads)");
}

void ProducerService::stop() {
  State& s = *state_;
  std::lock_guard lock(s.stop_mutex);
  if (s.stopped || !s.started) return;
  s.stopped = true;
  s.stopping = true;
  if (s.server) {
    // Requests waiting for acknowledgements get them (the poller still
    // runs) or their deadline, which this grace covers.
    s.server->stop(milliseconds(s.config.produce_timeout_ms) + 2 * kAckGrace);
  }
  if (s.poller.joinable()) {
    s.poller_stop = true;
    s.poller.join();
  }
  if (const auto& producer = s.ingest.producer(); producer && s.bound_port > 0) {
    const auto until = Clock::now() + milliseconds(s.config.produce_timeout_ms) + kAckGrace;
    int left = producer->queue_length();
    while (left > 0 && Clock::now() < until) left = producer->flush(milliseconds(200));
    s.ingest.drop_finished();
    const auto stats = producer->stats();
    std::string summary = "stopped: delivered=" + std::to_string(stats.delivered) +
                          " failed=" + std::to_string(stats.failed);
    if (left > 0) summary += " unflushed=" + std::to_string(left);
    if (!stats.first_error.empty()) summary += " first_error=\"" + stats.first_error + "\"";
    runtime::log_info(kComponent, summary);
  }
}

void ProducerService::reload() {
  State& s = *state_;
  std::lock_guard lock(s.stop_mutex);
  if (s.server && !s.stopped) {
    httpd::reload_certificate(*s.server, s.config.tls, std::string(kComponent));
  }
}

bool ProducerService::wait(std::chrono::milliseconds timeout) {
  return state_->failure.wait(timeout);
}

void ProducerService::rethrow_failure() {
  state_->failure.rethrow();
}

int ProducerService::port() const {
  return state_->bound_port.load();
}

}  // namespace millrace::http
