#include "millrace/sink/worker.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/pg/copy.hpp"
#include "millrace/pg/store_events.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/sink/decision.hpp"

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
constexpr std::string_view kPersisted = "persisted";

// Delivery reports of one batch's dead letters. Counted per batch because the
// next batch produces its own while this one commits: waiting for the
// producer's whole queue to drain could wait for ever. Each letter in flight
// holds a reference (through the producer's opaque), so a batch dropped by a
// reset may still be reported after its state is gone.
struct LetterTracker {
  std::mutex mutex;
  std::uint64_t outstanding = 0;
  std::uint64_t failed = 0;
  std::string first_error;
};
using TrackerRef = std::shared_ptr<LetterTracker>;

// Runs on whichever thread polls the producer (the loop's dead_letter() or a
// commit's before_commit()).
void on_dead_letter_delivery(const kafka::Delivery& d) {
  if (d.opaque == nullptr) return;
  const std::unique_ptr<TrackerRef> ref(static_cast<TrackerRef*>(d.opaque));
  auto& t = **ref;
  std::lock_guard lock(t.mutex);
  --t.outstanding;
  if (!d.ok && t.failed++ == 0) t.first_error = d.error;
}

struct Row {
  core::StoreEvent event;
  std::int32_t partition;
  std::int64_t offset;
};

// One batch's kept rows and dead letters.
struct SinkBatch final : stream::BatchState {
  std::vector<Row> rows;
  TrackerRef letters = std::make_shared<LetterTracker>();

  void discard(std::int32_t partition) override {
    std::erase_if(rows, [&](const Row& row) { return row.partition == partition; });
  }
};

SinkBatch& of(stream::BatchState& state) { return static_cast<SinkBatch&>(state); }

}  // namespace

class SinkWorker::Handler final : public stream::Handler {
 public:
  Handler(const SinkConfig& config, metrics::Registry& metrics)
      : config_(config),
        dead_letters_(metrics.counter("millrace_dead_letters_total",
                                      "Invalid records written to the dead-letter topic (including "
                                      "rewrites of replayed batches).",
                                      {{"topic", config.dlq_topic}})) {}

  void start() {
    kafka::ProducerConfig pc;
    pc.brokers = config_.stream.brokers;
    pc.client_id = config_.stream.client_id + "-dlq";
    pc.message_timeout_ms = static_cast<std::int32_t>(kDlqTimeout.count());
    pc.extra = config_.stream.kafka_extra;
    pc.on_delivery = on_dead_letter_delivery;
    dlq_ = std::make_unique<kafka::Producer>(pc);
    dlq_partitions_ = dlq_->partition_count(config_.dlq_topic, kDlqTimeout);
  }

