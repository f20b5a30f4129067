#include "millrace/kafka/transactional.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/runtime/retry.hpp"
#include "mock_cluster.hpp"

using namespace millrace;
using millrace::testing::MockCluster;
using namespace std::chrono_literals;

namespace {

// The TCP connections this machine holds, in state ESTABLISHED, to one of
// `ports` on 127.0.0.1: the client ends, the mock brokers' own ends having
// the port as their local one (/proc/net/tcp, addresses in hex).
int connections_to(const std::set<int>& ports) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // the header
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const auto colon = remote.find(':');
    if (state != "01" || colon == std::string::npos) continue;
    if (remote.substr(0, colon) != "0100007F") continue;
    if (ports.count(std::stoi(remote.substr(colon + 1), nullptr, 16)) != 0) ++n;
  }
  return n;
}

std::set<int> ports_of(const std::string& bootstraps) {
  std::set<int> ports;
  std::istringstream list(bootstraps);
  std::string broker;
  while (std::getline(list, broker, ','))
    ports.insert(std::stoi(broker.substr(broker.rfind(':') + 1)));
  return ports;
}

// Polls `condition` every 50 ms for up to `limit`; whether it came true.
template <typename F>
bool eventually(F condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// Three mock brokers, broker 1 coordinating the transactions of `tid` and
// broker 2 the group `group`.
struct CoordinatorsApart {
  MockCluster mock{3};
  kafka::TransactionalConfig config;
  std::string group;

  CoordinatorsApart(const std::string& tid, std::string g) : group(std::move(g)) {
    REQUIRE(rd_kafka_mock_topic_create(mock.cluster, "tx", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    REQUIRE(rd_kafka_mock_coordinator_set(mock.cluster, "transaction", tid.c_str(), 1) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
    REQUIRE(rd_kafka_mock_coordinator_set(mock.cluster, "group", group.c_str(), 2) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
    config.brokers = mock.bootstraps();
    config.transactional_id = tid;
  }

  // A first transaction with an offset commit, which caches broker 2 as the
  // group's coordinator; then broker 2 goes down and the next transaction
  // begins, with a message in it.
  void commit_then_take_the_group_coordinator_down(kafka::TransactionalProducer& producer) {
    producer.begin();
    producer.produce("tx", "k", "v");
    producer.commit_offset(group, "tx", 0, 1, "first", 10s);
    producer.commit(30s);
    REQUIRE(rd_kafka_mock_broker_set_down(mock.cluster, 2) == RD_KAFKA_RESP_ERR_NO_ERROR);
    producer.begin();
    producer.produce("tx", "k", "v");
  }
};

}  // namespace

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

namespace {

// The timestamps of the first `n` records of `topic`[0], read from the start.
std::vector<std::int64_t> timestamps(const std::string& bootstraps, const std::string& topic,
                                     std::size_t n) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), err, sizeof err) ==
          RD_KAFKA_CONF_OK);
  REQUIRE(rd_kafka_conf_set(conf, "group.id", "timestamps", err, sizeof err) == RD_KAFKA_CONF_OK);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err), &rd_kafka_destroy);
  REQUIRE(rk);
  rd_kafka_topic_partition_list_t* tps = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tps, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  REQUIRE(rd_kafka_assign(rk.get(), tps) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(tps);
  std::vector<std::int64_t> out;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) out.push_back(rd_kafka_message_timestamp(m, nullptr));
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk.get());
  return out;
}

}  // namespace

TEST_CASE("a record takes the timestamp it is given, or the time it is produced",
          "[transactional]") {
  MockCluster mock(1);
  REQUIRE(rd_kafka_mock_topic_create(mock.cluster, "stamped", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  kafka::TransactionalConfig config;
  config.brokers = mock.bootstraps();
  config.transactional_id = "stamps";
  kafka::TransactionalProducer producer(config, 30s);
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  producer.begin();
  producer.produce("stamped", "k", "given", {}, 1796014081123);
  producer.produce("stamped", "k", "now");
  producer.commit(30s);
  const auto stamps = timestamps(mock.bootstraps(), "stamped", 2);
  REQUIRE(stamps.size() == 2);
  CHECK(stamps[0] == 1796014081123);
  CHECK(stamps[1] >= before);
  CHECK(stamps[1] != 1796014081123);
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
  CoordinatorsApart coordinators("t-down", "g-down");
  kafka::TransactionalProducer producer(coordinators.config, 30s);
  coordinators.commit_then_take_the_group_coordinator_down(producer);
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

// A stop (TransactionalConfig::stopping) ends the waits a broker that does
// not answer would make long: the offsets' call within the grace a stop
// leaves a transaction under way (5 s), where it took its timeout and 5 s
// more; a new producer's wait for InitProducerId at once.
TEST_CASE("a stop ends a producer's waits on brokers that do not answer", "[transactional]") {
  std::atomic<bool> stopping{false};
  CoordinatorsApart coordinators("t-stop", "g-stop");
  coordinators.config.stopping = [&stopping] { return stopping.load(); };
  kafka::TransactionalProducer producer(coordinators.config, 30s);
  coordinators.commit_then_take_the_group_coordinator_down(producer);
  stopping = true;
  auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(producer.commit_offset("g-stop", "tx", 0, 2, "second", 60s), runtime::Stopped);
  CHECK(std::chrono::steady_clock::now() - started < 20s);

  kafka::TransactionalConfig unreachable = coordinators.config;
  unreachable.brokers = "127.0.0.1:1";
  started = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(kafka::TransactionalProducer(unreachable, 60s), runtime::Stopped);
  CHECK(std::chrono::steady_clock::now() - started < 20s);
}

// A producer given up while its offsets call still runs must send nothing
// more: Kafka's group coordinator keeps pending transactional offsets per
// producer id, so its late TxnOffsetCommit, refused for its old epoch,
// would remove the checkpoint the next producer of the same
// transactional.id has pending, and that producer's records would commit
// without it (nemesis seed 12: changes published twice). So the handle left
// to the call's thread holds no connection, and gets none when the
// coordinator it waits for comes back.
TEST_CASE("a producer given up is cut off from every broker, and stays cut off",
          "[transactional][zombie]") {
  CoordinatorsApart coordinators("t-zombie", "g-zombie");
  const auto ports = ports_of(coordinators.config.brokers);
  REQUIRE(ports.size() == 3);
  kafka::TransactionalProducer producer(coordinators.config, 30s);
  coordinators.commit_then_take_the_group_coordinator_down(producer);
  CHECK(connections_to(ports) > 0);
  CHECK_THROWS_AS(producer.commit_offset("g-zombie", "tx", 0, 2, "second", 2s), core::InfraError);
  // Its connections to the brokers that are up (the transaction
  // coordinator's and the partition leader's) are closed.
  CHECK(eventually([&] { return connections_to(ports) == 0; }, 10s));
  // The group coordinator is back: the call it waits for would now be sent.
  REQUIRE(rd_kafka_mock_broker_set_up(coordinators.mock.cluster, 2) == RD_KAFKA_RESP_ERR_NO_ERROR);
  CHECK_FALSE(eventually([&] { return connections_to(ports) > 0; }, 3s));
  // The next producer of the transactional.id connects as usual.
  kafka::TransactionalProducer next(coordinators.config, 30s);
  next.begin();
  next.produce("tx", "k", "v");
  next.commit(30s);
  CHECK(connections_to(ports) > 0);
}
