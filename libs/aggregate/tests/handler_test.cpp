// The aggregator's one handler: what it does alike for the store event and
// for a declared kind (orders), tested for each (TEMPLATE_TEST_CASE).
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>

#include "handler_fixtures.hpp"

using namespace millrace;
using namespace millrace::aggregate::testing;

// What both kinds share, tested for each.
#define EVERY_KIND_TEST_CASE(name) TEMPLATE_TEST_CASE(name, "[handler]", StoreEvents, Orders)

EVERY_KIND_TEST_CASE(
    "aggregator handler: invalid records are counted rejected, valid ones buffered") {
  Rig<TestType> rig;
  Fill<TestType> f{rig.handler};
  const auto payload = Sample<TestType>::payload;
  f.add(0, 0, "{nope", 1000);
  f.add(0, 1, payload(kA, 0), std::nullopt);
  f.add(1, 7, std::string(Sample<TestType>::kIncomplete), 1000);

  CHECK(f.count(0, Outcome::kRejected, "invalid_json") == 1);
  CHECK(f.count(0, Outcome::kPersisted, "") == 1);
  CHECK(f.batch.at(0).tally.total() == 2);
  CHECK(f.count(1, Outcome::kRejected, "missing_field") == 1);
  REQUIRE(f.pending().pending.size() == 1);
  const auto& p = f.pending().pending.front();
  CHECK(rig.kind.codec().identity(p.record) == kA);
  CHECK(rig.kind.codec().time(p.record) == us(0));
  CHECK(p.partition == 0);
  CHECK(p.offset == 1);
  CHECK(p.payload == payload(kA, 0));
  CHECK(p.record_timestamp_ms == -1);  // none from the broker
}

