// The catalog cache on the test stack: the real change feed, millrace-cache
// and Redis. The cache must equal the database after every kind of change
// and every kind of loss: the invalidator killed in the middle of a burst of
// edits, and Redis restarted empty.
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "changes.hpp"
#include "harness.hpp"
#include "millrace/cache/redis_store.hpp"
#include "millrace/catalog/json.hpp"
#include "millrace/redis/client.hpp"
#include "pipeline.hpp"
#include "scrape.hpp"

using namespace millrace;
using namespace millrace::testing;
using namespace std::chrono_literals;

namespace {

catalog::RowText row_text(const pqxx::row& r) {
  catalog::RowText text;
  for (const auto& f : r) {
    text.emplace(f.name(), f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str()));
  }
  return text;
}

// A schema with the generated catalog, its change feed, and Redis.
struct CacheRig {
  Pipeline p;
  std::optional<ChangeFeedRig> feed;
  std::optional<Child> feed_process;
  std::string prefix;

  // `partitions` of the store-events topic (the sink needs an even count).
  explicit CacheRig(std::int32_t partitions = 1) : p("it_cache", partitions) {
    REQUIRE(cli("migrate") == 0);
    const std::string categories = p.log_dir + "/" + p.schema + ".categories.csv";
    const std::string products = p.log_dir + "/" + p.schema + ".products.ndjson";
    REQUIRE(cli("generate --catalog categories --format csv > " + categories) == 0);
    REQUIRE(cli("generate --catalog products > " + products) == 0);
    REQUIRE(cli("catalog load " + categories) == 0);
    REQUIRE(cli("catalog load " + products) == 0);
    // The comparisons below are only worth anything with rows to compare.
    REQUIRE(count("categories") == 20);
    REQUIRE(count("products") == 6000);
    feed.emplace(p, std::vector<std::string>{"categories", "products"}, 2);
    feed_process.emplace(feed->start("changefeed"));
    feed->wait_streaming();
    prefix = "millrace:" + p.schema;
    REQUIRE_FALSE(p.env.redis_url.empty());
  }
  ~CacheRig() {
    if (feed_process) stop_cleanly({&*feed_process});
  }

  int cli(const std::string& args) {
    std::string out;
    return run_shell("MILLRACE_PG='" + p.env.pg + "' MILLRACE_PG_SCHEMA='" + p.schema + "' " +
                         bin("millrace") + " " + args,
                     &out);
  }

  // One value of a query run in the rig's schema.
  std::string scalar(const std::string& sql) const {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    tx.exec("SET search_path TO " + tx.quote_name(p.schema));
    return tx.exec1(sql)[0].as<std::string>();
  }

  long long count(const std::string& table) const {
    pqxx::connection c(p.env.pg);
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT count(*) FROM " + tx.quote_name(p.schema) + "." + table)[0]
        .as<long long>();
  }

  Child start_cache(const std::string& name) {
    return p.start("millrace-cache", name,
                   {{"MILLRACE_CHANGES_TOPIC", feed->topic},
                    {"MILLRACE_REDIS_URL", p.env.redis_url},
                    {"MILLRACE_CACHE_LEASE_MS", "3000"},
                    {"MILLRACE_RETRY_BACKOFF_MAX_MS", "1000"}});
  }

  // millrace-api reading through the cache, its admin writes on the owner's
  // connection (roles are integration.api's subject); `near`: with its
  // near cache (the default), or asking Redis for every read.
  Child start_api(int port, bool near = true) {
    return p.start("millrace-api", "api",
                   {{"MILLRACE_API_ADDR", "127.0.0.1:" + std::to_string(port)},
                    {"MILLRACE_API_PG", p.env.pg},
                    {"MILLRACE_API_ADMIN_PG", p.env.pg},
                    {"MILLRACE_API_ADMIN_TOKEN", "cache-test-token"},
                    {"MILLRACE_REDIS_URL", p.env.redis_url},
                    {"MILLRACE_API_NEAR_CACHE_ENTRIES", near ? "100000" : "0"}});
  }

