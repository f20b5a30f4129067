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

const Product& product(const Line& line) {
  INFO(
      (std::holds_alternative<std::string>(line.result) ? std::get<std::string>(line.result) : ""));
  REQUIRE(std::holds_alternative<Record>(line.result));
  return std::get<Product>(std::get<Record>(line.result));
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

TEST_CASE("formats by name and by extension") {
  CHECK(format_of_path("catalog/products.csv") == Format::kCsv);
  CHECK(format_of_path("c.ndjson") == Format::kNdjson);
  CHECK(format_of_path("c.jsonl") == Format::kNdjson);
  CHECK_FALSE(format_of_path("-"));
  CHECK_FALSE(parse_format("xml"));
}
