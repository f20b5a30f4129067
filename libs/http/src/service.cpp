#include "millrace/http/service.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "millrace/core/event.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/partitioner.hpp"
#include "millrace/core/validation.hpp"
#include "millrace/http/request.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/kafka/store_event.hpp"
#include "millrace/runtime/log.hpp"
#include "server.hpp"

namespace millrace::http {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kComponent = "producer";
constexpr std::string_view kEventsPath = "/v1/events";
constexpr const char* kJson = "application/json";

// A request waits this much longer than message.timeout.ms, so librdkafka's
// own verdict on a message normally arrives before the request gives up.
constexpr milliseconds kAckGrace{1000};
constexpr milliseconds kReadyCacheFor{1000};
constexpr milliseconds kReadyQueryTimeout{500};
constexpr milliseconds kRefreshAtMostEvery{1000};

enum Route : std::size_t { kRouteEvents, kRouteHealthz, kRouteReadyz, kRouteMetrics, kRouteOther };
constexpr std::size_t kRouteCount = 5;
constexpr std::array<std::string_view, kRouteCount> kRouteNames = {"/v1/events", "/healthz",
                                                                   "/readyz", "/metrics", "other"};

Route route_of(std::string_view path) {
  if (path == kEventsPath) return kRouteEvents;
  if (path == "/healthz") return kRouteHealthz;
  if (path == "/readyz") return kRouteReadyz;
  if (path == "/metrics") return kRouteMetrics;
  return kRouteOther;
}

// Codes of the per-event "reason" for what the HTTP layer adds to the
// validator's codes (core::reason_code).
constexpr std::string_view kReasonTooLarge = "message_too_large";
constexpr std::string_view kReasonQueueFull = "queue_full";
constexpr std::string_view kReasonTimeout = "timeout";
constexpr std::string_view kReasonDeliveryFailed = "delivery_failed";
constexpr std::string_view kReasonUnknownPartition = "unknown_partition";
constexpr std::string_view kReasonProducerError = "producer_error";

struct Batch;

// One event of a request, and what a delivery report's opaque points at. For
// ?ack=none the opaque is instead one of two shared slots without a batch,
// which only tell the metrics the event type.
struct Slot {
  Batch* batch = nullptr;
  core::EventType type = core::EventType::kSale;
  EventStatus status = EventStatus::kRejected;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string_view reason;
  std::string_view detail;    // static text; or see `text`
  std::int32_t text = -1;     // index into Batch::texts for field/detail text
  std::array<char, 36> id{};  // canonical UUID, set when valid
  bool has_id = false;
};

// The per-request completion object. Each queued message holds a reference,
// released by its delivery report, and so does the request: whichever ends
// last frees it, so a request that stops waiting (timeout) leaves nothing
// dangling behind librdkafka's opaques.
struct Batch {
  Batch(std::size_t n, std::shared_ptr<detail::Exchange> e)
      : slots(n), exchange(std::move(e)), refs(static_cast<std::int64_t>(n) + 1) {}

  std::vector<Slot> slots;
  // field/detail texts of rejections and delivery errors (rare: allocating).
  std::vector<std::pair<std::string, std::string>> texts;
  // Answers the request once every report is in (or at its deadline).
  std::shared_ptr<detail::Exchange> exchange;

  std::mutex mutex;
  // Reports not yet received. It may dip below zero: reports can arrive
  // before the request adds what it queued.
  std::int64_t pending = 0;
  bool submitted = false;  // the request has added its count
  bool closed = false;     // the reply is being built: slots are its own

