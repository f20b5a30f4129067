#include "millrace/changefeed/feed.hpp"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "backfill_fakes.hpp"
#include "bytes.hpp"
#include "millrace/changefeed/backfill.hpp"
#include "millrace/changefeed/snapshot.hpp"
#include "millrace/core/failure.hpp"

using namespace millrace::changefeed;
using millrace::changefeed::testing::Bytes;
using std::chrono::milliseconds;

namespace {

// The server side: messages to hand out, and the flush positions received.
class FakeStream final : public ReplicationPort {
 public:
  std::deque<std::string> incoming;
  std::vector<Lsn> flushed;
  std::vector<bool> asked;          // the reply-requested flag of each update
  std::vector<milliseconds> waits;  // the timeout of each read

  std::optional<std::string_view> read(milliseconds timeout) override {
    waits.push_back(timeout);
    if (incoming.empty()) return std::nullopt;
    current = std::move(incoming.front());
    incoming.pop_front();
    return current;
  }
  std::string current;  // the message read last, which its view shows
  void write(std::string_view copy_data) override {
    REQUIRE(copy_data.size() == 34);
    REQUIRE(copy_data[0] == 'r');
    Lsn flush = 0;
    for (int i = 9; i < 17; ++i) flush = (flush << 8) | static_cast<unsigned char>(copy_data[i]);
    flushed.push_back(flush);
    asked.push_back(copy_data[33] != 0);
  }

  void xlog(const Bytes& pgoutput, Lsn at = 0) {
    Bytes b;
    b.ch('w').i64(at).i64(at).i64(0).raw(pgoutput);
    incoming.push_back(b.str());
  }
  void keepalive(Lsn wal_end, bool reply) {
    Bytes b;
    b.ch('k').i64(wal_end).i64(0).i8(reply ? 1 : 0);
    incoming.push_back(b.str());
  }
  // One transaction inserting `rows` rows into relation 7, committed at `lsn`.
  void transaction(Lsn lsn, int rows, bool with_relation = false) {
    xlog(Bytes().ch('B').i64(lsn).i64(0).i32(static_cast<std::uint32_t>(lsn)));
    if (with_relation) {
      xlog(Bytes().ch('R').i32(7).str("public").str("t").ch('d').i16(1).i8(1).str("id").i32(23).i32(
          0xFFFFFFFF));
    }
    for (int i = 0; i < rows; ++i) {
      xlog(Bytes().ch('I').i32(7).ch('N').i16(1).text(std::to_string(i)), lsn - 0x10);
    }
    xlog(Bytes().ch('C').i8(0).i64(lsn).i64(lsn + 8).i64(0));
  }
  // A transaction holding only a backfill's watermark `content`, at `lsn`.
  void watermark(Lsn lsn, const std::string& content) {
    xlog(Bytes().ch('B').i64(lsn).i64(0).i32(static_cast<std::uint32_t>(lsn)));
    xlog(Bytes()
             .ch('M')
             .i8(1)
             .i64(lsn)
             .str(kBackfillMessagePrefix)
             .i32(static_cast<std::uint32_t>(content.size()))
             .raw(content));
    xlog(Bytes().ch('C').i8(0).i64(lsn).i64(lsn + 8).i64(0));
  }
};

class FakePublisher final : public PublishPort {
 public:
  std::vector<std::vector<Lsn>> batches;  // commit LSNs per batch
  std::vector<Checkpoint> checkpoints;
  bool fail = false;

  void publish(const std::vector<Transaction>& batch, const Checkpoint& through) override {
    if (fail) throw millrace::core::InfraError(millrace::core::FailureClass::kRetryable, "down");
    std::vector<Lsn> lsns;
    for (const auto& tx : batch) lsns.push_back(tx.commit_lsn);
    batches.push_back(lsns);
    checkpoints.push_back(through);
  }
};

std::vector<std::string> no_key(const Relation&) {
  return {};
}

struct Rig {
  FakeStream stream;
  FakePublisher publisher;
  std::chrono::steady_clock::time_point now{};
  FeedConfig config;
  std::optional<Feed> feed;

