#pragma once

// The sink's stream handler, one for every kind: classifies each record
// (keep, filter, dead-letter), makes sure the kept rows have partitions and
// the batch's dead letters are durable before its transaction, and writes
// the rows in it. What differs by kind is its codec (below): how a message
// becomes a record (kinds/codec.hpp: the codec its declaration names), the
// kind's keep rule, how its resends are told (kind_rows.hpp, which writes
// every kind's rows) and what becomes of a record too far ahead. The handler is a
// template on it, so a record costs no virtual call. It reaches the
// dead-letter topic and the partitions through ports, so the unit tests
// drive it with both in memory (tests/handler_test.cpp). Dead letters:
// dead_letters.hpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "dead_letters.hpp"
#include "kind_rows.hpp"
#include "millrace/cache/lookup.hpp"
#include "millrace/core/event_type.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/core/filter.hpp"
#include "millrace/kinds/codec.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/sink/config.hpp"
#include "millrace/stream/handler.hpp"
#include "rows_batch.hpp"
#include "store_partitions.hpp"

namespace millrace::sink::detail {

// A kind's codec: its declaration's validation and keep rule, written by
// KindRows into its tables; the store event's too (its built-in
// declaration, the keep rule's bounds from --min-discount and
// --keep-types), and every other kind's (--kind). What differs by kind is
// declared: how resends are told (Declaration::resends) and whether a
// record later than the partitions made ahead is dead-lettered or gets its
// partition when it comes (StorageDecl::far_ahead_dead_letter).
struct DeclaredSink {
  using Record = kinds::Record;

  // `config`, with its resolved declaration, and `lookup` (null:
  // enrichment off) must outlive this.
  DeclaredSink(const SinkConfig& config, metrics::Registry& metrics, cache::CatalogLookup* lookup);

  void prepare(pqxx::connection& connection);
  void write(pqxx::work& tx, stream::Batch& batch, const std::vector<const KindRow*>& kept) {
    rows.write(tx, batch, kept);
  }
  bool refuses_far_ahead() const { return declaration.storage.far_ahead_dead_letter; }

  const SinkConfig& config;
  // The store event's, with the sink's keep rule; --kind's is the config's.
  std::optional<kinds::Declaration> store_event;
  const kinds::Declaration& declaration;
  kinds::DeclaredCodec codec;
  KindRows<Record> rows;
};

// The built-in store event's declaration with its keep rule's bounds from
// `filter` (--min-discount, --keep-types).
kinds::Declaration store_event_declaration(const core::FilterConfig& filter);

// The Rejection of a record whose time (field `field`) is more than
// `ahead` past the sink's clock, or nullopt.
std::optional<core::Rejection> too_far_ahead(std::int64_t time_us, std::string_view field,
                                             std::chrono::seconds ahead);

// The rows of `rows` to store: those older than `cutoff` (the retention)
// are re-counted `expired` in `batch`'s tallies instead, and left out.
template <typename Codec, typename RowT>
std::vector<const RowT*> unexpired_rows(stream::Batch& batch, const Codec& codec,
                                        const std::vector<RowT>& rows,
                                        std::optional<std::int64_t> cutoff) {
  return unexpired(batch, rows, cutoff, [&](const RowT& row) { return codec.time(row.record); });
}

template <typename Sink>
class RecordHandler : public stream::Handler {
 public:
  using Record = typename Sink::Record;
  using RowT = KeptRow<Record>;
  using Batch = RowsBatch<RowT>;

  static Batch& of(stream::BatchState& state) { return static_cast<Batch&>(state); }

  // `lookup` (null: no enrichment) and `partitions` must outlive the
  // handler; `sink` is the codec's arguments after `config`.
  template <typename... SinkArgs>
  RecordHandler(const SinkConfig& config, cache::CatalogLookup* lookup, PartitionPort& partitions,
                std::unique_ptr<LetterPort> letters, SinkArgs&&... sink)
      : config_(config),
        lookup_(lookup),
        partitions_(partitions),
        sink_(config, std::forward<SinkArgs>(sink)...),
        letters_(std::move(letters)) {}

  void start() { letters_->start(); }
  // After the consumer stops: the dead letters in flight drain.
  void stop() { letters_->flush(); }

  const Sink& sink() const { return sink_; }

  void on_connect(pqxx::connection& connection) override {
    sink_.prepare(connection);
    partitions_.schema_ready();
  }
  std::unique_ptr<stream::BatchState> open_batch() override { return std::make_unique<Batch>(); }

  void handle(const kafka::Message& msg, stream::PartitionProgress& progress,
              stream::BatchState& state) override {
    auto parsed = sink_.codec.parse(msg.payload(), msg.header(core::kHeaderEventType));
    if (auto* record = std::get_if<Record>(&parsed)) {
      if (const auto reason = sink_.codec.not_kept(*record)) {
        progress.tally.count(core::Outcome::kFiltered, *reason);
        return;
      }
      if (sink_.refuses_far_ahead()) {
        if (auto far = too_far_ahead(sink_.codec.time(*record), sink_.codec.time_field(),
                                     partitions_.rules().ahead)) {
          reject(msg, progress, state, "ts_out_of_window", *far);
          return;
        }
      }
      // Provisional: write() re-labels the identities PostgreSQL already
      // holds, and the rows past the retention.
      progress.tally.count(core::Outcome::kPersisted, "");
      of(state).rows.push_back(RowT{consumed(msg), std::move(*record)});
      return;
    }
    const auto& rejection = std::get<core::Rejection>(parsed);
    reject(msg, progress, state, core::reason_code(rejection.reason), rejection);
  }

  void before_commit(stream::BatchState& state) override {
    // Every row to store gets its partition first, outside the batch's
    // transaction (only records older or later than the partitions made
    // ahead need one made here).
    partitions_.ensure_unexpired(of(state).rows,
                                 [&](const RowT& row) { return sink_.codec.time(row.record); });
    if (lookup_ != nullptr && !of(state).rows.empty()) {
      // Rows are enriched from a whole catalog, never a part of one: at
      // start, and after the change feed was lost, until it is loaded again.
      lookup_->rethrow_failure();
      if (!lookup_->wait_ready(std::chrono::milliseconds(config_.enrich_wait_ms))) {
        throw core::InfraError(core::FailureClass::kRetryable,
                               "the catalog for enrichment is not loaded yet (it follows " +
                                   config_.changes_topic + ")");
      }
    }
    // The batch's dead letters must be durable in Kafka before its offsets
    // move in PostgreSQL, or a crash in between would lose them.
    letters_->await(of(state).letters);
  }

  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override {
    refuse_rows(*letters_, config_.stream.kafka.topic, batch, of(state).rows, refused,
                of(state).letters);
  }

  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override {
    const auto rows = unexpired_rows(batch, sink_.codec, of(state).rows, partitions_.cutoff_us());
    if (rows.empty()) return;
    sink_.write(tx, batch, rows);
  }

 private:
  void reject(const kafka::Message& msg, stream::PartitionProgress& progress,
              stream::BatchState& state, std::string_view reason,
              const core::Rejection& rejection) {
    send_rejected(*letters_, msg, reason, rejection, of(state).letters);
    progress.tally.count(core::Outcome::kRejected, reason);
  }

  const SinkConfig& config_;
  cache::CatalogLookup* lookup_;  // null: enrichment off
  PartitionPort& partitions_;
  Sink sink_;
  std::unique_ptr<LetterPort> letters_;
};

using SinkHandler = RecordHandler<DeclaredSink>;
using KindHandler = SinkHandler;
using SinkBatch = SinkHandler::Batch;

}  // namespace millrace::sink::detail
