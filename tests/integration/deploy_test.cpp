// The deployment's init steps against the real broker: `millrace
// create-topics` is what docker-compose.yml runs before any worker starts.
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "millrace/kafka/producer.hpp"

using namespace millrace;
using namespace millrace::testing;

namespace {

std::int32_t partitions_of(const std::string& brokers, const std::string& topic) {
  kafka::ProducerConfig config;
  config.brokers = brokers;
  kafka::Producer probe(config);
  return probe.partition_count(topic, std::chrono::seconds(10));
}

}  // namespace

TEST_CASE("create-topics makes the three topics once and refuses a different layout",
          "[create-topics]") {
  const auto env = stack_env();
  const std::string topic = unique_name("it_topics");
  const std::map<std::string, std::string> vars = {{"MILLRACE_BROKERS", env.brokers},
                                                   {"MILLRACE_TOPIC", topic},
                                                   {"MILLRACE_CHANGES_TOPIC", topic + ".changes"}};
  std::string out;
  REQUIRE(run(bin("millrace"), {"create-topics"}, vars, &out) == 0);
  CHECK_THAT(out, Catch::Contains("topic " + topic + ": 4 partitions"));
  CHECK_THAT(out, Catch::Contains("topic " + topic + ".dlq: 4 partitions"));
  CHECK_THAT(out, Catch::Contains("topic " + topic + ".changes: 4 partitions"));
  CHECK(partitions_of(env.brokers, topic) == 4);
  CHECK(partitions_of(env.brokers, topic + ".dlq") == 4);
  CHECK(partitions_of(env.brokers, topic + ".changes") == 4);

  // Run again, as a restarted init container does: nothing to do, success.
  CHECK(run(bin("millrace"), {"create-topics"}, vars, &out) == 0);

  // The same topic with another layout would break the even/odd routing of
  // workers already running on it: a clear failure, and the topic unchanged.
  std::string err;
  CHECK(run_shell(bin("millrace") + " create-topics --brokers " + env.brokers + " --topic " +
                      topic + " --partitions 6 2>&1",
                  &err) == 1);
  CHECK_THAT(err, Catch::Contains("exists with 4 partitions, not 6"));
  CHECK(partitions_of(env.brokers, topic) == 4);

  // More replicas than brokers: the broker's refusal, not a timeout.
  const std::string other = unique_name("it_topics_rf");
  CHECK(run_shell(bin("millrace") + " create-topics --brokers " + env.brokers + " --topic " +
                      other + " --replication-factor 2 --timeout-s 30 2>&1",
                  &err) == 1);
  CHECK_THAT(err, Catch::Contains("replication factor of 2 cannot be reached"));

  // A dead-letter topic named apart, six partitions, and no change feed
  // topic (empty).
  const std::string six = unique_name("it_topics_six");
  std::string six_out;
  REQUIRE(run(bin("millrace"),
              {"create-topics", "--partitions", "6", "--dlq-topic", six + "_dead",
               "--changes-topic", ""},
              {{"MILLRACE_BROKERS", env.brokers}, {"MILLRACE_TOPIC", six}}, &six_out) == 0);
  CHECK(partitions_of(env.brokers, six) == 6);
  CHECK(partitions_of(env.brokers, six + "_dead") == 6);
  CHECK_THAT(six_out, Catch::Contains("topic " + six + "_dead: 6 partitions"));
  CHECK_THAT(six_out, !Catch::Contains("changes"));
}
