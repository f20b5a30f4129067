#include "millrace/kafka/admin.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>

#include "millrace/core/failure.hpp"
#include "millrace/runtime/retry.hpp"
#include "mock_cluster.hpp"

using millrace::kafka::OffsetsClient;
using millrace::testing::MockCluster;
using namespace std::chrono_literals;

namespace {

bool try_watermarks(OffsetsClient& client, const std::string& topic,
                    std::pair<std::int64_t, std::int64_t>* out) {
  try {
    *out = client.watermarks(topic, 0, 1s);
    return true;
  } catch (const millrace::core::InfraError& e) {
    CHECK(e.retryable());
    return false;
  }
}

}  // namespace

TEST_CASE("watermarks come back while the partition's old leader is down, then from the new one",
          "[watermarks]") {
  MockCluster mock(3);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, "wm", 1, 3) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_mock_partition_set_leader(mock.cluster, "wm", 0, 1) ==
          RD_KAFKA_RESP_ERR_NO_ERROR);
  OffsetsClient client(mock.bootstraps(), {});
  std::pair<std::int64_t, std::int64_t> marks{-1, -1};
  REQUIRE(try_watermarks(client, "wm", &marks));
  CHECK(marks == std::pair<std::int64_t, std::int64_t>{0, 0});

  // The leader dies for good and another replica takes over. librdkafka
  // 2.0.2's rd_kafka_query_watermark_offsets waited here until broker 1 came
  // back: forever, holding up a sink's lag thread and so its shutdown.
  REQUIRE(rd_kafka_mock_broker_set_down(mock.cluster, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_mock_partition_set_leader(mock.cluster, "wm", 0, 2) ==
          RD_KAFKA_RESP_ERR_NO_ERROR);
  auto first = std::async(std::launch::async, [&] {
    std::pair<std::int64_t, std::int64_t> ignored;
    return try_watermarks(client, "wm", &ignored);
  });
  // A hang detector, not a timing bound: the call is due back in about 2 s.
  REQUIRE(first.wait_for(60s) == std::future_status::ready);
  bool answered = first.get();
  for (int attempt = 0; attempt < 20 && !answered; ++attempt) {
    answered = try_watermarks(client, "wm", &marks);
  }
  REQUIRE(answered);
  CHECK(marks == std::pair<std::int64_t, std::int64_t>{0, 0});
}

// The change feed reads its checkpoint once per session, right after its
// producer's InitProducerId: a broker that stops answering then held a stop
// for the whole timeout (30 s there, past what a pod is given to stop).
TEST_CASE("a stop ends the wait for a group's committed offset", "[committed]") {
  std::atomic<bool> stopping{false};
  auto read = std::async(std::launch::async, [&] {
    return millrace::kafka::committed_offset("127.0.0.1:1", {}, "g-stop", "t-stop", 0, 60s,
                                             [&] { return stopping.load(); });
  });
  CHECK(read.wait_for(1s) == std::future_status::timeout);
  stopping = true;
  // A hang detector, not a timing bound: the wait is due to end within a
  // slice (0.5 s); without the stop it would take its 60 s.
  REQUIRE(read.wait_for(20s) == std::future_status::ready);
  CHECK_THROWS_AS(read.get(), millrace::runtime::Stopped);
}

TEST_CASE("without a stop, the wait for a committed offset ends at its timeout, retryably",
          "[committed]") {
  const auto started = std::chrono::steady_clock::now();
  try {
    (void)millrace::kafka::committed_offset("127.0.0.1:1", {}, "g-none", "t-none", 0, 2s);
    FAIL("an offset was read from no broker");
  } catch (const millrace::core::InfraError& e) {
    CHECK(e.retryable());
    CHECK_THAT(e.what(), Catch::Contains("g-none"));
  }
  CHECK(std::chrono::steady_clock::now() - started >= 2s);
}
