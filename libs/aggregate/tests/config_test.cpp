#include "millrace/aggregate/config.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/parse_config.hpp"

namespace {
using namespace millrace;

aggregate::AggregatorConfig parse(std::map<std::string, std::string> env,
                                  std::vector<std::string> args) {
  return core::parse_config<aggregate::AggregatorConfig>(env, args);
}
}  // namespace

TEST_CASE("aggregator configuration: its own group and lateness limits") {
  const auto d = parse({}, {});
  CHECK(d.stream.group == "millrace-aggregator");
  CHECK(d.max_lateness_s == 7 * 86400);
  CHECK(d.max_future_s == 3600);
  const auto e = parse({{"MILLRACE_MAX_LATENESS_S", "3600"}}, {"--max-future-s", "60"});
  CHECK(e.max_lateness_s == 3600);
  CHECK(e.max_future_s == 60);
  CHECK_THROWS_WITH(parse({}, {"--max-lateness-s", "-1"}), Catch::Contains("--max-lateness-s"));
}
