// The catalog cache on the test stack: the real change feed, millrace-cache
// and Redis. The cache must equal the database after every kind of change
// and every kind of loss: the invalidator killed in the middle of a burst of
// edits, and Redis restarted empty; and the API's near cache follows them.
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "cache_support.hpp"
#include "harness.hpp"
#include "scrape.hpp"

using namespace millrace::testing;
using namespace millrace::testing::cache_tests;
using namespace std::chrono_literals;

namespace {

struct Answer {
  int status = 0;
  std::string body;
};

Answer get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10, 0);
  const auto r = c.Get(path.c_str());
  if (!r) return {};
  return {r->status, r->body};
}

Answer send(int port, const std::string& method, const std::string& path, const std::string& body) {
  httplib::Client c("127.0.0.1", port);
  const httplib::Headers auth = {{"Authorization", "Bearer cache-test-token"}};
  httplib::Result r = method == "PUT"    ? c.Put(path.c_str(), auth, body, "application/json")
                      : method == "POST" ? c.Post(path.c_str(), auth, body, "application/json")
                                         : c.Delete(path.c_str(), auth);
  if (!r) return {};
  return {r->status, r->body};
}

// Polls until `path` answers `status` with `fragment` in its body: the test
// fails only past a generous deadline, one that covers the broker being
// briefly unavailable, which the feed and the cache ride out, so a busy
// machine cannot flake it. How long it takes is a benchmark figure (bench/),
// not asserted here.
bool served(int port, const std::string& path, int status, const std::string& fragment) {
  return eventually(
      [&] {
        const auto a = get(port, path);
        return a.status == status && a.body.find(fragment) != std::string::npos;
      },
      60s);
}

double reads(int port, const std::string& kind, const std::string& result) {
  return scrape_metric(port, "millrace_cache_reads_total", {{"kind", kind}, {"result", result}});
}

}  // namespace

