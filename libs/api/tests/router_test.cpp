// The routing of millrace-api without a database: paths, methods (404,
// 405 with Allow), the admin token, content negotiation, and what each
// route asks of the Backend (a fake). Read tokens and sessions:
// router_auth_test.cpp.
#include "router.hpp"

#include <catch2/catch.hpp>

#include "millrace/kinds/registry.hpp"
#include "parcel.hpp"
#include "router_support.hpp"

using namespace millrace;
using namespace millrace::api;
using namespace millrace::api::testing;

TEST_CASE("paths map to routes, a key is the last segment", "[api][router]") {
  CHECK(match("/v1/views").route == kRouteViews);
  CHECK(match("/v1/views/hourly_sales").route == kRouteView);
  CHECK(match("/v1/views/hourly_sales").key == "hourly_sales");
  CHECK(match("/v1/categories/Pens%20%26%20ink").key == "Pens%20%26%20ink");
  CHECK(match("/v1/products/42").route == kRouteProduct);
  CHECK(match("/v1/accounting").route == kRouteAccounting);
  CHECK(match("/healthz").route == kRouteHealthz);
  CHECK(match("/v1/views/").route == kRouteOther);
  CHECK(match("/v1/views/a/b").route == kRouteOther);
  CHECK(match("/v1").route == kRouteOther);
  CHECK(match("").route == kRouteOther);
  CHECK(allowed_methods(kRouteCategories) == "GET, POST");
  CHECK(allowed_methods(kRouteProducts) == "POST");
  CHECK(allowed_methods(kRouteProduct) == "GET, PUT, DELETE");
}

TEST_CASE("unknown paths are 404 and other methods 405 with Allow, as problems", "[api][router]") {
  const Router router = make_router();
  FakeBackend db;
  auto r = answer(router, FakeRequest("GET", "/v2/views"), db);
  CHECK(r.status == 404);
  CHECK(problem_code(r) == "not_found");
  CHECK(std::string(json(r)["instance"].GetString()) == "/v2/views");

  r = answer(router, FakeRequest("DELETE", "/v1/views"), db);
  CHECK(r.status == 405);
  CHECK(problem_code(r) == "method_not_allowed");
  CHECK(header(r, "Allow") == "GET");
  r = answer(router, FakeRequest("PATCH", "/v1/categories/Pens", admin_headers()), db);
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "GET, PUT, DELETE");
  r = answer(router, FakeRequest("GET", "/v1/products"), db);
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "POST");
  // HEAD gets no body it could read, so the connection closes after it.
  r = answer(router, FakeRequest("HEAD", "/healthz"), db);
  CHECK(r.status == 405);
  CHECK(r.close);
  CHECK(db.reads.empty());
}

TEST_CASE("the list of views and its columns is answered without the database", "[api][router]") {
  const Router router = make_router();
  FakeBackend db;
  const auto r = answer(router, FakeRequest("GET", "/v1/views"), db);
  REQUIRE(r.status == 200);
  const auto d = json(r);
  // The store event's six, the orders' six and one declared, the trades' four.
  REQUIRE(d["views"].Size() == 17);
  CHECK(std::string(d["views"][0]["name"].GetString()) == "hourly_sales");
  CHECK(d["views"][0]["windowed"].GetBool());
  CHECK(std::string(d["views"][0]["columns"][4]["name"].GetString()) == "revenue");
  CHECK(std::string(d["views"][0]["columns"][4]["type"].GetString()) == "decimal");
  CHECK(std::string(d["views"][4]["path"].GetString()) == "/v1/views/top_products");
  CHECK(std::string(d["views"][0]["kind"].GetString()) == "store_event");
  CHECK(std::string(d["views"][9]["name"].GetString()) == "web_orders_today");
  CHECK(std::string(d["views"][9]["kind"].GetString()) == "order");
}

