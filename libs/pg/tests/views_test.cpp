#include "millrace/pg/views.hpp"

#include <catch2/catch.hpp>

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

TEST_CASE("every public view is known by name") {
  CHECK(public_views().size() == 12);
  CHECK(find_view("web_orders_top_products") != nullptr);
  CHECK(find_view("top_products") != nullptr);
  CHECK(find_view("store_events") == nullptr);
  CHECK(parse_format("json") == Format::kJson);
  CHECK_FALSE(parse_format("xml").has_value());
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
