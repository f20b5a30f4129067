// redis::Client against the stack's real Redis: commands, pipelines and
// scripts round trip; EVALSHA recovers from an emptied script cache; and a
// client rides out a server that stops, restarts and freezes, failing in
// between with retryable errors only.
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>

#include "harness.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/redis/client.hpp"

using namespace millrace;
using namespace millrace::testing;
using namespace std::chrono_literals;
using redis::Client;
using redis::Reply;
using redis::Script;

namespace {

Client stack_client(redis::ClientOptions options = {}) {
  const auto url = stack_env().redis_url;
  REQUIRE_FALSE(url.empty());
  return Client(redis::parse_url(url), options);
}

// The InfraError a call throws; fails the test if it throws none.
template <typename Call>
core::InfraError infra_error_of(Call call) {
  try {
    call();
  } catch (const core::InfraError& e) {
    return e;
  }
  FAIL("no core::InfraError thrown");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("redis: commands, pipelines and scripts round trip", "[redis]") {
  Client client = stack_client();
  CHECK_FALSE(client.connected());  // connects on first use
  const std::string key = unique_name("it_redis");
  const std::string binary("a\0b\r\nc", 6);

  CHECK(client.command({"SET", key, binary}) == Reply::status("OK"));
  CHECK(client.connected());
  CHECK(client.command({"GET", key}) == Reply::string(binary));
  CHECK(client.command({"STRLEN", key}).as_integer() == 6);
  // An error reply is a value, and the connection stays usable.
  const Reply wrong = client.command({"INCR", key});
  REQUIRE(wrong.is_error());
  CHECK_THAT(wrong.as_string(), Catch::StartsWith("ERR"));
  CHECK(client.command({"DEL", key}).as_integer() == 1);
  CHECK(client.command({"GET", key}).is_nil());

  // One round trip: every reply in order, an error among them included.
  const std::string list = key + ":list";
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < 500; ++i) commands.push_back({"RPUSH", list, std::to_string(i)});
  commands.push_back({"INCR", list});  // WRONGTYPE: a list
  commands.push_back({"LLEN", list});
  commands.push_back({"LRANGE", list, "0", "2"});
  const auto replies = client.pipeline(commands);
  REQUIRE(replies.size() == commands.size());
  for (int i = 0; i < 500; ++i) CHECK(replies[i] == Reply::integer(i + 1));
  CHECK_THAT(replies[500].as_string(), Catch::StartsWith("WRONGTYPE"));
  CHECK(replies[501] == Reply::integer(500));
  CHECK(replies[502] == Reply::array({Reply::string("0"), Reply::string("1"), Reply::string("2")}));
  CHECK(client.pipeline({}).empty());

  const Script add("return {redis.call('INCRBY', KEYS[1], ARGV[1]), ARGV[2], false}");
  const std::string counter = key + ":counter";
  CHECK(client.eval(add, {counter}, {"5", "x"}) ==
        Reply::array({Reply::integer(5), Reply::string("x"), Reply::nil()}));
  CHECK(client.eval(add, {counter}, {"2", "y"}).elements().front() == Reply::integer(7));

  // A script's own error is a bug: fatal, with Redis' message.
  const Script broken("return redis.call('NOSUCHCOMMAND')");
  const auto error = infra_error_of([&] { client.eval(broken, {}, {}); });
  CHECK(error.failure_class() == core::FailureClass::kFatal);
  CHECK_THAT(error.what(), Catch::Contains(broken.sha1()));
  // ...and the connection is still fine.
  CHECK(client.command({"DEL", list, counter}).as_integer() == 2);
}

TEST_CASE("redis: EVALSHA after SCRIPT FLUSH falls back to EVAL and caches the script", "[redis]") {
  Client client = stack_client();
  // A text no other run has: its SHA1 cannot be cached already.
  const Script echo("-- " + unique_name("it_redis_script") + "\nreturn ARGV[1]");
  CHECK(client.eval(echo, {}, {"first"}) == Reply::string("first"));
  CHECK(client.command({"SCRIPT", "EXISTS", echo.sha1()}) == Reply::array({Reply::integer(1)}));

  CHECK(client.command({"SCRIPT", "FLUSH"}) == Reply::status("OK"));
  CHECK(client.command({"SCRIPT", "EXISTS", echo.sha1()}) == Reply::array({Reply::integer(0)}));
  CHECK(client.eval(echo, {}, {"again"}) == Reply::string("again"));
  CHECK(client.command({"SCRIPT", "EXISTS", echo.sha1()}) == Reply::array({Reply::integer(1)}));
}

TEST_CASE("redis: a client rides out a Redis restart", "[redis]") {
  Client client = stack_client({.connect_timeout = 1000ms, .command_timeout = 2000ms});
  const std::string key = unique_name("it_redis_restart");
  const Script get("return redis.call('GET', KEYS[1])");
  REQUIRE(client.command({"SET", key, "before"}) == Reply::status("OK"));
  REQUIRE(client.eval(get, {key}, {}) == Reply::string("before"));
  const int pid_before = stack_server_pid("redis");
  REQUIRE(pid_before > 0);
  {
    StackGuard guard{"redis"};  // started again here even if a check fails
    REQUIRE(stack("down redis") == 0);
    REQUIRE(stack_server_pid("redis") < 0);

    // The connection the server closed...
    const auto closed = infra_error_of([&] { client.command({"GET", key}); });
    CHECK(closed.retryable());
    CHECK_FALSE(client.connected());
    // ...then no server to connect to, for commands, pipelines and scripts.
    const auto refused = infra_error_of([&] { client.command({"GET", key}); });
    CHECK(refused.retryable());
    CHECK_THAT(refused.what(), Catch::Contains("cannot connect"));
    CHECK(infra_error_of([&] { client.pipeline({{"GET", key}}); }).retryable());
    CHECK(infra_error_of([&] { client.eval(get, {key}, {}); }).retryable());

    REQUIRE(stack("up redis") == 0);
  }
  REQUIRE(stack_server_pid("redis") > 0);
  CHECK(stack_server_pid("redis") != pid_before);
  // A new, empty server (the stack keeps nothing on disk), reached by the
  // same client, whose script cache is empty too.
  CHECK(client.command({"GET", key}).is_nil());
  CHECK(client.connected());
  CHECK(client.command({"SET", key, "after"}) == Reply::status("OK"));
  CHECK(client.eval(get, {key}, {}) == Reply::string("after"));
  CHECK(client.command({"DEL", key}).as_integer() == 1);
}

TEST_CASE("redis: a server that does not answer in time fails the call as retryable", "[redis]") {
  Client client = stack_client({.connect_timeout = 1000ms, .command_timeout = 300ms});
  Client admin = stack_client();
  REQUIRE(client.command({"PING"}) == Reply::status("PONG"));
  // Every client's commands wait for 2 s: Redis frozen, as far as they see.
  REQUIRE(admin.command({"CLIENT", "PAUSE", "2000", "ALL"}) == Reply::status("OK"));
  const auto timeout = infra_error_of([&] { client.command({"PING"}); });
  CHECK(timeout.retryable());
  CHECK_THAT(timeout.what(), Catch::Contains("timed out"));
  CHECK_FALSE(client.connected());
  // Calls time out until the pause ends; then one connects again.
  CHECK(eventually(
      [&] {
        try {
          return client.command({"PING"}) == Reply::status("PONG");
        } catch (const core::InfraError& e) {
          if (!e.retryable()) throw;
          return false;
        }
      },
      std::chrono::seconds(30)));
}
