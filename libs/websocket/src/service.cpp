#include "millrace/websocket/service.hpp"

#include <chrono>
#include <mutex>
#include <utility>

#include "kafka_output.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/httpd/websocket.hpp"
#include "millrace/kafka/readiness.hpp"
#include "millrace/pg/readiness.hpp"
#include "millrace/runtime/health.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/worker.hpp"
#include "millrace/websocket/source.hpp"
#include "runs.hpp"
#include "source_metrics.hpp"

namespace millrace::websocket {

namespace {

constexpr std::string_view kService = "websocket";
using std::chrono::milliseconds;

// The feed's connection: the WebSocket client, as Source reads it.
class ClientConnection final : public Connection {
 public:
  explicit ClientConnection(httpd::WebSocketOptions options) : client_(std::move(options)) {}
  void connect() override { client_.connect(); }
  void send_text(std::string_view message) override { client_.send_text(message); }
  httpd::WebSocketClient::Read read(httpd::WebSocketFrame& frame,
                                    std::chrono::steady_clock::time_point deadline) override {
    return client_.read(frame, deadline);
  }
  const std::string& ended() const override { return client_.ended(); }
  void close() override { client_.close(); }
  void interrupt() { client_.interrupt(); }

 private:
  httpd::WebSocketClient client_;
};

httpd::WebSocketOptions client_options(const WebsocketConfig& c) {
  httpd::WebSocketOptions o;
  o.url = c.url;
  o.ca_file = c.ca_file;
  o.connect_timeout = milliseconds(c.connect_timeout_ms);
  o.idle_timeout = milliseconds(c.idle_timeout_ms);
  o.max_frame_bytes = static_cast<std::size_t>(c.max_frame_bytes);
  return o;
}

detail::KafkaOutputOptions output_options(const WebsocketConfig& c) {
  detail::KafkaOutputOptions o;
  o.producer.brokers = c.kafka.brokers;
  o.producer.client_id = c.kafka.client_id;
  o.producer.extra = c.kafka.extra;
  o.producer.message_timeout_ms = static_cast<std::int32_t>(c.produce_timeout_ms);
  o.topic = c.topic;
  o.dlq_topic = c.dlq_topic;
  o.dlq_max_bytes = static_cast<std::size_t>(c.dlq_max_bytes);
  o.flush_timeout = milliseconds(c.produce_timeout_ms + 10'000);
  return o;
}

class WebsocketService final : public runtime::Service {
 public:
  WebsocketService(WebsocketConfig config, metrics::Registry& registry)
      : config_(std::move(config)),
        metrics_(registry),
        connection_(client_options(config_)),
        store_(config_.pg),
        // Jitter: many sources may lose a public feed at once.
        worker_({.component = std::string(kService),
                 .retry = config_.retry,
                 .jitter = 0.5,
                 .health = &health_,
                 .check = "source",
                 .problem = "not running: ",
                 .action = "it retries by itself; its log says what it waits for",
                 .on_stop = [this] { connection_.interrupt(); }}),
        poller_({.component = std::string(kService) + "-kafka", .retry = config_.retry}) {
    health_.poll("postgresql", pg::database_probe(config_.pg, "millrace-websocket-readiness"));
    // The last run that ended, its figures as labels: the ingestion-delta
    // alert's payload (MillraceIngestionRunShort).
    kLastRun.computed_gauge(registry, [this] { return last_run_samples(); });
    health_.poll("kafka", kafka::topic_probe(config_.kafka, config_.topic,
                                             "create it with `millrace create-topics`, or set " +
                                                 config_.kind->topic_env +
                                                 " to the topic the source should write"));
  }
  ~WebsocketService() override { stop(); }

  void start() override {
    health_.start();
    worker_.spawn([this] { return round(); });
  }

  void stop() override {
    health_.stop();
    worker_.stop();
    poller_.stop();
  }

  void reload() override {
    std::lock_guard lock(source_mutex_);
    if (source_) source_->set_symbols(config_.reloaded_symbols.value_or(config_.symbols));
  }

  bool wait(milliseconds timeout) override { return worker_.wait(timeout); }
  void rethrow_failure() override {
    worker_.rethrow_failure();
    poller_.rethrow_failure();
  }
  std::vector<runtime::Problem> readiness() const override { return health_.problems(); }

 private:
  // Until stopped: Kafka's producer (made once the brokers answer), then
  // runs on their schedule.
  runtime::Worker::Next round() {
    if (!output_) {
      output_ = std::make_unique<detail::KafkaOutput>(output_options(config_));
      poller_.spawn([this] {
        output_->poll(milliseconds(100));
        return runtime::Worker::Next::again();
      });
    }
    if (!source_) {
      SourceOptions o;
      o.source = config_.source_name;
      o.url = httpd::WebSocketUrl::parse(config_.url).redacted();
      o.topic = config_.topic;
      o.run_for = std::chrono::seconds(config_.run_for);
      o.every = std::chrono::seconds(config_.every);
      o.max_frame_bytes = static_cast<std::size_t>(config_.max_frame_bytes);
      o.symbols = config_.reloaded_symbols.value_or(config_.symbols);
      o.alert_below_ratio = config_.alert_below_ratio;
      auto source =
          std::make_unique<Source>(std::move(o), *config_.feed_decl, *config_.kind, connection_,
                                   *output_, store_, worker_, &metrics_, &health_);
      std::lock_guard lock(source_mutex_);
      source_ = std::move(source);
      source_->recover();
    }
    const auto next = source_->run();
    if (worker_.stopping()) return runtime::Worker::Next::done();
    const auto wait =
        std::chrono::duration_cast<milliseconds>(next - std::chrono::steady_clock::now());
    if (wait.count() > 0) {
      runtime::log_info(kService, "next run in " + std::to_string(wait.count() / 1000) + " s");
    }
    return runtime::Worker::Next::after(std::max(wait, milliseconds(0)));
  }

  std::vector<metrics::Sample> last_run_samples() const {
    std::lock_guard lock(source_mutex_);
    if (!source_) return {};
    const auto e = source_->last_ended();
    if (!e) return {};
    const auto previous = e->previous_records ? std::to_string(*e->previous_records) : "";
    const auto delta = e->previous_records
                           ? std::to_string(static_cast<std::int64_t>(e->records) -
                                            static_cast<std::int64_t>(*e->previous_records))
                           : "";
    return {{{{"run_id", e->run_id},
              {"started_at", core::format_timestamp(e->started_us)},
              {"ended_at", core::format_timestamp(e->ended_us)},
              {"records", std::to_string(e->records)},
              {"previous_records", previous},
              {"delta", delta}},
             e->short_run ? 1.0 : 0.0}};
  }

  WebsocketConfig config_;
  SourceMetrics metrics_;
  runtime::Health health_{std::string(kService)};
  ClientConnection connection_;
  detail::PgRunStore store_;
  runtime::Worker worker_;
  runtime::Worker poller_;
  std::unique_ptr<detail::KafkaOutput> output_;
  mutable std::mutex source_mutex_;  // source_, made by the worker, read by scrapes
  std::unique_ptr<Source> source_;
};

}  // namespace

std::unique_ptr<runtime::Service> make_websocket(WebsocketConfig config,
                                                 metrics::Registry& metrics) {
  return std::make_unique<WebsocketService>(std::move(config), metrics);
}

}  // namespace millrace::websocket
