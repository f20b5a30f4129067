// An Event Grid filter's canonical form: canonical_json's fixed order, and equal filters
// printing equal.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>

#include "filter.hpp"
#include "filter_fixtures.hpp"

using millrace::webhooks::detail::Filter;
using millrace::webhooks::testing::one;
using millrace::webhooks::testing::takes;

TEST_CASE("filter: canonical_json prints the filter in a fixed order, defaults left out",
          "[filter]") {
  const auto f = Filter::parse(R"({
      "AdvancedFilters":[
        {"values":["kitchen","Garden"],"Key":"Data.after.category","operatorType":"StringIn"},
        {"value":5e1,"operatorType":"NumberGreaterThan","key":"data.after.discount"},
        {"key":"EventType","operatorType":"StringBeginsWith","values":["com.millrace."]},
        {"operatorType":"NumberInRange","key":"data.n","values":[[0.50,1E+21],[-3,-0.0000001]]},
        {"operatorType":"IsNullOrUndefined","key":"topic"},
        {"operatorType":"BoolEquals","key":"data.ok","value":false}],
      "enableAdvancedFilteringOnArrays":true,
      "isSubjectCaseSensitive":false,
      "subjectEndsWith":"",
      "subjectBeginsWith":"public.",
      "includedEventTypes":["com.millrace.row.created"]})");
  const std::string expected =
      R"({"includedEventTypes":["com.millrace.row.created"],"subjectBeginsWith":"public.",)"
      R"("enableAdvancedFilteringOnArrays":true,"advancedFilters":[)"
      R"({"operatorType":"StringIn","key":"data.after.category","values":["kitchen","Garden"]},)"
      R"({"operatorType":"NumberGreaterThan","key":"data.after.discount","value":50},)"
      R"({"operatorType":"StringBeginsWith","key":"type","values":["com.millrace."]},)"
      R"({"operatorType":"NumberInRange","key":"data.n","values":[[0.5,1e21],[-3,-1e-7]]},)"
      R"({"operatorType":"IsNullOrUndefined","key":"source"},)"
      R"({"operatorType":"BoolEquals","key":"data.ok","value":false}]})";
  CHECK(f.canonical_json() == expected);
  // It parses back to the same filter, and prints the same again.
  const auto again = Filter::parse(f.canonical_json());
  CHECK(again == f);
  CHECK(again.canonical_json() == expected);
  // The numbers it prints are plain JSON numbers.
  rapidjson::Document d;
  d.Parse(f.canonical_json().c_str());
  REQUIRE(d.IsObject());
  CHECK(d["advancedFilters"][1]["value"].GetInt() == 50);
  CHECK(d["advancedFilters"][3]["values"][0][0].GetDouble() == 0.5);
  CHECK(d["advancedFilters"][3]["values"][1][1].GetDouble() == -1e-7);
  // isSubjectCaseSensitive and the array switch print only when on.
  CHECK(Filter::parse(R"({"isSubjectCaseSensitive":true,"subjectEndsWith":".jpg"})")
            .canonical_json() == R"({"subjectEndsWith":".jpg","isSubjectCaseSensitive":true})");
  CHECK(Filter::parse(R"({"isSubjectCaseSensitive":false,"enableAdvancedFilteringOnArrays":false,
      "advancedFilters":[],"includedEventTypes":null,"subjectBeginsWith":null})")
            .canonical_json() == "{}");
}

TEST_CASE("filter: equal filters print equal, different ones do not", "[filter]") {
  const auto a = Filter::parse(
      R"({"subjectBeginsWith":"x","advancedFilters":[{"operatorType":"NumberIn","key":"data.n","values":[1.50,2]}]})");
  const auto b = Filter::parse(
      R"({"filter":{"advancedFilters":[{"key":"DATA.n","values":[15e-1,2.0],"operatorType":"NumberIn"}],"SubjectBeginsWith":"x"}})");
  CHECK(a == b);
  CHECK(a.canonical_json() == b.canonical_json());
  const auto c = Filter::parse(
      R"({"subjectBeginsWith":"x","advancedFilters":[{"operatorType":"NumberIn","key":"data.N","values":[1.5,2]}]})");
  CHECK_FALSE(a == c);
  CHECK(a.canonical_json() != c.canonical_json());
  // Strings keep their case and their escapes round-trip.
  const auto s = Filter::parse(one("StringIn", "data.x", R"("values":["Küche \"A\"\n\\"])"));
  CHECK(Filter::parse(s.canonical_json()) == s);
  CHECK(takes(s, R"({"x":"KÜCHE \"a\"\n\\"})"));
}
