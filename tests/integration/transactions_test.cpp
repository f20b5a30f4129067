// kafka::TransactionalProducer against the stack's broker: what a
// read_committed consumer sees, an offset and its metadata committed inside
// a transaction, and a newer instance fencing an older one.
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/kafka/admin.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/kafka/transactional.hpp"
#include "pipeline.hpp"

using namespace millrace;
using namespace millrace::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// Every value a read_committed consumer sees in `topic`, reading until
// nothing more comes for two seconds.
std::vector<std::string> read_committed(const std::string& brokers, const std::string& topic) {
  NoRebalance listener;
  kafka::ConsumerConfig cc;
  cc.brokers = brokers;
  cc.group_id = unique_name("tx_reader");
  cc.extra = {{"isolation.level", "read_committed"}};
  kafka::Consumer reader(cc, &listener);
  reader.subscribe({topic});
  std::vector<std::string> out;
  auto quiet_since = std::chrono::steady_clock::now();
  const auto until = quiet_since + seconds(60);
  bool any = false;
  while (std::chrono::steady_clock::now() < until) {
    auto msg = reader.poll(milliseconds(200));
    if (msg) {
      out.emplace_back(msg->payload());
      any = true;
      quiet_since = std::chrono::steady_clock::now();
    } else if (any && std::chrono::steady_clock::now() - quiet_since > seconds(2)) {
      break;
    }
  }
  reader.close();
  return out;
}

}  // namespace

TEST_CASE("read_committed consumers see committed transactions whole and aborted ones never",
          "[transactions]") {
  const auto env = stack_env();
  const std::string topic = unique_name("it_tx");
  kafka::create_topic(env.brokers, topic, 2, 1, seconds(30));
  kafka::TransactionalConfig config;
  config.brokers = env.brokers;
  config.transactional_id = unique_name("it_tx_id");
  kafka::TransactionalProducer producer(config, seconds(60));
  const std::string group = unique_name("it_tx_checkpoint");
  CHECK_FALSE(kafka::committed_offset(env.brokers, {}, group, topic, 0, seconds(10)).has_value());

  producer.begin();
  for (int i = 0; i < 10; ++i)
    producer.produce(topic, "k" + std::to_string(i), "a" + std::to_string(i));
  producer.commit_offset(group, topic, 0, 10, "first", seconds(30));
  producer.commit(seconds(60));

  producer.begin();
  for (int i = 0; i < 5; ++i) producer.produce(topic, "k" + std::to_string(i), "aborted");
  producer.commit_offset(group, topic, 0, 15, "aborted", seconds(30));
  producer.abort(seconds(60));

  producer.begin();
  producer.produce(topic, "k", "last");
  producer.commit_offset(group, topic, 0, 16, "second", seconds(30));
  producer.commit(seconds(60));

  auto values = read_committed(env.brokers, topic);
  std::sort(values.begin(), values.end());
  std::vector<std::string> want = {"last"};
  for (int i = 0; i < 10; ++i) want.push_back("a" + std::to_string(i));
  std::sort(want.begin(), want.end());
  CHECK(values == want);
  const auto checkpoint = kafka::committed_offset(env.brokers, {}, group, topic, 0, seconds(10));
  REQUIRE(checkpoint.has_value());
  CHECK(checkpoint->offset == 16);
  CHECK(checkpoint->metadata == "second");
}

TEST_CASE("a second producer with the same transactional.id fences the first", "[transactions]") {
  const auto env = stack_env();
  const std::string topic = unique_name("it_txfence");
  kafka::create_topic(env.brokers, topic, 1, 1, seconds(30));
  kafka::TransactionalConfig config;
  config.brokers = env.brokers;
  config.transactional_id = unique_name("it_txfence_id");
  kafka::TransactionalProducer old_one(config, seconds(60));
  old_one.begin();
  old_one.produce(topic, "k", "from the old one");
  // The new instance aborts what the old one left open, and bumps the epoch.
  kafka::TransactionalProducer new_one(config, seconds(60));
  try {
    old_one.commit(seconds(30));
    FAIL("the fenced producer committed");
  } catch (const core::InfraError& e) {
    INFO(e.what());
    CHECK(e.failure_class() == core::FailureClass::kFatal);
  }
  new_one.begin();
  new_one.produce(topic, "k", "from the new one");
  new_one.commit(seconds(60));
  CHECK(read_committed(env.brokers, topic) == std::vector<std::string>{"from the new one"});
}
