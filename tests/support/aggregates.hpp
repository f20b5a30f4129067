#pragma once

// The aggregator's oracle: a shuffled multi-day NDJSON stream with
// duplicates, late, future and invalid events, the per-partition decisions
// the aggregator must make for it, and a check of every view against plain
// SQL over the events that should count.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "millrace/reference/store_event.hpp"
#include "pipeline.hpp"

namespace millrace::testing {

class AggregateScenario {
 public:
  enum class Order {
    kShuffled,      // the four days in random order: many events arrive late
    kNearlyInTime,  // in event-time order but for a two-hour jitter
  };

  // Builds `count` events spread over four days and writes them to a file.
  // `max_lateness_s` is the aggregator's MILLRACE_MAX_LATENESS_S, which the
  // oracle applies too (default: the aggregator's own default, 7 days).
  AggregateScenario(Pipeline& pipeline, std::int64_t count, std::uint64_t seed,
                    std::int64_t max_lateness_s = 7 * 86400, Order order = Order::kShuffled);

  std::string group;  // the aggregator's consumer group
  std::map<std::string, std::string> aggregator_env() const;

  // Asserts that the dedup table was pruned and never too early: every
  // counted id still inside the horizon of every partition, whose duplicate
  // would still count, is held. After produce_recent(), also that every id
  // the pruning was due to remove by then is gone.
  void verify_seen_ids_pruned();

  // Runs `millrace produce --file` (REQUIREs success).
  void produce();
  // Once the aggregator has caught up with produce(): `count` more events
  // from the hour before now, in order, produced the same way. With
  // MILLRACE_BATCH_SIZE=200 and 10,000 or more of them the aggregator runs
  // at least 50 batches, so it prunes (every 50 batches) at least once after
  // it has seen every earlier event.
  void produce_recent(std::int64_t count);
  // Sum of the aggregator group's stored offsets, and the produced total.
  std::int64_t stored_total();
  std::int64_t end_total() const { return static_cast<std::int64_t>(lines_.size()); }
  bool wait_caught_up(std::chrono::seconds timeout);

  // Asserts every view row by row against SQL over the oracle's events, and
  // the accounting totals.
  // Returns what the accounting found wrong, as Pipeline::verify() does
  // (each also fails a CHECK): events counted fewer or more times than the
  // oracle says, and records without an outcome.
  Verdict verify();

  std::uint64_t counted = 0, duplicates = 0, late = 0, future = 0, invalid = 0;
  // What the aggregator counts as outcomes `late` and `duplicate`: a late
  // event whose id is late a second time is a duplicate, so late_events and
  // the late outcome agree one for one.
  std::uint64_t late_outcomes() const { return late_ids_.size() + future; }
  std::uint64_t duplicate_outcomes() const { return duplicates + (late - late_ids_.size()); }

 private:
  // Applies the aggregator's rules to one line, in production order.
  void fold(const std::string& line);
  // Writes lines_[from, to) to `path` and produces them with the CLI.
  void produce_file(const std::string& path, std::size_t from, std::size_t to);

  Pipeline& p_;
  std::int64_t now_us_;
  std::int64_t max_lateness_us_;
  std::uint64_t seed_;
  std::string path_;
  std::vector<std::string> lines_;  // every line, in production order
  std::size_t first_lines_ = 0;     // how many produce() sends
  // The oracle's state: newest on-time event time per partition, ids folded.
  std::map<std::int32_t, std::optional<std::int64_t>> max_ts_;
  std::set<std::string> seen_;
  std::vector<core::StoreEvent> counted_events_;
  std::set<std::string> late_ids_;
  // Set by produce_recent(): ids with an earlier event time were due to be
  // pruned by the end (min over partitions of the newest event time, less
  // the horizon and the hour ts is rounded down by).
  std::optional<std::int64_t> due_before_us_;
};

}  // namespace millrace::testing
