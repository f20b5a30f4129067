#include "millrace/core/exact_decimal.hpp"

#include <catch2/catch.hpp>
#include <string>

using millrace::core::ExactDecimal;

namespace {

ExactDecimal d(std::string_view literal) {
  INFO("literal: " << literal);
  const auto parsed = ExactDecimal::parse(literal);
  REQUIRE(parsed.has_value());
  return *parsed;
}

}  // namespace

TEST_CASE("ExactDecimal keeps the significant digits and their power of ten", "[decimal]") {
  CHECK(d("0") == ExactDecimal{});
  CHECK(d("-0") == ExactDecimal{});
  CHECK(d("0.000e5") == ExactDecimal{});
  CHECK(d("1.50") == ExactDecimal{false, "15", -1});
  CHECK(d("-1200") == ExactDecimal{true, "12", 2});
  CHECK(d("0.001") == ExactDecimal{false, "1", -3});
  CHECK(d("12.5e3") == ExactDecimal{false, "125", 2});
  CHECK(d("1E+40") == ExactDecimal{false, "1", 40});
  CHECK(d("123456789012345678901234567890") ==
        ExactDecimal{false, "12345678901234567890123456789", 1});
}

TEST_CASE("ExactDecimal reads JSON's number grammar and nothing else", "[decimal]") {
  for (const char* bad : {"", "+1", ".5", "5.", "01", "1e", "1e+", "-", "NaN", "1 ", "0x10"}) {
    INFO("literal: \"" << bad << "\"");
    CHECK_FALSE(ExactDecimal::parse(bad).has_value());
  }
}

TEST_CASE("ExactDecimal compares as numbers, not as text or doubles", "[decimal]") {
  CHECK(d("0.1") == d("0.10"));
  CHECK(d("1e2") == d("100"));
  CHECK(d("0.1") < d("0.2"));
  CHECK(d("-0.2") < d("-0.1"));
  CHECK(d("-1") < d("0"));
  CHECK(d("0") < d("1e-400"));
  CHECK(d("99") < d("100"));
  CHECK(d("1e40") > d("9.99e39"));
  CHECK(d("9007199254740993") > d("9007199254740992"));  // past a double's 53 bits
  CHECK((d("-0") <=> d("0")) == std::strong_ordering::equal);
}

TEST_CASE("ExactDecimal writes plain digits near one and exponents far from it", "[decimal]") {
  CHECK(d("0").to_json() == "0");
  CHECK(d("-1.50").to_json() == "-1.5");
  CHECK(d("1200").to_json() == "1200");
  CHECK(d("0.000001").to_json() == "0.000001");
  CHECK(d("1e-7").to_json() == "1e-7");
  CHECK(d("1e20").to_json() == "100000000000000000000");
  CHECK(d("1.5e21").to_json() == "1.5e21");
  CHECK(d("-12.5e-9").to_json() == "-1.25e-8");
  for (const char* text : {"0.1", "-3", "123.456", "1e-7", "1.5e40"}) {
    CHECK(ExactDecimal::parse(d(text).to_json()) == d(text));
  }
}
