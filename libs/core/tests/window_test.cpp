#include "millrace/core/window.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "millrace/core/generator.hpp"

namespace Catch {
template <>
struct StringMaker<millrace::core::Amount> {
  static std::string convert(const millrace::core::Amount& a) { return a.to_string(); }
};
}  // namespace Catch

using millrace::core::Amount;
using millrace::core::day_start;
using millrace::core::Decimal;
using millrace::core::Deltas;
using millrace::core::discount_amount;
using millrace::core::EventType;
using millrace::core::hour_start;
using millrace::core::Int128;
using millrace::core::judge_time;
using millrace::core::kDayUs;
using millrace::core::kHourUs;
using millrace::core::LatenessPolicy;
using millrace::core::sale_revenue;
using millrace::core::StoreEvent;
using millrace::core::TimestampUs;
using millrace::core::TimeVerdict;
using millrace::core::Totals;
using millrace::core::WindowKey;

namespace {

TimestampUs ts(std::string_view text) {
  const auto parsed = millrace::core::parse_timestamp(text);
  INFO("timestamp: " << text);
  REQUIRE(parsed.has_value());
  return *parsed;
}

Decimal dec(std::string_view literal) {
  const auto parsed = Decimal::parse(literal);
  INFO("decimal: " << literal);
  REQUIRE(parsed.has_value());
  return *parsed;
}

std::string fmt(TimestampUs t) {
  return millrace::core::format_timestamp(t);
}

std::string revenue(std::string_view price, std::int32_t qty, std::string_view discount,
                    bool is_return = false) {
  return sale_revenue(dec(price), qty, dec(discount), is_return).to_string();
}

std::string discount(std::string_view price, std::int32_t qty, std::string_view discount,
                     bool is_return = false) {
  return discount_amount(dec(price), qty, dec(discount), is_return).to_string();
}

// One line per Totals, so a mismatch shows every field at once.
std::string describe(const Totals& t) {
  return "events=" + std::to_string(t.events) + " units=" + std::to_string(t.units) +
         " revenue=" + t.revenue.to_string() + " discount=" + t.discount_total.to_string() +
         " returns=" + std::to_string(t.returns);
}

StoreEvent event(EventType type, std::string category, std::int64_t sku, std::string_view price,
                 std::int32_t qty, std::string_view disc, std::string_view when, bool is_return) {
  StoreEvent e;
  e.event_type = type;
  e.category = std::move(category);
  e.sku = sku;
  e.price = dec(price);
  e.qty = qty;
  e.discount = dec(disc);
  e.ts = ts(when);
  e.is_return = is_return;
  return e;
}

}  // namespace

// ---------------------------------------------------------------------------
// Windows

