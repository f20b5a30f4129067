// GET /healthz and /readyz on every service's metrics port, against the test
// stack: each readiness failure named (docs/operations.md, "Health"), the
// process alive throughout, and ready once the cause is gone.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "changes.hpp"
#include "millrace/kafka/admin.hpp"
#include "pipeline.hpp"
#include "webhooks.hpp"

using namespace millrace::testing;
using std::chrono::seconds;

namespace {

// Whether `child`'s /readyz answers `status` with a body containing each of
// `words`; the last answer goes to the test's log when it never does.
bool readyz_says(const Child& child, int status, const std::vector<std::string>& words,
                 seconds timeout = seconds(60)) {
  HttpAnswer last;
  const bool ok = eventually(
      [&] {
        last = http_answer(child.metrics_port, "/readyz");
        if (last.status != status) return false;
        for (const auto& w : words) {
          if (last.body.find(w) == std::string::npos) return false;
        }
        return true;
      },
      timeout);
  INFO("last /readyz: " << last.status << " " << last.body);
  CHECK(ok);
  return ok;
}

bool alive(Child& child) {
  const auto a = http_answer(child.metrics_port, "/healthz");
  return child.running() && a.status == 200 && a.body == "{\"status\":\"alive\"}\n";
}

// A PostgreSQL URL with nothing listening behind it.
std::string dead_pg() {
  return "postgresql://millrace:millrace@127.0.0.1:" + std::to_string(free_port()) + "/millrace";
}

}  // namespace

TEST_CASE("a consumer started before its topic exists waits, says so, and consumes it once made",
          "[readiness-topic]") {
  Pipeline p("it_ready");
  const std::string later = p.topic + "_later";
  auto sink = p.start_sink("sink", {{"MILLRACE_TOPIC", later}});
  // Before: the topic named, with the command that makes it and the
  // variable that names it; alive, not exited.
  readyz_says(sink, 503,
              {R"("check":"kafka_topic")", "topic " + later + " does not exist",
               "millrace create-topics", "MILLRACE_TOPIC"});
  CHECK(alive(sink));

  millrace::kafka::create_topic(p.env.brokers, later, p.partitions, 1, seconds(30));
  p.topic = later;
  readyz_says(sink, 200, {R"({"status":"ready","problems":[]})"});
  p.produce(2'000, 4711, 0.05);
  REQUIRE(p.wait_caught_up(seconds(180)));
  p.verify();
  CHECK(stop_cleanly({&sink}));
}

TEST_CASE("a consumer that does not migrate waits for the migrations, says so, and consumes then",
          "[readiness-schema]") {
  // As on Kubernetes: the Deployment's pods start before the millrace-migrate
  // Job has run. They used to exit on the first missing table.
  Pipeline p("it_ready_schema");
  auto sink = p.start_sink("sink", {{"MILLRACE_MIGRATE", "false"}});
  readyz_says(sink, 503,
              {R"("check":"schema")", "schema " + p.schema + " has 0 of the",
               "waiting for `millrace migrate`", "millrace-migrate Job"});
  CHECK(alive(sink));

  std::string out;
  REQUIRE(run(bin("millrace"), {"migrate"},
              {{"MILLRACE_PG", p.env.pg}, {"MILLRACE_PG_SCHEMA", p.schema}}, &out) == 0);
  readyz_says(sink, 200, {R"({"status":"ready","problems":[]})"});
  p.produce(2'000, 4712, 0.05);
  REQUIRE(p.wait_caught_up(seconds(180)));
  p.verify();
  CHECK(stop_cleanly({&sink}));
}

TEST_CASE("a service whose database does not answer is alive and not ready", "[readiness-pg]") {
  Pipeline p("it_ready_pg");
  auto sink = p.start_sink("sink", {{"MILLRACE_PG", dead_pg()}});
  auto agg = p.start("millrace-aggregator", "agg",
                     {{"MILLRACE_PG", dead_pg()}, {"MILLRACE_AGGREGATOR_GROUP", p.group + "_agg"}});
  for (Child* c : {&sink, &agg}) {
    readyz_says(*c, 503, {R"("check":"postgresql")", "PostgreSQL does not answer", "MILLRACE_"});
    CHECK(alive(*c));
  }
  // Kafka and the topic are fine: only the database is named.
  CHECK(http_answer(sink.metrics_port, "/readyz").body.find("kafka") == std::string::npos);
  CHECK(stop_cleanly({&sink, &agg}));
}

TEST_CASE("a service whose brokers do not answer is alive and not ready", "[readiness-kafka]") {
  Pipeline p("it_ready_kafka");
  auto archiver = p.start("millrace-archiver", "archiver",
                          {{"MILLRACE_BROKERS", "127.0.0.1:" + std::to_string(free_port())},
                           {"MILLRACE_ARCHIVER_GROUP", p.group + "_arch"},
                           {"MILLRACE_ARCHIVE_ROOT", p.log_dir + "/" + p.topic + ".archive"}});
  readyz_says(archiver, 503, {R"("check":"kafka")", "answered within 3 s", "MILLRACE_BROKERS"});
  CHECK(alive(archiver));
  CHECK(stop_cleanly({&archiver}));
}

TEST_CASE("the cache without Redis, and the change feed and webhooks without their topic, say so",
          "[readiness-outbound]") {
  Pipeline p("it_ready_out");
  const std::string no_topic = p.topic + "_changes";
  auto cache =
      p.start("millrace-cache", "cache",
              {{"MILLRACE_CHANGES_TOPIC", p.topic},
               {"MILLRACE_REDIS_URL", "redis://127.0.0.1:" + std::to_string(free_port())}});
  readyz_says(cache, 503, {R"("check":"redis")", "does not answer", "MILLRACE_REDIS_URL"});
  CHECK(alive(cache));

  // Before this change the webhooks exited with a fatal error here, and the
  // change feed logged a failed offset commit every 30 s.
  migrate_with_table(p, "items (id int PRIMARY KEY, name text)");
  ChangeFeedRig rig(p, {"items"});
  auto hooks = start_webhooks(p, rig, "hooks", "1s", {{"MILLRACE_CHANGES_TOPIC", no_topic}});
  readyz_says(hooks, 503,
              {R"("check":"kafka_topic")", "topic " + no_topic + " does not exist",
               "millrace create-topics", "MILLRACE_CHANGES_TOPIC"});
  CHECK(alive(hooks));
  auto feed = rig.start("feed", {{"MILLRACE_CHANGES_TOPIC", no_topic}});
  readyz_says(feed, 503,
              {R"("check":"kafka_topic")", "topic " + no_topic + " does not exist",
               "millrace create-topics"});
  CHECK(alive(feed));
  // Waiting, not failing: neither logged a fatal error.
  for (const char* name : {"hooks", "feed"}) {
    INFO(name);
    CHECK(read_file(p.log_dir + "/" + p.topic + "." + name + ".log").find("stopping: ") ==
          std::string::npos);
  }
  CHECK(stop_cleanly({&cache, &hooks, &feed}));
}
