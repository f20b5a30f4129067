#include "millrace/pg/xid_snapshot.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using millrace::pg::XidSnapshot;

TEST_CASE("a snapshot saw what committed before it, modulo 2^32", "[xid-snapshot]") {
  const auto s = XidSnapshot::parse("100:110:103,105");
  CHECK(s.saw(99));
  CHECK(s.saw(101));
  CHECK(s.saw(104));
  CHECK_FALSE(s.saw(103));
  CHECK_FALSE(s.saw(105));
  CHECK_FALSE(s.saw(110));
  CHECK_FALSE(s.saw(2000));
  // xid8 values: the epoch is dropped (the low 32 bits are what pgoutput
  // sends), and comparisons wrap as PostgreSQL's do.
  const auto w = XidSnapshot::parse("8589934586:8589934597:8589934591");
  CHECK(w.xmin == 4294967290U);
  CHECK(w.xmax == 5U);
  CHECK(w.in_progress == std::vector<std::uint32_t>{4294967295U});
  CHECK(w.saw(4294967291U));
  CHECK_FALSE(w.saw(4294967295U));
  CHECK(w.saw(3));
  CHECK_FALSE(w.saw(6));
  const auto next_epoch = XidSnapshot::parse("4294967395:4294967405:");  // 2^32 + 99 .. + 109
  CHECK(next_epoch.saw(98));
  CHECK_FALSE(next_epoch.saw(109));
  const auto around = XidSnapshot::parse("4294967290:4294967300:");  // xmax past the wrap
  CHECK(around.saw(4294967295U));
  CHECK(around.saw(2));
  CHECK_FALSE(around.saw(4));
  CHECK(XidSnapshot::parse("7:7:").in_progress.empty());
}

TEST_CASE("a snapshot's text that is not one is refused, naming it", "[xid-snapshot]") {
  for (const char* text : {"7:7", "1:2", "7:x:", "a:2:", "1:2:x", "", "::", "1:2:3,y"}) {
    INFO(text);
    CHECK_THROWS_AS(XidSnapshot::parse(text), std::invalid_argument);
  }
  CHECK_THROWS_WITH(XidSnapshot::parse("1:2:x"), Catch::Contains("\"x\""));
}
