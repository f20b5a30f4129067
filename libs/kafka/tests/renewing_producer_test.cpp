#include "millrace/kafka/renewing_producer.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "millrace/core/failure.hpp"
#include "mock_cluster.hpp"

using namespace millrace;
using millrace::testing::MockCluster;
using namespace std::chrono_literals;

namespace {

constexpr int16_t kProduceApi = 0;  // Kafka's Produce request key (rdkafka_protocol.h)

struct Reports {
  int ok = 0;
  int failed = 0;
};

// Polls until every message of every handle is reported, or 20 s pass;
// the fatal reasons renewals returned, joined.
std::string drain(kafka::RenewingProducer& producer) {
  std::string reasons;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto reason = producer.poll(50ms)) reasons += *reason + ";";
    if (producer.queue_length() == 0) break;
  }
  return reasons;
}

}  // namespace

TEST_CASE("a producer that failed fatally is replaced, and its messages are reported failed",
          "[kafka][renewing_producer]") {
  MockCluster mock(1);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, "t", 2, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  auto reports = std::make_shared<Reports>();
  kafka::ProducerConfig config;
  config.brokers = mock.bootstraps();
  config.message_timeout_ms = 10000;
  config.on_delivery = [reports](const kafka::Delivery& d) {
    ++(d.ok ? reports->ok : reports->failed);
  };
  kafka::RenewingProducer producer(config);
  const auto first = producer.current();

  first->produce("t", 0, "k", "before", {});
  CHECK(drain(producer).empty());
  CHECK(reports->ok == 1);
  CHECK(producer.renewals() == 0);

  // The broker answers the next produce with an out-of-order sequence: the
  // idempotent producer's "sequence desynchronization", the fatal error
  // librdkafka 2.0.2 raises after a possibly persisted timeout (the nemesis
  // met it with a broker cut off).
  rd_kafka_mock_push_request_errors(mock.cluster, kProduceApi, 1,
                                    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  first->produce("t", 1, "k", "lost", {});
  const std::string reasons = drain(producer);
  INFO(reasons);
  CHECK_FALSE(reasons.empty());
  CHECK(producer.renewals() == 1);
  CHECK(first->fatal().has_value());
  CHECK(reports->failed == 1);

  // The old handle refuses what a sender still holding it tries to queue;
  // the new one writes.
  CHECK_THROWS_AS(first->try_produce("t", 0, "k", "late", {}, nullptr), core::InfraError);
  const auto second = producer.current();
  REQUIRE(second != first);
  second->produce("t", 0, "k", "after", {});
  CHECK(drain(producer).empty());
  CHECK(reports->ok == 2);
  const auto stats = producer.stats();
  CHECK(stats.delivered == 2);
  CHECK(stats.failed == 1);
  CHECK(producer.flush(5s) == 0);
}
