#include "millrace/ingest/service.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "ingest.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/httpd/ops.hpp"
#include "millrace/httpd/request.hpp"
#include "millrace/httpd/service.hpp"
#include "millrace/ingest/request.hpp"
#include "millrace/kafka/readiness.hpp"
#include "millrace/runtime/health.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/worker.hpp"
#include "probe.hpp"
#include "routes.hpp"

namespace millrace::ingest {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often the readiness checks ask the brokers: a load balancer that
// polls /readyz sees a lost broker within this and the probe's 3 s.
constexpr milliseconds kReadyEvery{1000};

// A request rejected before its events are read.
struct Refusal {
  int status;
  std::string_view error;
  std::string detail;
};

// The service's routing, readiness and life cycle. The events route is
// Ingest's (ingest.cpp); every metric is the probe's (probe.cpp); the
// listener's shell is httpd::HttpService's.
class ProducerService final : public httpd::HttpService {
 public:
  ProducerService(ProducerConfig c, metrics::Registry& r)
      : HttpService(std::string(kComponent), r),
        config_(std::move(c)),
        probe_(r, config_.kafka.topic),
        ingest_(config_, probe_) {
    // The store events' topic: /v1/events is what most deployments serve.
    // The orders' topic is not required: a producer that takes no orders
    // must not stay unready for want of it (POST /v1/orders then answers
    // each order with the topic's error).
    health_.poll("kafka", kafka::topic_probe(config_.kafka, config_.kafka.topic,
                                             "create it with `millrace create-topics`, or set "
                                             "MILLRACE_TOPIC to the topic to write"));
  }
  ~ProducerService() override { stop(); }

 private:
  ProducerConfig config_;
  ProducerProbe probe_;
  Ingest ingest_;

  // Serves the producer's delivery reports; its failure is the service's.
  runtime::Worker poller_{{.component = std::string(kComponent),
                           .on_failure = [this](const std::string& what) { fail(what); }}};

  // Run on a thread of their own, so /readyz never waits for a broker on
  // an HTTP thread (which serves many connections).
  runtime::Health health_{std::string(kComponent)};

  std::vector<runtime::Problem> readiness() const override {
    if (stopping()) return {{"stopping", "the service is stopping", {}}};
    return health_.problems();
  }

  // httpd::HttpService
  httpd::Listen listen() const override { return httpd::listen_of(config_); }
  void open() override;
  std::string describe() const override;
  milliseconds drain_grace() const override {
    // Requests waiting for acknowledgements get them (the poller still
    // runs) or their deadline, which this grace covers.
    return milliseconds(config_.produce_timeout_ms) + 2 * kAckGrace;
  }
  void close() override;

  // httpd::Handler
  std::optional<httpd::Reply> screen(const httpd::Request& req) override;
  void handle(const httpd::Request& req, const std::shared_ptr<httpd::Exchange>& exchange) override;
  httpd::Reply refusal(int status, std::string_view code, std::string_view detail) const override {
    return error_reply(status, code, detail);
  }
  void answered(std::string_view path, int status, Clock::duration took) noexcept override {
    probe_.answered(route_of(path), status, took);
  }

  std::optional<Refusal> precheck(const httpd::Request& req) const;
};

std::optional<Refusal> ProducerService::precheck(const httpd::Request& req) const {
  if (!config_.auth_token.empty() &&
      !httpd::bearer_matches(req.header("Authorization").value_or(""), config_.auth_token)) {
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

std::optional<httpd::Reply> ProducerService::screen(const httpd::Request& req) {
  if ((req.path() != kEventsPath && req.path() != kOrdersPath) || req.method() != "POST") {
    return std::nullopt;
  }
  auto refusal = precheck(req);
  if (!refusal) return std::nullopt;
  httpd::Reply r = error_reply(refusal->status, refusal->error, refusal->detail);
  if (refusal->status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

void ProducerService::handle(const httpd::Request& req,
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
      return ingest_.handle(req, exchange);
    case kRouteOrders:
      if (method != "POST") return only("POST");
      return ingest_.handle(req, exchange, true);
    case kRouteHealthz:
      if (!get) return only("GET");
      return exchange->reply(httpd::liveness_reply());
    case kRouteReadyz:
      if (!get) return only("GET");
      return exchange->reply(httpd::readiness_reply(readiness()));
    case kRouteMetrics:
      if (!get) return only("GET");
      return exchange->reply(
          text_reply(200, probe_.scrape(), "text/plain; version=0.0.4; charset=utf-8"));
    case kRouteOther:
      break;
  }
  exchange->reply(error_reply(404, "not_found", "no such path"));
}

void ProducerService::open() {
  if (config_.auth_token.empty()) {
    runtime::log_warn(kComponent,
                      "MILLRACE_AUTH_TOKEN is empty: /v1/events and /v1/orders are open to anyone "
                      "who can reach " +
                          config_.http_addr);
  }
  ingest_.start();
  probe_.register_metrics(ingest_.producer_handle());
  health_.check_now();
  health_.start(kReadyEvery);
  poller_.spawn([this] {
    if (const auto reason = ingest_.producer().poll(milliseconds(100))) {
      // The requests whose events it held are answered as failed, and
      // their clients send them again: no reason to stop the service.
      probe_.producer_renewed();
      runtime::log_error(kComponent, "the Kafka producer failed fatally (" + *reason +
                                         "); replaced it with a new one, and failed the " +
                                         "events it held");
    }
    ingest_.after_poll();
    return runtime::Worker::Next::again();
  });
}

std::string ProducerService::describe() const {
  return " for topic " + config_.kafka.topic + " (" + std::to_string(ingest_.partitions()) +
         " partitions, " + std::to_string(config_.http_threads) + " HTTP threads)";
}

void ProducerService::close() {
  health_.stop();
  poller_.stop();
  if (ingest_.started() && bound_port() > 0) {
    auto& producer = ingest_.producer();
    const int left = producer.flush(milliseconds(config_.produce_timeout_ms) + kAckGrace);
    ingest_.drop_finished();
    const auto stats = producer.stats();
    std::string summary = "stopped: delivered=" + std::to_string(stats.delivered) +
                          " failed=" + std::to_string(stats.failed);
    if (left > 0) summary += " unflushed=" + std::to_string(left);
    if (!stats.first_error.empty()) summary += " first_error=\"" + stats.first_error + "\"";
    runtime::log_info(kComponent, summary);
  }
}

}  // namespace

std::unique_ptr<runtime::Service> make_producer(ProducerConfig config, metrics::Registry& metrics) {
  return std::make_unique<ProducerService>(std::move(config), metrics);
}

}  // namespace millrace::ingest
