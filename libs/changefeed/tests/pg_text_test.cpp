#include "pg_text.hpp"

#include <catch2/catch.hpp>

#include "millrace/core/base64.hpp"

using namespace millrace::changefeed::pgtext;

namespace {

std::string unscaled64(const std::string& text) {
  auto n = numeric(text);
  REQUIRE(n);
  return millrace::core::base64(unscaled_bytes(*n));
}

}  // namespace

TEST_CASE("dates are days since 1970, before it and before year 1 too", "[pgtext]") {
  CHECK(date_days("1970-01-01") == 0);
  CHECK(date_days("2024-06-01") == 19875);
  CHECK(date_days("1969-12-31") == -1);
  CHECK(date_days("2000-02-29") == 11016);
  // 44 BC is astronomical year -43.
  CHECK(date_days("0044-03-15 BC") == -735160);
  CHECK_FALSE(date_days("infinity"));
  CHECK_FALSE(date_days("2024-13-01"));
  CHECK_FALSE(date_days("2024-06-01x"));
}

TEST_CASE("times and timestamps to microseconds", "[pgtext]") {
  CHECK(time_us("06:34:00.123456") == 23640123456);
  CHECK(time_us("24:00:00") == 86400000000);
  CHECK(time_us("00:00:00.5") == 500000);
  CHECK(timestamp_us("2024-06-01 06:34:00.000001") == 1717223640000001);
  CHECK(timestamp_us("1900-01-01 00:00:00") == -2208988800000000);
  CHECK(timestamptz_us("2024-06-01 06:34:00.000001+00") == 1717223640000001);
  CHECK(timestamptz_us("2000-01-01 07:59:59.5+00") == timestamptz_us("1999-12-31 23:59:59.5-08"));
  CHECK(timestamptz_us("2024-06-01 12:04:00+05:30") == timestamptz_us("2024-06-01 06:34:00+00"));
  CHECK(timestamptz_us("1900-01-01 00:00:00+00:09:21") == -2208988800000000 - 561000000);
  CHECK(timetz_utc_us("06:34:00.5+02") == time_us("04:34:00.5"));
  CHECK(timetz_utc_us("23:00:00-02") == time_us("01:00:00"));
  CHECK_FALSE(timestamptz_us("2024-06-01 06:34:00"));
  CHECK_FALSE(timestamp_us("2024-06-01T06:34:00"));
}

TEST_CASE("intervals in PostgreSQL's own style", "[pgtext]") {
  auto i = interval("1 year 2 mons 3 days 04:05:06.789");
  REQUIRE(i);
  CHECK(i->years == 1);
  CHECK(i->months == 2);
  CHECK(i->days == 3);
  CHECK(i->hours == 4);
  CHECK(i->minutes == 5);
  CHECK(i->seconds == 6);
  CHECK(i->micros == 789000);
  i = interval("-1 days +02:00:00");
  REQUIRE(i);
  CHECK(i->days == -1);
  CHECK(i->hours == 2);
  i = interval("-00:00:01.5");
  REQUIRE(i);
  CHECK(i->seconds == -1);
  CHECK(i->micros == -500000);
  CHECK(interval("00:00:00"));
  CHECK_FALSE(interval("1 fortnight"));
  CHECK_FALSE(interval(""));
}

TEST_CASE("bytea's hex form and array literals", "[pgtext]") {
  CHECK(bytea("\\x00ff10") == std::string("\x00\xff\x10", 3));
  CHECK(bytea("\\x") == std::string());
  CHECK_FALSE(bytea("\\000"));
  const auto a = array(R"({"x","y z","q\"uote",NULL,plain})");
  REQUIRE(a);
  REQUIRE(a->size() == 5);
  CHECK((*a)[1] == "y z");
  CHECK((*a)[2] == "q\"uote");
  CHECK_FALSE((*a)[3]);
  CHECK((*a)[4] == "plain");
  CHECK(array("{}")->empty());
  CHECK_FALSE(array("{{1,2},{3,4}}"));
  CHECK_FALSE(array("{1,2"));
}

TEST_CASE("numerics of up to 18 digits get the same bytes as longer ones", "[pgtext]") {
  // Up to 18 digits the bytes come from a 64-bit integer, past them from
  // limbs: leading zeros take the same value past 18 digits.
  for (const std::string magnitude : {"0",
                                      "1",
                                      "127",
                                      "128",
                                      "255",
                                      "256",
                                      "32767",
                                      "32768",
                                      "8388607",
                                      "8388608",
                                      "2147483647",
                                      "2147483648",
                                      "549755813887",
                                      "549755813888",
                                      "36028797018963967",
                                      "36028797018963968",
                                      "72057594037927935",
                                      "72057594037927936",
                                      "999999999999999999",
                                      "123456789012345678"}) {
    for (const std::string sign : {"", "-"}) {
      const std::string padded = sign + std::string(20, '0') + magnitude;
      CHECK(unscaled64(sign + magnitude) == unscaled64(padded));
    }
  }
  CHECK(unscaled64("-0.00") == "AA==");
  CHECK(unscaled64("999999999999999999") == "DeC2s6dj//8=");
}

TEST_CASE("numeric's unscaled value as Java's BigInteger.toByteArray", "[pgtext]") {
  // Each as Debezium 3.6.1 wrote it for the same value.
  CHECK(unscaled64("12.340") == "MDQ=");
  CHECK(unscaled64("0") == "AA==");
  CHECK(unscaled64("128") == "AIA=");
  CHECK(unscaled64("-128") == "gA==");
  CHECK(unscaled64("-129") == "/38=");
  CHECK(unscaled64("-12345.6789") == "+KQy6w==");
  CHECK(unscaled64("1.234567890123456789") == "ESIQ9H3pgRU=");
  auto n = numeric("-12345.678900");
  REQUIRE(n);
  strip_trailing_zeros(*n);
  CHECK(n->scale == 4);
  n = numeric("100");
  strip_trailing_zeros(*n);
  CHECK(n->scale == 0);
  CHECK(n->digits == "100");
  n = numeric("0.000");
  strip_trailing_zeros(*n);
  CHECK(n->scale == 0);
  n = numeric("1.005");
  rescale(*n, 2);
  CHECK(n->digits == "101");
  n = numeric("9.995");
  rescale(*n, 2);
  CHECK(n->digits == "1000");
  CHECK_FALSE(numeric("NaN"));
  CHECK_FALSE(numeric("1e5"));
}
