// An endpoint's Azure Event Grid filter (filter.hpp): its type and subject members, and what each
// advanced filter's operator takes, a missing key or a value of another type too.
#include "filter.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "filter_fixtures.hpp"

using millrace::webhooks::detail::Filter;
using millrace::webhooks::testing::Attributes;
using millrace::webhooks::testing::change;
using millrace::webhooks::testing::one;
using millrace::webhooks::testing::takes;

TEST_CASE("filter: the change-event filter the project runs end to end", "[filter]") {
  const auto f = Filter::parse(R"({"advancedFilters":[
      {"operatorType":"NumberGreaterThan","key":"data.after.discount","value":50},
      {"operatorType":"StringIn","key":"data.after.category","values":["kitchen","Garden"]}]})");
  CHECK(f.reads_data());
  CHECK(takes(f, change(R"({"event_type":"sale_event","discount":60,"category":"Kitchen"})")));
  CHECK_FALSE(
      takes(f, change(R"({"event_type":"sale_event","discount":50,"category":"Kitchen"})")));
  CHECK_FALSE(takes(f, change(R"({"event_type":"sale_event","discount":60,"category":"Toys"})")));
  // The second value of the StringIn ORs with the first.
  CHECK(takes(f, change(R"({"event_type":"sale_event","discount":60,"category":"GARDEN"})")));
  // A delete has no after: both keys are missing, and neither operator matches a missing key.
  CHECK_FALSE(takes(f, R"({"table":"public.store_events","op":"d","after":null})"));
}

TEST_CASE("filter: an empty filter takes every event", "[filter]") {
  const auto f = Filter::parse("{}");
  CHECK_FALSE(f.reads_data());
  CHECK(takes(f, ""));
  CHECK(takes(f, change("{}")));
  CHECK(f.canonical_json() == "{}");
}

TEST_CASE("filter: includedEventTypes is an exact match of the type, All takes every type",
          "[filter]") {
  const auto f = Filter::parse(
      R"({"includedEventTypes":["com.millrace.row.created","com.millrace.row.deleted"]})");
  Attributes a;
  CHECK(takes(f, "", a));
  a.type = "com.millrace.row.deleted";
  CHECK(takes(f, "", a));
  a.type = "com.millrace.row.updated";
  CHECK_FALSE(takes(f, "", a));
  // "an exact match" (subscription-creation-schema): case counts.
  a.type = "COM.MILLRACE.ROW.CREATED";
  CHECK_FALSE(takes(f, "", a));
  CHECK(takes(R"({"includedEventTypes":["All"]})", "", a));
  CHECK(takes(R"({"includedEventTypes":null})", "", a));
}

TEST_CASE("filter: subjectBeginsWith and subjectEndsWith, case-insensitive by default",
          "[filter]") {
  Attributes a;
  a.subject = "public.store_events/2026-11-28/Kitchen.JPG";
  CHECK(takes(R"({"subjectBeginsWith":"public.store_events/"})", "", a));
  CHECK(takes(R"({"subjectBeginsWith":"PUBLIC.Store_Events"})", "", a));
  CHECK(takes(R"({"subjectEndsWith":".jpg"})", "", a));
  CHECK_FALSE(takes(R"({"subjectEndsWith":".png"})", "", a));
  CHECK_FALSE(takes(R"({"subjectBeginsWith":"public.orders/"})", "", a));
  // Both must hold.
  CHECK(takes(R"({"subjectBeginsWith":"public.","subjectEndsWith":".jpg"})", "", a));
  CHECK_FALSE(takes(R"({"subjectBeginsWith":"public.","subjectEndsWith":".png"})", "", a));
  // isSubjectCaseSensitive makes case count, for both.
  CHECK_FALSE(takes(R"({"subjectEndsWith":".jpg","isSubjectCaseSensitive":true})", "", a));
  CHECK(takes(R"({"subjectEndsWith":".JPG","isSubjectCaseSensitive":true})", "", a));
  CHECK_FALSE(takes(R"({"subjectBeginsWith":"PUBLIC","isSubjectCaseSensitive":true})", "", a));
  CHECK(takes(R"({"subjectBeginsWith":"PUBLIC","isSubjectCaseSensitive":false})", "", a));
  // "" matches every subject.
  CHECK(takes(R"({"subjectBeginsWith":"","subjectEndsWith":""})", "", a));
  // Beyond ASCII too.
  a.subject = "public.store_events/Küche";
  CHECK(takes(R"({"subjectEndsWith":"/KÜCHE"})", "", a));
}

