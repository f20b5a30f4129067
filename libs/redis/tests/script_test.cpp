#include <catch2/catch.hpp>

#include "millrace/redis/client.hpp"

using millrace::redis::Script;

// The expected values are sha1sum's: printf %s 'return 1' | sha1sum
TEST_CASE("a script is named by the SHA1 of its text, as Redis names it") {
  const Script script("return 1");
  CHECK(script.text() == "return 1");
  CHECK(script.sha1() == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  CHECK(Script("").sha1() == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(Script("return 2").sha1() != script.sha1());
}
