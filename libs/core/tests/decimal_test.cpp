#include "millrace/core/decimal.hpp"

#include <catch2/catch.hpp>
#include <limits>

using millrace::core::Decimal;

namespace {

std::int64_t units(std::string_view literal) {
  const auto d = Decimal::parse(literal);
  INFO("literal: " << literal);
  REQUIRE(d.has_value());
  return d->units();
}

}  // namespace

TEST_CASE("Decimal parses integers, fractions and exponents exactly", "[decimal]") {
  CHECK(units("0") == 0);
  CHECK(units("-0") == 0);
  CHECK(units("45.85") == 45'850'000);
  CHECK(units("10.3") == 10'300'000);
  CHECK(units("-3") == -3'000'000);
  CHECK(units("1e2") == 100'000'000);
  CHECK(units("1E+2") == 100'000'000);
  CHECK(units("2.5E-1") == 250'000);
  CHECK(units("0.000001") == 1);
  CHECK(units("1e-6") == 1);
  CHECK(units("123456e-6") == 123'456);
  CHECK(units("0.1234560000") == 123'456);  // trailing zeros are not significant
  CHECK(units("1000000000") == 1'000'000'000'000'000);
  CHECK(units("0e999999999999") == 0);
  CHECK(units("0.0") == 0);
  CHECK(units("100.000000") == 100'000'000);
  CHECK(units("12000000e-7") == 1'200'000);
}

TEST_CASE("Decimal parse covers the int64 range exactly", "[decimal]") {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  CHECK(units("9223372036854.775807") == kMax);
  CHECK(units("-9223372036854.775808") == kMin);
  CHECK_FALSE(Decimal::parse("9223372036854.775808"));
  CHECK_FALSE(Decimal::parse("-9223372036854.775809"));
  CHECK_FALSE(Decimal::parse("1e13"));
  CHECK(units("1e12") == 1'000'000'000'000'000'000);
  CHECK_FALSE(Decimal::parse("1e400"));
  CHECK_FALSE(Decimal::parse("99999999999999999999999999"));
}

TEST_CASE("Decimal parse rejects non-numbers and excess precision", "[decimal]") {
  for (const char* bad :
       {"",      "+1", "NaN", "nan",       "Infinity",  "-",    ".5",           "5.",  "01",
        "-01",   "1e", "1e+", "1.2.3",     " 1",        "1 ",   "0x10",         "1,5", "--1",
        "1e2.5", "e5", "١",   "0.0000001", "1.1234567", "1e-7", "123456789e-15"}) {
    INFO("literal: \"" << bad << "\"");
    CHECK_FALSE(Decimal::parse(bad).has_value());
  }
  // Seven fractional digits are fine when the seventh is a zero.
  CHECK(units("1.1234560") == 1'123'456);
}

TEST_CASE("Decimal to_string is the shortest exact text", "[decimal]") {
  CHECK(Decimal::from_units(45'850'000).to_string() == "45.85");
  CHECK(Decimal::from_integer(20).to_string() == "20");
  CHECK(Decimal::from_units(-500'000).to_string() == "-0.5");
  CHECK(Decimal::from_units(0).to_string() == "0");
  CHECK(Decimal::from_units(1).to_string() == "0.000001");
  CHECK(Decimal::from_units(-1).to_string() == "-0.000001");
  CHECK(Decimal::from_units(10'000'010).to_string() == "10.00001");
  CHECK(Decimal::from_units(std::numeric_limits<std::int64_t>::max()).to_string() ==
        "9223372036854.775807");
  CHECK(Decimal::from_units(std::numeric_limits<std::int64_t>::min()).to_string() ==
        "-9223372036854.775808");
}

TEST_CASE("Decimal round trips through text", "[decimal]") {
  for (std::int64_t u : {0LL, 1LL, -1LL, 999'999LL, 1'000'000LL, 45'850'000LL, -123'456'789LL,
                         100'000'000LL, 1'000'000'000'000'000LL, 7'000'001LL}) {
    const Decimal d = Decimal::from_units(u);
    const auto back = Decimal::parse(d.to_string());
    REQUIRE(back);
    CHECK(*back == d);
  }
  for (const char* text : {"45.85", "0.5", "-0.5", "20", "1000000000", "0.000001", "99.99"}) {
    CHECK(Decimal::parse(text)->to_string() == text);
  }
}

TEST_CASE("Decimal compares by value", "[decimal]") {
  CHECK(*Decimal::parse("20") == Decimal::from_integer(20));
  CHECK(*Decimal::parse("20.000001") > Decimal::from_integer(20));
  CHECK(*Decimal::parse("-1") < Decimal::from_integer(0));
  CHECK(*Decimal::parse("2e1") == *Decimal::parse("20.0"));
  CHECK(Decimal::from_units(45'850'000).to_double() == Approx(45.85));
}
