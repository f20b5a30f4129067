// The views member of a declaration (view_decl.cpp): windows, groups,
// measures, top N and retention as read, and what is refused, naming where;
// a views file beside a declaration (add_views) likewise.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "millrace/core/options.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/registry.hpp"

using namespace millrace;
using namespace millrace::kinds;
using Catch::Matchers::Contains;
using std::chrono::minutes;

namespace {

// A kind with lines, whose views are `views` (a JSON array's items), with
// `more` members (ending in a comma) before them.
std::string with(std::string_view views, std::string_view more = "") {
  return std::string(R"({
  "kind": "basket",
  "topic": {"name": "baskets", "env": "MILLRACE_BASKETS_TOPIC", "partitions": 2},
  "table": "baskets",
  "identity": "Id",
  "time": "At",
  "fields": [
    {"name": "Id", "column": "id", "type": "text", "required": true, "max_bytes": 40},
    {"name": "At", "column": "at", "type": "timestamp", "required": true},
    {"name": "Store", "column": "store", "type": "integer", "required": true, "min": 0, "max": 999},
    {"name": "Discount", "column": "discount", "type": "decimal", "required": true, "min": 0, "max": 100},
    {"name": "Note", "column": "note", "type": "text"},
    {"name": "Email", "column": "email", "type": "text", "required": true, "pii": true},
    {"name": "Huge", "column": "huge", "type": "decimal", "required": true, "min": 0, "max": 1000000000000}
  ],
  "lines": {"name": "Items", "table": "basket_items", "number_column": "n", "min_items": 1,
            "max_items": 50, "fields": [
    {"name": "Sku", "column": "sku", "type": "integer", "required": true, "min": 0, "max": 1000000},
    {"name": "Qty", "column": "qty", "type": "integer", "required": true, "min": 1, "max": 1000},
    {"name": "Price", "column": "price", "type": "decimal", "required": true, "min": 0, "max": 100000}
  ]},
  )") + std::string(more) +
         R"("views": [)" + std::string(views) + "]}";
}

std::string refusal(std::string_view views, std::string_view more = "") {
  const auto json = with(views, more);
  INFO("declaration: " << json);
  try {
    parse_declaration(json, "test basket");
  } catch (const core::UsageError& e) {
    return e.what();
  }
  FAIL("the declaration was accepted");
  return {};
}

}  // namespace

TEST_CASE("a declared view reads its window, groups, measures, top and retention",
          "[kinds][views]") {
  const auto d = parse_declaration(with(R"(
    {"name": "top_skus", "window": {"size": "1d", "time_zone": "America/New_York"},
     "group_by": ["Store", "Sku"],
     "measures": [{"as": "units", "op": "sum", "of": ["Qty"]},
                  {"as": "revenue", "op": "sum", "of": ["Price", "Qty", {"percent_off": "Discount"}]},
                  {"as": "lines", "op": "count"},
                  {"as": "mean_price", "op": "avg", "of": ["Price"], "scale": 2}],
     "top": {"n": 5, "by": "units", "then": ["Sku"], "per": ["Store"]},
     "retention": "30d"},
    {"name": "rolling", "window": {"size": "1h", "hop": "5m"}, "group_by": ["Store"],
     "measures": [{"as": "baskets", "op": "count"}]})"),
                                   "test basket");
  REQUIRE(d.views.size() == 2);
  const auto& v = d.views[0];
  CHECK(v.window.size == minutes{1440});
  CHECK(v.window.tumbling());
  CHECK(v.window.time_zone == "America/New_York");
  REQUIRE(v.group_by.size() == 2);
  CHECK_FALSE(v.group_by[0].on_line);
  CHECK(v.group_by[1].on_line);
  CHECK(v.over_lines);
  REQUIRE(v.measures.size() == 4);
  CHECK(v.measures[0].scale == 0);
  // 6 for the price, 0 for the quantity, 8 for 1 - discount / 100.
  CHECK(v.measures[1].scale == 14);
  CHECK(v.measures[1].of[2].percent_off);
  CHECK(v.measures[2].op == MeasureDecl::Op::kCount);
  CHECK(v.measures[3].avg_scale == 2);
  REQUIRE(v.top);
  CHECK(v.top->n == 5);
  CHECK(v.top->per == std::vector<std::size_t>{0});
  CHECK(v.top->then == std::vector<std::size_t>{1});
  CHECK(v.retention == std::chrono::milliseconds{30LL * 86'400'000});
  const auto& r = d.views[1];
  CHECK(r.window.hop == minutes{5});
  CHECK_FALSE(r.over_lines);
  CHECK(r.window.time_zone == "UTC");
}

