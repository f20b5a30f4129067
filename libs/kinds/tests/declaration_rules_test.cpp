#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "declaration_fixtures.hpp"
#include "millrace/core/options.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/registry.hpp"

using namespace millrace;
using namespace millrace::kinds;
using Catch::Matchers::Contains;
using Rule = GenerateHint::Rule;
using namespace millrace::kinds::testing;

TEST_CASE("the topic is checked", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with("MILLRACE_WIDGETS_TOPIC", "WIDGETS_TOPIC")),
             Contains("topic.env: must start with MILLRACE_"));
  CHECK_THAT(refusal(widget_with(R"("partitions": 2)", R"("partitions": 0)")),
             Contains("topic.partitions: must be an integer in [1, 10000]"));
  CHECK_THAT(refusal(widget_with(R"("partitions": 2)", R"("partitions": 10001)")),
             Contains("topic.partitions"));
  CHECK_THAT(refusal(widget_with(R"("name": "widgets", )", R"("name": "", )")),
             Contains("topic.name: must be a non-empty string"));
  CHECK_THAT(refusal(widget_with(
                 R"({"name": "widgets", "env": "MILLRACE_WIDGETS_TOPIC", "partitions": 2})",
                 R"("widgets")")),
             Contains("topic: must be an object"));
}

TEST_CASE("the lines are checked", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("name": "Parts")", R"("name": "Note")")),
             Contains("lines.name: \"Note\" is also a field's name"));
  CHECK_THAT(refusal(widget_with(R"("table": "widget_parts")", R"("table": "widgets")")),
             Contains("lines.table: must differ from the record's table"));
  CHECK_THAT(refusal(widget_with(R"("max_items": 20)", R"("max_items": 0)")),
             Contains("lines.max_items"));
  CHECK_THAT(refusal(widget_with(R"("min_items": 1)", R"("min_items": 21)")),
             Contains("lines: max_items is below min_items"));
  CHECK_THAT(refusal(widget_with(R"("column": "qty")", R"("column": "id")")),
             Contains("lines.fields: column \"id\" is the record's identity, its time or the "
                      "line number"));
  // The lines' table holds the record's time too: its partitions are the record's.
  CHECK_THAT(refusal(widget_with(R"("column": "qty")", R"("column": "at")")),
             Contains("lines.fields: column \"at\""));
  CHECK_THAT(refusal(widget_with(R"("column": "qty")", R"("column": "part_no")")),
             Contains("lines.fields: column \"part_no\""));
  CHECK_THAT(
      refusal(widget_with(R"("max_items": 20)", R"("max_items": 20, "generate_items": [0, 3])")),
      Contains("lines.generate_items: must be an integer in [1, 20]"));
  CHECK_THAT(
      refusal(widget_with(R"("max_items": 20)", R"("max_items": 20, "generate_items": [3, 2])")),
      Contains("lines.generate_items: must be an integer in [3, 20]"));
  CHECK_THAT(
      refusal(widget_with(R"("max_items": 20)", R"("max_items": 20, "generate_items": [3])")),
      Contains("lines.generate_items: must be [low, high]"));
  CHECK_THAT(refusal(widget_with(R"("max_items": 20)", R"("max_items": 20, "fields": [])")),
             Contains("member \"fields\" appears more than once"));
}

TEST_CASE("generate rules are checked", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("type": "text", "pii": true})",
                                 R"("type": "text", "pii": true, "generate": "phone"})")),
             Contains("fields[5].generate: \"phone\" is not a rule"));
  CHECK_THAT(refusal(widget_with(R"({"range": [1, 2.5]})", R"({"range": [2.5, 1]})")),
             Contains("lines.fields[2].generate.range: high is below low"));
  CHECK_THAT(refusal(widget_with(R"({"range": [1, 2.5]})", R"({"range": [1]})")),
             Contains("lines.fields[2].generate.range: must be [low, high]"));
  CHECK_THAT(refusal(widget_with(R"({"range": [1, 2.5]})", R"({"range": [1, "2"]})")),
             Contains("lines.fields[2].generate.range: must be a number"));
  CHECK_THAT(refusal(widget_with(R"({"range": [1, 2.5]})", R"({})")),
             Contains("lines.fields[2].generate: must hold exactly one rule"));
  CHECK_THAT(
      refusal(widget_with(R"({"range": [1, 2.5]})", R"({"range": [1, 2], "one_of": ["1"]})")),
      Contains("lines.fields[2].generate: must hold exactly one rule"));
  CHECK_THAT(refusal(widget_with(R"({"range": [1, 2.5]})", R"({"one_of": []})")),
             Contains("lines.fields[2].generate.one_of: must be a non-empty array of strings"));
}

