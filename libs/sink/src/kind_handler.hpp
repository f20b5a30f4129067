#pragma once

// The sink's stream handler for a declared kind (--kind order, ...): each
// record is validated against the declaration; a valid one is kept, an
// invalid one dead-lettered with its reason, exactly as store events are.
// The batch's dead letters are durable before its transaction, which
// writes the kept records and their lines (kind_rows.hpp) with the offsets.
// Store events keep their own handler (handler.hpp): their contract is
// compiled in, for speed, and they have filters, enrichment and partitions.

#include <memory>
#include <vector>

#include "dead_letters.hpp"
#include "kind_rows.hpp"
#include "millrace/sink/config.hpp"
#include "millrace/stream/handler.hpp"
#include "rows_batch.hpp"

namespace millrace::sink::detail {

using KindBatch = RowsBatch<KindRow>;

class KindHandler : public stream::Handler {
 public:
  // `config` (with its resolved declaration) must outlive the handler.
  KindHandler(const SinkConfig& config, std::unique_ptr<LetterPort> letters);

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
  const SinkConfig& config_;
  const kinds::Declaration& declaration_;
  KindRows rows_;
  std::unique_ptr<LetterPort> letters_;
};

}  // namespace millrace::sink::detail
