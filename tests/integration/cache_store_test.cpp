// The cache's store on a real Redis: its protocol's scripts (leases,
// generations, versioned puts, fills and withdrawals).
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "harness.hpp"
#include "millrace/cache/redis_store.hpp"
#include "millrace/redis/client.hpp"

using namespace millrace;
using namespace millrace::testing;
using namespace std::chrono_literals;

TEST_CASE("the protocol's scripts on a real Redis", "[cache-store]") {
  const auto env = stack_env();
  const std::string prefix = "millrace:" + unique_name("it_store");
  auto store = cache::make_redis_store(redis::Client(redis::parse_url(env.redis_url)), prefix);
  using cache::Entry;
  const auto ttl = 60s;

  // Nothing live: a lookup says so, a fill writes nothing.
  CHECK_FALSE(store->lookup("category:a").generation);
  CHECK_FALSE(store->fill(1, "category:a", Entry{"0", "{a}"}, ttl));

  // One owner at a time; a lease that ran out with no one taking it is
  // taken back by set_live.
  REQUIRE(store->acquire("one", 300ms));
  CHECK_FALSE(store->acquire("two", 300ms));
  const auto g = store->new_generation();
  CHECK(store->new_generation() > g);
  std::this_thread::sleep_for(600ms);
  REQUIRE(store->set_live("one", g, 5s));
  CHECK_FALSE(store->set_live("two", g, 5s));
  CHECK(store->lookup("category:a").generation == g);

  // Versions: never lower over higher; tombstones; fills only create.
  CHECK(store->put(g, {{"category:a", Entry{"000000000000000200000000", "{a2}"}}}, ttl) == 1);
  CHECK(store->put(g,
                   {{"category:a", Entry{"000000000000000100000000", "{a1}"}},
                    {"category:b", Entry{"000000000000000100000000", std::nullopt}}},
                   ttl) == 1);
  CHECK(store->lookup("category:a").entry == Entry{"000000000000000200000000", "{a2}"});
  CHECK(store->lookup("category:b").entry == Entry{"000000000000000100000000", std::nullopt});
  CHECK(store->put(g, {{"category:a", Entry{"000000000000000300000000", std::nullopt}}}, ttl) == 1);
  CHECK(store->lookup("category:a").entry == Entry{"000000000000000300000000", std::nullopt});
  CHECK_FALSE(store->fill(g, "category:a", Entry{"0", "{stale}"}, ttl));
  CHECK(store->fill(g, "category:c", Entry{"0", "{c}"}, ttl));
  CHECK_FALSE(store->fill(g + 1, "category:d", Entry{"0", "{d}"}, ttl));  // not live
  CHECK(store->put(g, {{"category:c", Entry{"000000000000000400000000", "{c4}"}}}, ttl) == 1);
  CHECK(store->lookup("category:c").entry->body == "{c4}");

  // The scripts survive SCRIPT FLUSH (a restarted Redis has none).
  redis::Client(redis::parse_url(env.redis_url)).command({"SCRIPT", "FLUSH"});
  CHECK(store->put(g, {{"category:e", Entry{"000000000000000500000000", "{e}"}}}, ttl) == 1);
  CHECK(store->lookup("category:e").entry->body == "{e}");

  // Withdrawing only the named generation; releasing only one's own.
  store->withdraw(g + 1);
  CHECK(store->lookup("category:a").generation == g);
  store->withdraw(g);
  CHECK_FALSE(store->lookup("category:a").generation);
  store->release("two");
  CHECK_FALSE(store->acquire("two", 1s));
  store->release("one");
  CHECK(store->acquire("two", 1s));

  auto c = redis::Client(redis::parse_url(env.redis_url));
  std::string cursor = "0";
  do {
    const auto r = c.command({"SCAN", cursor, "MATCH", prefix + ":*", "COUNT", "1000"});
    cursor = r.elements().at(0).as_string();
    for (const auto& k : r.elements().at(1).elements()) c.command({"DEL", k.as_string()});
  } while (cursor != "0");
}
