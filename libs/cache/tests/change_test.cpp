#include "change.hpp"

#include <catch2/catch.hpp>

#include "changes.hpp"

using namespace millrace::cache;
using namespace millrace::cache::detail;
using namespace millrace::cache::testing;

TEST_CASE("a catalog change becomes its entry's key, version and body", "[change]") {
  const auto read = read_change(category_upsert("toys", "Toys", 0x1A2B, 731), "s");
  REQUIRE(std::holds_alternative<CatalogChange>(read));
  const auto& c = std::get<CatalogChange>(read);
  CHECK(c.op == CatalogChange::Op::kUpsert);
  CHECK(c.table == millrace::catalog::Table::kCategories);
  CHECK(c.id == "0000000000001A2B00000000");
  CHECK(c.xid == 731);
  CHECK(c.name == "toys");
  CHECK_FALSE(c.old_name);
  REQUIRE(c.body);
  CHECK(*c.body == R"({"name":"toys","display_name":"Toys","description":null,"active":true,)"
                   R"("updated_at":"2026-11-23T18:00:00.000000Z"})");
  REQUIRE(c.commit_us);

  const auto product = read_change(
      change("products", 'c', 5, 9, R"({"sku":42})", "null", product_row(42, "Kite")), "s");
  REQUIRE(std::holds_alternative<CatalogChange>(product));
  CHECK(std::get<CatalogChange>(product).name == "42");
  CHECK(std::get<CatalogChange>(product).body->find(R"("list_price":9.50)") != std::string::npos);
}

TEST_CASE("a delete, a key change and a truncate", "[change]") {
  const auto del = read_change(category_delete("toys", 7, 8), "s");
  REQUIRE(std::holds_alternative<CatalogChange>(del));
  CHECK(std::get<CatalogChange>(del).op == CatalogChange::Op::kDelete);
  CHECK(std::get<CatalogChange>(del).name == "toys");

  const auto renamed = read_change(change("categories", 'u', 9, 10, R"({"name":"games"})",
                                          R"({"name":"toys"})", category_row("games", "Games")),
                                   "s");
  REQUIRE(std::holds_alternative<CatalogChange>(renamed));
  CHECK(std::get<CatalogChange>(renamed).name == "games");
  CHECK(std::get<CatalogChange>(renamed).old_name == "toys");

  const auto truncate = read_change(
      R"({"id":"000000000000000900000000","op":"t","table":"s.products","before":null,)"
      R"("after":null,"source":{"lsn":"0/9","xid":3,"commit_time":"2026-11-23T18:00:00Z","seq":0}})",
      "s");
  REQUIRE(std::holds_alternative<CatalogChange>(truncate));
  CHECK(std::get<CatalogChange>(truncate).op == CatalogChange::Op::kTruncate);

  const auto gap = read_change(
      R"({"id":"0000000000000009-00000000","op":"g","table":"s.categories","before":null,)"
      R"("after":null,"gap":{"from_lsn":"0/5","to_lsn":"0/A","backfill":3},"source":{"lsn":"0/9",)"
      R"("xid":0,"commit_time":"2026-11-23T18:00:00.000000Z","seq":0,"backfill":3}})",
      "s");
  REQUIRE(std::holds_alternative<CatalogChange>(gap));
  CHECK(std::get<CatalogChange>(gap).op == CatalogChange::Op::kGap);

  // A backfill's end marker changes nothing: its rows came before it.
  CHECK(std::holds_alternative<NotCatalog>(read_change(
      R"({"id":"0000000000000009-00000002","op":"e","table":"s.products","before":null,)"
      R"("after":null,"backfill":{"id":4,"rows":2},"source":{"lsn":"0/9","xid":0,)"
      R"("commit_time":"2026-11-23T18:00:00.000000Z","seq":2,"backfill":4}})",
      "s")));
}

TEST_CASE("other tables and schemas are not the cache's, broken records say why", "[change]") {
  CHECK(std::holds_alternative<NotCatalog>(
      read_change(change("store_events", 'c', 1, 1, R"({"id":1})", "null", R"({"id":1})"), "s")));
  CHECK(std::holds_alternative<NotCatalog>(
      read_change(category_upsert("toys", "Toys", 1, 1), "other")));
  CHECK(std::get<std::string>(read_change("{", "s")) == "not a JSON object");
  CHECK(std::get<std::string>(
            read_change(
                change("categories", 'u', 1, 1, R"({"name":"x"})", "null", R"({"name":"x"})"), "s"))
            .starts_with("the new row: the row has no column"));
  CHECK(std::get<std::string>(
            read_change(change("categories", 'x', 1, 1, R"({"name":"x"})", "null", "null"), "s")) ==
        "unknown op x");
}

TEST_CASE("an asset change becomes its entry, keyed by its symbol", "[change]") {
  const auto c = read_change(change("assets", 'c', 7, 70, R"({"symbol":"BINANCE:BTCUSDT"})", "null",
                                    asset_row("BINANCE:BTCUSDT", "Binance BTCUSDT")),
                             "s");
  REQUIRE(std::holds_alternative<CatalogChange>(c));
  const auto& asset = std::get<CatalogChange>(c);
  CHECK(asset.table == millrace::catalog::Table::kAssets);
  CHECK(asset.name == "BINANCE:BTCUSDT");
  CHECK(entry_key(asset.table, asset.name) == "asset:BINANCE:BTCUSDT");
  REQUIRE(asset.body);
  CHECK(*asset.body ==
        R"({"symbol":"BINANCE:BTCUSDT","description":"Binance BTCUSDT","type":null,)"
        R"("currency":null,"display_symbol":null,"updated_at":"2026-11-23T18:00:00.000000Z"})");
  CHECK(may_be_catalog(std::string_view(R"({"table":"s.assets","key":{"symbol":"A"}})"), "s"));
}

TEST_CASE("the Kafka key rules out other tables before any parsing", "[change]") {
  CHECK(may_be_catalog(std::string_view(R"({"table":"s.categories","key":{"name":"a"}})"), "s"));
  CHECK(may_be_catalog(std::string_view(R"({"table":"s.products","key":{"sku":1}})"), "s"));
  CHECK_FALSE(may_be_catalog(std::string_view(R"({"table":"s.store_events","key":{}})"), "s"));
  CHECK_FALSE(may_be_catalog(std::string_view(R"({"table":"s.categories_old","key":{}})"), "s"));
  CHECK(may_be_catalog(std::nullopt, "s"));
}