TEST_CASE("a declared view is refused with where and why", "[kinds][views]") {
  const std::string count = R"("measures": [{"as": "n", "op": "count"}])";
  CHECK_THAT(refusal(R"({"name": "v", "window": {"size": "7m"}, )" + count + "}"),
             Contains("views[0].window.size") && Contains("must divide a day"));
  CHECK_THAT(refusal(R"({"name": "v", "window": {"size": "30m", "time_zone": "Asia/Kolkata"}, )" +
                     count + "}"),
             Contains("must divide 15m, or be 1h, 1d or 7d"));
  CHECK_THAT(refusal(R"({"name": "v", "window": {"size": "1h", "hop": "7m"}, )" + count + "}"),
             Contains("views[0].window.hop"));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1d", "hop": "1h", "time_zone": "Europe/Paris"}, )" +
          count + "}"),
      Contains("whole days"));
  CHECK_THAT(refusal(R"({"name": "v", "window": {"size": "90s"}, )" + count + "}"),
             Contains("not a whole number of minutes"));
  CHECK_THAT(
      refusal(R"({"name": "v", "window": {"size": "1h", "time_zone": "New York"}, )" + count + "}"),
      Contains("not a time zone's name"));
  CHECK_THAT(
      refusal(R"({"name": "v", "window": {"size": "1h"}, "group_by": ["Note"], )" + count + "}"),
      Contains("views[0].group_by[0]") && Contains("must be required"));
  CHECK_THAT(
      refusal(R"({"name": "v", "window": {"size": "1h"}, "group_by": ["Email"], )" + count + "}"),
      Contains("personal data"));
  CHECK_THAT(
      refusal(R"({"name": "v", "window": {"size": "1h"}, "group_by": ["At"], )" + count + "}"),
      Contains("must be text, integer or uuid"));
  CHECK_THAT(
      refusal(R"({"name": "v", "window": {"size": "1h"}, "group_by": ["Nope"], )" + count + "}"),
      Contains("names no field"));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "measures": [{"as": "m", "op": "median", "of": ["Qty"]}]})"),
      Contains("views[0].measures[0].op") && Contains("not count, sum, min, max or avg"));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "measures": [{"as": "m", "op": "count", "of": ["Qty"]}]})"),
      Contains("a count counts rows"));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "measures": [{"as": "m", "op": "sum", "of": [{"percent_off": "Qty"}]}]})"),
      Contains("percent_off takes a decimal field"));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "measures": [{"as": "m", "op": "sum", "of": ["Huge", "Huge", "Huge"]}]})"),
      Contains("can exceed 2^100"));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "measures": [{"as": "window_start", "op": "count"}]})"),
      Contains("already a column of the view"));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "group_by": ["Store"], "top": {"n": 3, "by": "nope"}, )" +
          count + "}"),
      Contains("views[0].top.by"));
  CHECK_THAT(refusal(R"({"name": "v", "window": {"size": "1h"}, "top": {"n": 3, "by": "n"}, )" +
                     count + "}"),
             Contains("needs a group_by"));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "group_by": ["Store"], "top": {"n": 3, "by": "n", "per": ["Store"]}, )" +
          count + "}"),
      Contains("leaves no group to rank"));
  CHECK_THAT(
      refusal(R"({"name": "v", "window": {"size": "1d"}, "retention": "1h", )" + count + "}"),
      Contains("keeps less than one window"));
  CHECK_THAT(refusal(R"({"name": "v", "window": {"size": "1h", "hop": "5m"}, "retention": "7d", )" +
                     count + "}"),
             Contains("tumbling windows only"));
  CHECK_THAT(refusal(R"({"name": "v", "window": {"size": "1h"}, )" + count +
                     R"(}, {"name": "v", "window": {"size": "1h"}, )" + count + "}"),
             Contains("views[1].name") && Contains("declared twice"));
  CHECK_THAT(refusal(R"({"name": "v", "window": {"size": "1h"}, "colour": "red", )" + count + "}"),
             Contains("unknown member \"colour\""));
}