TEST_CASE("sum_of_lines must name line fields", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"(["Qty", "Price"])", R"(["Qty", "Cost"])")),
             Contains("test widget") &&
                 Contains("fields: \"Total\": sum_of_lines names no line field Cost"));
  CHECK_THAT(refusal(widget_with(R"(["Qty", "Price"])", R"(["Note"])")),
             Contains("sum_of_lines names no line field Note"));
  // The fields multiplied must be numbers.
  CHECK_THAT(refusal(widget_with(R"(["Qty", "Price"])", R"(["Qty", "Owner"])")),
             Contains("\"Total\": sum_of_lines") && Contains("Owner"));
  CHECK(parse_declaration(widget_with(R"(["Qty", "Price"])", R"(["Qty"])"), "t")
            .fields[3]
            .generate.of == std::vector<std::string>{"Qty"});
  // Only on a decimal field, and only with lines.
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "text",
                                    "generate": {"sum_of_lines": ["Qty"]})")),
             Contains("\"Note\": sum_of_lines needs lines and a decimal field"));
  std::string no_lines(kWidget);
  no_lines.erase(no_lines.find(",\n  \"lines\""));
  no_lines += "}";
  CHECK_THAT(refusal(no_lines),
             Contains("\"Total\": sum_of_lines needs lines and a decimal field"));
}

TEST_CASE("line rules apply where they can be followed", "[kinds][declaration]") {
  // copy_of copies the record's field into a line, and sum_of_lines sums
  // the lines into the record: not the other way round.
  CHECK_THAT(
      refusal(widget_with(R"("type": "text", "pii": true})",
                          R"("type": "text", "pii": true, "generate": {"copy_of": "Nope"}})")),
      Contains("test widget") && Contains("\"Owner\"") && Contains("copy_of"));
  CHECK_THAT(
      refusal(widget_with(R"("type": "text", "pii": true})",
                          R"("type": "text", "pii": true, "generate": {"copy_of": "Note"}})")),
      Contains("\"Owner\"") && Contains("copy_of"));
  CHECK_THAT(refusal(widget_with(R"("generate": {"range": [1, 2.5]})",
                                 R"("generate": {"sum_of_lines": ["Qty", "Price"]})")),
             Contains("test widget") && Contains("\"Price\"") && Contains("sum_of_lines"));
}

TEST_CASE("copy_of must name a record field", "[kinds][declaration]") {
  CHECK_THAT(
      refusal(widget_with(R"({"copy_of": "Owner"})", R"({"copy_of": "Nope"})")),
      Contains("test widget") && Contains("lines.fields: \"Owner\": copy_of names no field Nope"));
  // A line field's name is not the record's.
  CHECK_THAT(refusal(widget_with(R"({"copy_of": "Owner"})", R"({"copy_of": "Qty"})")),
             Contains("copy_of names no field Qty"));
  CHECK_THAT(refusal(widget_with(R"({"copy_of": "Owner"})", R"({"copy_of": ""})")),
             Contains("lines.fields[0].generate.copy_of: must be a non-empty string"));
}

