#include "millrace/catalog/writer.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <variant>

#include "millrace/catalog/generated.hpp"
#include "millrace/catalog/reader.hpp"
#include "millrace/core/store_message.hpp"
#include "millrace/kinds/generator.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"

using namespace millrace;
using namespace millrace::catalog;

namespace {

// Writes `records` in `format` and reads them back.
template <typename T>
std::vector<T> round_trip(const std::vector<T>& records, Table table, Format format) {
  Reader reader(format, std::nullopt);
  std::vector<Line> lines;
  if (format == Format::kCsv) reader.feed_line(csv_header(table), lines);
  for (const auto& r : records) {
    reader.feed_line(format == Format::kCsv ? to_csv(r) : to_ndjson(r), lines);
  }
  reader.finish(lines);
  std::vector<T> out;
  for (const auto& l : lines) {
    INFO(l.number << ": "
                  << (std::holds_alternative<std::string>(l.result)
                          ? std::get<std::string>(l.result)
                          : ""));
    REQUIRE(std::holds_alternative<Record>(l.result));
    out.push_back(std::get<T>(std::get<Record>(l.result)));
  }
  return out;
}

bool same(const Product& a, const Product& b) {
  return a.sku == b.sku && a.name == b.name && a.brand == b.brand && a.category == b.category &&
         a.list_price == b.list_price && a.active == b.active;
}

bool same(const Category& a, const Category& b) {
  return a.name == b.name && a.display_name == b.display_name && a.description == b.description &&
         a.active == b.active;
}

}  // namespace

TEST_CASE("what is written reads back the same, in both formats") {
  auto categories = generated_categories();
  categories[0].description = "quotes \" and, commas\nand a newline";
  categories[1].description.reset();
  categories[2].active = false;
  auto products = generated_products();
  products[0].brand.reset();
  for (const auto format : {Format::kCsv, Format::kNdjson}) {
    const auto c = round_trip(categories, Table::kCategories, format);
    REQUIRE(c.size() == categories.size());
    for (std::size_t i = 0; i < c.size(); ++i) CHECK(same(c[i], categories[i]));
    const auto p = round_trip(products, Table::kProducts, format);
    REQUIRE(p.size() == products.size());
    for (std::size_t i = 0; i < p.size(); ++i) CHECK(same(p[i], products[i]));
  }
}

TEST_CASE("assets read back the same, in both formats") {
  const std::vector<Asset> assets = {
      {"AAPL", "APPLE INC", "Common Stock", "USD", "AAPL"},
      {"BINANCE:BTCUSDT", "Binance BTCUSDT", std::nullopt, std::nullopt, "BTC/USDT"},
      {"X", "quotes \" and, commas", std::nullopt, "EUR", std::nullopt}};
  for (const auto format : {Format::kCsv, Format::kNdjson}) {
    const auto a = round_trip(assets, Table::kAssets, format);
    REQUIRE(a.size() == assets.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].symbol == assets[i].symbol);
      CHECK(a[i].description == assets[i].description);
      CHECK(a[i].type == assets[i].type);
      CHECK(a[i].currency == assets[i].currency);
      CHECK(a[i].display_symbol == assets[i].display_symbol);
    }
  }
}

TEST_CASE("the generated catalog holds every category and sku the events draw, at their price") {
  std::set<std::string> categories;
  for (const auto& c : generated_categories()) categories.insert(c.name);
  std::map<std::int64_t, Product> products;
  for (const auto& p : generated_products()) {
    CHECK(categories.count(p.category) == 1);
    CHECK(products.emplace(p.sku, p).second);  // each sku once
  }
  CHECK(categories.size() == 20);
  CHECK(products.size() == 6000);
  // The store events' declaration draws its products from the catalog.
  const auto d = kinds::find_kind(kinds::kStoreEvent, "");
  kinds::RecordGenerator generator(d, {.seed = 7});
  for (int i = 0; i < 5000; ++i) {
    // Sent with its type in the header, as millrace produce sends it.
    const auto payload = generator.next().payload;
    auto parsed = kinds::parse_record(d, payload, core::routing_hint(payload).raw_event_type);
    const auto& values = std::get<kinds::Record>(parsed).values;
    const auto it = products.find(std::get<std::int64_t>(values[*d.find("sku")]));
    REQUIRE(it != products.end());
    CHECK(it->second.category == std::get<std::string>(values[*d.find("category")]));
    CHECK(it->second.list_price == std::get<core::Decimal>(values[*d.find("price")]));
  }
}
