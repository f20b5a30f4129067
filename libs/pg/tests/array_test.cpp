#include "millrace/pg/array.hpp"

#include <catch2/catch.hpp>

using millrace::pg::ArrayLiteral;

TEST_CASE("an array literal quotes every text element and escapes quote and backslash") {
  ArrayLiteral a;
  a.add("Pens").add("Note,books \"A\"").add("back\\slash").add("{}").add("NULL").add("");
  CHECK(a.size() == 6);
  CHECK(a.take() == R"({"Pens","Note,books \"A\"","back\\slash","{}","NULL",""})");
}

TEST_CASE("an array literal writes integers bare and starts over after take") {
  ArrayLiteral a;
  CHECK(a.take() == "{}");
  a.add(std::int64_t{-5}).add(std::int64_t{9'223'372'036'854'775'807});
  CHECK(a.take() == "{-5,9223372036854775807}");
  CHECK(a.size() == 0);
  a.add("x");
  CHECK(a.take() == R"({"x"})");
}

TEST_CASE("an array literal writes a null element bare, and a quoted NULL stays text") {
  millrace::pg::ArrayLiteral a;
  a.add(std::int64_t{1}).add_null().add("NULL");
  REQUIRE(a.size() == 3);
  REQUIRE(a.take() == "{1,NULL,\"NULL\"}");
}
