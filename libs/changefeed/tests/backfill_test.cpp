#include "millrace/changefeed/backfill.hpp"

#include <catch2/catch.hpp>

#include "backfill_fakes.hpp"

using namespace millrace::changefeed;
using namespace millrace::changefeed::testing;

namespace {

std::vector<std::string> no_key(const Relation&) {
  return {};
}

Chunk chunk_of(const std::vector<std::string>& ids, const std::string& snapshot) {
  Chunk c;
  for (const auto& id : ids) c.rows.push_back(row(id, "v" + id));
  c.snapshot = XidSnapshot::parse(snapshot);
  c.read_at_pg_us = 42;
  return c;
}

// A stream transaction of xid `xid` at `lsn`: an update of each key in
// `keys` of the source's table, or a truncate of it.
Transaction change_tx(const FakeBackfillSource& src, std::uint32_t xid, Lsn lsn,
                      const std::vector<std::string>& keys, Op op = Op::kUpdate) {
  Transaction tx{xid, lsn, lsn + 8, 0, {}, {}};
  for (const auto& k : keys) {
    Change c;
    c.op = op;
    c.relation = src.table;
    if (op != Op::kTruncate) {
      c.key_columns = {0};
      if (op == Op::kDelete) {
        c.old_key = row(k, "");
      } else {
        c.after = row(k, "new");
      }
    }
    tx.changes.push_back(std::move(c));
  }
  if (op == Op::kTruncate && keys.empty()) {
    Change c;
    c.op = op;
    c.relation = src.table;
    tx.changes.push_back(std::move(c));
  }
  return tx;
}

Transaction watermark(const std::string& content, Lsn lsn) {
  Transaction tx{900, lsn, lsn + 8, 0, {}, {}};
  tx.messages.push_back(LogicalMessage{true, lsn, kBackfillMessagePrefix, content});
  return tx;
}

// The keys of the rows a chunk publishes; "end" for its end marker.
std::vector<std::string> ids(const Transaction& tx) {
  std::vector<std::string> out;
  for (const auto& c : tx.changes) {
    out.push_back(c.op == Op::kBackfillEnd ? "end" : c.after->at(0).data);
  }
  return out;
}

}  // namespace

