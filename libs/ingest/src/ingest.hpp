#pragma once

// POST /v1/events: each event of a request validated, the valid ones
// produced to Kafka with the routing of `millrace produce`, and the request
// answered once Kafka has acknowledged them (?ack=all) or once they are
// queued (?ack=none). POST /v1/orders does the same for orders (the
// declared kind `order`), keyed and partitioned by their identity as
// `millrace produce --kind order` does. docs/http.md describes the protocol.
//
// Threads: handle() runs on the HTTP threads; on_delivery() and
// after_poll() on the poller (then on stop()'s flush), one at a time.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/event_type.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/httpd/server.hpp"
#include "millrace/ingest/config.hpp"
#include "millrace/ingest/request.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/kafka/renewing_producer.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/store_event.hpp"
#include "probe.hpp"

namespace millrace::ingest {

// A request waits this much longer than message.timeout.ms, so librdkafka's
// own verdict on a message normally arrives before the request gives up.
inline constexpr std::chrono::milliseconds kAckGrace{1000};

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
  bool order = false;    // an order of /v1/orders, not a store event
  std::string order_id;  // its PaymentTransactionId (longer than a UUID)
};

// The per-request completion object. Each queued message holds a reference,
// released by its delivery report, and so does the request: whichever ends
// last frees it, so a request that stops waiting (timeout) leaves nothing
// dangling behind librdkafka's opaques.
struct Batch {
  Batch(std::size_t n, std::shared_ptr<httpd::Exchange> e)
      : slots(n), exchange(std::move(e)), refs(static_cast<std::int64_t>(n) + 1) {}

  std::vector<Slot> slots;
  // field/detail texts of rejections and delivery errors (rare: allocating).
  std::vector<std::pair<std::string, std::string>> texts;
  // Answers the request once every report is in (or at its deadline).
  std::shared_ptr<httpd::Exchange> exchange;

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
// The request's own reference to its Batch.
using BatchRef = std::unique_ptr<Batch, BatchRelease>;

class Ingest {
 public:
  Ingest(const ProducerConfig& config, ProducerProbe& probe);

  // Creates the Kafka producer, whose delivery reports come to
  // on_delivery(), and reads the topic's partition count, which must be
  // even. Throws core::InfraError with a message fit for the operator.
  void start();
  // The Kafka producer, renewed after a fatal error (kafka/renewing_producer.hpp).
  kafka::RenewingProducer& producer() const { return *producer_; }
  const std::shared_ptr<kafka::RenewingProducer>& producer_handle() const { return producer_; }
  bool started() const { return producer_ != nullptr; }
  std::int32_t partitions() const { return partitions_.load(); }

  // A POST /v1/events (or, with `orders`, /v1/orders) that passed the
  // service's precheck.
  void handle(const httpd::Request& req, const std::shared_ptr<httpd::Exchange>& exchange,
              bool orders = false);

  // After each poll of the producer: answers the requests whose last report
  // came in, and refreshes the partition count if a report asked for it.
  void after_poll();
  // At shutdown, after the last flush: requests still waiting were answered
  // at their deadline.
  void drop_finished() { finished_.clear(); }

 private:
  void on_delivery(const kafka::Delivery& d) noexcept;
  void refresh_partitions();
  // What a request's events share while they are admitted one by one.
  struct Admission {
    kafka::Producer& producer;  // the handle this request enqueues to
    std::int32_t partitions_now;
    std::int64_t queued = 0;
    std::string_view stop_reason;  // set once nothing more may be queued
  };
  void admit(Slot& slot, std::string_view text, std::optional<std::string_view> fallback,
             bool tracked, std::vector<std::pair<std::string, std::string>>& texts, Admission& run);
  void admit_order(Slot& slot, std::string_view text, bool tracked,
                   std::vector<std::pair<std::string, std::string>>& texts, Admission& run);
  void reject(Slot& slot, core::Rejection rejection,
              std::vector<std::pair<std::string, std::string>>& texts);
  // Queues a valid record with `produce` (given the delivery report's
  // opaque), unless the request already met a full queue or a failed
  // producer, and records what became of it in `slot`.
  void queue(Slot& slot, void* opaque, bool tracked, Admission& run,
             const std::function<kafka::Enqueue(void*)>& produce);
  // The orders' topic's partitions, read on first use (0: no metadata).
  std::int32_t order_partitions();
  kafka::Enqueue enqueue(Slot& slot, std::string_view text, const kinds::Record& event,
                         void* opaque, Admission& run);
  // ?ack=all: answers once every queued event's report is in, or at the
  // deadline, whichever comes first.
  void await_acks(BatchRef batch, std::size_t n, std::int64_t queued,
                  std::chrono::steady_clock::time_point started,
                  const std::shared_ptr<httpd::Exchange>& exchange);

  const ProducerConfig& config_;
  ProducerProbe& probe_;
  std::shared_ptr<kafka::RenewingProducer> producer_;
  std::atomic<std::int32_t> partitions_{0};
  std::atomic<bool> refresh_wanted_{false};
  std::array<Slot, 2> untracked_;  // ?ack=none opaques, by event type
  Slot untracked_order_;           // ?ack=none opaque of orders
  // The store event's built-in declaration (proto/kinds/store_event.json),
  // read with its codec, the body's event_type first (X-Event-Type stands
  // in for it), and the fields that route it.
  kinds::Declaration store_event_;
  kinds::DeclaredCodec store_codec_;
  const kinds::StoreEventFields& store_fields_;
  kinds::Declaration order_;  // proto/kinds/order.json
  std::string orders_topic_;
  std::atomic<std::int32_t> order_partitions_{0};
  std::mutex order_partitions_mutex_;
  // Requests whose last report came in this poll, answered together after
  // it. Only delivery reports touch it.
  std::vector<std::shared_ptr<httpd::Exchange>> finished_;
  std::mutex refresh_mutex_;
  std::chrono::steady_clock::time_point refreshed_{};
  bool warned_odd_ = false;
};

}  // namespace millrace::ingest
