#include "millrace/cache/near.hpp"

#include <catch2/catch.hpp>

#include "near_map.hpp"

using namespace millrace;
using namespace millrace::cache;
using namespace millrace::cache::detail;
using namespace std::chrono_literals;

namespace {

const NearClock::time_point t0{std::chrono::seconds(1000)};

Lookup found(std::int64_t generation, std::optional<std::string> body,
             std::chrono::milliseconds live_for = 5000ms,
             std::string version = "00000000000000000000000a") {
  return {generation, Entry{std::move(version), std::move(body)}, live_for};
}

// Makes `map` listen and hold `key`, read at t0 from generation 1.
void hold(NearMap& map, const std::string& key, std::optional<std::string> body) {
  map.listening(true);
  map.keep(map.ask(key, t0), found(1, std::move(body)));
}

}  // namespace

TEST_CASE("near: nothing is kept or served while not listening", "[near]") {
  NearMap map(100);
  const Ticket ticket = map.ask("categories", t0);
  CHECK(ticket.token == 0);
  map.keep(ticket, found(1, "[list]"));
  CHECK_FALSE(map.get("categories", t0));
  CHECK(map.size() == 0);
}

TEST_CASE("near: a kept entry is served until its key changes", "[near]") {
  NearMap map(100);
  hold(map, "categories", "[list]");
  const auto held = map.get("categories", t0 + 1ms);
  REQUIRE(held);
  CHECK(held->body == "[list]");
  map.changed("category:toys");  // another key
  CHECK(map.get("categories", t0 + 1ms));
  map.changed("categories");
  CHECK_FALSE(map.get("categories", t0 + 1ms));
}

TEST_CASE("near: a tombstone is held as a known absence", "[near]") {
  NearMap map(100);
  hold(map, "product:7", std::nullopt);
  const auto held = map.get("product:7", t0);
  REQUIRE(held);
  CHECK_FALSE(held->body);
}

TEST_CASE("near: a key absent from the store is not held (the worker fills it)", "[near]") {
  NearMap map(100);
  map.listening(true);
  map.keep(map.ask("product:7", t0), Lookup{1, std::nullopt, 5000ms});
  CHECK_FALSE(map.get("product:7", t0));
}

TEST_CASE("near: a change that raced the read is not undone by it", "[near]") {
  NearMap map(100);
  map.listening(true);
  const Ticket ticket = map.ask("categories", t0);
  // Redis changed the key after it answered the lookup, and the listener
  // heard of it before the worker kept the answer.
  map.changed("categories");
  map.keep(ticket, found(1, "[old list]"));
  CHECK_FALSE(map.get("categories", t0));

  SECTION("a later read keeps") {
    map.keep(map.ask("categories", t0), found(1, "[new list]"));
    CHECK(map.get("categories", t0)->body == "[new list]");
  }
  SECTION("reads in flight together keep until a change, and none after it") {
    const Ticket one = map.ask("categories", t0);
    const Ticket two = map.ask("categories", t0);
    map.keep(one, found(1, "[a]"));
    CHECK(map.get("categories", t0)->body == "[a]");
    // A held entry stays served while another read is asked.
    const Ticket three = map.ask("categories", t0);
    CHECK(map.get("categories", t0)->body == "[a]");
    map.changed("categories");
    map.keep(two, found(1, "[a]"));
    map.keep(three, found(1, "[a]"));
    CHECK_FALSE(map.get("categories", t0));
  }
}

TEST_CASE("near: of reads in flight together, an older version does not replace a newer one",
          "[near]") {
  NearMap map(100);
  map.listening(true);
  const Ticket before = map.ask("categories", t0);
  const Ticket after = map.ask("categories", t0);
  // The key changed between the two reads; its notice is still on its way.
  map.keep(after, found(1, "[new]", 5000ms, "00000000000000000000000b"));
  map.keep(before, found(1, "[old]", 5000ms, "00000000000000000000000a"));
  CHECK(map.get("categories", t0)->body == "[new]");
  // A row read from the database (version "0") is older than any change.
  map.keep(map.ask("categories", t0), found(1, "[loaded]", 5000ms, "0"));
  CHECK(map.get("categories", t0)->body == "[new]");
}

TEST_CASE("near: entries are served within the live mark's lease only", "[near]") {
  NearMap map(100);
  map.listening(true);
  map.keep(map.ask("categories", t0), found(1, "[list]", 2000ms));
  CHECK(map.get("categories", t0 + 1999ms));
  // Counted from the ask: the mark may have been renewed, but the cache
  // has not read it since.
  CHECK_FALSE(map.get("categories", t0 + 2000ms));
  // A mark without expiry (0) is not one to trust.
  NearMap other(100);
  other.listening(true);
  other.keep(other.ask("categories", t0), found(1, "[list]", 0ms));
  CHECK_FALSE(other.get("categories", t0));
}