TEST_CASE("a chunk drops the rows a transaction its snapshot did not see changed in its window") {
  FakeBackfillSource src;
  src.requests = {{1, "t", "", 3, "webhooks:3"}};
  src.chunks = {chunk_of({"1", "2", "3"}, "100:105:102"), chunk_of({"4"}, "110:110:")};
  Backfiller b(src, no_key, "s1");
  b.resume({});
  b.tick();  // picks the request up
  REQUIRE(src.records.size() == 1);
  CHECK(src.records[0].state == BackfillState::kRunning);
  CHECK(b.running() == 1);
  b.tick();  // reads the first chunk
  REQUIRE(src.reads.size() == 1);
  CHECK_FALSE(src.reads[0].after);
  CHECK(src.reads[0].mark == "s1/1/1");

  // Before the low watermark: published as usual, nothing dropped for it.
  CHECK_FALSE(b.on_transaction(change_tx(src, 99, 0x100, {"1"})).watermark);
  auto low = b.on_transaction(watermark("s1/1/1/low", 0x200));
  CHECK(low.watermark);
  CHECK_FALSE(low.chunk);
  // In the window: 102 was in progress for the snapshot, 103 committed
  // before it, 106 began after it.
  CHECK_FALSE(b.on_transaction(change_tx(src, 102, 0x300, {"2"})).watermark);
  b.on_transaction(change_tx(src, 103, 0x400, {"3"}));
  b.on_transaction(change_tx(src, 106, 0x500, {"1"}, Op::kDelete));
  auto high = b.on_transaction(watermark("s1/1/1/high", 0x600));
  CHECK(high.watermark);
  REQUIRE(high.chunk);
  CHECK(ids(*high.chunk) == std::vector<std::string>{"3"});
  const auto& c = high.chunk->changes.at(0);
  CHECK(c.op == Op::kRead);
  CHECK(c.source.commit_lsn == 0x600);
  CHECK(c.source.backfill == 1);
  CHECK(c.source.audience == "webhooks:3");
  CHECK(c.source.commit_time_pg_us == 42);
  CHECK(c.key_columns == std::vector<std::size_t>{0});
  CHECK(high.chunk->commit_lsn == 0x600);
  CHECK(high.chunk->end_lsn == 0x608);
  // Progress moves past the dropped rows too.
  REQUIRE(b.progress());
  CHECK(b.progress()->after == std::vector<std::string>{"3"});
  CHECK(b.progress()->chunks == 1);
  CHECK(b.progress()->rows == 1);

  // A short chunk is the last: the backfill ends, and the signal table is
  // told once a checkpoint with that end is published.
  b.tick();
  REQUIRE(src.reads.size() == 2);
  CHECK(src.reads[1].after == std::vector<std::string>{"3"});
  CHECK(src.reads[1].mark == "s1/1/2");
  b.on_transaction(watermark("s1/1/2/low", 0x700));
  auto last = b.on_transaction(watermark("s1/1/2/high", 0x800));
  REQUIRE(last.chunk);
  CHECK(ids(*last.chunk) == std::vector<std::string>{"4", "end"});
  const auto& end = last.chunk->changes.back();
  CHECK(end.source.backfill == 1);
  REQUIRE(end.marker);
  CHECK(end.marker->rows == 2);
  CHECK_THAT(to_json(end, change_id(end.source)),
             Catch::Contains(R"("op":"e")") && Catch::Contains(R"("backfill":{"id":1,"rows":2})") &&
                 Catch::Contains(R"("before":null,"after":null)"));
  CHECK(kafka_key(end) == R"({"table":"public.t"})");
  CHECK_FALSE(b.progress());
  CHECK(b.finished() == 1);
  CHECK_FALSE(b.running());
  b.tick();
  CHECK(src.records.back().state == BackfillState::kRunning);
  Checkpoint ended = checkpoint_at(0x800, 0x808);
  ended.backfill_finished = 1;
  b.published(ended);
  b.tick();
  REQUIRE(src.records.back().state == BackfillState::kDone);
  REQUIRE(src.records.back().progress);
  CHECK(src.records.back().progress->rows == 2);
  CHECK(src.records.back().progress->chunks == 2);
  CHECK(b.stats().rows == 2);
  CHECK(b.stats().superseded == 2);
}

TEST_CASE(
    "a transaction committed before the low watermark that the snapshot did not see "
    "supersedes its rows, and one too large to remember has the chunk read again") {
  FakeBackfillSource src;
  src.requests = {{1, "t", "", 2, ""}};
  src.chunks = {chunk_of({"1", "9"}, "100:105:102"), chunk_of({"11", "19"}, "120:130:125"),
                chunk_of({"11"}, "140:140:")};
  BackfillConfig config;
  config.keys_per_transaction = 2;
  Backfiller b(src, no_key, "s1", config);
  b.resume({});
  b.tick();
  b.tick();
  // 102 changed row 9 and committed before the low watermark (its commit
  // flushed with the watermark's), yet the chunk's snapshot had it running.
  b.on_transaction(change_tx(src, 102, 0x100, {"9"}));
  b.on_transaction(watermark("s1/1/1/low", 0x200));
  const auto high = b.on_transaction(watermark("s1/1/1/high", 0x300));
  REQUIRE(high.chunk);
  CHECK(ids(*high.chunk) == std::vector<std::string>{"1"});
  CHECK(b.stats().superseded == 1);
  CHECK(b.stats().rereads == 0);
  // A full chunk: the next one. 125 changed more rows than are remembered,
  // and the snapshot did not see it: the chunk is read again.
  b.tick();
  b.on_transaction(change_tx(src, 125, 0x400, {"11", "15", "19"}));
  b.on_transaction(watermark("s1/1/2/low", 0x500));
  const auto again = b.on_transaction(watermark("s1/1/2/high", 0x600));
  CHECK(again.watermark);
  CHECK_FALSE(again.chunk);
  CHECK(b.stats().rereads == 1);
  b.tick();
  REQUIRE(src.reads.size() == 3);
  CHECK(src.reads[2].after == src.reads[1].after);  // the same chunk
  CHECK(src.reads[2].after == std::vector<std::string>{"9"});
  b.on_transaction(watermark("s1/1/3/low", 0x700));
  const auto third = b.on_transaction(watermark("s1/1/3/high", 0x800));
  REQUIRE(third.chunk);
  CHECK(ids(*third.chunk) == std::vector<std::string>{"11", "end"});
}