  void flush_dead_letters() {
    if (dlq_ && dlq_->flush(kDlqTimeout) != 0) {
      runtime::log_warn("sink", "dead-letter producer still had messages in flight at exit; their "
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
    Decision decision =
        classify(msg.payload(), msg.header(core::kHeaderEventType), config_.filter);
    if (auto* kept = std::get_if<Kept>(&decision)) {
      // Provisional: write() re-labels the ids PostgreSQL already holds.
      progress.tally.count(kPersisted, "");
      of(state).rows.push_back(Row{std::move(kept->event), msg.partition(), msg.offset()});
    } else if (const auto* filtered = std::get_if<Filtered>(&decision)) {
      progress.tally.count("filtered", core::reason_code(filtered->reason));
    } else {
      const auto& rejection = std::get<Rejected>(decision).rejection;
      dead_letter(msg, rejection, of(state));
      progress.tally.count("rejected", core::reason_code(rejection.reason));
    }
  }

  void before_commit(stream::BatchState& state) override {
    // The batch's dead letters must be durable in Kafka before its offsets
    // move in PostgreSQL, or a crash in between would lose them.
    auto& letters = *of(state).letters;
    const auto deadline = std::chrono::steady_clock::now() + kDlqTimeout;
    for (;;) {
      {
        std::lock_guard lock(letters.mutex);
        if (letters.failed != 0) {
          throw InfraError(FailureClass::kRetryable, "dead-letter write to " + config_.dlq_topic +
                                                         " failed: " + letters.first_error);
        }
        if (letters.outstanding == 0) return;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        throw InfraError(FailureClass::kRetryable,
                         "dead-letter write to " + config_.dlq_topic + " failed: timed out");
      }
      // The loop thread polls too and may serve this batch's reports: wait
      // briefly, then look again.
      dlq_->poll(milliseconds(5));
    }
  }

  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override {
    const auto& rows = of(state).rows;
    if (rows.empty()) return;
    // Stored directly, every kept row is persisted: the tally is right.
    copy_.write(
        tx, "direct_copy", [&](pqxx::transaction_base& t) { copy_rows(t, "store_events", rows); },
        [&] { return write_via_staging(tx, batch, rows); });
  }

 private:
  // Rows through a staging table and INSERT ... ON CONFLICT: the kept rows
  // whose id was stored already are re-labelled duplicates. Returns how many.
  std::uint64_t write_via_staging(pqxx::work& tx, stream::Batch& batch,
                                  const std::vector<Row>& rows) const {
    copy_rows(tx, "millrace_staging", rows);
    const auto inserted = tx.exec(
        "WITH ins AS (INSERT INTO store_events SELECT * FROM millrace_staging "
        "ON CONFLICT (id) DO NOTHING RETURNING kafka_partition) "
        "SELECT kafka_partition, count(*) FROM ins GROUP BY kafka_partition");
    std::map<std::int32_t, std::uint64_t> by_partition;
    for (const auto& r : inserted) by_partition[r[0].as<std::int32_t>()] = r[1].as<std::uint64_t>();
    std::uint64_t duplicates = 0;
    for (auto& [partition, progress] : batch.partitions()) {
      const auto kept = progress.tally.of(kPersisted);
      const auto it = by_partition.find(partition);
      const std::uint64_t stored = it == by_partition.end() ? 0 : it->second;
      batch.at(partition).tally.move({kPersisted, ""}, {"duplicate", "duplicate_id"},
                                     kept - stored);
      duplicates += kept - stored;
    }
    return duplicates;
  }

  void copy_rows(pqxx::transaction_base& tx, const std::string& table,
                 const std::vector<Row>& rows) const {
    pg::CopyWriter copy(tx, table, pg::kStoreEventColumns);
    for (const auto& row : rows) {
      pg::append_store_event(copy.row(), row.event, config_.stream.topic, row.partition,
                             row.offset);
      copy.end_row();
    }
    copy.complete();
  }

  void dead_letter(const kafka::Message& msg, const core::Rejection& rejection,
                   SinkBatch& batch) {
    const std::string partition = std::to_string(msg.partition());
    const std::string offset = std::to_string(msg.offset());
    const std::string timestamp = std::to_string(msg.timestamp_ms().value_or(-1));
    const auto original = msg.headers();
    std::vector<kafka::OutHeader> headers;
    headers.reserve(original.size() + 7);
    for (const auto& [key, value] : original) headers.push_back({key, value});
    headers.push_back({"millrace.reason", core::reason_code(rejection.reason)});
    headers.push_back({"millrace.field", rejection.field});
    headers.push_back({"millrace.detail", rejection.detail});
    headers.push_back({"millrace.source.topic", msg.topic()});
    headers.push_back({"millrace.source.partition", partition});
    headers.push_back({"millrace.source.offset", offset});
    headers.push_back({"millrace.source.timestamp", timestamp});
    {
      std::lock_guard lock(batch.letters->mutex);
      ++batch.letters->outstanding;
    }
    // Deleted by the delivery report. A report never served (the process
    // exits with letters in flight) leaks it, which is harmless then.
    auto ref = std::make_unique<TrackerRef>(batch.letters);
    dlq_->produce(config_.dlq_topic, msg.partition() % dlq_partitions_, msg.key().value_or(""),
                  msg.payload(), headers, ref.get());
    ref.release();
    dlq_->poll();
    dead_letters_.inc();
  }

  const SinkConfig& config_;
  pg::OptimisticCopy copy_;  // the commit thread only (write())
  metrics::Counter dead_letters_;
  std::unique_ptr<kafka::Producer> dlq_;
  std::int32_t dlq_partitions_ = 1;
};

SinkWorker::SinkWorker(SinkConfig config, metrics::Registry& metrics)
    : config_(std::move(config)),
      handler_(std::make_unique<Handler>(config_, metrics)),
      consumer_(std::make_unique<stream::TransactionalConsumer>(config_.stream, *handler_, "sink",
                                                                metrics)) {}

SinkWorker::~SinkWorker() { Stop(); }

void SinkWorker::Start() {
  handler_->start();
  consumer_->Start();
}

void SinkWorker::Stop() {
  // Reverse order of start: the consumer commits and leaves, then the
  // dead-letter producer drains.
  consumer_->Stop();
  handler_->flush_dead_letters();
}

bool SinkWorker::wait(milliseconds timeout) { return consumer_->wait(timeout); }
void SinkWorker::rethrow_failure() { consumer_->rethrow_failure(); }
stream::StreamStats SinkWorker::stats() const { return consumer_->stats(); }

}  // namespace millrace::sink