// A store event is an id and its time: the same id at another time is
// another event, which folds. A declared kind's record is its identity: the
// same identity at another time is a resend too, the first in the batch (by
// offset) winning.
EVERY_KIND_TEST_CASE("aggregator handler: a record folds once, a resend is a duplicate") {
  constexpr bool kReused = Sample<TestType>::kIdsReused;
  Rig<TestType> rig;

  Fill<TestType> first{rig.handler};
  first.event(0, 0, kA, 1);
  first.event(0, 1, kA, 1);  // resent within the batch
  first.event(1, 0, kB, 1);
  first.event(1, 1, kB, 2);  // B's identity again, another time
  first.add(1, 2, "{nope", 1000);
  rig.write(first);
  CHECK(rig.tables.folded == (kReused ? 3 : 2));
  CHECK(first.count(0, Outcome::kPersisted, "") == 1);
  CHECK(first.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(first.count(1, Outcome::kPersisted, "") == 1);
  CHECK(first.count(1, Outcome::kPersisted, "id_reused") == (kReused ? 1 : 0));
  CHECK(first.count(1, Outcome::kDuplicate, "duplicate_id") == (kReused ? 0 : 1));
  CHECK(first.count(1, Outcome::kRejected, "invalid_json") == 1);
  CHECK(rig.tables.seen == std::map<std::string, core::TimestampUs>{{kA, us(1)}, {kB, us(1)}});
  CHECK(rig.tables.max_ts[0] == us(1));
  CHECK(rig.tables.max_ts[1] == us(2));

  // The producer sends them all again, with one new record: only that folds.
  Fill<TestType> again{rig.handler};
  again.event(0, 2, kA, 1);
  again.event(1, 3, kB, 1);
  again.event(1, 4, kB, 2);
  again.event(1, 5, kC, 3);
  rig.write(again);
  CHECK(rig.tables.folded == (kReused ? 4 : 3));
  CHECK(again.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(again.count(1, Outcome::kDuplicate, "duplicate_id") == 2);
  CHECK(again.count(1, Outcome::kPersisted, "") == 1);
  CHECK(again.batch.at(1).tally.total() == 3);
}

// A batch parses into the records of the batches destroyed before it
// (batch.hpp's RecordPool): each record as a new one would be, whatever
// the record it reuses held, a rejected message's partial one included.
EVERY_KIND_TEST_CASE("aggregator handler: a batch reuses the records of those committed before") {
  Rig<TestType> rig;
  const auto payload = Sample<TestType>::payload;
  {
    Fill<TestType> first{rig.handler};
    first.event(0, 0, kA, 1);
    first.event(0, 1, kB, 2);
    first.add(0, 2, "{nope", 1000);
    rig.write(first);
    CHECK(rig.tables.folded == 2);
  }
  Fill<TestType> next{rig.handler};
  CHECK(next.pending().spare.size() == 3);
  next.add(0, 3, std::string(Sample<TestType>::kIncomplete), 1000);
  next.event(1, 0, kC, 5);
  next.event(1, 1, kB, 7);
  CHECK(next.count(0, Outcome::kRejected, "missing_field") == 1);
  CHECK(next.pending().spare.size() == 1);
  REQUIRE(next.pending().pending.size() == 2);
  for (const auto& [p, id, minute] : {std::tuple{&next.pending().pending[0], kC, 5},
                                      std::tuple{&next.pending().pending[1], kB, 7}}) {
    const auto fresh = rig.kind.codec().parse(payload(id, minute), "sale_event");
    REQUIRE(std::holds_alternative<kinds::Record>(fresh));
    CHECK(p->record.values == std::get<kinds::Record>(fresh).values);
    CHECK(p->record.lines == std::get<kinds::Record>(fresh).lines);
    CHECK(p->time == us(minute));
    CHECK(p->payload == payload(id, minute));
    CHECK(p->partition == 1);
  }
  rig.write(next);
  CHECK(rig.tables.folded == (Sample<TestType>::kIdsReused ? 4 : 3));
  CHECK(rig.tables.seen ==
        std::map<std::string, core::TimestampUs>{{kA, us(1)}, {kB, us(2)}, {kC, us(5)}});
}

EVERY_KIND_TEST_CASE("aggregator handler: late and future records are kept aside once") {
  Rig<TestType> rig;
  rig.tables.max_ts[0] = us(180);  // 17:00

  Fill<TestType> f{rig.handler};
  f.event(0, 0, kA, 100);                                               // 80 min behind: late
  f.add(0, 1, Sample<TestType>::payload(kB, 179), us(170) / 1000);      // 9 min past its record
  f.event(0, 2, kC, 150);                                               // within the hour: on time
  f.add(0, 3, Sample<TestType>::payload(kA, 100), us(100) / 1000 + 1);  // A again, same offence
  rig.write(f);
  CHECK(f.count(0, Outcome::kLate, "late") == 1);
  CHECK(f.count(0, Outcome::kLate, "future") == 1);
  CHECK(f.count(0, Outcome::kPersisted, "") == 1);
  CHECK(f.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(rig.tables.folded == 1);
  CHECK(rig.tables.late.size() == 2);
  CHECK_FALSE(rig.tables.seen.contains(kA));  // a late record does not claim its identity
  CHECK(rig.tables.max_ts[0] == us(180));     // on-time records older than the max leave it
  CHECK(rig.tables.now_reads == 0);           // every record had a Kafka timestamp

  // Resent later, the late one is a duplicate, not late twice; a record
  // without a Kafka timestamp is judged against the database's clock.
  rig.tables.now = us(300);
  Fill<TestType> again{rig.handler};
  again.event(0, 4, kA, 100);
  again.add(0, 5, Sample<TestType>::payload(kB, 250), std::nullopt);
  rig.write(again);
  CHECK(again.count(0, Outcome::kDuplicate, "duplicate_id") == 1);
  CHECK(again.count(0, Outcome::kPersisted, "") == 1);
  CHECK(rig.tables.now_reads == 1);
  CHECK(rig.tables.max_ts[0] == us(250));
}

EVERY_KIND_TEST_CASE("aggregator handler: refused records leave the batch for refused_records") {
  Rig<TestType> rig;
  Fill<TestType> f{rig.handler};
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
  CHECK(f.pending().refused.front().record.payload == Sample<TestType>::payload(kB, 1));

  rig.write(f);
  CHECK(rig.tables.refused ==
        std::map<std::pair<std::int32_t, std::int64_t>, std::string>{{{0, 1}, "22003"}});
  CHECK(rig.tables.folded == 2);
  CHECK_FALSE(rig.tables.seen.contains(kB));
  // Probing slices, the consumer writes none of the refused again.
  const auto slice = f.state->slice(0, 1);
  CHECK(static_cast<AggregatorHandler::Batch&>(*slice).refused.empty());
  CHECK(slice->size() == 1);
}

EVERY_KIND_TEST_CASE(
    "aggregator handler: a partition revoked mid-batch is forgotten, the others "
    "written") {
  Rig<TestType> rig;
  Fill<TestType> f{rig.handler};
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

EVERY_KIND_TEST_CASE("aggregator handler: forgotten ids are pruned once every 50 batches") {
  Rig<TestType> rig;
  for (int i = 0; i < 100; ++i) {
    Fill<TestType> f{rig.handler};
    f.event(0, i, kA, 1);
    rig.write(f);
    CHECK(rig.tables.prunes == (i + 1) / 50);
  }
  // A batch with nothing to fold does not count.
  Fill<TestType> empty{rig.handler};
  empty.add(0, 100, "{nope", 1000);
  for (int i = 0; i < 50; ++i) rig.write(empty);
  CHECK(rig.tables.prunes == 2);
}
