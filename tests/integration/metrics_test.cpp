// Metrics of every consumer service after a run with invalid, late,
// duplicate and future events: the accounting invariant per partition from
// the metrics alone, exact agreement with the SQL accounting tables, promtool
// conventions, and one scrape through a real Prometheus server.
#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <pqxx/pqxx>
#include <thread>

#include "aggregates.hpp"
#include "scrape.hpp"

using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // partition, outcome, reason

// Per partition: consumed, and outcomes by (outcome, reason), summed over the
// members of one group.
struct Accounting {
  std::map<std::string, double> consumed;
  std::map<Key, double> outcomes;
};

Accounting from_metrics(const std::vector<std::vector<Series>>& scrapes, const std::string& topic) {
  Accounting a;
  for (const auto& series : scrapes) {
    for (const auto& s : series) {
      if (s.labels.count("topic") == 0 || s.labels.at("topic") != topic) continue;
      if (s.name == "millrace_records_consumed_total")
        a.consumed[s.labels.at("partition")] += s.value;
      if (s.name == "millrace_records_outcome_total") {
        a.outcomes[{s.labels.at("partition"), s.labels.at("outcome"), s.labels.at("reason")}] +=
            s.value;
      }
    }
  }
  return a;
}

Accounting from_sql(const std::string& pg, const std::string& schema, const std::string& group) {
  pqxx::connection c(pg);
  pqxx::work tx(c);
  const auto s = tx.quote_name(schema);
  Accounting a;
  for (const auto& r : tx.exec_params(
           "SELECT partition, records_consumed FROM " + s + ".consumer_offsets WHERE group_id = $1",
           group)) {
    a.consumed[r[0].c_str()] = r[1].as<double>();
  }
  for (const auto& r : tx.exec_params("SELECT partition, outcome, reason, records FROM " + s +
                                          ".record_outcomes WHERE group_id = $1",
                                      group)) {
    a.outcomes[{r[0].c_str(), r[1].c_str(), r[2].c_str()}] = r[3].as<double>();
  }
  return a;
}

void check_invariant(const Accounting& a) {
  for (const auto& [partition, consumed] : a.consumed) {
    double outcomes = 0;
    for (const auto& [key, n] : a.outcomes) {
      if (std::get<0>(key) == partition) outcomes += n;
    }
    INFO("partition " << partition);
    CHECK(consumed == outcomes);
  }
}

}  // namespace

