#pragma once

// The broker has no record where a partition was to be read: what the stored
// offset means against the partition's log. The policy is in
// docs/exactly-once.md ("Offsets and gaps"); the loop acts on it in
// out_of_range.cpp.

#include <cstdint>
#include <optional>

namespace millrace::stream::detail {

enum class OutOfRange {
  // The log holds the position after all (a leader change raced the
  // fetch): read on from it.
  kInLog,
  // Past the log end (the topic was deleted and recreated, or truncated):
  // halt the partition, since reading from the end would skip records and
  // from the start would repeat them.
  kAhead,
  // Below the log start (retention deleted records this group never read):
  // halt the partition.
  kGap,
  // The same, with on_offset_gap=skip: record the range as lost and read
  // on from the log start.
  kSkipGap,
};

// `stored`: the partition's stored offset (nullopt: none); `low` and `high`
// its log's watermarks; `skip_gaps`: StreamConfig::on_offset_gap is skip.
OutOfRange judge_out_of_range(std::optional<std::int64_t> stored, std::int64_t low,
                              std::int64_t high, bool skip_gaps);

}  // namespace millrace::stream::detail