  std::atomic<std::int64_t> refs;
  void release(std::int64_t n = 1) {
    if (refs.fetch_sub(n, std::memory_order_acq_rel) == n) delete this;
  }
};

struct BatchRelease {
  void operator()(Batch* b) const { b->release(); }
};

// A request rejected before its events are read.
struct Refusal {
  int status;
  std::string_view error;
  std::string detail;
};

std::string error_body(std::string_view error, std::string_view detail) {
  std::string out;
  append_error_json(out, error, detail);
  return out;
}

detail::Reply json_reply(int status, std::string body) {
  detail::Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

detail::Reply error_reply(int status, std::string_view error, std::string_view detail) {
  return json_reply(status, error_body(error, detail));
}

detail::Reply text_reply(int status, std::string body, std::string_view content_type) {
  detail::Reply r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = content_type;
  return r;
}

std::vector<double> request_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
}

}  // namespace

struct ProducerService::State final : detail::Handler {
  State(HttpConfig c, metrics::Registry& r) : config(std::move(c)), registry(r) {}

  HttpConfig config;
  metrics::Registry& registry;

  std::shared_ptr<kafka::Producer> producer;
  std::atomic<std::int32_t> partitions{0};
  std::optional<detail::Server> server;
  std::thread poller;
  std::atomic<bool> poller_stop{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> refresh_wanted{false};
  std::atomic<int> bound_port{0};
  std::array<Slot, 2> untracked;  // ?ack=none opaques, by event type
  // Requests whose last report came in this poll, answered together after
  // it. Only delivery reports touch it: the poller, then stop()'s flush.
  std::vector<std::shared_ptr<detail::Exchange>> finished;

  std::mutex stop_mutex;
  bool started = false;
  bool stopped = false;

  // Failure of the service itself (listener died, fatal producer error).
  std::mutex failure_mutex;
  std::condition_variable failure_cv;
  bool failed = false;
  std::string failure;

  // Kept by the poller, so /readyz never waits for a broker on an HTTP
  // thread (which serves many connections).
  std::atomic<bool> ready_cached{false};
  Clock::time_point ready_checked{};  // poller only

  std::mutex refresh_mutex;
  Clock::time_point refreshed{};
  bool warned_odd = false;

  // Metrics. The per-(partition, type) counters are only touched by delivery
  // reports, which run on one thread at a time (the poller, then stop()'s
  // flush), so they need no lock.
  std::vector<std::optional<metrics::Counter>> produced;
  std::optional<metrics::Counter> delivery_failures;
  std::optional<metrics::Histogram> delivery_latency;
  std::vector<metrics::Counter> rejected;  // core reasons, then message_too_large
  std::array<std::optional<metrics::Histogram>, kRouteCount> request_duration;
  // http_requests_total by route and status, created on first use.
  static constexpr int kMinStatus = 100, kMaxStatus = 599;
  std::mutex request_counters_mutex;
  std::deque<metrics::Counter> request_counter_store;
  std::array<std::atomic<metrics::Counter*>, kRouteCount*(kMaxStatus - kMinStatus + 1)>
      request_counters{};

  void register_metrics();
  metrics::Counter& request_counter(Route route, int status);
  metrics::Counter& produced_counter(std::int32_t partition, core::EventType type);
  metrics::Counter& rejected_counter(std::string_view reason);

  void fail(std::string what);
  void on_delivery(const kafka::Delivery& d) noexcept;
  void refresh_partitions();
  void check_ready();

  // detail::Handler
  std::optional<detail::Reply> screen(const detail::Request& req) override;
  void handle(const detail::Request& req,
              const std::shared_ptr<detail::Exchange>& exchange) override;
  void answered(std::string_view path, int status, Clock::duration took) noexcept override;

  std::optional<Refusal> precheck(const detail::Request& req) const;
  void handle_events(const detail::Request& req, const std::shared_ptr<detail::Exchange>& exchange);
  kafka::Enqueue enqueue(Slot& slot, std::string_view text, const core::StoreEvent& event,
                         void* opaque, std::int32_t& partitions_now);
};

void ProducerService::State::register_metrics() {
  const std::string& topic = config.kafka.topic;
  delivery_failures = registry.counter("millrace_delivery_failures_total",
                                       "Events Kafka did not acknowledge (timed out or refused).",
                                       {{"topic", topic}});
  delivery_latency =
      registry.histogram("millrace_delivery_latency_seconds",
                         "Time from handing an event to the producer to its delivery report.",
                         metrics::latency_buckets());
  for (int i = 0; i < core::kRejectReasonCount; ++i) {
    rejected.push_back(registry.counter(
        "millrace_events_rejected_total", "Events refused by millrace-producer, by reason.",
        {{"reason", std::string(core::reason_code(static_cast<core::RejectReason>(i)))}}));
  }
  rejected.push_back(registry.counter("millrace_events_rejected_total",
                                      "Events refused by millrace-producer, by reason.",
                                      {{"reason", std::string(kReasonTooLarge)}}));
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    request_duration[r] =
        registry.histogram("millrace_http_request_duration_seconds",
                           "Time from reading a request's headers to writing its response.",
                           request_buckets(), {{"route", std::string(kRouteNames[r])}});
  }
  std::weak_ptr<kafka::Producer> weak = producer;
  registry.computed_gauge("millrace_producer_queue_messages",
                          "Messages the Kafka producer holds that are not yet acknowledged.",
                          [weak]() -> std::vector<metrics::Sample> {
                            const auto p = weak.lock();
                            if (!p) return {};
                            return {{{}, static_cast<double>(p->queue_length())}};
                          });
}

