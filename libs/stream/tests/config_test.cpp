#include <catch2/catch.hpp>

#include "millrace/stream/consumer.hpp"

namespace {

using namespace millrace;

stream::StreamConfig parse(std::map<std::string, std::string> env, std::vector<std::string> args) {
  stream::StreamConfig config;
  config.group = "g";
  core::OptionSet options("test", "test");
  stream::register_options(options, config);
  options.parse(env, args);
  stream::validate(config);
  return config;
}

}  // namespace

TEST_CASE("consumer settings: default < environment < flag") {
  const auto d = parse({}, {});
  CHECK(d.topic == "store-events");
  CHECK(d.batch_size == 5000);
  const auto e = parse({{"MILLRACE_BATCH_SIZE", "10"}, {"MILLRACE_TOPIC", "t1"}},
                       {"--batch-size", "20", "--kafka-properties", "fetch.wait.max.ms=50"});
  CHECK(e.topic == "t1");
  CHECK(e.batch_size == 20);
  CHECK(e.kafka_extra.at("fetch.wait.max.ms") == "50");
}

TEST_CASE("consumer setting errors name the setting") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(parse({}, {"--batch-size", "0"}), Contains("--batch-size"));
  CHECK_THROWS_WITH(parse({}, {"--kafka-properties", "novalue"}), Contains("key=value"));
  CHECK_THROWS_WITH(parse({}, {"--retry-backoff-ms", "500", "--retry-backoff-max-ms", "100"}),
                    Contains("--retry-backoff-max-ms"));
  CHECK_THROWS_WITH(parse({}, {"--group", ""}), Contains("MILLRACE_GROUP"));
  CHECK_THROWS_AS(parse({}, {"--no-such-flag"}), core::UsageError);
}