namespace {

// The basket kind above, with one view of its own, and a views file's refusal.
Declaration basket() {
  return parse_declaration(
      with(
          R"({"name": "hourly", "window": {"size": "1h"}, "measures": [{"as": "n", "op": "count"}]})"),
      "test basket");
}

std::string views_file_refusal(std::string_view json) {
  auto d = basket();
  INFO("views file: " << json);
  try {
    add_views(d, json, "kinds/basket.views.json");
  } catch (const core::UsageError& e) {
    return e.what();
  }
  FAIL("the views file was accepted");
  return {};
}

}  // namespace

TEST_CASE("a views file adds its views after the declaration's", "[kinds][views]") {
  auto d = basket();
  add_views(d, R"({"$comment": "a retailer's", "kind": "basket", "views": [
    {"name": "per_store_day", "window": {"size": "1d", "time_zone": "Europe/Paris"},
     "group_by": ["Store"], "measures": [{"as": "revenue", "op": "sum", "of": ["Price", "Qty"]}]},
    {"name": "top_skus", "window": {"size": "1d"}, "group_by": ["Sku"],
     "measures": [{"as": "units", "op": "sum", "of": ["Qty"]}], "top": {"n": 3, "by": "units"}}]})",
            "kinds/basket.views.json");
  REQUIRE(d.views.size() == 3);
  CHECK(d.views[0].name == "hourly");
  CHECK(d.views[1].name == "per_store_day");
  CHECK(d.views[1].window.time_zone == "Europe/Paris");
  CHECK(d.views[1].measures[0].scale == 6);
  CHECK(d.views[2].top->n == 3);
  CHECK(d.views[2].over_lines);
  // An empty list adds nothing.
  add_views(d, R"({"kind": "basket", "views": []})", "kinds/basket.views.json");
  CHECK(d.views.size() == 3);
}

TEST_CASE("a views file is refused naming the file, where and why", "[kinds][views]") {
  const std::string count = R"("measures": [{"as": "n", "op": "count"}])";
  CHECK_THAT(views_file_refusal(R"({"kind": "basket", "views": [)"),
             Contains("views file kinds/basket.views.json: not JSON"));
  CHECK_THAT(
      views_file_refusal(R"({"kind": "basket", "views": [], "fields": []})"),
      Contains("views file kinds/basket.views.json") && Contains("unknown member \"fields\""));
  CHECK_THAT(views_file_refusal(R"({"views": []})"), Contains("missing \"kind\""));
  CHECK_THAT(views_file_refusal(R"({"kind": "basket"})"), Contains("missing \"views\""));
  CHECK_THAT(views_file_refusal(R"({"kind": "order", "views": []})"),
             Contains("kinds/basket.views.json: kind: \"order\" is not the kind of its file name "
                      "(basket)") &&
                 Contains("order.views.json"));
  CHECK_THAT(views_file_refusal(R"({"kind": "basket", "views": {}})"),
             Contains("views: must be an array"));
  // Named in the declaration already, or twice in the file.
  CHECK_THAT(views_file_refusal(R"({"kind": "basket", "views": [{"name": "hourly", "window": )"
                                R"({"size": "1h"}, )" +
                                count + "}]}"),
             Contains("kinds/basket.views.json: views[0].name: \"hourly\" is declared twice") &&
                 Contains("the kind's declaration declares it already"));
  CHECK_THAT(
      views_file_refusal(R"({"kind": "basket", "views": [{"name": "a", "window": )"
                         R"({"size": "1h"}, )" +
                         count + R"(}, {"name": "a", "window": {"size": "1h"}, )" + count + "}]}"),
      Contains("views[1].name") && Contains("declared twice"));
  // A view is read as a declaration's is.
  CHECK_THAT(views_file_refusal(R"({"kind": "basket", "views": [{"name": "v", "window": )"
                                R"({"size": "7m"}, )" +
                                count + "}]}"),
             Contains("kinds/basket.views.json: views[0].window.size: must divide a day"));
  CHECK_THAT(views_file_refusal(R"({"kind": "basket", "views": [{"name": "v", "window": )"
                                R"({"size": "1h"}, "group_by": ["Email"], )" +
                                count + "}]}"),
             Contains("personal data"));
}