TEST_CASE("the views served are those of the kinds loaded, and so is the OpenAPI description",
          "[api][router]") {
  auto kinds = kinds::all_kinds("");
  kinds.push_back(testing::parcel_kind());
  RouterSettings settings;
  settings.views = serve_views(kinds);
  const Router router(
      std::move(settings), [] { return std::vector<runtime::Problem>{}; },
      [] { return std::string(); });
  FakeBackend db;
  auto r = answer(router, FakeRequest("GET", "/v1/views"), db);
  REQUIRE(r.status == 200);
  CHECK(json(r)["views"].Size() == 21);
  r = answer(router, FakeRequest("GET", "/v1/views/parcels_hourly?from=2026-11-21T00:00:00Z"), db);
  CHECK(r.status == 200);
  REQUIRE(db.reads.size() == 1);
  CHECK(db.reads[0].view->name == "parcels_hourly");
  CHECK(db.reads[0].from_us.has_value());
  // Not windowed: from is refused.
  r = answer(router, FakeRequest("GET", "/v1/views/parcels_today?from=2026-11-21T00:00:00Z"), db);
  CHECK(r.status == 400);
  r = answer(router, FakeRequest("GET", "/v1/openapi.yaml", {{"Accept", "application/yaml"}}), db);
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/yaml; charset=utf-8");
  CHECK_THAT(r.body, Catch::Contains("\n  /v1/views/parcels_today:\n    get: {"));
  CHECK_THAT(r.body, Catch::Contains("\n  /v1/views/web_orders_today:\n    get: {"));
  // The built-in kinds only, by default.
  r = answer(make_router(), FakeRequest("GET", "/v1/openapi.yaml"), db);
  CHECK(r.body.find("parcels_today") == std::string::npos);
  CHECK(answer(make_router(), FakeRequest("GET", "/v1/views/parcels_today"), db).status == 404);
}

