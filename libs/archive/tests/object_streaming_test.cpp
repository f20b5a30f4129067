// The archive's object-store destination sending a file while it is
// written: whole parts as they fill, what a file holds when the loop has
// caught up (where the store takes a part that short), the rest when
// prepared; a file given up leaves nothing, or its marker to the cleanup;
// and the parts go up on threads at once.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "object_destination.hpp"
#include "object_fixture.hpp"
#include "parallel.hpp"

using namespace millrace;
using namespace millrace::archive;
using namespace millrace::archive::detail;
using millrace::archive::testing::Fixture;
namespace fs = std::filesystem;

namespace {

// Writes `bytes` more to the file being written at `path`, and says so.
void write_more(Fixture& f, const std::string& name, std::ofstream& out, const std::string& bytes,
                std::int64_t& size) {
  out << bytes;
  REQUIRE(out.flush());
  size += static_cast<std::int64_t>(bytes.size());
  f.destination.grew(name, size);
}

// Says the file grew until `sent` parts have gone to the store (the first
// growth may come before its upload is begun, and then sends nothing).
bool until_sent(Fixture& f, const std::string& name, std::int64_t size,
                const std::atomic<int>& sent, int parts) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (sent.load() < parts) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    f.destination.grew(name, size);
  }
  return true;
}

// A file opened at "ns/t/0/x.avro", written a little at a time, its parts
// counted as they go up.
struct Opened {
  Fixture f;
  std::atomic<int> sent{0};
  const std::string name = "t/0/5-w-1.avro";
  std::ofstream out;
  std::int64_t size = 0;

  Opened(std::int64_t part_bytes, std::int64_t min_part_bytes = 1) {
    f.store->part_bytes = part_bytes;
    f.store->min_part_bytes = min_part_bytes;
    f.store->before = [this](const std::string& op) {
      if (op == "upload_part") ++sent;
    };
    out.open(f.destination.staging_path(name), std::ios::binary);
    f.destination.opened(name, "ns/t/0/x.avro", 1000);
  }
  void write(const std::string& bytes) { write_more(f, name, out, bytes, size); }
  // Until `parts` have gone up, saying the file grew meanwhile.
  bool until(int parts) { return until_sent(f, name, size, sent, parts); }
  void prepare() {
    out.close();
    f.destination.prepare({{name, "ns/t/0/x.avro"}});
  }
  std::map<int, std::string> parts() const {
    return f.store->parts.at("ns/t/0/x.avro " + f.store->uploads.at("ns/t/0/x.avro"));
  }
};

}  // namespace

TEST_CASE(
    "a file opened at its place goes up while it is written: whole parts as they fill, the "
    "rest when prepared",
    "[archive][objstore]") {
  Opened o(4);
  o.write("012345678");
  REQUIRE(o.until(2));
  o.write("9ab");  // a third part: "89ab"
  REQUIRE(o.until(3));
  o.write("c");  // not a whole part: it waits for prepare()
  o.prepare();
  CHECK(o.sent == 4);
  CHECK(o.parts() == std::map<int, std::string>{{1, "0123"}, {2, "4567"}, {3, "89ab"}, {4, "c"}});
  Fixture& f = o.f;
  const auto marker = parse_marker(f.store->objects.at(".staging/t/0/5-w-1.avro"));
  REQUIRE(marker.has_value());
  CHECK(marker->id == f.store->uploads.at("ns/t/0/x.avro"));
  CHECK_FALSE(fs::exists(f.spool.path / "123.abc" / o.name));
  CHECK(f.destination.publish(o.name, "ns/t/0/x.avro") == Destination::Published::kMoved);
  CHECK(f.store->objects.at("ns/t/0/x.avro") == "0123456789abc");
  CHECK(f.store->objects.size() == 1);
  CHECK(f.store->calls["copy"] == 0);
}

