#include "ingest.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "millrace/core/event_type.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/partitioner.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/runtime/log.hpp"
#include "routes.hpp"

namespace millrace::ingest {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kRefreshAtMostEvery{1000};

constexpr std::string_view kReasonQueueFull = "queue_full";
constexpr std::string_view kReasonTimeout = "timeout";
constexpr std::string_view kReasonDeliveryFailed = "delivery_failed";
constexpr std::string_view kReasonUnknownPartition = "unknown_partition";
constexpr std::string_view kReasonProducerError = "producer_error";

// The response to a request whose events have been through the validator
// and, for the valid ones, the producer.
httpd::Reply build_reply(const Slot* slots, std::size_t n,
                         const std::vector<std::pair<std::string, std::string>>& texts,
                         AckMode ack) {
  thread_local std::vector<EventResult> results;
  results.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slots[i];
    EventResult r;
    r.index = static_cast<std::int32_t>(i);
    r.status = s.status;
    if (s.has_id)
      r.id = s.order ? std::string_view(s.order_id) : std::string_view(s.id.data(), s.id.size());
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
  httpd::Reply reply;
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

}  // namespace

Ingest::Ingest(const ProducerConfig& config, ProducerProbe& probe)
    : config_(config),
      probe_(probe),
      store_event_(kinds::find_kind(kinds::kStoreEvent, "")),
      store_codec_(store_event_, kinds::TypeFrom::kBody),
      store_fields_(kinds::StoreEventFields::built_in()),
      order_(kinds::find_kind("order", "")),
      orders_topic_(config.kinds.topics.at("order")) {
  for (std::size_t t = 0; t < untracked_.size(); ++t) {
    untracked_[t].type = static_cast<core::EventType>(t);
  }
  untracked_order_.order = true;
}

std::int32_t Ingest::order_partitions() {
  if (const auto n = order_partitions_.load(); n > 0) return n;
  std::lock_guard lock(order_partitions_mutex_);
  if (order_partitions_.load() == 0) {
    try {
      order_partitions_ = producer_->current()->partition_count(orders_topic_, milliseconds(5000));
    } catch (const core::InfraError& e) {
      runtime::log_warn(kComponent,
                        "no metadata for the orders' topic " + orders_topic_ + ": " + e.what());
    }
  }
  return order_partitions_.load();
}

void Ingest::start() {
  kafka::ProducerConfig pc;
  pc.brokers = config_.kafka.brokers;
  pc.client_id = config_.kafka.client_id;
  pc.message_timeout_ms = static_cast<std::int32_t>(config_.produce_timeout_ms);
  pc.extra = config_.kafka.extra;
  pc.on_delivery = [this](const kafka::Delivery& d) { on_delivery(d); };
  producer_ = std::make_shared<kafka::RenewingProducer>(pc);
  const std::int32_t n =
      producer_->current()->partition_count(config_.kafka.topic, milliseconds(10000));
  core::require_even_partitions(config_.kafka.topic, n);
  partitions_ = n;
}

void Ingest::after_poll() {
  if (!finished_.empty()) httpd::Exchange::finish_all(finished_);
  if (refresh_wanted_.exchange(false)) refresh_partitions();
}

void Ingest::on_delivery(const kafka::Delivery& d) noexcept {
  if (d.opaque == nullptr) return;
  auto* slot = static_cast<Slot*>(d.opaque);
  probe_.delivery_latency(d.latency_us);
  if (d.ok) {
    if (slot->order) {
      probe_.order_delivered(orders_topic_, d.partition);
    } else {
      probe_.delivered(d.partition, slot->type);
    }
  } else {
    probe_.delivery_failed();
    if (d.unknown_partition) refresh_wanted_.store(true, std::memory_order_relaxed);
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
    if (--batch->pending == 0 && batch->submitted) finished_.push_back(batch->exchange);
  }
  batch->release();
}

void Ingest::refresh_partitions() {
  std::lock_guard lock(refresh_mutex_);
  const auto now = Clock::now();
  if (now - refreshed_ < kRefreshAtMostEvery) return;
  refreshed_ = now;
  try {
    const std::int32_t n =
        producer_->current()->partition_count(config_.kafka.topic, milliseconds(5000));
    if (n >= 2 && n % 2 == 0) {
      if (n != partitions_.exchange(n)) {
        runtime::log_info(kComponent, "topic " + config_.kafka.topic + " now has " +
                                          std::to_string(n) + " partitions");
      }
    } else if (!warned_odd_) {
      warned_odd_ = true;
      runtime::log_error(kComponent, "topic " + config_.kafka.topic + " now has " +
                                         std::to_string(n) +
                                         " partitions, not an even number: keeping " +
                                         std::to_string(partitions_.load()));
    }
  } catch (const core::InfraError& e) {
    // The next unknown-partition failure tries again.
    runtime::log_warn(kComponent, std::string("partition refresh failed: ") + e.what());
  }
}

kafka::Enqueue Ingest::enqueue(Slot& slot, std::string_view text, const kinds::Record& event,
                               void* opaque, Admission& run) {
  std::int32_t& partitions_now = run.partitions_now;
  const std::int32_t store_id = store_fields_.store_id(event);
  const core::StoreKey key(store_id);
  const core::EventHeaders headers(core::to_string(slot.type),
                                   store_fields_.priority_shipping(event));
  for (int attempt = 0;; ++attempt) {
    slot.partition = core::partition_for(slot.type, store_id, partitions_now);
    const auto status = run.producer.try_produce(config_.kafka.topic, slot.partition, key.view(),
                                                 text, headers.view(), opaque);
    if (status != kafka::Enqueue::kUnknownPartition || attempt > 0) return status;
    refresh_partitions();
    const std::int32_t fresh = partitions_.load();
    if (fresh == partitions_now) return status;
    partitions_now = fresh;
  }
}

void Ingest::reject(Slot& slot, core::Rejection rejection,
                    std::vector<std::pair<std::string, std::string>>& texts) {
  slot.status = EventStatus::kRejected;
  slot.reason = core::reason_code(rejection.reason);
  slot.text = static_cast<std::int32_t>(texts.size());
  texts.emplace_back(std::move(rejection.field), std::move(rejection.detail));
  probe_.rejected(slot.reason);
}

// One event of a request: validated, then queued for Kafka unless the
// request has already met a full queue or a failed producer.
void Ingest::admit(Slot& slot, std::string_view text, std::optional<std::string_view> fallback,
                   bool tracked, std::vector<std::pair<std::string, std::string>>& texts,
                   Admission& run) {
  // Reused: its strings keep their capacity.
  thread_local kinds::Record event;
  if (auto rejection = store_codec_.parse_into(text, fallback, event)) {
    return reject(slot, std::move(*rejection), texts);
  }
  slot.type = store_fields_.event_type(event);
  const std::string& id = store_fields_.id(event);
  std::memcpy(slot.id.data(), id.data(), std::min(id.size(), slot.id.size()));
  slot.has_id = true;
  void* opaque = tracked ? static_cast<void*>(&slot)
                         : static_cast<void*>(&untracked_[static_cast<std::size_t>(slot.type)]);
  queue(slot, opaque, tracked, run, [&](void* o) { return enqueue(slot, text, event, o, run); });
}

// One order: validated against its declaration, then keyed by its identity,
// so that its resends land in one partition, as the CLI sends them.
void Ingest::admit_order(Slot& slot, std::string_view text, bool tracked,
                         std::vector<std::pair<std::string, std::string>>& texts, Admission& run) {
  auto parsed = kinds::parse_record(order_, text);
  if (auto* rejection = std::get_if<core::Rejection>(&parsed)) {
    return reject(slot, std::move(*rejection), texts);
  }
  slot.order = true;
  slot.order_id = std::get<kinds::Record>(parsed).identity(order_);
  slot.has_id = true;
  const std::int32_t partitions = order_partitions();
  if (partitions == 0 && run.stop_reason.empty()) {
    slot.status = EventStatus::kFailed;
    slot.reason = kReasonUnknownPartition;
    slot.detail = "the orders' topic (MILLRACE_ORDERS_TOPIC) has no metadata: does it exist?";
    return;
  }
  queue(slot, tracked ? static_cast<void*>(&slot) : static_cast<void*>(&untracked_order_), tracked,
        run, [&](void* o) {
          slot.partition =
              core::partition_for_bytes(slot.order_id.data(), slot.order_id.size(), partitions);
          return run.producer.try_produce(orders_topic_, slot.partition, slot.order_id, text, {},
                                          o);
        });
}

void Ingest::queue(Slot& slot, void* opaque, bool tracked, Admission& run,
                   const std::function<kafka::Enqueue(void*)>& produce) {
  slot.status = EventStatus::kFailed;
  if (!run.stop_reason.empty()) {
    // After a full queue the rest waits for the client's retry, so a
    // store's events are never reordered by a later one slipping in.
    slot.reason = run.stop_reason;
    slot.detail = run.stop_reason == kReasonQueueFull
                      ? "the producer queue is full; retry after Retry-After"
                      : "the Kafka producer failed";
    return;
  }
  if (tracked) {
    // What the slot says until its delivery report, which may come before
    // try_produce returns: once queued, the slot is not written here.
    slot.reason = kReasonTimeout;
    slot.detail = "Kafka did not acknowledge within MILLRACE_PRODUCE_TIMEOUT_MS";
  }
  kafka::Enqueue status = kafka::Enqueue::kQueued;
  try {
    status = produce(opaque);
  } catch (const core::InfraError&) {
    // The producer failed fatally (RenewingProducer replaces it at its next
    // poll): this request reports what did not make it, and its client
    // sends it again.
    run.stop_reason = kReasonProducerError;
    slot.reason = kReasonProducerError;
    slot.detail = "the Kafka producer failed";
    return;
  }
  switch (status) {
    case kafka::Enqueue::kQueued:
      ++run.queued;
      if (!tracked) slot.status = EventStatus::kQueued;
      break;
    case kafka::Enqueue::kQueueFull:
      run.stop_reason = kReasonQueueFull;
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
      probe_.rejected(kReasonTooLarge);
      break;
  }
}

void Ingest::handle(const httpd::Request& req, const std::shared_ptr<httpd::Exchange>& exchange,
                    bool orders) {
  const auto started = Clock::now();
  const httpd::BodyFormat format = *httpd::body_format(req.header("Content-Type").value_or(""));
  const AckMode ack = *parse_ack(httpd::query_param(req.query(), "ack"));
  const std::string_view body = req.body();

  thread_local std::vector<std::string_view> texts;
  if (auto error = split_body(body, format, texts)) {
    return exchange->reply(error_reply(400, "invalid_body", *error));
  }
  const std::size_t n = texts.size();
  const std::optional<std::string_view> fallback = req.header("X-Event-Type");

  // ?ack=all: a Batch the delivery reports complete. ?ack=none: slots of
  // this thread, and the reports only feed the metrics.
  BatchRef batch;
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

  const std::shared_ptr<kafka::Producer> producer = producer_->current();
  Admission run{*producer, partitions_.load(std::memory_order_relaxed), 0, {}};
  for (std::size_t i = 0; i < n; ++i) {
    slots[i].batch = batch.get();
    if (orders) {
      admit_order(slots[i], texts[i], batch != nullptr, *slot_texts, run);
    } else {
      admit(slots[i], texts[i], fallback, batch != nullptr, *slot_texts, run);
    }
  }

  if (!batch) return exchange->reply(build_reply(slots, n, *slot_texts, ack));
  await_acks(std::move(batch), n, run.queued, started, exchange);
}

void Ingest::await_acks(BatchRef batch, std::size_t n, std::int64_t queued,
                        Clock::time_point started,
                        const std::shared_ptr<httpd::Exchange>& exchange) {
  batch->release(static_cast<std::int64_t>(n) - queued);  // reports that will never come
  // The request's own reference now rides with the reply: it is released
  // once the reply is built (or the exchange dropped at shutdown).
  std::shared_ptr<Batch> hold(batch.release(), BatchRelease{});
  const auto deadline = started + milliseconds(config_.produce_timeout_ms) + kAckGrace;
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

}  // namespace millrace::ingest
