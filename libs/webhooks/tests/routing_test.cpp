// Which endpoints each change goes to, and what each left out (routing.hpp).
#include "routing.hpp"

#include <catch2/catch.hpp>
#include <memory>

#include "filter.hpp"
#include "ingest.hpp"

using namespace millrace::webhooks::detail;

namespace {

ChangeFacts change(const std::string& table, const std::string& op, const std::string& after,
                   const std::string& audience = "") {
  const std::string value = R"({"id":"00000000000000AA-00000001","op":")" + op + R"(","table":")" +
                            table + R"(","key":{"id":1},"before":null,"after":)" + after +
                            R"(,"source":{"lsn":"0/AA","xid":1,"commit_time":)" +
                            R"("2026-11-28T07:00:00.000000Z","seq":0}})";
  auto read = read_change(value);
  REQUIRE(std::holds_alternative<ChangeFacts>(read));
  auto facts = std::get<ChangeFacts>(read);
  facts.audience = audience;
  return facts;
}

Subscription subscription(std::int64_t id, std::vector<std::string> tables = {},
                          std::vector<std::string> ops = {}, const std::string& filter = "") {
  Subscription s;
  s.id = id;
  s.tables = std::move(tables);
  s.ops = std::move(ops);
  if (!filter.empty()) s.filter = std::make_shared<const Filter>(Filter::parse(filter));
  return s;
}

}  // namespace

TEST_CASE("tables, operations and an Event Grid filter choose the endpoints") {
  const auto sale = change("public.sales", "c", R"({"id":1,"discount":60,"category":"Kitchen"})");
  const auto cheap = change("public.sales", "c", R"({"id":2,"discount":10,"category":"Kitchen"})");
  const auto item = change("public.items", "u", R"({"id":3})");
  const auto gone = change("public.sales", "d", "null");
  const std::vector<Subscription> subs = {
      subscription(1),
      subscription(2, {"sales"}),
      subscription(3, {"public.items"}, {"u"}),
      subscription(4, {}, {},
                   R"({"advancedFilters":[{"operatorType":"NumberGreaterThan",)"
                   R"("key":"data.after.discount","value":50}]})"),
      subscription(5, {}, {},
                   R"({"subjectBeginsWith":"public.items/","includedEventTypes":)"
                   R"(["com.millrace.row.updated"]})"),
  };
  const std::vector<const ChangeFacts*> changes = {&sale, &cheap, &item, &gone};
  const auto routes = route(subs, changes, {0, 1, 2, 1}, "/millrace/db");
  REQUIRE(routes.endpoints.size() == 4);
  CHECK(routes.endpoints[0] == std::vector<std::int64_t>{1, 2, 4});
  CHECK(routes.endpoints[1] == std::vector<std::int64_t>{1, 2});
  CHECK(routes.endpoints[2] == std::vector<std::int64_t>{1, 3, 5});
  CHECK(routes.endpoints[3] == std::vector<std::int64_t>{1, 2});
  // Left out, per endpoint and partition.
  CHECK(routes.filtered.at({2, 2}) == 1);
  CHECK(routes.filtered.at({3, 0}) == 1);
  CHECK(routes.filtered.at({3, 1}) == 2);
  CHECK(routes.filtered.at({4, 1}) == 2);
  CHECK(routes.filtered.at({4, 2}) == 1);
  CHECK(routes.filtered.at({5, 1}) == 2);
  CHECK(routes.filtered.count({1, 0}) == 0);
}

TEST_CASE("a backfill's rows go to the endpoint that asked, and count for no other") {
  const auto row = change("public.sales", "r", R"({"id":1})", "webhooks:2");
  const std::vector<Subscription> subs = {subscription(1), subscription(2),
                                          subscription(3, {"items"})};
  const auto routes = route(subs, {&row}, {0}, "/p");
  CHECK(routes.endpoints[0] == std::vector<std::int64_t>{2});
  CHECK(routes.filtered.empty());
}

TEST_CASE("an endpoint whose stored filter is broken gets nothing, and counts it") {
  const auto c = change("public.sales", "c", R"({"id":1})");
  auto broken = subscription(7);
  broken.broken = "unknown operator";
  const auto routes = route({broken}, {&c}, {3}, "/p");
  CHECK(routes.endpoints[0].empty());
  CHECK(routes.filtered.at({7, 3}) == 1);
}

TEST_CASE("a filter reads the CloudEvents source and subject of the change") {
  const auto c = change("public.sales", "c", R"({"id":1})");
  const auto by_source =
      subscription(1, {}, {},
                   R"({"advancedFilters":[{"operatorType":"StringEndsWith","key":"source",)"
                   R"("values":["/db/public.sales"]}]})");
  const auto by_subject = subscription(2, {}, {}, R"({"subjectEndsWith":"/1"})");
  const auto routes = route({by_source, by_subject}, {&c}, {0}, "/millrace/db");
  CHECK(routes.endpoints[0] == std::vector<std::int64_t>{1, 2});
}
