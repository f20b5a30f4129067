#include "millrace/core/property_list.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using millrace::core::parse_property_list;
using millrace::core::property_items;
using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("a property list's items are split at the commas that are not escaped",
          "[property-list]") {
  CHECK(property_items("") == std::vector<std::string_view>{""});
  CHECK(property_items("a=1, b=2,,c") == std::vector<std::string_view>{"a=1", " b=2", "", "c"});
  CHECK(property_items("a=x\\,y=z,b") == std::vector<std::string_view>{"a=x\\,y=z", "b"});
  // A backslash before anything but a comma separates nothing.
  CHECK(property_items("a=C:\\certs,b=1") == std::vector<std::string_view>{"a=C:\\certs", "b=1"});
}

TEST_CASE("a property list reads as key=value pairs, lists and escaped commas kept in values",
          "[property-list]") {
  CHECK(parse_property_list("").empty());
  CHECK(parse_property_list(" , ").empty());
  CHECK(parse_property_list("a=1, b = 2 ,,c=") == Pairs{{"a", "1"}, {"b ", " 2"}, {"c", ""}});
  CHECK(parse_property_list("a=1,a=2") == Pairs{{"a", "1"}, {"a", "2"}});
  CHECK(parse_property_list("debug=cgrp,fetch, topic,linger.ms=5") ==
        Pairs{{"debug", "cgrp,fetch,topic"}, {"linger.ms", "5"}});
  CHECK(parse_property_list("x=a=1\\,b=2,y=3") == Pairs{{"x", "a=1,b=2"}, {"y", "3"}});
  // A keyless item continues the value before it, whatever it holds.
  CHECK(parse_property_list("a=1,=2") == Pairs{{"a", "1,=2"}});
  CHECK(parse_property_list("p=C:\\dir\\f") == Pairs{{"p", "C:\\dir\\f"}});
  CHECK_THROWS_AS(parse_property_list("lone"), std::invalid_argument);
  CHECK_THROWS_AS(parse_property_list(",=1"), std::invalid_argument);
}
