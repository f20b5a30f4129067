// A declared view's slots (view_slots.cpp): every key folded is found
// again as the table grows; keys whose texts join alike stay apart.

#include "view_slots.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace millrace;
using aggregate::detail::ViewKey;
using aggregate::detail::ViewSlots;

namespace {

void add_row(ViewSlots& slots, std::int64_t slot, const std::vector<std::string_view>& groups) {
  ++slots.find_or_add(slot, groups).rows;
}

}  // namespace

TEST_CASE("a view's slots find every key folded as the table grows", "[aggregate][views]") {
  ViewSlots slots;
  constexpr int kKeys = 1000;
  for (int pass = 1; pass <= 3; ++pass) {
    for (int i = 0; i < kKeys; ++i) {
      const auto text = std::to_string(i);
      add_row(slots, i % 7, {text, "x"});
    }
    REQUIRE(slots.size() == kKeys);
  }
  for (int i = 0; i < kKeys; ++i) {
    CHECK(slots.at(ViewKey{i % 7, {std::to_string(i), "x"}}).rows == 3);
  }
  // In the order first folded.
  std::int64_t first = 0;
  for (const auto& [key, sums] : slots) {
    CHECK(key.groups[0] == std::to_string(first++));
    CHECK(sums.rows == 3);
  }
  CHECK_THROWS_AS(slots.at(ViewKey{1, {"0", "x"}}), std::out_of_range);
  CHECK_THROWS_AS(ViewSlots().at(ViewKey{0, {}}), std::out_of_range);
}

TEST_CASE("keys whose texts join alike are kept apart", "[aggregate][views]") {
  ViewSlots slots;
  add_row(slots, 0, {"ab", "c"});
  add_row(slots, 0, {"a", "bc"});
  add_row(slots, 0, {"abc", ""});
  add_row(slots, 3'600'000'000, {"ab", "c"});
  CHECK(slots.size() == 4);
  CHECK(slots.at(ViewKey{0, {"a", "bc"}}).rows == 1);
  CHECK(slots.at(ViewKey{3'600'000'000, {"ab", "c"}}).rows == 1);
  CHECK_THROWS_AS(slots.at(ViewKey{0, {"abc"}}), std::out_of_range);
}