metrics::Counter& ProducerService::State::request_counter(Route route, int status) {
  if (status < kMinStatus || status > kMaxStatus) status = 500;
  auto& cell = request_counters[route * (kMaxStatus - kMinStatus + 1) +
                                static_cast<std::size_t>(status - kMinStatus)];
  if (metrics::Counter* c = cell.load(std::memory_order_acquire)) return *c;
  std::lock_guard lock(request_counters_mutex);
  if (metrics::Counter* c = cell.load(std::memory_order_acquire)) return *c;
  request_counter_store.push_back(registry.counter(
      "millrace_http_requests_total", "HTTP requests answered, by route and status.",
      {{"route", std::string(kRouteNames[route])}, {"status", std::to_string(status)}}));
  cell.store(&request_counter_store.back(), std::memory_order_release);
  return request_counter_store.back();
}

metrics::Counter& ProducerService::State::produced_counter(std::int32_t partition,
                                                           core::EventType type) {
  const auto i = static_cast<std::size_t>(partition) * 2 + static_cast<std::size_t>(type);
  if (i >= produced.size()) produced.resize(i + 1);
  if (!produced[i]) {
    produced[i] = registry.counter("millrace_events_produced_total",
                                   "Events Kafka acknowledged, by partition and type.",
                                   {{"topic", config.kafka.topic},
                                    {"partition", std::to_string(partition)},
                                    {"event_type", std::string(core::to_string(type))}});
  }
  return *produced[i];
}

metrics::Counter& ProducerService::State::rejected_counter(std::string_view reason) {
  for (int i = 0; i < core::kRejectReasonCount; ++i) {
    if (core::reason_code(static_cast<core::RejectReason>(i)) == reason) {
      return rejected[static_cast<std::size_t>(i)];
    }
  }
  return rejected.back();  // message_too_large
}

void ProducerService::State::fail(std::string what) {
  {
    std::lock_guard lock(failure_mutex);
    if (failed) return;
    failed = true;
    failure = std::move(what);
  }
  runtime::log_error(kComponent, failure);
  failure_cv.notify_all();
}

