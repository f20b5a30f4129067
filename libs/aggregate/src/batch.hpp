#pragma once

// The aggregator's batch state, for a record of any kind (kinds/codec.hpp): the
// parsed records of one batch, and the records PostgreSQL refused. Lateness
// and duplicates are decided in write(), against what PostgreSQL holds once
// the batch before has committed.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "millrace/core/outcome.hpp"
#include "millrace/stream/batch.hpp"
#include "millrace/stream/handler.hpp"

namespace millrace::aggregate {

template <typename Record>
struct Pending {
  Record record;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string payload;  // as consumed, for refused_records should PostgreSQL refuse it
  std::int64_t record_timestamp_ms = -1;  // Kafka's; -1 when the broker gave none
  // Read from the record as it is parsed, while it is in the cache: write()
  // reads them of every record, several times, on the commit thread, where
  // reaching into the record's values missed the cache each time.
  std::int64_t time = 0;                               // the codec's time()
  std::pair<std::uint64_t, std::uint64_t> id_order{};  // the kind's id_order() of its identity
};

// A record PostgreSQL refused, to be stored in refused_records.
template <typename Record>
struct Refused {
  Pending<Record> record;
  std::string sqlstate;
  std::string message;
};

// The records of committed batches, handed to the batches that follow so
// that a message is parsed into a record whose values and payload keep
// their capacity (kinds::DeclaredCodec::parse_into), instead of one
// allocated per message on the loop thread and freed with its batch on the
// commit thread (docs/benchmarks.md, issue 79). A batch gives its records
// back when it is destroyed (commit thread) and open_batch() takes them
// (loop thread).
template <typename Record>
class RecordPool {
 public:
  std::vector<Pending<Record>> take() {
    const std::lock_guard lock(mutex_);
    return std::exchange(spare_, {});
  }
  void give(std::vector<Pending<Record>>&& records) {
    if (records.empty()) return;
    const std::lock_guard lock(mutex_);
    if (spare_.empty()) {
      spare_ = std::move(records);
    } else if (spare_.size() < kMaxSpare) {
      std::move(records.begin(), records.end(), std::back_inserter(spare_));
    }
  }

 private:
  // Two batches are alive at once (one filled, one committed); more is
  // what a batch much larger than the others left behind.
  static constexpr std::size_t kMaxSpare = 1 << 17;
  std::mutex mutex_;
  std::vector<Pending<Record>> spare_;
};

template <typename Record>
struct AggregatorBatch final : stream::BatchState {
  AggregatorBatch() = default;
  explicit AggregatorBatch(std::shared_ptr<RecordPool<Record>> pool)
      : spare(pool->take()), pool_(std::move(pool)) {
    pending.reserve(spare.size());
  }
  AggregatorBatch(const AggregatorBatch&) = delete;
  AggregatorBatch& operator=(const AggregatorBatch&) = delete;
  ~AggregatorBatch() override {
    if (!pool_) return;
    pool_->give(std::move(pending));
    pool_->give(std::move(spare));
  }

  std::vector<Pending<Record>> pending;
  std::vector<Refused<Record>> refused;
  // Records of earlier batches to parse into (their values are stale).
  std::vector<Pending<Record>> spare;

  // A record to parse the next message into: a spare one, or a new one.
  Pending<Record> next_record() {
    if (spare.empty()) return {};
    Pending<Record> p = std::move(spare.back());
    spare.pop_back();
    return p;
  }

  void discard(std::int32_t partition) override {
    std::erase_if(pending, [&](const Pending<Record>& p) { return p.partition == partition; });
    std::erase_if(refused,
                  [&](const Refused<Record>& r) { return r.record.partition == partition; });
  }
  std::size_t size() const override { return pending.size(); }
  stream::RecordRef record(std::size_t i) const override {
    return {pending[i].partition, pending[i].offset};
  }
  std::unique_ptr<stream::BatchState> slice(std::size_t begin, std::size_t end) const override {
    auto out = std::make_unique<AggregatorBatch>();
    out->pending.assign(pending.begin() + static_cast<std::ptrdiff_t>(begin),
                        pending.begin() + static_cast<std::ptrdiff_t>(end));
    return out;
  }

  // Moves each refused record from `pending` to `refused` (written to
  // refused_records by the next write() in the transaction that commits its
  // offset), re-counted rejected (db_refused).
  void move_refused(stream::Batch& batch, const std::vector<stream::Refusal>& refusals) {
    for (const auto& r : refusals) {
      const auto it = std::find_if(pending.begin(), pending.end(), [&](const Pending<Record>& p) {
        return p.partition == r.record.partition && p.offset == r.record.offset;
      });
      if (it == pending.end()) continue;
      batch.at(it->partition)
          .tally.move({core::Outcome::kPersisted, ""}, {core::Outcome::kRejected, "db_refused"}, 1);
      refused.push_back({std::move(*it), r.sqlstate, r.message});
      pending.erase(it);
    }
  }

 private:
  std::shared_ptr<RecordPool<Record>> pool_;  // null for a slice
};

}  // namespace millrace::aggregate
