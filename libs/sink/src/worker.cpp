#include "millrace/sink/worker.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "dead_letters.hpp"
#include "millrace/cache/lookup.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/sink/decision.hpp"
#include "store_partitions.hpp"
#include "store_rows.hpp"

namespace millrace::sink {

using core::FailureClass;
using core::InfraError;
using detail::LetterSource;
using detail::Row;
using std::chrono::milliseconds;

namespace {

// One batch's kept rows and dead letters.
struct SinkBatch final : stream::BatchState {
  std::vector<Row> rows;
  detail::TrackerRef letters = std::make_shared<detail::LetterTracker>();

  void discard(std::int32_t partition) override {
    std::erase_if(rows, [&](const Row& row) { return row.partition == partition; });
  }
  std::size_t size() const override { return rows.size(); }
  stream::RecordRef record(std::size_t i) const override {
    return {rows[i].partition, rows[i].offset};
  }
  // A slice shares the batch's letters: they are one batch's to make durable.
  std::unique_ptr<stream::BatchState> slice(std::size_t begin, std::size_t end) const override {
    auto out = std::make_unique<SinkBatch>();
    out->rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                     rows.begin() + static_cast<std::ptrdiff_t>(end));
    out->letters = letters;
    return out;
  }
};

SinkBatch& of(stream::BatchState& state) {
  return static_cast<SinkBatch&>(state);
}

}  // namespace

// The sink's stream handler: classifies each record (keep, filter,
// dead-letter), makes sure the kept rows have partitions and the batch's
// dead letters are durable before its transaction, and writes the rows in
// it (store_rows.hpp; dead letters in dead_letters.hpp).
class SinkWorker::Handler final : public stream::Handler {
 public:
  // `lookup` (null: no enrichment) and `store` must outlive the handler.
  Handler(const SinkConfig& config, metrics::Registry& metrics, cache::CatalogLookup* lookup,
          detail::StorePartitions& store)
      : config_(config),
        lookup_(lookup),
        store_(store),
        rows_(config, metrics, lookup),
        letters_(config, metrics) {}

  void start() { letters_.start(); }
  void flush_dead_letters() { letters_.flush(); }

  void on_connect(pqxx::connection& connection) override { detail::StoreRows::prepare(connection); }

  std::unique_ptr<stream::BatchState> open_batch() override {
    return std::make_unique<SinkBatch>();
  }

  void handle(const kafka::Message& msg, stream::PartitionProgress& progress,
              stream::BatchState& state) override {
    Decision decision = classify(msg.payload(), msg.header(core::kHeaderEventType), config_.filter);
    std::string_view rejected_reason;
    if (auto* kept = std::get_if<Kept>(&decision); kept != nullptr && too_far_ahead(kept->event)) {
      decision = Rejected{core::Rejection{
          core::RejectReason::kOutOfRange, "ts",
          "ts " + core::format_timestamp(kept->event.ts) + " is more than " +
              detail::describe_span(store_.rules().ahead) +
              " past this sink's clock (MILLRACE_STORE_AHEAD_DAYS): no partition is made "
              "that far ahead"}};
      rejected_reason = kOutOfWindow;
    }
    if (auto* kept = std::get_if<Kept>(&decision)) {
      // Provisional: write() re-labels the ids PostgreSQL already holds,
      // and the rows past the store's retention.
      progress.tally.count(core::Outcome::kPersisted, "");
      Row row{std::move(kept->event),
              msg.partition(),
              msg.offset(),
              msg.timestamp_ms().value_or(-1),
              std::string(msg.key().value_or("")),
              std::string(msg.payload()),
              {}};
      for (const auto& [k, v] : msg.headers()) row.headers.emplace_back(k, v);
      of(state).rows.push_back(std::move(row));
    } else if (const auto* filtered = std::get_if<Filtered>(&decision)) {
      progress.tally.count(core::Outcome::kFiltered, core::reason_code(filtered->reason));
    } else {
      const auto& rejection = std::get<Rejected>(decision).rejection;
      if (rejected_reason.empty()) rejected_reason = core::reason_code(rejection.reason);
      LetterSource source{msg.topic(),
                          msg.partition(),
                          msg.offset(),
                          msg.timestamp_ms().value_or(-1),
                          msg.key().value_or(""),
                          msg.payload(),
                          msg.headers()};
      letters_.send(source,
                    {{"millrace.reason", rejected_reason},
                     {"millrace.field", rejection.field},
                     {"millrace.detail", rejection.detail}},
                    of(state).letters);
      progress.tally.count(core::Outcome::kRejected, rejected_reason);
    }
  }