TEST_CASE("filter: the type, subject and advanced filters are ANDed", "[filter]") {
  const auto f = Filter::parse(R"({"includedEventTypes":["com.millrace.row.created"],
      "subjectBeginsWith":"public.store_events",
      "advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.after.n","value":1},
                         {"operatorType":"NumberLessThan","key":"data.after.n","value":10}]})");
  Attributes a;
  CHECK(takes(f, change(R"({"n":5})"), a));
  CHECK_FALSE(takes(f, change(R"({"n":10})"), a));
  CHECK_FALSE(takes(f, change(R"({"n":1})"), a));
  a.subject = "public.orders/1";
  CHECK_FALSE(takes(f, change(R"({"n":5})"), a));
  a = {};
  a.type = "com.millrace.row.updated";
  CHECK_FALSE(takes(f, change(R"({"n":5})"), a));
}

TEST_CASE("filter: NumberIn ORs its values, NumberNotIn needs the key to be none of them",
          "[filter]") {
  const auto in = one("NumberIn", "data.n", R"("values":[5,1])");
  CHECK(takes(in, R"({"n":5})"));
  CHECK(takes(in, R"({"n":1})"));
  CHECK(takes(in, R"({"n":1.0})"));
  CHECK_FALSE(takes(in, R"({"n":2})"));
  const auto not_in = one("NumberNotIn", "data.n", R"("values":[41,0])");
  CHECK(takes(not_in, R"({"n":40})"));
  CHECK_FALSE(takes(not_in, R"({"n":41})"));
  CHECK_FALSE(takes(not_in, R"({"n":0})"));
  CHECK_FALSE(takes(not_in, R"({"n":-0.0})"));
}

TEST_CASE("filter: the number comparisons, at their boundaries", "[filter]") {
  const auto lt = one("NumberLessThan", "data.n", R"("value":100)");
  const auto gt = one("NumberGreaterThan", "data.n", R"("value":20)");
  const auto le = one("NumberLessThanOrEquals", "data.n", R"("value":100)");
  const auto ge = one("NumberGreaterThanOrEquals", "data.n", R"("value":30)");
  CHECK(takes(lt, R"({"n":99.999})"));
  CHECK_FALSE(takes(lt, R"({"n":100})"));
  CHECK(takes(lt, R"({"n":-1e300})"));
  CHECK(takes(gt, R"({"n":20.5})"));
  CHECK_FALSE(takes(gt, R"({"n":20})"));
  CHECK(takes(le, R"({"n":100})"));
  CHECK_FALSE(takes(le, R"({"n":100.0001})"));
  CHECK(takes(ge, R"({"n":30})"));
  CHECK_FALSE(takes(ge, R"({"n":29.99})"));
  // Negative numbers order as numbers.
  const auto neg = one("NumberGreaterThan", "data.n", R"("value":-5.5)");
  CHECK(takes(neg, R"({"n":-5})"));
  CHECK_FALSE(takes(neg, R"({"n":-6})"));
}

TEST_CASE("filter: NumberInRange takes [low, high] pairs, inclusive, ORed", "[filter]") {
  const auto in = one("NumberInRange", "data.key1", R"("values":[[3.14159,999.95],[3000,4000]])");
  CHECK(takes(in, R"({"key1":3.14159})"));
  CHECK(takes(in, R"({"key1":999.95})"));
  CHECK(takes(in, R"({"key1":3500})"));
  CHECK(takes(in, R"({"key1":4000})"));
  CHECK_FALSE(takes(in, R"({"key1":3.14158})"));
  CHECK_FALSE(takes(in, R"({"key1":1000})"));
  CHECK_FALSE(takes(in, R"({"key1":4000.01})"));
  const auto not_in =
      one("NumberNotInRange", "data.key1", R"("values":[[3.14159,999.95],[3000,4000]])");
  CHECK(takes(not_in, R"({"key1":1000})"));
  CHECK(takes(not_in, R"({"key1":-1})"));
  CHECK_FALSE(takes(not_in, R"({"key1":3000})"));
  CHECK_FALSE(takes(not_in, R"({"key1":500})"));
}

