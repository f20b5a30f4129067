#include "millrace/catalog/json.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <variant>

using namespace millrace::catalog;

TEST_CASE("a category renders with its timestamp in UTC whatever the session's zone", "[json]") {
  RowText row{{"name", "toys"},
              {"display_name", "Toys & \"Games\""},
              {"description", std::nullopt},
              {"active", "t"},
              {"updated_at", "2026-11-23 19:30:00.25+01"}};
  CHECK(category_json(row) ==
        R"({"name":"toys","display_name":"Toys & \"Games\"","description":null,"active":true,)"
        R"("updated_at":"2026-11-23T18:30:00.250000Z"})");
  row["updated_at"] = "2026-11-23 13:00:00-05:30";
  CHECK(category_json(row).find(R"("updated_at":"2026-11-23T18:30:00.000000Z")") !=
        std::string::npos);
}

TEST_CASE("a product keeps its price's digits", "[json]") {
  const RowText row{{"sku", "1234"},
                    {"name", "Kite"},
                    {"brand", "Acme"},
                    {"category", "toys"},
                    {"list_price", "12.50"},
                    {"active", "f"},
                    {"updated_at", "2026-11-23 18:00:00+00"}};
  CHECK(product_json(row) ==
        R"({"sku":1234,"name":"Kite","brand":"Acme","category":"toys","list_price":12.50,)"
        R"("active":false,"updated_at":"2026-11-23T18:00:00.000000Z"})");
}

TEST_CASE("an asset renders its missing members as null", "[json]") {
  const RowText row{{"symbol", "BINANCE:BTCUSDT"},  {"description", "Binance BTCUSDT"},
                    {"type", std::nullopt},         {"currency", std::nullopt},
                    {"display_symbol", "BTC/USDT"}, {"updated_at", "2026-11-23 18:00:00+00"}};
  CHECK(
      asset_json(row) ==
      R"({"symbol":"BINANCE:BTCUSDT","description":"Binance BTCUSDT","type":null,)"
      R"("currency":null,"display_symbol":"BTC/USDT","updated_at":"2026-11-23T18:00:00.000000Z"})");
  RowText missing = row;
  missing.erase("currency");
  CHECK_THROWS_WITH(asset_json(missing), "the row has no column currency");
}

TEST_CASE("a row that does not fit the table is refused by name", "[json]") {
  RowText row{{"name", "toys"}, {"display_name", "Toys"}, {"active", "t"}, {"updated_at", "x"}};
  CHECK_THROWS_WITH(category_json(row), "the row has no column description");
  row["description"] = std::nullopt;
  CHECK_THROWS_WITH(category_json(row), "column updated_at is not a timestamp: x");
  row["updated_at"] = "2026-11-23 18:00:00+00";
  row["active"] = "maybe";
  CHECK_THROWS_AS(category_json(row), std::invalid_argument);
  const RowText product{{"sku", "12a"},
                        {"name", "n"},
                        {"brand", std::nullopt},
                        {"category", "c"},
                        {"list_price", "1.00"},
                        {"active", "t"},
                        {"updated_at", "2026-11-23 18:00:00+00"}};
  CHECK_THROWS_WITH(product_json(product), "column sku is not a number: 12a");
}

TEST_CASE("a change's row reads as the text PostgreSQL prints", "[json]") {
  const auto row = change_values(
      R"({"sku":1234,"name":"Kite","brand":null,"category":"toys","list_price":12.50,)"
      R"("active":true,"updated_at":"2026-11-23 18:00:00+00"})");
  REQUIRE(std::holds_alternative<RowText>(row));
  const auto& values = std::get<RowText>(row);
  CHECK(values.at("list_price") == "12.50");
  CHECK(values.at("active") == "t");
  CHECK_FALSE(values.at("brand").has_value());
  CHECK(product_json(values) ==
        R"({"sku":1234,"name":"Kite","brand":null,"category":"toys","list_price":12.50,)"
        R"("active":true,"updated_at":"2026-11-23T18:00:00.000000Z"})");
  CHECK(std::get<std::string>(change_values("[1]")) == "the row is not an object");
  CHECK(std::get<std::string>(change_values(R"({"a":[1]})")) == "column a is not a scalar");
  CHECK(std::holds_alternative<std::string>(change_values("{")));
}

TEST_CASE("the list holds the items as given", "[json]") {
  CHECK(category_list_json({}) == R"({"categories":[]})");
  CHECK(category_list_json({"{\"a\":1}", "{\"b\":2}"}) == R"({"categories":[{"a":1},{"b":2}]})");
}