static_assert(kHourUs == 3'600'000'000);
static_assert(kDayUs == 86'400'000'000);
static_assert(hour_start(0) == 0 && day_start(0) == 0);
static_assert(hour_start(kHourUs - 1) == 0 && hour_start(kHourUs) == kHourUs);
static_assert(day_start(kDayUs - 1) == 0 && day_start(kDayUs) == kDayUs);

TEST_CASE("Windows start at the epoch", "[window]") {
  CHECK(hour_start(0) == 0);
  CHECK(day_start(0) == 0);
  CHECK(hour_start(1) == 0);
  CHECK(hour_start(kHourUs - 1) == 0);
  CHECK(hour_start(kHourUs) == kHourUs);
  CHECK(day_start(kDayUs - 1) == 0);
  CHECK(day_start(kDayUs) == kDayUs);
  CHECK(hour_start(ts("1970-01-01T00:59:59.999999Z")) == 0);
  CHECK(day_start(ts("1970-01-01T23:59:59.999999Z")) == 0);
  // Floor, not truncation, so a pre-epoch time would still land in the
  // window that contains it.
  CHECK(hour_start(-1) == -kHourUs);
  CHECK(day_start(-1) == -kDayUs);
  CHECK(day_start(-kDayUs) == -kDayUs);
}

TEST_CASE("The last microsecond of a window is not the first of the next", "[window]") {
  const TimestampUs last = ts("2023-05-19T23:59:59.999999Z");
  const TimestampUs first = ts("2023-05-20T00:00:00Z");
  CHECK(first - last == 1);
  CHECK(fmt(day_start(last)) == "2023-05-19T00:00:00.000000Z");
  CHECK(fmt(hour_start(last)) == "2023-05-19T23:00:00.000000Z");
  CHECK(fmt(day_start(first)) == "2023-05-20T00:00:00.000000Z");
  CHECK(fmt(hour_start(first)) == "2023-05-20T00:00:00.000000Z");

  const TimestampUs mid_last = ts("2023-05-19T14:59:59.999999");
  CHECK(fmt(hour_start(mid_last)) == "2023-05-19T14:00:00.000000Z");
  CHECK(fmt(hour_start(mid_last + 1)) == "2023-05-19T15:00:00.000000Z");
  CHECK(fmt(hour_start(ts("2023-05-19T14:36:09.985501"))) == "2023-05-19T14:00:00.000000Z");
}

TEST_CASE("Offsets are applied before windowing", "[window]") {
  // 00:30 at +01:00 is 23:30 UTC the day before: a leap day.
  const TimestampUs t = ts("2024-03-01T00:30:00+01:00");
  CHECK(fmt(t) == "2024-02-29T23:30:00.000000Z");
  CHECK(fmt(day_start(t)) == "2024-02-29T00:00:00.000000Z");
  CHECK(fmt(hour_start(t)) == "2024-02-29T23:00:00.000000Z");

  // And a negative offset pushes into the next UTC day.
  const TimestampUs w = ts("2024-02-29T22:15:00-03:00");
  CHECK(fmt(day_start(w)) == "2024-03-01T00:00:00.000000Z");
  CHECK(fmt(hour_start(w)) == "2024-03-01T01:00:00.000000Z");

  // Half-hour offsets move the hour, not just the day.
  CHECK(fmt(hour_start(ts("2024-06-01T10:10:00+05:30"))) == "2024-06-01T04:00:00.000000Z");
}

TEST_CASE("Leap day is a day of its own", "[window]") {
  const TimestampUs feb29 = ts("2024-02-29T12:34:56.789Z");
  CHECK(fmt(day_start(feb29)) == "2024-02-29T00:00:00.000000Z");
  CHECK(day_start(feb29) - day_start(ts("2024-02-28T23:59:59.999999Z")) == kDayUs);
  CHECK(day_start(ts("2024-03-01T00:00:00Z")) - day_start(feb29) == kDayUs);
  CHECK(fmt(day_start(ts("2024-02-29T23:59:59.999999Z"))) == "2024-02-29T00:00:00.000000Z");
  // No leap day in 2023: the day after Feb 28 is Mar 1.
  CHECK(fmt(day_start(ts("2023-02-28T06:00:00Z")) + kDayUs) == "2023-03-01T00:00:00.000000Z");
}

TEST_CASE("Year boundaries", "[window]") {
  const TimestampUs nye = ts("2023-12-31T23:59:59.999999Z");
  CHECK(fmt(day_start(nye)) == "2023-12-31T00:00:00.000000Z");
  CHECK(fmt(hour_start(nye)) == "2023-12-31T23:00:00.000000Z");
  CHECK(fmt(day_start(nye + 1)) == "2024-01-01T00:00:00.000000Z");
  CHECK(fmt(hour_start(nye + 1)) == "2024-01-01T00:00:00.000000Z");
  // New year in Berlin is still the old year in UTC.
  CHECK(fmt(day_start(ts("2024-01-01T00:30:00+01:00"))) == "2023-12-31T00:00:00.000000Z");

  const TimestampUs end = ts("9999-12-31T23:59:59.999999Z");
  CHECK(fmt(day_start(end)) == "9999-12-31T00:00:00.000000Z");
  CHECK(fmt(hour_start(end)) == "9999-12-31T23:00:00.000000Z");
  CHECK(fmt(day_start(ts("2000-02-29T01:00:00Z"))) == "2000-02-29T00:00:00.000000Z");
}

// ---------------------------------------------------------------------------
// Money

TEST_CASE("The contract's sample is exact", "[window][amount]") {
  // 45.85 x 34 = 1558.9; x 0.897 = 1398.3333; x 0.103 = 160.5667
  CHECK(revenue("45.85", 34, "10.3") == "1398.3333");
  CHECK(discount("45.85", 34, "10.3") == "160.5667");
  CHECK(sale_revenue(dec("45.85"), 34, dec("10.3"), false).units14() ==
        Int128{139'833'330'000'000'000});
  CHECK(discount_amount(dec("45.85"), 34, dec("10.3"), false).units14() ==
        Int128{16'056'670'000'000'000});
  // The sample is a return.
  CHECK(revenue("45.85", 34, "10.3", true) == "-1398.3333");
  CHECK(discount("45.85", 34, "10.3", true) == "-160.5667");
  CHECK(sale_revenue(dec("45.85"), 34, dec("10.3"), true) ==
        -sale_revenue(dec("45.85"), 34, dec("10.3"), false));
}

TEST_CASE("Money is exact where binary floating point is not", "[window][amount]") {
  REQUIRE(0.1 * 3 != 0.3);  // the reason Amount exists
  CHECK(revenue("0.1", 3, "0") == "0.3");
  CHECK(discount("0.1", 3, "0") == "0");

  // 19.99 x 3 = 59.97; x (1 - 0.333333) = 39.98001999; x 0.333333 = 19.98998001
  CHECK(revenue("19.99", 3, "33.3333") == "39.98001999");
  CHECK(discount("19.99", 3, "33.3333") == "19.98998001");
  CHECK((sale_revenue(dec("19.99"), 3, dec("33.3333"), false) +
         discount_amount(dec("19.99"), 3, dec("33.3333"), false))
            .to_string() == "59.97");

  // The finest inputs use all fourteen digits, and nothing is rounded away.
  CHECK(revenue("0.000001", 1, "0.000001") == "0.00000099999999");
  CHECK(discount("0.000001", 1, "0.000001") == "0.00000000000001");
  CHECK(revenue("0.000001", 1, "0.000001", true) == "-0.00000099999999");
}

TEST_CASE("Money at the edges of the contract", "[window][amount]") {
  CHECK(revenue("1000000000", 1'000'000, "0") == "1000000000000000");
  CHECK(discount("1000000000", 1'000'000, "100") == "1000000000000000");
  CHECK(revenue("1000000000", 1'000'000, "100") == "0");
  CHECK(discount("1000000000", 1'000'000, "0") == "0");
  CHECK(revenue("999999999.999999", 1'000'000, "0.000001", true) == "-999999989999999.00000001");
  CHECK(revenue("0", 5, "10") == "0");
  CHECK(revenue("0", 5, "10", true) == "0");  // never "-0"
}

TEST_CASE("Amount arithmetic and text", "[window][amount]") {
  CHECK(Amount().to_string() == "0");
  CHECK(Amount() == Amount::from_units14(0));
  CHECK(Amount::from_units14(1).to_string() == "0.00000000000001");
  CHECK(Amount::from_units14(-1).to_string() == "-0.00000000000001");
  CHECK(Amount::from_units14(-1'250'000'000'000'000).to_string() == "-12.5");
  CHECK(Amount::from_units14(100'000'000'000'000).to_string() == "1");
  CHECK(Amount::from_units14(1'000'000'000'000'000).to_string() == "10");
  CHECK(Amount::from_units14(100'000'000'000'001).to_string() == "1.00000000000001");
  CHECK(Amount::from_units14(10'000'000'000'000).to_string() == "0.1");

  constexpr Int128 kMax = ~(Int128{1} << 127);
  constexpr Int128 kMin = Int128{1} << 127;  // two's complement minimum
  CHECK(Amount::from_units14(kMax).to_string() == "1701411834604692317316873.03715884105727");
  CHECK(Amount::from_units14(kMin).to_string() == "-1701411834604692317316873.03715884105728");

  Amount a = Amount::from_units14(150);
  a += Amount::from_units14(-50);
  CHECK(a.units14() == 100);
  CHECK((a - Amount::from_units14(300)).units14() == -200);
  CHECK((-a).units14() == -100);
  CHECK(a == Amount::from_units14(100));
  CHECK_FALSE(a == Amount::from_units14(101));
  a -= Amount::from_units14(100);
  CHECK(a == Amount());

  // Sums stay exact: a thousand 0.1s are 100, not 99.9999999999986.
  Amount sum;
  for (int i = 0; i < 1000; ++i) sum += sale_revenue(dec("0.1"), 1, dec("0"), false);
  CHECK(sum.to_string() == "100");
}

// ---------------------------------------------------------------------------
// Lateness

TEST_CASE("Lateness is measured against the partition's newest event", "[window][lateness]") {
  const LatenessPolicy policy;
  CHECK(policy.max_lateness_us == 7 * kDayUs);
  CHECK(policy.max_future_us == kHourUs);

  const TimestampUs now = ts("2025-06-01T12:00:00Z");
  const TimestampUs newest = ts("2024-01-10T00:00:00Z");
  // Replaying last year's data: old against the clock, on time against the
  // partition.
  CHECK(judge_time(ts("2024-01-05T00:00:00Z"), newest, now, policy) == TimeVerdict::kOnTime);
  CHECK(judge_time(newest - 7 * kDayUs, newest, now, policy) == TimeVerdict::kOnTime);
  CHECK(judge_time(newest - 7 * kDayUs - 1, newest, now, policy) == TimeVerdict::kLate);
  CHECK(judge_time(newest, newest, now, policy) == TimeVerdict::kOnTime);
  CHECK(judge_time(newest + kDayUs, newest, now, policy) == TimeVerdict::kOnTime);
  // Nothing seen yet on the partition: nothing is late.
  CHECK(judge_time(ts("1970-01-01T00:00:00Z"), std::nullopt, now, policy) == TimeVerdict::kOnTime);

  const LatenessPolicy strict{.max_lateness_us = 0, .max_future_us = 0};
  CHECK(judge_time(newest, newest, now, strict) == TimeVerdict::kOnTime);
  CHECK(judge_time(newest - 1, newest, now, strict) == TimeVerdict::kLate);
}

TEST_CASE("Future is measured against the clock", "[window][lateness]") {
  const LatenessPolicy policy;
  const TimestampUs now = ts("2025-06-01T12:00:00Z");
  CHECK(judge_time(now, std::nullopt, now, policy) == TimeVerdict::kOnTime);
  CHECK(judge_time(now + kHourUs, std::nullopt, now, policy) == TimeVerdict::kOnTime);
  CHECK(judge_time(now + kHourUs + 1, std::nullopt, now, policy) == TimeVerdict::kFuture);
  CHECK(judge_time(now + kHourUs + 1, now + 2 * kHourUs, now, policy) == TimeVerdict::kFuture);
  // Both at once (the partition already holds an event from the far future):
  // future wins, the event is not blamed for being behind a broken one.
  const TimestampUs ahead = now + 30 * kDayUs;
  CHECK(judge_time(now + 2 * kHourUs, ahead, now, policy) == TimeVerdict::kFuture);
  CHECK(judge_time(now, ahead, now, policy) == TimeVerdict::kLate);
}

TEST_CASE("judge_time does not overflow on extreme policies", "[window][lateness]") {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  const LatenessPolicy lax{.max_lateness_us = kMax, .max_future_us = kMax};
  const TimestampUs end = ts("9999-12-31T23:59:59.999999Z");
  CHECK(judge_time(end, std::nullopt, end, lax) == TimeVerdict::kOnTime);
  CHECK(judge_time(0, end, end, lax) == TimeVerdict::kOnTime);
  CHECK(judge_time(kMax, kMax, kMax, lax) == TimeVerdict::kOnTime);
}

TEST_CASE("Verdict names", "[window][lateness]") {
  CHECK(to_string(TimeVerdict::kOnTime) == "on_time");
  CHECK(to_string(TimeVerdict::kLate) == "late");
  CHECK(to_string(TimeVerdict::kFuture) == "future");
}

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
  for (const auto& e : handful()) d.fold(e);
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
  d.fold(sale);
  d.fold(ret);
  // The money cancels; the activity does not.
  REQUIRE(d.hourly().size() == 1);
  CHECK(describe(d.hourly().begin()->second) == "events=2 units=0 revenue=0 discount=0 returns=1");
  CHECK(d.products().at(169008).units == 0);
  CHECK(d.products().at(169008).revenue == Amount());
}

namespace {

std::vector<StoreEvent> generated(std::size_t n) {
  millrace::core::GeneratorOptions options;
  options.seed = 7;
  options.base_ts = ts("2024-03-01T06:00:00Z");
  options.time_spread_us = 3 * kDayUs;
  millrace::core::EventGenerator generator(options);
  std::vector<StoreEvent> events;
  while (events.size() < n) {
    auto m = generator.next();
    if (m.event) events.push_back(std::move(*m.event));
  }
  return events;
}

Deltas fold_all(const std::vector<StoreEvent>& events) {
  Deltas d;
  for (const auto& e : events) d.fold(e);
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

TEST_CASE("the future is judged against the record's Kafka timestamp, else the database's clock") {
  using namespace millrace::core;
  const TimestampUs db_now = 1'700'000'000'000'000;
  CHECK(future_reference(1'700'000'123'456, db_now) == 1'700'000'123'456'000);
  CHECK(future_reference(std::nullopt, db_now) == db_now);
  CHECK(future_reference(-1, db_now) == db_now);
  // A current event sent now is on time whatever the consumer's clock says:
  // the reference is the record's own time.
  LatenessPolicy policy;
  const TimestampUs sent = 1'700'000'000'000'000;
  CHECK(judge_time(sent + 60'000'000, std::nullopt, future_reference(sent / 1000, 0), policy) ==
        TimeVerdict::kOnTime);
  CHECK(judge_time(sent + 2 * kHourUs, std::nullopt, future_reference(sent / 1000, 0), policy) ==
        TimeVerdict::kFuture);
}
