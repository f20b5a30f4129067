#include <catch2/catch.hpp>

#include "millrace/core/options.hpp"
#include "millrace/redis/client.hpp"

using millrace::core::UsageError;
using namespace millrace::redis;

TEST_CASE("redis URLs give host, port and database") {
  auto e = parse_url("redis://127.0.0.1:16379");
  CHECK(e.host == "127.0.0.1");
  CHECK(e.port == 16379);
  CHECK(e.db == 0);

  e = parse_url("redis://cache.internal:6380/3");
  CHECK(e.host == "cache.internal");
  CHECK(e.port == 6380);
  CHECK(e.db == 3);

  e = parse_url("redis://redis");
  CHECK(e.host == "redis");
  CHECK(e.port == 6379);
  CHECK(e.db == 0);

  e = parse_url("redis://redis/");
  CHECK(e.port == 6379);
  CHECK(e.db == 0);

  e = parse_url("redis://[::1]:7000/1");
  CHECK(e.host == "::1");
  CHECK(e.port == 7000);
  CHECK(e.db == 1);
}

TEST_CASE("to_url writes what parse_url reads") {
  for (const char* url :
       {"redis://127.0.0.1:16379/0", "redis://cache:6380/3", "redis://[::1]:7000/1"}) {
    CHECK(to_url(parse_url(url)) == url);
  }
}

TEST_CASE("malformed redis URLs are refused, naming the problem") {
  const auto refused = [](const char* url, const char* problem) {
    INFO(url);
    CHECK_THROWS_WITH(parse_url(url), Catch::Contains(problem) && Catch::Contains(url));
    CHECK_THROWS_AS(parse_url(url), UsageError);
  };
  refused("", "does not start with redis://");
  refused("127.0.0.1:6379", "does not start with redis://");
  refused("http://127.0.0.1:6379", "does not start with redis://");
  refused("rediss://127.0.0.1:6379", "TLS");
  refused("redis://", "host is missing");
  refused("redis://:6379", "host is missing");
  refused("redis://127.0.0.1:", "port must be a number");
  refused("redis://127.0.0.1:0", "port must be a number");
  refused("redis://127.0.0.1:65536", "port must be a number");
  refused("redis://127.0.0.1:63x9", "port must be a number");
  refused("redis://127.0.0.1:-1", "port must be a number");
  refused("redis://127.0.0.1:6379/x", "database must be a number");
  refused("redis://127.0.0.1:6379/-1", "database must be a number");
  refused("redis://127.0.0.1:6379/1/2", "database must be a number");
  refused("redis://127.0.0.1:6379/99999999999", "database must be a number");
  // The password is masked in the message.
  CHECK_THROWS_WITH(parse_url("redis://user:secret@127.0.0.1:6379"),
                    Catch::Contains("credentials are not supported") &&
                        Catch::Contains("redis://user:***@127.0.0.1:6379") &&
                        !Catch::Contains("secret"));
  refused("redis://127.0.0.1:6379/0?timeout=1", "query parameters are not supported");
  refused("redis://::1:6379", "IPv6 address goes in brackets");
  refused("redis://[::1:6379", "closing ']'");
  refused("redis://[::1]6379", "after the IPv6 address");
}