void ProducerService::State::on_delivery(const kafka::Delivery& d) noexcept {
  if (d.opaque == nullptr) return;
  auto* slot = static_cast<Slot*>(d.opaque);
  if (d.latency_us >= 0) delivery_latency->observe(static_cast<double>(d.latency_us) / 1e6);
  if (d.ok) {
    produced_counter(d.partition, slot->type).inc();
  } else {
    delivery_failures->inc();
    if (d.unknown_partition) refresh_wanted.store(true, std::memory_order_relaxed);
  }
  Batch* batch = slot->batch;
  if (batch == nullptr) return;
  {
    std::lock_guard lock(batch->mutex);
    if (!batch->closed) {
      if (d.ok) {
        slot->status = EventStatus::kAccepted;
        slot->partition = d.partition;
        slot->offset = d.offset;
        slot->reason = {};
        slot->detail = {};
      } else {
        slot->status = EventStatus::kFailed;
        slot->reason = d.unknown_partition ? kReasonUnknownPartition : kReasonDeliveryFailed;
        slot->detail = {};
        slot->text = static_cast<std::int32_t>(batch->texts.size());
        batch->texts.emplace_back(std::string(), std::string(d.error));
      }
    }
    if (--batch->pending == 0 && batch->submitted) finished.push_back(batch->exchange);
  }
  batch->release();
}

void ProducerService::State::refresh_partitions() {
  std::lock_guard lock(refresh_mutex);
  const auto now = Clock::now();
  if (now - refreshed < kRefreshAtMostEvery) return;
  refreshed = now;
  try {
    const std::int32_t n = producer->partition_count(config.kafka.topic, milliseconds(5000));
    if (n >= 2 && n % 2 == 0) {
      if (n != partitions.exchange(n)) {
        runtime::log_info(
            kComponent, "topic " + config.kafka.topic + " now has " + std::to_string(n) + " partitions");
      }
    } else if (!warned_odd) {
      warned_odd = true;
      runtime::log_error(kComponent, "topic " + config.kafka.topic + " now has " + std::to_string(n) +
                                         " partitions, not an even number: keeping " +
                                         std::to_string(partitions.load()));
    }
  } catch (const core::InfraError& e) {
    // The next unknown-partition failure tries again.
    runtime::log_warn(kComponent, std::string("partition refresh failed: ") + e.what());
  }
}

void ProducerService::State::check_ready() {
  const auto now = Clock::now();
  if (now - ready_checked < kReadyCacheFor) return;
  try {
    producer->partition_count(config.kafka.topic, kReadyQueryTimeout);
    ready_cached = true;
  } catch (const core::InfraError&) {
    ready_cached = false;  // that is the answer /readyz gives
  }
  ready_checked = Clock::now();
}

std::optional<Refusal> ProducerService::State::precheck(const detail::Request& req) const {
  if (!config.auth_token.empty() &&
      !bearer_matches(req.header("Authorization").value_or(""), config.auth_token)) {
    return Refusal{401, "unauthorized", "send Authorization: Bearer <token>"};
  }
  if (!body_format(req.header("Content-Type").value_or(""))) {
    return Refusal{415, "unsupported_media_type",
                   "Content-Type must be application/json or application/x-ndjson (UTF-8)"};
  }
  if (!parse_ack(query_param(req.query(), "ack"))) {
    return Refusal{400, "bad_request", "ack must be all or none"};
  }
  return std::nullopt;
}

