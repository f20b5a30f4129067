#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "millrace/core/event.hpp"
#include "millrace/core/filter.hpp"
#include "millrace/core/validation.hpp"

namespace millrace::sink {

// What the sink decides for one message: pure, no I/O.
struct Kept {
  core::StoreEvent event;
};
struct Filtered {
  core::FilterReason reason;
};
struct Rejected {
  core::Rejection rejection;
};
using Decision = std::variant<Kept, Filtered, Rejected>;

Decision classify(std::string_view payload, std::optional<std::string_view> event_type_header,
                  const core::FilterConfig& filter);

// A kept event with its Kafka coordinates, ready to be written.
struct Row {
  core::StoreEvent event;
  std::int32_t partition;
  std::int64_t offset;
};

// Per-partition progress inside one batch: the offset range it covers and
// what became of each record in it.
struct PartitionProgress {
  std::int64_t first_offset = 0;
  std::int64_t next_offset = 0;  // last consumed + 1: what gets stored
  std::uint64_t consumed = 0;
  std::uint64_t kept = 0;
  std::array<std::uint64_t, 2> filtered{};                      // by core::FilterReason
  std::array<std::uint64_t, core::kRejectReasonCount> rejected{};  // by core::RejectReason
  std::int64_t max_timestamp_ms = -1;                          // newest Kafka timestamp seen
};

// Records consumed since the last commit. Offsets of one partition must only
// grow (gaps are fine: compaction and transaction markers leave them); a
// record at or below the last one seen means the consumer was repositioned
// without the batch being reset, which is a bug, so it throws logic_error.
class Batch {
 public:
  void add(std::int32_t partition, std::int64_t offset, std::int64_t timestamp_ms,
           Decision decision);

  bool empty() const { return partitions_.empty(); }
  std::uint64_t consumed() const { return consumed_; }
  const std::vector<Row>& rows() const { return rows_; }
  const std::map<std::int32_t, PartitionProgress>& partitions() const { return partitions_; }

  // Forgets one partition's records (its assignment was revoked before they
  // were committed; the next owner will consume them again).
  void drop_partition(std::int32_t partition);
  void clear();

 private:
  std::vector<Row> rows_;
  std::map<std::int32_t, PartitionProgress> partitions_;
  std::uint64_t consumed_ = 0;
};

// One partition's offset transition for a commit: stored value expected in
// PostgreSQL (nullopt: none stored yet) and the value to store.
struct OffsetTransition {
  std::int32_t partition;
  std::optional<std::int64_t> expected;
  std::int64_t next;
};

// The sink's view of what PostgreSQL holds for its assigned partitions.
// A commit moves an offset only from the value this worker last saw; if
// another member moved it meanwhile, the commit is refused (fencing), which is
// what keeps a paused "zombie" worker from writing after losing a partition.
class OffsetBook {
 public:
  void assign(std::int32_t partition, std::optional<std::int64_t> stored);
  void revoke(std::int32_t partition);
  bool owns(std::int32_t partition) const { return stored_.contains(partition); }
  std::optional<std::int64_t> stored(std::int32_t partition) const;
  std::vector<std::int32_t> partitions() const;

  // Transitions for every partition in the batch. Throws logic_error if the
  // batch holds a partition this book does not own or if a batch range does
  // not start at or after the stored offset.
  std::vector<OffsetTransition> plan(const Batch& batch) const;
  // Records a committed plan.
  void committed(const std::vector<OffsetTransition>& plan);

 private:
  std::map<std::int32_t, std::optional<std::int64_t>> stored_;
};

}  // namespace millrace::sink
