#include "millrace/core/base64.hpp"

#include <catch2/catch.hpp>

using millrace::core::base64;
using millrace::core::unbase64;

TEST_CASE("base64 as RFC 4648 writes it, and back", "[base64]") {
  // RFC 4648 section 10's test vectors.
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foob") == "Zm9vYg==");
  CHECK(base64("fooba") == "Zm9vYmE=");
  CHECK(base64("foobar") == "Zm9vYmFy");
  CHECK(base64(std::string("\x00\xff\x10", 3)) == "AP8Q");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::string back;
  REQUIRE(unbase64(base64(all), back));
  CHECK(back == all);
  REQUIRE(unbase64("Zm9vYg==", back));
  CHECK(back == "foob");
}

TEST_CASE("unbase64 refuses what is not standard, padded base64", "[base64]") {
  std::string out;
  CHECK_FALSE(unbase64("Zm9", out));       // length
  CHECK_FALSE(unbase64("Zm9v!A==", out));  // alphabet
  CHECK_FALSE(unbase64("Zg==Zg==", out));  // padding inside
  CHECK_FALSE(unbase64("Z===", out));
  CHECK_FALSE(unbase64("Zm-_", out));  // the URL alphabet
}
