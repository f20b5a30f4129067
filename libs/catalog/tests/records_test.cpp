#include "millrace/catalog/records.hpp"

#include <catch2/catch.hpp>

using namespace millrace::catalog;
using Catch::Matchers::Contains;

namespace {

std::string refusal(Table table, const Fields& fields) {
  const auto r = make_record(table, fields);
  REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}

Product product(const Fields& fields) {
  const auto r = make_record(Table::kProducts, fields);
  INFO((std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : ""));
  REQUIRE(std::holds_alternative<Record>(r));
  return std::get<Product>(std::get<Record>(r));
}

const Fields kPens = {{"sku", "145150"},    {"name", "Contoso Pro Pens"}, {"brand", "Contoso"},
                      {"category", "Pens"}, {"list_price", "3.5"},        {"active", "false"}};

}  // namespace

TEST_CASE("a product line becomes a product, optional fields defaulted") {
  const auto p = product(kPens);
  CHECK(p.sku == 145150);
  CHECK(p.name == "Contoso Pro Pens");
  CHECK(p.brand == std::optional<std::string>("Contoso"));
  CHECK(p.category == "Pens");
  CHECK(p.list_price.to_string() == "3.5");
  CHECK_FALSE(p.active);
  const auto q = product({{"sku", "1"}, {"name", "x"}, {"category", "Pens"}, {"list_price", "0"}});
  CHECK_FALSE(q.brand);
  CHECK(q.active);
}

TEST_CASE("a category line becomes a category") {
  const auto r = make_record(Table::kCategories, {{"name", "Sticky Notes"},
                                                  {"display_name", "Sticky notes"},
                                                  {"description", "Two lines\nof text"}});
  REQUIRE(std::holds_alternative<Record>(r));
  const auto& c = std::get<Category>(std::get<Record>(r));
  CHECK(c.name == "Sticky Notes");
  CHECK(c.display_name == "Sticky notes");
  CHECK(c.description == std::optional<std::string>("Two lines\nof text"));
  CHECK(c.active);
}

TEST_CASE("each refusal names the field and why") {
  auto with = [](const char* name, std::optional<std::string> value) {
    Fields f = kPens;
    for (auto& [n, v] : f) {
      if (n == name) v = std::move(value);
    }
    return f;
  };
  CHECK_THAT(refusal(Table::kProducts, with("sku", "0")), Contains("\"sku\" must be a whole"));
  CHECK_THAT(refusal(Table::kProducts, with("sku", "12.0")), Contains("\"sku\""));
  CHECK_THAT(refusal(Table::kProducts, with("sku", std::nullopt)), Contains("\"sku\" is required"));
  CHECK_THAT(refusal(Table::kProducts, with("list_price", "1.005")),
             Contains("at most two decimals"));
  CHECK_THAT(refusal(Table::kProducts, with("list_price", "-1")), Contains("\"list_price\""));
  CHECK_THAT(refusal(Table::kProducts, with("list_price", "10000000000")),
             Contains("9999999999.99"));
  CHECK_THAT(refusal(Table::kProducts, with("active", "maybe")), Contains("true or false"));
  CHECK_THAT(refusal(Table::kProducts, with("category", " Pens")),
             Contains("leading or trailing blanks"));
  CHECK_THAT(refusal(Table::kProducts, with("name", "a\x01")), Contains("control character"));
  CHECK_THAT(refusal(Table::kProducts, with("name", "\xC3\x28")), Contains("not valid UTF-8"));
  CHECK_THAT(refusal(Table::kProducts, with("brand", std::string(101, 'b'))),
             Contains("101 characters, at most 100"));
  Fields extra = kPens;
  extra.emplace_back("colour", "red");
  CHECK_THAT(refusal(Table::kProducts, extra), Contains("unknown field \"colour\""));
}

TEST_CASE("lengths count characters, not bytes") {
  // 100 two-byte characters fit a 100-character brand.
  std::string brand;
  for (int i = 0; i < 100; ++i) brand += "\xC3\xA9";
  Fields f = kPens;
  f[2].second = brand;
  CHECK(product(f).brand == std::optional<std::string>(brand));
}

TEST_CASE("the table is told by its key column") {
  CHECK(infer_table({"sku", "name"}) == Table::kProducts);
  CHECK(infer_table({"name", "display_name"}) == Table::kCategories);
  CHECK(infer_table({"currency", "description", "symbol", "figi"}) == Table::kAssets);
  CHECK_FALSE(infer_table({"display_name"}));
  CHECK(parse_table("products") == Table::kProducts);
  CHECK(parse_table("assets") == Table::kAssets);
  CHECK(table_name(Table::kAssets) == "assets");
  CHECK_FALSE(parse_table("items"));
}

TEST_CASE("an asset needs only its symbol, and takes what else a listing holds") {
  // Finnhub's /stock/symbol, with the members assets have no column for.
  const auto stock = make_record(Table::kAssets, {{"currency", "USD"},
                                                  {"description", "APPLE INC"},
                                                  {"displaySymbol", "AAPL"},
                                                  {"figi", "BBG000B9XRY4"},
                                                  {"mic", "XNAS"},
                                                  {"symbol", "AAPL"},
                                                  {"type", "Common Stock"}});
  REQUIRE(std::holds_alternative<Record>(stock));
  const auto& a = std::get<Asset>(std::get<Record>(stock));
  CHECK(a.symbol == "AAPL");
  CHECK(a.description == "APPLE INC");
  CHECK(a.type == "Common Stock");
  CHECK(a.currency == "USD");
  CHECK(a.display_symbol == "AAPL");
  // /crypto/symbol: no type, no currency; an empty one is none.
  const auto crypto = make_record(Table::kAssets, {{"description", "Binance BTCUSDT"},
                                                   {"displaySymbol", "BTC/USDT"},
                                                   {"symbol", "BINANCE:BTCUSDT"},
                                                   {"type", ""}});
  REQUIRE(std::holds_alternative<Record>(crypto));
  const auto& c = std::get<Asset>(std::get<Record>(crypto));
  CHECK_FALSE(c.type);
  CHECK_FALSE(c.currency);
  CHECK(c.display_symbol == "BTC/USDT");
  // The key is still the key: present, without blanks, within its length.
  const auto refused = [](const Fields& f) {
    const auto r = make_record(Table::kAssets, f);
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
  };
  CHECK_THAT(refused({{"description", "no symbol"}}), Contains("\"symbol\" is required"));
  CHECK_THAT(refused({{"symbol", " AAPL"}}), Contains("leading or trailing blanks"));
  CHECK_THAT(refused({{"symbol", std::string(65, 'A')}}), Contains("at most 64"));
  // Categories and products still refuse what they do not know.
  CHECK_FALSE(ignores_unknown_fields(Table::kProducts));
  CHECK(ignores_unknown_fields(Table::kAssets));
}