TEST_CASE("a view read passes limit, from and to to the backend", "[api][router]") {
  const Router router = make_router();
  FakeBackend db;
  db.rows.rows = {{"2026-11-21T14:00:00Z", "sale_event", "3", "5", "12.50", "0.000", "0"}};
  auto r = answer(router,
                  FakeRequest("GET",
                              "/v1/views/hourly_sales?from=2026-11-21T14:00:00%2B01:00&to="
                              "2026-11-22T00:00:00Z&limit=5"),
                  db);
  REQUIRE(r.status == 200);
  REQUIRE(db.reads.size() == 1);
  CHECK(db.reads[0].view->name == "hourly_sales");
  CHECK(db.reads[0].limit == 5);
  CHECK(db.reads[0].from_us == 1'795'266'000'000'000);
  CHECK(db.reads[0].to_us == 1'795'305'600'000'000);
  const auto d = json(r);
  CHECK(std::string(d["view"].GetString()) == "hourly_sales");
  CHECK(d["rows"][0]["events"].GetInt() == 3);
  // The number keeps PostgreSQL's digits.
  CHECK_THAT(r.body, Catch::Contains("\"revenue\":12.50,"));

  r = answer(router, FakeRequest("GET", "/v1/views/top_products"), db);
  REQUIRE(r.status == 200);
  CHECK(db.reads.back().limit == 1000);
}

TEST_CASE("a declared view not filled yet says so in a header and the body", "[api][router]") {
  const Router router = make_router();
  FakeBackend db;
  const std::string path = "/v1/views/web_orders_top_products_per_local_day";
  db.rows.fill = millrace::pg::ViewFillState{"filling", 12, 40};
  auto r = answer(router, FakeRequest("GET", path), db);
  REQUIRE(r.status == 200);
  CHECK(header(r, "Millrace-View-Fill") == "filling");
  const auto d = json(r);
  REQUIRE(d.HasMember("fill"));
  CHECK(std::string(d["fill"]["state"].GetString()) == "filling");
  CHECK(d["fill"]["offsets_read"].GetInt() == 12);
  CHECK(d["fill"]["offsets"].GetInt() == 40);
  // CSV has no envelope: the header alone says it.
  r = answer(router, FakeRequest("GET", path, {{"Accept", "text/csv"}}), db);
  CHECK(header(r, "Millrace-View-Fill") == "filling");
  // Filled: neither.
  db.rows.fill.reset();
  r = answer(router, FakeRequest("GET", path), db);
  CHECK_FALSE(header(r, "Millrace-View-Fill"));
  CHECK_FALSE(json(r).HasMember("fill"));
}

TEST_CASE("bad query parameters are 400 problems naming the parameter", "[api][router]") {
  const Router router = make_router();
  FakeBackend db;
  for (const char* target :
       {"/v1/views/hourly_sales?limit=0", "/v1/views/hourly_sales?limit=10001",
        "/v1/views/hourly_sales?limit=abc",
        "/v1/views/hourly_sales?limit=", "/v1/views/hourly_sales?from=yesterday",
        "/v1/views/hourly_sales?to=2026-11-21", "/v1/views/top_products?from=2026-11-21T00:00:00Z",
        "/v1/views/daily_sales?limt=5", "/v1/views/daily_sales?limit=1&limit=2",
        "/v1/categories?limit=5", "/v1/accounting?group=%zz"}) {
    INFO(target);
    const auto r = answer(router, FakeRequest("GET", target), db);
    CHECK(r.status == 400);
    CHECK(problem_code(r) == "invalid_parameter");
    CHECK(json(r).HasMember("field"));
  }
  CHECK(db.reads.empty());
  const auto r = answer(router, FakeRequest("GET", "/v1/views/top_products?from=x"), db);
  CHECK(std::string(json(r)["field"].GetString()) == "from");
}

TEST_CASE("Accept picks JSON or CSV, anything else is 406", "[api][router]") {
  const Router router = make_router();
  FakeBackend db;
  db.rows.rows = {{"Pens, \"fine\"", "3", "10", "35.00", std::nullopt}};
  auto r = answer(router,
                  FakeRequest("GET", "/v1/views/popular_categories", {{"Accept", "text/csv"}}), db);
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/csv; charset=utf-8");
  CHECK(r.body ==
        "category,events,units,revenue,display_name\r\n\"Pens, \"\"fine\"\"\",3,10,35.00,\r\n");
  r = answer(router, FakeRequest("GET", "/v1/views/popular_categories", {{"Accept", "*/*"}}), db);
  CHECK(r.content_type == "application/json");
  r = answer(router,
             FakeRequest("GET", "/v1/views/popular_categories", {{"Accept", "application/xml"}}),
             db);
  CHECK(r.status == 406);
  CHECK(problem_code(r) == "not_acceptable");
  // The catalog is JSON only.
  r = answer(router, FakeRequest("GET", "/v1/categories", {{"Accept", "text/csv"}}), db);
  CHECK(r.status == 406);
}

TEST_CASE("catalog reads go through catalog::Reads, a missing key is 404", "[api][router]") {
  const Router router = make_router();
  FakeBackend db;
  db.fake_reads.categories_by_name["Pens & ink"] = R"({"name":"Pens & ink"})";
  db.fake_reads.products_by_sku[42] = R"({"sku":42})";
  auto r = answer(router, FakeRequest("GET", "/v1/categories/Pens%20%26%20ink"), db);
  CHECK(r.status == 200);
  CHECK(r.body == R"({"name":"Pens & ink"})");
  r = answer(router, FakeRequest("GET", "/v1/categories/Kites"), db);
  CHECK(r.status == 404);
  CHECK(problem_code(r) == "not_found");
  r = answer(router, FakeRequest("GET", "/v1/products/42"), db);
  CHECK(r.body == R"({"sku":42})");
  for (const char* target : {"/v1/products/43", "/v1/products/abc", "/v1/products/0",
                             "/v1/products/-1", "/v1/products/99999999999999999999"}) {
    INFO(target);
    CHECK(answer(router, FakeRequest("GET", target), db).status == 404);
  }
  r = answer(router, FakeRequest("GET", "/v1/categories"), db);
  CHECK(r.body == R"({"categories":[]})");
}

TEST_CASE("the database's failures are problems: 503 when they may heal, else 500",
          "[api][router]") {
  const Router router = make_router();
  FakeBackend db;
  db.failure.emplace(core::FailureClass::kRetryable, "connection lost");
  std::vector<core::FailureClass> seen;
  auto routed = router.route(FakeRequest("GET", "/v1/views/today_summary"));
  const auto& job = std::get<Job>(routed);
  auto r = Router::run(job, db, "/v1/views/today_summary",
                       [&](core::FailureClass c, std::string_view) { seen.push_back(c); });
  CHECK(r.status == 503);
  CHECK(problem_code(r) == "database_unavailable");
  CHECK(header(r, "Retry-After") == "1");
  db.failure.emplace(core::FailureClass::kFatal, "permission denied for view today_summary");
  r = Router::run(job, db, "/v1/views/today_summary",
                  [&](core::FailureClass c, std::string_view) { seen.push_back(c); });
  CHECK(r.status == 500);
  CHECK(problem_code(r) == "internal_error");
  CHECK(seen == std::vector{core::FailureClass::kRetryable, core::FailureClass::kFatal});
}

TEST_CASE("admin writes need the bearer token, compared in constant time", "[api][router]") {
  FakeBackend db;
  const char* body = R"({"name":"Pens","display_name":"Pens"})";
  const Router router = make_router();
  for (const auto& auth : {std::string(), std::string("Bearer wrong"), std::string("Bearer"),
                           std::string("Basic czNjcmV0LXRva2Vu"), std::string("Bearer s3cret-toke"),
                           std::string("Bearer s3cret-token2")}) {
    INFO(auth);
    std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
    if (!auth.empty()) headers["Authorization"] = auth;
    const FakeRequest req("POST", "/v1/categories", headers, body);
    const auto refused = router.screen(req);  // before the body is read
    REQUIRE(refused);
    CHECK(refused->status == 401);
    CHECK(problem_code(*refused) == "unauthorized");
    CHECK(header(*refused, "WWW-Authenticate") == "Bearer");
  }
  CHECK(db.created.empty());
  // The scheme in any case (RFC 7235).
  auto r = answer(
      router,
      FakeRequest("POST", "/v1/categories",
                  {{"Authorization", "bearer s3cret-token"}, {"Content-Type", "application/json"}},
                  body),
      db);
  CHECK(r.status == 201);
  CHECK(db.created.size() == 1);
  // Reads need no token.
  CHECK_FALSE(router.screen(FakeRequest("GET", "/v1/categories/Pens")));
}

TEST_CASE("admin writes: without a token or an admin connection they are 503", "[api][router]") {
  FakeBackend db;
  const char* body = R"({"name":"Pens","display_name":"Pens"})";
  auto r =
      answer(make_router(""), FakeRequest("POST", "/v1/categories", admin_headers(), body), db);
  CHECK(r.status == 503);
  CHECK(problem_code(r) == "admin_not_configured");
  CHECK_THAT(r.body, Catch::Contains("MILLRACE_API_ADMIN_TOKEN"));
  r = answer(make_router(kToken, false),
             FakeRequest("POST", "/v1/categories", admin_headers(), body), db);
  CHECK(r.status == 503);
  CHECK_THAT(r.body, Catch::Contains("MILLRACE_API_ADMIN_PG"));
  CHECK(db.created.empty());
}

TEST_CASE("admin writes: 415, 400, 422 naming the field, then the backend's outcome",
          "[api][router]") {
  const Router router = make_router();
  FakeBackend db;
  auto headers = admin_headers();
  headers["Content-Type"] = "text/plain";
  auto r = answer(router, FakeRequest("POST", "/v1/categories", headers, "{}"), db);
  CHECK(r.status == 415);
  CHECK(problem_code(r) == "unsupported_media_type");

  r = answer(router, FakeRequest("POST", "/v1/categories", admin_headers(), "{nope"), db);
  CHECK(r.status == 400);
  CHECK(problem_code(r) == "malformed_body");

  r = answer(router,
             FakeRequest("POST", "/v1/products", admin_headers(),
                         R"({"sku":7,"name":"Pen","category":"Pens","list_price":1.234})"),
             db);
  CHECK(r.status == 422);
  CHECK(problem_code(r) == "invalid_body");
  CHECK(std::string(json(r)["field"].GetString()) == "list_price");

  // PUT takes the key from the path: an upsert.
  db.result = WriteResult{WriteOutcome::kUpdated, R"({"sku":7})", ""};
  r = answer(router,
             FakeRequest("PUT", "/v1/products/7", admin_headers(),
                         R"({"name":"Pen","category":"Pens","list_price":1.25})"),
             db);
  CHECK(r.status == 200);
  REQUIRE(db.put_records.size() == 1);
  CHECK(std::get<catalog::Product>(db.put_records[0]).sku == 7);
  CHECK(std::get<catalog::Product>(db.put_records[0]).list_price.to_string() == "1.25");

  db.result = WriteResult{WriteOutcome::kConflict, "", "category \"Pens\" is still named"};
  r = answer(router, FakeRequest("DELETE", "/v1/categories/Pens", admin_headers()), db);
  CHECK(r.status == 409);
  CHECK(problem_code(r) == "conflict");
  db.result = WriteResult{WriteOutcome::kDeleted, "", ""};
  r = answer(router,
             FakeRequest("DELETE", "/v1/products/7", {{"Authorization", "Bearer s3cret-token"}}),
             db);
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  db.result = WriteResult{WriteOutcome::kNotFound, "", "no such product"};
  r = answer(router, FakeRequest("DELETE", "/v1/products/8", admin_headers()), db);
  CHECK(r.status == 404);
  REQUIRE(db.removed.size() == 3);
  CHECK(db.removed[2] == std::pair(catalog::Table::kProducts, std::string("8")));
}

TEST_CASE("health, readiness and metrics", "[api][router]") {
  FakeBackend db;
  auto r = answer(make_router(), FakeRequest("GET", "/healthz"), db);
  CHECK(r.status == 200);
  r = answer(make_router(), FakeRequest("GET", "/readyz"), db);
  CHECK(r.status == 200);
  r = answer(make_router(kToken, true, "connection refused"), FakeRequest("GET", "/readyz"), db);
  CHECK(r.status == 503);
  CHECK(r.body ==
        R"({"status":"not_ready","problems":[{"check":"postgresql","detail":"connection refused",)"
        R"("action":"start it"}]})"
        "\n");
  r = answer(make_router(), FakeRequest("GET", "/metrics"), db);
  CHECK(r.body == "# metrics\n");
}

TEST_CASE("the dashboard's page, script and styles are served from the binary, whatever Accept",
          "[api][router]") {
  FakeBackend db;
  auto r = answer(make_router(), FakeRequest("GET", "/", {{"Accept", "text/html"}}), db);
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/html; charset=utf-8");
  CHECK(r.body.find("/dashboard/app.js") != std::string::npos);
  CHECK(header(r, "Content-Security-Policy").value_or("").find("default-src 'self'") == 0);
  CHECK(header(r, "Cache-Control") == "no-cache");
  r = answer(make_router(), FakeRequest("GET", "/dashboard/app.js"), db);
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/javascript; charset=utf-8");
  CHECK(r.body.find("/v1/stream") != std::string::npos);
  r = answer(make_router(), FakeRequest("GET", "/dashboard/style.css"), db);
  CHECK(r.content_type == "text/css; charset=utf-8");
  CHECK(header(r, "X-Content-Type-Options") == "nosniff");

  r = answer(make_router(), FakeRequest("GET", "/dashboard/missing.js"), db);
  CHECK(r.status == 404);
  CHECK(problem_code(r) == "not_found");
  r = answer(make_router(), FakeRequest("GET", "/dashboard/../../etc/passwd"), db);
  CHECK(r.status == 404);
  r = answer(make_router(), FakeRequest("POST", "/"), db);
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "GET");
  CHECK(match("/v1/stream").route == kRouteStream);
  r = answer(make_router(), FakeRequest("DELETE", "/v1/stream"), db);
  CHECK(r.status == 405);
}
