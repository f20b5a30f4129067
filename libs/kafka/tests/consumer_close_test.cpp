// Closing a consumer when the brokers are gone with an offset commit in
// flight: librdkafka's close then waits for an answer that never comes
// (librdkafka issue #3740), and a service would hang at SIGTERM until it
// is killed. Consumer::close() gives up after its limit instead.
#include <catch2/catch.hpp>
#include <chrono>

#include "millrace/kafka/consumer.hpp"
#include "mock_cluster.hpp"

using millrace::kafka::Consumer;
using millrace::kafka::ConsumerConfig;
using millrace::testing::MockCluster;

TEST_CASE("a consumer closes while its brokers are down with a commit in flight",
          "[consumer-close]") {
  MockCluster mock(1);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, "closing", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  ConsumerConfig config;
  config.brokers = mock.bootstraps();
  config.group_id = "closing-group";
  config.client_id = "closing-test";
  Consumer consumer(config, nullptr);
  consumer.subscribe({"closing"});
  // Three seconds of polls: the group is joined and the partition assigned.
  for (int i = 0; i < 30; ++i) consumer.poll(std::chrono::milliseconds(100));
  REQUIRE(rd_kafka_mock_broker_set_down(mock.cluster, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  consumer.commit_async({{"closing", 0, 0}});
  // Returns (within its limit) instead of waiting for the brokers.
  consumer.close();
  SUCCEED("closed");
}
