#pragma once

// The sink's stream handler for a declared kind (--kind order, ...): each
// record is validated against the declaration; a valid one is kept, an
// invalid one dead-lettered with its reason, exactly as store events are.
// The kept records get their partitions before the batch's transaction
// (store_partitions.hpp, the same port store events use), and its dead
// letters are durable before it; the transaction writes the kept records
// and their lines (kind_rows.hpp) with the offsets, except those past the
// kind's retention, which are counted `expired`. Store events keep their
// own handler (handler.hpp): their contract is compiled in, for speed, and
// they have filters and enrichment.

#include <memory>
#include <vector>

#include "dead_letters.hpp"
#include "kind_rows.hpp"
#include "millrace/sink/config.hpp"
#include "millrace/stream/handler.hpp"
#include "rows_batch.hpp"
#include "store_partitions.hpp"

namespace millrace::sink::detail {

using KindBatch = RowsBatch<KindRow>;

class KindHandler : public stream::Handler {
 public:
  // `config` (with its resolved declaration) and `partitions` (the kind's
  // table's) must outlive the handler.
  KindHandler(const SinkConfig& config, PartitionPort& partitions,
              std::unique_ptr<LetterPort> letters);

  void start() { letters_->start(); }
  void stop() { letters_->flush(); }

  void on_connect(pqxx::connection& connection) override;
  std::unique_ptr<stream::BatchState> open_batch() override {
    return std::make_unique<KindBatch>();
  }
  void handle(const kafka::Message& msg, stream::PartitionProgress& progress,
              stream::BatchState& state) override;
  void before_commit(stream::BatchState& state) override;
  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override;
  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override;

 private:
  auto time_of() const {
    return [this](const KindRow& row) { return record_time(declaration_, row); };
  }

  const SinkConfig& config_;
  const kinds::Declaration& declaration_;
  PartitionPort& partitions_;
  KindRows rows_;
  std::unique_ptr<LetterPort> letters_;
};

}  // namespace millrace::sink::detail
