#include "kind_handler.hpp"

#include <utility>

#include "millrace/pg/schema_setup.hpp"

namespace millrace::sink::detail {

namespace {

KindBatch& of_kind(stream::BatchState& state) {
  return static_cast<KindBatch&>(state);
}

}  // namespace

KindHandler::KindHandler(const SinkConfig& config, PartitionPort& partitions,
                         std::unique_ptr<LetterPort> letters)
    : config_(config),
      declaration_(*config.kinds.declaration),
      partitions_(partitions),
      rows_(declaration_, kinds::pii_mode(config.kinds), config.kinds.pii_key,
            config.stream.kafka.topic),
      letters_(std::move(letters)) {}

void KindHandler::on_connect(pqxx::connection& connection) {
  pg::prepare_kind_tables(connection, config_.stream.pg.schema, declaration_,
                          config_.stream.migrate);
  rows_.prepare(connection);
  partitions_.schema_ready();
}

void KindHandler::handle(const kafka::Message& msg, stream::PartitionProgress& progress,
                         stream::BatchState& state) {
  auto parsed = kinds::parse_record(declaration_, msg.payload());
  if (auto* record = std::get_if<kinds::Record>(&parsed)) {
    // Provisional: write() re-labels the identities PostgreSQL holds already.
    progress.tally.count(core::Outcome::kPersisted, "");
    of_kind(state).rows.push_back(KindRow{consumed(msg), std::move(*record)});
    return;
  }
  const auto& rejection = std::get<core::Rejection>(parsed);
  const auto reason = core::reason_code(rejection.reason);
  send_rejected(*letters_, msg, reason, rejection, of_kind(state).letters);
  progress.tally.count(core::Outcome::kRejected, reason);
}

void KindHandler::before_commit(stream::BatchState& state) {
  // Every record to store gets its partition first, outside the batch's
  // transaction.
  partitions_.ensure_unexpired(of_kind(state).rows, time_of());
  // The batch's dead letters must be durable in Kafka before its offsets
  // move in PostgreSQL, or a crash in between would lose them.
  letters_->await(of_kind(state).letters);
}

void KindHandler::refuse(stream::Batch& batch, stream::BatchState& state,
                         const std::vector<stream::Refusal>& refused) {
  refuse_rows(*letters_, config_.stream.kafka.topic, batch, of_kind(state).rows, refused,
              of_kind(state).letters);
}

void KindHandler::write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) {
  const auto rows = unexpired(batch, of_kind(state).rows, partitions_.cutoff_us(), time_of());
  if (rows.empty()) return;
  rows_.write(tx, batch, rows);
}

}  // namespace millrace::sink::detail
