// librdkafka's mock cluster: a broker taken down and request errors injected
// while two real sink workers consume. The exactly-once oracle must still hold.
#include "mock_cluster.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <memory>
#include <pqxx/pqxx>
#include <thread>

#include "millrace/kafka/admin.hpp"
#include "pipeline.hpp"

using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// Kafka protocol API keys (librdkafka keeps them in a private header).
constexpr int16_t kApiFetch = 1;
constexpr int16_t kApiOffsetCommit = 8;
constexpr int16_t kApiHeartbeat = 12;

}  // namespace

TEST_CASE("sink workers ride out a broker outage and injected request errors", "[mock-cluster]") {
  MockCluster mock(3);
  Pipeline p("ft_mock", mock.bootstraps(), 4);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, p.topic.c_str(), 4, 3) == 0);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, p.dlq_topic.c_str(), 4, 3) == 0);

  // A stall must show within the test's wait, and be re-armed if the consumer's
  // fetching is what stalled.
  // librdkafka's group debug in the workers' logs, for a hang this test once
  // showed and whose cause is still open (docs/exactly-once.md).
  const std::map<std::string, std::string> extra = {{"MILLRACE_BATCH_SIZE", "500"},
                                                    {"MILLRACE_STALL_TIMEOUT_S", "15"},
                                                    {"MILLRACE_KAFKA_PROPERTIES", "debug=cgrp"}};
  auto a = p.start_sink("sink-a", extra);
  auto b = p.start_sink("sink-b", extra);
  // The group has formed once the workers recorded their assignments (the
  // mock's first join waits about 3 s).
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  while (p.claimed_partitions() < 4 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  REQUIRE(p.claimed_partitions() == 4);

  // The real CLI reaches the mock cluster over TCP like any broker; it
  // produces at a steady rate so the faults below land during consumption.
  constexpr std::int64_t kCount = 30'000;
  int producer_rc = -1;
  std::string summary;
  std::thread producer([&] { producer_rc = p.run_producer(kCount, 99, 0.05, 3000, &summary); });
  // The faults go in once consumption has begun (a fixed sleep here failed
  // under load, when nothing had committed yet), and while the producer
  // still runs.
  REQUIRE(eventually([&] { return p.stored_total() > 0; }, seconds(120)));
  const bool mid_run = p.stored_total() < kCount;

  rd_kafka_mock_push_request_errors(
      mock.cluster, kApiFetch, 6, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  rd_kafka_mock_push_request_errors(
      mock.cluster, kApiOffsetCommit, 3, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
  rd_kafka_mock_push_request_errors(mock.cluster, kApiHeartbeat, 2,
                                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
  // Take down a broker that leads some partitions, then bring it back.
  REQUIRE(rd_kafka_mock_broker_set_down(mock.cluster, 2) == 0);
  std::this_thread::sleep_for(seconds(4));
  CHECK(a.running());
  CHECK(b.running());
  REQUIRE(rd_kafka_mock_broker_set_up(mock.cluster, 2) == 0);
  producer.join();
  INFO("millrace produce printed: " << summary);
  REQUIRE(producer_rc == 0);
  CHECK(mid_run);  // the faults landed while there was still consumption to do
  // The first 100 sent again: copies the sinks must count as duplicates
  // (or dead letters) where the log holds them, as they must for any copy.
  std::string again;
  REQUIRE(p.run_producer(100, 99, 0.05, 0, &again) == 0);
  // The mock may also have kept a request cut by the outage twice (a real
  // broker drops the idempotent producer's retry).
  const auto copies = p.expect_as_logged(kCount, 99, 0.05);
  INFO("records the log holds twice: " << copies);
  CHECK(copies >= 100);

  const bool caught_up = p.wait_caught_up(seconds(240));
  if (!caught_up) {
    // Say which it is: members behind the log, or a log unlike the oracle.
    millrace::kafka::OffsetsClient offsets(p.env.brokers, {});
    std::string text = "not caught up; per partition: stored / expected end / log end:";
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    for (std::int32_t part = 0; part < p.partitions; ++part) {
      const auto r =
          tx.exec_params("SELECT coalesce(next_offset, -1) FROM \"" + p.schema +
                             "\".consumer_offsets WHERE group_id = $1 AND partition = $2",
                         p.group, part);
      const auto end = p.end_offsets().count(part) ? p.end_offsets().at(part) : 0;
      text += " [" + std::to_string(part) + "] " +
              (r.empty() ? std::string("none") : r[0][0].as<std::string>()) + " / " +
              std::to_string(end) + " / " +
              std::to_string(offsets.watermarks(p.topic, part, seconds(10)).second);
    }
    FAIL_CHECK(text);
  }
  REQUIRE(caught_up);
  p.verify();
  CHECK(stop_cleanly({&a, &b}));
}