std::optional<detail::Reply> ProducerService::State::screen(const detail::Request& req) {
  if (req.path() != kEventsPath || req.method() != "POST") return std::nullopt;
  auto refusal = precheck(req);
  if (!refusal) return std::nullopt;
  detail::Reply r = error_reply(refusal->status, refusal->error, refusal->detail);
  if (refusal->status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

void ProducerService::State::answered(std::string_view path, int status,
                                      Clock::duration took) noexcept {
  const Route route = route_of(path);
  request_counter(route, status).inc();
  request_duration[route]->observe(std::chrono::duration<double>(took).count());
}

void ProducerService::State::handle(const detail::Request& req,
                                    const std::shared_ptr<detail::Exchange>& exchange) {
  const std::string_view path = req.path();
  const std::string_view method = req.method();
  const bool get = method == "GET";
  const auto only = [&](std::string_view allowed) {
    detail::Reply r = error_reply(405, "method_not_allowed",
                                  allowed == "POST" ? "use POST" : "use GET");
    r.headers.emplace_back("Allow", allowed);
    exchange->reply(std::move(r));
  };
  switch (route_of(path)) {
    case kRouteEvents:
      if (method != "POST") return only("POST");
      return handle_events(req, exchange);
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
          text_reply(200, registry.scrape(), "text/plain; version=0.0.4; charset=utf-8"));
    case kRouteOther:
      break;
  }
  exchange->reply(error_reply(404, "not_found", "no such path"));
}

kafka::Enqueue ProducerService::State::enqueue(Slot& slot, std::string_view text,
                                               const core::StoreEvent& event, void* opaque,
                                               std::int32_t& partitions_now) {
  const kafka::StoreKey key(event.store_id);
  const kafka::EventHeaders headers(core::to_string(event.event_type), event.priority_shipping);
  for (int attempt = 0;; ++attempt) {
    slot.partition = core::partition_for(event.event_type, event.store_id, partitions_now);
    const auto status = producer->try_produce(config.kafka.topic, slot.partition, key.view(), text,
                                              headers.view(), opaque);
    if (status != kafka::Enqueue::kUnknownPartition || attempt > 0) return status;
    refresh_partitions();
    const std::int32_t fresh = partitions.load();
    if (fresh == partitions_now) return status;
    partitions_now = fresh;
  }
}

// The response to a request whose events have been through the validator
// and, for the valid ones, the producer.
detail::Reply build_reply(const Slot* slots, std::size_t n,
                          const std::vector<std::pair<std::string, std::string>>& texts,
                          AckMode ack) {
  thread_local std::vector<EventResult> results;
  results.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slots[i];
    EventResult r;
    r.index = static_cast<std::int32_t>(i);
    r.status = s.status;
    if (s.has_id) r.id = std::string_view(s.id.data(), s.id.size());
    if (s.status == EventStatus::kAccepted || s.status == EventStatus::kQueued) {
      r.partition = s.partition;
      r.offset = s.offset;
    }
    r.reason = s.reason;
    r.detail = s.detail;
    if (s.text >= 0) {
      const auto& [field, detail] = texts[static_cast<std::size_t>(s.text)];
      r.field = field;
      r.detail = detail;
    }
    results.push_back(r);
  }
  const ResultCounts counts = count_results(results);
  detail::Reply reply;
  reply.body.reserve(64 + n * 128);
  append_results_json(reply.body, results);
  reply.status = ack == AckMode::kAll ? 200 : 202;
  if (counts.failed > 0) {
    reply.status = 503;
    reply.headers.emplace_back("Retry-After", "1");
  } else if (counts.accepted == 0) {
    reply.status = 400;
  }
  return reply;
}

