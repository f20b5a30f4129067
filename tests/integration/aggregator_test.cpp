// The aggregator against real Kafka and PostgreSQL: 200,000 events over four
// days, shuffled, with duplicates, late, future and invalid ones, folded by
// two aggregators at once; every view must equal plain SQL over the events
// that count.
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <pqxx/pqxx>

#include "aggregates.hpp"
#include "millrace/core/window.hpp"
#include "store_events.hpp"

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

namespace {

// NDJSON lines of `count` generated events around `base_ts`, one hour wide.
std::vector<std::string> event_lines(std::int64_t count, std::uint64_t seed,
                                     millrace::core::TimestampUs base_ts) {
  auto generator = store_event_generator(
      {.seed = seed, .base_ts = base_ts, .time_spread_us = millrace::core::kHourUs});
  std::vector<std::string> out;
  for (std::int64_t i = 0; i < count; ++i) out.push_back(generator.next().payload);
  return out;
}

void produce_lines(const Pipeline& p, const std::vector<std::string>& lines,
                   const std::string& path) {
  {
    std::ofstream file(path);
    for (const auto& line : lines) file << line << '\n';
  }
  std::string out;
  REQUIRE(run(bin("millrace"), {"produce", "--file", path},
              {{"MILLRACE_BROKERS", p.env.brokers}, {"MILLRACE_TOPIC", p.topic}}, &out) == 0);
}

std::int64_t group_outcome(const Pipeline& p, const std::string& group,
                           const std::string& outcome) {
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  return tx
      .exec_params1("SELECT coalesce(sum(records), 0)::bigint FROM \"" + p.schema +
                        "\".record_outcomes WHERE group_id = $1 AND outcome = $2",
                    group, outcome)[0]
      .as<std::int64_t>();
}

}  // namespace

