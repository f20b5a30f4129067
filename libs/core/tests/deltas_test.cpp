// Folding events into the windows' deltas: exact totals, independent of
// order and of how the events are batched.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "millrace/core/decimal.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/core/window.hpp"
#include "millrace/reference/store_event_rules.hpp"
#include "millrace/reference/store_totals.hpp"
#include "window_support.hpp"

using namespace millrace::core;
using namespace millrace::core::testing;

// ---------------------------------------------------------------------------
// Folding

namespace {

std::vector<StoreEvent> handful() {
  constexpr auto kSale = EventType::kSale;
  constexpr auto kInv = EventType::kInventory;
  return {
      event(kSale, "Notebooks", 169008, "45.85", 34, "10.3", "2024-02-29T23:10:00Z", false),
      event(kSale, "Notebooks", 169008, "45.85", 2, "10.3", "2024-02-29T23:59:59.999999Z", true),
      event(kSale, "Notebooks", 5, "0.1", 3, "0", "2024-03-01T00:30:00+01:00", false),
      event(kInv, "Notebooks", 169008, "45.85", 100, "10.3", "2024-02-29T23:20:00Z", false),
      event(kInv, "Notebooks", 7, "10", 5, "0", "2024-03-01T00:00:00Z", true),
      event(kSale, "Pens", 42, "19.99", 3, "33.3333", "2024-03-01T00:00:00Z", false),
      event(kSale, "Notebooks", 5, "0.1", 1, "0", "2024-02-29T08:00:00Z", false),
  };
}

}  // namespace

TEST_CASE("Folding a handful of events", "[window][deltas]") {
  Deltas d;
  CHECK(d.empty());
  for (const auto& e : handful()) d.fold(sale_of(e));
  CHECK(d.events() == 7);
  CHECK_FALSE(d.empty());

  const TimestampUs h08 = ts("2024-02-29T08:00:00Z");
  const TimestampUs h23 = ts("2024-02-29T23:00:00Z");
  const TimestampUs h00 = ts("2024-03-01T00:00:00Z");
  const TimestampUs d29 = ts("2024-02-29T00:00:00Z");
  const TimestampUs d01 = ts("2024-03-01T00:00:00Z");

  // Keys in map order: window, then inventory before sale, then category.
  std::vector<std::pair<WindowKey, std::string>> hourly;
  for (const auto& [k, t] : d.hourly()) hourly.emplace_back(k, describe(t));
  REQUIRE(hourly.size() == 5);
  CHECK(hourly[0].first == WindowKey{h08, EventType::kSale, "Notebooks"});
  CHECK(hourly[0].second == "events=1 units=1 revenue=0.1 discount=0 returns=0");
  CHECK(hourly[1].first == WindowKey{h23, EventType::kInventory, "Notebooks"});
  // Inventory moves units but no money, whatever its price and discount.
  CHECK(hourly[1].second == "events=1 units=100 revenue=0 discount=0 returns=0");
  CHECK(hourly[2].first == WindowKey{h23, EventType::kSale, "Notebooks"});
  // 1398.3333 - 82.2549 + 0.3 and 160.5667 - 9.4451; the return subtracts.
  CHECK(hourly[2].second == "events=3 units=35 revenue=1316.3784 discount=151.1216 returns=1");
  CHECK(hourly[3].first == WindowKey{h00, EventType::kInventory, "Notebooks"});
  CHECK(hourly[3].second == "events=1 units=-5 revenue=0 discount=0 returns=1");
  CHECK(hourly[4].first == WindowKey{h00, EventType::kSale, "Pens"});
  CHECK(hourly[4].second == "events=1 units=3 revenue=39.98001999 discount=19.98998001 returns=0");

  std::vector<std::pair<WindowKey, std::string>> daily;
  for (const auto& [k, t] : d.daily()) daily.emplace_back(k, describe(t));
  REQUIRE(daily.size() == 4);
  CHECK(daily[0].first == WindowKey{d29, EventType::kInventory, "Notebooks"});
  CHECK(daily[0].second == "events=1 units=100 revenue=0 discount=0 returns=0");
  CHECK(daily[1].first == WindowKey{d29, EventType::kSale, "Notebooks"});
  CHECK(daily[1].second == "events=4 units=36 revenue=1316.4784 discount=151.1216 returns=1");
  CHECK(daily[2].first == WindowKey{d01, EventType::kInventory, "Notebooks"});
  CHECK(daily[2].second == "events=1 units=-5 revenue=0 discount=0 returns=1");
  CHECK(daily[3].first == WindowKey{d01, EventType::kSale, "Pens"});
  CHECK(daily[3].second == "events=1 units=3 revenue=39.98001999 discount=19.98998001 returns=0");

  // Sale events only: sku 7 (inventory only) is absent, and sku 169008's
  // inventory units are not counted.
  const auto& products = d.products();
  REQUIRE(products.size() == 3);
  REQUIRE(products.count(5) == 1);
  REQUIRE(products.count(42) == 1);
  REQUIRE(products.count(169008) == 1);
  CHECK(products.at(5).units == 4);
  CHECK(products.at(5).revenue.to_string() == "0.4");
  CHECK(products.at(42).units == 3);
  CHECK(products.at(42).revenue.to_string() == "39.98001999");
  CHECK(products.at(169008).units == 32);
  CHECK(products.at(169008).revenue.to_string() == "1316.0784");

  const auto& categories = d.categories();
  REQUIRE(categories.size() == 2);
  REQUIRE(categories.count("Notebooks") == 1);
  REQUIRE(categories.count("Pens") == 1);
  CHECK(describe(categories.at("Notebooks")) ==
        "events=4 units=36 revenue=1316.4784 discount=151.1216 returns=1");
  CHECK(describe(categories.at("Pens")) ==
        "events=1 units=3 revenue=39.98001999 discount=19.98998001 returns=0");

  d.clear();
  CHECK(d.empty());
  CHECK(d.events() == 0);
  CHECK(d.hourly().empty());
  CHECK(d.daily().empty());
  CHECK(d.products().empty());
  CHECK(d.categories().empty());
}

