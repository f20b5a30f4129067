#include "millrace/catalog/reader.hpp"

#include <catch2/catch.hpp>

using namespace millrace::catalog;
using Catch::Matchers::Contains;

namespace {

std::vector<Line> read(Format format, const std::vector<std::string>& lines,
                       std::optional<Table> table = std::nullopt) {
  Reader reader(format, table);
  std::vector<Line> out;
  for (const auto& l : lines) reader.feed_line(l, out);
  reader.finish(out);
  return out;
}

const std::string& error(const Line& line) {
  REQUIRE(std::holds_alternative<std::string>(line.result));
  return std::get<std::string>(line.result);
}

template <typename T>
const T& record_of(const Line& line) {
  INFO(
      (std::holds_alternative<std::string>(line.result) ? std::get<std::string>(line.result) : ""));
  REQUIRE(std::holds_alternative<Record>(line.result));
  return std::get<T>(std::get<Record>(line.result));
}

const Product& product(const Line& line) {
  return record_of<Product>(line);
}

const Asset& asset(const Line& line) {
  return record_of<Asset>(line);
}

}  // namespace

TEST_CASE("CSV: a header, quoted fields with commas, quotes and newlines, errors by line") {
  const auto lines = read(Format::kCsv, {
                                            "sku,name,category,list_price",
                                            "1,\"Pens, blue\",Pens,2.50",
                                            "",
                                            "2,\"The \"\"Pro\"\" pen\",Pens,3",
                                            "3,\"two",
                                            "lines\",Pens,4\r",
                                            "4,short",
                                            "5,bad price,Pens,x",
                                        });
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].number == 2);
  CHECK(product(lines[0]).name == "Pens, blue");
  CHECK(product(lines[0]).list_price.to_string() == "2.5");
  CHECK(lines[1].number == 4);
  CHECK(product(lines[1]).name == "The \"Pro\" pen");
  CHECK(lines[2].number == 5);  // where the record starts; a name is one line
  CHECK_THAT(error(lines[2]), Contains("\"name\" holds a control character"));
  CHECK(lines[3].number == 7);
  CHECK_THAT(error(lines[3]), Contains("2 field(s); the header names 4"));
  CHECK(lines[4].number == 8);
  CHECK_THAT(error(lines[4]), Contains("\"list_price\""));
}

TEST_CASE("CSV: a description may span lines") {
  const auto lines = read(Format::kCsv, {"name,display_name,description", "Pens,Pens,\"one",
                                         "two\"", "Rulers,Rulers,"});
  REQUIRE(lines.size() == 2);
  REQUIRE(std::holds_alternative<Record>(lines[0].result));
  CHECK(std::get<Category>(std::get<Record>(lines[0].result)).description ==
        std::optional<std::string>("one\ntwo"));
  CHECK(lines[1].number == 4);
  REQUIRE(std::holds_alternative<Record>(lines[1].result));
  CHECK_FALSE(std::get<Category>(std::get<Record>(lines[1].result)).description);
}

TEST_CASE("CSV: a stray quote is an error on its line, and reading goes on") {
  const auto lines =
      read(Format::kCsv, {"sku,name,category,list_price", "1,a\"b,Pens,1", "2,ok,Pens,2"});
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].number == 2);
  CHECK_THAT(error(lines[0]), Contains("malformed CSV"));
  CHECK(product(lines[1]).sku == 2);
}

TEST_CASE("CSV: an unclosed quote at the end is an error where its record starts") {
  const auto lines = read(Format::kCsv, {"sku,name,category,list_price", "1,\"open,Pens,1"});
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].number == 2);
  CHECK_THAT(error(lines[0]), Contains("never closed"));
}

TEST_CASE("CSV: a header that names no key or an unknown column is misuse") {
  CHECK_THROWS_WITH(read(Format::kCsv, {"display_name,active"}), Contains("--table"));
  CHECK_THROWS_WITH(read(Format::kCsv, {"sku,name,colour"}), Contains("\"colour\""));
  CHECK_THROWS_WITH(read(Format::kCsv, {"sku,sku"}), Contains("twice"));
  CHECK_THROWS_WITH(read(Format::kCsv, {"name,display_name"}, Table::kProducts),
                    Contains("products does not have"));
}