  explicit Rig(Checkpoint published = {}, std::size_t max_batch = 5000) {
    config.max_batch_changes = max_batch;
    feed.emplace(stream, publisher, no_key, published, config, [this] { return now; });
  }
  // Steps until the stream has nothing left.
  void drain() {
    while (!stream.incoming.empty()) feed->step(milliseconds(0));
    feed->step(milliseconds(0));
  }
};

}  // namespace

TEST_CASE("transactions are published in a batch when the stream goes quiet, then confirmed") {
  Rig rig;
  rig.stream.transaction(0x100, 2, true);
  rig.stream.transaction(0x200, 3);
  rig.drain();
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x100, 0x200});
  CHECK(rig.publisher.checkpoints[0].commit_lsn == 0x200);
  CHECK(rig.publisher.checkpoints[0].end_lsn == 0x208);
  REQUIRE_FALSE(rig.stream.flushed.empty());
  CHECK(rig.stream.flushed.back() == 0x208);
  CHECK(rig.feed->stats().changes == 5);
  CHECK(rig.feed->stats().transactions == 2);
}

TEST_CASE("nothing is confirmed past what is published, a failed publish confirms nothing") {
  Rig rig;
  rig.publisher.fail = true;
  rig.stream.transaction(0x100, 1, true);
  CHECK_THROWS_AS(rig.drain(), millrace::core::InfraError);
  CHECK(rig.publisher.batches.empty());
  for (const Lsn f : rig.stream.flushed) CHECK(f == 0);
}

TEST_CASE("a full batch is published without waiting for the stream to go quiet") {
  Rig rig({}, 4);
  rig.stream.transaction(0x100, 3, true);
  rig.stream.transaction(0x200, 3);
  rig.stream.transaction(0x300, 1);
  // Step only while messages remain: the stream never goes quiet.
  while (!rig.stream.incoming.empty()) rig.feed->step(milliseconds(0));
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x100, 0x200});
  CHECK(rig.stream.flushed.back() == 0x208);
  rig.feed->flush();
  REQUIRE(rig.publisher.batches.size() == 2);
  CHECK(rig.publisher.batches[1] == std::vector<Lsn>{0x300});
}

TEST_CASE("a batch is also full at its bytes of row values, and never splits a transaction") {
  Rig rig;
  rig.config.max_batch_bytes = 12;  // rows "0" to "9": one byte each
  rig.feed.emplace(rig.stream, rig.publisher, no_key, Checkpoint{}, rig.config,
                   [&rig] { return rig.now; });
  rig.stream.transaction(0x100, 10, true);
  rig.stream.transaction(0x200, 3);
  rig.stream.transaction(0x300, 1);
  while (!rig.stream.incoming.empty()) rig.feed->step(milliseconds(0));
  // 10 bytes, then 13 after the second: full there, though 13 changes are
  // far from max_batch_changes.
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x100, 0x200});
  rig.feed->flush();
  REQUIRE(rig.publisher.batches.size() == 2);
  CHECK(rig.publisher.batches[1] == std::vector<Lsn>{0x300});
}

TEST_CASE(
    "a pending batch never waits on the stream: it is published once nothing more is at hand") {
  Rig rig;
  rig.stream.transaction(0x100, 1, true);
  // BEGIN, RELATION, INSERT, COMMIT: each read waits as long as the step
  // allows, since nothing is pending yet.
  for (int i = 0; i < 4; ++i) rig.feed->step(milliseconds(100));
  CHECK(rig.publisher.batches.empty());
  CHECK(rig.stream.waits == std::vector<milliseconds>(4, milliseconds(100)));
  // The commit made a batch: the next read takes only what has arrived,
  // and with nothing there the batch goes at once, not after 100 ms or the
  // linger.
  rig.feed->step(milliseconds(100));
  CHECK(rig.stream.waits.back() == milliseconds(0));
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x100});
  // Nothing pending: waiting for the stream again.
  rig.feed->step(milliseconds(100));
  CHECK(rig.stream.waits.back() == milliseconds(100));
}

