#pragma once

// The sink's stream handler: classifies each record (keep, filter,
// dead-letter), makes sure the kept rows have partitions and the batch's
// dead letters are durable before its transaction, and writes the rows in
// it (store_rows.hpp; dead letters in dead_letters.hpp). It reaches the
// dead-letter topic and the store's partitions through ports, so the unit
// tests drive it with both in memory (tests/handler_test.cpp).

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "dead_letters.hpp"
#include "millrace/cache/lookup.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/sink/config.hpp"
#include "millrace/stream/handler.hpp"
#include "rows_batch.hpp"
#include "store_partitions.hpp"
#include "store_rows.hpp"

namespace millrace::sink::detail {

using SinkBatch = RowsBatch<Row>;

inline SinkBatch& of(stream::BatchState& state) {
  return static_cast<SinkBatch&>(state);
}

// The rows of `state` to store: those older than `cutoff` (the retention)
// are re-counted `expired` in `batch`'s tallies instead, and left out.
std::vector<const Row*> unexpired_rows(stream::Batch& batch, const SinkBatch& state,
                                       std::optional<std::int64_t> cutoff);

class SinkHandler : public stream::Handler {
 public:
  // `lookup` (null: no enrichment) and `store` must outlive the handler.
  SinkHandler(const SinkConfig& config, metrics::Registry& metrics, cache::CatalogLookup* lookup,
              PartitionPort& store, std::unique_ptr<LetterPort> letters);

  void start() { letters_->start(); }
  void flush_dead_letters() { letters_->flush(); }

  void on_connect(pqxx::connection& connection) override {
    StoreRows::prepare(connection);
    store_.schema_ready();
  }
  std::unique_ptr<stream::BatchState> open_batch() override {
    return std::make_unique<SinkBatch>();
  }
  void handle(const kafka::Message& msg, stream::PartitionProgress& progress,
              stream::BatchState& state) override;
  void before_commit(stream::BatchState& state) override;
  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override;
  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override;

 private:
  bool too_far_ahead(const core::StoreEvent& event) const;

  const SinkConfig& config_;
  cache::CatalogLookup* lookup_;  // null: enrichment off
  PartitionPort& store_;
  StoreRows rows_;
  std::unique_ptr<LetterPort> letters_;
};

}  // namespace millrace::sink::detail