TEST_CASE("the invalidator killed in a burst of 1,000 edits: the cache equals the database",
          "[cache-kill]") {
  CacheRig rig;
  auto cache = std::make_optional(rig.start_cache("cache-1"));
  REQUIRE(eventually([&] { return rig.live().has_value(); }, 120s));
  INFO(rig.differences());
  REQUIRE(rig.differences().empty());

  // Edits of every kind, each its own transaction, while the invalidator
  // is killed and restarted.
  std::atomic<int> done{0};
  std::atomic<bool> resume{false};
  std::string failure;
  std::thread editor([&] {
    try {
      pqxx::connection c(rig.p.env.pg);
      for (int i = 0; i < 1000; ++i) {
        // The last 400 wait for the second invalidator to be live, so they
        // reach it through the feed and not through its load.
        while (i == 600 && !resume) std::this_thread::sleep_for(10ms);
        pqxx::work tx(c);
        tx.exec("SET LOCAL search_path TO " + tx.quote_name(rig.p.schema));
        const int sku = 1000001 + (i * 37) % 6000;
        switch (i % 10) {
          case 0:
            tx.exec("UPDATE categories SET display_name = 'Category edit " + std::to_string(i) +
                    "' WHERE name = (SELECT name FROM categories ORDER BY name OFFSET " +
                    std::to_string(i % 20) + " LIMIT 1)");
            break;
          case 1:
            tx.exec("INSERT INTO products (sku, name, brand, category, list_price) VALUES (" +
                    std::to_string(9000000 + i) + ", 'New " + std::to_string(i) +
                    "', NULL, (SELECT min(name) FROM categories), 1.25)");
            break;
          case 2:
            if (i >= 20) {
              tx.exec("DELETE FROM products WHERE sku = " + std::to_string(9000000 + i - 11));
            }
            break;
          default:
            tx.exec("UPDATE products SET list_price = list_price + 0.01, name = 'Edit " +
                    std::to_string(i) +
                    "' WHERE sku = (SELECT sku FROM products ORDER BY sku "
                    "OFFSET " +
                    std::to_string(sku % 6000) + " LIMIT 1)");
        }
        tx.commit();
        done = i + 1;
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  // A REQUIRE that throws must not leave the editor waiting, nor joinable.
  struct Finish {
    std::atomic<bool>& resume;
    std::thread& editor;
    ~Finish() {
      resume = true;
      if (editor.joinable()) editor.join();
    }
  } finish{resume, editor};
  REQUIRE(eventually([&] { return done >= 300 || !failure.empty(); }, 300s));
  cache->signal(SIGKILL);
  cache->wait(10s);
  cache.reset();
  REQUIRE(eventually([&] { return done >= 600 || !failure.empty(); }, 300s));
  auto second = rig.start_cache("cache-2");
  const bool live = eventually(
      [&] { return scrape_metric(second.metrics_port, "millrace_cache_trusted") == 1; }, 120s);
  resume = true;
  editor.join();
  REQUIRE(live);
  INFO(failure);
  REQUIRE(failure.empty());
  REQUIRE(done == 1000);

  const auto left = rig.converge();
  INFO(left);
  CHECK(left.empty());
  // The second invalidator rebuilt once, then followed the edits made after
  // its start through the feed.
  CHECK(scrape_metric(second.metrics_port, "millrace_cache_rebuilds_total") == 1);
  CHECK(scrape_metric(second.metrics_port, "millrace_cache_invalidations_total") > 0);
  CHECK(scrape_metric(second.metrics_port, "millrace_cache_unreadable_changes_total") == 0);
  CHECK(stop_cleanly({&second}));
  // A clean stop withdraws the cache at once: readers go to the database.
  CHECK_FALSE(rig.live());
}

TEST_CASE("Redis restarted empty: the cache is rebuilt with what changed meanwhile",
          "[cache-redis-restart]") {
  CacheRig rig;
  auto cache = rig.start_cache("cache");
  REQUIRE(eventually([&] { return rig.live().has_value(); }, 120s));
  const int port = free_port();
  auto api = rig.start_api(port);
  REQUIRE(eventually([&] { return get(port, "/readyz").status == 200; }, 60s));
  const std::string path = "/v1/categories/" + rig.scalar("SELECT min(name) FROM categories");
  REQUIRE(get(port, path).status == 200);
  {
    StackGuard guard{"redis"};
    REQUIRE(stack("down redis") == 0);
    rig.exec(
        "UPDATE categories SET display_name = 'Changed while Redis was down' "
        "WHERE name = (SELECT min(name) FROM categories)");
    // The API answers from PostgreSQL meanwhile, with the new value.
    CHECK(served(port, path, 200, "Changed while Redis was down"));
    CHECK(reads(port, "category", "bypass") >= 1);
    CHECK(get(port, "/v1/categories").status == 200);
    rig.exec("DELETE FROM products WHERE sku = (SELECT max(sku) FROM products)");
    CHECK(eventually(
        [&] { return scrape_metric(cache.metrics_port, "millrace_cache_trusted") == 0; }, 60s));
    REQUIRE(stack("up redis") == 0);
  }
  REQUIRE(eventually([&] { return rig.live().has_value(); }, 120s));
  const auto left = rig.converge();
  INFO(left);
  CHECK(left.empty());
  CHECK(scrape_metric(cache.metrics_port, "millrace_cache_rebuilds_total",
                      {{"reason", "store_lost"}}) >= 1);
  // Served from the cache again, with the value changed while it was down.
  const double hits = reads(port, "category", "hit");
  CHECK(served(port, path, 200, "Changed while Redis was down"));
  CHECK(eventually(
      [&] {
        get(port, path);
        return reads(port, "category", "hit") > hits;
      },
      30s));
  CHECK(stop_cleanly({&api, &cache}));
}

TEST_CASE("the seed's scenario: a cached category follows psql and the admin API", "[cache-seed]") {
  CacheRig rig;
  auto cache = rig.start_cache("cache");
  REQUIRE(eventually([&] { return rig.live().has_value(); }, 120s));
  const int port = free_port();
  // The first section counts Redis' own hits and misses: without the near
  // cache, which would answer the repeated reads from memory. The others
  // run with it, so every change must reach the API through it.
  const bool counting = GENERATE(true, false);
  auto api = rig.start_api(port, !counting);
  REQUIRE(eventually([&] { return get(port, "/readyz").status == 200; }, 60s));

  const std::string name = rig.scalar("SELECT min(name) FROM categories");
  const std::string path = "/v1/categories/" + name;

  if (counting) {
    // The rebuild loaded every row; an entry gone from Redis (evicted, or
    // past its TTL) is what a miss looks like.
    auto redis = rig.client();
    REQUIRE(redis.command({"DEL", rig.prefix + ":g" + *rig.live() + ":category:" + name})
                .as_integer() == 1);
    const auto first = get(port, path);
    REQUIRE(first.status == 200);
    CHECK(first.body.find("\"name\":\"" + name + "\"") != std::string::npos);
    CHECK(reads(port, "category", "miss") == 1);
    CHECK(reads(port, "category", "hit") == 0);
    CHECK(get(port, path).body == first.body);
    CHECK(reads(port, "category", "hit") == 1);
    CHECK(get(port, path).body == first.body);
    CHECK(reads(port, "category", "hit") == 2);
    CHECK(scrape_metric(port, "millrace_cache_fills_total") == 1);
    CHECK(reads(port, "category", "bypass") == 0);
    // A key the database does not have: a miss, remembered as absent.
    CHECK(get(port, "/v1/categories/No%20such%20category").status == 404);
    CHECK(reads(port, "category", "miss") == 2);
    CHECK(get(port, "/v1/categories/No%20such%20category").status == 404);
    CHECK(reads(port, "category", "hit") == 3);
    CHECK(reads(port, "category", "held") == 0);
    CHECK(stop_cleanly({&api, &cache}));
    return;
  }

  SECTION("UPDATE, INSERT and DELETE in psql") {
    REQUIRE(get(port, path).status == 200);
    rig.psql("UPDATE categories SET display_name = $$Edited in psql$$ WHERE name = $$" + name +
             "$$");
    CHECK(served(port, path, 200, "\"display_name\":\"Edited in psql\""));
    CHECK(served(port, "/v1/categories", 200, "Edited in psql"));

    REQUIRE(get(port, "/v1/categories/Gift%20cards").status == 404);
    rig.psql("INSERT INTO categories (name, display_name) VALUES ($$Gift cards$$, $$Gift cards$$)");
    CHECK(served(port, "/v1/categories/Gift%20cards", 200, "\"display_name\":\"Gift cards\""));
    CHECK(served(port, "/v1/categories", 200, "Gift cards"));

    rig.psql("DELETE FROM categories WHERE name = $$Gift cards$$");
    CHECK(served(port, "/v1/categories/Gift%20cards", 404, ""));

    const std::string sku = rig.scalar("SELECT min(sku) FROM products");
    REQUIRE(get(port, "/v1/products/" + sku).status == 200);
    rig.psql("UPDATE products SET list_price = 4321.09 WHERE sku = " + sku);
    CHECK(served(port, "/v1/products/" + sku, 200, "\"list_price\":4321.09"));
    CHECK(reads(port, "category", "bypass") == 0);
  }

  SECTION("writes through the admin API") {
    REQUIRE(send(port, "PUT", path, R"({"display_name":"Edited through the API"})").status == 200);
    CHECK(served(port, path, 200, "Edited through the API"));
    REQUIRE(
        send(port, "POST", "/v1/categories", R"({"name":"Kites","display_name":"Kites"})").status ==
        201);
    CHECK(served(port, "/v1/categories/Kites", 200, "\"name\":\"Kites\""));
    REQUIRE(send(port, "DELETE", "/v1/categories/Kites", "").status == 204);
    CHECK(served(port, "/v1/categories/Kites", 404, ""));
  }

  CHECK(stop_cleanly({&api, &cache}));
}

TEST_CASE(
    "the near cache: held reads follow every change, a lost connection and a dead invalidator",
    "[cache-near]") {
  CacheRig rig;
  auto cache = std::make_optional(rig.start_cache("cache"));
  REQUIRE(eventually([&] { return rig.live().has_value(); }, 120s));
  const int port = free_port();
  auto api = rig.start_api(port);
  REQUIRE(eventually([&] { return get(port, "/readyz").status == 200; }, 60s));
  const std::string name = rig.scalar("SELECT min(name) FROM categories");
  const std::string path = "/v1/categories/" + name;
  const std::string sku = rig.scalar("SELECT min(sku) FROM products");
  // Read until the answers come from memory.
  const auto held_soon = [&](const std::string& p, const std::string& kind) {
    return eventually(
        [&] {
          const double before = reads(port, kind, "held");
          return get(port, p).status == 200 && reads(port, kind, "held") > before;
        },
        30s);
  };
  REQUIRE(held_soon(path, "category"));
  REQUIRE(held_soon("/v1/categories", "categories"));
  REQUIRE(held_soon("/v1/products/" + sku, "product"));
  CHECK(scrape_metric(port, "millrace_cache_near_listening") == 1);

  // A change made in psql reaches the held entries (Redis tells the near
  // cache its keys changed), and they are held again after.
  rig.psql("UPDATE categories SET display_name = $$Held, then edited$$ WHERE name = $$" + name +
           "$$");
  CHECK(served(port, path, 200, "Held, then edited"));
  CHECK(served(port, "/v1/categories", 200, "Held, then edited"));
  rig.psql("DELETE FROM products WHERE sku = " + sku);
  CHECK(served(port, "/v1/products/" + sku, 404, ""));
  CHECK(held_soon(path, "category"));

  // Its connection killed: everything held is dropped, reads ask Redis,
  // and it listens again.
  {
    auto redis = rig.client();
    REQUIRE(redis.command({"CLIENT", "KILL", "TYPE", "pubsub"}).as_integer() >= 1);
  }
  CHECK(
      eventually([&] { return scrape_metric(port, "millrace_cache_near_lost_total") >= 1; }, 30s));
  CHECK(eventually([&] { return scrape_metric(port, "millrace_cache_near_listening") == 1; }, 30s));
  rig.psql("UPDATE categories SET display_name = $$After the reconnect$$ WHERE name = $$" + name +
           "$$");
  CHECK(served(port, path, 200, "After the reconnect"));
  CHECK(held_soon(path, "category"));

  // The invalidator killed: its live mark runs out (3 s here), the held
  // entries with it, and the API reads PostgreSQL, so a change made after
  // the kill is served although nothing invalidates it any more.
  cache->signal(SIGKILL);
  cache->wait(10s);
  cache.reset();
  rig.psql("UPDATE categories SET display_name = $$Invalidator dead$$ WHERE name = $$" + name +
           "$$");
  CHECK(served(port, path, 200, "Invalidator dead"));
  CHECK(served(port, "/v1/categories", 200, "Invalidator dead"));
  CHECK(reads(port, "category", "bypass") >= 1);
  CHECK(stop_cleanly({&api}));
}
