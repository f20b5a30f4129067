// millrace-api end to end on the test stack: a schema with a loaded catalog
// and known aggregates, the two roles made by `millrace api grant`, the
// real binary reading with the one and writing with the other. Every read
// route (JSON and CSV, from/to/limit) is checked against SQL to the digit,
// the admin writes with and without the token, each problem type, what the
// roles may not do, readiness and a clean SIGTERM.
#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <pqxx/pqxx>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "api_support.hpp"
#include "generated_catalog.hpp"
#include "harness.hpp"
#include "pipeline.hpp"

using namespace millrace::testing;
using namespace millrace::testing::api_tests;
using std::chrono::seconds;

namespace {

constexpr const char* kToken = "api-test-token";
constexpr const char* kPassword = "api-test-pw";

std::string pg_port(const Pipeline& p) {
  std::smatch m;
  REQUIRE(std::regex_search(p.env.pg, m, std::regex(R"(@[^:/]+:(\d+)/)")));
  return m[1];
}

// The stack's superuser, over its socket (trust): only it may create roles.
std::string superuser(const Pipeline& p) {
  const char* state = std::getenv("MILLRACE_STATE_DIR");
  REQUIRE(state != nullptr);
  return std::string("host=") + state + "/pgrun port=" + pg_port(p) +
         " user=postgres dbname=" + "millrace";
}

std::string role_dsn(const Pipeline& p, const std::string& role) {
  return "postgresql://" + role + ":" + kPassword + "@127.0.0.1:" + pg_port(p) + "/millrace";
}

// Roles are the cluster's, not the schema's: dropped even when the test fails.
struct Roles {
  std::string superuser, reader, admin;
  ~Roles() {
    try {
      pqxx::connection c(superuser);
      pqxx::nontransaction tx(c);
      for (const auto& r : {reader, admin}) {
        tx.exec("DROP OWNED BY " + tx.quote_name(r));
        tx.exec("DROP ROLE " + tx.quote_name(r));
      }
    } catch (const std::exception& e) {
      WARN("dropping the test roles: " << e.what());
    }
  }
};

// The SQLSTATE `sql` fails with as `conninfo`'s role, "" when it succeeds.
std::string sqlstate_of(const std::string& conninfo, const std::string& schema,
                        const std::string& sql) {
  try {
    exec(conninfo, schema, sql);
    return "";
  } catch (const pqxx::insufficient_privilege&) {
    return "42501";  // libpqxx 6 leaves this class's sqlstate() empty
  } catch (const pqxx::sql_error& e) {
    return e.sqlstate();
  }
}

httplib::Headers admin(const std::string& token = kToken) {
  return {{"Authorization", "Bearer " + token}};
}

}  // namespace

