#include <catch2/catch.hpp>

#include "changes.hpp"
#include "fakes.hpp"
#include "memory_store.hpp"
#include "millrace/catalog/json.hpp"

using namespace millrace;
using namespace millrace::cache;
using namespace millrace::cache::detail;
using namespace millrace::cache::testing;
using namespace std::chrono_literals;

namespace {

std::string product_body(std::int64_t sku, const std::string& name) {
  return catalog::product_json(
      std::get<catalog::RowText>(catalog::change_values(product_row(sku, name))));
}

std::string asset_body(const std::string& symbol, const std::string& description) {
  return catalog::asset_json(
      std::get<catalog::RowText>(catalog::change_values(asset_row(symbol, description))));
}

struct Rig {
  bool assets;  // kept too (a sink enriching by asset)
  MemoryStore store;
  FakeFeed feed;
  FakeTruth truth;
  metrics::Registry registry{"lookup-test"};
  InvalidatorProbe probe{registry};
  std::chrono::steady_clock::time_point now{};
  Invalidator follower{[this] {
                         InvalidatorRules r;
                         r.schema = "s";
                         r.owner = "this process";
                         r.now_us = [] { return std::int64_t{0}; };
                         r.steady = [this] { return now; };
                         r.assets = assets;
                         return r;
                       }(),
                       feed, truth, store, probe};

  explicit Rig(bool with_assets = false) : assets(with_assets) {
    truth.products["42"] = product_body(42, "Kite");
    truth.products["43"] = product_body(43, "Yo-yo");
    truth.assets["AAPL"] = asset_body("AAPL", "APPLE INC");
  }
  void settle() {
    for (int i = 0; i < 20; ++i) {
      follower.step();
      now += 1s;
    }
  }
};

}  // namespace

TEST_CASE("the lookup is usable once the whole catalog is loaded, and follows changes",
          "[lookup]") {
  Rig rig;
  CHECK_FALSE(rig.store.ready());
  rig.settle();
  REQUIRE(rig.store.ready());
  CHECK(rig.store.product(42) == ProductFacts{"Kite", std::nullopt, "toys"});
  CHECK_FALSE(rig.store.product(7));
  rig.feed.append(
      change("products", 'u', 10, 120, R"({"sku":42})", "null", product_row(42, "Kite XL")));
  rig.feed.append(change("products", 'd', 11, 121, R"({"sku":43})", R"({"sku":43})", "null"));
  rig.settle();
  CHECK(rig.store.product(42)->name == "Kite XL");
  CHECK_FALSE(rig.store.product(43));
}

TEST_CASE("losing the feed makes the lookup unusable until it has reloaded", "[lookup]") {
  Rig rig;
  rig.settle();
  REQUIRE(rig.store.ready());
  const auto generation = rig.store.live_generation();
  rig.feed.down = true;
  rig.settle();
  CHECK_FALSE(rig.store.ready());
  // Still the last complete catalog underneath, while the new one loads.
  CHECK(rig.store.product(42));
  rig.truth.products["42"] = product_body(42, "Kite reloaded");
  rig.feed.down = false;
  rig.settle();
  REQUIRE(rig.store.ready());
  CHECK(rig.store.live_generation() > generation);
  CHECK(rig.store.product(42)->name == "Kite reloaded");
}

TEST_CASE("a product body's facts", "[lookup]") {
  CHECK(product_facts(product_body(1, "Pen")) == ProductFacts{"Pen", std::nullopt, "toys"});
  CHECK(product_facts(R"({"name":"Pen","brand":"Acme","category":"c"})") ==
        ProductFacts{"Pen", "Acme", "c"});
  CHECK_FALSE(product_facts("{}"));
  CHECK_FALSE(product_facts("["));
}

TEST_CASE("assets are kept when asked: loaded, followed, deleted", "[lookup]") {
  Rig rig(true);
  rig.settle();
  REQUIRE(rig.store.ready());
  CHECK(rig.store.asset("AAPL") == AssetFacts{"APPLE INC", std::nullopt, std::nullopt});
  CHECK_FALSE(rig.store.asset("MSFT"));
  CHECK(rig.store.product(42));  // the products are kept as before
  rig.feed.append(change("assets", 'c', 10, 120, R"({"symbol":"BINANCE:BTCUSDT"})", "null",
                         asset_row("BINANCE:BTCUSDT", "Binance BTCUSDT")));
  rig.feed.append(change("assets", 'u', 11, 121, R"({"symbol":"AAPL"})", "null",
                         asset_row("AAPL", "APPLE INC renamed")));
  rig.settle();
  CHECK(rig.store.asset("BINANCE:BTCUSDT")->description == "Binance BTCUSDT");
  CHECK(rig.store.asset("AAPL")->description == "APPLE INC renamed");
  rig.feed.append(change("assets", 'd', 12, 122, R"({"symbol":"AAPL"})", "null", "null"));
  rig.settle();
  CHECK_FALSE(rig.store.asset("AAPL"));
}

TEST_CASE("assets not asked for are neither loaded nor followed", "[lookup]") {
  Rig rig(false);
  rig.truth.assets.clear();  // as PgTruth: it reads no assets then
  rig.settle();
  REQUIRE(rig.store.ready());
  const auto generation = rig.store.live_generation();
  rig.feed.append(change("assets", 'c', 10, 120, R"({"symbol":"MSFT"})", "null",
                         asset_row("MSFT", "MICROSOFT CORP")));
  // Nor does their truncate rebuild what does not hold them.
  rig.feed.append(change("assets", 't', 11, 121, "null", "null", "null"));
  rig.settle();
  CHECK_FALSE(rig.store.asset("MSFT"));
  CHECK(rig.store.live_generation() == generation);
  CHECK(rig.truth.loads == 1);
}

TEST_CASE("an asset body's facts", "[lookup]") {
  CHECK(asset_facts(R"({"symbol":"AAPL","description":"APPLE INC","type":"Common Stock",)"
                    R"("currency":"USD"})") == AssetFacts{"APPLE INC", "Common Stock", "USD"});
  CHECK_FALSE(asset_facts(R"({"description":"no symbol"})"));
  CHECK_FALSE(asset_facts("["));
}
