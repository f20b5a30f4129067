#include "millrace/sink/worker.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "millrace/cache/lookup.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/pg/copy.hpp"
#include "millrace/pg/store_events.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/sink/decision.hpp"
#include "store_partitions.hpp"

namespace millrace::sink {

using core::FailureClass;
using core::InfraError;
using std::chrono::milliseconds;

Decision classify(std::string_view payload, std::optional<std::string_view> event_type_header,
                  const core::FilterConfig& filter) {
  auto parsed = core::parse_event(payload, event_type_header);
  if (auto* rejection = std::get_if<core::Rejection>(&parsed)) {
    return Rejected{std::move(*rejection)};
  }
  auto& event = std::get<core::StoreEvent>(parsed);
  if (const auto reason = core::apply_filter(event, filter)) return Filtered{*reason};
  return Kept{std::move(event)};
}

namespace {

constexpr milliseconds kDlqTimeout{30000};

constexpr std::string_view kTruncated = "millrace.truncated";
constexpr std::string_view kOriginalSize = "millrace.original_size";
// A letter the broker refused as too large is sent again with at most this
// much of its payload (the topic's own limit is not known to the client).
constexpr std::size_t kResentPayloadBytes = 16 * 1024;

// Delivery reports of one batch's dead letters. Counted per batch because the
// next batch produces its own while this one commits: waiting for the
// producer's whole queue to drain could wait for ever. Each letter in flight
// holds a reference (through the producer's opaque), so a batch dropped by a
// reset may still be reported after its state is gone.
struct LetterTracker {
  std::mutex mutex;
  std::uint64_t outstanding = 0;
  std::uint64_t failed = 0;
  // Failures no retry heals: the topic refuses writes (authorization, gone).
  std::uint64_t refused = 0;
  std::string first_error;
  // Letters the broker found too large, to send again (alone, then
  // shorter), with how often each was sent.
  std::vector<std::pair<kafka::OwnedRecord, int>> too_large;
};
using TrackerRef = std::shared_ptr<LetterTracker>;

// What a letter in flight carries through the producer's opaque.
struct LetterRef {
  TrackerRef tracker;
  int sends = 1;
};

// Runs on whichever thread polls the producer (the loop's dead_letter() or a
// commit's before_commit()).
void on_dead_letter_delivery(const kafka::Delivery& d) {
  if (d.opaque == nullptr) return;
  const std::unique_ptr<LetterRef> ref(static_cast<LetterRef*>(d.opaque));
  auto& t = *ref->tracker;
  std::lock_guard lock(t.mutex);
  --t.outstanding;
  if (d.ok) return;
  if (d.too_large) {
    t.too_large.emplace_back(d.copy(), ref->sends);
    return;
  }
  if (d.refused) ++t.refused;
  if (t.failed++ == 0) t.first_error = d.error;
}

// A kept event with what a dead letter of it needs, should PostgreSQL
// refuse it: the record as consumed (payload, key, headers, timestamp).
struct Row {
  core::StoreEvent event;
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t timestamp_ms;
  std::string key;
  std::string payload;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One batch's kept rows and dead letters.
struct SinkBatch final : stream::BatchState {
  std::vector<Row> rows;
  TrackerRef letters = std::make_shared<LetterTracker>();

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

// Where a dead letter came from and why it is one.
struct LetterSource {
  std::string_view topic;
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t timestamp_ms;
  std::string_view key;
  std::string_view payload;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

SinkBatch& of(stream::BatchState& state) {
  return static_cast<SinkBatch&>(state);
}

}  // namespace

class SinkWorker::Handler final : public stream::Handler {
 public:
  // `lookup` (null: no enrichment) and `store` must outlive the handler.
  Handler(const SinkConfig& config, metrics::Registry& metrics, cache::CatalogLookup* lookup,
          detail::StorePartitions& store)
      : config_(config),
        lookup_(lookup),
        store_(store),
        enriched_(metrics.counter("millrace_sink_enriched_total",
                                  "Kept rows written with the catalog's product name, brand and "
                                  "category (enrichment on)",
                                  {{"sku", "known"}})),
        unknown_sku_(metrics.counter("millrace_sink_enriched_total",
                                     "Kept rows written with the catalog's product name, brand "
                                     "and category (enrichment on)",
                                     {{"sku", "unknown"}})),
        dead_letters_(metrics.counter("millrace_dead_letters_total",
                                      "Invalid records written to the dead-letter topic (including "
                                      "rewrites of replayed batches).",
                                      {{"topic", config.dlq_topic}})),
        truncated_(metrics.counter("millrace_dead_letters_truncated_total",
                                   "Dead letters written with their payload cut to fit the topic.",
                                   {{"topic", config.dlq_topic}})),
        blocked_(metrics.gauge("millrace_dead_letter_blocked",
                               "1 while the dead-letter topic refuses writes for good "
                               "(authorization, topic missing): the sink makes no progress.",
                               {{"topic", config.dlq_topic}})) {}

