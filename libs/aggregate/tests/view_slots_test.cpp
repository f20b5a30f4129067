// A declared view's slots (view_slots.cpp): every key folded is found
// again, as the table grows, whatever its hash; keys whose texts join
// alike, or that share a hash, stay apart.

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

// Adds a row to the key (`slot`, `groups`) under `hash`, or the key's own.
void add_row(ViewSlots& slots, std::int64_t slot, const std::vector<std::string_view>& groups,
             std::uint64_t hash) {
  ++slots.find_or_add(slot, groups, hash).rows;
}
void add_row(ViewSlots& slots, std::int64_t slot, const std::vector<std::string_view>& groups) {
  add_row(slots, slot, groups, aggregate::detail::view_key_hash(slot, groups));
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

TEST_CASE("keys whose texts join alike or share a hash are kept apart", "[aggregate][views]") {
  ViewSlots slots;
  add_row(slots, 0, {"ab", "c"});
  add_row(slots, 0, {"a", "bc"});
  add_row(slots, 0, {"abc", ""});
  add_row(slots, 3'600'000'000, {"ab", "c"});
  CHECK(slots.size() == 4);
  // One hash for every key: only the keys' comparison tells them apart.
  ViewSlots colliding;
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < 40; ++i) add_row(colliding, i % 2, {std::to_string(i / 2)}, 42);
  }
  REQUIRE(colliding.size() == 40);
  for (const auto& [key, sums] : colliding) CHECK(sums.rows == 2);
  const std::vector<std::string_view> nineteen{"19"};
  CHECK(colliding.find_or_add(1, nineteen, 42).rows == 2);
  CHECK(colliding.size() == 40);
}
