// The JSON of millrace-api's /v1/webhooks/endpoints (admin_json.hpp): the
// bodies read into admin.hpp's structs, refusals naming the member, and the
// records written without secrets.
#include "millrace/webhooks/admin_json.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace millrace::webhooks;

namespace {

// The member an InvalidBody names for `body`, or "(accepted)".
template <typename Read>
std::string refused_member(Read read, std::string_view body) {
  try {
    read(body);
  } catch (const InvalidBody& e) {
    return e.member();
  }
  return "(accepted)";
}

std::string refused_member(std::string_view body) {
  return refused_member(new_endpoint_from_json, body);
}

rapidjson::Document parsed(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

}  // namespace

TEST_CASE("a new endpoint's body: every member, the filter kept exactly", "[admin_json]") {
  const auto e = new_endpoint_from_json(R"({
    "url": "https://hooks.example/in", "description": "orders", "tables": ["public.orders", "x"],
    "ops": ["c", "u"], "ordering": "key", "format": "cloudevents-binary",
    "filter": {"includedEventTypes": ["com.millrace.row.created"], "subjectBeginsWith": "public.",
               "advancedFilters": [{"operatorType": "NumberGreaterThan",
                                    "key": "data.after.discount", "value": 50.10}]},
    "rate_limit": 2.5, "disable_after_seconds": 3600, "secret": "whsec_abc"})");
  CHECK(e.url == "https://hooks.example/in");
  CHECK(e.description == "orders");
  CHECK(e.tables == std::vector<std::string>{"public.orders", "x"});
  CHECK(e.ops == std::vector<std::string>{"c", "u"});
  CHECK(e.ordering == "key");
  CHECK(e.format == "cloudevents-binary");
  // Compact, and 50.10 keeps its digits (Event Grid compares decimals).
  CHECK(e.filter ==
        R"({"includedEventTypes":["com.millrace.row.created"],"subjectBeginsWith":"public.",)"
        R"("advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.after.discount",)"
        R"("value":50.10}]})");
  CHECK(e.rate_limit == 2.5);
  CHECK(e.disable_after_s == 3600);
  CHECK(e.secret == "whsec_abc");
}

