#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "millrace/core/outcome.hpp"

namespace millrace::stream {

// An outcome and its reason. Reasons are static strings, and a public
// interface like the outcome codes: both are summed into record_outcomes and
// shown in metrics.
using OutcomeKey = std::pair<core::Outcome, std::string_view>;

// What became of the records of one partition inside one batch.
class Tally {
 public:
  void count(core::Outcome outcome, std::string_view reason, std::uint64_t n = 1) {
    if (n != 0) counts_[{outcome, reason}] += n;
  }
  // Re-labels n records already counted (e.g. persisted ones the database
  // found to be duplicates). Throws logic_error if fewer were counted.
  void move(OutcomeKey from, OutcomeKey to, std::uint64_t n);
  std::uint64_t total() const;
  std::uint64_t of(core::Outcome outcome) const;
  const std::map<OutcomeKey, std::uint64_t>& counts() const { return counts_; }

 private:
  std::map<OutcomeKey, std::uint64_t> counts_;
};

// Per-partition progress inside one batch: the offset range it covers and
// what became of each record in it.
struct PartitionProgress {
  std::int64_t first_offset = 0;
  std::int64_t next_offset = 0;  // last consumed + 1: what gets stored
  // Where this batch's reading of the partition began: the stored offset,
  // or where the batch committing before it ends. Below first_offset when
  // the log holds no record there (transaction markers, compaction).
  std::int64_t read_from = 0;
  std::uint64_t consumed = 0;
  std::int64_t max_timestamp_ms = -1;  // newest Kafka timestamp seen
  Tally tally;
};

// Records consumed since the last commit. Offsets of one partition must only
// grow (gaps are fine: compaction and transaction markers leave them); a
// record at or below the last one seen means the consumer was repositioned
// without the batch being reset, which is a bug, so it throws logic_error.
class Batch {
 public:
  // Registers one consumed record and returns its partition's progress, whose
  // tally the caller fills with the record's outcome.
  PartitionProgress& add(std::int32_t partition, std::int64_t offset, std::int64_t timestamp_ms);

  bool empty() const { return partitions_.empty(); }
  std::uint64_t consumed() const { return consumed_; }
  const std::map<std::int32_t, PartitionProgress>& partitions() const { return partitions_; }
  PartitionProgress& at(std::int32_t partition) { return partitions_.at(partition); }
  // The next offset this batch expects on a partition (nullopt: none seen).
  std::optional<std::int64_t> next_offset(std::int32_t partition) const;

  void drop_partition(std::int32_t partition);
  void clear();

  // How far each partition the consumer owned at the seal was read, for a
  // handler that asks (stream::WatchesReads): every record of it below
  // this offset is in this batch or in one committed before it. It is the
  // consumer's position, which steps over transaction markers and aborted
  // records, so an idle partition's reaches its end. Empty otherwise.
  const std::map<std::int32_t, std::int64_t>& read_to() const { return read_to_; }
  void set_read_to(std::map<std::int32_t, std::int64_t> read_to) { read_to_ = std::move(read_to); }

 private:
  std::map<std::int32_t, PartitionProgress> partitions_;
  std::uint64_t consumed_ = 0;
  std::map<std::int32_t, std::int64_t> read_to_;
};

// One partition's offset transition for a commit: stored value expected in
// PostgreSQL (nullopt: none stored yet) and the value to store.
struct OffsetTransition {
  std::int32_t partition;
  std::optional<std::int64_t> expected;
  std::int64_t next;
  bool operator==(const OffsetTransition&) const = default;
};

// A worker's view of what PostgreSQL holds for its assigned partitions.
// A commit moves an offset only from the value this worker last saw; if
// another member moved it meanwhile, the commit is refused (fencing), which is
// what keeps a paused "zombie" worker from writing after losing a partition.
//
// At most one plan is in flight (being committed) at a time. The next batch's
// plan must expect the offsets the in-flight one stores, so it can only be
// made once that one's outcome is known; and ownership changes wait for it,
// or a revoked partition's commit could land after the revocation.
class OffsetBook {
 public:
  // assign() and revoke() throw logic_error while a plan is in flight.
  void assign(std::int32_t partition, std::optional<std::int64_t> stored);
  void revoke(std::int32_t partition);
  bool owns(std::int32_t partition) const { return stored_.contains(partition); }
  std::optional<std::int64_t> stored(std::int32_t partition) const;
  std::vector<std::int32_t> partitions() const;

  // Transitions for every partition in the batch. Throws logic_error if a
  // plan is in flight, if the batch holds a partition this book does not own
  // or if a batch range does not start at or after the stored offset.
  std::vector<OffsetTransition> plan(const Batch& batch) const;

  // The plan is being committed. Throws logic_error if one already is.
  void begin_commit(std::vector<OffsetTransition> plan);
  bool committing() const { return in_flight_.has_value(); }
  // The plan in flight committed: its offsets are the stored ones now.
  // Returns it. Throws logic_error if none is in flight.
  std::vector<OffsetTransition> committed();
  // The plan in flight did not commit, or its outcome is unknown: the stored
  // offsets stay what this book saw (the caller re-reads them).
  void abandon() { in_flight_.reset(); }

  // The lowest offset a new record of the partition may have: where the
  // plan in flight ends, else the stored offset (nullopt: anything goes).
  std::optional<std::int64_t> resume_offset(std::int32_t partition) const;

 private:
  std::map<std::int32_t, std::optional<std::int64_t>> stored_;
  std::optional<std::vector<OffsetTransition>> in_flight_;
};

}  // namespace millrace::stream