TEST_CASE(
    "a truncate the snapshot did not see empties the chunk, and other sessions' watermarks are "
    "ignored") {
  FakeBackfillSource src;
  src.requests = {{1, "t", "", 2, ""}};
  src.chunks = {chunk_of({"1", "2"}, "100:101:")};
  Backfiller b(src, no_key, "s2");
  b.resume({});
  b.tick();
  b.tick();
  // An earlier session's watermarks, replayed: not changes, not this chunk's.
  const auto old = b.on_transaction(watermark("s1/1/1/high", 0x100));
  CHECK(old.watermark);
  CHECK_FALSE(old.chunk);
  b.on_transaction(watermark("s2/1/1/low", 0x200));
  b.on_transaction(change_tx(src, 101, 0x300, {}, Op::kTruncate));
  const auto high = b.on_transaction(watermark("s2/1/1/high", 0x400));
  REQUIRE(high.chunk);
  CHECK(high.chunk->changes.empty());  // a full chunk: not the end
  CHECK(b.progress()->after == std::vector<std::string>{"2"});
  CHECK(b.progress()->chunks == 1);
  // A transaction of only other applications' messages is no watermark.
  Transaction foreign{5, 0x500, 0x508, 0, {}, {}};
  foreign.messages.push_back(LogicalMessage{true, 0x500, "other.app", "x"});
  CHECK_FALSE(b.on_transaction(foreign).watermark);
}

TEST_CASE(
    "a restarted feed resumes a backfill after its last published key, and records one "
    "whose end was published") {
  FakeBackfillSource src;
  src.requests = {{1, "t", "", 10, ""}, {2, "t", "", 10, ""}, {3, "t", "", 10, ""}};
  src.states = {{1, "running"}, {2, "running"}};
  src.chunks = {chunk_of({}, "5:5:")};
  Backfiller b(src, no_key, "s3");
  Checkpoint published = checkpoint_at(0x100, 0x108);
  published.backfill = BackfillProgress{2, std::vector<std::string>{"41"}, 4, 40};
  published.backfill_finished = 1;
  b.resume(published);
  // Until it is asked, the checkpoint it was given is carried on.
  REQUIRE(b.progress());
  CHECK(b.progress()->id == 2);
  CHECK(b.finished() == 1);
  b.tick();
  REQUIRE(src.records.size() >= 2);
  CHECK(src.records[0].id == 1);
  CHECK(src.records[0].state == BackfillState::kDone);
  CHECK(src.records[1].id == 2);
  CHECK(src.records[1].state == BackfillState::kRunning);
  CHECK(src.records[1].progress->rows == 40);
  b.tick();
  REQUIRE(src.reads.size() == 1);
  CHECK(src.reads[0].id == 2);
  CHECK(src.reads[0].after == std::vector<std::string>{"41"});
}

TEST_CASE("a resumed backfill no longer asked for is dropped from the checkpoint") {
  FakeBackfillSource src;  // no requests
  Backfiller b(src, no_key, "s4");
  Checkpoint resumed = checkpoint_at(0x100, 0x108);
  resumed.backfill = BackfillProgress{2, std::nullopt, 1, 5};
  b.resume(resumed);
  CHECK(b.progress());
  b.tick();
  CHECK_FALSE(b.progress());
  CHECK(src.reads.empty());
}

