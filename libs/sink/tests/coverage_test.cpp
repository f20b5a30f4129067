#include <catch2/catch.hpp>
#include <set>

#include "store_partitions.hpp"

using millrace::sink::detail::Coverage;
using millrace::sink::detail::describe_span;
using millrace::sink::detail::ensure_back;
using millrace::sink::detail::missing_minutes;
using millrace::sink::detail::StoreRules;

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

TEST_CASE("a round makes partitions from a day back, never past the retention") {
  using std::chrono::seconds;
  StoreRules rules;
  CHECK(ensure_back(rules) == seconds(86'400));
  rules.retention = seconds(90 * 86'400);
  CHECK(ensure_back(rules) == seconds(86'400));
  rules.retention = seconds(600);
  CHECK(ensure_back(rules) == seconds(600));
  // Every table is kept alike: a kind's table by its own retention.
  rules.table = "orders";
  rules.retention = seconds(2 * 3'600);
  CHECK(ensure_back(rules) == seconds(2 * 3'600));
}

TEST_CASE("one partition is asked for per minute that holds a record and no partition") {
  const std::int64_t minute = 60'000'000;
  const std::int64_t day = 1'440 * minute;
  const Coverage c({{0, day}});
  CHECK(missing_minutes(c, {}).empty());
  CHECK(missing_minutes(c, {5, day - 1, 3 * minute}).empty());
  // Three records in two minutes past the partition, one before the epoch.
  const auto m = missing_minutes(c, {day, day + 59'999'999, day + minute + 7, -1});
  CHECK(m == std::set<std::int64_t>{-minute, day, day + minute});
  CHECK(missing_minutes(Coverage(), {2 * day + 30 * minute + 5}) ==
        std::set<std::int64_t>{2 * day + 30 * minute});
}
