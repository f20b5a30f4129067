// The archive's object-store destination over an in-memory store: a file
// stays in the spool until prepared, then goes up once, in parts, as an
// unfinished upload under its place, named by a marker under .staging/;
// publishing completes it (from memory, or from the marker after a crash)
// and deletes the marker, idempotently; an earlier version's staged copy is
// still published by copy; a store's failure reaches /readyz's
// archive_store and leaves neither a local file nor an upload behind; the
// handler's batches run over it as over a directory; a file opened at its
// place goes up while it is written; and the parts go up on threads at once.
#include "object_destination.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "feed.hpp"
#include "handler.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/objstore/testing/memory_store.hpp"
#include "millrace/stream/batch.hpp"
#include "parallel.hpp"
#include "temp_dir.hpp"

using namespace millrace;
using namespace millrace::archive;
using namespace millrace::archive::detail;
using millrace::archive::testing::TempDir;
using millrace::objstore::testing::MemoryStore;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  TempDir spool;
  MemoryStore* store = nullptr;  // owned by the destination (set below)
  MemoryStore* probe_store = nullptr;
  StoreHealth health{[this] {
                       auto s = std::make_unique<MemoryStore>();
                       probe_store = s.get();
                       return s;
                     }(),
                     std::chrono::seconds(3600), nullptr};
  // One thread here: the pool opens one store, and keeps it.
  std::unique_ptr<MemoryStore> first = [] {
    auto s = std::make_unique<MemoryStore>();
    s->part_bytes = 4;
    return s;
  }();
  ObjectDestination destination{[this] {
                                  REQUIRE(first);
                                  return std::unique_ptr<objstore::ObjectStore>(std::move(first));
                                },
                                spool.path.string(), "123.abc", 1, &health};
  Fixture() { store = first.get(); }

  std::string stage(const std::string& name, const std::string& bytes) {
    const auto path = destination.staging_path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    destination.sync_staged(name);
    return path;
  }
};

// What another process sees of the bucket `store` holds.
std::unique_ptr<MemoryStore> same_bucket(const MemoryStore& store) {
  auto s = std::make_unique<MemoryStore>();
  s->objects = store.objects;
  s->uploads = store.uploads;
  s->parts = store.parts;
  return s;
}

}  // namespace

TEST_CASE(
    "a staged file stays local until prepared, then goes up in parts under its place, "
    "unfinished, named by a marker",
    "[archive][objstore]") {
  Fixture f;
  const auto local = f.stage("t/0/5-w-1.avro", "0123456789");
  CHECK(local == (f.spool.path / "123.abc" / "t/0/5-w-1.avro").string());
  CHECK(fs::exists(local));
  CHECK(f.store->objects.empty());
  f.destination.prepare({{"t/0/5-w-1.avro", "ns/t/0/x.avro"}});
  CHECK_FALSE(fs::exists(local));
  // Nothing shows at its place yet; three parts of 4, 4 and 2 bytes wait.
  CHECK_FALSE(f.store->objects.contains("ns/t/0/x.avro"));
  REQUIRE(f.store->uploads.contains("ns/t/0/x.avro"));
  const std::string id = f.store->uploads.at("ns/t/0/x.avro");
  CHECK(f.store->parts.at("ns/t/0/x.avro " + id) ==
        std::map<int, std::string>{{1, "0123"}, {2, "4567"}, {3, "89"}});
  const auto marker = parse_marker(f.store->objects.at(".staging/t/0/5-w-1.avro"));
  REQUIRE(marker.has_value());
  CHECK(marker->key == "ns/t/0/x.avro");
  CHECK(marker->id == id);
  CHECK(f.destination.staged_in("t/0") == std::vector<std::string>{"t/0/5-w-1.avro"});
}

TEST_CASE(
    "publishing completes the upload and deletes the marker, again it is kAlready, with "
    "neither it is kMissing",
    "[archive][objstore]") {
  Fixture f;
  f.stage("t/0/5-w-1.avro", "0123456789");
  f.destination.prepare({{"t/0/5-w-1.avro", "ns/t/0/2026/x.avro"}});
  CHECK(f.destination.publish("t/0/5-w-1.avro", "ns/t/0/2026/x.avro") ==
        Destination::Published::kMoved);
  CHECK(f.store->objects.at("ns/t/0/2026/x.avro") == "0123456789");
  CHECK_FALSE(f.store->objects.contains(".staging/t/0/5-w-1.avro"));
  CHECK(f.store->uploads.empty());
  // Each byte went to the store once: no copy, no second put of the file.
  CHECK(f.store->calls["copy"] == 0);
  CHECK(f.store->calls["upload_part"] == 3);
  CHECK(f.destination.publish("t/0/5-w-1.avro", "ns/t/0/2026/x.avro") ==
        Destination::Published::kAlready);
  CHECK(f.destination.publish("t/0/9-w-2.avro", "ns/t/0/2026/y.avro") ==
        Destination::Published::kMissing);
}