  // A change made the way an operator makes it by hand.
  void psql(const std::string& sql) {
    std::string out;
    REQUIRE(run_shell("psql -X -q -v ON_ERROR_STOP=1 '" + p.env.pg + "' -c 'SET search_path TO " +
                          p.schema + "; " + sql + "' 2>&1",
                      &out) == 0);
  }

  redis::Client client() const { return redis::Client(redis::parse_url(p.env.redis_url)); }

  std::optional<std::string> live() const {
    auto c = client();
    const auto r = c.command({"GET", prefix + ":live"});
    if (r.is_nil()) return std::nullopt;
    return r.as_string();
  }

  void exec(const std::string& sql) {
    pqxx::connection c(p.env.pg);
    pqxx::work tx(c);
    tx.exec("SET search_path TO " + tx.quote_name(p.schema));
    tx.exec(sql);
    tx.commit();
  }

  // "" when every entry of the live generation equals the database: each
  // row's entry its rendering, the list all of them, and every other entry
  // a tombstone. Otherwise the first differences.
  std::string differences() const {
    const auto generation = live();
    if (!generation) return "no generation is live";
    const std::string base = prefix + ":g" + *generation + ":";
    pqxx::connection conn(p.env.pg);
    pqxx::work tx(conn);
    tx.exec("SET search_path TO " + tx.quote_name(p.schema));
    std::map<std::string, std::string> expected;
    std::vector<std::string> items;
    for (const auto& r : tx.exec("SELECT * FROM categories ORDER BY name")) {
      items.push_back(catalog::category_json(row_text(r)));
      expected[base + "category:" + r["name"].c_str()] = items.back();
    }
    for (const auto& r : tx.exec("SELECT * FROM products ORDER BY sku")) {
      expected[base + "product:" + r["sku"].c_str()] = catalog::product_json(row_text(r));
    }
    expected[base + "categories"] = catalog::category_list_json(items);

    auto c = client();
    std::set<std::string> keys;
    std::string cursor = "0";
    do {
      const auto r = c.command({"SCAN", cursor, "MATCH", base + "*", "COUNT", "1000"});
      cursor = r.elements().at(0).as_string();
      for (const auto& k : r.elements().at(1).elements()) keys.insert(k.as_string());
    } while (cursor != "0");
    for (const auto& [k, v] : expected) keys.insert(k);
    std::vector<std::string> order(keys.begin(), keys.end());
    std::vector<std::vector<std::string>> commands;
    for (const auto& k : order) commands.push_back({"HMGET", k, "v", "b"});
    const auto replies = c.pipeline(commands);
    std::string out;
    int shown = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& e = replies[i].elements();
      const bool absent = e.at(0).is_nil();
      const std::optional<std::string> body =
          e.at(1).is_nil() ? std::nullopt : std::optional<std::string>(e[1].as_string());
      const auto want = expected.find(order[i]);
      std::string why;
      if (want == expected.end()) {
        if (body) why = "holds a row the database does not: " + *body;
      } else if (absent) {
        why = "is missing";
      } else if (body != want->second) {
        why = "is " + body.value_or("a tombstone") + ", the database has " + want->second;
      }
      if (!why.empty() && shown++ < 5) out += order[i] + " " + why + "\n";
    }
    if (shown > 5) out += std::to_string(shown - 5) + " more\n";
    return out;
  }

  // Waits (generously: a busy machine) until the cache equals the database.
  std::string converge() {
    std::string last;
    eventually(
        [&] {
          last = differences();
          return last.empty();
        },
        90s);
    return last;
  }
};

}  // namespace

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

