#include "millrace/core/values.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using millrace::core::format_duration;
using millrace::core::join_list;
using millrace::core::parse_duration;
using millrace::core::split_list;
using namespace std::chrono_literals;

TEST_CASE("a duration is a whole number and its unit", "[values]") {
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("5s") == 5s);
  CHECK(parse_duration("30m") == 30min);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("7d") == 168h);
  CHECK(parse_duration("0s") == 0ms);
}

TEST_CASE("a bare number is read in the unit its setting's name carries, and refused elsewhere",
          "[values]") {
  CHECK(parse_duration("200", 1ms) == 200ms);
  CHECK(parse_duration("30", std::chrono::milliseconds(1s)) == 30s);
  CHECK(parse_duration("2s", 1ms) == 2s);
  CHECK_THROWS_WITH(parse_duration("30"),
                    "\"30\" has no unit: give one of ms, s, m, h or d, "
                    "as in 30s");
}

TEST_CASE("what is not a duration says what to write", "[values]") {
  for (const char* bad : {"", "s", "-5s", "+5s", "5 s", "1.5s"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_duration(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(parse_duration("5sec"),
                    "\"5sec\" has an unknown unit \"sec\": use ms, s, m, h or d as 250ms, 5s, "
                    "30m, 1h or 7d");
  CHECK_THROWS_WITH(parse_duration("x"),
                    "\"x\" is not a duration such as 250ms, 5s, 30m, 1h or 7d");
  CHECK_THROWS_WITH(parse_duration("9999999999999999d"),
                    "\"9999999999999999d\" is too long a duration");
  CHECK_THROWS_WITH(parse_duration("99999999999999999999ms"),
                    "\"99999999999999999999ms\" is too long a duration");
}

TEST_CASE("a duration is written in its largest exact unit and reads back", "[values]") {
  CHECK(format_duration(0ms) == "0s");
  CHECK(format_duration(200ms) == "200ms");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(90min) == "90m");
  CHECK(format_duration(48h) == "2d");
  for (const std::chrono::milliseconds d : {1ms, 999ms, 1000ms, 61000ms, 3600000ms, 86'400'001ms}) {
    CHECK(parse_duration(format_duration(d)) == d);
  }
}

TEST_CASE("a list's items are trimmed and empty ones left out", "[values]") {
  CHECK(split_list("") == std::vector<std::string>{});
  CHECK(split_list("a") == std::vector<std::string>{"a"});
  CHECK(split_list(" a , b,,c, ") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_list("x;y", ';') == std::vector<std::string>{"x", "y"});
  CHECK(join_list({"a", "b"}) == "a,b");
  CHECK(split_list(join_list({"store_events", "orders"})) ==
        std::vector<std::string>{"store_events", "orders"});
}