TEST_CASE("A return is the negative of its sale", "[window][deltas]") {
  StoreEvent sale = event(EventType::kSale, "Notebooks", 169008, "45.85", 34, "10.3",
                          "2023-05-19T14:36:09Z", false);
  StoreEvent ret = sale;
  ret.is_return = true;
  const Totals s = millrace::core::event_totals(sale);
  const Totals r = millrace::core::event_totals(ret);
  CHECK(describe(s) == "events=1 units=34 revenue=1398.3333 discount=160.5667 returns=0");
  CHECK(describe(r) == "events=1 units=-34 revenue=-1398.3333 discount=-160.5667 returns=1");

  Deltas d;
  d.fold(sale_of(sale));
  d.fold(sale_of(ret));
  // The money cancels; the activity does not.
  REQUIRE(d.hourly().size() == 1);
  CHECK(describe(d.hourly().begin()->second) == "events=2 units=0 revenue=0 discount=0 returns=1");
  CHECK(d.products().at(169008).units == 0);
  CHECK(d.products().at(169008).revenue == Amount());
}

namespace {

// `n` varied events over three days: types, categories, skus, prices,
// quantities, discounts and returns drawn from a fixed seed.
std::vector<StoreEvent> generated(std::size_t n) {
  static constexpr const char* kCategories[] = {"Pens", "Binders", "Rulers", "Folders", "Erasers"};
  std::mt19937_64 rng(7);
  const auto draw = [&](std::uint64_t below) { return static_cast<std::int64_t>(rng() % below); };
  const TimestampUs base = ts("2024-03-01T06:00:00Z");
  std::vector<StoreEvent> events;
  while (events.size() < n) {
    StoreEvent e;
    e.event_type = draw(2) == 0 ? EventType::kSale : EventType::kInventory;
    e.category = kCategories[draw(std::size(kCategories))];
    e.sku = 100'000 + draw(900'000);
    e.price = Decimal::from_units((50 + draw(50'000)) * (Decimal::kOne / 100));
    e.qty = static_cast<std::int32_t>(1 + draw(50));
    e.discount = Decimal::from_units(draw(501) * (Decimal::kOne / 10));
    e.ts = base - draw(3 * kDayUs);
    e.is_return = draw(10) == 0;
    events.push_back(std::move(e));
  }
  return events;
}

Deltas fold_all(const std::vector<StoreEvent>& events) {
  Deltas d;
  for (const auto& e : events) d.fold(sale_of(e));
  return d;
}

void check_same(const Deltas& a, const Deltas& b) {
  CHECK(a.events() == b.events());
  CHECK(a.hourly() == b.hourly());
  CHECK(a.daily() == b.daily());
  CHECK(a.products() == b.products());
  CHECK(a.categories() == b.categories());
}

}  // namespace

TEST_CASE("Folding does not depend on order", "[window][deltas]") {
  for (const auto& events : {handful(), generated(2000)}) {
    const Deltas expected = fold_all(events);
    std::vector<StoreEvent> shuffled = events;
    std::reverse(shuffled.begin(), shuffled.end());
    check_same(fold_all(shuffled), expected);
    std::mt19937_64 rng(12345);
    for (int round = 0; round < 3; ++round) {
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      check_same(fold_all(shuffled), expected);
    }
  }
}

TEST_CASE("Deltas of two batches add up to the deltas of both", "[window][deltas]") {
  // What the additive upsert relies on: applying batch A's deltas and then
  // batch B's equals folding everything at once.
  const std::vector<StoreEvent> events = generated(1000);
  const std::vector<StoreEvent> first(events.begin(), events.begin() + 377);
  const std::vector<StoreEvent> second(events.begin() + 377, events.end());
  const Deltas a = fold_all(first);
  const Deltas b = fold_all(second);
  const Deltas all = fold_all(events);

  auto merged_hourly = a.hourly();
  for (const auto& [k, t] : b.hourly()) merged_hourly[k] += t;
  CHECK(merged_hourly == all.hourly());
  auto merged_categories = a.categories();
  for (const auto& [k, t] : b.categories()) merged_categories[k] += t;
  CHECK(merged_categories == all.categories());
  CHECK(a.events() + b.events() == all.events());
}

TEST_CASE("Generated events: totals are consistent across the maps", "[window][deltas]") {
  const std::vector<StoreEvent> events = generated(1000);
  const Deltas d = fold_all(events);
  REQUIRE(d.events() == events.size());

  Totals hourly_sum;
  for (const auto& [k, t] : d.hourly()) hourly_sum += t;
  Totals daily_sum;
  for (const auto& [k, t] : d.daily()) daily_sum += t;
  CHECK(hourly_sum == daily_sum);
  CHECK(hourly_sum.events == static_cast<std::int64_t>(events.size()));

  Totals sale_windows;
  for (const auto& [k, t] : d.daily()) {
    CHECK(k.window_start == day_start(k.window_start));
    if (k.event_type == EventType::kSale) {
      sale_windows += t;
    } else {
      CHECK(t.revenue == Amount());
      CHECK(t.discount_total == Amount());
    }
  }
  for (const auto& [k, t] : d.hourly()) CHECK(k.window_start == hour_start(k.window_start));
  Totals category_sum;
  for (const auto& [k, t] : d.categories()) category_sum += t;
  CHECK(category_sum == sale_windows);

  std::int64_t product_units = 0;
  Amount product_revenue;
  for (const auto& [sku, p] : d.products()) {
    product_units += p.units;
    product_revenue += p.revenue;
  }
  CHECK(product_units == sale_windows.units);
  CHECK(product_revenue == sale_windows.revenue);

  // revenue + discount is the signed list price, summed independently.
  Amount gross;
  for (const auto& e : events) {
    if (e.event_type != EventType::kSale) continue;
    const Int128 list = Int128{e.price.units()} * e.qty * 100'000'000;
    gross += Amount::from_units14(e.is_return ? -list : list);
  }
  CHECK(sale_windows.revenue + sale_windows.discount_total == gross);
  CHECK(sale_windows.returns > 0);
  CHECK(sale_windows.returns < sale_windows.events);
}
