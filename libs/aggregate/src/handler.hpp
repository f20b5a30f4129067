#pragma once

// The aggregator's stream handler, one for every kind: parses each record
// (invalid ones are only counted: the sink dead-letters them), and in the
// batch's transaction judges lateness, folds each identity once into the
// aggregates, keeps late ones aside and records refused ones.
//
// What differs by kind is read from its declaration, through
// KindAggregates (kind_tables.hpp):
//   codec()          the records' parse, time and identity (kinds/codec.hpp);
//   Deltas           what on-time records fold into (fold(record));
//   Tables           its tables::BatchTables, reached once per step and batch;
//   ids_reused()     whether the same identity at another time is another
//                    record (the store event's);
//   id_order(id)     the order identities are recorded in, before their text;
//   on_connect(), pg_tables(tx), deltas().
// The unit tests run write()'s steps against tables of their own
// (tests/handler_test.cpp).

#include <cstdint>
#include <memory>
#include <vector>

#include "batch.hpp"
#include "kind_tables.hpp"
#include "millrace/aggregate/config.hpp"
#include "millrace/core/window.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/stream/handler.hpp"
#include "tables.hpp"

namespace millrace::aggregate::detail {

class AggregatorHandler final : public stream::Handler {
 public:
  using Kind = KindAggregates;
  using Record = Kind::Codec::Record;
  using Batch = AggregatorBatch<Record>;
  using Tables = Kind::Tables;

  // `config` and `metrics` (the aggregator's, which the kind may register
  // on) must outlive the handler.
  AggregatorHandler(const AggregatorConfig& config, metrics::Registry& metrics);

  void on_connect(pqxx::connection& connection) override { kind_.on_connect(connection); }
  std::unique_ptr<stream::BatchState> open_batch() override {
    return std::make_unique<Batch>(pool_);
  }
  void handle(const kafka::Message& msg, stream::PartitionProgress& progress,
              stream::BatchState& state) override;
  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override;
  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override;

  // What the handler knows of its kind (the view fills read its catalog).
  const Kind& kind() const { return kind_; }

  // write()'s steps against `tables` instead of the transaction's.
  void write_to(Tables& tables, stream::Batch& batch, stream::BatchState& state);

 private:
  struct Judged {
    tables::PartitionMax max_ts;  // raised by this batch's on-time records
    std::vector<const Pending<Record>*> on_time;
    tables::Late<Record> late;
  };

  Judged judge_lateness(Tables& tables, const std::vector<Pending<Record>>& pending) const;
  Kind::Deltas fold_new(Tables& tables, stream::Batch& batch,
                        const std::vector<const Pending<Record>*>& on_time) const;
  static void keep_late(Tables& tables, stream::Batch& batch, const Judged& judged);

  const AggregatorConfig& config_;
  Kind kind_;
  core::LatenessPolicy policy_;
  std::uint64_t batches_ = 0;  // commit thread only (write())
  // Committed batches' records, parsed into again (batch.hpp).
  std::shared_ptr<RecordPool<Record>> pool_ = std::make_shared<RecordPool<Record>>();
};

}  // namespace millrace::aggregate::detail
