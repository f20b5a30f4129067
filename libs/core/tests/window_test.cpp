// Windows in UTC, exact money, and the judgement of late and future events.
#include "millrace/core/window.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "millrace/reference/store_totals.hpp"
#include "window_support.hpp"

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
using namespace millrace::core::testing;

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
