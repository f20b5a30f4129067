#include "millrace/pg/views.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "millrace/kinds/registry.hpp"
#include "millrace/pg/kind_tables.hpp"

using namespace millrace::pg;

namespace {
Table sample() {
  Table t;
  t.columns = {"rank", "sku", "revenue", "category"};
  t.rows.push_back({"1", "169008", "1398.3333", std::string("Note,books \"A\"")});
  t.rows.push_back({"2", "-5", "0.5", std::nullopt});
  return t;
}
}  // namespace

TEST_CASE("the public views are the store event's and each aggregated kind's") {
  const auto built_in = public_views(millrace::kinds::all_kinds(""));
  std::vector<std::string> names;
  for (const auto& v : built_in) names.push_back(v.name);
  CHECK(names == std::vector<std::string>{
                     "hourly_sales", "daily_sales", "orders_this_hour", "today_summary",
                     "top_products", "popular_categories", "web_orders_hourly", "web_orders_daily",
                     "web_orders_this_hour", "web_orders_today", "web_orders_top_products",
                     "web_orders_categories", "web_orders_top_products_per_local_day",
                     "trades_hourly", "trades_daily", "trades_this_hour", "trades_today"});
  // A declared view (order.json's "views"): its window, groups, measures and
  // rank; filtered by its group.
  const auto* declared = find_view(built_in, "web_orders_top_products_per_local_day");
  REQUIRE(declared != nullptr);
  CHECK(declared->grain == ViewGrain::kDeclared);
  CHECK(declared->windowed);
  std::vector<std::string> declared_columns;
  for (const auto& c : declared->columns) declared_columns.push_back(c.name);
  CHECK(declared_columns == std::vector<std::string>{"window_start", "window_end", "product_id",
                                                     "units", "revenue", "lines", "rank"});
  CHECK(declared->order_by == "window_start, rank, product_id");
  CHECK(declared->dimensions == std::vector<std::string>{"product_id"});
  const auto* top = find_view(built_in, "web_orders_top_products");
  REQUIRE(top != nullptr);
  CHECK(top->kind == "order");
  CHECK(top->grain == ViewGrain::kTopProducts);
  std::vector<std::string> columns;
  for (const auto& c : top->columns) columns.push_back(c.name);
  CHECK(columns == std::vector<std::string>{"rank", "product_id", "units", "revenue", "orders",
                                            "name", "brand"});
  CHECK(find_view(built_in, "hourly_sales")->windowed);
  CHECK(find_view(built_in, "web_orders_daily")->windowed);
  CHECK_FALSE(find_view(built_in, "web_orders_today")->windowed);
  CHECK(find_view(built_in, "store_events") == nullptr);
  CHECK(parse_format("json") == Format::kJson);
  CHECK_FALSE(parse_format("xml").has_value());
}

TEST_CASE("a kind without lines gets the four window views, named and typed by its declaration") {
  const auto d = millrace::kinds::parse_declaration(R"({
    "kind": "parcel", "description": "a parcel", "topic": {"name": "parcels", "env": "MILLRACE_PARCELS_TOPIC", "partitions": 1},
    "table": "parcels", "identity": "Id", "time": "At",
    "fields": [{"name": "Id", "column": "id", "type": "text", "required": true, "min_bytes": 1},
               {"name": "At", "column": "at", "type": "timestamp", "required": true},
               {"name": "Kg", "column": "kg", "type": "decimal", "required": true, "min": 0, "max": 100}],
    "aggregate": {"name": "parcels", "records_as": "parcels", "amount": "Kg", "amount_as": "kilograms"}})",
                                                    "test");
  const auto views = kind_views(d);
  REQUIRE(views.size() == 4);
  CHECK(views[0].name == "parcels_hourly");
  CHECK(views[3].name == "parcels_today");
  CHECK(views[3].grain == ViewGrain::kToday);
  CHECK(views[3].columns[0].name == "day");
  CHECK(views[0].columns[1].name == "parcels");
  CHECK(views[0].columns[2].name == "kilograms");
  CHECK(views[0].columns[2].type == ColumnKind::kNumeric);
  CHECK(views[0].description.find("per hour of At") != std::string::npos);
  CHECK(public_views({d}).size() == 6 + 4);
  millrace::kinds::Declaration plain = d;
  plain.aggregate.reset();
  CHECK(kind_views(plain).empty());
}