TEST_CASE("metrics account for every record and agree with SQL", "[metrics]") {
  Pipeline p("it_metrics");
  AggregateScenario scenario(p, 30'000, 77);
  auto sink_a = p.start_sink("sink-a");
  auto sink_b = p.start_sink("sink-b");
  auto agg = p.start("millrace-aggregator", "agg", scenario.aggregator_env());
  scenario.produce();
  REQUIRE(scenario.wait_caught_up(seconds(300)));
  const auto until = std::chrono::steady_clock::now() + seconds(300);
  while (p.stored_total() < scenario.end_total() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(250));
  }
  REQUIRE(p.stored_total() == scenario.end_total());

  // Caught up: every member reports lag for its partitions, and it is 0
  // (end offsets refresh every second).
  const auto settled = [&] {
    double lag = 0;
    std::size_t series = 0;
    for (auto* child : {&sink_a, &sink_b, &agg}) {
      for (const auto& s : parse_exposition(http_get(child->metrics_port, "/metrics"))) {
        if (s.name != "millrace_consumer_lag_records") continue;
        ++series;
        lag += s.value;
      }
    }
    return series == 8 && lag == 0;  // 4 partitions per group
  };
  const auto lag_deadline = std::chrono::steady_clock::now() + seconds(30);
  while (!settled() && std::chrono::steady_clock::now() < lag_deadline) {
    std::this_thread::sleep_for(milliseconds(200));
  }
  CHECK(settled());

  std::vector<std::vector<Series>> sink_scrapes;
  for (auto* child : {&sink_a, &sink_b, &agg}) {
    const std::string text = http_get(child->metrics_port, "/metrics");
    INFO("scrape of port " << child->metrics_port);
    CHECK(promtool_check(text).empty());
    CHECK(text.find("millrace_build_info{") != std::string::npos);
    CHECK(text.find("process_resident_memory_bytes") != std::string::npos);
    CHECK(text.find("millrace_batch_commit_duration_seconds_bucket") != std::string::npos);
    if (child != &agg) sink_scrapes.push_back(parse_exposition(text));
  }
  const auto agg_scrape = parse_exposition(http_get(agg.metrics_port, "/metrics"));

  // The sink group: the metrics of both members add up to the SQL totals.
  const auto sink_metrics = from_metrics(sink_scrapes, p.topic);
  check_invariant(sink_metrics);
  const auto sink_sql = from_sql(p.env.pg, p.schema, p.group);
  CHECK(sink_metrics.consumed == sink_sql.consumed);
  CHECK(sink_metrics.outcomes == sink_sql.outcomes);
  // The scenario repeats ids, so some sink batches meet an id already stored
  // and take the staging path: what they count as persisted is what landed.
  double sink_persisted = 0, sink_duplicates = 0;
  for (const auto& [key, n] : sink_sql.outcomes) {
    if (std::get<1>(key) == "persisted") sink_persisted += n;
    if (std::get<1>(key) == "duplicate") sink_duplicates += n;
  }
  CHECK(sink_duplicates > 0);
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    CHECK(tx.exec1("SELECT count(*) FROM " + tx.quote_name(p.schema) + ".store_events")[0]
              .as<double>() == sink_persisted);
  }
  CHECK(sum_of(sink_scrapes[0], "millrace_records_outcome_total", {{"outcome", "rejected"}}) +
            sum_of(sink_scrapes[1], "millrace_records_outcome_total", {{"outcome", "rejected"}}) ==
        static_cast<double>(scenario.invalid));

  // The aggregator group, with late, future and duplicate outcomes.
  const auto agg_metrics = from_metrics({agg_scrape}, p.topic);
  check_invariant(agg_metrics);
  const auto agg_sql = from_sql(p.env.pg, p.schema, scenario.group);
  CHECK(agg_metrics.consumed == agg_sql.consumed);
  CHECK(agg_metrics.outcomes == agg_sql.outcomes);
  CHECK(sum_of(agg_scrape, "millrace_records_outcome_total", {{"outcome", "late"}}) ==
        static_cast<double>(scenario.late_outcomes()));
  CHECK(sum_of(agg_scrape, "millrace_records_outcome_total", {{"outcome", "duplicate"}}) ==
        static_cast<double>(scenario.duplicate_outcomes()));

  // Through a real Prometheus server, when the stack runs one.
  if (!p.env.prometheus_url.empty()) {
    const std::string targets = std::string(std::getenv("MILLRACE_STATE_DIR")) +
                                "/prometheus/targets/millrace-sink-" + p.topic + ".json";
    {
      std::ofstream out(targets);
      out << R"([{"targets": ["127.0.0.1:)" << sink_a.metrics_port << R"(", "127.0.0.1:)"
          << sink_b.metrics_port << R"("], "labels": {"test": ")" << p.topic << R"("}}])";
    }
    const int port = std::stoi(p.env.prometheus_url.substr(p.env.prometheus_url.rfind(':') + 1));
    const std::string query =
        "/api/v1/query?query=sum(millrace_records_consumed_total%7Btopic%3D%22" + p.topic +
        "%22%7D)";
    std::string answer;
    const auto deadline = std::chrono::steady_clock::now() + seconds(60);
    const std::string expected = std::to_string(static_cast<long long>(scenario.end_total()));
    while (std::chrono::steady_clock::now() < deadline) {
      answer = http_get(port, query);
      if (answer.find("\"" + expected + "\"") != std::string::npos) break;
      std::this_thread::sleep_for(milliseconds(500));
    }
    INFO("Prometheus answered " << answer);
    CHECK(answer.find("\"" + expected + "\"") != std::string::npos);
    std::remove(targets.c_str());
  }

  CHECK(stop_cleanly({&sink_a, &sink_b, &agg}));
}
