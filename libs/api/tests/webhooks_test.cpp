// /v1/webhooks/endpoints through the routing, on a fake WebhookAdmin: the
// paths with a suffix after the id, the admin token on reads too, 404 for
// ids and endpoints that are not there, 405 with Allow, bodies (required,
// optional, refused) and what each operation asks of the port.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "router_support.hpp"
#include "routes.hpp"

using namespace millrace;
using namespace millrace::api;
using namespace millrace::api::testing;

namespace {

constexpr const char* kBase = "/v1/webhooks/endpoints";

// A backend holding endpoint 1.
FakeBackend with_endpoint() {
  FakeBackend db;
  webhooks::Endpoint e;
  e.id = 1;
  e.url = "https://hooks.example/in";
  e.ordering = "commit";
  e.format = "standard";
  e.created_at = "2026-11-28T07:00:00.000000Z";
  db.fake_webhooks.stored[1] = e;
  return db;
}

std::string path(const std::string& rest = "") {
  return kBase + rest;
}

// An admin request; `body` sent as JSON unless `content_type` says otherwise
// (empty: no Content-Type, as a client sending no body does).
FakeRequest admin(std::string method, const std::string& target, std::string body = "",
                  std::string content_type = "application/json") {
  std::map<std::string, std::string> headers = {{"Authorization", std::string("Bearer ") + kToken}};
  if (!content_type.empty()) headers["Content-Type"] = std::move(content_type);
  return FakeRequest(std::move(method), target, std::move(headers), std::move(body));
}

}  // namespace

TEST_CASE("a parameter may be followed by fixed segments", "[api][webhooks]") {
  CHECK(match("/v1/webhooks/endpoints").route == kRouteWebhookEndpoints);
  CHECK(match("/v1/webhooks/endpoints/12").route == kRouteWebhookEndpoint);
  CHECK(match("/v1/webhooks/endpoints/12").key == "12");
  for (const auto& [suffix, route] :
       std::vector<std::pair<std::string, Route>>{{"/disable", kRouteWebhookDisable},
                                                  {"/enable", kRouteWebhookEnable},
                                                  {"/rotate-secret", kRouteWebhookRotate},
                                                  {"/deliveries", kRouteWebhookDeliveries},
                                                  {"/replay", kRouteWebhookReplay}}) {
    INFO(suffix);
    const Match m = match("/v1/webhooks/endpoints/12" + suffix);
    CHECK(m.route == route);
    CHECK(m.key == "12");
    CHECK(kRouteNames[route] == "/v1/webhooks/endpoints/{id}" + suffix);
  }
  for (const char* other :
       {"/v1/webhooks/endpoints/", "/v1/webhooks/endpoints//disable", "/v1/webhooks/endpoints/1/",
        "/v1/webhooks/endpoints/1/disable/", "/v1/webhooks/endpoints/1/disable/x",
        "/v1/webhooks/endpoints/1/2/disable", "/v1/webhooks/endpoints/1/pause",
        "/v1/webhooks/endpoints/1/disablex", "/v1/webhooks", "/v1/webhooks/endpoint/1"}) {
    INFO(other);
    CHECK(match(other).route == kRouteOther);
  }
  CHECK(allowed_methods(kRouteWebhookEndpoints) == "GET, POST");
  CHECK(allowed_methods(kRouteWebhookEndpoint) == "GET, PATCH");
  CHECK(allowed_methods(kRouteWebhookDeliveries) == "GET");
  CHECK(allowed_methods(kRouteWebhookReplay) == "POST");
  // The static_asserts' helpers.
  const RouteSpec& disable = kRoutes[kRouteWebhookDisable];
  CHECK(disable.prefix() == "/v1/webhooks/endpoints/");
  CHECK(disable.parameter() == "{id}");
  CHECK(disable.suffix() == "/disable");
  CHECK(kRoutes[kRouteWebhookEndpoint].suffix().empty());
  CHECK(kRoutes[kRouteViews].suffix().empty());
}

