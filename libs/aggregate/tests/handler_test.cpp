// The aggregator's handler without Kafka or PostgreSQL: records are handed
// to it as the consumer would, and write()'s steps run against tables in
// memory that answer as the SQL in tables.cpp does (ON CONFLICT DO NOTHING
// on the seen, reused and late ids). The SQL itself is covered by the
// integration tests (integration.aggregates, integration.event-identity).
#include "handler.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sample_event.hpp"

namespace {

using namespace millrace;
using aggregate::detail::AggregatorHandler;
using core::Outcome;

// Event ids, and event times a minute apart from 2023-05-19 14:00.
const std::string kA = "00000000-0000-4000-8000-00000000000a";
const std::string kB = "00000000-0000-4000-8000-00000000000b";
const std::string kC = "00000000-0000-4000-8000-00000000000c";
std::string at(int minute) {
  const auto hh = 14 + minute / 60, mm = minute % 60;
  return "2023-05-19T" + std::to_string(hh) + ":" + (mm < 10 ? "0" : "") + std::to_string(mm) +
         ":00.000000";
}
core::TimestampUs us(int minute) {
  return *core::parse_timestamp(at(minute));
}

std::string payload(const std::string& id, int minute) {
  return core::testing::SampleBody()
      .set("id", "\"" + id + "\"")
      .set("ts", "\"" + at(minute) + "\"")
      .str();
}

// What PostgreSQL holds across batches, and what each statement answers.
class FakeTables final : public aggregate::tables::BatchTables {
 public:
  aggregate::tables::PartitionMax max_ts;                                // aggregator_partitions
  std::map<std::string, core::TimestampUs> seen;                         // aggregator_seen_ids
  std::set<aggregate::tables::EventKey> reused;                          // aggregator_reused_ids
  std::map<std::string, std::pair<std::int32_t, std::int64_t>> late;     // late_events by id
  std::map<std::pair<std::int32_t, std::int64_t>, std::string> refused;  // refused_records
  std::size_t folded = 0;                          // events added to the aggregates
  std::vector<std::vector<std::string>> recorded;  // each record_seen_ids() call's ids
  int now_reads = 0;
  int prunes = 0;
  core::TimestampUs now = us(0);

  aggregate::tables::PartitionMax read_partition_max() override { return max_ts; }
  core::TimestampUs database_now() override {
    ++now_reads;
    return now;
  }
  void insert_refused(const std::vector<aggregate::Refused>& rows) override {
    for (const auto& r : rows)
      refused.try_emplace({r.record.partition, r.record.offset}, r.sqlstate);
  }
  aggregate::tables::HeldIds record_seen_ids(
      const std::vector<aggregate::tables::SeenId>& ids) override {
    // The contract: each id once, in id order.
    for (std::size_t i = 1; i < ids.size(); ++i) CHECK(*ids[i - 1].id < *ids[i].id);
    recorded.emplace_back();
    aggregate::tables::HeldIds held;
    for (const auto& s : ids) {
      recorded.back().push_back(*s.id);
      const auto [it, added] = seen.try_emplace(*s.id, s.event_ts);
      if (!added) held.emplace(*s.id, it->second);
    }
    return held;
  }
  std::set<aggregate::tables::EventKey> insert_reused_ids(
      const std::vector<aggregate::tables::SeenId>& events) override {
    std::set<aggregate::tables::EventKey> added;
    for (const auto& s : events) {
      if (reused.emplace(*s.id, s.event_ts).second) added.emplace(*s.id, s.event_ts);
    }
    return added;
  }
  std::set<std::pair<std::int32_t, std::int64_t>> insert_late(
      const aggregate::tables::Late& rows, const aggregate::tables::PartitionMax&) override {
    std::set<std::pair<std::int32_t, std::int64_t>> stored;
    for (const auto& [p, verdict] : rows) {
      if (late.try_emplace(p->event.id, p->partition, p->offset).second) {
        stored.emplace(p->partition, p->offset);
      }
    }
    return stored;
  }
  void apply_deltas(const core::Deltas& deltas) override { folded += deltas.events(); }
  void advance_partition_max(const aggregate::tables::PartitionMax& m,
                             const std::set<std::int32_t>& partitions) override {
    for (const auto& [partition, ts] : m) {
      if (!ts || !partitions.contains(partition)) continue;
      auto& held = max_ts[partition];
      if (!held || *ts > *held) held = ts;
    }
  }
  void prune_seen_ids(std::int64_t) override { ++prunes; }
};

// One batch as the consumer fills it.
struct Fill {
  explicit Fill(AggregatorHandler& h) : handler(h), state(h.open_batch()) {}

  AggregatorHandler& handler;
  stream::Batch batch;
  std::unique_ptr<stream::BatchState> state;

