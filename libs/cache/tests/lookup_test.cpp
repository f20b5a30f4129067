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

struct Rig {
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
                         return r;
                       }(),
                       feed, truth, store, probe};

  Rig() {
    truth.products["42"] = product_body(42, "Kite");
    truth.products["43"] = product_body(43, "Yo-yo");
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
