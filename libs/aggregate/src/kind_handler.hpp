#pragma once

// The aggregator's stream handler for a declared kind with an aggregate
// section (kinds::AggregateDecl; millrace-aggregator --kind order): in the
// batch's transaction it judges each record's time against the newest of
// its partition, folds each identity once into the hourly, daily and
// per-product totals, and keeps late and future records aside in
// late_records. The rules are the store events' (handler.hpp), by identity
// instead of event id: a resend counts once, and a late record corrects a
// past window while it is within the lateness horizon.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "batch.hpp"
#include "millrace/aggregate/config.hpp"
#include "millrace/core/window.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/stream/handler.hpp"
#include "tables.hpp"

namespace millrace::aggregate::detail {

struct KindPending {
  kinds::Record record;
  std::int32_t partition;
  std::int64_t offset;
  std::string payload;
  std::int64_t record_timestamp_ms;  // Kafka's; -1 when the broker gave none
};

struct KindRefused {
  KindPending record;
  std::string sqlstate, message;
};

struct KindAggregatorBatch final : stream::BatchState {
  std::vector<KindPending> pending;
  std::vector<KindRefused> refused;

  void discard(std::int32_t partition) override;
  std::size_t size() const override { return pending.size(); }
  stream::RecordRef record(std::size_t i) const override {
    return {pending[i].partition, pending[i].offset};
  }
  std::unique_ptr<stream::BatchState> slice(std::size_t begin, std::size_t end) const override;
};

class KindAggregatorHandler : public stream::Handler {
 public:
  // `config` (with its resolved declaration) must outlive the handler.
  explicit KindAggregatorHandler(const AggregatorConfig& config);

  void on_connect(pqxx::connection& connection) override;
  std::unique_ptr<stream::BatchState> open_batch() override {
    return std::make_unique<KindAggregatorBatch>();
  }
  void handle(const kafka::Message& msg, stream::PartitionProgress& progress,
              stream::BatchState& state) override;
  void refuse(stream::Batch& batch, stream::BatchState& state,
              const std::vector<stream::Refusal>& refused) override;
  void write(pqxx::work& tx, stream::Batch& batch, stream::BatchState& state) override;

 private:
  const AggregatorConfig& config_;
  const kinds::Declaration& d_;
  core::LatenessPolicy policy_;
  std::uint64_t batches_ = 0;  // commit thread only (write())
};

}  // namespace millrace::aggregate::detail
