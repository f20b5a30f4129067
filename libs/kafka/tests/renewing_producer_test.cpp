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

// A mock broker with topic "t" (two partitions) and a renewing producer
// counting its reports.
struct Rig {
  MockCluster mock{1};
  std::shared_ptr<Reports> reports = std::make_shared<Reports>();
  kafka::RenewingProducer producer{config(mock, reports)};

  static kafka::ProducerConfig config(MockCluster& mock, const std::shared_ptr<Reports>& reports) {
    REQUIRE(rd_kafka_mock_topic_create(mock.cluster, "t", 2, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    kafka::ProducerConfig c;
    c.brokers = mock.bootstraps();
    c.message_timeout_ms = 10000;
    c.on_delivery = [reports](const kafka::Delivery& d) {
      ++(d.ok ? reports->ok : reports->failed);
    };
    return c;
  }

  // The first handle, once it has written one message.
  std::shared_ptr<kafka::Producer> first_delivered() {
    auto first = producer.current();
    first->produce("t", 0, "k", "before", {});
    CHECK(drain(producer).empty());
    REQUIRE(reports->ok == 1);
    CHECK(producer.renewals() == 0);
    return first;
  }
};

}  // namespace

TEST_CASE("a producer that failed fatally is replaced, and its messages are reported failed",
          "[kafka][renewing_producer]") {
  Rig rig;
  auto& [mock, reports, producer] = rig;
  const auto first = rig.first_delivered();

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

TEST_CASE("renew() replaces a working producer, and what it held is reported failed, not sent",
          "[kafka][renewing_producer]") {
  Rig rig;
  auto& [mock, reports, producer] = rig;
  const auto first = rig.first_delivered();

  // Held back by a broker that is down, then purged by the renewal.
  REQUIRE(rd_kafka_mock_broker_set_down(mock.cluster, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  first->produce("t", 1, "k", "held", {});
  producer.renew();
  CHECK(producer.renewals() == 1);
  const auto second = producer.current();
  REQUIRE(second != first);
  CHECK_FALSE(first->fatal().has_value());
  // A sender still holding the old handle writes nothing through it.
  CHECK(first->retired());
  CHECK_FALSE(second->retired());
  CHECK_THROWS_AS(first->try_produce("t", 0, "k", "late", {}, nullptr), core::InfraError);
  REQUIRE(rd_kafka_mock_broker_set_up(mock.cluster, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  CHECK(drain(producer).empty());  // renew() returns no fatal reason
  CHECK(reports->failed == 1);
  CHECK(reports->ok == 1);

  second->produce("t", 1, "k", "after", {});
  CHECK(drain(producer).empty());
  CHECK(reports->ok == 2);
  CHECK(producer.stats().failed == 1);
  CHECK(producer.flush(5s) == 0);
}