void ProducerService::State::handle_events(const detail::Request& req,
                                           const std::shared_ptr<detail::Exchange>& exchange) {
  const auto started = Clock::now();
  const BodyFormat format = *body_format(req.header("Content-Type").value_or(""));
  const AckMode ack = *parse_ack(query_param(req.query(), "ack"));
  const std::string_view body = req.body();

  thread_local std::vector<std::string_view> texts;
  if (auto error = split_body(body, format, texts)) {
    return exchange->reply(error_reply(400, "invalid_body", *error));
  }
  const std::size_t n = texts.size();
  const std::optional<std::string_view> fallback = req.header("X-Event-Type");

  // ?ack=all: a Batch the delivery reports complete. ?ack=none: slots of
  // this thread, and the reports only feed the metrics.
  std::unique_ptr<Batch, BatchRelease> batch;
  thread_local std::vector<Slot> local_slots;
  thread_local std::vector<std::pair<std::string, std::string>> local_texts;
  Slot* slots = nullptr;
  std::vector<std::pair<std::string, std::string>>* slot_texts = nullptr;
  if (ack == AckMode::kAll) {
    batch.reset(new Batch(n, exchange));
    slots = batch->slots.data();
    slot_texts = &batch->texts;
  } else {
    local_slots.assign(n, Slot{});
    local_texts.clear();
    slots = local_slots.data();
    slot_texts = &local_texts;
  }

  thread_local core::StoreEvent event;
  std::int32_t partitions_now = partitions.load(std::memory_order_relaxed);
  std::int64_t queued = 0;
  std::string_view stop_reason;  // set once nothing more may be queued
  for (std::size_t i = 0; i < n; ++i) {
    Slot& slot = slots[i];
    slot.batch = batch.get();
    if (auto rejection = core::parse_event_into(texts[i], fallback, event)) {
      slot.status = EventStatus::kRejected;
      slot.reason = core::reason_code(rejection->reason);
      slot.text = static_cast<std::int32_t>(slot_texts->size());
      slot_texts->emplace_back(std::move(rejection->field), std::move(rejection->detail));
      rejected_counter(slot.reason).inc();
      continue;
    }
    slot.type = event.event_type;
    std::memcpy(slot.id.data(), event.id.data(), slot.id.size());
    slot.has_id = true;
    slot.status = EventStatus::kFailed;
    if (!stop_reason.empty()) {
      // After a full queue the rest waits for the client's retry, so a
      // store's events are never reordered by a later one slipping in.
      slot.reason = stop_reason;
      slot.detail = stop_reason == kReasonQueueFull
                        ? "the producer queue is full; retry after Retry-After"
                        : "the Kafka producer failed";
      continue;
    }
    void* opaque = batch
                       ? static_cast<void*>(&slot)
                       : static_cast<void*>(&untracked[static_cast<std::size_t>(event.event_type)]);
    if (batch) {
      // What the slot says until its delivery report, which may come before
      // try_produce returns: once queued, the slot is not written here.
      slot.reason = kReasonTimeout;
      slot.detail = "Kafka did not acknowledge within MILLRACE_PRODUCE_TIMEOUT_MS";
    }
    kafka::Enqueue status = kafka::Enqueue::kQueued;
    try {
      status = enqueue(slot, texts[i], event, opaque, partitions_now);
    } catch (const core::InfraError& e) {
      // Fatal for the producer: the service stops (exit 1); this request
      // reports what did not make it.
      fail(std::string("kafka producer failed: ") + e.what());
      stop_reason = kReasonProducerError;
      slot.reason = kReasonProducerError;
      slot.detail = "the Kafka producer failed";
      continue;
    }
    switch (status) {
      case kafka::Enqueue::kQueued:
        ++queued;
        if (!batch) slot.status = EventStatus::kQueued;
        break;
      case kafka::Enqueue::kQueueFull:
        stop_reason = kReasonQueueFull;
        slot.reason = kReasonQueueFull;
        slot.detail = "the producer queue is full; retry after Retry-After";
        slot.partition = -1;
        break;
      case kafka::Enqueue::kUnknownPartition:
        slot.reason = kReasonUnknownPartition;
        slot.detail = "the partition is not in the topic's metadata";
        break;
      case kafka::Enqueue::kTooLarge:
        slot.status = EventStatus::kRejected;
        slot.reason = kReasonTooLarge;
        slot.detail = "the event is larger than Kafka's message.max.bytes";
        slot.partition = -1;
        rejected_counter(kReasonTooLarge).inc();
        break;
    }
  }

  if (!batch) return exchange->reply(build_reply(slots, n, *slot_texts, ack));

  batch->release(static_cast<std::int64_t>(n) - queued);  // reports that will never come
  // The request's own reference now rides with the reply: it is released
  // once the reply is built (or the exchange dropped at shutdown).
  std::shared_ptr<Batch> hold(batch.release(), BatchRelease{});
  const auto deadline = started + milliseconds(config.produce_timeout_ms) + kAckGrace;
  exchange->defer(deadline - Clock::now(), [hold, n] {
    std::lock_guard lock(hold->mutex);
    hold->closed = true;  // from here on the slots are the reply's alone
    return build_reply(hold->slots.data(), n, hold->texts, AckMode::kAll);
  });
  std::lock_guard lock(hold->mutex);
  hold->pending += queued;
  hold->submitted = true;
  if (hold->pending == 0) exchange->finish();
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

  kafka::ProducerConfig pc;
  pc.brokers = s.config.kafka.brokers;
  pc.client_id = s.config.kafka.client_id;
  pc.message_timeout_ms = static_cast<std::int32_t>(s.config.produce_timeout_ms);
  pc.extra = s.config.kafka.extra;
  pc.on_delivery = [state = &s](const kafka::Delivery& d) { state->on_delivery(d); };
  s.producer = std::make_shared<kafka::Producer>(pc);
  const std::int32_t partitions = s.producer->partition_count(s.config.kafka.topic, milliseconds(10000));
  core::require_even_partitions(s.config.kafka.topic, partitions);
  s.partitions = partitions;
  for (std::size_t t = 0; t < s.untracked.size(); ++t) {
    s.untracked[t].type = static_cast<core::EventType>(t);
  }
  s.register_metrics();

  s.ready_cached = true;  // partition_count just answered
  s.ready_checked = Clock::now();
  s.poller = std::thread([&s] {
    while (!s.poller_stop.load()) {
      s.producer->poll(milliseconds(100));
      if (!s.finished.empty()) detail::Exchange::finish_all(s.finished);
      if (s.refresh_wanted.exchange(false)) s.refresh_partitions();
      s.check_ready();
    }
  });

  detail::ServerOptions options;
  options.host = s.config.host;
  options.port = s.config.port;
  options.threads = static_cast<int>(s.config.http_threads);
  options.max_body_bytes = static_cast<std::uint64_t>(s.config.max_body_bytes);
  s.server.emplace(options, s);
  s.server->on_failure([&s](std::string what) { s.fail(std::move(what)); });
  s.bound_port = s.server->port();
  s.server->start();
  runtime::log_info(kComponent, "serving http://" + s.config.host + ":" +
                                    std::to_string(s.bound_port.load()) + " for topic " +
                                    s.config.kafka.topic + " (" + std::to_string(partitions) +
                                    " partitions, " + std::to_string(s.config.http_threads) +
                                    " HTTP threads)");
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
  if (s.producer && s.bound_port > 0) {
    const auto until = Clock::now() + milliseconds(s.config.produce_timeout_ms) + kAckGrace;
    int left = s.producer->queue_length();
    while (left > 0 && Clock::now() < until) left = s.producer->flush(milliseconds(200));
    s.finished.clear();  // their requests were answered at their deadline
    const auto stats = s.producer->stats();
    std::string summary = "stopped: delivered=" + std::to_string(stats.delivered) +
                          " failed=" + std::to_string(stats.failed);
    if (left > 0) summary += " unflushed=" + std::to_string(left);
    if (!stats.first_error.empty()) summary += " first_error=\"" + stats.first_error + "\"";
    runtime::log_info(kComponent, summary);
  }
}

bool ProducerService::wait(std::chrono::milliseconds timeout) {
  State& s = *state_;
  std::unique_lock lock(s.failure_mutex);
  return s.failure_cv.wait_for(lock, timeout, [&] { return s.failed; });
}

void ProducerService::rethrow_failure() {
  State& s = *state_;
  std::lock_guard lock(s.failure_mutex);
  if (s.failed) throw core::InfraError(core::FailureClass::kFatal, s.failure);
}

int ProducerService::port() const {
  return state_->bound_port.load();
}

}  // namespace millrace::http
