#include <catch2/catch.hpp>

#include <stdexcept>

#include "millrace/sink/batch.hpp"

namespace {

using namespace millrace;
using sink::Batch;
using sink::Decision;
using sink::OffsetBook;

const std::string kValid =
    R"({"id":"743da362-69df-4e63-a95f-a1d93e29825e","request_id":"743da362-69df-4e63-a95f-a1d93e29825e",)"
    R"("store_id":5,"store_fqdn":"localhost","store_ip":"127.0.0.1","cust_id":549,"category":"Notebooks",)"
    R"("sku":169008,"price":45.85,"qty":34,"discount":DISCOUNT,"gift_wrap":true,"variant":"red",)"
    R"("priority_shipping":false,"ts":"2023-05-19T14:36:09.985501","contact_me":"github.com/miztiik","is_return":true})";

std::string with_discount(const std::string& d) {
  std::string s = kValid;
  s.replace(s.find("DISCOUNT"), 8, d);
  return s;
}

Decision kept() { return sink::classify(with_discount("30"), "sale_event", core::FilterConfig{}); }
Decision filtered() {
  return sink::classify(with_discount("10.3"), "sale_event", core::FilterConfig{});
}
Decision rejected() { return sink::classify("{nope", "sale_event", core::FilterConfig{}); }

}  // namespace

TEST_CASE("classify keeps, filters and rejects") {
  CHECK(std::holds_alternative<sink::Kept>(kept()));
  const auto f = filtered();
  REQUIRE(std::holds_alternative<sink::Filtered>(f));
  CHECK(std::get<sink::Filtered>(f).reason == core::FilterReason::kDiscountNotAbove);
  const auto r = rejected();
  REQUIRE(std::holds_alternative<sink::Rejected>(r));
  CHECK(std::get<sink::Rejected>(r).rejection.reason == core::RejectReason::kInvalidJson);

  core::FilterConfig sale_only;
  sale_only.keep_inventory = false;
  const auto inv = sink::classify(with_discount("30"), "inventory_event", sale_only);
  REQUIRE(std::holds_alternative<sink::Filtered>(inv));
  CHECK(std::get<sink::Filtered>(inv).reason == core::FilterReason::kEventTypeNotKept);
  const auto missing = sink::classify(with_discount("30"), std::nullopt, core::FilterConfig{});
  REQUIRE(std::holds_alternative<sink::Rejected>(missing));
  CHECK(std::get<sink::Rejected>(missing).rejection.reason == core::RejectReason::kMissingEventType);
}

TEST_CASE("a batch accounts every record per partition") {
  Batch batch;
  batch.add(1, 10, 1000, kept());
  batch.add(1, 11, 1001, filtered());
  batch.add(1, 13, 999, rejected());  // gap: compaction or a transaction marker
  batch.add(3, 0, 5, kept());
  CHECK(batch.consumed() == 4);
  REQUIRE(batch.rows().size() == 2);
  CHECK(batch.rows()[0].partition == 1);
  CHECK(batch.rows()[0].offset == 10);
  const auto& p1 = batch.partitions().at(1);
  CHECK(p1.first_offset == 10);
  CHECK(p1.next_offset == 14);
  CHECK(p1.consumed == 3);
  CHECK(p1.kept == 1);
  CHECK(p1.filtered[static_cast<int>(core::FilterReason::kDiscountNotAbove)] == 1);
  CHECK(p1.rejected[static_cast<int>(core::RejectReason::kInvalidJson)] == 1);
  CHECK(p1.max_timestamp_ms == 1001);
  // consumed = kept + filtered + rejected, the invariant the SQL view checks.
  std::uint64_t outcomes = p1.kept;
  for (auto n : p1.filtered) outcomes += n;
  for (auto n : p1.rejected) outcomes += n;
  CHECK(outcomes == p1.consumed);

  batch.drop_partition(1);
  CHECK(batch.consumed() == 1);
  CHECK(batch.rows().size() == 1);
  CHECK(batch.rows()[0].partition == 3);
  batch.clear();
  CHECK(batch.empty());
}

TEST_CASE("a batch refuses offsets that go backwards") {
  Batch batch;
  batch.add(0, 5, 0, kept());
  CHECK_THROWS_AS(batch.add(0, 5, 0, kept()), std::logic_error);
  CHECK_THROWS_AS(batch.add(0, 4, 0, kept()), std::logic_error);
}

TEST_CASE("the offset book plans fenced transitions") {
  OffsetBook book;
  book.assign(0, std::nullopt);
  book.assign(2, 100);
  Batch batch;
  batch.add(0, 0, 0, kept());
  batch.add(0, 1, 0, kept());
  batch.add(2, 100, 0, filtered());
  batch.add(2, 104, 0, filtered());
  auto plan = book.plan(batch);
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].partition == 0);
  CHECK_FALSE(plan[0].expected.has_value());
  CHECK(plan[0].next == 2);
  CHECK(plan[1].partition == 2);
  CHECK(plan[1].expected == 100);
  CHECK(plan[1].next == 105);

  book.committed(plan);
  CHECK(book.stored(0) == 2);
  CHECK(book.stored(2) == 105);

  SECTION("a partition not owned cannot be committed") {
    book.revoke(2);
    CHECK_FALSE(book.owns(2));
    CHECK_THROWS_AS(book.plan(batch), std::logic_error);
  }
  SECTION("a batch below the stored offset is a bug, not a commit") {
    Batch stale;
    stale.add(2, 90, 0, kept());
    CHECK_THROWS_AS(book.plan(stale), std::logic_error);
  }
}