TEST_CASE("the store event takes declared views, in a views file or its declaration",
          "[kinds][views]") {
  auto store_event = find_kind("store_event", "");
  // Its own: the tables it had before declared views, adopted.
  REQUIRE(store_event.views.size() == 4);
  for (const auto& own : store_event.views) CHECK(own.table == own.name);
  add_views(store_event,
            R"({"kind": "store_event", "views": [{"name": "sales_per_store_hour", )"
            R"("window": {"size": "1h", "time_zone": "America/New_York"}, )"
            R"("group_by": ["store_id"], "measures": [{"as": "revenue", "op": "sum", )"
            R"("of": ["price", "qty", {"percent_off": "discount"}]}]}]})",
            "k/store_event.views.json");
  REQUIRE(store_event.views.size() == 5);
  const auto& v = store_event.views[4];
  CHECK(v.window.time_zone == "America/New_York");
  REQUIRE(v.group_by.size() == 1);
  CHECK(store_event.fields[v.group_by[0].index].name == "store_id");
  REQUIRE(v.measures.size() == 1);
  CHECK(v.measures[0].of.size() == 3);
  CHECK(v.measures[0].of[2].percent_off);
  // In its declaration too, by the same rules: contact_me is free text,
  // optional, and no group.
  std::string json(built_in_kinds()[1].json);
  REQUIRE(built_in_kinds()[1].kind == "store_event");
  const std::string views = "\"views\": [";
  const auto at = json.find(views);
  REQUIRE(at != std::string::npos);
  json.insert(at + views.size(),
              R"({"name": "v", "window": {"size": "1d"}, "group_by": ["category"], )"
              R"("measures": [{"as": "n", "op": "count"}]}, )");
  CHECK(parse_declaration(json, "test store_event").views.size() == 5);
  json.replace(json.find("[\"category\"]"), 12, "[\"contact_me\"]");
  CHECK_THROWS_WITH(parse_declaration(json, "test store_event"),
                    Contains("test store_event: views[0].group_by"));
}

TEST_CASE("a declared view groups by the catalog's facts of the kind's enriched sku",
          "[kinds][views][enrich]") {
  const auto d = parse_declaration(with(R"(
    {"name": "by_category", "window": {"size": "1d", "time_zone": "America/New_York"},
     "group_by": [{"catalog": "category"}, "Store"],
     "measures": [{"as": "revenue", "op": "sum", "of": ["Price", "Qty"]}],
     "top": {"n": 3, "by": "revenue", "then": [{"catalog": "category"}], "per": ["Store"]}},
    {"name": "by_brand", "window": {"size": "1h"},
     "group_by": [{"catalog": "brand"}, {"catalog": "name"}],
     "measures": [{"as": "n", "op": "count"}]},
    {"name": "by_store", "window": {"size": "1h"}, "group_by": ["Store"],
     "measures": [{"as": "n", "op": "count"}]})",
                                        R"("enrich": {"sku": "Sku"},)"),
                                   "test basket");
  REQUIRE(d.views.size() == 3);
  const auto& v = d.views[0];
  REQUIRE(v.group_by.size() == 2);
  CHECK(v.group_by[0].catalog == CatalogFact::kCategory);
  // The sku is one of the lines': every line is a row, grouped by its own
  // product.
  CHECK(v.group_by[0].on_line);
  CHECK(v.group_by[0].index == d.enrich->sku);
  CHECK(v.group_by[1].catalog == CatalogFact::kNone);
  CHECK(v.over_lines);
  CHECK(v.needs_catalog());
  REQUIRE(v.top.has_value());
  CHECK(v.top->then == std::vector<std::size_t>{0});
  CHECK(v.top->per == std::vector<std::size_t>{1});
  CHECK(d.views[1].group_by[0].catalog == CatalogFact::kBrand);
  CHECK(d.views[1].group_by[1].catalog == CatalogFact::kName);
  CHECK(d.views[1].over_lines);
  CHECK_FALSE(d.views[2].needs_catalog());
}

