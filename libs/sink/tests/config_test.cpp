#include "millrace/sink/config.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/parse_config.hpp"

namespace {

using namespace millrace;

sink::SinkConfig parse(std::map<std::string, std::string> env, std::vector<std::string> args) {
  return core::parse_config<sink::SinkConfig>(env, args);
}

}  // namespace

TEST_CASE("sink configuration: defaults, environment, flags") {
  const auto d = parse({}, {});
  CHECK(d.stream.kafka.topic == "store-events");
  CHECK(d.dlq_topic == "store-events.dlq");
  CHECK(d.stream.group == "millrace-sink");
  CHECK(d.filter.keep_sale);
  CHECK(d.filter.keep_inventory);
  CHECK(d.filter.min_discount_exclusive == core::Decimal::from_integer(20));

  const auto e = parse({{"MILLRACE_TOPIC", "t1"},
                        {"MILLRACE_MIN_DISCOUNT", "12.5"},
                        {"MILLRACE_KEEP_TYPES", "sale_event"},
                        {"MILLRACE_BATCH_SIZE", "10"}},
                       {"--batch-size", "20", "--kafka-properties", "fetch.wait.max.ms=50"});
  CHECK(e.stream.kafka.topic == "t1");
  CHECK(e.dlq_topic == "t1.dlq");
  CHECK(e.stream.batch_size == 20);  // the flag wins over the environment
  CHECK(e.filter.min_discount_exclusive == *core::Decimal::parse("12.5"));
  CHECK(e.filter.keep_sale);
  CHECK_FALSE(e.filter.keep_inventory);
  CHECK(e.stream.kafka.extra.at("fetch.wait.max.ms") == "50");

  // Store spans in days, fractions allowed: six hours kept, two hours ahead.
  CHECK(d.store_retention_days == 0);
  CHECK(d.store_ahead_days == 2);
  const auto f =
      parse({{"MILLRACE_STORE_RETENTION_DAYS", "0.25"}}, {"--store-ahead-days", "0.0833333"});
  CHECK(f.store_retention_days == 0.25);
  CHECK(f.store_ahead_days == Approx(2.0 / 24).epsilon(1e-5));
}

TEST_CASE("sink configuration errors name the setting") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(parse({{"MILLRACE_KEEP_TYPES", "refund_event"}}, {}), Contains("refund_event"));
  CHECK_THROWS_WITH(parse({}, {"--min-discount", "101"}), Contains("--min-discount"));
  CHECK_THROWS_WITH(parse({}, {"--min-discount", "abc"}), Contains("abc"));
  CHECK_THROWS_WITH(parse({}, {"--dlq-topic", "store-events"}), Contains("--dlq-topic"));
  CHECK_THROWS_WITH(parse({}, {"--batch-size", "0"}), Contains("--batch-size"));
  CHECK_THROWS_WITH(parse({}, {"--kafka-properties", "novalue"}), Contains("key=value"));
  CHECK_THROWS_WITH(parse({}, {"--retry-backoff-ms", "500", "--retry-backoff-max-ms", "100"}),
                    Contains("--retry-backoff-max-ms"));
  CHECK_THROWS_AS(parse({}, {"--no-such-flag"}), core::UsageError);
  // A retention under a minute would drop the partition being written.
  CHECK_THROWS_WITH(parse({{"MILLRACE_STORE_RETENTION_DAYS", "0.0001"}}, {}),
                    Contains("MILLRACE_STORE_RETENTION_DAYS") && Contains("at least a minute"));
  CHECK_THROWS_WITH(parse({}, {"--store-retention-days", "-1"}),
                    Contains("--store-retention-days"));
}

TEST_CASE("sink configuration: --enrich takes a kind that declares enrich") {
  using Catch::Matchers::Contains;
  // Orders declare none; the store event does.
  CHECK_THROWS_WITH(parse({}, {"--kind", "order", "--order-pii", "keep", "--enrich"}),
                    Contains("--enrich") && Contains("order declares no \"enrich\""));
  CHECK(parse({}, {"--enrich"}).enrich);
  // Trades declare an asset, and no sku.
  CHECK(parse({}, {"--kind", "trade", "--enrich"}).enrich);
  // The store event's keep defaults come from its declaration's rule.
  const auto d = parse({}, {});
  CHECK(d.min_discount == "20");
  CHECK(d.keep_types == std::vector<std::string>{"sale_event", "inventory_event"});
}
