#include "invalidator.hpp"

#include <catch2/catch.hpp>

#include "changes.hpp"
#include "fakes.hpp"

using namespace millrace;
using namespace millrace::cache;
using namespace millrace::cache::detail;
using namespace millrace::cache::testing;
using namespace std::chrono_literals;

namespace {

struct Rig {
  FakeStore store;
  FakeFeed feed;
  FakeTruth truth;
  metrics::Registry registry{"cache-test"};
  InvalidatorProbe probe{registry};
  std::chrono::steady_clock::time_point now{};
  Invalidator invalidator{rules("me"), feed, truth, store, probe};

  InvalidatorRules rules(std::string owner) {
    InvalidatorRules r;
    r.schema = "s";
    r.owner = std::move(owner);
    r.lease = 4000ms;
    r.now_us = [] { return std::int64_t{1'795'000'000'000'000}; };
    r.steady = [this] { return now; };
    return r;
  }

  Rig() {
    truth.categories["toys"] = "{toys v1}";
    truth.categories["garden"] = "{garden v1}";
    truth.products["42"] = "{kite v1}";
  }

  // Runs rounds until the feed is read to its end.
  void settle() {
    for (int i = 0; i < 20; ++i) {
      invalidator.step();
      now += 100ms;
    }
  }
  std::optional<std::string> body(const std::string& key) {
    const auto e = store.entry(key);
    if (!e) return "<absent>";
    return e->body;
  }
};

}  // namespace

TEST_CASE("a rebuild loads every row, then trusts the generation", "[invalidator]") {
  Rig rig;
  CHECK_FALSE(rig.store.live);
  rig.invalidator.step();  // standby: takes the right to invalidate
  CHECK(rig.store.owner == "me");
  CHECK_FALSE(rig.store.live);
  rig.invalidator.step();  // the rebuild
  REQUIRE(rig.store.live == 1);
  CHECK(rig.invalidator.trusted());
  CHECK(rig.body("category:toys") == "{toys v1}");
  CHECK(rig.body("product:42") == "{kite v1}");
  CHECK(rig.body("categories") == R"({"categories":[{garden v1},{toys v1}]})");
  CHECK(rig.store.entry("product:42")->version == kLoadedVersion);
}

TEST_CASE("changes after the load are applied, those the load saw are skipped", "[invalidator]") {
  Rig rig;
  // Already in the table at the load (xid 90 < xmin 100), yet delivered after:
  // it must not put its older value over the loaded one.
  rig.truth.categories["toys"] = "{toys v2}";
  rig.invalidator.step();
  rig.feed.append(category_upsert("toys", "Toys v1", 10, 90));  // before the ends: not read
  rig.invalidator.step();
  rig.feed.append(category_upsert("toys", "Toys old", 20, 95));
  rig.settle();
  CHECK(rig.body("category:toys") == "{toys v2}");
  rig.feed.append(category_upsert("toys", "Toys new", 30, 120));
  rig.feed.append(category_delete("garden", 40, 121));
  rig.settle();
  CHECK(rig.body("category:toys")->find(R"("display_name":"Toys new")") != std::string::npos);
  CHECK(rig.store.entry("category:toys")->version == id_of(30));
  // A deleted row is a tombstone, not an absent key (a slow fill cannot bring it back).
  REQUIRE(rig.store.entry("category:garden"));
  CHECK_FALSE(rig.store.entry("category:garden")->body);
  const auto list = *rig.body("categories");
  CHECK(list.find("garden") == std::string::npos);
  CHECK(list.find("Toys new") != std::string::npos);
  CHECK(rig.store.entry("categories")->version == id_of(40));
}

TEST_CASE("the batch and ttl a refresh sets before a round are that round's", "[invalidator]") {
  // millrace-cache's refresh hands on what a SIGHUP reloaded.
  Rig rig;
  std::size_t batch = 500;
  auto ttl = 60'000ms;
  auto rules = rig.rules("me");
  rules.refresh = [&](InvalidatorRules& r) {
    r.batch = batch;
    r.ttl = ttl;
  };
  Invalidator invalidator{rules, rig.feed, rig.truth, rig.store, rig.probe};
  invalidator.step();  // standby
  invalidator.step();  // the rebuild
  REQUIRE(rig.store.live);
  CHECK(rig.store.put_ttls.back() == 60'000ms);
  for (int i = 0; i < 3; ++i) {
    rig.feed.append(category_upsert("toys", "Toys " + std::to_string(i), 30 + i, 120 + i));
  }
  batch = 1;
  ttl = 5'000ms;
  const auto before = rig.feed.position;
  invalidator.step();
  CHECK(rig.feed.position == before + 1);  // one change read, not three
  CHECK(rig.store.put_ttls.back() == 5'000ms);
}

TEST_CASE("an older change never replaces a newer one", "[invalidator]") {
  Rig rig;
  rig.invalidator.step();
  rig.invalidator.step();
  rig.feed.append(category_upsert("toys", "Toys new", 30, 120));
  rig.settle();
  // The same and an older change delivered again (a producer's retry, a replay).
  rig.feed.append(category_upsert("toys", "Toys older", 20, 119));
  rig.settle();
  CHECK(rig.body("category:toys")->find("Toys new") != std::string::npos);
}

TEST_CASE("a key change leaves a tombstone at the old key", "[invalidator]") {
  Rig rig;
  rig.invalidator.step();
  rig.invalidator.step();
  rig.feed.append(change("categories", 'u', 50, 130, R"({"name":"games"})", R"({"name":"toys"})",
                         category_row("games", "Games")));
  rig.settle();
  REQUIRE(rig.store.entry("category:toys"));
  CHECK_FALSE(rig.store.entry("category:toys")->body);
  CHECK(rig.body("category:games")->find("Games") != std::string::npos);
  CHECK(rig.body("categories")->find("{toys v1}") == std::string::npos);
}

TEST_CASE("a truncate or an unreadable catalog change rebuilds in a new generation",
          "[invalidator]") {
  Rig rig;
  rig.invalidator.step();
  rig.invalidator.step();
  REQUIRE(rig.store.live == 1);
  rig.truth.products.clear();
  rig.feed.append(
      R"({"id":"000000000000006000000000","op":"t","table":"s.products","before":null,)"
      R"("after":null,"source":{"lsn":"0/9","xid":140,"commit_time":"2026-11-23T18:00:00Z","seq":0}})");
  rig.settle();
  CHECK(rig.store.live == 2);
  CHECK(rig.body("product:42") == "<absent>");
  rig.feed.append(R"({"table":"s.products","id":"X"})", R"({"table":"s.products","key":{}})");
  rig.settle();
  CHECK(rig.store.live == 3);
  CHECK(rig.truth.loads == 3);
  // Another table's records pass by.
  rig.feed.append(change("store_events", 'c', 70, 150, "{}", "null", "{}"),
                  R"({"table":"s.store_events","key":{}})");
  rig.settle();
  CHECK(rig.store.live == 3);
}

TEST_CASE("losing the feed ends trust at once, its return rebuilds", "[invalidator]") {
  Rig rig;
  rig.invalidator.step();
  rig.invalidator.step();
  REQUIRE(rig.store.live == 1);
  rig.feed.down = true;
  rig.settle();
  CHECK_FALSE(rig.store.live);
  CHECK_FALSE(rig.invalidator.trusted());
  rig.truth.categories["toys"] = "{toys v3}";
  rig.feed.down = false;
  for (int i = 0; i < 200 && !rig.store.live; ++i) {
    rig.now += 1s;
    rig.invalidator.step();
  }
  CHECK(rig.store.live == 2);
  CHECK(rig.body("category:toys") == "{toys v3}");
}

TEST_CASE("losing the store ends trust, its return rebuilds from the database", "[invalidator]") {
  Rig rig;
  rig.invalidator.step();
  rig.invalidator.step();
  rig.store.down = true;
  rig.feed.append(category_upsert("toys", "Toys lost", 30, 120));
  rig.settle();
  CHECK_FALSE(rig.invalidator.trusted());
  // Redis restarted empty.
  rig.store = FakeStore{};
  rig.store.generations = 5;
  rig.truth.categories["toys"] = "{toys after}";
  rig.settle();
  CHECK(rig.invalidator.trusted());
  CHECK(rig.store.live == 6);
  CHECK(rig.body("category:toys") == "{toys after}");
}

TEST_CASE("one invalidator at a time, a stop hands over at once", "[invalidator]") {
  Rig rig;
  Invalidator other(rig.rules("other"), rig.feed, rig.truth, rig.store, rig.probe);
  rig.invalidator.step();
  rig.invalidator.step();
  REQUIRE(rig.store.live == 1);
  other.step();
  other.step();
  CHECK_FALSE(other.trusted());
  CHECK(rig.store.live == 1);
  rig.invalidator.stop();
  CHECK_FALSE(rig.store.live);
  CHECK_FALSE(rig.store.owner);
  other.step();
  other.step();
  CHECK(other.trusted());
  CHECK(rig.store.live == 2);
}

TEST_CASE("a load that outlasts the lease keeps it, and yields to a standby that took it",
          "[invalidator]") {
  Rig rig;
  rig.invalidator.step();
  // The lease ran out during the load and a standby took it.
  rig.truth.during_load = [&] { rig.store.owner = "standby"; };
  rig.invalidator.step();
  CHECK_FALSE(rig.store.live);
  CHECK_FALSE(rig.invalidator.trusted());
  // The lease ran out and no one took it: the invalidator takes it back.
  rig.truth.during_load = [&] { rig.store.owner.reset(); };
  rig.store.owner.reset();
  rig.settle();
  CHECK(rig.invalidator.trusted());
  CHECK(rig.store.owner == "me");
}

// The change topic has several partitions (a change goes to its key's), so
// changes to two categories reach the invalidator out of commit order. The
// list holds both: it must end with each category's latest change, whatever
// the order they came in.
TEST_CASE("the list keeps every category's latest change when they come out of commit order",
          "[invalidator]") {
  Rig rig;
  rig.invalidator.step();
  rig.invalidator.step();
  REQUIRE(rig.invalidator.trusted());
  // garden's edit committed after toys', yet its partition was read first.
  rig.feed.append(category_upsert("garden", "Garden edit 2", 60, 131));
  rig.settle();
  rig.feed.append(category_upsert("toys", "Toys edit 1", 50, 130));
  rig.settle();
  const auto list = *rig.body("categories");
  CHECK(list.find("Garden edit 2") != std::string::npos);
  CHECK(list.find("Toys edit 1") != std::string::npos);
  CHECK(rig.store.entry("categories")->version == id_of(60));
  // An older change of a category, after a newer one of the same, is no change.
  rig.feed.append(category_delete("garden", 55, 129));
  rig.settle();
  CHECK(rig.body("categories")->find("Garden edit 2") != std::string::npos);
  // A delete that came out of order against another category's edit.
  rig.feed.append(category_upsert("toys", "Toys edit 3", 80, 140));
  rig.feed.append(category_delete("garden", 70, 139));
  rig.settle();
  const auto after = *rig.body("categories");
  CHECK(after.find("Toys edit 3") != std::string::npos);
  CHECK(after.find("garden") == std::string::npos);
  CHECK(after.find("Garden") == std::string::npos);
}