TEST_CASE("filter: BoolEquals", "[filter]") {
  const auto t = one("BoolEquals", "data.isEnabled", R"("value":true)");
  const auto f = one("BoolEquals", "data.isEnabled", R"("value":false)");
  CHECK(takes(t, R"({"isEnabled":true})"));
  CHECK_FALSE(takes(t, R"({"isEnabled":false})"));
  CHECK(takes(f, R"({"isEnabled":false})"));
  CHECK_FALSE(takes(f, R"({"isEnabled":true})"));
  // No conversion: neither a string nor a number is a boolean.
  CHECK_FALSE(takes(t, R"({"isEnabled":"true"})"));
  CHECK_FALSE(takes(t, R"({"isEnabled":1})"));
}

TEST_CASE("filter: the string operators, case-insensitive, ORed or (Not) ANDed", "[filter]") {
  const auto data = R"({"key1":"Azure Data Factory"})";
  CHECK(takes(one("StringIn", "data.key1", R"("values":["contoso","azure data factory"])"), data));
  CHECK_FALSE(takes(one("StringIn", "data.key1", R"("values":["azure data"])"), data));
  CHECK(takes(one("StringNotIn", "data.key1", R"("values":["aws","bridge"])"), data));
  CHECK_FALSE(
      takes(one("StringNotIn", "data.key1", R"("values":["aws","AZURE DATA FACTORY"])"), data));
  CHECK(takes(one("StringContains", "data.key1", R"("values":["microsoft","DATA"])"), data));
  CHECK_FALSE(
      takes(one("StringContains", "data.key1", R"("values":["microsoft","contoso"])"), data));
  CHECK(takes(one("StringNotContains", "data.key1", R"("values":["contoso","fabrikam"])"), data));
  CHECK_FALSE(
      takes(one("StringNotContains", "data.key1", R"("values":["contoso","factory"])"), data));
  CHECK(takes(one("StringBeginsWith", "data.key1", R"("values":["event","azure"])"), data));
  CHECK_FALSE(takes(one("StringBeginsWith", "data.key1", R"("values":["data"])"), data));
  CHECK(takes(one("StringNotBeginsWith", "data.key1", R"("values":["event","message"])"), data));
  CHECK_FALSE(takes(one("StringNotBeginsWith", "data.key1", R"("values":["event","AZ"])"), data));
  CHECK(takes(one("StringEndsWith", "data.key1", R"("values":["jpg","FACTORY"])"), data));
  CHECK_FALSE(takes(one("StringEndsWith", "data.key1", R"("values":["azure"])"), data));
  CHECK(takes(one("StringNotEndsWith", "data.key1", R"("values":["jpg","png"])"), data));
  CHECK_FALSE(takes(one("StringNotEndsWith", "data.key1", R"("values":["png","tory"])"), data));
  // Case beyond ASCII: Latin-1, Greek, Cyrillic.
  CHECK(takes(one("StringIn", "data.c", R"("values":["KÜCHE"])"), R"({"c":"küche"})"));
  CHECK(takes(one("StringContains", "data.c", R"("values":["σοφία"])"), R"({"c":"ΣΟΦΊΑ!"})"));
  CHECK(takes(one("StringBeginsWith", "data.c", R"("values":["кух"])"), R"({"c":"Кухня"})"));
  CHECK_FALSE(takes(one("StringIn", "data.c", R"("values":["Kueche"])"), R"({"c":"Küche"})"));
}