  // A record; its Kafka timestamp is the event's time unless given.
  void add(std::int32_t partition, std::int64_t offset, std::string body,
           std::optional<std::int64_t> kafka_ms, bool typed = true) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (typed) headers.emplace_back(std::string(core::kHeaderEventType), "sale_event");
    const auto msg = kafka::Message::from_record(
        {"store-events", partition, offset, std::move(body), std::nullopt, kafka_ms, headers});
    handler.handle(msg, batch.add(partition, offset, kafka_ms.value_or(-1)), *state);
  }
  void event(std::int32_t partition, std::int64_t offset, const std::string& id, int minute) {
    add(partition, offset, payload(id, minute), us(minute) / 1000);
  }
  std::uint64_t count(std::int32_t partition, Outcome outcome, std::string_view reason) {
    const auto& counts = batch.at(partition).tally.counts();
    const auto it = counts.find({outcome, reason});
    return it == counts.end() ? 0 : it->second;
  }
  const aggregate::AggregatorBatch& pending() {
    return static_cast<aggregate::AggregatorBatch&>(*state);
  }
};

// A handler, and the tables its batches are written to.
struct Rig {
  aggregate::AggregatorConfig config = [] {
    aggregate::AggregatorConfig c;
    c.max_lateness_s = 3600;
    c.max_future_s = 60;
    return c;
  }();
  AggregatorHandler handler{config};
  FakeTables tables;

  void write(Fill& f) { handler.write_to(tables, f.batch, *f.state); }
};

}  // namespace

TEST_CASE("aggregator handler: invalid records are counted rejected, valid ones buffered",
          "[handler]") {
  Rig rig;
  Fill f{rig.handler};
  f.add(0, 0, "{nope", 1000);
  f.add(0, 1, payload(kA, 0), 1000, /*typed=*/false);
  f.add(0, 2, payload(kA, 0), std::nullopt);
  f.add(1, 7, R"({"id":"x"})", 1000);

  CHECK(f.count(0, Outcome::kRejected, "invalid_json") == 1);
  CHECK(f.count(0, Outcome::kRejected, "missing_event_type") == 1);
  CHECK(f.count(0, Outcome::kPersisted, "") == 1);
  CHECK(f.batch.at(0).tally.total() == 3);
  CHECK(f.batch.at(1).tally.of(Outcome::kRejected) == 1);
  REQUIRE(f.pending().pending.size() == 1);
  const auto& p = f.pending().pending.front();
  CHECK(p.event.id == kA);
  CHECK(p.partition == 0);
  CHECK(p.offset == 2);
  CHECK(p.payload == payload(kA, 0));
  CHECK(p.record_timestamp_ms == -1);  // none from the broker
}

