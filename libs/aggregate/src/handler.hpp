#pragma once

// The aggregator's stream handler: parses each record (invalid ones are only
// counted: the sink dead-letters them), and in the batch's transaction
// judges lateness, folds each event once into the aggregates, keeps late
// ones aside and records refused ones. Its SQL is in tables.hpp, reached
// through tables::BatchTables, so the unit tests run write()'s steps
// against tables of their own (tests/handler_test.cpp).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batch.hpp"
#include "millrace/aggregate/config.hpp"
#include "millrace/core/window.hpp"
#include "millrace/pg/copy.hpp"
#include "millrace/stream/handler.hpp"
#include "tables.hpp"

namespace millrace::aggregate::detail {

class AggregatorHandler : public stream::Handler {
 public:
  // `config` must outlive the handler.
  explicit AggregatorHandler(const AggregatorConfig& config);

  // Looks up the topic's number in aggregator_topics.
  void on_connect(pqxx::connection& connection) override;
  std::unique_ptr<stream::BatchState> open_batch() override;
  void handle(const kafka::Message& msg, stream::PartitionProgress& progress,
              stream::BatchState& state) override;
  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override;
  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override;

  // write()'s steps against `tables` instead of the transaction's.
  void write_to(tables::BatchTables& tables, stream::Batch& batch, stream::BatchState& state);

 private:
  struct Judged {
    tables::PartitionMax max_ts;  // raised by this batch's on-time events
    std::vector<const Pending*> on_time;
    tables::Late late;
  };

  Judged judge_lateness(tables::BatchTables& tables, const std::vector<Pending>& pending) const;
  static core::Deltas fold_new(tables::BatchTables& tables, stream::Batch& batch,
                               const std::vector<const Pending*>& on_time);
  static void keep_late(tables::BatchTables& tables, stream::Batch& batch, const Judged& judged);

  const AggregatorConfig& config_;
  core::LatenessPolicy policy_;
  std::uint64_t batches_ = 0;  // commit thread only (write())
  // The topic's number in aggregator_seen_ids: set by on_connect(), which
  // never overlaps write().
  std::int32_t topic_id_ = 0;
  // The ids usually COPYed straight in, as the sink does with its rows.
  pg::OptimisticCopy seen_;  // commit thread only (write())
};

}  // namespace millrace::aggregate::detail
