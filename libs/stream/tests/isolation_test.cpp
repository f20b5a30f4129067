#include "isolation.hpp"

#include <catch2/catch.hpp>
#include <set>

using millrace::stream::detail::DbError;
using millrace::stream::detail::isolate_refused;
using millrace::stream::detail::refuses_data;

namespace {

// A fake table: refuses a range holding any record in `bad`, and otherwise
// keeps what it wrote.
struct FakeTable {
  std::set<std::size_t> bad;
  std::vector<std::size_t> written;
  int writes = 0;

  std::optional<DbError> operator()(std::size_t begin, std::size_t end) {
    ++writes;
    for (std::size_t i = begin; i < end; ++i) {
      if (bad.contains(i)) return DbError{"23514", "check violated by " + std::to_string(i)};
    }
    for (std::size_t i = begin; i < end; ++i) written.push_back(i);
    return std::nullopt;
  }
};

std::vector<std::size_t> positions(const std::vector<std::pair<std::size_t, DbError>>& refused) {
  std::vector<std::size_t> out;
  for (const auto& [i, e] : refused) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("isolation finds every refused record and keeps all others, in order") {
  for (const std::set<std::size_t>& bad :
       {std::set<std::size_t>{0}, {99}, {42}, {0, 1, 2}, {3, 50, 51, 98}, {7, 8, 9, 10, 11, 12}}) {
    FakeTable table;
    table.bad = bad;
    const auto refused = isolate_refused(100, {"23514", "whole"}, std::ref(table));
    CHECK(positions(refused) == std::vector<std::size_t>(bad.begin(), bad.end()));
    std::vector<std::size_t> kept;
    for (std::size_t i = 0; i < 100; ++i) {
      if (!bad.contains(i)) kept.push_back(i);
    }
    CHECK(table.written == kept);
    for (const auto& [i, e] : refused) {
      CHECK(e.sqlstate == "23514");
      CHECK(e.message == "check violated by " + std::to_string(i));
    }
  }
}

TEST_CASE("isolating one refused record costs logarithmic writes") {
  FakeTable table;
  table.bad = {777};
  const auto refused = isolate_refused(5000, {"22003", "overflow"}, std::ref(table));
  REQUIRE(positions(refused) == std::vector<std::size_t>{777});
  CHECK(table.writes <= 2 * 13);  // two halves per level, ceil(log2(5000)) = 13 levels
  CHECK(table.written.size() == 4999);
}

TEST_CASE("a refusal that needs earlier records is pinned on the record that completes it") {
  // A cap on a running total: records 0..9 each add 1, the table takes 6.
  std::size_t total = 0;
  std::vector<std::size_t> written;
  const auto refused = isolate_refused(10, {"23514", "cap"}, [&](std::size_t b, std::size_t e) {
    if (total + (e - b) > 6) return std::optional<DbError>(DbError{"23514", "cap"});
    total += e - b;
    for (std::size_t i = b; i < e; ++i) written.push_back(i);
    return std::optional<DbError>();
  });
  CHECK(positions(refused) == std::vector<std::size_t>{6, 7, 8, 9});
  CHECK(written == std::vector<std::size_t>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("a single refused record needs no further writes") {
  int writes = 0;
  const auto refused =
      isolate_refused(1, {"54000", "index row too large"}, [&](std::size_t, std::size_t) {
        ++writes;
        return std::optional<DbError>();
      });
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].first == 0);
  CHECK(refused[0].second.message == "index row too large");
  CHECK(writes == 0);
  CHECK(isolate_refused(0, {}, [](std::size_t, std::size_t) {
          return std::optional<DbError>();
        }).empty());
}

TEST_CASE("data exceptions, integrity violations and program limits refuse data, others do not") {
  CHECK(refuses_data("22003"));
  CHECK(refuses_data("23514"));
  CHECK(refuses_data("23505"));
  CHECK(refuses_data("54000"));
  CHECK_FALSE(refuses_data("40001"));
  CHECK_FALSE(refuses_data("42P01"));
  CHECK_FALSE(refuses_data("08006"));
  CHECK_FALSE(refuses_data(""));
}
