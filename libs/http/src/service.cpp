#include "millrace/http/service.hpp"

#include <httplib.h>
#include <sys/socket.h>

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
  explicit Batch(std::size_t n) : slots(n), refs(static_cast<std::int64_t>(n) + 1) {}

  std::vector<Slot> slots;
  // field/detail texts of rejections and delivery errors (rare: allocating).
  std::vector<std::pair<std::string, std::string>> texts;

  std::mutex mutex;
  std::condition_variable done;
  // Reports not yet received. It may dip below zero: reports can arrive
  // before the request adds what it queued.
  std::int64_t pending = 0;
  bool submitted = false;  // the request has added its count
  bool closed = false;     // the request stopped waiting: slots are its own again

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

std::vector<double> request_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
}

// Set by the pre-routing hook, read by the logger: both run on the thread
// that serves the connection.
thread_local std::optional<Clock::time_point> request_started;

}  // namespace

struct ProducerService::State {
  State(HttpConfig c, metrics::Registry& r) : config(std::move(c)), registry(r) {}

  HttpConfig config;
  metrics::Registry& registry;

  std::shared_ptr<kafka::Producer> producer;
  std::atomic<std::int32_t> partitions{0};
  httplib::Server server;
  std::thread listener;
  std::thread poller;
  std::atomic<bool> poller_stop{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> refresh_wanted{false};
  std::atomic<int> bound_port{0};
  std::array<Slot, 2> untracked;  // ?ack=none opaques, by event type

  std::mutex stop_mutex;
  bool started = false;
  bool stopped = false;

  // Failure of the service itself (listener died, fatal producer error).
  std::mutex failure_mutex;
  std::condition_variable failure_cv;
  bool failed = false;
  std::string failure;

  std::mutex ready_mutex;
  Clock::time_point ready_checked{};
  bool ready_cached = false;

  std::mutex refresh_mutex;
  Clock::time_point refreshed{};
  bool warned_odd = false;

  // Metrics. The per-(partition, type) counters are only touched by delivery
  // reports, which run on one thread at a time (the poller, then Stop's
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
  bool ready();

  void install_routes();
  std::optional<Refusal> precheck(const httplib::Request& req) const;
  void handle_events(const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader);
  void respond(httplib::Response& res, int status, std::string body) const;
  kafka::Enqueue enqueue(Slot& slot, std::string_view text, const core::StoreEvent& event,
                         void* opaque, std::int32_t& partitions_now);
};

void ProducerService::State::register_metrics() {
  const std::string& topic = config.topic;
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
                                   {{"topic", config.topic},
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
    if (--batch->pending == 0 && batch->submitted) batch->done.notify_one();
  }
  batch->release();
}

void ProducerService::State::refresh_partitions() {
  std::lock_guard lock(refresh_mutex);
  const auto now = Clock::now();
  if (now - refreshed < kRefreshAtMostEvery) return;
  refreshed = now;
  try {
    const std::int32_t n = producer->partition_count(config.topic, milliseconds(5000));
    if (n >= 2 && n % 2 == 0) {
      if (n != partitions.exchange(n)) {
        runtime::log_info(
            kComponent, "topic " + config.topic + " now has " + std::to_string(n) + " partitions");
      }
    } else if (!warned_odd) {
      warned_odd = true;
      runtime::log_error(kComponent, "topic " + config.topic + " now has " + std::to_string(n) +
                                         " partitions, not an even number: keeping " +
                                         std::to_string(partitions.load()));
    }
  } catch (const core::InfraError& e) {
    // The next unknown-partition failure tries again.
    runtime::log_warn(kComponent, std::string("partition refresh failed: ") + e.what());
  }
}

bool ProducerService::State::ready() {
  if (stopping.load()) return false;
  std::lock_guard lock(ready_mutex);
  const auto now = Clock::now();
  if (ready_checked != Clock::time_point{} && now - ready_checked < kReadyCacheFor) {
    return ready_cached;
  }
  try {
    producer->partition_count(config.topic, kReadyQueryTimeout);
    ready_cached = true;
  } catch (const core::InfraError&) {
    ready_cached = false;  // that is the answer /readyz gives
  }
  ready_checked = Clock::now();
  return ready_cached;
}

void ProducerService::State::respond(httplib::Response& res, int status, std::string body) const {
  res.status = status;
  res.body = std::move(body);
  res.set_header("Content-Type", kJson);
}

std::optional<Refusal> ProducerService::State::precheck(const httplib::Request& req) const {
  if (!config.auth_token.empty() &&
      !bearer_matches(req.get_header_value("Authorization"), config.auth_token)) {
    return Refusal{401, "unauthorized", "send Authorization: Bearer <token>"};
  }
  if (!body_format(req.get_header_value("Content-Type"))) {
    return Refusal{415, "unsupported_media_type",
                   "Content-Type must be application/json or application/x-ndjson (UTF-8)"};
  }
  if (!parse_ack(req.has_param("ack") ? std::optional<std::string>(req.get_param_value("ack"))
                                      : std::nullopt)) {
    return Refusal{400, "bad_request", "ack must be all or none"};
  }
  if (req.has_header("Content-Length") && req.get_header_value<std::uint64_t>("Content-Length") >
                                              static_cast<std::uint64_t>(config.max_body_bytes)) {
    return Refusal{413, "body_too_large",
                   "the body is larger than MILLRACE_MAX_BODY_BYTES (" +
                       std::to_string(config.max_body_bytes) + " bytes)"};
  }
  return std::nullopt;
}

kafka::Enqueue ProducerService::State::enqueue(Slot& slot, std::string_view text,
                                               const core::StoreEvent& event, void* opaque,
                                               std::int32_t& partitions_now) {
  const kafka::StoreKey key(event.store_id);
  const kafka::EventHeaders headers(core::to_string(event.event_type), event.priority_shipping);
  for (int attempt = 0;; ++attempt) {
    slot.partition = core::partition_for(event.event_type, event.store_id, partitions_now);
    const auto status = producer->try_produce(config.topic, slot.partition, key.view(), text,
                                              headers.view(), opaque);
    if (status != kafka::Enqueue::kUnknownPartition || attempt > 0) return status;
    refresh_partitions();
    const std::int32_t fresh = partitions.load();
    if (fresh == partitions_now) return status;
    partitions_now = fresh;
  }
}

void ProducerService::State::handle_events(const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& reader) {
  const auto started = Clock::now();
  // What a refused request sent must still be read off the connection, or
  // it would be parsed as the next request. A body over the limit is not
  // read at all (nobody gets to make us read gigabytes); the connection is
  // closed instead.
  const auto max_body = static_cast<std::uint64_t>(config.max_body_bytes);
  const auto refuse = [&](const Refusal& r) {
    const bool oversized =
        r.status == 413 || (req.has_header("Content-Length") &&
                            req.get_header_value<std::uint64_t>("Content-Length") > max_body);
    bool drained = !oversized;
    if (!oversized) {
      std::uint64_t seen = 0;
      drained = reader([&](const char*, std::size_t n) {
        seen += n;
        return seen <= max_body;
      });
    }
    if (!drained) res.set_header("Connection", "close");
    if (r.status == 401) res.set_header("WWW-Authenticate", "Bearer");
    respond(res, r.status, error_body(r.error, r.detail));
  };
  if (const auto refusal = precheck(req)) return refuse(*refusal);

  const BodyFormat format = *body_format(req.get_header_value("Content-Type"));
  const AckMode ack = *parse_ack(
      req.has_param("ack") ? std::optional<std::string>(req.get_param_value("ack")) : std::nullopt);

  // Per thread, so a busy service reads bodies without allocating.
  thread_local std::string body;
  body.clear();
  if (req.has_header("Content-Length")) {
    body.reserve(static_cast<std::size_t>(req.get_header_value<std::uint64_t>("Content-Length")));
  }
  bool too_large = false;
  const bool read = reader([&](const char* data, std::size_t n) {
    if (body.size() + n > max_body) {
      too_large = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (too_large) {
    return refuse({413, "body_too_large", "the body is larger than MILLRACE_MAX_BODY_BYTES"});
  }
  if (!read) {
    res.set_header("Connection", "close");
    return respond(res, 400, error_body("bad_request", "the body could not be read"));
  }

  thread_local std::vector<std::string_view> texts;
  if (auto error = split_body(body, format, texts)) {
    return respond(res, 400, error_body("invalid_body", *error));
  }
  const std::size_t n = texts.size();

  std::optional<std::string> header_type;
  if (req.has_header("X-Event-Type")) header_type = req.get_header_value("X-Event-Type");
  const std::optional<std::string_view> fallback =
      header_type ? std::optional<std::string_view>(*header_type) : std::nullopt;

  // ?ack=all: a Batch the delivery reports complete. ?ack=none: slots of
  // this thread, and the reports only feed the metrics.
  std::unique_ptr<Batch, BatchRelease> batch;
  thread_local std::vector<Slot> local_slots;
  thread_local std::vector<std::pair<std::string, std::string>> local_texts;
  Slot* slots = nullptr;
  std::vector<std::pair<std::string, std::string>>* slot_texts = nullptr;
  if (ack == AckMode::kAll) {
    batch.reset(new Batch(n));
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

  if (batch) {
    batch->release(static_cast<std::int64_t>(n) - queued);  // reports that will never come
    std::unique_lock lock(batch->mutex);
    batch->pending += queued;
    batch->submitted = true;
    const auto deadline = started + milliseconds(config.produce_timeout_ms) + kAckGrace;
    batch->done.wait_until(lock, deadline, [&] { return batch->pending == 0; });
    batch->closed = true;  // from here on the slots are ours alone
  }

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
      const auto& [field, detail] = (*slot_texts)[static_cast<std::size_t>(s.text)];
      r.field = field;
      r.detail = detail;
    }
    results.push_back(r);
  }
  const ResultCounts counts = count_results(results);
  std::string out;
  out.reserve(64 + n * 128);
  append_results_json(out, results);
  int status = ack == AckMode::kAll ? 200 : 202;
  if (counts.failed > 0) {
    status = 503;
    res.set_header("Retry-After", "1");
  } else if (counts.accepted == 0) {
    status = 400;
  }
  respond(res, status, std::move(out));
}

void ProducerService::State::install_routes() {
  server.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_started = Clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const Route route = route_of(req.path);
    request_counter(route, res.status).inc();
    if (request_started) {
      request_duration[route]->observe(
          std::chrono::duration<double>(Clock::now() - *request_started).count());
      request_started.reset();
    }
  });
  // Refuse a doomed body before the client sends it, for clients that ask
  // first (Expect: 100-continue, as curl does for larger bodies).
  server.set_expect_100_continue_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (req.method != "POST" || req.path != kEventsPath) return 100;
        const auto refusal = precheck(req);
        if (!refusal) return 100;
        res.set_header("Connection", "close");
        if (refusal->status == 401) res.set_header("WWW-Authenticate", "Bearer");
        respond(res, refusal->status, error_body(refusal->error, refusal->detail));
        return refusal->status;
      });
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (res.status) {
          case 404:
            respond(res, 404, error_body("not_found", "no such path"));
            break;
          case 413:
            respond(res, 413, error_body("body_too_large", "the body is too large"));
            break;
          case 500:
            respond(res, 500, error_body("internal_error", "see the service's log"));
            break;
          default:
            respond(res, res.status, error_body("bad_request", "the request could not be parsed"));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        // httplib has already caught it; we only make the answer ours and say
        // what it was (a bug, or memory exhaustion).
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        }
        runtime::log_error(kComponent, "request failed: " + what);
        respond(res, 500, error_body("internal_error", "see the service's log"));
      });

  server.Post(std::string(kEventsPath),
              [this](const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader) { handle_events(req, res, reader); });
  const auto not_allowed = [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST");
    respond(res, 405, error_body("method_not_allowed", "use POST"));
  };
  server.Get(std::string(kEventsPath), not_allowed);
  server.Put(std::string(kEventsPath), not_allowed);
  server.Patch(std::string(kEventsPath), not_allowed);
  server.Delete(std::string(kEventsPath), not_allowed);
  server.Options(std::string(kEventsPath), not_allowed);

  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (ready()) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content(stopping ? "stopping\n" : "no metadata for the topic\n", "text/plain");
    }
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.scrape(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

ProducerService::ProducerService(HttpConfig config, metrics::Registry& metrics)
    : state_(std::make_unique<State>(std::move(config), metrics)) {}

ProducerService::~ProducerService() {
  Stop();
}

void ProducerService::Start() {
  State& s = *state_;
  std::lock_guard lock(s.stop_mutex);
  if (s.started) return;
  s.started = true;

  kafka::ProducerConfig pc;
  pc.brokers = s.config.brokers;
  pc.client_id = s.config.client_id;
  pc.message_timeout_ms = static_cast<std::int32_t>(s.config.produce_timeout_ms);
  pc.extra = s.config.kafka_extra;
  pc.on_delivery = [state = &s](const kafka::Delivery& d) { state->on_delivery(d); };
  s.producer = std::make_shared<kafka::Producer>(pc);
  const std::int32_t partitions = s.producer->partition_count(s.config.topic, milliseconds(10000));
  core::require_even_partitions(s.config.topic, partitions);
  s.partitions = partitions;
  for (std::size_t t = 0; t < s.untracked.size(); ++t) {
    s.untracked[t].type = static_cast<core::EventType>(t);
  }
  s.register_metrics();

  s.poller = std::thread([&s] {
    while (!s.poller_stop.load()) {
      s.producer->poll(milliseconds(100));
      if (s.refresh_wanted.exchange(false)) s.refresh_partitions();
    }
  });

  s.install_routes();
  const auto threads = static_cast<std::size_t>(s.config.http_threads);
  s.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.server.set_tcp_nodelay(true);
  // A worker serves one connection for this many requests before taking the
  // next waiting connection, so busy clients cannot starve others for long.
  s.server.set_keep_alive_max_count(1000);
  s.server.set_keep_alive_timeout(5);
  s.server.set_payload_max_length(static_cast<std::size_t>(s.config.max_body_bytes));
  // httplib's default sets SO_REUSEPORT, which would let two services share
  // a port silently; SO_REUSEADDR only allows a quick restart.
  s.server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  const std::string where = s.config.host + ":" + std::to_string(s.config.port);
  int port = s.config.port;
  if (port == 0) {
    port = s.server.bind_to_any_port(s.config.host);
  } else if (!s.server.bind_to_port(s.config.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    throw std::runtime_error("cannot listen on " + where +
                             " (MILLRACE_HTTP_ADDR / --http-addr): is the port taken, or the "
                             "host not an address of this machine?");
  }
  s.bound_port = port;
  s.listener = std::thread([&s] {
    s.server.listen_after_bind();
    if (!s.stopping.load()) s.fail("the HTTP listener stopped unexpectedly");
  });
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (!s.server.is_running() && Clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  runtime::log_info(kComponent, "serving http://" + s.config.host + ":" + std::to_string(port) +
                                    " for topic " + s.config.topic + " (" +
                                    std::to_string(partitions) + " partitions)");
}

void ProducerService::Stop() {
  State& s = *state_;
  std::lock_guard lock(s.stop_mutex);
  if (s.stopped || !s.started) return;
  s.stopped = true;
  s.stopping = true;
  if (s.listener.joinable()) {
    // Closes the listening socket; listen_after_bind() returns once every
    // worker has finished the request it is serving.
    s.server.stop();
    s.listener.join();
  }
  if (s.poller.joinable()) {
    s.poller_stop = true;
    s.poller.join();
  }
  if (s.producer && s.bound_port > 0) {
    const auto until = Clock::now() + milliseconds(s.config.produce_timeout_ms) + kAckGrace;
    int left = s.producer->queue_length();
    while (left > 0 && Clock::now() < until) left = s.producer->flush(milliseconds(200));
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