TEST_CASE(
    "after a crash another process completes the upload the marker names, whatever step "
    "the crash came after",
    "[archive][objstore]") {
  Fixture f;
  f.stage("t/0/5-w-1.avro", "0123456789");
  f.destination.prepare({{"t/0/5-w-1.avro", "ns/t/0/x.avro"}});
  // The bucket as the crashed process left it, seen by another one.
  const auto after_crash = [&](bool completed) {
    auto s = same_bucket(*f.store);
    if (completed) {
      // Crashed between completing the upload and deleting the marker.
      REQUIRE(s->uploaded_parts({"ns/t/0/x.avro", s->uploads.at("ns/t/0/x.avro")}));
      s->complete_upload({"ns/t/0/x.avro", s->uploads.at("ns/t/0/x.avro")}, {"1", "2", "3"});
    }
    return s;
  };
  for (const bool completed : {false, true}) {
    DYNAMIC_SECTION("completed before the crash: " << completed) {
      TempDir spool;
      MemoryStore* seen = nullptr;
      ObjectDestination next(
          [&] {
            auto s = after_crash(completed);
            seen = s.get();
            return std::unique_ptr<objstore::ObjectStore>(std::move(s));
          },
          spool.path.string(), "456.def", 1, nullptr);
      CHECK(next.publish("t/0/5-w-1.avro", "ns/t/0/x.avro") ==
            (completed ? Destination::Published::kAlready : Destination::Published::kMoved));
      REQUIRE(seen != nullptr);
      CHECK(seen->objects.at("ns/t/0/x.avro") == "0123456789");
      CHECK_FALSE(seen->objects.contains(".staging/t/0/5-w-1.avro"));
      CHECK(seen->uploads.empty());
    }
  }
}

TEST_CASE("a marker that names another place than the row's is refused, not completed",
          "[archive][objstore]") {
  Fixture f;
  f.stage("t/0/5-w-1.avro", "0123456789");
  f.destination.prepare({{"t/0/5-w-1.avro", "ns/t/0/x.avro"}});
  TempDir spool;
  ObjectDestination next(
      [&] { return std::unique_ptr<objstore::ObjectStore>(same_bucket(*f.store)); },
      spool.path.string(), "456.def", 1, nullptr);
  CHECK_THROWS_WITH(next.publish("t/0/5-w-1.avro", "ns/t/0/elsewhere.avro"),
                    Catch::Contains("names an upload to ns/t/0/x.avro"));
}

TEST_CASE("an earlier version's staged copy is still published by copy", "[archive][objstore]") {
  Fixture f;
  f.store->objects[".staging/t/0/5-w-1.avro"] = std::string("Obj\x01") + "avro bytes";
  CHECK(f.destination.publish("t/0/5-w-1.avro", "ns/t/0/x.avro") == Destination::Published::kMoved);
  CHECK(f.store->objects.at("ns/t/0/x.avro") == std::string("Obj\x01") + "avro bytes");
  CHECK_FALSE(f.store->objects.contains(".staging/t/0/5-w-1.avro"));
}

TEST_CASE(
    "markers, local copies and earlier versions' staged objects count as staged, and removing "
    "a staged name aborts its upload",
    "[archive][objstore]") {
  Fixture f;
  // An earlier version's staged object, and its unfinished upload.
  f.store->uploads[".staging/t/1/3-dead-1.avro"] = "U1";
  f.store->objects[".staging/t/1/3-dead-1.avro"] = "x";
  f.store->objects[".staging/t/1/7-dead-2.avro"] = "x";
  f.stage("t/1/9-dead-3.avro", "0123456789");
  f.destination.prepare({{"t/1/9-dead-3.avro", "ns/t/1/x.avro"}});
  f.stage("t/1/11-dead-4.avro", "never uploaded");
  const auto names = f.destination.staged_in("t/1");
  CHECK(names == std::vector<std::string>{"t/1/11-dead-4.avro", "t/1/3-dead-1.avro",
                                          "t/1/7-dead-2.avro", "t/1/9-dead-3.avro"});
  for (const auto& name : names) f.destination.remove_staged(name);
  CHECK(f.store->uploads.empty());
  CHECK(f.store->parts.empty());
  CHECK(f.store->objects.empty());
  CHECK(f.destination.staged_in("t/1").empty());
}