TEST_CASE("millrace-api: reads, admin writes, problems, roles, readiness, SIGTERM", "[api]") {
  Pipeline p("it_api");
  migrate_with_generated_catalog(p);

  // Aggregates with known figures: 10.25 + 2.25 keeps its scale (12.50).
  exec(p.env.pg, p.schema,
       "INSERT INTO agg_hourly VALUES "
       "('2026-11-21T10:00:00Z', 'sale_event', 'Pens', 2, 3, 10.25, 0.5, 0),"
       "('2026-11-21T10:00:00Z', 'sale_event', 'Rulers', 1, 1, 2.25, 0, 0),"
       "('2026-11-21T10:00:00Z', 'inventory_event', 'Pens', 4, 40, 0, 0, 0),"
       "('2026-11-21T11:00:00Z', 'sale_event', 'Pens', 1, -1, -3.333333, -0.1, 1),"
       "('2026-11-21T12:00:00Z', 'sale_event', 'Pens', 1, 1, 0.000001, 0, 0);"
       "INSERT INTO agg_daily SELECT date_trunc('day', window_start, 'UTC'), event_type, "
       "category, sum(events), sum(units), sum(revenue), sum(discount_total), sum(returns) "
       "FROM agg_hourly GROUP BY 1, 2, 3;"
       "INSERT INTO agg_daily VALUES (date_trunc('day', now(), 'UTC'), 'sale_event', 'Pens', 3, "
       "4, 7.10, 0, 1);"
       "INSERT INTO agg_products VALUES (145150, 10, 35.00), (42, 5, 1);"
       "INSERT INTO agg_categories VALUES ('Pens', 3, 10, 35.00, 0), ('Kites', 1, 5, 1, 0);"
       "INSERT INTO agg_web_orders_hourly VALUES ('2026-11-21T10:00:00Z', 3, 41.97, 7),"
       "(date_trunc('hour', now(), 'UTC'), 1, 2.50, 1);"
       "INSERT INTO agg_web_orders_daily VALUES ('2026-11-21T00:00:00Z', 3, 41.97, 7),"
       "(date_trunc('day', now(), 'UTC'), 1, 2.50, 1);"
       "INSERT INTO agg_web_orders_items VALUES (145150, 6, 30.00, 2), (42, 1, 2.5, 1);"
       "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, records_consumed) "
       "VALUES ('g1', 't', 0, 10, 10), ('g1', 't', 1, 5, 5), ('g2', 't', 0, 7, 7);"
       "INSERT INTO record_outcomes VALUES ('g1', 't', 0, 'persisted', '', 9), "
       "('g1', 't', 0, 'rejected', 'invalid_json', 1), ('g1', 't', 1, 'persisted', '', 5), "
       "('g2', 't', 0, 'duplicate', '', 7);");

  Roles roles{superuser(p), unique_name("api_reader"), unique_name("api_admin")};
  for (const auto& r : {roles.reader, roles.admin}) {
    exec(roles.superuser, "public",
         "CREATE ROLE " + r + " LOGIN PASSWORD '" + std::string(kPassword) + "'");
  }
  std::string out;
  REQUIRE(cli(p, "api grant --reader " + roles.reader + " --admin " + roles.admin, &out) == 0);
  CHECK_THAT(out, Catch::Contains("SELECT on hourly_sales"));
  CHECK(cli(p, "api grant") == 2);
  CHECK(cli(p, "api grant --reader x --admin x") == 2);

  {  // What the roles may not do.
    const auto reader = role_dsn(p, roles.reader);
    const auto admin_dsn = role_dsn(p, roles.admin);
    CHECK(sqlstate_of(reader, p.schema, "SELECT count(*) FROM hourly_sales") == "");
    CHECK(sqlstate_of(reader, p.schema, "SELECT count(*) FROM products") == "");
    CHECK(sqlstate_of(reader, p.schema,
                      "INSERT INTO categories (name, display_name) VALUES ('x', 'x')") == "42501");
    CHECK(sqlstate_of(reader, p.schema, "SELECT count(*) FROM store_events") == "42501");
    CHECK(sqlstate_of(reader, p.schema, "SELECT count(*) FROM agg_hourly") == "42501");
    CHECK(sqlstate_of(admin_dsn, p.schema, "SELECT count(*) FROM store_events") == "42501");
    CHECK(sqlstate_of(admin_dsn, p.schema, "DELETE FROM store_events") == "42501");
    CHECK(sqlstate_of(admin_dsn, p.schema, "SELECT count(*) FROM hourly_sales") == "42501");
    CHECK(sqlstate_of(admin_dsn, p.schema,
                      "UPDATE categories SET active = active WHERE name = 'Pens'") == "");
  }

  Api api(p,
          {{"MILLRACE_API_PG", role_dsn(p, roles.reader)},
           {"MILLRACE_API_ADMIN_PG", role_dsn(p, roles.admin)},
           {"MILLRACE_API_ADMIN_TOKEN", kToken},
           {"MILLRACE_API_MAX_BODY_BYTES", "4096"}},
          "api");
  auto c = api.client();
  REQUIRE(eventually([&] { return c.Get("/readyz")->status == 200; }, seconds(30)));

  // The list of views, with the columns PostgreSQL has.
  auto r = send(c, "GET", "/v1/views");
  REQUIRE(r.status == 200);
  REQUIRE(r.json["views"].Size() == 17);
  for (const auto& v : r.json["views"].GetArray()) {
    const std::string name = v["name"].GetString();
    std::vector<std::string> cols;
    for (const auto& col : v["columns"].GetArray()) cols.emplace_back(col["name"].GetString());
    INFO(name);
    CHECK(cols == view_columns(p, name));
  }

  // Every view's rows equal SQL's, to the digit.
  for (const auto& [view, order] : std::vector<std::pair<std::string, std::string>>{
           {"hourly_sales", "window_start, event_type"},
           {"daily_sales", "window_start, event_type"},
           {"orders_this_hour", "window_start"},
           {"today_summary", "day"},
           {"top_products", "rank"},
           {"popular_categories", "units DESC, category"},
           {"web_orders_hourly", "window_start"},
           {"web_orders_daily", "window_start"},
           {"web_orders_this_hour", "window_start"},
           {"web_orders_today", "day"},
           {"web_orders_top_products", "rank"},
           {"web_orders_categories", "units DESC, category"}}) {
    INFO(view);
    const auto cols = view_columns(p, view);
    r = send(c, "GET", "/v1/views/" + view);
    REQUIRE(r.status == 200);
    CHECK(r.content_type == "application/json");
    const auto expected =
        sql_rows(p, "SELECT " + select_of(cols) + " FROM " + view + " ORDER BY " + order);
    CHECK_FALSE(expected.empty());
    CHECK(api_rows(r, cols) == expected);
    CHECK_FALSE(r.json["truncated"].GetBool());
  }
  r = send(c, "GET", "/v1/views/hourly_sales");
  CHECK_THAT(r.body, Catch::Contains("\"revenue\":12.50,"));
  CHECK_THAT(r.body, Catch::Contains("\"revenue\":0.000001,"));
  CHECK(r.json["rows"].Size() == 4);

  // from (inclusive) and to (exclusive) on window_start, any offset; limit.
  r = send(c, "GET",
           "/v1/views/hourly_sales?from=2026-11-21T12:00:00%2B01:00&to=2026-11-21T12:00:00Z");
  REQUIRE(r.status == 200);
  REQUIRE(r.json["rows"].Size() == 1);
  CHECK(std::string(r.json["rows"][0]["window_start"].GetString()) == "2026-11-21T11:00:00Z");
  r = send(c, "GET", "/v1/views/hourly_sales?limit=2");
  CHECK(r.json["rows"].Size() == 2);
  CHECK(r.json["truncated"].GetBool());
  CHECK(std::string(r.json["limit"].GetString()) == "2");
  r = send(c, "GET", "/v1/views/daily_sales?from=2026-11-22T00:00:00Z&to=2026-11-21T00:00:00Z");
  CHECK(r.status == 200);
  CHECK(r.json["rows"].Size() == 0);

  // CSV.
  r = send(c, "GET", "/v1/views/hourly_sales?limit=2", {{"Accept", "text/csv"}});
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/csv; charset=utf-8");
  CHECK(r.body ==
        "window_start,event_type,events,units,revenue,discount_total,returns\r\n"
        "2026-11-21T10:00:00Z,inventory_event,4,40,0,0,0\r\n"
        "2026-11-21T10:00:00Z,sale_event,3,4,12.50,0.5,0\r\n");

  // Bad parameters and representations: problems.
  check_problem(send(c, "GET", "/v1/views/hourly_sales?limit=0"), 400, "invalid_parameter");
  check_problem(send(c, "GET", "/v1/views/hourly_sales?limit=10001"), 400, "invalid_parameter");
  check_problem(send(c, "GET", "/v1/views/hourly_sales?from=yesterday"), 400, "invalid_parameter");
  check_problem(send(c, "GET", "/v1/views/top_products?from=2026-11-21T00:00:00Z"), 400,
                "invalid_parameter");
  check_problem(send(c, "GET", "/v1/views/store_events"), 404, "not_found");
  check_problem(send(c, "GET", "/v1/nothing"), 404, "not_found");
  r = send(c, "PATCH", "/v1/views/hourly_sales");
  check_problem(r, 405, "method_not_allowed");
  CHECK(r.headers.find("Allow")->second == "GET");
  check_problem(send(c, "GET", "/v1/views/hourly_sales", {{"Accept", "application/xml"}}), 406,
                "not_acceptable");

  // The catalog, through the reads.
  r = send(c, "GET", "/v1/categories");
  REQUIRE(r.status == 200);
  CHECK(r.json["categories"].Size() == 20);
  r = send(c, "GET", "/v1/categories/Pens");
  REQUIRE(r.status == 200);
  CHECK(std::string(r.json["name"].GetString()) == "Pens");
  check_problem(send(c, "GET", "/v1/categories/Kites"), 404, "not_found");
  r = send(c, "GET", "/v1/products/145150");
  REQUIRE(r.status == 200);
  CHECK(std::string(r.json["list_price"].GetString()) ==
        *sql_rows(p, "SELECT list_price FROM products WHERE sku = 145150")[0][0]);
  check_problem(send(c, "GET", "/v1/products/1"), 404, "not_found");

  // Admin writes: the token first.
  const std::string kite = R"({"name":"Kites","display_name":"Kites, \"stunt\"","active":true})";
  r = send(c, "POST", "/v1/categories", {}, kite);
  check_problem(r, 401, "unauthorized");
  CHECK(r.headers.find("WWW-Authenticate")->second == "Bearer");
  check_problem(send(c, "POST", "/v1/categories", admin("wrong"), kite), 401, "unauthorized");
  check_problem(send(c, "DELETE", "/v1/categories/Pens", admin("wrong")), 401, "unauthorized");
  CHECK(sql_rows(p, "SELECT 1 FROM categories WHERE name = 'Kites'").empty());
  r = send(c, "POST", "/v1/categories", admin(), kite);
  REQUIRE(r.status == 201);
  CHECK(std::string(r.json["display_name"].GetString()) == "Kites, \"stunt\"");
  check_problem(send(c, "POST", "/v1/categories", admin(), kite), 409, "conflict");
  r = send(c, "PUT", "/v1/categories/Kites", admin(), R"({"display_name":"Kites"})");
  CHECK(r.status == 200);
  r = send(c, "PUT", "/v1/categories/Yo-yos", admin(), R"({"display_name":"Yo-yos"})");
  CHECK(r.status == 201);
  // The view names it from the catalog; CSV quotes what needs it.
  r = send(c, "PUT", "/v1/categories/Kites", admin(), R"({"display_name":"Kites, \"stunt\""})");
  CHECK(r.status == 200);
  r = send(c, "GET", "/v1/views/popular_categories", {{"Accept", "text/csv"}});
  CHECK_THAT(r.body, Catch::Contains("\r\nKites,1,5,1,\"Kites, \"\"stunt\"\"\"\r\n"));

  const std::string pen = R"({"sku":900001,"name":"Pen","category":"Kites","list_price":12.50})";
  r = send(c, "POST", "/v1/products", admin(), pen);
  REQUIRE(r.status == 201);
  CHECK_THAT(r.body, Catch::Contains("\"list_price\":12.50"));
  check_problem(send(c, "POST", "/v1/products", admin(),
                     R"({"sku":900002,"name":"X","category":"Nowhere","list_price":1})"),
                409, "conflict");
  check_problem(send(c, "DELETE", "/v1/categories/Kites", admin()), 409, "conflict");
  r = send(c, "POST", "/v1/products", admin(),
           R"({"sku":900003,"name":"X","category":"Kites","list_price":1.234})");
  check_problem(r, 422, "invalid_body");
  CHECK(std::string(r.json["field"].GetString()) == "list_price");
  check_problem(send(c, "POST", "/v1/products", admin(), "{nope"), 400, "malformed_body");
  check_problem(send(c, "POST", "/v1/products", admin(), pen, "text/plain"), 415,
                "unsupported_media_type");
  {
    auto once = api.client();  // the 413 closes its connection
    check_problem(send(once, "POST", "/v1/products", admin(), std::string(5000, ' ')), 413,
                  "body_too_large");
  }
  r = send(c, "DELETE", "/v1/products/900001", admin());
  CHECK(r.status == 204);
  check_problem(send(c, "DELETE", "/v1/products/900001", admin()), 404, "not_found");
  CHECK(send(c, "DELETE", "/v1/categories/Yo-yos", admin()).status == 204);
  CHECK(sql_rows(p, "SELECT 1 FROM categories WHERE name = 'Yo-yos'").empty());

  // Accounting, per group.
  r = send(c, "GET", "/v1/accounting?group=g1");
  REQUIRE(r.status == 200);
  const std::vector<std::string> acct = {
      "group_id", "topic", "partition", "next_offset", "consumed", "persisted", "filtered",
      "rejected", "late",  "duplicate", "unaccounted", "lost",     "expired"};
  CHECK(acct == view_columns(p, "partition_accounting"));
  CHECK(api_rows(r, acct) == sql_rows(p,
                                      "SELECT * FROM partition_accounting WHERE group_id = "
                                      "'g1' ORDER BY topic, partition"));
  CHECK(r.json["rows"].Size() == 2);
  r = send(c, "GET", "/v1/accounting", {{"Accept", "text/csv"}});
  CHECK(r.body.rfind("group_id,topic,partition,", 0) == 0);
  CHECK(std::count(r.body.begin(), r.body.end(), '\n') == 4);

  // Metrics, by route and status.
  r = send(c, "GET", "/metrics");
  CHECK_THAT(
      r.body,
      Catch::Contains("millrace_http_requests_total{route=\"/v1/views/{name}\",status=\"200\"}"));
  CHECK_THAT(r.body, Catch::Contains("millrace_api_ready 1"));

  // A second API whose database is unreachable: alive, not ready, its reads
  // 503, and admin writes off without an admin connection.
  {
    Api lost(p,
             {{"MILLRACE_API_PG",
               "postgresql://x:y@127.0.0.1:" + std::to_string(free_port()) + "/millrace"},
              {"MILLRACE_API_ADMIN_TOKEN", kToken}},
             "api-lost");
    auto l = lost.client();
    CHECK(l.Get("/readyz")->status == 503);
    check_problem(send(l, "GET", "/v1/views/today_summary"), 503, "database_unavailable");
    check_problem(send(l, "POST", "/v1/categories", admin(), kite), 503, "admin_not_configured");
    CHECK(stop_cleanly({&lost.child()}));
  }

  CHECK(stop_cleanly({&api.child()}));
}
