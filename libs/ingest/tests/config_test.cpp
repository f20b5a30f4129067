#include "millrace/ingest/config.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/parse_config.hpp"

namespace {
using namespace millrace;

ingest::ProducerConfig parse(std::map<std::string, std::string> env,
                             std::vector<std::string> args) {
  return core::parse_config<ingest::ProducerConfig>(env, args);
}

std::string describe(std::map<std::string, std::string> env) {
  ingest::ProducerConfig config;
  core::OptionSet options("millrace-producer", "test");
  ingest::register_options(options, config);
  options.parse(env, {});
  return options.describe();
}
}  // namespace

TEST_CASE("producer configuration: defaults", "[ingest]") {
  const auto c = parse({}, {});
  CHECK(c.host == "127.0.0.1");
  CHECK(c.port == 8080);
  CHECK(c.kafka.topic == "store-events");
  CHECK(c.http_threads == 2);
  CHECK(c.max_body_bytes == 1048576);
  CHECK(c.auth_token.empty());
  CHECK(c.produce_timeout_ms == 10000);
  CHECK(c.queue_max_messages == 100000);
  CHECK(c.kafka.extra.at("queue.buffering.max.messages") == "100000");
}

TEST_CASE("producer configuration: environment, flags over it", "[ingest]") {
  const auto c = parse({{"MILLRACE_HTTP_ADDR", "0.0.0.0:9000"},
                        {"MILLRACE_HTTP_THREADS", "32"},
                        {"MILLRACE_AUTH_TOKEN", "t0ken"},
                        {"MILLRACE_QUEUE_MAX_MESSAGES", "500"},
                        {"MILLRACE_KAFKA_PROPERTIES", "linger.ms=1"}},
                       {"--http-addr", "[::1]:0", "--max-body-bytes", "4096"});
  CHECK(c.host == "::1");
  CHECK(c.port == 0);
  CHECK(c.http_threads == 32);
  CHECK(c.max_body_bytes == 4096);
  CHECK(c.auth_token == "t0ken");
  CHECK(c.kafka.extra.at("linger.ms") == "1");
  CHECK(c.kafka.extra.at("queue.buffering.max.messages") == "500");
}

TEST_CASE("producer configuration: bad values name the setting", "[ingest]") {
  for (const std::string addr : {"8080", "host:", ":8080", "h:70000", "h:8x", "::1:80"}) {
    INFO(addr);
    CHECK_THROWS_WITH(parse({{"MILLRACE_HTTP_ADDR", addr}}, {}),
                      Catch::Contains("MILLRACE_HTTP_ADDR"));
  }
  CHECK_THROWS_WITH(parse({}, {"--http-threads", "0"}), Catch::Contains("--http-threads"));
  CHECK_THROWS_WITH(parse({}, {"--max-body-bytes", "0"}), Catch::Contains("--max-body-bytes"));
  CHECK_THROWS_WITH(parse({}, {"--produce-timeout-ms", "5"}),
                    Catch::Contains("--produce-timeout-ms"));
  CHECK_THROWS_WITH(parse({{"MILLRACE_BROKERS", ""}}, {}), Catch::Contains("MILLRACE_BROKERS"));
  CHECK_THROWS_WITH(parse({{"MILLRACE_KAFKA_PROPERTIES", "nonsense"}}, {}),
                    Catch::Contains("MILLRACE_KAFKA_PROPERTIES"));
  // Settings with their own variable cannot be given twice.
  CHECK_THROWS_WITH(parse({{"MILLRACE_KAFKA_PROPERTIES", "message.timeout.ms=5"}}, {}),
                    Catch::Contains("MILLRACE_PRODUCE_TIMEOUT_MS"));
  CHECK_THROWS_WITH(parse({{"MILLRACE_KAFKA_PROPERTIES", "queue.buffering.max.messages=5"}}, {}),
                    Catch::Contains("MILLRACE_QUEUE_MAX_MESSAGES"));
}

TEST_CASE("producer configuration: the token never shows", "[ingest]") {
  const auto text = describe({{"MILLRACE_AUTH_TOKEN", "hunter2-secret"}});
  CHECK(text.find("hunter2-secret") == std::string::npos);
  CHECK(text.find("auth-token") != std::string::npos);
}

TEST_CASE("producer configuration: beyond loopback a token is required, unless opened on purpose",
          "[ingest]") {
  CHECK_THROWS_WITH(parse({{"MILLRACE_HTTP_ADDR", "0.0.0.0:8080"}}, {}),
                    Catch::Contains("beyond loopback") && Catch::Contains("MILLRACE_AUTH_TOKEN"));
  CHECK_THROWS_WITH(parse({{"MILLRACE_HTTP_ADDR", "[::]:8080"}}, {}),
                    Catch::Contains("MILLRACE_HTTP_ALLOW_OPEN"));
  CHECK(parse({{"MILLRACE_HTTP_ADDR", "0.0.0.0:8080"}, {"MILLRACE_AUTH_TOKEN", "t"}}, {}).port ==
        8080);
  CHECK(parse({{"MILLRACE_HTTP_ADDR", "0.0.0.0:8080"}, {"MILLRACE_HTTP_ALLOW_OPEN", "true"}}, {})
            .allow_open);
  // On loopback the token stays optional.
  CHECK(parse({{"MILLRACE_HTTP_ADDR", "127.0.0.1:8080"}}, {}).auth_token.empty());
  CHECK(parse({{"MILLRACE_HTTP_ADDR", "localhost:0"}}, {}).auth_token.empty());
}
