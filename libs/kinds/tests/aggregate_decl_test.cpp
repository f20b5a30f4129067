// The aggregate member of a declaration (aggregate_decl.cpp): groups, sums
// and ratios, and what is refused, naming where.

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "millrace/core/options.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/registry.hpp"

using namespace millrace;
using namespace millrace::kinds;
using Catch::Matchers::Contains;

namespace {

// A small kind with an aggregate of `members` besides its name.
std::string with(std::string_view members) {
  return std::string(R"({
  "kind": "widget",
  "topic": {"name": "widgets", "env": "MILLRACE_WIDGETS_TOPIC", "partitions": 2},
  "table": "widgets",
  "identity": "Id",
  "time": "At",
  "fields": [
    {"name": "Id", "column": "id", "type": "text", "required": true, "max_bytes": 40},
    {"name": "At", "column": "at", "type": "timestamp", "required": true},
    {"name": "Count", "column": "count", "type": "integer", "min": 0, "max": 10},
    {"name": "Total", "column": "total", "type": "decimal", "required": true, "min": 0, "max": 1000},
    {"name": "Note", "column": "note", "type": "text"}
  ],
  "aggregate": {"name": "widget_sums", )") +
         std::string(members) + "}}";
}

std::string refusal(std::string_view json) {
  INFO("declaration: " << json);
  try {
    parse_declaration(json, "test widget");
  } catch (const core::UsageError& e) {
    return e.what();
  }
  FAIL("the declaration was accepted");
  return {};
}

}  // namespace

TEST_CASE("the built-in trade kind keeps sums per symbol with notional and VWAP",
          "[kinds][declaration][aggregate]") {
  const auto d = find_kind("trade", "");
  REQUIRE(d.aggregate);
  const auto& a = *d.aggregate;
  REQUIRE(a.group_by.size() == 1);
  CHECK(d.fields[a.group_by[0]].name == "Symbol");
  REQUIRE(a.sums.size() == 1);
  CHECK(a.sums[0].as == "notional");
  REQUIRE(a.sums[0].of.size() == 2);
  CHECK(d.fields[a.sums[0].of[0]].name == "Price");
  CHECK(d.fields[a.sums[0].of[1]].name == "Volume");
  CHECK(a.sums[0].scale == 12);
  REQUIRE(a.ratios.size() == 1);
  CHECK(a.ratios[0].as == "vwap");
  CHECK(a.ratios[0].of == "notional");
  CHECK(a.ratios[0].per == "volume");
  CHECK(a.ratios[0].scale == 6);
}

TEST_CASE("an aggregate's groups, sums and ratios are checked", "[kinds][declaration][aggregate]") {
  const auto d = parse_declaration(
      with(R"("amount": "Total", "group_by": ["Id"], "sums": [{"as": "total_again",
         "of": ["Total"]}, {"as": "squared", "of": ["Total", "Total"]}], "ratios": [{"as":
         "mean", "of": "amount", "per": "records", "scale": 2}])"),
      "test widget");
  REQUIRE(d.aggregate);
  CHECK(d.aggregate->group_by == std::vector<std::size_t>{0});
  CHECK(d.aggregate->sums[0].scale == 6);
  CHECK(d.aggregate->sums[1].scale == 12);
  CHECK(d.aggregate->ratios[0].scale == 2);

  CHECK_THAT(refusal(with(R"("group_by": ["Nope"])")),
             Contains("aggregate.group_by[0]: names no field of the record (\"Nope\")"));
  CHECK_THAT(refusal(with(R"("group_by": ["Total"])")),
             Contains("aggregate.group_by[0]: field \"Total\" must be text or integer"));
  CHECK_THAT(refusal(with(R"("group_by": ["Note"])")),
             Contains("aggregate.group_by[0]: field \"Note\" must be required"));
  CHECK_THAT(refusal(with(R"("group_by": [])")),
             Contains("aggregate.group_by: must be a non-empty array"));
  CHECK_THAT(
      refusal(with(R"("group_by": ["Id", "Id"])")),
      Contains("aggregate.group_by[1]: \"id\" is already a column of the aggregate's views"));
  CHECK_THAT(refusal(with(R"("sums": [{"as": "s", "of": ["Note"]}])")),
             Contains("aggregate.sums[0].of[0]: field \"Note\" must be decimal or integer"));
  CHECK_THAT(refusal(with(R"("sums": [{"as": "s", "of": ["Count"]}])")),
             Contains("aggregate.sums[0].of[0]: field \"Count\" must be required"));
  CHECK_THAT(refusal(with(R"("sums": [{"as": "s", "of": ["Total", "Total", "Total"]}])")),
             Contains("aggregate.sums[0].of: takes one field, or two to multiply"));
  CHECK_THAT(refusal(with(R"("sums": [{"as": "units", "of": ["Total"]}])")),
             Contains("aggregate.sums[0].as: \"units\" is already a column"));
  CHECK_THAT(refusal(with(R"("sums": [{"as": "amount", "of": ["Total"]}], "amount_as": "x")")),
             Contains("aggregate.sums[0].as: \"amount\" is already a column"));
  CHECK_THAT(refusal(with(R"("sums": [{"as": "s", "of": ["Total"], "by": 1}])")),
             Contains("aggregate.sums[0]: unknown member \"by\""));
  CHECK_THAT(refusal(with(R"("ratios": [{"as": "r", "of": "nope", "per": "records"}])")),
             Contains("aggregate.ratios[0].of: \"nope\" is not a sum of the views"));
  CHECK_THAT(refusal(with(R"("ratios": [{"as": "r", "of": "amount", "per": "records",
             "scale": 13}])")),
             Contains("aggregate.ratios[0].scale: must be an integer in [0, 12]"));
  CHECK_THAT(refusal(with(R"("ratios": [{"as": "records", "of": "amount", "per": "units"}])")),
             Contains("aggregate.ratios[0].as: \"records\" is already a column"));
}
