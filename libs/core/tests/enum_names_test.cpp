#include "millrace/core/enum_names.hpp"

#include <catch2/catch.hpp>
#include <cstdint>

namespace {

enum class Colour : std::uint8_t { kRed, kGreen, kBlue };

constexpr millrace::core::EnumNames<Colour, 3> kColours({
    {Colour::kRed, "red"},
    {Colour::kGreen, "green"},
    {Colour::kBlue, "blue"},
});

}  // namespace

TEST_CASE("an enum's names read both ways", "[enum-names]") {
  CHECK(kColours.name(Colour::kRed) == "red");
  CHECK(kColours.name(Colour::kBlue) == "blue");
  CHECK(kColours.parse("green") == Colour::kGreen);
  CHECK(kColours.parse("blue") == Colour::kBlue);
  // Names are codes, compared exactly.
  CHECK_FALSE(kColours.parse("Green").has_value());
  CHECK_FALSE(kColours.parse("").has_value());
  // Both ways are usable at compile time.
  static_assert(kColours.name(Colour::kGreen) == "green");
  static_assert(kColours.parse("red") == Colour::kRed);
}

TEST_CASE("a value the enum does not name reads as unknown", "[enum-names]") {
  CHECK(kColours.name(static_cast<Colour>(3)) == "unknown");
  CHECK(kColours.name(static_cast<Colour>(255)) == "unknown");
}
