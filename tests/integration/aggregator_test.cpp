// The aggregator against real Kafka and PostgreSQL: 200,000 events over four
// days, shuffled, with duplicates, late, future and invalid ones, folded by
// two aggregators at once; every view must equal plain SQL over the events
// that count.
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>

#include "aggregates.hpp"

using namespace millrace::testing;
using std::chrono::seconds;

TEST_CASE("views equal SQL recomputed from the raw events", "[aggregates]") {
  Pipeline p("it_agg");
  AggregateScenario scenario(p, 200'000, 2026);
  auto a = p.start("millrace-aggregator", "agg-a", scenario.aggregator_env());
  auto b = p.start("millrace-aggregator", "agg-b", scenario.aggregator_env());
  scenario.produce();
  const auto produced = std::chrono::steady_clock::now();
  REQUIRE(scenario.wait_caught_up(seconds(600)));
  const double converge =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - produced).count();
  CHECK(a.running());
  CHECK(b.running());
  scenario.verify();
  std::fprintf(stderr,
               "aggregates run: events=%lld counted=%llu duplicates=%llu late=%llu future=%llu "
               "invalid=%llu converged %.2f s after the last event was acknowledged\n",
               static_cast<long long>(scenario.end_total()),
               static_cast<unsigned long long>(scenario.counted),
               static_cast<unsigned long long>(scenario.duplicates),
               static_cast<unsigned long long>(scenario.late),
               static_cast<unsigned long long>(scenario.future),
               static_cast<unsigned long long>(scenario.invalid), converge);
  CHECK(stop_cleanly({&a, &b}));
}

TEST_CASE("the dedup table is pruned beyond the horizon, and duplicates still fold once",
          "[aggregates-prune]") {
  Pipeline p("it_agg_prune");
  // A one-day horizon over four days of events in (nearly) time order, so
  // that most ids fall out of it as the stream goes on, and batches of 200
  // records: the aggregator prunes every 50 batches. 10,000 recent events
  // after the catch-up make it prune again once it has seen everything
  // else, so every id older than a day and an hour before the newest is due
  // to be gone by the end.
  AggregateScenario scenario(p, 30'000, 7, 86'400, AggregateScenario::Order::kNearlyInTime);
  auto env = scenario.aggregator_env();
  env["MILLRACE_BATCH_SIZE"] = "200";
  auto a = p.start("millrace-aggregator", "agg", env);
  scenario.produce();
  REQUIRE(scenario.wait_caught_up(seconds(300)));
  scenario.produce_recent(10'000);
  REQUIRE(scenario.wait_caught_up(seconds(300)));
  CHECK(a.running());
  scenario.verify();
  scenario.verify_seen_ids_pruned();
  CHECK(stop_cleanly({&a}));
}