TEST_CASE("NDJSON: objects by line, numbers kept exact, blank lines skipped") {
  const auto lines = read(
      Format::kNdjson,
      {R"({"sku":7,"name":"Ruler","category":"Rulers","list_price":1.10,"active":true})", "",
       R"({"sku":8,"name":"x","category":"Rulers","list_price":2,"brand":null})",
       R"({"sku":9,"name":["x"],"category":"Rulers","list_price":2})", R"({"sku":)", R"([1,2])"});
  REQUIRE(lines.size() == 5);
  CHECK(product(lines[0]).list_price.to_string() == "1.1");
  CHECK(lines[1].number == 3);
  CHECK_FALSE(product(lines[1]).brand);
  CHECK_THAT(error(lines[2]), Contains("\"name\" must be a string, a number or a boolean"));
  CHECK(lines[3].number == 5);
  CHECK_THAT(error(lines[3]), Contains("not JSON"));
  CHECK_THAT(error(lines[4]), Contains("not a JSON object"));
}

TEST_CASE("JSON: one array of objects, as REST APIs answer, is unrolled") {
  // Finnhub's /stock/symbol, laid out over lines, with members assets do
  // not have (kept out, not refused), one of them nested.
  const auto lines =
      read(Format::kNdjson,
           {"  [", R"({"currency":"USD","description":"APPLE INC","displaySymbol":"AAPL",)",
            R"("figi":"BBG000B9XRY4","mic":"XNAS","symbol":"AAPL","type":"Common Stock",)",
            R"("isin":null,"listing":{"since":1980},"lots":[1,100]},)",
            R"({"description":"Binance BTCUSDT","displaySymbol":"BTC/USDT",)",
            R"("symbol":"BINANCE:BTCUSDT"}, 7, {"description":"no symbol"},)",
            R"({"symbol":"MSFT","currency":{"code":"USD"}}])"});
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].number == 1);  // the element's place in the array
  CHECK(asset(lines[0]).symbol == "AAPL");
  CHECK(asset(lines[0]).type == "Common Stock");
  CHECK(asset(lines[0]).display_symbol == "AAPL");
  CHECK(asset(lines[1]).symbol == "BINANCE:BTCUSDT");
  CHECK_FALSE(asset(lines[1]).currency);
  CHECK(lines[2].number == 3);
  CHECK_THAT(error(lines[2]), Contains("not a JSON object"));
  CHECK_THAT(error(lines[3]), Contains("\"symbol\" is required"));
  // A column's value must still be a scalar.
  CHECK(lines[4].number == 5);
  CHECK_THAT(error(lines[4]), Contains("\"currency\" must be a string"));
}

TEST_CASE("JSON: an array on one line, into a table given, and one that is cut short") {
  const auto lines =
      read(Format::kNdjson, {R"([{"symbol":"AAPL"},{"symbol":"MSFT"}])", ""}, Table::kAssets);
  REQUIRE(lines.size() == 2);
  CHECK(asset(lines[1]).symbol == "MSFT");
  CHECK(read(Format::kNdjson, {"[]"}).empty());
  CHECK_THROWS_WITH(read(Format::kNdjson, {R"([{"symbol":"AAPL"},)"}),
                    Contains("not a JSON array"));
  CHECK_THROWS_WITH(read(Format::kNdjson, {R"([{"figi":"BBG"}])"}),
                    Contains("element 1: the first object has none of sku"));
  // Products keep refusing an unknown member, in an array as by line.
  const auto products = read(
      Format::kNdjson, {R"([{"sku":1,"name":"n","category":"c","list_price":1,"colour":"red"}])"});
  REQUIRE(products.size() == 1);
  CHECK_THAT(error(products[0]), Contains("unknown field \"colour\""));
}

TEST_CASE("CSV: assets ignore the columns they do not have") {
  const auto lines =
      read(Format::kCsv, {"symbol,description,figi,type", "AAPL,APPLE INC,BBG000B9XRY4,"});
  REQUIRE(lines.size() == 1);
  CHECK(asset(lines[0]).description == "APPLE INC");
  CHECK_FALSE(asset(lines[0]).type);
}

TEST_CASE("formats by name and by extension") {
  CHECK(format_of_path("catalog/products.csv") == Format::kCsv);
  CHECK(format_of_path("c.ndjson") == Format::kNdjson);
  CHECK(format_of_path("c.jsonl") == Format::kNdjson);
  CHECK_FALSE(format_of_path("-"));
  CHECK_FALSE(parse_format("xml"));
}