TEST_CASE("a view grouped by the catalog is refused with where and why", "[kinds][views][enrich]") {
  const std::string count = R"("measures": [{"as": "n", "op": "count"}])";
  const std::string enrich = R"("enrich": {"sku": "Sku"},)";
  CHECK_THAT(
      refusal(R"({"name": "v", "window": {"size": "1h"}, "group_by": [{"catalog": "category"}], )" +
              count + "}"),
      Contains("views[0].group_by[0]") && Contains("declares no \"enrich\""));
  CHECK_THAT(
      refusal(R"({"name": "v", "window": {"size": "1h"}, "group_by": [{"catalog": "colour"}], )" +
                  count + "}",
              enrich),
      Contains("views[0].group_by[0].catalog") &&
          Contains("\"colour\" is not name, brand or category"));
  CHECK_THAT(refusal(R"({"name": "v", "window": {"size": "1h"}, "group_by": [{"field": "Sku"}], )" +
                         count + "}",
                     enrich),
             Contains("views[0].group_by[0]") && Contains("unknown member \"field\""));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "group_by": [{"catalog": "category"}, {"catalog": "category"}], )" +
              count + "}",
          enrich),
      Contains("views[0].group_by[1]") && Contains("\"product_category\" is already a column"));
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "group_by": [{"catalog": "category"}, "Store"], "top": {"n": 3, "by": "n", "then": [{"catalog": "brand"}]}, )" +
              count + "}",
          enrich),
      Contains("views[0].top.then") && Contains("\"catalog.brand\" is not one of group_by"));
  // The sku a catalog group reads is no group of its own.
  CHECK_THAT(
      refusal(
          R"({"name": "v", "window": {"size": "1h"}, "group_by": [{"catalog": "category"}, "Store"], "top": {"n": 3, "by": "n", "per": ["Sku"]}, )" +
              count + "}",
          enrich),
      Contains("views[0].top.per") && Contains("\"Sku\" is not one of group_by"));
}

namespace {

// What add_views() says of `views` added to the store event.
std::string store_views_refusal(const std::string& views) {
  auto d = find_kind("store_event", "");
  try {
    add_views(d, R"({"kind": "store_event", "views": [)" + views + "]}", "t.views.json");
  } catch (const core::UsageError& e) {
    return e.what();
  }
  FAIL("the views were accepted: " << views);
  return {};
}

}  // namespace