TEST_CASE("two topics aggregated in one schema keep their own dedup state", "[aggregates-topics]") {
  using millrace::core::kDayUs;
  Pipeline recent("it_aggtop_a");
  Pipeline old("it_aggtop_b");
  old.schema = recent.schema;  // one schema, two topics
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // Topic B's events are a month old: older than topic A's prune horizon
  // (7 days), but on time on their own topic.
  const auto old_lines = event_lines(2'000, 71, now - 30 * kDayUs);
  const auto recent_lines = event_lines(20'000, 72, now);
  const std::string dir = recent.log_dir + "/" + recent.topic;
  const std::map<std::string, std::string> small = {{"MILLRACE_BATCH_SIZE", "200"},
                                                    {"MILLRACE_PG_SCHEMA", recent.schema}};
  auto env_for = [&](const std::string& group) {
    auto env = small;
    env["MILLRACE_AGGREGATOR_GROUP"] = group;
    return env;
  };
  const auto caught_up = [](Pipeline& p, const std::string& group, std::int64_t n) {
    return eventually([&] { return p.stored_total(group) == n; }, seconds(300));
  };

  produce_lines(old, old_lines, dir + ".old.ndjson");
  auto agg_old = old.start("millrace-aggregator", "agg-old", env_for(old.group + "_agg"));
  REQUIRE(caught_up(old, old.group + "_agg", 2'000));
  // Topic A runs well over 50 batches of 200: it prunes its dedup state.
  produce_lines(recent, recent_lines, dir + ".recent.ndjson");
  auto agg_recent =
      recent.start("millrace-aggregator", "agg-recent", env_for(recent.group + "_agg"));
  REQUIRE(caught_up(recent, recent.group + "_agg", 20'000));

  // Topic B's ids are still held, so its duplicates still count once.
  {
    pqxx::connection c(recent.env.pg);
    pqxx::work tx(c);
    CHECK(tx.exec_params1("SELECT count(*) FROM \"" + recent.schema +
                              "\".aggregator_seen_ids JOIN \"" + recent.schema +
                              "\".aggregator_topics USING (topic_id) WHERE topic = $1",
                          old.topic)[0]
              .as<std::int64_t>() == group_outcome(old, old.group + "_agg", "persisted"));
  }
  const std::vector<std::string> repeats(old_lines.begin(), old_lines.begin() + 300);
  const auto persisted_before = group_outcome(old, old.group + "_agg", "persisted");
  const auto duplicates_before = group_outcome(old, old.group + "_agg", "duplicate");
  produce_lines(old, repeats, dir + ".repeats.ndjson");
  REQUIRE(caught_up(old, old.group + "_agg", 2'300));
  CHECK(group_outcome(old, old.group + "_agg", "persisted") == persisted_before);
  CHECK(group_outcome(old, old.group + "_agg", "duplicate") - duplicates_before == 300);
  CHECK(stop_cleanly({&agg_old, &agg_recent}));
}

TEST_CASE("a sink and an aggregator cannot share a consumer group", "[group-guard]") {
  Pipeline p("it_guard");
  p.produce(1'000, 5, 0.0);
  auto sink = p.start_sink("sink");
  REQUIRE(p.wait_caught_up(seconds(120)));
  // The aggregator given the sink's group refuses to start, naming both.
  auto agg = p.start("millrace-aggregator", "agg", {{"MILLRACE_AGGREGATOR_GROUP", p.group}});
  const auto status = agg.wait(seconds(60));
  REQUIRE(status.has_value());
  CHECK(*status == 1);
  const auto log = read_file(p.log_dir + "/" + p.topic + ".agg.log");
  CHECK(log.find("belongs to millrace-sink") != std::string::npos);
  CHECK(log.find("MILLRACE_AGGREGATOR_GROUP") != std::string::npos);
  // The old shared variable is refused outright (a usage error).
  auto legacy = p.start("millrace-aggregator", "legacy", {{"MILLRACE_GROUP", "anything"}});
  const auto legacy_status = legacy.wait(seconds(60));
  REQUIRE(legacy_status.has_value());
  CHECK(*legacy_status == 2);
  CHECK(read_file(p.log_dir + "/" + p.topic + ".legacy.log")
            .find("MILLRACE_GROUP is no longer read") != std::string::npos);
  CHECK(stop_cleanly({&sink}));
}

namespace {

// `line` with its "ts" moved on by `by_us`: the same id, another event time.
std::string shifted(const std::string& line, millrace::core::TimestampUs by_us) {
  const std::string key = "\"ts\":\"";
  const auto at = line.find(key);
  REQUIRE(at != std::string::npos);
  const auto from = at + key.size();
  const auto to = line.find('"', from);
  const auto ts = millrace::core::parse_timestamp(line.substr(from, to - from));
  REQUIRE(ts.has_value());
  return line.substr(0, from) + millrace::core::format_timestamp(*ts + by_us) + line.substr(to);
}

// A count from `sql` in the pipeline's schema, where $1 is `arg`.
std::int64_t query_count(const Pipeline& p, const std::string& sql, const std::string& arg = "") {
  pqxx::connection c(p.env.pg);
  pqxx::work tx(c);
  tx.exec("SET LOCAL search_path TO " + tx.quote_name(p.schema));
  return (arg.empty() ? tx.exec1(sql) : tx.exec_params1(sql, arg))[0].as<std::int64_t>();
}

}  // namespace

// An event is its id and its time. A resend (same id, same ts) is a
// duplicate for the sink and the aggregator alike; an event reusing an id
// with another ts is a second event: the store keeps both rows, the views
// count both, and the aggregator's accounting names it (`id_reused`).
TEST_CASE("an id reused with another time is a second event; a resend is a duplicate",
          "[event-identity]") {
  using millrace::core::kHourUs;
  Pipeline p("it_ident");
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto originals = event_lines(1'000, 81, now - kHourUs);
  std::vector<std::string> second;
  for (int i = 0; i < 100; ++i) second.push_back(originals[i]);                        // resends
  for (int i = 100; i < 200; ++i) second.push_back(shifted(originals[i], 1'000'000));  // reused
  for (int i = 100; i < 150; ++i)
    second.push_back(shifted(originals[i], 1'000'000));  // their resends
  for (int i = 200; i < 210; ++i) {
    // A reuse and its resend in one batch, after the original.
    second.push_back(shifted(originals[i], 2'000'000));
    second.push_back(shifted(originals[i], 2'000'000));
  }
  const std::string dir = p.log_dir + "/" + p.topic;
  const std::string agg_group = p.group + "_agg";
  auto sink = p.start_sink("sink");
  auto agg = p.start("millrace-aggregator", "agg", {{"MILLRACE_AGGREGATOR_GROUP", agg_group}});
  produce_lines(p, originals, dir + ".originals.ndjson");
  REQUIRE(eventually([&] { return p.stored_total(agg_group) == 1'000; }, seconds(300)));
  REQUIRE(eventually([&] { return p.stored_total() == 1'000; }, seconds(300)));
  const auto kept_before =
      query_count(p, "SELECT count(*) FROM store_events WHERE kafka_topic = $1", p.topic);
  produce_lines(p, second, dir + ".second.ndjson");
  REQUIRE(eventually([&] { return p.stored_total(agg_group) == 1'270; }, seconds(300)));
  REQUIRE(eventually([&] { return p.stored_total() == 1'270; }, seconds(300)));

  // The aggregator: 1,110 events counted, 110 of them under a reused id;
  // 160 resends.
  CHECK(group_outcome(p, agg_group, "persisted") == 1'110);
  CHECK(group_outcome(p, agg_group, "duplicate") == 160);
  CHECK(query_count(p,
                    "SELECT coalesce(sum(records), 0)::bigint FROM record_outcomes "
                    "WHERE group_id = $1 AND outcome = 'persisted' AND reason = 'id_reused'",
                    agg_group) == 110);
  CHECK(query_count(p, "SELECT coalesce(sum(events), 0)::bigint FROM agg_hourly") == 1'110);
  // The store: every kept reuse is a second row of its id; every kept
  // resend a duplicate. Which events the sink keeps is its filter's call,
  // and a reuse is kept exactly when its original was.
  const auto kept_reused =
      query_count(p,
                  "SELECT count(*) FROM (SELECT id FROM store_events WHERE kafka_topic = $1 "
                  "GROUP BY id HAVING count(*) = 2) x",
                  p.topic);
  const auto kept_after =
      query_count(p, "SELECT count(*) FROM store_events WHERE kafka_topic = $1", p.topic);
  CHECK(kept_reused > 0);
  CHECK(kept_after - kept_before == kept_reused);
  CHECK(query_count(p,
                    "SELECT count(*) FROM (SELECT id FROM store_events WHERE kafka_topic = $1 "
                    "GROUP BY id HAVING count(*) > 2) x",
                    p.topic) == 0);
  CHECK(group_outcome(p, p.group, "persisted") == kept_after);
  for (const auto& group : {p.group, agg_group}) {
    CHECK(query_count(p,
                      "SELECT coalesce(sum(unaccounted), 0)::bigint FROM partition_accounting "
                      "WHERE group_id = $1",
                      group) == 0);
  }
  CHECK(stop_cleanly({&sink, &agg}));
}
