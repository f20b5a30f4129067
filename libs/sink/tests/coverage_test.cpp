#include <catch2/catch.hpp>

#include "store_partitions.hpp"

using millrace::sink::detail::Coverage;
using millrace::sink::detail::describe_span;

TEST_CASE("coverage: a time is covered by the span holding it, not by a gap or an end") {
  const std::int64_t day = 86'400'000'000;
  // Two days, a gap (a day dropped or never made), and a day before the epoch.
  const Coverage c({{2 * day, 3 * day}, {0, day}, {day, 2 * day}, {-day, 0}, {5 * day, 6 * day}});
  CHECK(c.covers(0));
  CHECK(c.covers(day - 1));
  CHECK(c.covers(day));
  CHECK(c.covers(3 * day - 1));
  CHECK_FALSE(c.covers(3 * day));
  CHECK_FALSE(c.covers(4 * day));
  CHECK(c.covers(5 * day));
  CHECK_FALSE(c.covers(6 * day));
  CHECK(c.covers(-1));
  CHECK_FALSE(c.covers(-day - 1));
  CHECK_FALSE(Coverage().covers(0));
}

TEST_CASE("spans are described in the largest whole unit") {
  using std::chrono::seconds;
  CHECK(describe_span(seconds(86'400)) == "1 day");
  CHECK(describe_span(seconds(30 * 86'400)) == "30 days");
  CHECK(describe_span(seconds(6 * 3'600)) == "6 h");
  CHECK(describe_span(seconds(36 * 3'600)) == "36 h");
  CHECK(describe_span(seconds(360)) == "6 min");
  CHECK(describe_span(seconds(90)) == "90 s");
}
