#pragma once

// The aggregator's batch state, for a record of any kind (kinds/codec.hpp): the
// parsed records of one batch, and the records PostgreSQL refused. Lateness
// and duplicates are decided in write(), against what PostgreSQL holds once
// the batch before has committed.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "millrace/core/outcome.hpp"
#include "millrace/stream/batch.hpp"
#include "millrace/stream/handler.hpp"

namespace millrace::aggregate {

template <typename Record>
struct Pending {
  Record record;
  std::int32_t partition;
  std::int64_t offset;
  std::string payload;               // as consumed, for refused_records should PostgreSQL refuse it
  std::int64_t record_timestamp_ms;  // Kafka's; -1 when the broker gave none
};

// A record PostgreSQL refused, to be stored in refused_records.
template <typename Record>
struct Refused {
  Pending<Record> record;
  std::string sqlstate;
  std::string message;
};

template <typename Record>
struct AggregatorBatch final : stream::BatchState {
  std::vector<Pending<Record>> pending;
  std::vector<Refused<Record>> refused;

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
};

}  // namespace millrace::aggregate
