// Admin bodies: JSON types as the OpenAPI schema says, then the catalog's
// own rules (catalog::make_record), with the field at fault named.
#include "body.hpp"

#include <catch2/catch.hpp>

using namespace millrace;
using namespace millrace::api;

namespace {

BodyError refused(catalog::Table t, std::string_view body,
                  std::optional<std::string_view> key = std::nullopt) {
  auto r = parse_body(t, body, key);
  REQUIRE(std::holds_alternative<BodyError>(r));
  return std::get<BodyError>(r);
}

}  // namespace

TEST_CASE("a category and a product from JSON", "[api][body]") {
  auto r =
      parse_body(catalog::Table::kCategories,
                 R"({"name":"Pens","display_name":"Pens & ink","description":null})", std::nullopt);
  REQUIRE(std::holds_alternative<catalog::Record>(r));
  const auto& c = std::get<catalog::Category>(std::get<catalog::Record>(r));
  CHECK(c.name == "Pens");
  CHECK(c.display_name == "Pens & ink");
  CHECK_FALSE(c.description);
  CHECK(c.active);

  r = parse_body(catalog::Table::kProducts,
                 R"({"name":"Pen","brand":"Contoso","category":"Pens","list_price":12.50,)"
                 R"("active":false})",
                 "145150");
  REQUIRE(std::holds_alternative<catalog::Record>(r));
  const auto& p = std::get<catalog::Product>(std::get<catalog::Record>(r));
  CHECK(p.sku == 145150);
  CHECK(p.list_price.to_string() == "12.5");
  CHECK_FALSE(p.active);
}

TEST_CASE("bodies the schema refuses name the field", "[api][body]") {
  CHECK(refused(catalog::Table::kCategories, "[1]").status == 422);
  auto e = refused(catalog::Table::kCategories, "{\"name\":");
  CHECK(e.status == 400);
  CHECK_THAT(e.detail, Catch::Contains("not JSON"));
  e = refused(catalog::Table::kCategories, R"({"name":"Pens","display_name":"P","colour":"red"})");
  CHECK(e.field == "colour");
  CHECK_THAT(e.detail, Catch::Contains("unknown field"));
  e = refused(catalog::Table::kCategories, R"({"name":123,"display_name":"P"})");
  CHECK(e.field == "name");
  CHECK(e.detail == "\"name\" must be a string");
  e = refused(catalog::Table::kCategories, R"({"name":"P","display_name":"P","active":"yes"})");
  CHECK(e.field == "active");
  e = refused(catalog::Table::kProducts,
              R"({"sku":"7","name":"P","category":"Pens","list_price":1})");
  CHECK(e.field == "sku");
  e = refused(catalog::Table::kProducts,
              R"({"sku":7.5,"name":"P","category":"Pens","list_price":1})");
  CHECK(e.field == "sku");
  e = refused(catalog::Table::kProducts,
              R"({"sku":7,"name":"P","category":"Pens","list_price":"1"})");
  CHECK(e.field == "list_price");
  e = refused(catalog::Table::kCategories, R"({"name":"P","name":"Q","display_name":"P"})");
  CHECK(e.field == "name");
  e = refused(catalog::Table::kCategories, R"({"name":"","display_name":"P"})");
  CHECK(e.field == "name");
  // PUT: the key is the path's.
  e = refused(catalog::Table::kCategories, R"({"name":"Pens","display_name":"P"})", "Pens");
  CHECK(e.field == "name");
  CHECK_THAT(e.detail, Catch::Contains("from the path"));
}

TEST_CASE("bodies the catalog's rules refuse name the field", "[api][body]") {
  auto e = refused(catalog::Table::kCategories, R"({"display_name":"P"})");
  CHECK(e.field == "name");
  CHECK(e.detail == "\"name\" is required");
  e = refused(catalog::Table::kCategories, R"({"name":" Pens","display_name":"P"})");
  CHECK(e.field == "name");
  e = refused(catalog::Table::kCategories,
              "{\"name\":\"" + std::string(101, 'x') + "\",\"display_name\":\"P\"}");
  CHECK(e.field == "name");
  e = refused(catalog::Table::kProducts,
              R"({"sku":0,"name":"P","category":"Pens","list_price":1})");
  CHECK(e.field == "sku");
  e = refused(catalog::Table::kProducts,
              R"({"sku":7,"name":"P","category":"Pens","list_price":1.234})");
  CHECK(e.field == "list_price");
  e = refused(catalog::Table::kProducts,
              R"({"sku":7,"name":"P","category":"Pens","list_price":-1})");
  CHECK(e.field == "list_price");
  e = refused(catalog::Table::kProducts, R"({"name":"P","category":"Pens","list_price":1})", "abc");
  CHECK(e.field == "sku");
  e = refused(catalog::Table::kCategories, "{\"name\":\"P\",\"display_name\":\"a\\u0001b\"}");
  CHECK(e.field == "display_name");
  CHECK(field_of("unknown field \"colour\" (categories has ...)") == "colour");
  CHECK(field_of("no quotes") == "");
}
