// The rest of the fault matrix (docs/exactly-once.md): kills at COMMIT, the
// real broker killed, PostgreSQL stopped without a checkpoint, duplicate
// sends, and group-protocol errors. Each ends in the exactly-once oracle.
#include <catch2/catch.hpp>
#include <csignal>
#include <ctime>
#include <fstream>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "fault_report.hpp"
#include "mock_cluster.hpp"
#include "pipeline.hpp"

using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::map<std::string, std::string> kSmallBatches = {{"MILLRACE_BATCH_SIZE", "500"}};

void verify_and_record(Pipeline& p, const std::string& fault, const Stopwatch& recovery,
                       std::chrono::seconds timeout = seconds(300)) {
  REQUIRE(p.wait_caught_up(timeout));
  const double recovery_s = recovery.seconds();
  const auto v = p.verify();
  record_fault({fault, v.produced, v.lost, v.duplicated, v.unaccounted, recovery_s});
}

// Sends `count` events at a steady rate on a thread; join() REQUIREs success.
class SteadyProducer {
 public:
  SteadyProducer(const Pipeline& p, std::int64_t count, std::uint64_t seed, double rate)
      : thread_([this, &p, count, seed, rate] {
          rc_ = p.run_producer(count, seed, 0.05, rate, &summary_);
        }) {}
  ~SteadyProducer() {
    if (thread_.joinable()) thread_.join();
  }
  void join() {
    thread_.join();
    INFO("millrace produce printed: " << summary_);
    REQUIRE(rc_ == 0);
  }

 private:
  int rc_ = -1;
  std::string summary_;
  std::thread thread_;
};

}  // namespace

TEST_CASE(
    "sinks SIGKILLed while their COMMIT is in flight, and at random points, lose and "
    "duplicate nothing",
    "[sigkill-commit]") {
  Pipeline p("ft_killcommit");
  p.produce(80'000, 3131, 0.05);
  std::vector<Child> sinks;
  sinks.push_back(p.start_sink("sink-0", kSmallBatches));
  REQUIRE(eventually([&] { return p.claimed_partitions() == 4; }, seconds(60)));
  // COMMIT takes 300 ms: a deferred trigger on the offsets sleeps in it.
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    const std::string s = tx.quote_name(p.schema);
    tx.exec("CREATE FUNCTION " + s +
            ".slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$");
    tx.exec("CREATE CONSTRAINT TRIGGER slow_commit AFTER UPDATE ON " + s +
            ".consumer_offsets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION " + s +
            ".slow_commit()");
    tx.commit();
  }
  int at_commit = 0;
  {
    pqxx::connection c(p.env.pg);
    const auto deadline = std::chrono::steady_clock::now() + seconds(120);
    int n = 1;
    while (at_commit < 3 && std::chrono::steady_clock::now() < deadline) {
      pqxx::nontransaction tx(c);
      const auto r = tx.exec(
          "SELECT client_port FROM pg_stat_activity WHERE application_name = "
          "'sink' AND state = 'active' AND query = 'COMMIT'");
      if (r.empty()) continue;
      const int pid = pid_of_client_port(r[0][0].as<int>());
      for (auto& sink : sinks) {
        if (sink.pid() != pid || !sink.running()) continue;
        sink.signal(SIGKILL);
        CHECK(sink.wait(seconds(10)) == 128 + SIGKILL);
        ++at_commit;
        sinks.push_back(p.start_sink("sink-" + std::to_string(n++), kSmallBatches));
        break;
      }
    }
  }
  CHECK(at_commit == 3);  // each kill landed while the COMMIT ran
  {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("DROP TRIGGER slow_commit ON " + tx.quote_name(p.schema) + ".consumer_offsets");
    tx.commit();
  }
  // And at random moments.
  std::mt19937 rng(7);
  for (int k = 0; k < 3 && p.stored_total() < p.end_total(); ++k) {
    std::this_thread::sleep_for(milliseconds(200 + rng() % 800));
    auto& victim = sinks.back();
    victim.signal(SIGKILL);
    victim.wait(seconds(10));
    sinks.push_back(p.start_sink("sink-r" + std::to_string(k), kSmallBatches));
  }
  Stopwatch recovery;
  verify_and_record(p, "sigkill-commit", recovery);
  std::vector<Child*> alive;
  for (auto& sink : sinks) {
    if (sink.running()) alive.push_back(&sink);
  }
  CHECK(stop_cleanly(alive));
}

