// The change feed's pipelined publishing: the next batch is read while one
// publishes, and a backfill reads no chunk while two wait behind it.
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "backfill_fakes.hpp"
#include "feed_fakes.hpp"
#include "millrace/changefeed/backfill.hpp"
#include "millrace/changefeed/feed.hpp"
#include "millrace/core/failure.hpp"

using namespace millrace::changefeed;
using millrace::changefeed::testing::FakeStream;
using millrace::changefeed::testing::no_key;
using std::chrono::milliseconds;

namespace {

// Publishes on the feed's publishing thread only once the test opens the
// gate, so a test sees what the feed does while a batch is in flight.
class GatedPublisher final : public PublishPort {
 public:
  std::vector<std::vector<Lsn>> batches;
  bool fail = false;

  void publish(const std::vector<Transaction>& batch, const Checkpoint&) override {
    std::unique_lock lock(mutex_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_ || always_open_; });
    open_ = false;
    entered_ = false;
    if (fail) throw millrace::core::InfraError(millrace::core::FailureClass::kRetryable, "down");
    std::vector<Lsn> lsns;
    for (const auto& tx : batch) lsns.push_back(tx.commit_lsn);
    batches.push_back(lsns);
  }
  // Waits until a publish has begun.
  void wait_entered() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return entered_; });
  }
  // Lets every publish return from now on: a failed check must not leave
  // the feed's destructor waiting for one.
  void open_for_good() {
    std::lock_guard lock(mutex_);
    always_open_ = true;
    cv_.notify_all();
  }
  // Lets the publish in progress return, or fail.
  void open(bool failing = false) {
    std::lock_guard lock(mutex_);
    fail = failing;
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false, always_open_ = false;
};

// Steps `feed` until `done` (the publishing thread's end is seen at a
// step), for 30 s at most: whether it came.
template <typename Done>
bool steps_until(Feed& feed, Done done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool ok = false;
  while (!(ok = done()) && std::chrono::steady_clock::now() < give_up) {
    feed.step(milliseconds(1));
  }
  return ok;
}

}  // namespace

TEST_CASE("pipelined: the next batch is read while one publishes, and confirmed only after it") {
  FakeStream stream;
  GatedPublisher publisher;
  FeedConfig config;
  config.pipelined = true;
  Feed feed(stream, publisher, no_key, {}, config);
  stream.transaction(0x100, 1, true);
  for (int i = 0; i < 5; ++i) feed.step(milliseconds(0));  // B R I C, then quiet: published
  publisher.wait_entered();
  // While it publishes: another transaction and a keepalive past both are
  // read, and nothing is confirmed, not even by the keepalive.
  stream.transaction(0x200, 2);
  stream.keepalive(0x900, false);
  for (int i = 0; i < 6; ++i) feed.step(milliseconds(0));
  CHECK(stream.incoming.empty());
  for (const Lsn f : stream.flushed) CHECK(f == 0);
  CHECK(feed.stats().changes == 0);

  const auto step_until = [&](auto done) { return steps_until(feed, done); };

  SECTION("once it returns, it is confirmed, and the next goes") {
    publisher.open();
    REQUIRE(step_until([&] { return feed.stats().changes == 1; }));
    CHECK(stream.flushed.back() == 0x108);
    publisher.wait_entered();  // the second batch, begun as the first was taken in
    publisher.open();
    feed.flush();
    REQUIRE(publisher.batches.size() == 2);
    CHECK(publisher.batches[0] == std::vector<Lsn>{0x100});
    CHECK(publisher.batches[1] == std::vector<Lsn>{0x200});
    CHECK(stream.flushed.back() == 0x208);
    CHECK(feed.stats().changes == 3);
  }
  SECTION("a failed publish is thrown at a later step, and confirms nothing") {
    publisher.open(true);
    bool thrown = false;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!thrown && std::chrono::steady_clock::now() < give_up) {
      try {
        feed.step(milliseconds(1));
      } catch (const millrace::core::InfraError&) {
        thrown = true;
      }
    }
    CHECK(thrown);
    CHECK(publisher.batches.empty());
    for (const Lsn f : stream.flushed) CHECK(f == 0);
    CHECK(feed.stats().changes == 0);
  }
}

// While a batch publishes, two chunks wait behind it and the next is not
// read: a change committed meanwhile waits behind four chunks at most, not
// behind as many as a batch holds.
TEST_CASE("pipelined: a backfill reads no chunk while two wait to be published") {
  using millrace::changefeed::testing::FakeBackfillSource;
  using millrace::changefeed::testing::row;
  FakeBackfillSource src;
  src.requests = {{1, "public.t", "", 1, ""}};
  Chunk chunk;
  chunk.snapshot = XidSnapshot::parse("1000:1000:");
  for (int i = 0; i < 5; ++i) {
    chunk.rows = {row(std::to_string(10 + i), "a")};
    src.chunks.push_back(chunk);
  }
  FakeStream stream;
  GatedPublisher publisher;
  FeedConfig config;
  config.pipelined = true;
  Feed feed(stream, publisher, no_key, {}, config);
  struct Unblock {
    GatedPublisher& p;
    ~Unblock() { p.open_for_good(); }
  } unblock{publisher};
  Backfiller backfiller(src, no_key, "s1");
  backfiller.resume({});
  feed.set_backfill(&backfiller);
  const auto watermarks = [&](Lsn lsn, int chunk_no) {
    for (const char* which : {"low", "high"}) {
      stream.watermark(lsn, "s1/1/" + std::to_string(chunk_no) + "/" + which);
      lsn += 0x10;
    }
  };
  const auto steps = [&](int n) {
    for (int i = 0; i < n; ++i) feed.step(milliseconds(0));
  };
  const auto step_until = [&](auto done) { return steps_until(feed, done); };
  stream.transaction(0x100, 1, true);
  steps(8);  // published; meanwhile the request is picked up and the first chunk read
  publisher.wait_entered();
  publisher.open();
  REQUIRE(step_until([&] { return publisher.batches.size() == 1; }));
  REQUIRE(src.reads.size() == 1);
  watermarks(0x200, 1);
  steps(8);  // the first chunk goes to the publisher, which holds it; the second is read
  publisher.wait_entered();
  REQUIRE(src.reads.size() == 2);
  watermarks(0x300, 2);
  steps(8);  // the second chunk waits; the third is read
  REQUIRE(src.reads.size() == 3);
  watermarks(0x400, 3);
  stream.transaction(0x500, 1);  // committed after the third chunk
  steps(20);
  CHECK(stream.incoming.empty());
  CHECK(src.reads.size() == 3);  // two chunks wait: no fourth yet

  publisher.open();  // the first chunk's batch returns: the two go, the fourth is read
  REQUIRE(step_until([&] { return src.reads.size() == 4; }));
  publisher.wait_entered();
  publisher.open();
  REQUIRE(step_until([&] { return publisher.batches.size() == 3; }));
  CHECK(publisher.batches[1] == std::vector<Lsn>{0x210});
  CHECK(publisher.batches[2] == std::vector<Lsn>{0x310, 0x410, 0x500});
}
