#pragma once

// The aggregator's oracle: a shuffled multi-day NDJSON stream with
// duplicates, late, future and invalid events, the per-partition decisions
// the aggregator must make for it, and a check of every view against plain
// SQL over the events that should count.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "millrace/core/event.hpp"
#include "pipeline.hpp"

namespace millrace::testing {

class AggregateScenario {
 public:
  // Builds `count` events spread over four days and writes them to a file.
  // `max_lateness_s` is the aggregator's MILLRACE_MAX_LATENESS_S, which the
  // oracle applies too (default: the aggregator's own default, 7 days).
  AggregateScenario(Pipeline& pipeline, std::int64_t count, std::uint64_t seed,
                    std::int64_t max_lateness_s = 7 * 86400);

  std::string group;  // the aggregator's consumer group
  std::map<std::string, std::string> aggregator_env() const;

  // Asserts that the dedup table was pruned (it holds fewer ids than were
  // counted) and never too early: every counted id still inside the horizon
  // of every partition, whose duplicate would still count, is held.
  void verify_seen_ids_pruned();

  // Runs `millrace produce --file` (REQUIREs success).
  void produce();
  // Sum of the aggregator group's stored offsets, and the produced total.
  std::int64_t stored_total();
  std::int64_t end_total() const { return static_cast<std::int64_t>(lines_.size()); }
  bool wait_caught_up(std::chrono::seconds timeout);

  // Asserts every view row by row against SQL over the oracle's events, and
  // the accounting totals.
  void verify();

  std::uint64_t counted = 0, duplicates = 0, late = 0, future = 0, invalid = 0;

 private:
  Pipeline& p_;
  std::int64_t max_lateness_us_;
  std::string path_;
  std::vector<std::string> lines_;
  std::vector<core::StoreEvent> counted_events_;
  std::set<std::string> late_ids_;
};

}  // namespace millrace::testing
