#include "millrace/cache/reads.hpp"

#include <catch2/catch.hpp>

#include "fakes.hpp"

using namespace millrace;
using namespace millrace::cache;
using namespace millrace::cache::testing;

namespace {

struct CountingDatabase final : catalog::Reads {
  std::map<std::string, std::string, std::less<>> rows;
  int reads = 0;
  std::optional<std::string> category(std::string_view name) override {
    ++reads;
    const auto it = rows.find(name);
    if (it == rows.end()) return std::nullopt;
    return it->second;
  }
  std::string categories() override {
    ++reads;
    return "[list]";
  }
  std::optional<std::string> product(std::int64_t) override {
    ++reads;
    return std::nullopt;
  }
};

struct Rig {
  metrics::Registry registry{"api-test"};
  ReadProbe probe{registry};
  CountingDatabase* db;
  FakeStore* store;
  std::unique_ptr<CachedReads> reads;

  Rig() {
    auto d = std::make_unique<CountingDatabase>();
    auto s = std::make_unique<FakeStore>();
    db = d.get();
    store = s.get();
    db->rows["toys"] = "{toys}";
    store->live = 1;
    reads = std::make_unique<CachedReads>(
        std::move(d), std::move(s), probe,
        ReadOptions{std::chrono::milliseconds(1000), std::chrono::milliseconds(60'000)});
  }
};

}  // namespace

TEST_CASE("a miss reads the database and fills, the next read is a hit", "[reads]") {
  Rig rig;
  CHECK(rig.reads->category("toys") == "{toys}");
  CHECK(rig.db->reads == 1);
  CHECK(rig.reads->category("toys") == "{toys}");
  CHECK(rig.db->reads == 1);
  // Unknown keys are remembered as such.
  CHECK_FALSE(rig.reads->category("nope"));
  CHECK_FALSE(rig.reads->category("nope"));
  CHECK(rig.db->reads == 2);
  CHECK(rig.reads->categories() == "[list]");
  CHECK(rig.reads->categories() == "[list]");
  CHECK(rig.db->reads == 3);
}

TEST_CASE("a fill never overwrites what the invalidator wrote meanwhile", "[reads]") {
  Rig rig;
  rig.db->rows["toys"] = "{toys old}";
  rig.store->before_fill = [&] {
    rig.store->put(1, {{"category:toys", Entry{"000000000000001000000000", "{toys new}"}}},
                   std::chrono::milliseconds(1000));
  };
  CHECK(rig.reads->category("toys") == "{toys old}");  // what it read, once
  rig.store->before_fill = nullptr;
  CHECK(rig.reads->category("toys") == "{toys new}");
}

TEST_CASE("with nothing live, reads go to the database and fill nothing", "[reads]") {
  Rig rig;
  rig.store->live.reset();
  CHECK(rig.reads->category("toys") == "{toys}");
  CHECK(rig.reads->category("toys") == "{toys}");
  CHECK(rig.db->reads == 2);
  CHECK(rig.store->entries.empty());
}

TEST_CASE("an unreachable store sends reads to the database for a while", "[reads]") {
  Rig rig;
  rig.store->down = true;
  CHECK(rig.reads->category("toys") == "{toys}");
  rig.store->down = false;
  // Within retry_after the store is not tried again.
  CHECK(rig.reads->category("toys") == "{toys}");
  CHECK(rig.db->reads == 2);
  CHECK(rig.store->entries.empty());
  CHECK(rig.registry.scrape().find("millrace_cache_store_errors_total 1") != std::string::npos);
}
