#include "wakeup.hpp"

#include <catch2/catch.hpp>

using namespace millrace::webhooks::detail;

TEST_CASE("a committed batch wakes the workers connected, and nothing once they went") {
  LocalWake local;
  int woken = 0;
  local.committed();  // before the workers start: nobody to wake
  local.connect([&] { ++woken; });
  local.committed();
  local.committed();
  CHECK(woken == 2);
  local.connect(nullptr);  // the workers stopped before the consumer's last batch
  local.committed();
  CHECK(woken == 2);
}

TEST_CASE("the listener passes over its own consumer's notifications and other schemas") {
  LocalWake local;
  CHECK(wakes("shop", 4242, "shop", local));  // no consumer session yet
  local.set_session(4242);
  CHECK_FALSE(wakes("shop", 4242, "shop", local));  // woken in memory already
  CHECK(wakes("shop", 4243, "shop", local));        // another replica's
  CHECK_FALSE(wakes("other", 4243, "shop", local));
  local.set_session(77);  // the consumer reconnected
  CHECK(wakes("shop", 4242, "shop", local));
  CHECK_FALSE(wakes("shop", 77, "shop", local));
}