TEST_CASE("the Kafka broker SIGKILLed mid-run and restarted: sinks ride it out",
          "[kafka-sigkill]") {
  Pipeline p("ft_kafkakill");
  p.produce(60'000, 4343, 0.05);
  auto a = p.start_sink("sink-a", kSmallBatches);
  auto b = p.start_sink("sink-b", kSmallBatches);
  REQUIRE(eventually([&] { return p.stored_total() > p.end_total() / 5; }, seconds(120)));
  REQUIRE(p.stored_total() < p.end_total());
  {
    StackGuard guard{"kafka"};
    const int pid = stack_server_pid("kafka");
    REQUIRE(pid > 0);
    REQUIRE(::kill(pid, SIGKILL) == 0);
    std::this_thread::sleep_for(seconds(5));
    CHECK(a.running());
    CHECK(b.running());
  }  // restarted here
  Stopwatch recovery;
  REQUIRE(stack_server_pid("kafka") > 0);
  // More events after the restart, through the same topic.
  p.produce(20'000, 4344, 0.05);
  verify_and_record(p, "kafka-sigkill", recovery);
  CHECK(stop_cleanly({&a, &b}));
}

TEST_CASE("PostgreSQL stopped without a checkpoint while commits are in flight", "[pg-immediate]") {
  Pipeline p("ft_pgimm");
  p.produce(80'000, 5454, 0.05);
  auto a = p.start_sink("sink-a", kSmallBatches);
  auto b = p.start_sink("sink-b", kSmallBatches);
  REQUIRE(eventually([&] { return p.stored_total() > p.end_total() / 5; }, seconds(120)));
  const std::string state = std::getenv("MILLRACE_STATE_DIR");
  std::string version;
  std::ifstream(state + "/pgdata/PG_VERSION") >> version;
  REQUIRE_FALSE(version.empty());
  const std::string pg_ctl =
      "/usr/lib/postgresql/" + version + "/bin/pg_ctl -D " + state + "/pgdata -m immediate stop";
  {
    StackGuard guard{"postgres"};
    // Wait until a sink's transaction has written (a commit under way).
    bool in_flight = false;
    {
      pqxx::connection c(p.env.pg);
      const auto deadline = std::chrono::steady_clock::now() + seconds(60);
      while (!in_flight && std::chrono::steady_clock::now() < deadline) {
        pqxx::nontransaction tx(c);
        in_flight = tx.exec1(
                          "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                          "'sink' AND backend_xid IS NOT NULL")[0]
                        .as<int>() > 0;
      }
    }
    REQUIRE(in_flight);
    std::string out;
    const int rc = run_shell("cd / && (if [ \"$(id -u)\" = 0 ]; then runuser -u postgres -- " +
                                 pg_ctl + "; else " + pg_ctl + "; fi) 2>&1",
                             &out);
    INFO(out);
    REQUIRE(rc == 0);
    std::this_thread::sleep_for(seconds(3));
    CHECK(a.running());
    CHECK(b.running());
  }  // restarted (crash recovery) here
  Stopwatch recovery;
  verify_and_record(p, "pg-immediate", recovery);
  CHECK(stop_cleanly({&a, &b}));
}

TEST_CASE("duplicate producer sends are stored once and counted as duplicates",
          "[duplicate-sends]") {
  Pipeline p("ft_dupsend");
  auto a = p.start_sink("sink-a", kSmallBatches);
  auto b = p.start_sink("sink-b", kSmallBatches);
  // The same events sent twice (a client retrying a whole upload), and a
  // third time in part: the same ids and the same event times.
  {
    const std::time_t now = std::time(nullptr);
    char at[32];
    std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    p.base_time = at;
  }
  p.produce(30'000, 6565, 0.05);
  p.produce(30'000, 6565, 0.05);
  p.produce(5'000, 6565, 0.05);
  Stopwatch recovery;
  REQUIRE(p.wait_caught_up(seconds(300)));
  const double recovery_s = recovery.seconds();
  const auto v = p.verify();
  CHECK(p.expected_duplicates() > 0);
  record_fault({"duplicate-sends", v.produced, v.lost, v.duplicated, v.unaccounted, recovery_s});
  CHECK(stop_cleanly({&a, &b}));
}

TEST_CASE("group protocol errors injected on the mock cluster", "[mock-group-errors]") {
  constexpr int16_t kApiOffsetCommit = 8;
  constexpr int16_t kApiJoinGroup = 11;
  constexpr int16_t kApiHeartbeat = 12;
  constexpr int16_t kApiSyncGroup = 14;
  // The mock coordinator's own group state changes too, in this test's
  // output: should the group again never re-form, these lines say whether
  // the coordinator stopped electing a leader (its state machine) or the
  // members stopped joining (the workers' cgrp lines).
  MockCluster mock(3, "mock");
  Pipeline p("ft_mockgroup", mock.bootstraps(), 4);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, p.topic.c_str(), 4, 3) == 0);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, p.dlq_topic.c_str(), 4, 3) == 0);
  // The mock coordinator keeps a member it answered UNKNOWN_MEMBER_ID (a real
  // broker has dropped it) until its session times out, and waits for it in
  // each rebalance: a short session keeps those waits short.
  auto env = kSmallBatches;
  env["MILLRACE_SESSION_TIMEOUT_MS"] = "3000";
  // librdkafka's group debug in the workers' logs: once in about forty runs
  // under load the group has not formed again after the injected errors,
  // and these lines are what can tell the mock coordinator's part from ours.
  env["MILLRACE_KAFKA_PROPERTIES"] = "debug=cgrp";
  auto a = p.start_sink("sink-a", env);
  auto b = p.start_sink("sink-b", env);
  REQUIRE(eventually([&] { return p.claimed_partitions() == 4; }, seconds(60)));

  constexpr std::int64_t kCount = 20'000;
  SteadyProducer producer(p, kCount, 77, 2000);
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(seconds(2));
    for (const auto api : {kApiHeartbeat, kApiOffsetCommit}) {
      rd_kafka_mock_push_request_errors(
          mock.cluster, api, 3, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
          RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID);
    }
    for (const auto api : {kApiJoinGroup, kApiSyncGroup}) {
      rd_kafka_mock_push_request_errors(mock.cluster, api, 2,
                                        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
                                        RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID);
    }
  }
  producer.join();
  CHECK(a.running());
  CHECK(b.running());
  p.expect(kCount, 77, 0.05);
  Stopwatch recovery;
  verify_and_record(p, "mock-group-errors", recovery, seconds(240));
  CHECK(stop_cleanly({&a, &b}));
}

namespace {

// The broker leading `partition` of `topic` in the cluster's metadata, or -1.
int partition_leader(const std::string& brokers, const std::string& topic, int partition) {
  std::string out;
  run_shell("timeout 15 kcat -L -b " + brokers + " -t " + topic + " 2>/dev/null", &out);
  const std::string key = "partition " + std::to_string(partition) + ", leader ";
  const auto at = out.find(key);
  if (at == std::string::npos) return -1;
  return std::stoi(out.substr(at + key.size()));
}

}  // namespace

// Runs on the three-broker stack (deploy/local/stack --brokers 3): replication
// factor 3, min.insync.replicas=2, acks=all and an idempotent producer.
TEST_CASE("a partition leader SIGKILLed mid-produce and mid-consume loses no acknowledged event",
          "[leader-kill]") {
  Pipeline p("ft_leaderkill", 4, 3);
  p.produce(40'000, 8181, 0.05);
  auto a = p.start_sink("sink-a", kSmallBatches);
  auto b = p.start_sink("sink-b", kSmallBatches);
  REQUIRE(eventually([&] { return p.stored_total() > p.end_total() / 5; }, seconds(120)));
  REQUIRE(p.stored_total() < p.end_total());  // the sinks are mid-consume

  constexpr std::int64_t kCount = 30'000;
  StackGuard guard{"kafka"};  // restarts the killed node when the test ends
  Stopwatch recovery;
  {
    SteadyProducer producer(p, kCount, 8182, 3000);
    std::this_thread::sleep_for(seconds(3));  // mid-produce
    const int leader = partition_leader(p.env.brokers, p.topic, 0);
    REQUIRE(leader >= 1);
    const std::string node = "kafka-" + std::to_string(leader);
    const int pid = stack_server_pid(node);
    REQUIRE(pid > 0);
    REQUIRE(::kill(pid, SIGKILL) == 0);
    recovery.restart();
    // Another replica takes over without the dead node coming back.
    CHECK(eventually(
        [&] {
          const int now = partition_leader(p.env.brokers, p.topic, 0);
          return now >= 1 && now != leader;
        },
        seconds(60)));
    // Every event acknowledged: acks=all waited for two in-sync replicas.
    producer.join();
    CHECK(stack_server_pid(node) < 0);
  }
  p.expect(kCount, 8182, 0.05);
  CHECK(a.running());
  CHECK(b.running());
  // Verified on the two remaining nodes.
  verify_and_record(p, "leader-kill", recovery);
  CHECK(stop_cleanly({&a, &b}));
}