TEST_CASE("every webhook operation needs the admin token, reads included", "[api][webhooks]") {
  FakeBackend db = with_endpoint();
  RouterSettings settings;
  settings.admin_token = kToken;
  settings.admin_database = true;
  settings.read_token = "r34d-token";
  const Router router(
      settings, [] { return std::vector<runtime::Problem>{}; }, [] { return std::string(); });
  const std::vector<std::pair<std::string, std::string>> operations = {
      {"GET", path()},
      {"POST", path()},
      {"GET", path("/1")},
      {"PATCH", path("/1")},
      {"POST", path("/1/disable")},
      {"POST", path("/1/enable")},
      {"POST", path("/1/rotate-secret")},
      {"GET", path("/1/deliveries")},
      {"POST", path("/1/replay")}};
  for (const auto& [method, target] : operations) {
    INFO(method << " " << target);
    for (const std::string auth : {"", "Bearer r34d-token", "Bearer wrong"}) {
      std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
      if (!auth.empty()) headers["Authorization"] = auth;
      const auto r = answer(router, FakeRequest(method, target, headers, "{}"), db);
      CHECK(r.status == 401);
      CHECK(problem_code(r) == "unauthorized");
      CHECK(header(r, "WWW-Authenticate") == "Bearer");
    }
    // Refused before the body is read.
    CHECK(router.screen(FakeRequest(method, target)));
    // The read token's session cookie does not do either.
    CHECK(answer(router, FakeRequest(method, target, {{"Cookie", "millrace_session=x"}}), db)
              .status == 401);
  }
  CHECK(db.fake_webhooks.added.empty());
  CHECK(db.fake_webhooks.activations.empty());
  CHECK(db.fake_webhooks.rotations.empty());
  CHECK(db.fake_webhooks.replays.empty());
  CHECK(answer(router, admin("GET", path()), db).status == 200);

  // Without an admin token or connection configured: 503, as the writes.
  auto r = answer(make_router(""), admin("GET", path()), db);
  CHECK(r.status == 503);
  CHECK(problem_code(r) == "admin_not_configured");
  r = answer(make_router(kToken, false), admin("GET", path("/1")), db);
  CHECK(r.status == 503);
  CHECK_THAT(r.body, Catch::Contains("MILLRACE_API_ADMIN_PG"));
}

TEST_CASE("an id that is no whole number from 1, or no endpoint's, is 404", "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db = with_endpoint();
  for (const char* id : {"abc", "0", "-1", "+1", "1.0", "%201", "99999999999999999999"}) {
    for (const std::string& suffix :
         {std::string(), std::string("/disable"), std::string("/deliveries")}) {
      const std::string target = path("/") + id + suffix;
      INFO(target);
      const auto r = answer(router, admin(suffix == "/disable" ? "POST" : "GET", target), db);
      CHECK(r.status == 404);
      CHECK(problem_code(r) == "not_found");
    }
  }
  // Well formed, not there: the port's NotFound.
  for (const auto& [method, suffix] :
       std::vector<std::pair<std::string, std::string>>{{"GET", ""},
                                                        {"PATCH", ""},
                                                        {"POST", "/disable"},
                                                        {"POST", "/enable"},
                                                        {"POST", "/rotate-secret"},
                                                        {"GET", "/deliveries"},
                                                        {"POST", "/replay"}}) {
    INFO(method << " " << suffix);
    const auto r =
        answer(router, admin(method, path("/2") + suffix, method == "PATCH" ? "{}" : ""), db);
    CHECK(r.status == 404);
    CHECK(problem_code(r) == "not_found");
    CHECK_THAT(r.body, Catch::Contains("no webhook endpoint 2"));
    CHECK(std::string(json(r)["instance"].GetString()) == path("/2") + suffix);
  }
  // A percent-encoded id is decoded first.
  CHECK(answer(router, admin("GET", path("/%31")), db).status == 200);
}

TEST_CASE("other methods are 405 with Allow", "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db = with_endpoint();
  for (const auto& [method, target, allow] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"DELETE", path(), "GET, POST"},
           {"PUT", path("/1"), "GET, PATCH"},
           {"DELETE", path("/1"), "GET, PATCH"},
           {"GET", path("/1/disable"), "POST"},
           {"PATCH", path("/1/enable"), "POST"},
           {"GET", path("/1/rotate-secret"), "POST"},
           {"POST", path("/1/deliveries"), "GET"},
           {"GET", path("/1/replay"), "POST"}}) {
    INFO(method << " " << target);
    const auto r = answer(router, admin(method, target), db);
    CHECK(r.status == 405);
    CHECK(problem_code(r) == "method_not_allowed");
    CHECK(header(r, "Allow") == allow);
  }
}