  void before_commit(stream::BatchState& state) override {
    // Every row to store gets its partition first, outside the batch's
    // transaction (only events older or later than the partitions made
    // ahead need one made here).
    {
      const auto cutoff = store_.cutoff_us();
      std::vector<std::int64_t> times;
      times.reserve(of(state).rows.size());
      for (const auto& row : of(state).rows) {
        if (!cutoff || row.event.ts >= *cutoff) times.push_back(row.event.ts);
      }
      store_.ensure_for(times);
    }
    if (lookup_ != nullptr && !of(state).rows.empty()) {
      // Rows are enriched from a whole catalog, never a part of one: at
      // start, and after the change feed was lost, until it is loaded again.
      lookup_->rethrow_failure();
      if (!lookup_->wait_ready(milliseconds(config_.enrich_wait_ms))) {
        throw InfraError(FailureClass::kRetryable,
                         "the catalog for enrichment is not loaded yet (it follows " +
                             config_.changes_topic + ")");
      }
    }
    // The batch's dead letters must be durable in Kafka before its offsets
    // move in PostgreSQL, or a crash in between would lose them.
    letters_.await(of(state).letters);
  }

  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override {
    auto& sink = of(state);
    for (const auto& r : refused) {
      const auto it = std::find_if(sink.rows.begin(), sink.rows.end(), [&](const Row& row) {
        return row.partition == r.record.partition && row.offset == r.record.offset;
      });
      if (it == sink.rows.end()) continue;
      LetterSource source{config_.stream.kafka.topic,
                          it->partition,
                          it->offset,
                          it->timestamp_ms,
                          it->key,
                          it->payload,
                          {}};
      for (const auto& [k, v] : it->headers) source.headers.emplace_back(k, v);
      letters_.send(source,
                    {{"millrace.reason", "db_refused"},
                     {"millrace.sqlstate", r.sqlstate},
                     {"millrace.detail", r.message}},
                    sink.letters);
      batch.at(it->partition)
          .tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kRejected, "db_refused"}, 1);
      sink.rows.erase(it);
    }
  }

  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override {
    // Rows older than the retention are counted, and not stored: their
    // partitions are dropped, or about to be.
    const auto cutoff = store_.cutoff_us();
    std::vector<const Row*> rows;
    rows.reserve(of(state).rows.size());
    for (const auto& row : of(state).rows) {
      if (cutoff && row.event.ts < *cutoff) {
        batch.at(row.partition)
            .tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kExpired, "retention"}, 1);
      } else {
        rows.push_back(&row);
      }
    }
    if (rows.empty()) return;
    rows_.write(tx, batch, rows);
  }

 private:
  static constexpr std::string_view kOutOfWindow = "ts_out_of_window";

  // An event time past the partitions made ahead: a clock far off, most
  // likely. It is dead-lettered (reason ts_out_of_window), not stored.
  bool too_far_ahead(const core::StoreEvent& event) const {
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return event.ts >
           now_us +
               std::chrono::duration_cast<std::chrono::microseconds>(store_.rules().ahead).count();
  }

  const SinkConfig& config_;
  cache::CatalogLookup* lookup_;  // null: enrichment off
  detail::StorePartitions& store_;
  detail::StoreRows rows_;
  detail::DeadLetters letters_;
};

namespace {

std::unique_ptr<cache::CatalogLookup> make_lookup(const SinkConfig& config,
                                                  metrics::Registry& metrics) {
  if (!config.enrich) return nullptr;
  cache::LookupConfig c;
  c.kafka = config.stream.kafka;
  c.kafka.topic = config.changes_topic;
  c.kafka.client_id = config.stream.kafka.client_id + "-catalog";
  c.pg = config.stream.pg;
  c.retry = config.stream.retry;
  return std::make_unique<cache::CatalogLookup>(c, metrics);
}

detail::StoreRules store_rules(const SinkConfig& config) {
  detail::StoreRules r;
  r.ahead = std::chrono::seconds(std::llround(config.store_ahead_days * 86'400));
  r.retention = std::chrono::seconds(std::llround(config.store_retention_days * 86'400));
  r.maintain_every = std::chrono::milliseconds(config.store_maintain_s * 1000);
  return r;
}

}  // namespace

SinkWorker::SinkWorker(SinkConfig config, metrics::Registry& metrics)
    : config_(std::move(config)),
      lookup_(make_lookup(config_, metrics)),
      store_(std::make_unique<detail::StorePartitions>(config_.stream.pg, store_rules(config_),
                                                       metrics)),
      handler_(std::make_unique<Handler>(config_, metrics, lookup_.get(), *store_)),
      consumer_(std::make_unique<stream::TransactionalConsumer>(config_.stream, *handler_, "sink",
                                                                metrics)) {}

SinkWorker::~SinkWorker() {
  stop();
}

void SinkWorker::start() {
  if (lookup_) lookup_->start();
  store_->start();
  handler_->start();
  consumer_->start();
}

void SinkWorker::stop() {
  // Reverse order of start: the consumer commits and leaves, then the
  // dead-letter producer drains, the partition maintenance ends, and the
  // catalog stops following.
  consumer_->stop();
  handler_->flush_dead_letters();
  store_->stop();
  if (lookup_) lookup_->stop();
}

bool SinkWorker::wait(milliseconds timeout) {
  return consumer_->wait(timeout);
}
void SinkWorker::rethrow_failure() {
  consumer_->rethrow_failure();
}
stream::StreamStats SinkWorker::stats() const {
  return consumer_->stats();
}

}  // namespace millrace::sink