TEST_CASE("a batch waits at most its linger for more transactions") {
  Rig rig;
  rig.stream.transaction(0x100, 1, true);
  rig.stream.transaction(0x200, 1);
  rig.stream.transaction(0x300, 1);
  // The first transaction's three messages (with its Relation: four).
  for (int i = 0; i < 4; ++i) rig.feed->step(milliseconds(0));
  CHECK(rig.publisher.batches.empty());
  rig.now += rig.config.linger;
  rig.feed->step(milliseconds(0));  // B of the second: the batch is due
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x100});
}

TEST_CASE("a backlog's batch is not closed by the stream's gaps, only when full or after a while") {
  Rig rig;
  // Transactions ending before 0x400 were committed before the session.
  rig.config.catch_up_to = 0x400;
  rig.feed.emplace(rig.stream, rig.publisher, no_key, Checkpoint{}, rig.config,
                   [&rig] { return rig.now; });
  rig.stream.transaction(0x100, 1, true);
  rig.stream.transaction(0x200, 1);
  rig.drain();
  // The stream has gone quiet, and more than the linger has passed: a
  // backlog's batch still waits, in short reads.
  rig.now += rig.config.linger;
  rig.feed->step(milliseconds(100));
  CHECK(rig.publisher.batches.empty());
  CHECK(rig.stream.waits.back() == milliseconds(1));
  rig.stream.transaction(0x300, 1);
  rig.drain();
  CHECK(rig.publisher.batches.empty());
  rig.now += rig.config.catch_up_linger;
  rig.feed->step(milliseconds(100));
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x100, 0x200, 0x300});
  // Past the backlog, the stream's first gap closes the batch again.
  rig.stream.transaction(0x500, 1);
  rig.drain();
  REQUIRE(rig.publisher.batches.size() == 2);
  CHECK(rig.publisher.batches[1] == std::vector<Lsn>{0x500});
}

TEST_CASE("a backlog's batch is still published once full") {
  Rig rig({}, 4);
  rig.config.catch_up_to = 0x1000;
  rig.feed.emplace(rig.stream, rig.publisher, no_key, Checkpoint{}, rig.config,
                   [&rig] { return rig.now; });
  rig.stream.transaction(0x100, 3, true);
  rig.stream.transaction(0x200, 3);
  rig.stream.transaction(0x300, 1);
  rig.drain();
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x100, 0x200});
  rig.feed->flush();
  REQUIRE(rig.publisher.batches.size() == 2);
  CHECK(rig.publisher.batches[1] == std::vector<Lsn>{0x300});
}

TEST_CASE("after a restart, transactions up to the checkpoint are skipped, not published again") {
  Rig rig(checkpoint_at(0x200, 0x208));
  rig.stream.transaction(0x100, 2, true);
  rig.stream.transaction(0x200, 2);
  rig.stream.transaction(0x300, 2);
  rig.drain();
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x300});
  CHECK(rig.feed->stats().skipped_transactions == 2);
  // The checkpoint is confirmed at once: the slot catches up with what was
  // published before the crash.
  REQUIRE_FALSE(rig.stream.flushed.empty());
  CHECK(rig.stream.flushed.front() == 0x208);
  CHECK(rig.stream.flushed.back() == 0x308);
}

TEST_CASE("keepalives: an idle slot moves to the server's position, one mid-batch does not") {
  Rig rig;
  rig.stream.keepalive(0x500, false);
  rig.drain();
  CHECK(rig.stream.flushed.back() == 0x500);

  rig.stream.transaction(0x600, 1, true);
  for (int i = 0; i < 4; ++i) rig.feed->step(milliseconds(0));  // B R I C: pending
  rig.stream.keepalive(0x900, true);
  rig.feed->step(milliseconds(0));
  // Answered (asked for), but not past the unpublished transaction.
  CHECK(rig.stream.flushed.back() == 0x500);
  rig.feed->step(milliseconds(0));  // quiet: published
  CHECK(rig.stream.flushed.back() == 0x608);
}

