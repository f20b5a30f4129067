// The archive's object-store destination over an in-memory store: files are
// uploaded under .staging/ before their commit and the local copy removed;
// publishing copies into place and deletes the staged object, idempotently;
// a store's failure reaches /readyz's archive_store and leaves no local
// file behind; and the handler's batches run over it as over a directory.
#include "object_destination.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "handler.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/objstore/testing/memory_store.hpp"
#include "millrace/stream/batch.hpp"
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
  std::unique_ptr<MemoryStore> first = std::make_unique<MemoryStore>();
  ObjectDestination destination{[this] {
                                  REQUIRE(first);
                                  return std::unique_ptr<objstore::ObjectStore>(std::move(first));
                                },
                                spool.path.string(), "123.abc", &health};
  Fixture() { store = first.get(); }

  std::string stage(const std::string& name, const std::string& bytes) {
    const auto path = destination.staging_path(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
};

}  // namespace

TEST_CASE("a staged file is uploaded under .staging/ and its local copy removed",
          "[archive][objstore]") {
  Fixture f;
  const auto local = f.stage("t/0/5-w-1.avro", "bytes");
  CHECK(local == (f.spool.path / "123.abc" / "t/0/5-w-1.avro").string());
  f.destination.sync_staged("t/0/5-w-1.avro");
  CHECK(f.store->objects.at(".staging/t/0/5-w-1.avro") == "bytes");
  CHECK_FALSE(fs::exists(local));
  CHECK(f.destination.staged_in("t/0") == std::vector<std::string>{"t/0/5-w-1.avro"});
}

TEST_CASE(
    "publishing copies into place and deletes the staged object, again it is kAlready, "
    "with neither it is kMissing",
    "[archive][objstore]") {
  Fixture f;
  f.stage("t/0/5-w-1.avro", "bytes");
  f.destination.sync_staged("t/0/5-w-1.avro");
  CHECK(f.destination.publish("t/0/5-w-1.avro", "ns/t/0/2026/x.avro") ==
        Destination::Published::kMoved);
  CHECK(f.store->objects.at("ns/t/0/2026/x.avro") == "bytes");
  CHECK_FALSE(f.store->objects.contains(".staging/t/0/5-w-1.avro"));
  CHECK(f.destination.publish("t/0/5-w-1.avro", "ns/t/0/2026/x.avro") ==
        Destination::Published::kAlready);
  CHECK(f.destination.publish("t/0/9-w-2.avro", "ns/t/0/2026/y.avro") ==
        Destination::Published::kMissing);
}

TEST_CASE("unfinished uploads count as staged, and removing a staged name aborts its upload",
          "[archive][objstore]") {
  Fixture f;
  f.store->uploads[".staging/t/1/3-dead-1.avro"] = "U1";
  f.store->objects[".staging/t/1/7-dead-2.avro"] = "x";
  const auto names = f.destination.staged_in("t/1");
  CHECK(names == std::vector<std::string>{"t/1/3-dead-1.avro", "t/1/7-dead-2.avro"});
  f.destination.remove_staged("t/1/3-dead-1.avro");
  f.destination.remove_staged("t/1/7-dead-2.avro");
  CHECK(f.store->uploads.empty());
  CHECK(f.store->objects.empty());
}

TEST_CASE(
    "a store that refuses is reported to archive_store and leaves no local file, "
    "the next success clears it",
    "[archive][objstore]") {
  Fixture f;
  f.store->before = [](const std::string& op) {
    if (op == "put") {
      throw objstore::StoreError(objstore::ErrorKind::kCredentials,
                                 "S3 PUT x: 403 InvalidAccessKeyId");
    }
  };
  const auto local = f.stage("t/0/5-w-1.avro", "bytes");
  try {
    f.destination.sync_staged("t/0/5-w-1.avro");
    FAIL("no throw");
  } catch (const objstore::StoreError& e) {
    CHECK_THAT(e.what(), Catch::Contains("403 InvalidAccessKeyId"));
    CHECK_THAT(e.what(), Catch::Contains("refused the credentials"));
  }
  CHECK_FALSE(fs::exists(local));
  const auto problem = f.health.problem();
  REQUIRE(problem.has_value());
  CHECK(problem->check == "archive_store");
  CHECK_THAT(problem->detail, Catch::Contains("InvalidAccessKeyId"));
  f.store->before = nullptr;
  f.stage("t/0/5-w-2.avro", "bytes");
  f.destination.sync_staged("t/0/5-w-2.avro");
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
    "the handler's batches over an object store: superseded attempts' uploads are removed "
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
  // What a crashed attempt left: an upload never finished, from offset 0.
  f.store->uploads[".staging/store-events/0/0-dead-1.avro"] = "U";
  stream::Batch batch;
  auto state = handler.open_batch();
  for (std::int64_t o = 0; o < 3; ++o) {
    auto& progress = batch.add(0, o, now);
    if (progress.consumed == 1) progress.read_from = 0;
    kafka::ConsumedRecord r;
    r.topic = "store-events";
    r.partition = 0;
    r.offset = o;
    r.payload = "{}";
    r.timestamp_ms = now;
    handler.handle(kafka::Message::from_record(std::move(r)), progress, *state);
  }
  handler.before_commit(*state);
  // Uploaded before the commit.
  REQUIRE(f.store->list(".staging/store-events/0/").size() == 1);
  handler.after_commit(batch, *state);
  // The dead attempt's upload started below the committed offset: aborted. (write(),
  // which needs PostgreSQL, would have recorded and published the batch's own file.)
  CHECK(f.store->uploads.empty());
}

TEST_CASE("the loop's and the commit's threads upload at once, each through a store of its own",
          "[archive][objstore]") {
  TempDir spool;
  std::atomic<int> opened{0};
  std::atomic<bool> overlapped{false};  // two puts in one store at once
  std::vector<MemoryStore*> stores;
  std::mutex stores_mutex;
  ObjectDestination destination(
      [&] {
        auto s = std::make_unique<MemoryStore>();
        MemoryStore* raw = s.get();
        // A store must never serve two operations at once.
        auto inside = std::make_shared<std::atomic<int>>(0);
        s->before = [inside, &overlapped](const std::string& op) {
          if (op != "put") return;
          if (++*inside > 1) overlapped = true;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          --*inside;
        };
        ++opened;
        std::lock_guard lock(stores_mutex);
        stores.push_back(raw);
        return std::unique_ptr<objstore::ObjectStore>(std::move(s));
      },
      spool.path.string(), "1.a", nullptr);
  const auto upload = [&](const std::string& name) {
    std::ofstream(destination.staging_path(name), std::ios::binary) << name;
    destination.sync_staged(name);
  };
  std::thread other([&] { upload("t/0/0-w-1.avro"); });
  upload("t/1/0-w-2.avro");
  other.join();
  // Two uploads overlapped in time (each put waits 50 ms), on two stores,
  // so no store ever had two puts in it at once.
  CHECK(opened == 2);
  std::size_t objects = 0;
  for (auto* s : stores) objects += s->objects.size();
  CHECK(objects == 2);
  CHECK_FALSE(overlapped);
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