TEST_CASE("a new endpoint needs only its url, the rest take admin.hpp's defaults", "[admin_json]") {
  const auto e = new_endpoint_from_json(R"({"url":"http://a.example/","filter":null})");
  const NewEndpoint defaults;
  CHECK(e.url == "http://a.example/");
  CHECK(e.tables.empty());
  CHECK(e.ops.empty());
  CHECK(e.ordering == defaults.ordering);
  CHECK(e.format == defaults.format);
  CHECK(e.filter.empty());
  CHECK(e.rate_limit == 0);
  CHECK(e.disable_after_s == kDefaultDisableAfterS);
  CHECK(e.secret.empty());
  CHECK(new_endpoint_from_json(R"({"url":"x","rate_limit":7})").rate_limit == 7);
}

TEST_CASE("refusals name the member: types, unknown and repeated members, a missing url",
          "[admin_json]") {
  CHECK(refused_member(R"({})") == "url");
  CHECK(refused_member(R"({"url": 7})") == "url");
  CHECK(refused_member(R"({"url": null})") == "url");
  CHECK(refused_member(R"({"url": "x", "description": ["a"]})") == "description");
  CHECK(refused_member(R"({"url": "x", "tables": "orders"})") == "tables");
  CHECK(refused_member(R"({"url": "x", "tables": ["a", 1]})") == "tables");
  CHECK(refused_member(R"({"url": "x", "ops": [null]})") == "ops");
  CHECK(refused_member(R"({"url": "x", "ordering": true})") == "ordering");
  CHECK(refused_member(R"({"url": "x", "format": {}})") == "format");
  CHECK(refused_member(R"({"url": "x", "filter": "{}"})") == "filter");
  CHECK(refused_member(R"({"url": "x", "filter": []})") == "filter");
  CHECK(refused_member(R"({"url": "x", "rate_limit": "5"})") == "rate_limit");
  CHECK(refused_member(R"({"url": "x", "rate_limit": -0.5})") == "rate_limit");
  CHECK(refused_member(R"({"url": "x", "disable_after_seconds": 1.5})") == "disable_after_seconds");
  CHECK(refused_member(R"({"url": "x", "disable_after_seconds": -1})") == "disable_after_seconds");
  CHECK(refused_member(R"({"url": "x", "disable_after_seconds": 9223372036854775808})") ==
        "disable_after_seconds");
  CHECK(refused_member(R"({"url": "x", "secret": 1})") == "secret");
  // Left out, a secret is made; "" is not taken for that.
  CHECK(refused_member(R"({"url": "x", "secret": ""})") == "secret");
  CHECK(refused_member(R"({"url": "x", "colour": "red"})") == "colour");
  CHECK(refused_member(R"({"url": "x", "url": "y"})") == "url");
  // PostgreSQL's text holds no NUL.
  CHECK(refused_member(R"({"url": "http://a\u0000b"})") == "url");
  CHECK(refused_member(R"({"url": "x", "tables": ["a\u0000"]})") == "tables");
  CHECK(refused_member(R"({"url": "x", "filter": {"subjectBeginsWith": "\u0000"}})") == "filter");
  CHECK(refused_member(R"({"url": "x", "filter": {"a\u0000": 1}})") == "filter");
  std::string deep = R"({"url": "x", "filter": {"a": )";
  for (int i = 0; i < 20; ++i) deep += "[";
  for (int i = 0; i < 20; ++i) deep += "]";
  CHECK(refused_member(deep + "}}") == "filter");
  // The body as a whole.
  CHECK(refused_member(R"([])") == "");
  CHECK(refused_member(R"("x")") == "");
  try {
    new_endpoint_from_json("{\"url\": ");
    FAIL("accepted");
  } catch (const InvalidBody& e) {
    CHECK(e.malformed());
    CHECK(e.member().empty());
    CHECK_THAT(e.what(), Catch::Contains("not JSON"));
  }
  try {
    new_endpoint_from_json(R"({"url": "x", "colour": "red"})");
    FAIL("accepted");
  } catch (const std::invalid_argument& e) {
    // Says what is taken.
    CHECK_THAT(e.what(), Catch::Contains("colour") && Catch::Contains("disable_after_seconds"));
  }
  CHECK(refused_member("") == "");
  // Invalid UTF-8 is not JSON.
  CHECK(refused_member("{\"url\": \"\xff\"}") == "");
  // A deep body does not take the stack.
  CHECK(refused_member(std::string(100000, '[')) == "");
}

TEST_CASE("a change sets what it names, null removes the filter, secret is not a setting",
          "[admin_json]") {
  auto c = endpoint_change_from_json("{}");
  CHECK_FALSE(c.url);
  CHECK_FALSE(c.description);
  CHECK_FALSE(c.tables);
  CHECK_FALSE(c.ops);
  CHECK_FALSE(c.ordering);
  CHECK_FALSE(c.format);
  CHECK_FALSE(c.filter);
  CHECK_FALSE(c.rate_limit);
  CHECK_FALSE(c.disable_after_s);

  c = endpoint_change_from_json(
      R"({"tables": [], "filter": null, "rate_limit": 0, "disable_after_seconds": 0,
          "format": "standard"})");
  REQUIRE(c.tables);
  CHECK(c.tables->empty());
  CHECK(c.filter == std::string());
  CHECK(c.rate_limit == 0.0);
  CHECK(c.disable_after_s == 0);
  CHECK(c.format == "standard");
  CHECK_FALSE(c.url);

  c = endpoint_change_from_json(R"({"filter": {"subjectEndsWith": ".orders"}, "url": "u"})");
  CHECK(c.filter == R"({"subjectEndsWith":".orders"})");
  CHECK(c.url == "u");

  CHECK(refused_member(endpoint_change_from_json, R"({"secret": "whsec_x"})") == "secret");
  CHECK(refused_member(endpoint_change_from_json, R"({"url": null})") == "url");
  CHECK(refused_member(endpoint_change_from_json, R"({"rate_limit": null})") == "rate_limit");
  CHECK(refused_member(endpoint_change_from_json, "") == "");
}

TEST_CASE("the optional bodies: empty takes the defaults", "[admin_json]") {
  auto r = rotation_from_json("");
  CHECK(r.overlap == kDefaultSecretOverlap);
  CHECK(r.overlap == std::chrono::hours(24));
  CHECK(r.secret.empty());
  r = rotation_from_json(R"({"overlap_seconds": 0, "secret": "whsec_new"})");
  CHECK(r.overlap == std::chrono::seconds(0));
  CHECK(r.secret == "whsec_new");
  CHECK(rotation_from_json("{}").overlap == kDefaultSecretOverlap);
  CHECK(refused_member(rotation_from_json, R"({"overlap_seconds": 2592001})") == "overlap_seconds");
  CHECK(refused_member(rotation_from_json, R"({"overlap_seconds": "1"})") == "overlap_seconds");
  CHECK(refused_member(rotation_from_json, R"({"reason": "x"})") == "reason");
  CHECK(refused_member(rotation_from_json, R"({"secret": ""})") == "secret");

  CHECK(disable_reason_from_json("").empty());
  CHECK(disable_reason_from_json(R"({"reason": "receiver down"})") == "receiver down");
  CHECK(refused_member(disable_reason_from_json, R"({"reason": 1})") == "reason");
  CHECK(refused_member(disable_reason_from_json, "null") == "");

  CHECK_FALSE(replay_since_from_json(""));
  CHECK(replay_since_from_json(R"({"since": "2026-11-28T07:00:00Z"})") == "2026-11-28T07:00:00Z");
  CHECK(refused_member(replay_since_from_json, R"({"since": 17})") == "since");
  CHECK(refused_member(replay_since_from_json, " ") == "");
}

TEST_CASE("an endpoint's JSON: the filter as an object, empty times null, no secret",
          "[admin_json]") {
  Endpoint e;
  e.id = 7;
  e.url = "https://hooks.example/in";
  e.tables = {"public.orders"};
  e.ordering = "commit";
  e.format = "standard";
  // As PostgreSQL prints jsonb.
  e.filter = R"({"advancedFilters": [{"key": "data.after.discount", "value": 50.10, )"
             R"("operatorType": "NumberGreaterThan"}]})";
  e.rate_limit = 2.5;
  e.disable_after_s = kDefaultDisableAfterS;
  e.created_at = "2026-11-28T07:00:00.000000Z";
  e.pending = 3;
  e.filtered = 9;
  const std::string json = endpoint_json(e);
  CHECK_THAT(json, Catch::Contains(R"("value":50.10)"));
  CHECK_THAT(json, !Catch::Contains("secret\":"));
  const auto d = parsed(json);
  CHECK(d["id"].GetInt64() == 7);
  CHECK(std::string(d["url"].GetString()) == e.url);
  CHECK(std::string(d["description"].GetString()).empty());
  REQUIRE(d["tables"].IsArray());
  CHECK(std::string(d["tables"][0].GetString()) == "public.orders");
  CHECK(d["ops"].Size() == 0);
  REQUIRE(d["filter"].IsObject());
  CHECK(std::string(d["filter"]["advancedFilters"][0]["operatorType"].GetString()) ==
        "NumberGreaterThan");
  CHECK(d["rate_limit"].GetDouble() == 2.5);
  CHECK(d["disable_after_seconds"].GetInt64() == kDefaultDisableAfterS);
  CHECK(d["active"].GetBool());
  CHECK(d["disabled_reason"].IsNull());
  CHECK(d["disabled_at"].IsNull());
  CHECK(d["failing_since"].IsNull());
  CHECK(std::string(d["created_at"].GetString()) == e.created_at);
  CHECK_FALSE(d["previous_secret_valid"].GetBool());
  CHECK(d["pending"].GetInt64() == 3);
  CHECK(d["failed"].GetInt64() == 0);
  CHECK(d["filtered"].GetInt64() == 9);

  e.filter.clear();
  e.active = false;
  e.disabled_reason = "failing since 2026-11-23";
  const auto off = parsed(endpoint_json(e));
  CHECK(off["filter"].IsNull());
  CHECK_FALSE(off["active"].GetBool());
  CHECK(std::string(off["disabled_reason"].GetString()) == e.disabled_reason);

  const auto list = parsed(endpoints_json({e, e}));
  CHECK(list["endpoints"].Size() == 2);
  CHECK(parsed(endpoints_json({}))["endpoints"].Size() == 0);

  const auto made = parsed(secret_json(e, "whsec_made"));
  CHECK(std::string(made["secret"].GetString()) == "whsec_made");
  CHECK(made["endpoint"]["id"].GetInt64() == 7);
  CHECK_FALSE(parsed(secret_json(e, "")).HasMember("secret"));
}

TEST_CASE("deliveries' JSON: newest first as given, the next page's before", "[admin_json]") {
  DeliveryRecord failed;
  failed.id = 12;
  failed.endpoint = 7;
  failed.change_id = "0000000001A2B3C4-00000002";
  failed.status = "failed";
  failed.attempts = 8;
  failed.enqueued_at = "2026-11-28T07:00:00.000000Z";
  failed.last_attempt_at = "2026-11-28T08:00:00.000000Z";
  failed.last_status = 503;
  failed.last_error = "HTTP 503";
  DeliveryRecord pending;
  pending.id = 11;
  pending.endpoint = 7;
  pending.status = "pending";
  pending.next_attempt_at = "2026-11-28T07:00:01.000000Z";
  auto d = parsed(deliveries_json({failed, pending}, 11));
  REQUIRE(d["deliveries"].Size() == 2);
  const auto& first = d["deliveries"][0];
  CHECK(first["id"].GetInt64() == 12);
  CHECK(first["endpoint"].GetInt64() == 7);
  CHECK(std::string(first["status"].GetString()) == "failed");
  CHECK(first["attempts"].GetInt() == 8);
  CHECK(first["last_status"].GetInt() == 503);
  CHECK(std::string(first["last_error"].GetString()) == "HTTP 503");
  CHECK(first["next_attempt_at"].IsNull());
  CHECK(first["delivered_at"].IsNull());
  const auto& second = d["deliveries"][1];
  CHECK(second["last_status"].IsNull());
  CHECK(second["last_error"].IsNull());
  CHECK(second["last_attempt_at"].IsNull());
  CHECK(std::string(second["next_attempt_at"].GetString()) == pending.next_attempt_at);
  CHECK(d["next_before"].GetInt64() == 11);
  d = parsed(deliveries_json({}));
  CHECK(d["deliveries"].Size() == 0);
  CHECK(d["next_before"].IsNull());
  CHECK(parsed(replayed_json(4))["replayed"].GetInt64() == 4);
}
