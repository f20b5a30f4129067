// A view's rows as JSON (numbers with PostgreSQL's digits) and CSV
// (RFC 4180 quoting); problem+json.
#include "render.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "millrace/core/options.hpp"
#include "millrace/kinds/registry.hpp"
#include "parcel.hpp"
#include "problem.hpp"
#include "views.hpp"

using namespace millrace::api;

TEST_CASE("rows as JSON: numbers keep their digits, text and NULL as such", "[api][render]") {
  const View& v = *built_in_views()->find("top_products");
  Rows rows;
  rows.rows = {{"1", "145150", "10", "35.000000", "12345", std::nullopt},
               {"2", "42", "-5", "-0.50", "Pen \"fine\"", "Contoso"}};
  rows.truncated = true;
  const std::string out = rows_json(v, rows, 2);
  CHECK(
      out ==
      R"({"view":"top_products","limit":2,"truncated":true,"rows":[)"
      R"({"rank":1,"sku":145150,"units":10,"revenue":35.000000,"name":"12345","brand":null},)"
      R"({"rank":2,"sku":42,"units":-5,"revenue":-0.50,"name":"Pen \"fine\"","brand":"Contoso"}]})");
  rapidjson::Document d;
  d.Parse(out.c_str());
  CHECK_FALSE(d.HasParseError());
  // A value that is not a JSON number stays a string rather than break the document.
  rows.rows = {{"1", "2", "3", "NaN", "a", "b"}};
  CHECK_THAT(rows_json(v, rows, 1), Catch::Contains(R"("revenue":"NaN")"));
}

TEST_CASE("rows of a view not filled yet carry its fill after truncated", "[api][render]") {
  const View& v = *built_in_views()->find("web_orders_top_products_per_local_day");
  Rows rows;
  rows.fill = millrace::pg::ViewFillState{"unfilled", 0, 0};
  CHECK_THAT(rows_json(v, rows, 5),
             Catch::Contains(R"("truncated":false,"fill":{"state":"unfilled","offsets_read":0,)"
                             R"("offsets":0},"rows":[])"));
  rows.fill.reset();
  CHECK_THAT(rows_json(v, rows, 5), !Catch::Contains("fill"));
}

TEST_CASE("rows as CSV: header, CRLF, quotes only where needed", "[api][render]") {
  const View& v = *built_in_views()->find("popular_categories");
  Rows rows;
  rows.rows = {{"Pens", "1", "2", "3.50", "Pens, pencils"},
               {"Say \"hi\"", "1", "2", "3", std::nullopt},
               {"two\nlines", "1", "2", "3", ""}};
  CHECK(rows_csv(v, rows) ==
        "category,events,units,revenue,display_name\r\n"
        "Pens,1,2,3.50,\"Pens, pencils\"\r\n"
        "\"Say \"\"hi\"\"\",1,2,3,\r\n"
        "\"two\nlines\",1,2,3,\r\n");
  CHECK(rows_csv(v, Rows{}) == "category,events,units,revenue,display_name\r\n");
}

TEST_CASE("every view served is one pg knows, with its description", "[api][render]") {
  const auto served = built_in_views();
  REQUIRE(served->views.size() == 17);
  for (const auto& v : served->views) {
    CHECK_FALSE(v.description.empty());
    CHECK_FALSE(v.columns.empty());
  }
  CHECK(served->find("hourly_sales")->windowed);
  CHECK_FALSE(served->find("today_summary")->windowed);
  CHECK(served->find("store_events") == nullptr);
  CHECK(accounting_view().name == "partition_accounting");
}

TEST_CASE("a declared kind's views are served, listed and shown on the dashboard",
          "[api][render]") {
  auto kinds = millrace::kinds::all_kinds("");
  kinds.push_back(millrace::api::testing::parcel_kind());
  const auto served = serve_views(kinds);
  REQUIRE(served->views.size() == 21);
  const View* today = served->find("parcels_today");
  REQUIRE(today != nullptr);
  CHECK(today->kind == "parcel");
  const std::string list = views_json(*served);
  CHECK_THAT(list, Catch::Contains(R"({"name":"parcels_today","kind":"parcel","description":)"));
  CHECK_THAT(list, Catch::Contains(R"("path":"/v1/views/parcels_hourly","windowed":true,)"));
  CHECK_THAT(list, Catch::Contains(
                       R"("columns":[{"name":"day","type":"timestamp"},{"name":"parcels","type":)"
                       R"("integer"},{"name":"kilograms","type":"decimal"},{"name":"units",)"));
  std::vector<std::string> shown;
  for (const auto& d : served->dashboard) shown.push_back(d.name);
  CHECK(shown == std::vector<std::string>{
                     "today_summary", "orders_this_hour", "hourly_sales", "daily_sales",
                     "top_products", "popular_categories", "web_orders_this_hour",
                     "web_orders_today", "web_orders_top_products", "web_orders_categories",
                     "web_orders_top_products_per_local_day", "trades_this_hour", "trades_today",
                     "parcels_this_hour", "parcels_today"});
  // A declared view: its recent windows, all their rows; a top N's from
  // the UTC day before the newest window (a day in New York) began.
  const auto& top = served->dashboard[10];
  CHECK(top.limit == 10'000);
  CHECK(top.by_day);
  CHECK(top.back_us == 2 * kDayUs);
  CHECK_THAT(list, Catch::Contains(R"({"name":"web_orders_top_products_per_local_day",)"));
  CHECK_THAT(list,
             Catch::Contains(R"("windowed":true,"declared":true,"dimensions":["product_id"],)"));
  CHECK_THAT(
      list, Catch::Contains(R"("path":"/v1/views/parcels_hourly","windowed":true,"declared":false,)"
                            R"("dimensions":[],)"));
  CHECK(std::find(served->tables.begin(), served->tables.end(), "agg_parcels_daily") !=
        served->tables.end());
  CHECK(std::find(served->tables.begin(), served->tables.end(), "agg_web_orders_items") !=
        served->tables.end());
  // A kind whose views would take another's names is refused.
  auto clash = kinds.back();
  clash.kind = "other";
  kinds.push_back(clash);
  CHECK_THROWS_AS(serve_views(kinds), millrace::core::UsageError);
}

TEST_CASE("problem+json: type, title, status, detail, instance, field", "[api][problem]") {
  const auto r = problem_reply(
      Problem{422, "invalid_body", "\"list_price\" must be ...", "/v1/products", "list_price"});
  CHECK(r.status == 422);
  CHECK(r.content_type == "application/problem+json");
  CHECK(r.body == R"({"type":"urn:millrace:problem:invalid_body","title":"Invalid request body",)"
                  R"("status":422,"detail":"\"list_price\" must be ...","instance":"/v1/products",)"
                  R"("field":"list_price"})");
  // Without instance and field (the server's own refusals), and with
  // input that is not UTF-8 made safe.
  CHECK(problem_json(Problem{413, "body_too_large", "too \xff large", {}, {}}) ==
        R"({"type":"urn:millrace:problem:body_too_large","title":"Request body too large",)"
        "\"status\":413,\"detail\":\"too \xEF\xBF\xBD large\"}");
  CHECK(problem_title("no_such_code") == "Error");
}
