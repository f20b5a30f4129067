#include <catch2/catch.hpp>

#include "millrace/core/parse_config.hpp"
#include "millrace/stream/consumer.hpp"

namespace {

using namespace millrace;

// A service sets its topic and what --topic means (the sink: the store
// event's, from its declaration); the stream names none.
const kafka::TopicOption kTopicOption{.env = "MILLRACE_TOPIC", .help = "The topic read"};

stream::StreamConfig parse(std::map<std::string, std::string> env, std::vector<std::string> args) {
  auto defaults = stream::service_defaults("sink", "t0", kTopicOption);
  defaults.group = "g";
  return core::parse_config(env, args, defaults);
}

}  // namespace

TEST_CASE("consumer settings: default < environment < flag") {
  const auto d = parse({}, {});
  CHECK(d.kafka.topic == "t0");
  CHECK(d.batch_size == 5000);
  const auto e = parse({{"MILLRACE_BATCH_SIZE", "10"}, {"MILLRACE_TOPIC", "t1"}},
                       {"--batch-size", "20", "--kafka-properties", "fetch.wait.max.ms=50"});
  CHECK(e.kafka.topic == "t1");
  CHECK(e.batch_size == 20);
  CHECK(e.kafka.extra.at("fetch.wait.max.ms") == "50");
}

TEST_CASE("consumer setting errors name the setting") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(parse({}, {"--batch-size", "0"}), Contains("--batch-size"));
  CHECK_THROWS_WITH(parse({}, {"--kafka-properties", "novalue"}), Contains("key=value"));
  CHECK_THROWS_WITH(parse({}, {"--retry-backoff-ms", "500", "--retry-backoff-max-ms", "100"}),
                    Contains("--retry-backoff-max-ms"));
  CHECK_THROWS_WITH(parse({}, {"--group", ""}), Contains("--group"));
  CHECK_THROWS_AS(parse({}, {"--no-such-flag"}), core::UsageError);
}

TEST_CASE("what exactly-once rests on cannot be overridden through Kafka properties") {
  using Catch::Matchers::Contains;
  for (const char* key :
       {"auto.offset.reset", "partition.assignment.strategy", "enable.auto.commit",
        "auto.commit.enable", "enable.auto.offset.store", "group.id"}) {
    INFO(key);
    CHECK_THROWS_WITH(parse({{"MILLRACE_KAFKA_PROPERTIES", std::string(key) + "=x"}}, {}),
                      Contains(key) && Contains("cannot be overridden"));
  }
  // Tuning stays open.
  CHECK(parse({{"MILLRACE_KAFKA_PROPERTIES", "fetch.wait.max.ms=10,auto.commit.interval.ms=5"}}, {})
            .kafka.extra.size() == 2);
}

TEST_CASE("refusal tolerance, the gap policy and session bounds are checked and derived") {
  using Catch::Matchers::Contains;
  const auto d = parse({}, {});
  CHECK(d.errors_tolerance == stream::ErrorsTolerance::kAll);
  CHECK(d.on_offset_gap == stream::OffsetGap::kFail);
  CHECK(d.pg.limits.lock_timeout_ms < d.pg.limits.idle_in_transaction_timeout_ms);
  const auto e = parse({{"MILLRACE_ERRORS_TOLERANCE", "none"}, {"MILLRACE_ON_OFFSET_GAP", "skip"}},
                       {"--pg-statement-timeout-ms", "0"});
  CHECK(e.errors_tolerance == stream::ErrorsTolerance::kNone);
  CHECK(e.on_offset_gap == stream::OffsetGap::kSkip);
  CHECK(e.pg.limits.statement_timeout_ms == 0);
  CHECK_THROWS_WITH(parse({{"MILLRACE_ERRORS_TOLERANCE", "some"}}, {}),
                    Contains("MILLRACE_ERRORS_TOLERANCE"));
  CHECK_THROWS_WITH(parse({{"MILLRACE_ON_OFFSET_GAP", "earliest"}}, {}),
                    Contains("MILLRACE_ON_OFFSET_GAP"));
  CHECK_THROWS_WITH(parse({}, {"--pg-tcp-user-timeout-ms", "10"}),
                    Contains("--pg-tcp-user-timeout-ms"));
}

TEST_CASE("each service reads its own group variable, and the shared one is refused") {
  using Catch::Matchers::Contains;
  CHECK(parse({{"MILLRACE_SINK_GROUP", "s1"}}, {}).group == "s1");
  CHECK_THROWS_WITH(parse({{"MILLRACE_GROUP", "g"}}, {}),
                    Contains("MILLRACE_GROUP") && Contains("MILLRACE_SINK_GROUP"));
  auto config = stream::service_defaults("aggregator", "t0", kTopicOption);
  core::OptionSet options("test", "test");
  stream::register_options(options, config);
  options.parse({{"MILLRACE_AGGREGATOR_GROUP", "a1"}, {"MILLRACE_SINK_GROUP", "s1"}}, {});
  CHECK(config.group == "a1");
}
