// millrace-api serving a kind declared in a kinds directory: its views, their
// rows against SQL's, and its OpenAPI description.
#include <httplib.h>
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api_support.hpp"
#include "harness.hpp"
#include "pipeline.hpp"

using namespace millrace::testing;
using namespace millrace::testing::api_tests;
using std::chrono::seconds;

// A kind declared in a kinds directory, with no code: millrace views and
// millrace-api serve its views, with the columns PostgreSQL has, rows equal
// to SQL's, and GET /v1/openapi.yaml documents them.
TEST_CASE("millrace-api: a declared kind's views, from its declaration", "[api]") {
  Pipeline p("it_api_kind");
  const std::string dir = p.log_dir + "/" + p.schema + ".kinds";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/parcel.json") << R"({
    "kind": "parcel", "description": "A parcel",
    "topic": {"name": "parcels", "env": "MILLRACE_PARCELS_TOPIC", "partitions": 1},
    "table": "parcels", "identity": "Id", "time": "At",
    "fields": [{"name": "Id", "column": "id", "type": "uuid", "required": true},
               {"name": "At", "column": "at", "type": "timestamp", "required": true},
               {"name": "Kg", "column": "kg", "type": "decimal", "required": true,
                "min": 0, "max": 100}],
    "aggregate": {"name": "parcels", "records_as": "parcels", "amount": "Kg",
                  "amount_as": "kilograms"}})";
  REQUIRE(cli(p, "migrate --kinds-dir " + dir) == 0);
  exec(p.env.pg, p.schema,
       "INSERT INTO agg_parcels_hourly VALUES ('2026-11-21T10:00:00Z', 2, 3.50, 0),"
       "(date_trunc('hour', now(), 'UTC'), 1, 0.25, 0);"
       "INSERT INTO agg_parcels_daily SELECT date_trunc('day', window_start, 'UTC'), "
       "sum(records), sum(amount), sum(units) FROM agg_parcels_hourly GROUP BY 1;");

  std::string out;
  REQUIRE(cli(p, "views --kinds-dir " + dir, &out) == 0);
  CHECK_THAT(out, Catch::Contains("parcels_today"));
  REQUIRE(cli(p, "views --kinds-dir " + dir + " parcels_hourly --format csv", &out) == 0);
  CHECK_THAT(out, Catch::StartsWith("window_start,parcels,kilograms,units\r\n"));
  CHECK_THAT(out, Catch::Contains(",2,3.50,0\r\n"));
  CHECK(cli(p, "views parcels_hourly") == 2);  // without the directory, unknown

  Api api(p, {{"MILLRACE_KINDS_DIR", dir}}, "api-kind");
  auto c = api.client();
  REQUIRE(eventually([&] { return c.Get("/readyz")->status == 200; }, seconds(30)));
  auto r = send(c, "GET", "/v1/views");
  REQUIRE(r.status == 200);
  std::vector<std::string> served;
  for (const auto& v : r.json["views"].GetArray()) {
    const std::string name = v["name"].GetString();
    if (std::string(v["kind"].GetString()) != "parcel") continue;
    served.push_back(name);
    std::vector<std::string> cols;
    for (const auto& col : v["columns"].GetArray()) cols.emplace_back(col["name"].GetString());
    INFO(name);
    CHECK(cols == view_columns(p, name));
    const auto got = send(c, "GET", "/v1/views/" + name);
    REQUIRE(got.status == 200);
    CHECK(api_rows(got, cols) ==
          sql_rows(p, "SELECT " + select_of(cols) + " FROM " + name + " ORDER BY 1"));
  }
  CHECK(served == std::vector<std::string>{"parcels_hourly", "parcels_daily", "parcels_this_hour",
                                           "parcels_today"});
  r = send(c, "GET", "/v1/views/parcels_hourly?from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z");
  REQUIRE(r.status == 200);
  CHECK(r.json["rows"].Size() == 1);
  check_problem(send(c, "GET", "/v1/views/parcels_today?from=2026-11-21T00:00:00Z"), 400,
                "invalid_parameter");
  auto doc = c.Get("/v1/openapi.yaml");
  REQUIRE(doc);
  CHECK(doc->status == 200);
  CHECK_THAT(doc->body, Catch::Contains("\n  /v1/views/parcels_today:\n    get: {"));
  CHECK_THAT(doc->body, Catch::Contains("\n    ParcelsHourlyRows: {"));
  CHECK(stop_cleanly({&api.child()}));
}
