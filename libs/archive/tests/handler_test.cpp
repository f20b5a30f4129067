// The archiver's handler without a broker or a database: records go into
// their partition's file, a batch is one time window, a full size window
// starts a new file that covers the log from where the last one ended, and
// what a revoked or superseded attempt staged is removed. (write(), which
// records the files in PostgreSQL, runs in tests/integration.)
#include "handler.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "feed.hpp"
#include "millrace/kafka/consumer.hpp"
#include "millrace/stream/batch.hpp"
#include "temp_dir.hpp"

using namespace millrace;
using namespace millrace::archive;
using namespace millrace::archive::detail;
namespace fs = std::filesystem;
using millrace::archive::testing::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  DirectoryDestination destination{dir.path.string()};
  std::int64_t now = 1795473600000 + 10'000;  // 10 s into a 5-minute window
  // The stream loop's clock, which moves with `now` where a test says so.
  std::chrono::steady_clock::time_point steady{std::chrono::hours(1)};
  ArchiveHandler handler{[this] {
                           HandlerSettings s;
                           s.group = "g";
                           s.topic = "store-events";
                           s.ns = "millrace";
                           s.policy.window_ms = 300'000;
                           s.policy.max_bytes = 2'000;
                           s.writer_id = "w";
                           s.now_ms = [this] { return now; };
                           s.steady_now = [this] { return steady; };
                           return s;
                         }(),
                         destination, nullptr};

  // One record through the handler, as the stream loop passes it.
  void feed(stream::Batch& batch, stream::BatchState& state, std::int32_t partition,
            std::int64_t offset, std::int64_t read_from, std::size_t body_size = 100) {
    testing::feed(handler, batch, state, partition, offset, read_from, now,
                  std::string(body_size, 'x'));
  }

  std::vector<std::string> staged(std::int32_t partition) {
    auto names = destination.staged_in("store-events/" + std::to_string(partition));
    std::sort(names.begin(), names.end());
    return names;
  }

  // A file of partition 1 staged by `writer`, from `from`.
  void stage(std::int64_t from, const std::string& writer) {
    CaptureFileWriter w(destination, staged_name("store-events", 1, from, writer, 1), 1);
    w.finish();
  }
  bool has(std::int64_t from, const std::string& writer) {
    for (const auto& name : staged(1)) {
      if (staged_by(name, writer) && staged_from(name) == from) return true;
    }
    return false;
  }
  // One batch of partition 1's [from, to), read from `read_from`, committed.
  void commit(std::int64_t from, std::int64_t to, std::int64_t read_from) {
    auto state = handler.open_batch();
    stream::Batch batch;
    for (std::int64_t o = from; o < to; ++o) feed(batch, *state, 1, o, read_from);
    handler.before_commit(*state);
    handler.after_commit(batch, *state);
  }
};

}  // namespace

TEST_CASE("a staged name carries where its file's log range starts", "[archive][handler]") {
  const auto name = staged_name("store-events", 3, 1200, "77.abcd", 9);
  CHECK(name == "store-events/3/1200-77.abcd-9.avro");
  CHECK(staged_from(name) == std::optional<std::int64_t>(1200));
  CHECK_FALSE(staged_from("store-events/3/notes.txt").has_value());
  CHECK_FALSE(staged_from("store-events/3/12.avro").has_value());
  CHECK_FALSE(staged_from("store-events/3/-5-w-1.avro").has_value());
}

