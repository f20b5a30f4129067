// The archive's object-store destination over an in-memory store: a file
// stays in the spool until prepared, then goes up once, in parts, as an
// unfinished upload under its place, named by a marker under .staging/;
// publishing completes it (from memory, or from the marker after a crash)
// and deletes the marker, idempotently; an earlier version's staged copy is
// still published by copy; a store's failure reaches /readyz's
// archive_store and leaves neither a local file nor an upload behind; the
// handler's batches run over it as over a directory; and a spool directory
// is kept while its archiver runs. (A file written while it goes up:
// object_streaming_test.cpp.)
#include "object_destination.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "feed.hpp"
#include "handler.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/objstore/testing/memory_store.hpp"
#include "millrace/stream/batch.hpp"
#include "object_fixture.hpp"
#include "temp_dir.hpp"

using namespace millrace;
using namespace millrace::archive;
using namespace millrace::archive::detail;
using millrace::archive::testing::Fixture;
using millrace::archive::testing::TempDir;
using millrace::objstore::testing::MemoryStore;
namespace fs = std::filesystem;

namespace {

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