  void start() {
    kafka::ProducerConfig pc;
    pc.brokers = config_.stream.kafka.brokers;
    pc.client_id = config_.stream.kafka.client_id + "-dlq";
    pc.message_timeout_ms = static_cast<std::int32_t>(kDlqTimeout.count());
    pc.extra = config_.stream.kafka.extra;
    pc.on_delivery = on_dead_letter_delivery;
    dlq_ = std::make_unique<kafka::Producer>(pc);
    dlq_partitions_ = dlq_->partition_count(config_.dlq_topic, kDlqTimeout);
  }

  void flush_dead_letters() {
    if (resend_) resend_->flush(kDlqTimeout);
    if (dlq_ && dlq_->flush(kDlqTimeout) != 0) {
      runtime::log_warn("sink",
                        "dead-letter producer still had messages in flight at exit; their "
                        "source offsets were not committed and will be replayed");
    }
  }

  void on_connect(pqxx::connection& connection) override {
    pqxx::nontransaction tx(connection);
    // Rows are staged with COPY, then moved with ON CONFLICT DO NOTHING: COPY
    // alone cannot skip ids that are already stored.
    tx.exec(
        "CREATE TEMP TABLE IF NOT EXISTS millrace_staging "
        "(LIKE store_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
  }

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
      dead_letter(source,
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
    const auto& ref = of(state).letters;
    auto& letters = *ref;
    const auto deadline = std::chrono::steady_clock::now() + kDlqTimeout;
    for (;;) {
      std::vector<std::pair<kafka::OwnedRecord, int>> resend;
      {
        std::lock_guard lock(letters.mutex);
        if (letters.refused != 0) {
          // Retrying is all the sink can do, but loudly: an operator must act.
          blocked_.set(1);
          runtime::log_error("sink", "dead-letter topic " + config_.dlq_topic +
                                         " refuses writes: " + letters.first_error +
                                         "; no progress until it accepts them (create the topic "
                                         "or grant this client Write on it)");
          throw InfraError(FailureClass::kRetryable, "dead-letter write to " + config_.dlq_topic +
                                                         " refused: " + letters.first_error);
        }
        if (letters.failed != 0) {
          throw InfraError(FailureClass::kRetryable, "dead-letter write to " + config_.dlq_topic +
                                                         " failed: " + letters.first_error);
        }
        resend.swap(letters.too_large);
        if (letters.outstanding == 0 && resend.empty()) {
          blocked_.set(0);
          return;
        }
      }
      for (auto& [letter, sends] : resend) send_again(letter, sends, ref);
      if (std::chrono::steady_clock::now() >= deadline) {
        throw InfraError(FailureClass::kRetryable,
                         "dead-letter write to " + config_.dlq_topic + " failed: timed out");
      }
      // The loop thread polls too and may serve this batch's reports: wait
      // briefly, then look again.
      dlq_->poll(milliseconds(5));
      if (resend_) resend_->poll();
    }
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
      dead_letter(source,
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
    // Stored directly, every kept row is persisted: the tally is right.
    copy_.write(
        tx, "direct_copy", [&](pqxx::transaction_base& t) { copy_rows(t, "store_events", rows); },
        [&] { return write_via_staging(tx, batch, rows); });
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

  // Rows through a staging table and INSERT ... ON CONFLICT: the kept rows
  // whose id was stored already are re-labelled duplicates. Returns how many.
  std::uint64_t write_via_staging(pqxx::work& tx, stream::Batch& batch,
                                  const std::vector<const Row*>& rows) const {
    // Staging may hold rows of an earlier write in this transaction (the
    // consumer writes slices when it isolates refused records).
    tx.exec("DELETE FROM millrace_staging");
    copy_rows(tx, "millrace_staging", rows);
    const auto inserted = tx.exec(
        "WITH ins AS (INSERT INTO store_events SELECT * FROM millrace_staging "
        "ON CONFLICT (ts, id) DO NOTHING RETURNING kafka_partition) "
        "SELECT kafka_partition, count(*) FROM ins GROUP BY kafka_partition");
    std::map<std::int32_t, std::uint64_t> by_partition;
    for (const auto& r : inserted) by_partition[r[0].as<std::int32_t>()] = r[1].as<std::uint64_t>();
    // Counted from the rows written, not the batch's tallies: `rows` may be
    // a slice of the batch.
    std::map<std::int32_t, std::uint64_t> kept;
    for (const auto* row : rows) ++kept[row->partition];
    std::uint64_t duplicates = 0;
    for (const auto& [partition, n] : kept) {
      const auto it = by_partition.find(partition);
      const std::uint64_t stored = it == by_partition.end() ? 0 : it->second;
      batch.at(partition).tally.move({core::Outcome::kPersisted, ""},
                                     {core::Outcome::kDuplicate, "duplicate_id"}, n - stored);
      duplicates += n - stored;
    }
    return duplicates;
  }

  void copy_rows(pqxx::transaction_base& tx, const std::string& table,
                 const std::vector<const Row*>& rows) const {
    if (lookup_ == nullptr) {
      pg::CopyWriter copy(tx, table, pg::kStoreEventColumns);
      for (const auto* row : rows) {
        pg::append_store_event(copy.row(), row->event, config_.stream.kafka.topic, row->partition,
                               row->offset);
        copy.end_row();
      }
      copy.complete();
      return;
    }
    // The catalog as it is now: what the row is enriched with is what was
    // known when it was ingested.
    std::vector<std::string> columns = pg::kStoreEventColumns;
    columns.insert(columns.end(), pg::kEnrichmentColumns.begin(), pg::kEnrichmentColumns.end());
    pg::CopyWriter copy(tx, table, columns);
    std::uint64_t known = 0;
    for (const auto* row : rows) {
      auto& line = copy.row();
      pg::append_store_event(line, row->event, config_.stream.kafka.topic, row->partition,
                             row->offset);
      if (const auto product = lookup_->product(row->event.sku)) {
        pg::append_enrichment(line, product->name, product->brand, product->category);
        ++known;
      } else {
        pg::append_enrichment(line, std::nullopt, std::nullopt, std::nullopt);
      }
      copy.end_row();
    }
    copy.complete();
    // Counted per write: a batch written again (a refused record isolated,
    // a retried commit) counts its rows again, like the dead letters.
    enriched_.inc(static_cast<double>(known));
    unknown_sku_.inc(static_cast<double>(rows.size() - known));
  }

  // Sends one dead letter: the source record (payload, key, its own
  // headers) plus Millrace's headers saying why and where it came from. A
  // letter over dlq_max_bytes keeps the start of its payload.
  void dead_letter(const LetterSource& source,
                   std::vector<std::pair<std::string_view, std::string_view>> why,
                   const TrackerRef& tracker) {
    const std::string partition = std::to_string(source.partition);
    const std::string offset = std::to_string(source.offset);
    const std::string timestamp = std::to_string(source.timestamp_ms);
    std::vector<kafka::OutHeader> headers;
    headers.reserve(source.headers.size() + why.size() + 6);
    for (const auto& [key, value] : source.headers) headers.push_back({key, value});
    for (const auto& [key, value] : why) headers.push_back({key, value});
    headers.push_back({"millrace.source.topic", source.topic});
    headers.push_back({"millrace.source.partition", partition});
    headers.push_back({"millrace.source.offset", offset});
    headers.push_back({"millrace.source.timestamp", timestamp});
    std::size_t size = source.key.size() + source.payload.size();
    for (const auto& h : headers) size += h.key.size() + h.value.size();
    std::string_view payload = source.payload;
    const std::string original_size = std::to_string(source.payload.size());
    const auto limit = static_cast<std::size_t>(config_.dlq_max_bytes);
    if (size > limit) {
      const std::size_t overhead = size - source.payload.size() + 64;
      payload = payload.substr(0, limit > overhead ? limit - overhead : 0);
      headers.push_back({kTruncated, "true"});
      headers.push_back({kOriginalSize, original_size});
      truncated_.inc();
    }
    produce_letter(source.partition, source.key, payload, headers, tracker);
  }

  // A letter the broker refused as too large. First it goes again whole and
  // alone: it may have been refused for the batch it shared. Refused alone,
  // it keeps kResentPayloadBytes of its payload, then half of that each time.
  void send_again(kafka::OwnedRecord& letter, int sends, const TrackerRef& tracker) {
    std::int32_t partition = 0;
    for (const auto& [key, value] : letter.headers) {
      if (key == "millrace.source.partition") partition = std::stoi(value);
    }
    if (sends == 1) {
      std::vector<kafka::OutHeader> headers;
      for (const auto& [key, value] : letter.headers) headers.push_back({key, value});
      produce_letter(partition, letter.key, letter.value, headers, tracker, sends + 1);
      return;
    }
    std::string original_size = std::to_string(letter.value.size());
    bool marked = false;
    std::vector<kafka::OutHeader> headers;
    for (const auto& [key, value] : letter.headers) {
      if (key == kOriginalSize) {
        original_size = value;  // truncated before: keep the first size
        marked = true;
        continue;
      }
      if (key == kTruncated) continue;
      headers.push_back({key, value});
    }
    if (marked && letter.value.empty()) {
      // Even its headers are too large: nothing left to cut.
      std::lock_guard lock(tracker->mutex);
      if (tracker->failed++ == 0) tracker->first_error = "a dead letter is too large even empty";
      return;
    }
    headers.push_back({kTruncated, "true"});
    headers.push_back({kOriginalSize, original_size});
    letter.value.resize(marked ? letter.value.size() / 2
                               : std::min(letter.value.size(), kResentPayloadBytes));
    if (!marked) truncated_.inc();
    produce_letter(partition, letter.key, letter.value, headers, tracker, sends + 1);
  }

  void produce_letter(std::int32_t source_partition, std::string_view key, std::string_view payload,
                      const std::vector<kafka::OutHeader>& headers, const TrackerRef& tracker,
                      int sends = 1) {
    {
      std::lock_guard lock(tracker->mutex);
      ++tracker->outstanding;
    }
    // Deleted by the delivery report. A report never served (the process
    // exits with letters in flight) leaks it, which is harmless then.
    auto ref = std::make_unique<LetterRef>(LetterRef{tracker, sends});
    kafka::Producer& producer = sends > 1 ? resender() : *dlq_;
    try {
      producer.produce(config_.dlq_topic, source_partition % dlq_partitions_, key, payload, headers,
                       ref.get());
    } catch (const InfraError& e) {
      if (producer.fatal()) throw;
      // librdkafka will not even queue it: its metadata says the topic is
      // gone. The batch cannot commit; before_commit() says so.
      std::lock_guard lock(tracker->mutex);
      --tracker->outstanding;
      ++tracker->refused;
      if (tracker->failed++ == 0) tracker->first_error = e.what();
      return;
    }
    ref.release();
    producer.poll();
    dead_letters_.inc();
  }

  // Letters the broker refused as too large go again one per request, so
  // that a refusal is the letter's own and not its batch's (the broker
  // judges a whole record batch against max.message.bytes). Commit thread.
  kafka::Producer& resender() {
    if (!resend_) {
      kafka::ProducerConfig pc;
      pc.brokers = config_.stream.kafka.brokers;
      pc.client_id = config_.stream.kafka.client_id + "-dlq-resend";
      pc.message_timeout_ms = static_cast<std::int32_t>(kDlqTimeout.count());
      pc.extra = config_.stream.kafka.extra;
      pc.extra["batch.num.messages"] = "1";
      pc.on_delivery = on_dead_letter_delivery;
      resend_ = std::make_unique<kafka::Producer>(pc);
    }
    return *resend_;
  }

  const SinkConfig& config_;
  cache::CatalogLookup* lookup_;  // null: enrichment off
  detail::StorePartitions& store_;
  mutable metrics::Counter enriched_, unknown_sku_;  // copy_rows() is const
  pg::OptimisticCopy copy_;                          // the commit thread only (write())
  metrics::Counter dead_letters_;
  metrics::Counter truncated_;
  metrics::Gauge blocked_;
  std::unique_ptr<kafka::Producer> dlq_;
  std::unique_ptr<kafka::Producer> resend_;  // created on the first too-large letter
  std::int32_t dlq_partitions_ = 1;
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
