#include "millrace/runtime/registry.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace millrace::runtime;

TEST_CASE("the registry names every service once, with its program and port", "[registry]") {
  const auto& all = services();
  REQUIRE_FALSE(all.empty());
  std::set<std::string> names;
  for (const auto& s : all) {
    INFO(s.name);
    CHECK(names.insert(s.name).second);
    CHECK(s.program == "millrace-" + s.name);
    CHECK_FALSE(s.summary.empty());
    CHECK(s.metrics_port > 0);
  }
  CHECK(service("sink").consumer_group);
  CHECK(service("sink").database_role == "own");
  CHECK_FALSE(service("changefeed").consumer_group);
  CHECK_THROWS_WITH(service("nosuch"), Catch::Contains("no service \"nosuch\""));
}

TEST_CASE("only a service with a role of its own has grants", "[registry]") {
  for (const auto& s : services()) {
    INFO(s.name);
    if (s.database_role != "own") CHECK(s.grants.empty());
    for (const auto& g : s.grants) {
      CHECK_FALSE(g.privileges.empty());
      CHECK_FALSE(g.tables.empty());
    }
  }
}
