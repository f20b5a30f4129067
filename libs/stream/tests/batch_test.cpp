#include "millrace/stream/batch.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

using millrace::core::Outcome;
using millrace::stream::Batch;
using millrace::stream::OffsetBook;
using millrace::stream::Tally;

TEST_CASE("a batch tracks offset ranges and outcomes per partition") {
  Batch batch;
  batch.add(1, 10, 1000).tally.count(Outcome::kPersisted, "");
  batch.add(1, 11, 1001).tally.count(Outcome::kFiltered, "discount_not_above_threshold");
  batch.add(1, 13, 999)
      .tally.count(Outcome::kRejected, "invalid_json");  // gap: compaction or a marker
  batch.add(3, 0, 5).tally.count(Outcome::kPersisted, "");
  CHECK(batch.consumed() == 4);
  const auto& p1 = batch.partitions().at(1);
  CHECK(p1.first_offset == 10);
  CHECK(p1.next_offset == 14);
  CHECK(p1.consumed == 3);
  CHECK(p1.max_timestamp_ms == 1001);
  CHECK(p1.tally.total() == p1.consumed);
  CHECK(p1.tally.of(Outcome::kPersisted) == 1);
  CHECK(p1.tally.of(Outcome::kRejected) == 1);
  CHECK(batch.next_offset(1) == 14);
  CHECK_FALSE(batch.next_offset(2).has_value());

  batch.drop_partition(1);
  CHECK(batch.consumed() == 1);
  CHECK_FALSE(batch.partitions().contains(1));
  batch.clear();
  CHECK(batch.empty());
}

TEST_CASE("a batch refuses offsets that go backwards") {
  Batch batch;
  batch.add(0, 5, 0);
  CHECK_THROWS_AS(batch.add(0, 5, 0), std::logic_error);
  CHECK_THROWS_AS(batch.add(0, 4, 0), std::logic_error);
}

TEST_CASE("a tally re-labels counted records but never invents them") {
  Tally t;
  t.count(Outcome::kPersisted, "", 5);
  t.move({Outcome::kPersisted, ""}, {Outcome::kDuplicate, "duplicate_id"}, 2);
  CHECK(t.of(Outcome::kPersisted) == 3);
  CHECK(t.of(Outcome::kDuplicate) == 2);
  CHECK(t.total() == 5);
  CHECK_THROWS_AS(t.move({Outcome::kPersisted, ""}, {Outcome::kDuplicate, "duplicate_id"}, 4),
                  std::logic_error);
  t.move({Outcome::kPersisted, ""}, {Outcome::kDuplicate, "duplicate_id"}, 3);
  CHECK(t.counts().size() == 1);
}

TEST_CASE("the offset book plans fenced transitions") {
  OffsetBook book;
  book.assign(0, std::nullopt);
  book.assign(2, 100);
  Batch batch;
  batch.add(0, 0, 0);
  batch.add(0, 1, 0);
  batch.add(2, 100, 0);
  batch.add(2, 104, 0);
  auto plan = book.plan(batch);
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].partition == 0);
  CHECK_FALSE(plan[0].expected.has_value());
  CHECK(plan[0].next == 2);
  CHECK(plan[1].partition == 2);
  CHECK(plan[1].expected == 100);
  CHECK(plan[1].next == 105);

  book.begin_commit(plan);
  CHECK(book.committed() == plan);
  CHECK(book.stored(0) == 2);
  CHECK(book.stored(2) == 105);

  SECTION("a partition not owned cannot be committed") {
    book.revoke(2);
    CHECK_FALSE(book.owns(2));
    CHECK_THROWS_AS(book.plan(batch), std::logic_error);
  }
  SECTION("a batch below the stored offset is a bug, not a commit") {
    Batch stale;
    stale.add(2, 90, 0);
    CHECK_THROWS_AS(book.plan(stale), std::logic_error);
  }
}

TEST_CASE("the offset book holds one plan in flight and what it covers") {
  OffsetBook book;
  book.assign(0, std::nullopt);
  book.assign(1, 50);
  Batch first;
  first.add(0, 0, 0);
  first.add(0, 1, 0);
  book.begin_commit(book.plan(first));
  REQUIRE(book.committing());

  // Records the plan in flight covers are not new, even before it commits;
  // partitions it does not touch resume from the stored offset.
  CHECK(book.resume_offset(0) == 2);
  CHECK(book.resume_offset(1) == 50);
  CHECK(book.stored(0) == std::nullopt);

  // The next batch accumulates meanwhile, but is planned only once the plan
  // in flight is settled: it must expect the offsets that one stores.
  Batch second;
  second.add(0, 2, 0);
  CHECK_THROWS_AS(book.plan(second), std::logic_error);
  CHECK_THROWS_AS(book.begin_commit({}), std::logic_error);
  // Ownership changes wait for the commit too.
  CHECK_THROWS_AS(book.assign(2, 0), std::logic_error);
  CHECK_THROWS_AS(book.revoke(0), std::logic_error);

  SECTION("a commit moves the stored offsets, and the next plan expects them") {
    book.committed();
    CHECK_FALSE(book.committing());
    CHECK(book.stored(0) == 2);
    const auto plan = book.plan(second);
    REQUIRE(plan.size() == 1);
    CHECK(plan[0].expected == 2);
    CHECK(plan[0].next == 3);
  }
  SECTION("an abandoned commit leaves the offsets as they were") {
    book.abandon();
    CHECK_FALSE(book.committing());
    CHECK(book.stored(0) == std::nullopt);
    CHECK(book.resume_offset(0) == std::nullopt);
    CHECK_THROWS_AS(book.committed(), std::logic_error);
    book.revoke(0);
    CHECK_FALSE(book.owns(0));
  }
}