TEST_CASE("a batch is one window: it is sealed when the window ends", "[archive][handler]") {
  Fixture f;
  auto state = f.handler.open_batch();
  stream::Batch batch;
  f.feed(batch, *state, 0, 7, 7);
  // The loop asks with its own clock (f.steady at the batch's first record,
  // here); the wall clock (f.now) is read at that record only.
  const auto t0 = f.steady;
  CHECK(f.handler.seal_in(*state, t0) == std::chrono::milliseconds(290'000));
  // A clock the loop read before a wait of its own (a commit's end) says
  // more is left, never less: the window is not cut short.
  CHECK(f.handler.seal_in(*state, t0 - std::chrono::milliseconds(500)) ==
        std::chrono::milliseconds(290'500));
  f.now += 289'000;
  CHECK(f.handler.seal_in(*state, t0 + std::chrono::milliseconds(289'000)) ==
        std::chrono::milliseconds(1'000));
  // Less than a millisecond left is not the window's end: a record read
  // then still belongs to it, and the next window's first must not.
  CHECK(f.handler.seal_in(*state, t0 + std::chrono::microseconds(289'999'700)) ==
        std::chrono::milliseconds(1));
  f.now += 2'000;
  CHECK(f.handler.seal_in(*state, t0 + std::chrono::milliseconds(291'000)) <=
        std::chrono::milliseconds(0));
  // A step of the wall clock once the window is open does not move its end.
  f.steady = t0 + std::chrono::milliseconds(291'000);
  auto next = f.handler.open_batch();
  stream::Batch later;
  f.feed(later, *next, 0, 8, 8);  // 1 s into the next window
  f.now -= 60'000;
  CHECK(f.handler.seal_in(*next, f.steady + std::chrono::milliseconds(1'000)) ==
        std::chrono::milliseconds(298'000));
  // Outcome: every record counted once, as archived.
  CHECK(batch.at(0).tally.of(core::Outcome::kPersisted) == 1);
}

TEST_CASE("a full size window starts the next file where the last one ended",
          "[archive][handler]") {
  Fixture f;
  auto state = f.handler.open_batch();
  stream::Batch batch;
  // The batch began reading partition 1 at 40 (a transaction marker there):
  // the first file covers the log from 40.
  for (std::int64_t o = 41; o < 81; ++o) f.feed(batch, *state, 1, o, 40);
  f.feed(batch, *state, 2, 5, 5);
  f.handler.before_commit(*state);
  const auto names = f.staged(1);
  REQUIRE(names.size() >= 2);  // 40 records of ~150 bytes, 2,000-byte windows
  CHECK(staged_from(names.front()) == std::optional<std::int64_t>(40));
  // Each next file starts right after the previous one's last record, so
  // the files' ranges chain with no gap and no overlap.
  std::vector<std::int64_t> starts;
  for (const auto& n : names) starts.push_back(*staged_from(n));
  std::sort(starts.begin(), starts.end());
  CHECK(starts.front() == 40);
  for (std::size_t i = 1; i < starts.size(); ++i) CHECK(starts[i] > starts[i - 1] + 1);
  CHECK(f.staged(2).size() == 1);
}

TEST_CASE("a revoked partition's staged files go, the others stay", "[archive][handler]") {
  Fixture f;
  auto state = f.handler.open_batch();
  stream::Batch batch;
  for (std::int64_t o = 0; o < 30; ++o) f.feed(batch, *state, 1, o, 0);  // some finished
  f.feed(batch, *state, 2, 0, 0);
  REQUIRE_FALSE(f.staged(1).empty());
  state->discard(1);
  CHECK(f.staged(1).empty());
  CHECK(f.staged(2).size() == 1);
  // A batch dropped unsealed (a failed commit rewinds) removes its open
  // files too.
  state.reset();
  CHECK(f.staged(2).empty());
}

TEST_CASE("after a commit, what attempts that can no longer commit staged is removed",
          "[archive][handler]") {
  Fixture f;
  // Left by others: an attempt that crashed at 10, and one that a member
  // still writing staged at 60 (past what this commit stores).
  for (const auto& [from, writer] : std::map<std::int64_t, std::string>{{10, "dead"}, {60, "x"}}) {
    CaptureFileWriter w(f.destination, staged_name("store-events", 1, from, writer, 1), 1);
    w.finish();
  }
  auto state = f.handler.open_batch();
  stream::Batch batch;
  for (std::int64_t o = 10; o < 15; ++o) f.feed(batch, *state, 1, o, 10);
  f.handler.before_commit(*state);
  // The commit stored 15 for partition 1; nothing was recorded to publish
  // (write() runs against PostgreSQL), so this batch's own staged file
  // starting at 10 is removed like the dead attempt's.
  f.handler.after_commit(batch, *state);
  const auto left = f.staged(1);
  REQUIRE(left.size() == 1);
  CHECK(staged_from(left[0]) == std::optional<std::int64_t>(60));
}

TEST_CASE(
    "a partition this member keeps committing is listed again only after a failure, another "
    "member's commit or a minute",
    "[archive][handler]") {
  Fixture f;
  const auto dead = [&](std::int64_t from) { f.stage(from, "dead"); };
  const auto has = [&](std::int64_t from) { return f.has(from, "dead"); };
  const auto commit = [&](std::int64_t from, std::int64_t to, std::int64_t read_from) {
    f.commit(from, to, read_from);
  };
  commit(0, 5, 0);  // the first: listed
  dead(2);
  commit(5, 10, 5);  // where the last ended, within the minute: not listed
  CHECK(has(2));
  f.now += 60'000;
  commit(10, 15, 10);  // a minute on
  CHECK_FALSE(has(2));

  // A batch dropped before its commit (a failed one rewinds).
  dead(12);
  {
    auto state = f.handler.open_batch();
    stream::Batch batch;
    f.feed(batch, *state, 1, 15, 15);
  }
  commit(15, 20, 15);
  CHECK_FALSE(has(12));

  // Another member committed up to 30 meanwhile.
  dead(22);
  commit(20, 25, 20);
  CHECK(has(22));
  commit(30, 35, 30);
  CHECK_FALSE(has(22));
}

TEST_CASE(
    "what an attempt left beyond the offset a listing could remove is listed again at the next "
    "commits until one passes it",
    "[archive][handler]") {
  Fixture f;
  const auto stage = [&](std::int64_t from, const std::string& writer) { f.stage(from, writer); };
  const auto has = [&](std::int64_t from, const std::string& writer) {
    return f.has(from, writer);
  };
  const auto commit = [&](std::int64_t from, std::int64_t to, std::int64_t read_from) {
    f.commit(from, to, read_from);
  };
  commit(0, 5, 0);  // the first: listed

  // A batch of this member's read 5 to 60 and was dropped before its
  // commit: its full files (a size window of about 20 records) stay staged.
  {
    auto state = f.handler.open_batch();
    stream::Batch batch;
    for (std::int64_t o = 5; o < 60; ++o) f.feed(batch, *state, 1, o, 5);
  }
  const auto own = f.staged(1);
  REQUIRE(own.size() >= 2);
  std::optional<std::int64_t> last_from;
  for (const auto& name : own) last_from = std::max(last_from, staged_from(name));
  REQUIRE(last_from.has_value());
  REQUIRE(*last_from > 10);
  // The commit after it reads less (its window ends sooner): what starts
  // below 10 goes, the rest waits for the commits that pass it, each
  // listed although it starts where the last one ended.
  commit(5, 10, 5);
  CHECK_FALSE(has(5, "w"));
  CHECK(has(*last_from, "w"));
  commit(10, *last_from + 1, 10);
  CHECK_FALSE(has(*last_from, "w"));
  // Then a commit where the last one ended is not listed again.
  stage(3, "dead");
  commit(*last_from + 1, *last_from + 5, *last_from + 1);
  CHECK(has(3, "dead"));

  // Another member's file found beyond the commit that listed it (the
  // minute's listing here) keeps the partition listed until a commit
  // passes it.
  const std::int64_t at = *last_from + 5;
  stage(at + 20, "x");
  f.now += 60'000;
  commit(at, at + 5, at);
  CHECK_FALSE(has(3, "dead"));
  CHECK(has(at + 20, "x"));
  stage(4, "dead");
  commit(at + 5, at + 10, at + 5);
  CHECK_FALSE(has(4, "dead"));
  commit(at + 10, at + 25, at + 10);
  CHECK_FALSE(has(at + 20, "x"));
  stage(6, "dead");
  commit(at + 25, at + 30, at + 25);
  CHECK(has(6, "dead"));
}

namespace {

// A destination whose listing fails while `refuse` is set.
class Refusing final : public Destination {
 public:
  explicit Refusing(const fs::path& root) : inner_(root.string()) {}
  bool refuse = false;

  std::string staging_path(const std::string& name) override { return inner_.staging_path(name); }
  void sync_staged(const std::string& name) override { inner_.sync_staged(name); }
  void prepare(const Placed& files) override { inner_.prepare(files); }
  Published publish(const std::string& name, const std::string& relative) override {
    return inner_.publish(name, relative);
  }
  std::vector<std::string> staged_in(const std::string& dir) override {
    if (refuse) throw std::runtime_error("the store did not answer");
    return inner_.staged_in(dir);
  }
  void remove_staged(const std::string& name) override { inner_.remove_staged(name); }

 private:
  DirectoryDestination inner_;
};

}  // namespace

TEST_CASE("a listing that fails is done again at the partition's next commit",
          "[archive][handler]") {
  TempDir dir;
  Refusing destination(dir.path);
  std::int64_t now = 1795473600000;
  HandlerSettings s;
  s.group = "g";
  s.topic = "store-events";
  s.ns = "millrace";
  s.policy.window_ms = 300'000;
  s.writer_id = "w";
  s.now_ms = [&] { return now; };
  ArchiveHandler handler(s, destination, nullptr);
  const auto commit = [&](std::int64_t from, std::int64_t to) {
    auto state = handler.open_batch();
    stream::Batch batch;
    for (std::int64_t o = from; o < to; ++o) {
      testing::feed(handler, batch, *state, 0, o, from, now);
    }
    handler.before_commit(*state);
    handler.after_commit(batch, *state);
  };
  const std::string dead = staged_name("store-events", 0, 1, "dead", 1);
  CaptureFileWriter(destination, dead, 0).finish();
  destination.refuse = true;
  commit(0, 5);  // the first commit's listing fails: logged, not thrown
  destination.refuse = false;
  auto left = destination.staged_in("store-events/0");
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"store-events/0/0-w-1.avro", dead});
  commit(5, 10);  // where the last ended, and listed
  CHECK(destination.staged_in("store-events/0").empty());
}

namespace {

// A directory that notes where each file is placed as it opens.
class Placing final : public Destination {
 public:
  explicit Placing(const fs::path& root) : inner_(root.string()) {}
  std::vector<std::string> places;  // in the order the files opened

  std::string staging_path(const std::string& name) override { return inner_.staging_path(name); }
  void sync_staged(const std::string& name) override { inner_.sync_staged(name); }
  void opened(const std::string&, const std::string& relative, std::int64_t) override {
    places.push_back(relative);
  }
  void prepare(const Placed& files) override { inner_.prepare(files); }
  Published publish(const std::string& name, const std::string& relative) override {
    return inner_.publish(name, relative);
  }
  std::vector<std::string> staged_in(const std::string& dir) override {
    return inner_.staged_in(dir);
  }
  void remove_staged(const std::string& name) override { inner_.remove_staged(name); }

 private:
  DirectoryDestination inner_;
};

}  // namespace

TEST_CASE(
    "a file's place is chosen as it opens: after the files of the commit in flight it follows, "
    "else after what is recorded",
    "[archive][handler]") {
  TempDir dir;
  Placing destination(dir.path);
  const std::int64_t window = 1795473600000;  // 2026-11-23 22:40:00 UTC
  std::int64_t now = window + 100;
  HandlerSettings s;
  s.group = "g";
  s.topic = "store-events";
  s.ns = "millrace";
  s.policy.window_ms = 1000;
  s.policy.max_bytes = 1;  // a file a record
  s.writer_id = "w";
  s.now_ms = [&] { return now; };
  ArchiveHandler handler(s, destination, nullptr);
  const auto feed = [&](stream::Batch& batch, stream::BatchState& state, std::int64_t offset,
                        std::int64_t read_from) {
    testing::feed(handler, batch, state, 0, offset, read_from, now);
  };
  // One window's three files, a second apart from the window's start on.
  stream::Batch first;
  auto in_flight = handler.open_batch();
  for (std::int64_t o = 0; o < 3; ++o) feed(first, *in_flight, o, 0);
  handler.before_commit(*in_flight);
  // The next window, while that commit is in flight: after its last file.
  now += 1000;
  stream::Batch next;
  auto following = handler.open_batch();
  feed(next, *following, 3, 3);
  // Read again from offset 1 (that commit failed): after what is recorded
  // (nothing here), at the window's start.
  stream::Batch again;
  auto retried = handler.open_batch();
  feed(again, *retried, 1, 1);
  CHECK(destination.places ==
        std::vector<std::string>{"millrace/store-events/0/2026/11/23/22/40/00.avro",
                                 "millrace/store-events/0/2026/11/23/22/40/01.avro",
                                 "millrace/store-events/0/2026/11/23/22/40/02.avro",
                                 "millrace/store-events/0/2026/11/23/22/40/03.avro",
                                 "millrace/store-events/0/2026/11/23/22/40/01.avro"});
}