namespace {

// store_events rows whose enrichment is not `expected` for their sku:
// "catalog" (equal to the products row now), "null" (all three NULL).
long long rows_not(CacheRig& rig, const std::string& expected) {
  pqxx::connection c(rig.p.env.pg);
  pqxx::nontransaction tx(c);
  tx.exec("SET search_path TO " + tx.quote_name(rig.p.schema));
  const std::string matches =
      expected == "null"
          ? "e.product_name IS NULL AND e.product_brand IS NULL AND e.product_category IS NULL"
          : "e.product_name IS NOT DISTINCT FROM p.name AND e.product_brand IS NOT DISTINCT "
            "FROM p.brand AND e.product_category IS NOT DISTINCT FROM p.category AND "
            "p.sku IS NOT NULL";
  return tx
      .exec1(
          "SELECT count(*) FROM store_events e LEFT JOIN products p ON p.sku = e.sku "
          "WHERE NOT (" +
          matches + ")")[0]
      .as<long long>();
}

long long stored_rows(CacheRig& rig) {
  pqxx::connection c(rig.p.env.pg);
  pqxx::nontransaction tx(c);
  return tx.exec1("SELECT count(*) FROM " + tx.quote_name(rig.p.schema) + ".store_events")[0]
      .as<long long>();
}

}  // namespace

TEST_CASE("enrichment: rows carry the catalog as it was at ingestion, followed live", "[enrich]") {
  CacheRig rig(4);
  auto sink = rig.p.start_sink(
      "sink", {{"MILLRACE_SINK_ENRICH", "true"}, {"MILLRACE_CHANGES_TOPIC", rig.feed->topic}});
  const auto products_written = [&] {
    return scrape_metric(sink.metrics_port, "millrace_cache_invalidations_total",
                         {{"table", "products"}});
  };

  // Every sku the generator draws is in the catalog.
  rig.p.produce(3000, 1, 0.0);
  REQUIRE(rig.p.wait_caught_up(180s));
  const auto first = stored_rows(rig);
  REQUIRE(first > 0);
  CHECK(rows_not(rig, "catalog") == 0);
  CHECK(scrape_metric(sink.metrics_port, "millrace_sink_enriched_total", {{"sku", "known"}}) ==
        first);

  // A change to the catalog reaches the sink's lookup through the feed,
  // without a restart; rows stored before keep what they were given.
  const double before = products_written();
  rig.exec("UPDATE products SET brand = 'Brand changed live'");
  CHECK(progresses_to(products_written, before + 6000, 30s));
  rig.p.produce(3000, 2, 0.0);
  REQUIRE(rig.p.wait_caught_up(180s));
  const auto second = stored_rows(rig);
  REQUIRE(second > first);
  {
    pqxx::connection c(rig.p.env.pg);
    pqxx::nontransaction tx(c);
    tx.exec("SET search_path TO " + tx.quote_name(rig.p.schema));
    CHECK(
        tx.exec1("SELECT count(*) FROM store_events WHERE product_brand = 'Brand changed live'")[0]
            .as<long long>() == second - first);
  }

  // Unknown skus: NULL, and counted, not refused.
  const double written = products_written();
  rig.exec("DELETE FROM products");
  CHECK(progresses_to(products_written, written + 6000, 30s));
  rig.p.produce(3000, 3, 0.0);
  REQUIRE(rig.p.wait_caught_up(180s));
  const auto third = stored_rows(rig);
  REQUIRE(third > second);
  CHECK(scrape_metric(sink.metrics_port, "millrace_sink_enriched_total", {{"sku", "unknown"}}) ==
        third - second);
  {
    pqxx::connection c(rig.p.env.pg);
    pqxx::nontransaction tx(c);
    tx.exec("SET search_path TO " + tx.quote_name(rig.p.schema));
    CHECK(tx.exec1("SELECT count(*) FROM store_events WHERE product_name IS NULL")[0]
              .as<long long>() == third - second);
  }
  CHECK(stop_cleanly({&sink}));
  const auto verdict = rig.p.verify();
  CHECK(verdict.lost == 0);
  CHECK(verdict.duplicated == 0);
}
