#include "millrace/webhooks/config.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/failure.hpp"
#include "millrace/core/parse_config.hpp"

using namespace millrace;
using Catch::Matchers::Contains;

namespace {
webhooks::WebhooksConfig parse(std::map<std::string, std::string> env,
                               std::vector<std::string> args) {
  return core::parse_config<webhooks::WebhooksConfig>(env, args);
}
}  // namespace

TEST_CASE("the webhooks read the change topic under their own variables") {
  const auto d = parse({{"MILLRACE_TOPIC", "store-events"}, {"MILLRACE_SINK_GROUP", "sinks"}}, {});
  CHECK(d.stream.kafka.topic == "millrace.changes");
  CHECK(d.stream.group == "millrace-webhooks");
  CHECK(d.stream.service == "webhooks");
  CHECK(d.timeout_ms == 15000);
  CHECK(d.schedule.delays.size() == 7);
  CHECK_FALSE(d.allow_private);
  CHECK(d.stream.kafka.extra.at("fetch.wait.max.ms") == "20");
  const auto e = parse({{"MILLRACE_CHANGES_TOPIC", "changes"},
                        {"MILLRACE_WEBHOOKS_GROUP", "hooks"},
                        {"MILLRACE_WEBHOOKS_ALLOW_PRIVATE", "true"},
                        {"MILLRACE_WEBHOOKS_RETRY_SCHEDULE", "1s,2s"}},
                       {"--timeout-ms", "2000"});
  CHECK(e.stream.kafka.topic == "changes");
  CHECK(e.stream.group == "hooks");
  CHECK(e.allow_private);
  CHECK(e.timeout_ms == 2000);
  CHECK(e.schedule.delays.size() == 2);
  const auto f = parse({{"MILLRACE_KAFKA_PROPERTIES", "fetch.wait.max.ms=200"}}, {});
  CHECK(f.stream.kafka.extra.at("fetch.wait.max.ms") == "200");
}

TEST_CASE("a bad retry schedule is a usage error naming the setting") {
  CHECK_THROWS_WITH(parse({{"MILLRACE_WEBHOOKS_RETRY_SCHEDULE", "5s,soon"}}, {}),
                    Contains("MILLRACE_WEBHOOKS_RETRY_SCHEDULE") && Contains("soon"));
}

TEST_CASE("a batch's send budget must leave PostgreSQL's lock and idle bounds room") {
  CHECK(parse({}, {}).direct_ms == 1000);
  CHECK(parse({{"MILLRACE_WEBHOOKS_DIRECT_MS", "1999"}}, {}).direct_ms == 1999);
  // Twice the budget and a second: 5,000 ms, not under the 5 s lock_timeout.
  CHECK_THROWS_WITH(parse({{"MILLRACE_WEBHOOKS_DIRECT_MS", "2000"}}, {}),
                    Contains("MILLRACE_WEBHOOKS_DIRECT_MS") && Contains("--pg-lock-timeout-ms"));
  CHECK_THROWS_WITH(parse({{"MILLRACE_WEBHOOKS_DIRECT_MS", "500"}},
                          {"--pg-idle-in-transaction-timeout-ms", "2000"}),
                    Contains("--pg-idle-in-transaction-timeout-ms"));
  // Off, or a bound turned off, leaves nothing to check.
  CHECK(parse({{"MILLRACE_WEBHOOKS_DIRECT_MS", "0"}}, {"--pg-lock-timeout-ms", "100"}).direct_ms ==
        0);
  CHECK(parse({{"MILLRACE_WEBHOOKS_DIRECT_MS", "2000"}},
              {"--pg-lock-timeout-ms", "0", "--pg-idle-in-transaction-timeout-ms", "0"})
            .direct_ms == 2000);
}