TEST_CASE("near: a change of the live mark stops serving until a read sees it again", "[near]") {
  NearMap map(100);
  hold(map, "categories", "[list]");
  const Ticket before = map.ask("category:toys", t0);
  map.live_changed();
  CHECK_FALSE(map.get("categories", t0));
  // A read sent before the change keeps its entry but cannot vouch for the
  // mark.
  map.keep(before, found(1, "{toys}"));
  CHECK_FALSE(map.get("category:toys", t0));
  // One sent after it can, and the entries of the same generation serve
  // again.
  map.keep(map.ask("product:1", t0 + 10ms), found(1, "{p1}"));
  CHECK(map.get("categories", t0 + 10ms)->body == "[list]");
  CHECK(map.get("category:toys", t0 + 10ms)->body == "{toys}");
}

TEST_CASE(
    "near: a new generation drops the old one's entries, and a read that crossed it keeps nothing",
    "[near]") {
  NearMap map(100);
  hold(map, "categories", "[list]");
  map.keep(map.ask("category:a", t0), found(1, "{a}"));
  const Ticket crossing = map.ask("product:9", t0);
  map.live_changed();  // the rebuild's new mark
  map.keep(map.ask("category:b", t0 + 1ms), found(2, "{b}"));
  CHECK(map.get("category:b", t0 + 1ms));
  CHECK_FALSE(map.get("categories", t0 + 1ms));
  CHECK_FALSE(map.get("category:a", t0 + 1ms));
  // Asked before the mark changed, it found the old generation.
  map.keep(crossing, found(1, "{p9, old}"));
  CHECK_FALSE(map.get("product:9", t0 + 2ms));
  CHECK(map.get("category:b", t0 + 2ms));

  SECTION("a generation counter that restarted lower is taken from a read after the change") {
    map.live_changed();
    map.keep(map.ask("category:c", t0 + 3ms), found(1, "{c}"));
    CHECK(map.get("category:c", t0 + 3ms)->body == "{c}");
    CHECK_FALSE(map.get("category:b", t0 + 3ms));
  }
  // Nothing live: nothing kept.
  map.keep(map.ask("category:c", t0 + 3ms), Lookup{});
  CHECK_FALSE(map.get("category:c", t0 + 3ms));
}

TEST_CASE("near: losing the connection drops everything, and a read from before keeps nothing",
          "[near]") {
  NearMap map(100);
  hold(map, "categories", "[list]");
  const Ticket before = map.ask("category:toys", t0);
  map.listening(false);
  CHECK_FALSE(map.get("categories", t0));
  CHECK(map.size() == 0);
  map.listening(true);
  map.keep(before, found(1, "{toys}"));
  CHECK_FALSE(map.get("category:toys", t0));
  CHECK(map.size() == 0);
}

TEST_CASE("near: a flush drops everything", "[near]") {
  NearMap map(100);
  hold(map, "categories", "[list]");
  map.changed_all();
  CHECK_FALSE(map.get("categories", t0));
}

TEST_CASE("near: the map holds at most its size", "[near]") {
  NearMap map(2);
  map.listening(true);
  for (int i = 0; i < 5; ++i) {
    const std::string key = "product:" + std::to_string(i);
    map.keep(map.ask(key, t0), found(1, "{}"));
  }
  CHECK(map.size() == 2);
  NearMap none(0);
  none.listening(true);
  none.keep(none.ask("categories", t0), found(1, "[list]"));
  CHECK(none.size() == 0);
}

TEST_CASE("near: invalidated keys are read against the cache's prefix", "[near]") {
  using Kind = NearKey::Kind;
  const std::string prefix = "millrace:public";
  CHECK(near_key(prefix, "millrace:public:live").kind == Kind::kLive);
  const NearKey entry = near_key(prefix, "millrace:public:g12:category:toys:x");
  CHECK(entry.kind == Kind::kEntry);
  CHECK(entry.entry == "category:toys:x");
  CHECK(near_key(prefix, "millrace:public:g3:categories").entry == "categories");
  CHECK(near_key(prefix, "millrace:public:owner").kind == Kind::kOther);
  CHECK(near_key(prefix, "millrace:public:gen").kind == Kind::kOther);
  CHECK(near_key(prefix, "millrace:public:g:categories").kind == Kind::kOther);
  CHECK(near_key(prefix, "millrace:public:g12").kind == Kind::kOther);
  CHECK(near_key(prefix, "millrace:publicity:live").kind == Kind::kOther);
  CHECK(near_key(prefix, "millrace:other:live").kind == Kind::kOther);
}
