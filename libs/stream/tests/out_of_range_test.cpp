// The judgement of a stored offset the broker reported out of range, against
// the partition's log [low, high] (docs/architecture.md, "Offsets and gaps").
#include "out_of_range.hpp"

#include <catch2/catch.hpp>
#include <optional>

using millrace::stream::detail::judge_out_of_range;
using millrace::stream::detail::OutOfRange;

TEST_CASE("a stored offset inside the log, at either end, is read on from", "[out-of-range]") {
  for (const bool skip : {false, true}) {
    CHECK(judge_out_of_range(500, 500, 1000, skip) == OutOfRange::kInLog);
    CHECK(judge_out_of_range(700, 500, 1000, skip) == OutOfRange::kInLog);
    // The log end is the next offset to be written: a position, not a gap.
    CHECK(judge_out_of_range(1000, 500, 1000, skip) == OutOfRange::kInLog);
  }
}

TEST_CASE("no stored offset is read on from the log start", "[out-of-range]") {
  CHECK(judge_out_of_range(std::nullopt, 500, 1000, false) == OutOfRange::kInLog);
  CHECK(judge_out_of_range(std::nullopt, 500, 1000, true) == OutOfRange::kInLog);
}

TEST_CASE("a stored offset past the log end halts, whatever the gap policy", "[out-of-range]") {
  CHECK(judge_out_of_range(1001, 500, 1000, false) == OutOfRange::kAhead);
  CHECK(judge_out_of_range(5000, 0, 1000, true) == OutOfRange::kAhead);
}

TEST_CASE("a stored offset below the log start halts, or is skipped by choice", "[out-of-range]") {
  CHECK(judge_out_of_range(499, 500, 1000, false) == OutOfRange::kGap);
  CHECK(judge_out_of_range(0, 500, 1000, false) == OutOfRange::kGap);
  CHECK(judge_out_of_range(499, 500, 1000, true) == OutOfRange::kSkipGap);
  CHECK(judge_out_of_range(0, 500, 1000, true) == OutOfRange::kSkipGap);
}
