#include "millrace/runtime/slow_wait.hpp"

#include <catch2/catch.hpp>

using millrace::runtime::SlowWait;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("SlowWait: said once it has lasted its first bound, then once every period",
          "[slow-wait]") {
  SlowWait wait(seconds(5), seconds(60));
  CHECK_FALSE(wait.due(milliseconds(4999)));
  const auto first = wait.due(milliseconds(5300));
  REQUIRE(first);
  CHECK(first->count() == 5);
  CHECK_FALSE(wait.due(seconds(6)));
  CHECK_FALSE(wait.due(milliseconds(65299)));
  const auto second = wait.due(seconds(70));  // a tick late: the next is 60 s after it
  REQUIRE(second);
  CHECK(second->count() == 70);
  CHECK_FALSE(wait.due(seconds(129)));
  CHECK(wait.due(seconds(130)));
}

TEST_CASE("SlowWait: with no first bound, said at once", "[slow-wait]") {
  SlowWait wait(seconds(0), seconds(60));
  CHECK(wait.due(seconds(0)));
  CHECK_FALSE(wait.due(seconds(1)));
}