TEST_CASE("filter: IsNullOrUndefined and IsNotNull", "[filter]") {
  const auto null = one("IsNullOrUndefined", "data.key1", "");
  const auto not_null = one("IsNotNull", "data.key1", "");
  CHECK(takes(null, R"({"key2":5})"));
  CHECK(takes(null, R"({"key1":null})"));
  CHECK(takes(null, ""));
  CHECK_FALSE(takes(null, R"({"key1":5})"));
  CHECK_FALSE(takes(not_null, R"({"key2":5})"));
  CHECK_FALSE(takes(not_null, R"({"key1":null})"));
  for (const auto* present : {R"({"key1":0})", R"({"key1":false})", R"({"key1":""})",
                              R"({"key1":{}})", R"({"key1":[]})"}) {
    CAPTURE(present);
    CHECK(takes(not_null, present));
    CHECK_FALSE(takes(null, present));
  }
  // An array is present whether or not arrays are filtered on.
  CHECK(takes(one("IsNotNull", "data.key1", "", true), R"({"key1":[1]})"));
}

TEST_CASE("filter: a missing key matches NumberNotIn, StringNotIn and NumberNotInRange only",
          "[filter]") {
  struct Case {
    const char* op;
    const char* rest;
    bool missing;  // what a missing (or null) key gives
  };
  const std::vector<Case> cases = {
      {"NumberIn", R"("values":[1])", false},
      {"NumberNotIn", R"("values":[1])", true},
      {"NumberLessThan", R"("value":1)", false},
      {"NumberGreaterThan", R"("value":1)", false},
      {"NumberLessThanOrEquals", R"("value":1)", false},
      {"NumberGreaterThanOrEquals", R"("value":1)", false},
      {"NumberInRange", R"("values":[[0,1]])", false},
      {"NumberNotInRange", R"("values":[[0,1]])", true},
      {"BoolEquals", R"("value":true)", false},
      {"StringIn", R"("values":["a"])", false},
      {"StringNotIn", R"("values":["a"])", true},
      {"StringBeginsWith", R"("values":["a"])", false},
      {"StringNotBeginsWith", R"("values":["a"])", false},
      {"StringEndsWith", R"("values":["a"])", false},
      {"StringNotEndsWith", R"("values":["a"])", false},
      {"StringContains", R"("values":["a"])", false},
      {"StringNotContains", R"("values":["a"])", false},
      {"IsNullOrUndefined", "", true},
      {"IsNotNull", "", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.op);
    const auto f = Filter::parse(one(c.op, "data.after.x", c.rest));
    CHECK(takes(f, change(R"({"y":1})")) == c.missing);
    CHECK(takes(f, change(R"({"x":null})")) == c.missing);
    CHECK(takes(f, change("null")) == c.missing);  // the path ends early
    CHECK(takes(f, change("[1]")) == c.missing);   // a path does not index arrays
    CHECK(takes(f, "") == c.missing);              // no data at all
  }
}

TEST_CASE("filter: no conversion between types: a value of another type is ignored", "[filter]") {
  // A Number operator never matches a JSON string, however numeric.
  CHECK_FALSE(takes(one("NumberGreaterThan", "data.n", R"("value":50)"), R"({"n":"60"})"));
  CHECK_FALSE(takes(one("NumberIn", "data.n", R"("values":[60])"), R"({"n":"60"})"));
  CHECK_FALSE(takes(one("NumberInRange", "data.n", R"("values":[[0,100]])"), R"({"n":"60"})"));
  // Nor a String operator a number or a boolean.
  CHECK_FALSE(takes(one("StringIn", "data.n", R"("values":["60"])"), R"({"n":60})"));
  CHECK_FALSE(takes(one("StringContains", "data.n", R"("values":["tru"])"), R"({"n":true})"));
  // Ignored means no value hit, so a Not operator matches.
  CHECK(takes(one("NumberNotIn", "data.n", R"("values":[60])"), R"({"n":"60"})"));
  CHECK(takes(one("StringNotIn", "data.n", R"("values":["60"])"), R"({"n":60})"));
  CHECK(takes(one("StringNotContains", "data.n", R"("values":["6"])"), R"({"n":60})"));
  // An object is no operator's type.
  CHECK_FALSE(takes(one("StringContains", "data.n", R"("values":["a"])"), R"({"n":{"a":"a"}})"));
  // The attributes are strings.
  CHECK_FALSE(takes(one("NumberIn", "id", R"("values":[1])"), "", Attributes{"1"}));
}
