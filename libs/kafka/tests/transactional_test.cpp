#include "millrace/kafka/transactional.hpp"

#include <catch2/catch.hpp>
#include <chrono>

#include "millrace/core/failure.hpp"
#include "millrace/kafka/admin.hpp"
#include "mock_cluster.hpp"

using namespace millrace;
using millrace::testing::MockCluster;
using namespace std::chrono_literals;

// What read_committed consumers see, and fencing, need a real broker (the
// mock appends no transaction markers): tests/integration/changefeed_*.
TEST_CASE("transactions begin, commit and abort in turn, nothing is produced outside one",
          "[transactional]") {
  MockCluster mock(1);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, "tx", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  kafka::TransactionalConfig config;
  config.brokers = mock.bootstraps();
  config.transactional_id = "t1";
  kafka::TransactionalProducer producer(config, 30s);
  producer.begin();
  for (int i = 0; i < 10; ++i) producer.produce("tx", "k" + std::to_string(i), "v");
  producer.commit(30s);
  producer.begin();
  producer.produce("tx", "x", "aborted");
  producer.abort(30s);
  producer.begin();
  producer.produce("tx", "y", "again");
  producer.commit(30s);
  kafka::OffsetsClient offsets(mock.bootstraps(), {});
  CHECK(offsets.watermarks("tx", 0, 10s).second >= 11);
  try {
    producer.produce("tx", "z", "outside");
    FAIL("produce() outside a transaction was accepted");
  } catch (const core::InfraError& e) {
    CHECK(e.failure_class() == core::FailureClass::kRetryable);
  }
}

TEST_CASE("a transactional producer needs its transactional.id") {
  kafka::TransactionalConfig config;
  config.brokers = "127.0.0.1:1";
  CHECK_THROWS_AS(kafka::TransactionalProducer(config, 1s), core::InfraError);
}

// librdkafka 2.0.2 waits for send_offsets_to_transaction() without a bound
// when the group coordinator it has cached is down (confluentinc/librdkafka
// issues 5456 and 5511): the call must still come back, as a retryable
// failure, soon after its timeout.
TEST_CASE("committing offsets comes back after its timeout when the group coordinator is down",
          "[transactional]") {
  MockCluster mock(3);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, "tx", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_mock_coordinator_set(mock.cluster, "transaction", "t-down", 1) ==
          RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_mock_coordinator_set(mock.cluster, "group", "g-down", 2) ==
          RD_KAFKA_RESP_ERR_NO_ERROR);
  kafka::TransactionalConfig config;
  config.brokers = mock.bootstraps();
  config.transactional_id = "t-down";
  kafka::TransactionalProducer producer(config, 30s);
  // A first commit caches broker 2 as the group's coordinator.
  producer.begin();
  producer.produce("tx", "k", "v");
  producer.commit_offset("g-down", "tx", 0, 1, "first", 10s);
  producer.commit(30s);
  REQUIRE(rd_kafka_mock_broker_set_down(mock.cluster, 2) == RD_KAFKA_RESP_ERR_NO_ERROR);
  producer.begin();
  producer.produce("tx", "k", "v");
  const auto started = std::chrono::steady_clock::now();
  try {
    producer.commit_offset("g-down", "tx", 0, 2, "second", 2s);
    FAIL("the offsets were committed to a coordinator that is down");
  } catch (const core::InfraError& e) {
    CHECK(e.failure_class() == core::FailureClass::kRetryable);
    INFO(e.what());
  }
  CHECK(std::chrono::steady_clock::now() - started < 20s);
}