// The SQL that makes a kind's views (kind_tables.cpp) has the columns
// described here, in this order.
TEST_CASE("each kind view's columns are those its CREATE VIEW selects, in order") {
  for (const auto& d : millrace::kinds::all_kinds("")) {
    const auto statements = millrace::pg::kind_table_statements(d);
    for (const auto& v : kind_views(d)) {
      INFO(v.name);
      const std::string head = "CREATE OR REPLACE VIEW " + v.name + " AS SELECT ";
      const auto it = std::find_if(statements.begin(), statements.end(),
                                   [&](const std::string& s) { return s.starts_with(head); });
      REQUIRE(it != statements.end());
      // The outer SELECT list ends at its FROM; each column is its last word
      // before the comma (an alias or a qualified column).
      const std::string list = it->substr(head.size(), it->find(" FROM ") - head.size());
      std::vector<std::string> selected;
      std::string item;
      int depth = 0;
      const auto last_word = [](const std::string& text) {
        const auto cut = text.find_last_of(" .");
        return cut == std::string::npos ? text : text.substr(cut + 1);
      };
      for (const char c : list) {
        depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        if (c == ',' && depth == 0) {
          selected.push_back(last_word(item));
          item.clear();
        } else {
          item += c;
        }
      }
      selected.push_back(last_word(item));
      std::vector<std::string> described;
      for (const auto& c : v.columns) described.push_back(c.name);
      CHECK(selected == described);
    }
  }
}

TEST_CASE("views render as JSON with exact unquoted numbers") {
  CHECK(render(sample(), Format::kJson) ==
        "[\n  {\"rank\": 1, \"sku\": 169008, \"revenue\": 1398.3333, \"category\": "
        "\"Note,books \\\"A\\\"\"},\n  {\"rank\": 2, \"sku\": -5, \"revenue\": 0.5, "
        "\"category\": null}\n]\n");
  CHECK(render(Table{{"a"}, {}}, Format::kJson) == "[]\n");
}

TEST_CASE("views render as RFC 4180 CSV and as an aligned table") {
  CHECK(render(sample(), Format::kCsv) ==
        "rank,sku,revenue,category\r\n1,169008,1398.3333,\"Note,books \"\"A\"\"\"\r\n"
        "2,-5,0.5,\r\n");
  CHECK(render(sample(), Format::kTable) ==
        "rank | sku    | revenue   | category\n"
        "-----+--------+-----------+---------------\n"
        "1    | 169008 | 1398.3333 | Note,books \"A\"\n"
        "2    | -5     | 0.5       | \n"
        "(2 rows)\n");
}

TEST_CASE("a declared view grouped by the catalog has a text column named as the enriched one") {
  const auto d = millrace::kinds::parse_declaration(R"({
    "kind": "till", "topic": {"name": "tills", "env": "MILLRACE_TILLS_TOPIC", "partitions": 1},
    "table": "tills", "identity": "Id", "time": "At",
    "fields": [{"name": "Id", "column": "id", "type": "text", "required": true, "min_bytes": 1},
               {"name": "At", "column": "at", "type": "timestamp", "required": true},
               {"name": "Sku", "column": "sku", "type": "integer", "min": 0, "max": 1000}],
    "enrich": {"sku": "Sku"},
    "views": [{"name": "till_categories", "window": {"size": "1d"},
               "group_by": [{"catalog": "category"}], "measures": [{"as": "n", "op": "count"}]}]})",
                                                    "test");
  const auto views = kind_views(d);
  REQUIRE(views.size() == 1);
  REQUIRE(views[0].columns.size() == 4);
  CHECK(views[0].columns[2].name == "product_category");
  CHECK(views[0].columns[2].type == ColumnKind::kText);
  CHECK(views[0].dimensions == std::vector<std::string>{"product_category"});
  const auto statements = millrace::pg::kind_table_statements(d);
  CHECK(std::any_of(statements.begin(), statements.end(), [](const std::string& s) {
    return s.find("CREATE TABLE IF NOT EXISTS agg_view_till_categories") == 0 &&
           s.find("product_category text NOT NULL") != std::string::npos &&
           s.find("PRIMARY KEY (bucket, product_category)") != std::string::npos;
  }));
}
