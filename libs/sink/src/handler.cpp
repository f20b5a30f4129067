#include "handler.hpp"

#include <chrono>
#include <string>
#include <utility>

#include "millrace/core/failure.hpp"
#include "millrace/sink/decision.hpp"

namespace millrace::sink::detail {

using core::FailureClass;
using core::InfraError;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kOutOfWindow = "ts_out_of_window";

std::int64_t event_time(const Row& row) {
  return row.event.ts;
}

}  // namespace

std::vector<const Row*> unexpired_rows(stream::Batch& batch, const SinkBatch& state,
                                       std::optional<std::int64_t> cutoff) {
  return unexpired(batch, state.rows, cutoff, event_time);
}

SinkHandler::SinkHandler(const SinkConfig& config, metrics::Registry& metrics,
                         cache::CatalogLookup* lookup, PartitionPort& store,
                         std::unique_ptr<LetterPort> letters)
    : config_(config),
      lookup_(lookup),
      store_(store),
      rows_(config, metrics, lookup),
      letters_(std::move(letters)) {}

void SinkHandler::handle(const kafka::Message& msg, stream::PartitionProgress& progress,
                         stream::BatchState& state) {
  Decision decision = classify(msg.payload(), msg.header(core::kHeaderEventType), config_.filter);
  std::string_view rejected_reason;
  if (auto* kept = std::get_if<Kept>(&decision); kept != nullptr && too_far_ahead(kept->event)) {
    decision = Rejected{core::Rejection{
        core::RejectReason::kOutOfRange, "ts",
        "ts " + core::format_timestamp(kept->event.ts) + " is more than " +
            describe_span(store_.rules().ahead) +
            " past this sink's clock (MILLRACE_STORE_AHEAD_DAYS): no partition is made "
            "that far ahead"}};
    rejected_reason = kOutOfWindow;
  }
  if (auto* kept = std::get_if<Kept>(&decision)) {
    // Provisional: write() re-labels the ids PostgreSQL already holds,
    // and the rows past the store's retention.
    progress.tally.count(core::Outcome::kPersisted, "");
    of(state).rows.push_back(Row{consumed(msg), std::move(kept->event)});
  } else if (const auto* filtered = std::get_if<Filtered>(&decision)) {
    progress.tally.count(core::Outcome::kFiltered, core::reason_code(filtered->reason));
  } else {
    const auto& rejection = std::get<Rejected>(decision).rejection;
    if (rejected_reason.empty()) rejected_reason = core::reason_code(rejection.reason);
    send_rejected(*letters_, msg, rejected_reason, rejection, of(state).letters);
    progress.tally.count(core::Outcome::kRejected, rejected_reason);
  }
}

void SinkHandler::before_commit(stream::BatchState& state) {
  // Every row to store gets its partition first, outside the batch's
  // transaction (only events older or later than the partitions made
  // ahead need one made here).
  store_.ensure_unexpired(of(state).rows, event_time);
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
  letters_->await(of(state).letters);
}

void SinkHandler::refuse(stream::Batch& batch, stream::BatchState& state,
                         const std::vector<stream::Refusal>& refused) {
  refuse_rows(*letters_, config_.stream.kafka.topic, batch, of(state).rows, refused,
              of(state).letters);
}

void SinkHandler::write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) {
  const auto rows = unexpired_rows(batch, of(state), store_.cutoff_us());
  if (rows.empty()) return;
  rows_.write(tx, batch, rows);
}

// An event time past the partitions made ahead: a clock far off, most
// likely. It is dead-lettered (reason ts_out_of_window), not stored.
bool SinkHandler::too_far_ahead(const core::StoreEvent& event) const {
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return event.ts >
         now_us +
             std::chrono::duration_cast<std::chrono::microseconds>(store_.rules().ahead).count();
}

}  // namespace millrace::sink::detail