TEST_CASE(
    "what a file holds when the loop has caught up goes up as a part of its own, where the store "
    "takes one that short",
    "[archive][objstore]") {
  Opened o(8);
  o.write("0123456789");
  REQUIRE(o.until(1));                // "01234567"
  o.f.destination.caught_up(o.name);  // "89": a quarter of a part at least
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (o.sent < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(o.sent == 2);
  o.write("a");
  o.f.destination.caught_up(o.name);  // "a": too short for a part of its own
  o.write("bcdefghijk");
  REQUIRE(o.until(3));  // "abcdefgh", a whole part again
  o.prepare();
  CHECK(o.sent == 4);
  CHECK(o.parts() ==
        std::map<int, std::string>{{1, "01234567"}, {2, "89"}, {3, "abcdefgh"}, {4, "ijk"}});
  CHECK(o.f.destination.publish(o.name, "ns/t/0/x.avro") == Destination::Published::kMoved);
  CHECK(o.f.store->objects.at("ns/t/0/x.avro") == "0123456789abcdefghijk");
}

TEST_CASE("a store that takes no part that short gets none when the loop has caught up",
          "[archive][objstore]") {
  Opened o(8, 5);
  o.write("0123456789ab");
  REQUIRE(o.until(1));
  o.f.destination.caught_up(o.name);  // "89ab": 4 bytes, under the store's 5
  o.prepare();
  CHECK(o.parts() == std::map<int, std::string>{{1, "01234567"}, {2, "89ab"}});
}

TEST_CASE(
    "a file given up while it is written leaves no upload, no marker and no local copy, and one "
    "whose upload could not begin leaves its marker to the cleanup",
    "[archive][objstore]") {
  Fixture f;
  std::atomic<int> sent{0};
  std::atomic<bool> refuse{false};
  f.store->before = [&](const std::string& op) {
    if (op == "upload_part") ++sent;
    if (op == "begin_upload" && refuse) {
      throw objstore::StoreError(objstore::ErrorKind::kServer, "S3 POST: 503 SlowDown");
    }
  };
  const std::string name = "t/0/5-w-1.avro";
  const auto local = f.destination.staging_path(name);
  {
    std::ofstream out(local, std::ios::binary);
    f.destination.opened(name, "ns/t/0/x.avro", 1000);
    std::int64_t size = 0;
    write_more(f, name, out, "01234567", size);
    REQUIRE(until_sent(f, name, size, sent, 2));
  }
  f.destination.abandoned(name);
  // The upload threads take tasks in turn (one here): the next file's
  // upload begins once the first is dropped.
  refuse = true;
  const std::string next = "t/0/9-w-2.avro";
  std::ofstream(f.destination.staging_path(next), std::ios::binary) << "89";
  f.destination.opened(next, "ns/t/0/y.avro", 1000);
  CHECK_THROWS_WITH(f.destination.prepare({{next, "ns/t/0/y.avro"}}),
                    Catch::Contains("503 SlowDown"));
  CHECK_FALSE(fs::exists(local));
  CHECK_FALSE(fs::exists(f.spool.path / "123.abc" / next));
  CHECK(f.store->uploads.empty());
  // What the refused one wrote first: a marker without an upload's id,
  // which the cleanup after a later commit removes.
  CHECK(f.store->objects.size() == 1);
  const auto marker = parse_marker(f.store->objects.at(".staging/t/0/9-w-2.avro"));
  REQUIRE(marker.has_value());
  CHECK(marker->id.empty());
  // Which the destination says, once, for the next commit to list the
  // staging.
  CHECK(f.destination.left_staged() == std::vector<std::string>{next});
  CHECK(f.destination.left_staged().empty());
  // So does one given up while its upload could not begin.
  const std::string third = "t/0/11-w-3.avro";
  std::ofstream(f.destination.staging_path(third), std::ios::binary) << "ab";
  f.destination.opened(third, "ns/t/0/z.avro", 1000);
  f.destination.abandoned(third);
  std::vector<std::string> left;
  for (int i = 0; i < 500 && left.empty(); ++i) {
    left = f.destination.left_staged();
    if (left.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(left == std::vector<std::string>{third});
  CHECK(f.destination.left_staged().empty());
  refuse = false;
  CHECK(f.destination.staged_in("t/0") == std::vector<std::string>{third, next});
  f.destination.remove_staged(next);
  f.destination.remove_staged(third);
  CHECK(f.store->objects.empty());
}

TEST_CASE("parts go up at once, on the destination's threads, and the first failure stops them",
          "[archive][objstore]") {
  Parallel parallel(3);
  // The first three steps each wait for all three to have begun: they can
  // only end if they run at once.
  std::mutex mutex;
  std::condition_variable cv;
  int begun = 0;
  std::atomic<int> ran{0};
  std::atomic<bool> together{true};
  parallel.run(9, [&](std::size_t i) {
    if (i < 3) {
      std::unique_lock lock(mutex);
      ++begun;
      cv.notify_all();
      if (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return begun >= 3; })) {
        together = false;
      }
    }
    ++ran;
  });
  CHECK(together);
  CHECK(ran == 9);
  ran = 0;
  CHECK_THROWS_WITH(parallel.run(100,
                                 [&](std::size_t i) {
                                   ++ran;
                                   if (i == 0) throw std::runtime_error("part 1 refused");
                                   std::this_thread::sleep_for(std::chrono::milliseconds(5));
                                 }),
                    "part 1 refused");
  CHECK(ran < 100);
}