TEST_CASE("a view adopts a table, with conditions, signs and a window of all time",
          "[kinds][views]") {
  const auto d = find_kind("store_event", "");
  REQUIRE(d.views.size() == 4);
  const auto& hourly = d.views[0];
  CHECK(hourly.table == "agg_hourly");
  CHECK(hourly.adopts_table());
  CHECK_FALSE(hourly.window.all_time);
  CHECK(hourly.window.size == minutes{60});
  REQUIRE(hourly.measures.size() == 5);
  // events: a count, which has a column of its own in an adopted table.
  CHECK(hourly.has_column(hourly.measures[0]));
  const auto& units = hourly.measures[1];
  REQUIRE(units.negative_when);
  CHECK(d.fields[units.negative_when->index].name == "is_return");
  const auto& revenue = hourly.measures[2];
  CHECK(revenue.scale == 14);
  REQUIRE(revenue.where.size() == 1);
  CHECK(d.fields[revenue.where[0].field.index].name == "event_type");
  CHECK(std::get<std::string>(revenue.where[0].equals) == "sale_event");
  const auto& discount = hourly.measures[3];
  CHECK(discount.of[2].percent);
  CHECK_FALSE(discount.of[2].percent_off);
  CHECK(discount.scale == 14);
  CHECK(std::get<bool>(hourly.measures[4].where[0].equals));
  const auto& products = d.views[2];
  CHECK(products.window.all_time);
  REQUIRE(products.where.size() == 1);
  CHECK(std::get<std::string>(products.where[0].equals) == "sale_event");

  // A view of its own table keeps a count without a condition as row_count.
  auto own = d;
  add_views(own,
            R"({"kind": "store_event", "views": [{"name": "returns_per_store", )"
            R"("window": {"size": "1h"}, "group_by": ["store_id"], "measures": [)"
            R"({"as": "events", "op": "count"}, {"as": "returns", "op": "count", )"
            R"("where": {"is_return": true}}]}]})",
            "t.views.json");
  const auto& v = own.views.back();
  CHECK_FALSE(v.has_column(v.measures[0]));
  CHECK(v.has_column(v.measures[1]));

  const std::string window = R"("window": {"size": "1h"}, )";
  const std::string count = R"("measures": [{"as": "n", "op": "count"}])";
  CHECK_THAT(store_views_refusal(R"({"name": "v", "window": "all", )" + count + "}"),
             Contains("views[0].window: \"all\" is for a view with a \"table\""));
  CHECK_THAT(store_views_refusal(R"({"name": "v", "table": "t", "window": {"size": "1h", )"
                                 R"("time_zone": "America/New_York"}, )" +
                                 count + "}"),
             Contains("views[0].window: of a view with a \"table\" is tumbling in UTC"));
  CHECK_THAT(
      store_views_refusal(R"({"name": "v", "table": "t", )" + window +
                          R"("group_by": ["sku"], "top": {"n": 1, "by": "n"}, )" + count + "}"),
      Contains("views[0].top: is not for a view with a \"table\""));
  CHECK_THAT(store_views_refusal(R"({"name": "v", "table": "t", )" + window +
                                 R"("measures": [{"as": "p", "op": "max", "of": ["price"]}]})"),
             Contains("views[0].measures[0].op: of a view with a \"table\" is count or sum"));
  CHECK_THAT(store_views_refusal(R"({"name": "v", )" + window +
                                 R"("where": {"event_type": "refund"}, )" + count + "}"),
             Contains("views[0].where.event_type: \"refund\" is not one of the field's values"));
  CHECK_THAT(store_views_refusal(R"({"name": "v", )" + window + R"("where": {"is_return": 1}, )" +
                                 count + "}"),
             Contains("views[0].where.is_return: compares a boolean"));
  CHECK_THAT(
      store_views_refusal(R"({"name": "v", )" + window + R"("where": {"nope": 1}, )" + count + "}"),
      Contains("views[0].where.nope: names no field"));
  CHECK_THAT(store_views_refusal(R"({"name": "v", )" + window +
                                 R"("measures": [{"as": "a", "op": "avg", "of": ["qty"], )"
                                 R"("where": {"is_return": true}}]})"),
             Contains("views[0].measures[0].where: an average is of every row"));
  // A slot whose rows all failed the condition would have no extreme.
  for (const char* op : {"min", "max"}) {
    INFO(op);
    CHECK_THAT(
        store_views_refusal(R"({"name": "v", )" + window + R"("measures": [{"as": "m", "op": ")" +
                            op + R"(", "of": ["price"], "where": {"is_return": false}}]})"),
        Contains("views[0].measures[0].where: a minimum or maximum is of every row"));
  }
  CHECK_THAT(store_views_refusal(R"({"name": "v", )" + window +
                                 R"("measures": [{"as": "s", "op": "sum", "of": ["qty"], )"
                                 R"("negative_when": "qty"}]})"),
             Contains("views[0].measures[0].negative_when: names no boolean field"));
  CHECK_THAT(store_views_refusal(R"({"name": "v", )" + window +
                                 R"("measures": [{"as": "n", "op": "count", )"
                                 R"("negative_when": "is_return"}]})"),
             Contains("views[0].measures[0].negative_when: negates a sum's terms"));
  CHECK_THAT(store_views_refusal(R"({"name": "v", )" + window +
                                 R"("measures": [{"as": "s", "op": "sum", "of": ["price", )"
                                 R"({"percent": "discount", "percent_off": "discount"}]}]})"),
             Contains("views[0].measures[0].of[1]: takes one of percent_off and percent"));
  CHECK_THAT(store_views_refusal(R"({"name": "v", )" + window +
                                 R"("measures": [{"as": "s", "op": "sum", "of": [)"
                                 R"({"percent": "qty"}]}]})"),
             Contains("views[0].measures[0].of[0]: percent takes a decimal field"));
}