TEST_CASE("a status update goes out at least every status interval") {
  Rig rig;
  rig.feed->step(milliseconds(0));
  const auto sent = rig.stream.flushed.size();
  rig.feed->step(milliseconds(0));
  CHECK(rig.stream.flushed.size() == sent);
  rig.now += rig.config.status_interval;
  rig.feed->step(milliseconds(0));
  CHECK(rig.stream.flushed.size() == sent + 1);
  // ...and asks for an answer, whose keepalive lets an idle slot move on.
  CHECK(rig.stream.asked.back());
  rig.stream.keepalive(0x777, false);
  rig.feed->step(milliseconds(0));
  CHECK(rig.stream.flushed.back() == 0x777);
  CHECK_FALSE(rig.stream.asked.back());
}

TEST_CASE("checkpoints round-trip as JSON, anything else is refused") {
  const Checkpoint c = checkpoint_at(0x16B374D848ULL, 0x16B374D880ULL);
  CHECK(encode_checkpoint(c) == R"({"commit_lsn":"16/B374D848","end_lsn":"16/B374D880"})");
  const auto back = parse_checkpoint(encode_checkpoint(c));
  REQUIRE(back.has_value());
  CHECK(back->commit_lsn == c.commit_lsn);
  CHECK(back->end_lsn == c.end_lsn);
  for (const char* bad :
       {"", "{}", "[]", R"({"commit_lsn":"1/2"})", R"({"commit_lsn":1,"end_lsn":2})",
        R"({"commit_lsn":"x","end_lsn":"1/2"})"}) {
    INFO(bad);
    CHECK_FALSE(parse_checkpoint(bad).has_value());
  }
}

TEST_CASE("after a snapshot, a transaction committed at the slot's consistent point is published") {
  // Its commit record may be the first after the point: the snapshot does
  // not hold it, so the checkpoint the snapshot leaves must not skip it.
  Rig rig(snapshot_checkpoint(0x100));
  rig.stream.transaction(0x100, 2, true);
  rig.drain();
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x100});
  CHECK(rig.feed->stats().skipped_transactions == 0);
}

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

TEST_CASE("a backfill's chunk is published in its high watermark's place, with its progress") {
  using millrace::changefeed::testing::FakeBackfillSource;
  using millrace::changefeed::testing::row;
  FakeBackfillSource src;
  src.requests = {{1, "public.t", "", 2, ""}};
  Chunk chunk;
  chunk.rows = {row("10", "a"), row("11", "b")};
  chunk.snapshot = XidSnapshot::parse("1000:1000:");
  src.chunks = {chunk, Chunk{{}, chunk.snapshot, 0}};
  Rig rig;
  Backfiller backfiller(src, no_key, "s1");
  backfiller.resume({});
  rig.feed->set_backfill(&backfiller);
  const auto mark = [&](Lsn lsn, const std::string& content) {
    rig.stream.watermark(lsn, content);
  };
  rig.feed->step(milliseconds(0));  // the request is picked up
  rig.feed->step(milliseconds(0));  // the first chunk is read
  REQUIRE(src.reads.size() == 1);
  rig.stream.transaction(0x100, 1, true);
  mark(0x200, "s1/1/1/low");
  rig.stream.transaction(0x300, 1);
  mark(0x400, "s1/1/1/high");
  rig.stream.transaction(0x500, 1);
  rig.drain();
  // The watermarks are not published; the chunk is, between 0x300 and 0x500.
  REQUIRE(rig.publisher.batches.size() == 1);
  CHECK(rig.publisher.batches[0] == std::vector<Lsn>{0x100, 0x300, 0x400, 0x500});
  const auto& through = rig.publisher.checkpoints[0];
  CHECK(through.commit_lsn == 0x500);
  REQUIRE(through.backfill);
  CHECK(through.backfill->id == 1);
  CHECK(through.backfill->after == std::vector<std::string>{"11"});
  CHECK(through.backfill->rows == 2);
  CHECK(rig.feed->stats().changes == 5);
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
