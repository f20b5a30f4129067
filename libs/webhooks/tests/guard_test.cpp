#include "millrace/webhooks/guard.hpp"

#include <catch2/catch.hpp>

using namespace millrace::webhooks;
using Catch::Matchers::Contains;

TEST_CASE("loopback, private, link-local and other non-public addresses are named") {
  for (const char* a : {"127.0.0.1",
                        "127.255.0.9",
                        "10.0.0.1",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "169.254.169.254",
                        "100.64.0.1",
                        "0.0.0.0",
                        "224.0.0.1",
                        "255.255.255.255",
                        "198.18.0.1",
                        "::1",
                        "::",
                        "fe80::1",
                        "fc00::1",
                        "fd12:3456::1",
                        "ff02::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.1.2.3",
                        "64:ff9b::a00:1",
                        "::7f00:1"}) {
    INFO(a);
    CHECK(non_public_range(std::string(a)).has_value());
  }
  CHECK_THAT(*non_public_range(std::string("169.254.169.254")), Contains("metadata"));
  CHECK_THAT(*non_public_range(std::string("::ffff:127.0.0.1")), Contains("loopback"));
}

TEST_CASE("public addresses pass") {
  for (const char* a :
       {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1",
        "2606:4700:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    INFO(a);
    CHECK_FALSE(non_public_range(std::string(a)).has_value());
  }
  CHECK_THROWS_AS(non_public_range(std::string("example.com")), std::invalid_argument);
}

TEST_CASE("endpoint URLs are http or https, with a host and no credentials") {
  const auto u = parse_endpoint_url("https://hooks.example.com:8443/in?x=1");
  CHECK(u.scheme == "https");
  CHECK(u.host == "hooks.example.com");
  CHECK(parse_endpoint_url("http://[::1]:8080/").host == "::1");
  CHECK_THROWS_WITH(parse_endpoint_url("ftp://example.com/"), Contains("http:// or https://"));
  CHECK_THROWS_WITH(parse_endpoint_url("https://user:pw@example.com/"), Contains("password"));
  CHECK_THROWS_WITH(parse_endpoint_url("not a url"), Contains("not a URL"));
}

TEST_CASE("registration refuses a private address unless allowed") {
  CHECK_THROWS_WITH(check_endpoint_url("http://127.0.0.1:9/hook", false),
                    Contains("127.0.0.0/8") && Contains("MILLRACE_WEBHOOKS_ALLOW_PRIVATE"));
  CHECK_THROWS_WITH(check_endpoint_url("http://localhost:9/hook", false), Contains("loopback"));
  CHECK_NOTHROW(check_endpoint_url("http://127.0.0.1:9/hook", true));
  CHECK_THROWS_WITH(check_endpoint_url("http://no-such-host.invalid/", true),
                    Contains("does not resolve"));
}
