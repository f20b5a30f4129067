#include "read_marks.hpp"

#include <catch2/catch.hpp>

using namespace millrace::webhooks::detail;

TEST_CASE("a partition is at its end only where this member read it that far") {
  // Partition 1 is empty but not this member's: it vouches for nothing there.
  const auto marks = marks_for({{0, 10}, {1, 0}, {2, 5}, {3, 7}}, {{0, 10}, {2, 4}, {3, 9}},
                               {{2, "0000000001A2B3C4-00000002"}});
  CHECK(marks ==
        std::vector<Mark>{
            {0, "", true}, {1, "", false}, {2, "0000000001A2B3C4-00000002", false}, {3, "", true}});
}
