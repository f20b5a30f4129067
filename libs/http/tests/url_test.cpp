// URLs read by libcurl's parser, the one the client requests with.
#include "millrace/http/url.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using millrace::http::parse_url;

TEST_CASE("a URL's scheme, host and credentials as the client reads them", "[http][url]") {
  const auto plain = parse_url("HTTPS://Receiver.Example:8443/hooks?x=1");
  CHECK(plain.scheme == "https");
  CHECK(plain.host == "Receiver.Example");
  CHECK_FALSE(plain.credentials);
  CHECK(parse_url("http://[::1]:8080/").host == "[::1]");
  CHECK(parse_url("http://user@host/").credentials);
  CHECK(parse_url("http://:secret@host/").credentials);
  CHECK(parse_url("ftp://host/x").scheme == "ftp");
}

TEST_CASE("what does not parse is refused with libcurl's words", "[http][url]") {
  CHECK_THROWS_WITH(parse_url("http://exa mple.org/"),
                    Catch::StartsWith("\"http://exa mple.org/\" is not a URL: "));
  CHECK_THROWS_AS(parse_url(""), std::invalid_argument);
}