TEST_CASE(
    "a store that refuses is reported to archive_store and leaves no local file and no "
    "upload, the next success clears it",
    "[archive][objstore]") {
  Fixture f;
  f.store->before = [](const std::string& op) {
    if (op == "upload_part") {
      throw objstore::StoreError(objstore::ErrorKind::kCredentials,
                                 "S3 PUT x: 403 InvalidAccessKeyId");
    }
  };
  const auto local = f.stage("t/0/5-w-1.avro", "bytes");
  try {
    f.destination.prepare({{"t/0/5-w-1.avro", "ns/t/0/x.avro"}});
    FAIL("no throw");
  } catch (const objstore::StoreError& e) {
    CHECK_THAT(e.what(), Catch::Contains("403 InvalidAccessKeyId"));
    CHECK_THAT(e.what(), Catch::Contains("refused the credentials"));
  }
  CHECK_FALSE(fs::exists(local));
  CHECK(f.store->uploads.empty());
  CHECK(f.store->objects.empty());
  const auto problem = f.health.problem();
  REQUIRE(problem.has_value());
  CHECK(problem->check == "archive_store");
  CHECK_THAT(problem->detail, Catch::Contains("InvalidAccessKeyId"));
  f.store->before = nullptr;
  f.stage("t/0/5-w-2.avro", "bytes");
  f.destination.prepare({{"t/0/5-w-2.avro", "ns/t/0/x.avro"}});
  CHECK_FALSE(f.health.problem().has_value());
}

TEST_CASE("an idle archiver's readiness asks the store itself", "[archive][objstore]") {
  MemoryStore* own = nullptr;
  auto store = std::make_unique<MemoryStore>();
  own = store.get();
  StoreHealth health(std::move(store), std::chrono::seconds(0), nullptr);
  CHECK_FALSE(health.problem().has_value());
  CHECK(own->calls["check"] == 1);
  own->before = [](const std::string&) {
    throw objstore::StoreError(objstore::ErrorKind::kNetwork, "GET x: no answer");
  };
  const auto problem = health.problem();
  REQUIRE(problem.has_value());
  CHECK_THAT(problem->detail, Catch::Contains("did not answer"));
}

TEST_CASE(
    "the handler's batches over an object store: superseded attempts' uploads are aborted "
    "after the commit",
    "[archive][objstore]") {
  Fixture f;
  HandlerSettings s;
  s.group = "g";
  s.topic = "store-events";
  s.ns = "millrace";
  s.policy.window_ms = 300'000;
  s.policy.max_bytes = 2'000'000;
  s.writer_id = "w";
  std::int64_t now = 1795473600000 + 10'000;
  s.now_ms = [&] { return now; };
  ArchiveHandler handler(s, f.destination, nullptr);
  // What a crashed attempt left: an upload under its place, named by its
  // marker, from offset 0.
  f.stage("store-events/0/0-dead-1.avro", "dead");
  f.destination.prepare({{"store-events/0/0-dead-1.avro", "millrace/store-events/0/x.avro"}});
  REQUIRE(f.store->uploads.size() == 1);
  stream::Batch batch;
  auto state = handler.open_batch();
  for (std::int64_t o = 0; o < 3; ++o) {
    millrace::archive::testing::feed(handler, batch, *state, 0, o, 0, now);
  }
  handler.before_commit(*state);
  // Uploaded before the transaction, under its place in the layout (the
  // window's start, 2026-11-23 22:40:00), unfinished.
  CHECK(f.store->uploads.size() == 2);
  CHECK(f.store->uploads.contains("millrace/store-events/0/2026/11/23/22/40/00.avro"));
  CHECK(f.store->objects.size() == 2);  // the markers
  handler.after_commit(batch, *state);
  // Both started below the committed offset: aborted, their markers
  // deleted. (write(), which needs PostgreSQL, would have recorded the
  // batch's own file, and after_commit() completed it.)
  CHECK(f.store->uploads.empty());
  CHECK(f.store->objects.empty());
}

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

TEST_CASE(
    "a spool directory is kept while its archiver runs and removed once it is gone, even "
    "with the same pid",
    "[archive][objstore]") {
  TempDir spool;
  const auto root = spool.path;
  auto running = std::make_unique<SpoolDir>(root.string(), "1.aaaa");
  std::ofstream(root / "1.aaaa" / "open.avro") << "x";
  // A container's earlier run: pid 1 too, its lock file there but free.
  {
    SpoolDir gone(root.string(), "1.bbbb");
    std::ofstream(root / "1.bbbb" / "left.avro") << "y";
  }
  SpoolDir next(root.string(), "1.cccc");
  CHECK(fs::exists(root / "1.aaaa" / "open.avro"));
  CHECK_FALSE(fs::exists(root / "1.bbbb"));
  CHECK_FALSE(fs::exists(root / "1.bbbb.lock"));
  CHECK(fs::is_directory(root / "1.cccc"));
  running.reset();
  SpoolDir after(root.string(), "1.dddd");
  CHECK_FALSE(fs::exists(root / "1.aaaa"));
}
