// The change feed stepped on one thread: batching, confirming only what is
// published, keepalives, checkpoints, and a backfill's chunk in its place.
#include "millrace/changefeed/feed.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "backfill_fakes.hpp"
#include "feed_fakes.hpp"
#include "millrace/changefeed/backfill.hpp"
#include "millrace/changefeed/snapshot.hpp"
#include "millrace/core/failure.hpp"

using namespace millrace::changefeed;
using millrace::changefeed::testing::FakeStream;
using millrace::changefeed::testing::no_key;
using std::chrono::milliseconds;

namespace {

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