TEST_CASE("POST creates an endpoint: 201 with the secret made, never one given",
          "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db;
  auto r = answer(router,
                  admin("POST", path(),
                        R"({"url":"https://hooks.example/in","tables":["public.orders"],)"
                        R"("format":"cloudevents-structured","rate_limit":5,)"
                        R"("filter":{"advancedFilters":[{"operatorType":"NumberGreaterThan",)"
                        R"("key":"data.after.discount","value":50}]}})"),
                  db);
  REQUIRE(r.status == 201);
  CHECK(r.content_type == "application/json");
  REQUIRE(db.fake_webhooks.added.size() == 1);
  const auto& asked = db.fake_webhooks.added[0];
  CHECK(asked.url == "https://hooks.example/in");
  CHECK(asked.format == "cloudevents-structured");
  CHECK(asked.rate_limit == 5);
  CHECK(asked.disable_after_s == webhooks::kDefaultDisableAfterS);
  CHECK(asked.filter ==
        R"({"advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.after.discount",)"
        R"("value":50}]})");
  auto d = json(r);
  CHECK(std::string(d["secret"].GetString()) == "whsec_made");
  CHECK(d["endpoint"]["id"].GetInt64() == 1);
  CHECK(d["endpoint"]["filter"]["advancedFilters"][0]["value"].GetInt() == 50);
  CHECK(d["endpoint"]["rate_limit"].GetDouble() == 5.0);

  r = answer(router,
             admin("POST", path(), R"({"url":"https://hooks.example/2","secret":"whsec_mine"})"),
             db);
  REQUIRE(r.status == 201);
  CHECK(db.fake_webhooks.added.back().secret == "whsec_mine");
  CHECK_FALSE(json(r).HasMember("secret"));
  CHECK(r.body.find("whsec_mine") == std::string::npos);

  // Listed, without secrets.
  r = answer(router, admin("GET", path()), db);
  REQUIRE(r.status == 200);
  d = json(r);
  CHECK(d["endpoints"].Size() == 2);
  CHECK(r.body.find("whsec") == std::string::npos);
}

TEST_CASE("bodies: 415 unless JSON, 400 not JSON, 422 naming the field or saying why",
          "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db = with_endpoint();
  auto r = answer(router, admin("POST", path(), R"({"url":"x"})", "text/plain"), db);
  CHECK(r.status == 415);
  CHECK(problem_code(r) == "unsupported_media_type");
  r = answer(router, admin("PATCH", path("/1"), "{}", ""), db);
  CHECK(r.status == 415);

  r = answer(router, admin("POST", path(), "{nope"), db);
  CHECK(r.status == 400);
  CHECK(problem_code(r) == "malformed_body");
  r = answer(router, admin("POST", path(), ""), db);
  CHECK(r.status == 400);

  r = answer(router, admin("POST", path(), R"({"url":"x","rate_limit":"fast"})"), db);
  CHECK(r.status == 422);
  CHECK(problem_code(r) == "invalid_body");
  CHECK(std::string(json(r)["field"].GetString()) == "rate_limit");
  r = answer(router, admin("PATCH", path("/1"), R"({"secret":"whsec_x"})"), db);
  CHECK(r.status == 422);
  CHECK(std::string(json(r)["field"].GetString()) == "secret");
  r = answer(router, admin("POST", path(), R"({"description":"no url"})"), db);
  CHECK(std::string(json(r)["field"].GetString()) == "url");
  CHECK(db.fake_webhooks.added.empty());

  // What admin.hpp refuses (a URL that does not resolve, a filter Event
  // Grid would refuse): 422 with its message.
  db.fake_webhooks.refusal = "the host nowhere.invalid does not resolve: Name or service not known";
  r = answer(router, admin("POST", path(), R"({"url":"https://nowhere.invalid/"})"), db);
  CHECK(r.status == 422);
  CHECK(problem_code(r) == "invalid_body");
  CHECK(std::string(json(r)["detail"].GetString()) == *db.fake_webhooks.refusal);
  r = answer(router, admin("PATCH", path("/1"), R"({"url":"https://nowhere.invalid/"})"), db);
  CHECK(r.status == 422);
}

TEST_CASE("PATCH changes what it names and answers the endpoint", "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db = with_endpoint();
  db.fake_webhooks.stored[1].filter = R"({"subjectBeginsWith": "public."})";
  auto r = answer(router, admin("PATCH", path("/1"), R"({"filter":null,"rate_limit":0.5})"), db);
  REQUIRE(r.status == 200);
  REQUIRE(db.fake_webhooks.changes.size() == 1);
  const auto& [id, change] = db.fake_webhooks.changes[0];
  CHECK(id == 1);
  CHECK(change.filter == std::string());
  CHECK(change.rate_limit == 0.5);
  CHECK_FALSE(change.url);
  const auto d = json(r);
  CHECK(d["filter"].IsNull());
  CHECK(d["rate_limit"].GetDouble() == 0.5);
  CHECK(std::string(d["url"].GetString()) == "https://hooks.example/in");

  r = answer(router, admin("GET", path("/1")), db);
  CHECK(r.status == 200);
  CHECK(json(r)["id"].GetInt64() == 1);
  // JSON only.
  r = answer(router,
             FakeRequest("GET", path("/1"),
                         {{"Authorization", "Bearer s3cret-token"}, {"Accept", "text/csv"}}),
             db);
  CHECK(r.status == 406);
  // No query parameters but the deliveries'.
  r = answer(router, admin("GET", path("/1?limit=5")), db);
  CHECK(r.status == 400);
  CHECK(problem_code(r) == "invalid_parameter");
}

TEST_CASE("disable and enable: the optional reason, no body needed", "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db = with_endpoint();
  // No body, no Content-Type.
  auto r = answer(router, admin("POST", path("/1/disable"), "", ""), db);
  REQUIRE(r.status == 200);
  CHECK_FALSE(json(r)["active"].GetBool());
  r = answer(router, admin("POST", path("/1/disable"), R"({"reason":"receiver down"})"), db);
  REQUIRE(r.status == 200);
  CHECK(std::string(json(r)["disabled_reason"].GetString()) == "receiver down");
  r = answer(router, admin("POST", path("/1/enable"), "", ""), db);
  REQUIRE(r.status == 200);
  CHECK(json(r)["active"].GetBool());
  CHECK(json(r)["disabled_reason"].IsNull());
  REQUIRE(db.fake_webhooks.activations.size() == 3);
  CHECK_FALSE(db.fake_webhooks.activations[0].active);
  CHECK(db.fake_webhooks.activations[0].reason.empty());
  CHECK(db.fake_webhooks.activations[1].reason == "receiver down");
  CHECK(db.fake_webhooks.activations[2].active);

  // A body, then, must be JSON: one said to be something else is refused
  // before it is read, one without a Content-Type once it is.
  CHECK(router.screen(admin("POST", path("/1/disable"), "", "text/plain"))->status == 415);
  CHECK_FALSE(router.screen(admin("POST", path("/1/disable"), "", "")));
  r = answer(router, admin("POST", path("/1/disable"), "receiver down", "text/plain"), db);
  CHECK(r.status == 415);
  r = answer(router, admin("POST", path("/1/disable"), R"({"reason":"x"})", ""), db);
  CHECK(r.status == 415);
  CHECK(problem_code(r) == "unsupported_media_type");
  // Said to be JSON, and empty: the defaults.
  r = answer(router, admin("POST", path("/1/disable"), ""), db);
  CHECK(r.status == 200);
  CHECK(db.fake_webhooks.activations.back().reason.empty());
  r = answer(router, admin("POST", path("/1/disable"), R"({"why":"x"})"), db);
  CHECK(r.status == 422);
  CHECK(std::string(json(r)["field"].GetString()) == "why");
  r = answer(router, admin("POST", path("/1/disable"), "{"), db);
  CHECK(r.status == 400);
  CHECK(db.fake_webhooks.activations.size() == 4);
}

TEST_CASE("rotate-secret: 24 hours of overlap unless told, a given secret not echoed",
          "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db = with_endpoint();
  auto r = answer(router, admin("POST", path("/1/rotate-secret"), "", ""), db);
  REQUIRE(r.status == 200);
  auto d = json(r);
  CHECK(std::string(d["secret"].GetString()) == "whsec_rotated");
  CHECK(d["endpoint"]["previous_secret_valid"].GetBool());
  REQUIRE(db.fake_webhooks.rotations.size() == 1);
  CHECK(db.fake_webhooks.rotations[0].overlap == std::chrono::hours(24));
  CHECK(db.fake_webhooks.rotations[0].secret.empty());

  r = answer(
      router,
      admin("POST", path("/1/rotate-secret"), R"({"overlap_seconds":0,"secret":"whsec_chosen"})"),
      db);
  REQUIRE(r.status == 200);
  CHECK_FALSE(json(r).HasMember("secret"));
  CHECK(db.fake_webhooks.rotations[1].overlap == std::chrono::seconds(0));
  CHECK(db.fake_webhooks.rotations[1].secret == "whsec_chosen");

  r = answer(router, admin("POST", path("/1/rotate-secret"), R"({"overlap_seconds":-1})"), db);
  CHECK(r.status == 422);
  CHECK(std::string(json(r)["field"].GetString()) == "overlap_seconds");
  db.fake_webhooks.refusal =
      "the secret must be \"whsec_\" followed by the base64 of 16 to 64 bytes";
  r = answer(router, admin("POST", path("/1/rotate-secret"), R"({"secret":"nope"})"), db);
  CHECK(r.status == 422);
  CHECK(db.fake_webhooks.rotations.size() == 2);
}

TEST_CASE("deliveries: newest first, status, limit and before, the next page's before",
          "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db = with_endpoint();
  for (std::int64_t id = 1; id <= 5; ++id) {
    webhooks::DeliveryRecord d;
    d.id = id;
    d.endpoint = 1;
    d.change_id = "c" + std::to_string(id);
    d.status = id % 2 == 0 ? "failed" : "delivered";
    d.enqueued_at = "2026-11-28T07:00:00.000000Z";
    db.fake_webhooks.delivery_log.push_back(d);
  }
  auto r = answer(router, admin("GET", path("/1/deliveries")), db);
  REQUIRE(r.status == 200);
  auto d = json(r);
  CHECK(d["deliveries"].Size() == 5);
  CHECK(d["deliveries"][0]["id"].GetInt64() == 5);
  CHECK(d["next_before"].IsNull());
  CHECK(db.fake_webhooks.deliveries_asked.back().limit == kDefaultLimit + 1);
  CHECK_FALSE(db.fake_webhooks.deliveries_asked.back().failed_only);

  r = answer(router, admin("GET", path("/1/deliveries?limit=2")), db);
  d = json(r);
  REQUIRE(d["deliveries"].Size() == 2);
  CHECK(d["deliveries"][1]["id"].GetInt64() == 4);
  CHECK(d["next_before"].GetInt64() == 4);
  r = answer(router, admin("GET", path("/1/deliveries?limit=2&before=4")), db);
  d = json(r);
  CHECK(d["deliveries"][0]["id"].GetInt64() == 3);
  CHECK(d["deliveries"][1]["id"].GetInt64() == 2);
  CHECK(d["next_before"].GetInt64() == 2);
  r = answer(router, admin("GET", path("/1/deliveries?limit=2&before=2")), db);
  d = json(r);
  CHECK(d["deliveries"].Size() == 1);
  CHECK(d["next_before"].IsNull());

  r = answer(router, admin("GET", path("/1/deliveries?status=failed")), db);
  d = json(r);
  CHECK(d["deliveries"].Size() == 2);
  CHECK(db.fake_webhooks.deliveries_asked.back().failed_only);
  r = answer(router, admin("GET", path("/1/deliveries?status=all")), db);
  CHECK(json(r)["deliveries"].Size() == 5);

  for (const char* query : {"?status=pending", "?limit=0", "?limit=10001", "?before=0", "?before=x",
                            "?from=2026-11-28T07:00:00Z", "?status=failed&status=all"}) {
    INFO(query);
    r = answer(router, admin("GET", path("/1/deliveries") + query), db);
    CHECK(r.status == 400);
    CHECK(problem_code(r) == "invalid_parameter");
  }
}

TEST_CASE("replay: an RFC 3339 since, or none, and the count", "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db = with_endpoint();
  db.fake_webhooks.replayable = 3;
  auto r = answer(router, admin("POST", path("/1/replay"), "", ""), db);
  REQUIRE(r.status == 200);
  CHECK(json(r)["replayed"].GetInt64() == 3);
  r = answer(router, admin("POST", path("/1/replay"), R"({"since":"2026-11-28T08:00:00+01:00"})"),
             db);
  REQUIRE(r.status == 200);
  REQUIRE(db.fake_webhooks.replays.size() == 2);
  CHECK_FALSE(db.fake_webhooks.replays[0].second);
  // Passed on as a timestamptz literal in UTC.
  CHECK(db.fake_webhooks.replays[1].second == "2026-11-28T07:00:00.000000Z");
  for (const char* since : {"yesterday", "2026-11-28", "2026-11-28T07:00:00", "epoch"}) {
    INFO(since);
    r = answer(router,
               admin("POST", path("/1/replay"), std::string(R"({"since":")") + since + "\"}"), db);
    CHECK(r.status == 422);
    CHECK(std::string(json(r)["field"].GetString()) == "since");
  }
  CHECK(db.fake_webhooks.replays.size() == 2);
}

TEST_CASE("a database that cannot answer is 503 or 500, as for every route", "[api][webhooks]") {
  const Router router = make_router();
  FakeBackend db = with_endpoint();
  db.failure.emplace(core::FailureClass::kRetryable, "connection lost");
  auto r = answer(router, admin("GET", path("/1")), db);
  CHECK(r.status == 503);
  CHECK(problem_code(r) == "database_unavailable");
  db.failure.emplace(core::FailureClass::kFatal, "permission denied for table webhook_endpoints");
  r = answer(router, admin("POST", path(), R"({"url":"https://hooks.example/in"})"), db);
  CHECK(r.status == 500);
  CHECK(problem_code(r) == "internal_error");
}
