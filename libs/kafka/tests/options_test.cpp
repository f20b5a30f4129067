#include "millrace/kafka/options.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/parse_config.hpp"
#include "millrace/kafka/producer.hpp"
#include "millrace/kafka/types.hpp"

using namespace millrace;
using Catch::Matchers::Contains;

namespace {

// A program's settings: the shared Kafka ones, with its own topic (libs/kafka
// names none).
struct Program {
  kafka::KafkaClientOptions kafka = kafka::client_options("svc", "t0");
};

void register_options(core::OptionSet& o, Program& p) {
  kafka::register_options(o, p.kafka, {.env = "MILLRACE_TEST_TOPIC", .help = "The topic"});
}

void validate(Program& p) {
  kafka::validate(p.kafka);
}

kafka::KafkaClientOptions parse(std::map<std::string, std::string> env,
                                std::vector<std::string> args) {
  return core::parse_config(env, args, Program{}).kafka;
}

}  // namespace

TEST_CASE("Kafka properties parse as key=value pairs separated by commas") {
  CHECK(kafka::parse_properties("").empty());
  CHECK(kafka::parse_properties("a=1,b=x=y,,c=") ==
        kafka::Properties{{"a", "1"}, {"b", "x=y"}, {"c", ""}});
  CHECK(kafka::parse_properties("a=1,a=2").at("a") == "2");  // the last one wins
  // librdkafka's list values, and a secret that holds a comma, as written.
  CHECK(kafka::parse_properties("debug=cgrp,fetch,linger.ms=5") ==
        kafka::Properties{{"debug", "cgrp,fetch"}, {"linger.ms", "5"}});
  CHECK(kafka::parse_properties("sasl.password=ab,cd").at("sasl.password") == "ab,cd");
  CHECK(kafka::parse_properties("sasl.oauthbearer.extensions=a=1\\,b=2") ==
        kafka::Properties{{"sasl.oauthbearer.extensions", "a=1,b=2"}});
  // Never echoed: it may be the tail of a secret.
  CHECK_THROWS_WITH(kafka::parse_properties("novalue,a=1"),
                    Contains("first item is not key=value") && !Contains("novalue"));
  CHECK_THROWS_AS(kafka::parse_properties("=1"), std::invalid_argument);
}

TEST_CASE("what a consumer group member's exactly-once rests on is refused as an override") {
  for (const char* key :
       {"auto.offset.reset", "partition.assignment.strategy", "enable.auto.commit",
        "auto.commit.enable", "enable.auto.offset.store", "group.id"}) {
    INFO(key);
    CHECK_THROWS_WITH(kafka::refuse_consumer_overrides({{key, "x"}}),
                      Contains(key) && Contains("cannot be overridden"));
  }
  CHECK_NOTHROW(kafka::refuse_consumer_overrides({{"fetch.wait.max.ms", "10"},
                                                  {"auto.commit.interval.ms", "5"},
                                                  {"security.protocol", "ssl"}}));
}

TEST_CASE("the shared Kafka client options: defaults, environment, flags and errors") {
  const auto d = parse({}, {});
  CHECK(d.brokers == "127.0.0.1:9092");
  CHECK(d.topic == "t0");
  CHECK(d.client_id == "svc");
  CHECK(d.extra.empty());
  const auto e =
      parse({{"MILLRACE_BROKERS", "k1:9092,k2:9092"}, {"MILLRACE_KAFKA_PROPERTIES", "linger.ms=1"}},
            {"--topic", "t1", "--client-id", "c1"});
  CHECK(e.brokers == "k1:9092,k2:9092");
  CHECK(e.topic == "t1");
  CHECK(e.client_id == "c1");
  CHECK(e.extra == kafka::Properties{{"linger.ms", "1"}});
  CHECK_THROWS_WITH(parse({}, {"--brokers", ""}), Contains("MILLRACE_BROKERS"));
  CHECK(parse({{"MILLRACE_TEST_TOPIC", "t2"}}, {}).topic == "t2");
  CHECK_THROWS_WITH(parse({{"MILLRACE_TEST_TOPIC", ""}}, {}),
                    Contains("--topic / MILLRACE_TEST_TOPIC"));
  CHECK_THROWS_WITH(parse({}, {"--kafka-properties", "oops"}),
                    Contains("MILLRACE_KAFKA_PROPERTIES") && Contains("key=value"));
  CHECK_THROWS_AS(parse({}, {"--kafka-properties", "oops"}), core::UsageError);
}

TEST_CASE("a member heartbeats ten times per session timeout, at least every 250 ms") {
  CHECK(kafka::heartbeat_interval_ms(10000) == 250);  // the default session timeout
  CHECK(kafka::heartbeat_interval_ms(2000) == 200);
  CHECK(kafka::heartbeat_interval_ms(1000) == 100);
  CHECK(kafka::heartbeat_interval_ms(300000) == 250);
  CHECK(kafka::heartbeat_interval_ms(2) == 1);
}

TEST_CASE("a property librdkafka refuses is named, and a secret one's value is not shown") {
  const auto refusal = [](const std::string& key, const std::string& value) {
    kafka::ProducerConfig config;
    config.brokers = "127.0.0.1:1";
    config.extra = {{key, value}};
    try {
      kafka::Producer producer(config);
    } catch (const core::InfraError& e) {
      return std::string(e.what());
    }
    return std::string("created");
  };
  // librdkafka knows no such key, whatever its build.
  const std::string secret = refusal("no.such.password", "S3CRET-value");
  CHECK_THAT(secret,
             Contains("kafka property no.such.password (value not shown)") && !Contains("S3CRET"));
  // Debian's librdkafka is built without OAuth/OIDC and refuses this one.
  CHECK_THAT(refusal("sasl.oauthbearer.client.secret", "S3CRET-oauth"),
             Contains("sasl.oauthbearer.client.secret (value not shown)") && !Contains("S3CRET"));
  // Not a secret: its value helps the user, and is shown.
  CHECK_THAT(refusal("linger.ms", "not-a-number"),
             Contains("kafka property linger.ms=not-a-number"));
}

TEST_CASE("a program's --topic says which topic it is: transport names none") {
  core::OptionSet o("test", "test");
  auto k = kafka::client_options("svc", "");
  CHECK(k.topic.empty());
  CHECK_THROWS_AS(kafka::register_options(o, k, {.env = "MILLRACE_TEST_TOPIC"}), std::logic_error);
}
