// What an Event Grid filter's parse takes and refuses: a subscription's wrapper, each refusal
// named by its path, and Event Grid's limits.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "filter.hpp"
#include "filter_fixtures.hpp"

using millrace::webhooks::detail::Filter;
using millrace::webhooks::testing::change;
using millrace::webhooks::testing::one;
using millrace::webhooks::testing::takes;

namespace {

// The message parse() throws for `filter`; "" when it parses.
std::string refusal(std::string_view filter) {
  try {
    Filter::parse(filter);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("filter: a subscription-like wrapper is unwrapped", "[filter]") {
  const std::string inner =
      R"({"advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.after.discount","value":50}]})";
  const auto bare = Filter::parse(inner);
  const auto az = Filter::parse(
      R"({"deadLetterDestination":null,"destination":{"endpointType":"WebHook"},"filter":)" +
      inner +
      R"(,"id":"/subscriptions/x","labels":null,"name":"sub","provisioningState":"Succeeded",
      "type":"Microsoft.EventGrid/eventSubscriptions"})");
  const auto arm = Filter::parse(R"({"type":"Microsoft.EventGrid/systemTopics/eventSubscriptions",
      "apiVersion":"2021-12-01","properties":{"destination":{},"filter":)" +
                                 inner + "}}");
  CHECK(az == bare);
  CHECK(arm == bare);
  CHECK(az.canonical_json() == bare.canonical_json());
  CHECK(takes(az, change(R"({"discount":60})")));
  CHECK_FALSE(takes(arm, change(R"({"discount":40})")));
  // A subscription without a filter takes everything.
  CHECK(Filter::parse(R"({"filter":null})").canonical_json() == "{}");
  // Problems are named by their path in what was pasted.
  CHECK(refusal(R"({"filter":{"advancedFilters":[{"operatorType":"StringIn","key":"data.x"}]}})") ==
        R"(filter.advancedFilters[0].values: StringIn takes "values", an array)");
  CHECK(refusal(R"({"properties":{"filter":{"subjectStartsWith":"x"}}})")
            .starts_with(
                "properties.filter.subjectStartsWith: not a member of an Event Grid filter"));
  CHECK(refusal(R"({"properties":{"destination":{}}})") ==
        "properties.filter: missing: no filter to take");
  CHECK(refusal(R"({"filter":[]})") ==
        "filter: an Event Grid filter is a JSON object, not an array");
}

TEST_CASE("filter: what Event Grid refuses, by its path", "[filter]") {
  CHECK(refusal("not json").starts_with("the filter is not JSON: "));
  CHECK(refusal(R"({"a":1} x)").starts_with("the filter is not JSON: "));
  CHECK(refusal("[]") == "the filter: an Event Grid filter is a JSON object, not an array");
  CHECK(refusal(R"({"subjectStartsWith":"x"})") ==
        "subjectStartsWith: not a member of an Event Grid filter (includedEventTypes, "
        "subjectBeginsWith, subjectEndsWith, isSubjectCaseSensitive, "
        "enableAdvancedFilteringOnArrays, advancedFilters)");
  CHECK(refusal(R"({"subjectBeginsWith":"a","SubjectBeginsWith":"b"})") ==
        R"(SubjectBeginsWith: given twice (also as "subjectBeginsWith"))");
  CHECK(refusal(R"({"subjectBeginsWith":5})") == "subjectBeginsWith: a string, not a number");
  CHECK(refusal(R"({"isSubjectCaseSensitive":"true"})") ==
        "isSubjectCaseSensitive: true or false, not a string");
  CHECK(refusal(R"({"includedEventTypes":"x"})") ==
        "includedEventTypes: an array of event types, not a string");
  CHECK(refusal(R"({"includedEventTypes":[]})").starts_with("includedEventTypes: empty"));
  CHECK(refusal(R"({"includedEventTypes":["a",1]})") ==
        "includedEventTypes[1]: an event type is a string, not a number");
  CHECK(refusal(R"({"advancedFilters":{}})") ==
        "advancedFilters: an array of advanced filters, not an object");
  CHECK(refusal(R"({"advancedFilters":[5]})")
            .starts_with("advancedFilters[0]: an advanced filter is an object"));

  const auto af = [](std::string_view body) {
    return refusal(R"({"advancedFilters":[{"operatorType":"IsNotNull","key":"data.a"},)" +
                   std::string(body) + "]}");
  };
  CHECK(af(R"({"key":"data.x","values":[1]})") ==
        "advancedFilters[1].operatorType: missing; every advanced filter has one");
  CHECK(
      af(R"({"operatorType":"NumberEquals","key":"data.x","value":1})")
          .starts_with(
              R"(advancedFilters[1].operatorType: "NumberEquals" is not an Event Grid operator (NumberIn, NumberNotIn, )"));
  CHECK(af(R"({"operatorType":"stringin","key":"data.x","values":["a"]})") ==
        R"(advancedFilters[1].operatorType: "stringin" is spelled "StringIn")");
  CHECK(af(R"({"operatorType":7,"key":"data.x"})") ==
        R"(advancedFilters[1].operatorType: operatorType is a string, like "StringIn")");
  CHECK(af(R"({"operatorType":"StringIn","values":["a"]})") ==
        "advancedFilters[1].key: missing; every advanced filter names a key");
  CHECK(af(R"({"operatorType":"StringIn","key":null,"values":["a"]})") ==
        "advancedFilters[1].key: missing; every advanced filter names a key");
  CHECK(af(R"({"operatorType":"StringIn","key":"data.x","values":["a"],"negate":true})") ==
        "advancedFilters[1].negate: not a member of an advanced filter (operatorType, key, value, "
        "values)");
  // Values of the wrong shape or type.
  CHECK(af(R"({"operatorType":"StringIn","key":"data.x","values":"a"})") ==
        R"(advancedFilters[1].values: StringIn takes "values", an array)");
  CHECK(af(R"({"operatorType":"StringIn","key":"data.x","value":"a"})") ==
        R"(advancedFilters[1].value: StringIn takes "values", an array, not "value")");
  CHECK(af(R"({"operatorType":"StringIn","key":"data.x","values":["a",5]})") ==
        "advancedFilters[1].values[1]: StringIn compares strings, and this is a number");
  CHECK(af(R"({"operatorType":"StringIn","key":"data.x","values":[]})") ==
        "advancedFilters[1].values: StringIn needs at least one value");
  CHECK(af(R"({"operatorType":"NumberIn","key":"data.x","values":[1,"2"]})") ==
        "advancedFilters[1].values[1]: NumberIn compares numbers, and this is a string");
  CHECK(af(R"({"operatorType":"NumberGreaterThan","key":"data.x","values":[1]})") ==
        R"(advancedFilters[1].values: NumberGreaterThan takes "value", a number, not "values")");
  CHECK(af(R"({"operatorType":"NumberGreaterThan","key":"data.x"})") ==
        R"(advancedFilters[1].value: NumberGreaterThan takes "value", a number)");
  CHECK(af(R"({"operatorType":"NumberGreaterThan","key":"data.x","value":"50"})") ==
        "advancedFilters[1].value: NumberGreaterThan compares numbers, and this is a string");
  CHECK(af(R"({"operatorType":"BoolEquals","key":"data.x","value":"true"})") ==
        R"(advancedFilters[1].value: BoolEquals takes "value", true or false, not a string)");
  CHECK(af(R"({"operatorType":"IsNullOrUndefined","key":"data.x","value":1})") ==
        "advancedFilters[1].value: IsNullOrUndefined takes no value");
  CHECK(af(R"({"operatorType":"NumberInRange","key":"data.x","values":[1,2]})") ==
        "advancedFilters[1].values[0]: NumberInRange takes ranges, each an array [low, high] of "
        "two numbers");
  CHECK(af(R"({"operatorType":"NumberInRange","key":"data.x","values":[[1,2,3]]})") ==
        "advancedFilters[1].values[0]: NumberInRange takes ranges, each an array [low, high] of "
        "two numbers");
  CHECK(af(R"({"operatorType":"NumberNotInRange","key":"data.x","values":[[1,"2"]]})") ==
        "advancedFilters[1].values[0][1]: NumberNotInRange compares numbers, and this is a string");
  CHECK(af(R"({"operatorType":"NumberInRange","key":"data.x","values":[[5,1]]})") ==
        "advancedFilters[1].values[0]: the range's low 5 is above its high 1");
  // Keys.
  CHECK(
      af(R"({"operatorType":"StringIn","key":"specversion","values":["1.0"]})")
          .starts_with(
              R"(advancedFilters[1].key: "specversion" is not a key a Millrace event has; use id, source)"));
  CHECK(af(R"({"operatorType":"StringIn","key":"dataVersion","values":["1"]})")
            .starts_with(R"(advancedFilters[1].key: "dataVersion" is not a key)"));
  CHECK(af(R"({"operatorType":"StringIn","key":"subject.x","values":["a"]})")
            .starts_with(R"(advancedFilters[1].key: "subject.x": only data has fields)"));
  CHECK(af(R"({"operatorType":"StringIn","key":"data..x","values":["a"]})") ==
        R"(advancedFilters[1].key: "data..x" has an empty field name)");
  CHECK(af(R"({"operatorType":"StringIn","key":"data.","values":["a"]})") ==
        R"(advancedFilters[1].key: "data." has an empty field name)");
  CHECK(af(R"({"operatorType":"StringIn","key":"","values":["a"]})")
            .starts_with("advancedFilters[1].key: empty; use id"));
  CHECK(af(R"({"operatorType":"StringIn","key":5,"values":["a"]})") ==
        R"(advancedFilters[1].key: key is a string, like "data.after.discount")");
  // Numbers JSON cannot hold as a double are not numbers Event Grid takes.
  CHECK(af(R"({"operatorType":"NumberIn","key":"data.x","values":[1e400]})")
            .starts_with("the filter is not JSON: "));
}

TEST_CASE("filter: Event Grid's limits", "[filter]") {
  const auto filters = [](int n, const char* each) {
    std::string f = R"({"advancedFilters":[)";
    for (int i = 0; i < n; ++i) f += (i ? "," : "") + std::string(each);
    return f + "]}";
  };
  const auto is_not_null = R"({"operatorType":"IsNotNull","key":"data.x"})";
  const auto greater = R"({"operatorType":"NumberGreaterThan","key":"data.x","value":1})";
  // 25 advanced filters.
  CHECK(refusal(filters(25, is_not_null)).empty());
  CHECK(refusal(filters(26, is_not_null)) ==
        "advancedFilters[25]: advanced filter 26, over Event Grid's limit of 25");
  // 25 filter values across all of them: a single value counts, as does each range.
  CHECK(refusal(filters(25, greater)).empty());
  CHECK(refusal(R"({"advancedFilters":[
      {"operatorType":"StringIn","key":"data.x","values":["1","2","3","4","5","6","7","8","9","10",
          "11","12","13","14","15","16","17","18","19","20"]},
      {"operatorType":"NumberInRange","key":"data.y","values":[[0,1],[2,3],[4,5],[6,7]]},
      {"operatorType":"BoolEquals","key":"data.z","value":true},
      {"operatorType":"NumberIn","key":"data.w","values":[1]}]})") ==
        "advancedFilters[3].values[0]: a 26th filter value, over Event Grid's limit of 25 values "
        "across all advanced filters");
  CHECK(refusal(R"({"advancedFilters":[
      {"operatorType":"StringIn","key":"data.x","values":["1","2","3","4","5","6","7","8","9","10",
          "11","12","13","14","15","16","17","18","19","20"]},
      {"operatorType":"NumberInRange","key":"data.y","values":[[0,1],[2,3],[4,5],[6,7]]},
      {"operatorType":"IsNullOrUndefined","key":"data.v"},
      {"operatorType":"BoolEquals","key":"data.z","value":true}]})")
            .empty());
  // 512 characters per string value, counted as .NET counts them (UTF-16 code units).
  const auto of_length = [](const std::string& s) {
    return one("StringContains", "data.x", R"("values":[")" + s + "\"]");
  };
  CHECK(refusal(of_length(std::string(512, 'a'))).empty());
  CHECK(refusal(of_length(std::string(513, 'a'))) ==
        "advancedFilters[0].values[0]: 513 characters, over Event Grid's limit of 512 per string "
        "value");
  std::string e_acute;
  for (int i = 0; i < 512; ++i) e_acute += "é";  // 1024 bytes, 512 characters
  CHECK(refusal(of_length(e_acute)).empty());
  std::string emoji;
  for (int i = 0; i < 257; ++i) emoji += "\xF0\x9F\x98\x80";  // each 2 UTF-16 units
  CHECK(refusal(of_length(emoji)).find("514 characters") != std::string::npos);
}
