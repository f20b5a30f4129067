#include "millrace/core/timestamp.hpp"

#include <catch2/catch.hpp>

using millrace::core::format_timestamp;
using millrace::core::parse_timestamp;
using millrace::core::TimestampUs;

namespace {

constexpr TimestampUs kSecond = 1'000'000;
constexpr TimestampUs kMinute = 60 * kSecond;
constexpr TimestampUs kHour = 60 * kMinute;

TimestampUs ts(std::string_view text) {
  INFO("text: " << text);
  const auto parsed = parse_timestamp(text);
  REQUIRE(parsed.has_value());
  return *parsed;
}

}  // namespace

TEST_CASE("parse_timestamp reads the contract's sample", "[timestamp]") {
  CHECK(ts("2023-05-19T14:36:09.985501") == 1'684'506'969'985'501);
  CHECK(ts("1970-01-01T00:00:00") == 0);
  CHECK(ts("1970-01-01T00:00:00.000001") == 1);
  CHECK(ts("2000-03-01T00:00:00") == 951'868'800 * kSecond);
  CHECK(ts("9999-12-31T23:59:59.999999") == 253'402'300'799'999'999);
  // The range is judged on the instant: these are its two ends, written with offsets.
  CHECK(ts("1970-01-01T01:00:00+01:00") == 0);
  CHECK(ts("9999-12-31T22:59:59.999999-01:00") == 253'402'300'799'999'999);
}

TEST_CASE("parse_timestamp: Z, no offset and a space separator are the same instant",
          "[timestamp]") {
  const TimestampUs expected = ts("2023-05-19T14:36:09.985501");
  CHECK(ts("2023-05-19T14:36:09.985501Z") == expected);
  CHECK(ts("2023-05-19T14:36:09.985501z") == expected);
  CHECK(ts("2023-05-19 14:36:09.985501") == expected);
  CHECK(ts("2023-05-19t14:36:09.985501+00:00") == expected);
  CHECK(ts("2023-05-19T14:36:09.985501-00:00") == expected);
}

TEST_CASE("parse_timestamp applies offsets", "[timestamp]") {
  const TimestampUs utc = ts("2023-05-19T14:36:09Z");
  CHECK(ts("2023-05-19T14:36:09+05:30") == utc - 5 * kHour - 30 * kMinute);
  CHECK(ts("2023-05-19T14:36:09-08:00") == utc + 8 * kHour);
  CHECK(ts("2023-05-19T14:36:09+05:30") == ts("2023-05-19T09:06:09Z"));
  CHECK(ts("2023-05-19T14:36:09-08:00") == ts("2023-05-19T22:36:09Z"));
  // An offset may move the instant across a date boundary.
  CHECK(ts("2024-03-01T01:00:00+02:00") == ts("2024-02-29T23:00:00Z"));
  CHECK(ts("2023-12-31T20:00:00-05:00") == ts("2024-01-01T01:00:00Z"));
}

TEST_CASE("parse_timestamp fractions: 1..9 digits, rounded to microseconds as PostgreSQL does",
          "[timestamp]") {
  const TimestampUs base = ts("2023-05-19T14:36:09");
  CHECK(ts("2023-05-19T14:36:09.9") == base + 900'000);
  CHECK(ts("2023-05-19T14:36:09.98") == base + 980'000);
  CHECK(ts("2023-05-19T14:36:09.985") == base + 985'000);
  CHECK(ts("2023-05-19T14:36:09.985501") == base + 985'501);
  CHECK(ts("2023-05-19T14:36:09.9855014") == base + 985'501);
  CHECK(ts("2023-05-19T14:36:09.9855016") == base + 985'502);
  CHECK(ts("2023-05-19T14:36:09.985501999") == base + 985'502);
  // Ties go to even, on the double nearest the fraction (PostgreSQL's rint).
  CHECK(ts("2023-05-19T14:36:09.0000005") == base);
  CHECK(ts("2023-05-19T14:36:09.0000015") == base + 2);
  // Rounding carries into the next second, minute, day.
  CHECK(ts("2023-05-19T14:36:09.999999999Z") == base + 1'000'000);
  CHECK(ts("2023-05-19T23:59:59.9999999Z") == ts("2023-05-20T00:00:00Z"));
  // ... and out of the range: the last microsecond of 9999 rounds into 10000.
  CHECK_FALSE(parse_timestamp("9999-12-31T23:59:59.9999999Z"));
  CHECK_FALSE(parse_timestamp("2023-05-19T14:36:09.9855019999"));
  CHECK_FALSE(parse_timestamp("2023-05-19T14:36:09."));
  CHECK_FALSE(parse_timestamp("2023-05-19T14:36:09.Z"));
}

TEST_CASE("parse_timestamp calendar: leap years and month lengths", "[timestamp]") {
  CHECK(ts("2024-02-29T00:00:00") == 1'709'164'800 * kSecond);
  CHECK(parse_timestamp("2000-02-29T12:00:00").has_value());  // divisible by 400
  CHECK_FALSE(parse_timestamp("2023-02-29T00:00:00"));
  CHECK_FALSE(parse_timestamp("2100-02-29T00:00:00"));  // divisible by 100, not 400
  CHECK_FALSE(parse_timestamp("2023-02-30T00:00:00"));
  CHECK_FALSE(parse_timestamp("2023-04-31T00:00:00"));
  CHECK(parse_timestamp("2023-01-31T00:00:00"));
  CHECK(parse_timestamp("2023-12-31T23:59:59"));
  CHECK(ts("2024-03-01T00:00:00") - ts("2024-02-28T00:00:00") == 2 * 24 * kHour);
  CHECK(ts("2023-03-01T00:00:00") - ts("2023-02-28T00:00:00") == 24 * kHour);
}

TEST_CASE("parse_timestamp rejects malformed and out-of-range text", "[timestamp]") {
  for (const char* bad : {
           "",
           "2023-05-19",
           "2023-05-19T",
           "2023-05-19T14:36",
           "2023-5-19T14:36:09",
           "2023-05-19T24:00:00",
           "2023-05-19T23:60:00",
           "2023-05-19T23:59:60",
           "2023-00-10T00:00:00",
           "2023-13-10T00:00:00",
           "2023-05-00T00:00:00",
           "1969-12-31T23:59:59",
           "0000-01-01T00:00:00",
           "10000-01-01T00:00:00",
           // In range as written, out of it once the offset is applied.
           "1970-01-01T00:30:00+01:00",
           "9999-12-31T23:59:59.999999-01:00",
           "2023-05-19X14:36:09",
           "2023/05/19T14:36:09",
           "2023-05-19T14:36:09+0530",
           "2023-05-19T14:36:09+05",
           "2023-05-19T14:36:09+24:00",
           "2023-05-19T14:36:09+05:60",
           "2023-05-19T14:36:09ZZ",
           "2023-05-19T14:36:09 ",
           " 2023-05-19T14:36:09",
           "2023-05-19T14:36:09.123abc",
           "2023-05-19T14:36:09+05:30Z",
           "+2023-05-19T14:36:09",
           "2023-05-19T14:36:09.-1",
       }) {
    INFO("text: \"" << bad << "\"");
    CHECK_FALSE(parse_timestamp(bad).has_value());
  }
}

TEST_CASE("format_timestamp writes six fraction digits and Z", "[timestamp]") {
  CHECK(format_timestamp(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_timestamp(1) == "1970-01-01T00:00:00.000001Z");
  CHECK(format_timestamp(1'684'506'969'985'501) == "2023-05-19T14:36:09.985501Z");
  CHECK(format_timestamp(1'709'164'800 * kSecond) == "2024-02-29T00:00:00.000000Z");
  CHECK(format_timestamp(253'402'300'799'999'999) == "9999-12-31T23:59:59.999999Z");
  // Before the epoch the arithmetic still floors correctly.
  CHECK(format_timestamp(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_timestamp(-86'400 * kSecond) == "1969-12-31T00:00:00.000000Z");
}

TEST_CASE("format_timestamp and parse_timestamp round trip", "[timestamp]") {
  for (TimestampUs t : {TimestampUs{0}, TimestampUs{1}, TimestampUs{951'868'799'999'999},
                        TimestampUs{1'684'506'969'985'501}, TimestampUs{1'709'251'199'000'000},
                        TimestampUs{253'402'300'799'999'999}}) {
    CHECK(ts(format_timestamp(t)) == t);
  }
  // Every day boundary across four years, including a leap day.
  for (TimestampUs day = ts("2023-01-01T00:00:00"); day < ts("2027-01-01T00:00:00");
       day += 24 * kHour + 7 * kSecond) {
    CHECK(ts(format_timestamp(day)) == day);
  }
}