TEST_CASE("a table without a key, a refused chunk and a cancel end the backfill, not the feed") {
  SECTION("no key") {
    FakeBackfillSource src;
    src.table = table_t('d', false);
    src.requests = {{1, "t", "", 10, ""}};
    Backfiller b(src, no_key, "s5");
    b.resume({});
    b.tick();
    REQUIRE_FALSE(src.records.empty());
    CHECK(src.records.back().state == BackfillState::kFailed);
    CHECK_THAT(src.records.back().error, Catch::Contains("has no primary key"));
    CHECK(b.finished() == 1);
    CHECK_FALSE(b.running());
  }
  SECTION("a full identity chunks by the primary key") {
    FakeBackfillSource src;
    src.table = table_t('f', true);
    src.requests = {{1, "t", "", 10, ""}};
    src.chunks = {chunk_of({}, "5:5:")};
    Backfiller b(
        src, [](const Relation&) { return std::vector<std::string>{"id"}; }, "s5");
    b.resume({});
    b.tick();
    b.tick();
    CHECK(src.reads.size() == 1);
  }
  SECTION("a refused chunk") {
    FakeBackfillSource src;
    src.requests = {{1, "t", "bad sql", 10, ""}};
    src.refuse = "syntax error";
    Backfiller b(src, no_key, "s6");
    b.resume({});
    b.tick();
    b.tick();
    CHECK(src.records.back().state == BackfillState::kFailed);
    CHECK(src.records.back().error == "syntax error");
    CHECK_FALSE(b.running());
  }
  SECTION("a cancel") {
    FakeBackfillSource src;
    src.requests = {{1, "t", "", 10, ""}};
    Backfiller b(src, no_key, "s7");
    b.resume({});
    b.tick();
    src.cancel = true;
    b.tick();
    CHECK(src.records.back().state == BackfillState::kCancelled);
    CHECK(src.reads.empty());
    CHECK(b.finished() == 1);
    CHECK_FALSE(b.progress());
  }
}

TEST_CASE("a checkpoint carries a backfill's progress through its text") {
  Checkpoint c = checkpoint_at(0x16B374D848, 0x16B374D880);
  c.backfill = BackfillProgress{3, std::vector<std::string>{"a\"b", "7"}, 5, 50000};
  c.backfill_finished = 2;
  c.slot_lost_from = 0x16B3000000;
  const auto text = encode_checkpoint(c);
  const auto back = parse_checkpoint(text);
  REQUIRE(back);
  CHECK(back->commit_lsn == c.commit_lsn);
  CHECK(back->end_lsn == c.end_lsn);
  CHECK(back->backfill_finished == 2);
  CHECK(back->slot_lost_from == 0x16B3000000);
  REQUIRE(back->backfill);
  CHECK(back->backfill->id == 3);
  CHECK(back->backfill->after == std::vector<std::string>{"a\"b", "7"});
  CHECK(back->backfill->chunks == 5);
  CHECK(back->backfill->rows == 50000);
  // One from the start has no key yet; an older feed's has no backfill.
  Checkpoint fresh = checkpoint_at(1, 2);
  fresh.backfill = BackfillProgress{4, std::nullopt, 0, 0};
  const auto start = parse_checkpoint(encode_checkpoint(fresh));
  REQUIRE(start);
  REQUIRE(start->backfill);
  CHECK_FALSE(start->backfill->after);
  const auto old = parse_checkpoint(R"({"commit_lsn":"0/10","end_lsn":"0/18"})");
  REQUIRE(old);
  CHECK_FALSE(old->backfill);
  CHECK(old->backfill_finished == 0);
  CHECK_FALSE(parse_checkpoint(R"({"commit_lsn":"0/10","end_lsn":"0/18","backfill":{"id":1}})"));
}