TEST_CASE("aggregator handler: an event folds once, a resend is a duplicate, a reused id folds",
          "[handler]") {
  Rig rig;

  Fill first{rig.handler};
  first.event(0, 0, kA, 1);
  first.event(0, 1, kA, 1);  // resent within the batch
  first.event(1, 0, kB, 1);
  first.event(1, 1, kB, 2);  // B's id again, another time: another event
  first.add(1, 2, "{nope", 1000);
  rig.write(first);
  CHECK(rig.tables.folded == 3);
  CHECK(first.count(0, Outcome::kPersisted, "") == 1);
  CHECK(first.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(first.count(1, Outcome::kPersisted, "") == 1);
  CHECK(first.count(1, Outcome::kPersisted, "id_reused") == 1);
  CHECK(first.count(1, Outcome::kRejected, "invalid_json") == 1);
  CHECK(rig.tables.seen == std::map<std::string, core::TimestampUs>{{kA, us(1)}, {kB, us(1)}});
  CHECK(rig.tables.max_ts[0] == us(1));
  CHECK(rig.tables.max_ts[1] == us(2));

  // The producer sends them all again, with one new event: only that folds.
  Fill again{rig.handler};
  again.event(0, 2, kA, 1);
  again.event(1, 3, kB, 1);
  again.event(1, 4, kB, 2);
  again.event(1, 5, kC, 3);
  rig.write(again);
  CHECK(rig.tables.folded == 4);
  CHECK(again.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(again.count(1, Outcome::kDuplicate, "duplicate_id") == 2);
  CHECK(again.count(1, Outcome::kPersisted, "") == 1);
  CHECK(again.batch.at(1).tally.total() == 3);
}

// The ids go to aggregator_seen_ids sorted, each once, with the time of its
// first event in the batch (by offset, not by id or time); that first one
// decides which of the others are resends and which reuse the id.
TEST_CASE("aggregator handler: each id recorded once, in id order, as its first event has it",
          "[handler]") {
  Rig rig;
  const std::string kHigh = "ffffffff-0000-4000-8000-000000000001";
  const std::string kMid = "7fffffff-ffff-4fff-bfff-ffffffffffff";
  Fill f{rig.handler};
  f.event(0, 0, kHigh, 5);
  f.event(0, 1, kB, 3);
  f.event(0, 2, kMid, 4);
  f.event(0, 3, kB, 2);     // B again, earlier in time: reuses B's id
  f.event(0, 4, kHigh, 5);  // a resend
  f.event(0, 5, kA, 1);
  f.event(0, 6, kB, 2);  // a resend of the reuse
  rig.write(f);
  REQUIRE(rig.tables.recorded.size() == 1);
  CHECK(rig.tables.recorded[0] == std::vector<std::string>{kA, kB, kMid, kHigh});
  CHECK(rig.tables.seen.at(kB) == us(3));
  CHECK(rig.tables.folded == 5);
  CHECK(f.count(0, Outcome::kPersisted, "") == 4);
  CHECK(f.count(0, Outcome::kPersisted, "id_reused") == 1);
  CHECK(f.count(0, Outcome::kDuplicate, "duplicate_id") == 2);
  CHECK(rig.tables.reused == std::set<aggregate::tables::EventKey>{{kB, us(2)}});
}

TEST_CASE("aggregator handler: late and future events are kept aside once", "[handler]") {
  Rig rig;
  rig.tables.max_ts[0] = us(180);  // 17:00

  Fill f{rig.handler};
  f.event(0, 0, kA, 100);                             // 80 min behind: late
  f.add(0, 1, payload(kB, 179), us(170) / 1000);      // 9 min past its record: future
  f.event(0, 2, kC, 150);                             // within the hour: on time
  f.add(0, 3, payload(kA, 100), us(100) / 1000 + 1);  // A again, same offence
  rig.write(f);
  CHECK(f.count(0, Outcome::kLate, "late") == 1);
  CHECK(f.count(0, Outcome::kLate, "future") == 1);
  CHECK(f.count(0, Outcome::kPersisted, "") == 1);
  CHECK(f.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(rig.tables.folded == 1);
  CHECK(rig.tables.late.size() == 2);
  CHECK_FALSE(rig.tables.seen.contains(kA));  // a late event does not claim its id
  CHECK(rig.tables.max_ts[0] == us(180));     // on-time events older than the max leave it
  CHECK(rig.tables.now_reads == 0);           // every record had a Kafka timestamp

  // Resent later, the late one is a duplicate, not late twice; a record
  // without a Kafka timestamp is judged against the database's clock.
  rig.tables.now = us(300);
  Fill again{rig.handler};
  again.event(0, 4, kA, 100);
  again.add(0, 5, payload(kB, 250), std::nullopt);
  rig.write(again);
  CHECK(again.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(again.count(0, Outcome::kPersisted, "") == 1);
  CHECK(rig.tables.now_reads == 1);
  CHECK(rig.tables.max_ts[0] == us(250));
}

TEST_CASE("aggregator handler: refused records leave the batch for refused_records", "[handler]") {
  Rig rig;
  Fill f{rig.handler};
  f.event(0, 0, kA, 1);
  f.event(0, 1, kB, 1);
  f.event(1, 0, kC, 1);
  rig.handler.refuse(
      f.batch, *f.state,
      {{{0, 1}, "22003", "numeric field overflow"}, {{1, 9}, "23514", "not in batch"}});
  CHECK(f.count(0, Outcome::kRejected, "db_refused") == 1);
  CHECK(f.count(0, Outcome::kPersisted, "") == 1);
  CHECK(f.batch.at(1).tally.of(Outcome::kRejected) == 0);
  CHECK(f.pending().pending.size() == 2);
  REQUIRE(f.pending().refused.size() == 1);
  CHECK(f.pending().refused.front().record.payload == payload(kB, 1));

  rig.write(f);
  CHECK(rig.tables.refused ==
        std::map<std::pair<std::int32_t, std::int64_t>, std::string>{{{0, 1}, "22003"}});
  CHECK(rig.tables.folded == 2);
  CHECK_FALSE(rig.tables.seen.contains(kB));
  // Probing slices, the consumer writes none of the refused again.
  CHECK(static_cast<aggregate::AggregatorBatch&>(*f.state->slice(0, 1)).refused.empty());
}

TEST_CASE("aggregator handler: a partition revoked mid-batch is forgotten, the others written",
          "[handler]") {
  Rig rig;
  Fill f{rig.handler};
  f.event(0, 0, kA, 1);
  f.event(1, 0, kB, 5);
  f.event(1, 1, kC, 6);
  rig.handler.refuse(f.batch, *f.state, {{{1, 1}, "22003", "overflow"}});
  // What the consumer does on a revoke: the next owner reads partition 1 again.
  f.state->discard(1);
  f.batch.drop_partition(1);
  CHECK(f.state->size() == 1);
  rig.write(f);
  CHECK(rig.tables.folded == 1);
  CHECK(rig.tables.seen.size() == 1);
  CHECK(rig.tables.seen.contains(kA));
  CHECK(rig.tables.refused.empty());
  CHECK_FALSE(rig.tables.max_ts.contains(1));
}

TEST_CASE("aggregator handler: forgotten ids are pruned once every 50 batches", "[handler]") {
  Rig rig;
  for (int i = 0; i < 100; ++i) {
    Fill f{rig.handler};
    f.event(0, i, kA, 1);
    rig.write(f);
    CHECK(rig.tables.prunes == (i + 1) / 50);
  }
  // A batch with nothing to fold does not count.
  Fill empty{rig.handler};
  empty.add(0, 100, "{nope", 1000);
  for (int i = 0; i < 50; ++i) rig.write(empty);
  CHECK(rig.tables.prunes == 2);
}
