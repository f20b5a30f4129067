// The stream loop when the broker has no record where a partition is to be
// read (out_of_range.cpp): retention past the stored offset, a stored
// offset past the log end (halted, once every answer for a while says so),
// and reports the log contradicts.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <type_traits>

#include "loop_rig.hpp"

using namespace millrace;
using namespace millrace::stream;
using namespace millrace::stream::testing;
using namespace std::chrono_literals;

namespace {

// One member on partitions 0 and 1 until partition 1 is read to its end and
// `done` holds, and 200 ms more (time for a halted partition to be wrongly
// read on); returns its stats, and the partitions it halted then.
struct Run {
  StreamStats stats;
  std::map<std::int32_t, std::string> halted;
};
template <typename Done>
Run run_until(FakeCluster& cluster, FakeDatabase& db, StreamConfig c, Done done) {
  RecordsHandler handler;
  metrics::Registry registry("test");
  TransactionalConsumer consumer(std::move(c), handler, "test", registry, ports(cluster, 1, db));
  cluster.assign(1, {0, 1});
  consumer.start();
  REQUIRE(within(30s, [&] {
    if (db.stored(1) != cluster.end(1)) return false;
    if constexpr (std::is_invocable_v<Done, const TransactionalConsumer&>) {
      return done(consumer);
    } else {
      return done();
    }
  }));
  std::this_thread::sleep_for(200ms);
  Run run{{}, consumer.halted()};
  consumer.stop();
  consumer.rethrow_failure();
  run.stats = consumer.stats();
  return run;
}

}  // namespace

TEST_CASE("retention past a stored offset halts that partition by default, the others go on",
          "[loop]") {
  FakeCluster cluster({{0, 1000}, {1, 1000}});
  cluster.delete_before(0, 500);
  FakeDatabase db;
  db.set_stored(0, 100);  // this group read up to 100 before it stopped
  const auto [stats, halted] = run_until(cluster, db, config(50, 10), [] { return true; });
  CHECK(db.stored(0) == 100);
  CHECK(cluster.read_end(0) == 0);
  CHECK(db.gaps().empty());
  CHECK(stats.lost == 0);
  CHECK(halted.contains(0));
  for (std::int64_t o = 0; o < 1000; ++o) CHECK(db.stored_records().count({1, o}) == 1);
}

TEST_CASE("with on-offset-gap=skip the deleted range is recorded as lost, then read on", "[loop]") {
  FakeCluster cluster({{0, 1000}, {1, 1000}});
  cluster.delete_before(0, 500);
  FakeDatabase db;
  db.set_stored(0, 100);
  auto c = config(50, 10);
  c.on_offset_gap = stream::OffsetGap::kSkip;
  const auto [stats, halted] =
      run_until(cluster, db, c, [&] { return db.stored(0) == cluster.end(0); });
  REQUIRE(db.gaps().size() == 1);
  CHECK(db.gaps()[0].from == 100);
  CHECK(db.gaps()[0].to == 500);
  CHECK(stats.lost == 400);
  CHECK(halted.empty());
  const auto stored = db.stored_records();
  for (std::int64_t o = 500; o < 1000; ++o) CHECK(stored.count({0, o}) == 1);
  CHECK(stored.count({0, 499}) == 0);
}

TEST_CASE("a stored offset past the log end halts the partition (offset_ahead)", "[loop]") {
  FakeCluster cluster({{0, 1000}, {1, 1000}});
  FakeDatabase db;
  db.set_stored(0, 5000);  // the topic was recreated
  auto c = config(50, 10);
  c.on_offset_gap = stream::OffsetGap::kSkip;  // skipping never applies past the end
  // Halted once every answer for ahead_confirm (300 ms here) says so.
  const auto [stats, halted] = run_until(cluster, db, c, [](const TransactionalConsumer& consumer) {
    return !consumer.halted().empty();
  });
  CHECK(db.stored(0) == 5000);
  CHECK(cluster.read_end(0) == 0);
  CHECK(db.gaps().empty());
  CHECK(stats.lost == 0);
  REQUIRE(halted.contains(0));
  CHECK_THAT(halted.at(0), Catch::Contains("stored offset 5000 is past the log end 1000"));
}

TEST_CASE("a log end one answer puts before the stored offset and the next past it is read on",
          "[loop]") {
  // A leader cut off from its peers still answers, with its shorter log,
  // until it learns it lost the partition: the nemesis saw a fetch
  // refused and the ends 2,334 and 2,237 reported 10 ms apart.
  FakeCluster cluster({{0, 1000}, {1, 1000}});
  FakeDatabase db;
  db.set_stored(0, 300);
  cluster.report_out_of_range_once(0);
  cluster.report_end_once(0, 200);
  const auto [stats, halted] =
      run_until(cluster, db, config(50, 10), [&] { return db.stored(0) == cluster.end(0); });
  CHECK(halted.empty());
  CHECK(db.gaps().empty());
  CHECK(stats.lost == 0);
  const auto stored = db.stored_records();
  for (std::int64_t o = 300; o < 1000; ++o) CHECK(stored.count({0, o}) == 1);
  CHECK(stored.count({0, 299}) == 0);
}

TEST_CASE("an out-of-range report the log contradicts is read on from the stored offset",
          "[loop]") {
  FakeCluster cluster({{0, 1000}, {1, 1000}});
  FakeDatabase db;
  db.set_stored(0, 300);
  cluster.report_out_of_range_once(0);
  const auto [stats, halted] =
      run_until(cluster, db, config(50, 10), [&] { return db.stored(0) == cluster.end(0); });
  CHECK(db.gaps().empty());
  CHECK(stats.lost == 0);
  CHECK(halted.empty());
  const auto stored = db.stored_records();
  CHECK(cluster.first_read(1, 0) == 300);
  for (std::int64_t o = 300; o < 1000; ++o) CHECK(stored.count({0, o}) == 1);
  CHECK(stored.count({0, 299}) == 0);
}
