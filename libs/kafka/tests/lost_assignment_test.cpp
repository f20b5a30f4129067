// A re-assignment from the application (Consumer::assign, outside a
// rebalance callback) made while the group has just dropped this member:
// librdkafka 2.0.2 then revokes the lost assignment, and stopping the
// partitions the re-assignment had queued aborted the process on its
// assertion `rktp->rktp_started` (rd_kafka_assignment_partition_stopped).
// Found by scripts/nemesis --seed 12 --minutes 30 (millrace-webhooks,
// t+404 s): the stream loop recovered from PostgreSQL's restart, and
// re-assigned its partitions from their stored offsets, in the same
// millisecond as its consumer's session with a cut coordinator expired.
#include <librdkafka/rdkafka.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "millrace/kafka/consumer.hpp"
#include "mock_cluster.hpp"

using millrace::kafka::Consumer;
using millrace::kafka::ConsumerConfig;
using millrace::kafka::RebalanceListener;
using millrace::kafka::TopicPartition;
using millrace::testing::MockCluster;

namespace {

// The Heartbeat request's API key (Kafka protocol).
constexpr int16_t kApiHeartbeat = 12;

struct Counting : RebalanceListener {
  int assigned = 0;
  int revoked = 0;
  void on_assign(std::vector<TopicPartition>& partitions) override {
    ++assigned;
    for (auto& tp : partitions) tp.offset = 0;
  }
  void on_revoke(const std::vector<TopicPartition>&) override { ++revoked; }
};

// A member of `topic`'s group (4 partitions, one broker) on a mock
// cluster, with its first assignment served.
struct Member {
  MockCluster mock{1};
  Counting listener;
  std::unique_ptr<Consumer> consumer;
  Member(const std::string& topic, const std::function<void(ConsumerConfig&)>& tune) {
    REQUIRE(rd_kafka_mock_topic_create(mock.cluster, topic.c_str(), 4, 1) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
    ConsumerConfig config;
    config.brokers = mock.bootstraps();
    config.group_id = topic + "-group";
    config.client_id = topic + "-test";
    tune(config);
    consumer = std::make_unique<Consumer>(config, &listener);
    consumer->subscribe({topic});
    for (int i = 0; i < 100 && listener.assigned == 0; ++i)
      consumer->poll(std::chrono::milliseconds(100));
    REQUIRE(listener.assigned == 1);
  }
};

}  // namespace

TEST_CASE("a re-assignment while the group drops the member is left to the rebalance",
          "[lost-assignment]") {
  Member member("lost", [](ConsumerConfig& c) { c.session_timeout_ms = 6000; });
  auto& mock = member.mock;
  auto& listener = member.listener;
  auto& consumer = *member.consumer;
  // Let the fetchers start.
  for (int i = 0; i < 10; ++i) consumer.poll(std::chrono::milliseconds(100));
  // The coordinator forgets the member: its next heartbeat is refused with
  // UNKNOWN_MEMBER_ID, and librdkafka marks the assignment lost and queues
  // its revocation. No poll meanwhile: the loop is busy recovering.
  rd_kafka_mock_push_request_errors(mock.cluster, kApiHeartbeat, 1,
                                    RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID);
  for (int i = 0; i < 100 && !consumer.assignment_lost(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(consumer.assignment_lost());
  // The loop's recovery re-assigns its partitions from stored offsets: not
  // applied (without that, the revocation below aborted the process in
  // about half the runs of this test).
  const std::vector<TopicPartition> positions{
      {"lost", 0, 0}, {"lost", 1, 0}, {"lost", 2, 0}, {"lost", 3, 0}};
  CHECK_FALSE(consumer.assign(positions));
  // The revocation and the group's next assignment are served here.
  for (int i = 0; i < 200 && listener.assigned < 2; ++i)
    consumer.poll(std::chrono::milliseconds(100));
  CHECK(listener.revoked == 1);
  CHECK(listener.assigned == 2);
  CHECK_FALSE(consumer.assignment_lost());
  CHECK(consumer.assign(positions));
}

// The same re-assignment while a plain rebalance's revocation waits for the
// next poll (the member is not dropped: the group rebalances, as when a
// broker is cut off). librdkafka 2.0.2 stops each partition the
// re-assignment replaces; the revocation's unassign, served before those
// stops were answered, stopped them again, and the second answer aborted
// the process on `rktp->rktp_started` (librdkafka issue #5573). Found by
// the nemesis in CI (seed 5, millrace-sink, 2026-12-04): the stream loop
// re-assigned its partitions after a cut-off leader's log end came right,
// in the same millisecond as the group's revocation.
TEST_CASE("a re-assignment just before a queued revocation is settled before the revocation",
          "[lost-assignment]") {
  Member member("again", [](ConsumerConfig& c) { c.extra = {{"heartbeat.interval.ms", "100"}}; });
  auto& mock = member.mock;
  auto& listener = member.listener;
  auto& consumer = *member.consumer;
  const std::vector<TopicPartition> positions{
      {"again", 0, 0}, {"again", 1, 0}, {"again", 2, 0}, {"again", 3, 0}};
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 5; ++i) consumer.poll(std::chrono::milliseconds(100));
    const int revoked = listener.revoked;
    // The group rebalances: the next heartbeat is answered so, and the
    // revocation is queued for the next poll (a few heartbeats' time).
    rd_kafka_mock_push_request_errors(mock.cluster, kApiHeartbeat, 1,
                                      RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    CHECK_FALSE(consumer.assignment_lost());
    REQUIRE(consumer.assign(positions));
    for (int i = 0; i < 200 && listener.revoked == revoked; ++i)
      consumer.poll(std::chrono::milliseconds(100));
    CHECK(listener.revoked == revoked + 1);
    const int assigned = listener.assigned;
    for (int i = 0; i < 200 && listener.assigned == assigned; ++i)
      consumer.poll(std::chrono::milliseconds(100));
    CHECK(listener.assigned == assigned + 1);
  }
}