TEST_CASE("generate rules made from other fields, chance and absent are read and checked",
          "[kinds][declaration]") {
  using Rule = GenerateHint::Rule;
  const auto d =
      parse_declaration(widget_with(R"({"name": "Note", "column": "note", "type": "text"},)",
                                    R"({"name": "Note", "column": "note", "type": "text",
                      "generate": {"pattern": "n-{Count:3}", "absent": 0.5}},
                     {"name": "Sku", "column": "sku", "type": "integer", "min": 0,
                      "max": 999999, "generate": "catalog_sku"},
                     {"name": "Cat", "column": "cat", "type": "text",
                      "generate": {"catalog_category_of": "Sku"}},
                     {"name": "List", "column": "list", "type": "decimal", "min": 0,
                      "max": 1000, "generate": {"catalog_price_of": "Sku"}},
                     {"name": "Addr", "column": "addr", "type": "ip",
                      "generate": {"ip_of": "Count"}},
                     {"name": "Gift", "column": "gift", "type": "boolean",
                      "generate": {"chance": 0.25}},)"),
                        "test");
  const auto& note = d.fields[*d.find("Note")].generate;
  CHECK(note.rule == Rule::kPattern);
  CHECK(note.of == std::vector<std::string>{"Count"});
  CHECK(note.absent == 0.5);
  CHECK(d.fields[*d.find("Cat")].generate.rule == Rule::kCatalogCategory);
  CHECK(d.fields[*d.find("List")].generate.rule == Rule::kCatalogPrice);
  CHECK(d.fields[*d.find("Addr")].generate.rule == Rule::kIpOf);
  CHECK(d.fields[*d.find("Gift")].generate.share == 0.25);

  const auto note_with = [](std::string_view generate) {
    return widget_with(R"({"name": "Note", "column": "note", "type": "text"},)",
                       R"({"name": "Note", "column": "note", "type": "text", "generate": )" +
                           std::string(generate) + "},");
  };
  CHECK_THAT(refusal(note_with(R"({"pattern": "n-{Nope}"})")), Contains("no field Nope"));
  CHECK_THAT(refusal(note_with(R"({"pattern": "n-{Count"})")), Contains("without its '}'"));
  CHECK_THAT(refusal(note_with(R"({"pattern": "plain"})")), Contains("names no field"));
  CHECK_THAT(refusal(note_with(R"({"pattern": "{At}"})")), Contains("neither an integer"));
  CHECK_THAT(refusal(note_with(R"({"catalog_category_of": "Count"})")),
             Contains("not a catalog_sku"));
  CHECK_THAT(refusal(note_with(R"({"chance": 0.5})")), Contains("boolean fields only"));
  CHECK_THAT(refusal(note_with(R"({"one_of": ["a"], "step": 1})")), Contains("step applies"));
  CHECK_THAT(refusal(note_with(R"({"one_of": ["a"], "zero": 0.5})")), Contains("zero applies"));
  const auto count_with = [](std::string_view generate) {
    return widget_with(
        R"("type": "integer", "min": 0, "max": 10},)",
        R"("type": "integer", "min": 0, "max": 10, "generate": )" + std::string(generate) + "},");
  };
  const auto stepped =
      parse_declaration(count_with(R"({"range": [0, 10], "step": 5, "zero": 0.2})"), "test");
  CHECK(stepped.fields[*stepped.find("Count")].generate.step == "5");
  CHECK(stepped.fields[*stepped.find("Count")].generate.zero == 0.2);
  CHECK_THAT(refusal(count_with(R"({"range": [0, 10], "step": 0.5})")), Contains("whole number"));
  CHECK_THAT(refusal(count_with(R"({"range": [0, 10], "step": 0})")), Contains("above 0"));
  CHECK_THAT(refusal(note_with(R"({"one_of": ["a"], "absent": 2})")), Contains("between 0 and 1"));
  CHECK_THAT(refusal(note_with(R"({"one_of": ["a"], "range": [1, 2]})")),
             Contains("exactly one rule"));
  CHECK_THAT(refusal(widget_with(R"("required": true, "max_bytes": 40})",
                                 R"("required": true, "max_bytes": 40,
                                    "generate": {"one_of": ["a"], "absent": 0.1}})")),
             Contains("optional fields only"));
  CHECK_THAT(refusal(widget_with(R"("generate": {"copy_of": "Owner"}})",
                                 R"("generate": {"pattern": "{Qty}"}})")),
             Contains("record fields only"));
}
