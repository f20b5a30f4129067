#include "millrace/kinds/declaration.hpp"

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
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/registry.hpp"

using namespace millrace;
using namespace millrace::kinds;
using Catch::Matchers::Contains;
using Rule = GenerateHint::Rule;
using namespace millrace::kinds::testing;

TEST_CASE("type names are the declarations' names", "[kinds][declaration]") {
  CHECK(type_name(ValueType::kText) == "text");
  CHECK(type_name(ValueType::kFreeText) == "free_text");
  CHECK(type_name(ValueType::kIp) == "ip");
  CHECK(type_name(ValueType::kUuid) == "uuid");
  CHECK(type_name(ValueType::kInteger) == "integer");
  CHECK(type_name(ValueType::kDecimal) == "decimal");
  CHECK(type_name(ValueType::kBoolean) == "boolean");
  CHECK(type_name(ValueType::kTimestamp) == "timestamp");
}

TEST_CASE("the built-in kinds are order, store_event and trade, in name order",
          "[kinds][registry]") {
  const auto built = built_in_kinds();
  REQUIRE(built.size() == 3);
  CHECK(built[0].kind == "order");
  CHECK(built[1].kind == "store_event");
  CHECK(built[1].kind == kStoreEvent);
  CHECK(built[2].kind == "trade");
  for (const auto& b : built) CHECK(parse_declaration(b.json, b.kind).kind == b.kind);
}

TEST_CASE("the built-in order declaration", "[kinds][declaration]") {
  const auto d = find_kind("order", "");
  CHECK(d.kind == "order");
  CHECK_FALSE(d.description.empty());
  CHECK(d.topic == "store-orders");
  CHECK(d.topic_env == "MILLRACE_ORDERS_TOPIC");
  CHECK(d.partitions == 4);
  CHECK(d.table == "orders");
  REQUIRE(d.fields.size() == 17);
  CHECK(d.identity_field().name == "PaymentTransactionId");
  CHECK(d.identity_field().column == "payment_transaction_id");
  CHECK(d.identity_field().type == ValueType::kText);
  CHECK(d.identity_field().required);
  CHECK(d.identity_field().max_bytes == 128);
  CHECK(d.identity_field().min_bytes == 1);
  CHECK(d.identity == 0);
  CHECK(d.time_field().name == "OrderDate");
  CHECK(d.time_field().type == ValueType::kTimestamp);
  CHECK(d.time == 1);
  CHECK(d.find("Total") == std::optional<std::size_t>(2));
  CHECK_FALSE(d.find("Details").has_value());
  CHECK_FALSE(d.find("total").has_value());

  // Three order fields are required, and the lines.
  std::vector<std::string> required;
  for (const auto& f : d.fields) {
    if (f.required) required.push_back(f.name);
  }
  CHECK(required == std::vector<std::string>{"PaymentTransactionId", "OrderDate", "Total"});

  const auto& total = field(d.fields, "Total");
  CHECK(total.column == "total");
  CHECK(total.type == ValueType::kDecimal);
  CHECK(total.min == dec("0"));
  CHECK(total.max == dec("1000000000"));
  CHECK(total.generate.rule == Rule::kSumOfLines);
  CHECK(total.generate.of == std::vector<std::string>{"Quantity", "UnitPrice"});

  const auto& region = field(d.fields, "Region");
  CHECK_FALSE(region.required);
  CHECK(region.max_bytes == 255);  // the default
  CHECK(region.min_bytes == 0);    // the default: "" is a value
  CHECK(region.generate.rule == Rule::kOneOf);
  CHECK(region.generate.choices ==
        std::vector<std::string>{"East US", "West US", "West Europe", "Southeast Asia"});
  CHECK_FALSE(region.pii);

  CHECK(field(d.fields, "FirstName").pii);
  CHECK(field(d.fields, "Email").generate.rule == Rule::kEmail);
  CHECK(field(d.fields, "Address").generate.rule == Rule::kDefault);
  CHECK(field(d.fields, "PostalCode").max_bytes == 32);
  CHECK(field(d.fields, "ReceiptUrl").max_bytes == 2048);
  CHECK(field(d.fields, "SMSOptIn").type == ValueType::kBoolean);
  CHECK(field(d.fields, "HasBeenShipped").column == "has_been_shipped");

  REQUIRE(d.lines.has_value());
  const auto& l = *d.lines;
  CHECK(l.name == "Details");
  CHECK(l.table == "order_lines");
  CHECK(l.number_column == "line_no");
  CHECK(l.min_items == 0);  // seed 003 does not require Details
  CHECK(l.max_items == 1000);
  CHECK(l.generate_min == 1);
  CHECK(l.generate_max == 4);
  REQUIRE(l.fields.size() == 4);
  CHECK(l.fields[0].name == "Email");
  CHECK(l.fields[1].name == "ProductId");
  CHECK(l.fields[2].name == "Quantity");
  CHECK(l.fields[3].name == "UnitPrice");
  for (const auto& f : l.fields) CHECK(f.required);
  CHECK(l.fields[0].generate.rule == Rule::kCopyOf);
  CHECK(l.fields[0].generate.of == std::vector<std::string>{"Email"});
  CHECK(l.fields[1].type == ValueType::kInteger);
  CHECK(l.fields[1].int_min == 1);
  CHECK(l.fields[1].int_max == 9'000'000'000'000);
  CHECK(l.fields[1].generate.rule == Rule::kCatalogSku);
  CHECK(l.fields[2].int_min == 1);
  CHECK(l.fields[2].int_max == 1'000'000);
  CHECK(l.fields[2].generate.rule == Rule::kRange);
  CHECK(l.fields[2].generate.low == "1");
  CHECK(l.fields[2].generate.high == "5");
  CHECK(l.fields[3].type == ValueType::kDecimal);
  CHECK(l.fields[3].generate.low == "1.99");
  CHECK(l.fields[3].generate.high == "49.99");
}

TEST_CASE("the built-in store_event declaration", "[kinds][declaration]") {
  const auto d = find_kind("store_event", "");
  CHECK(d.kind == "store_event");
  CHECK(d.topic == "store-events");
  CHECK(d.topic_env == "MILLRACE_TOPIC");
  CHECK(d.partitions == 4);
  CHECK(d.table == "store_events");
  CHECK_FALSE(d.lines.has_value());
  REQUIRE(d.fields.size() == 18);
  CHECK(d.identity_field().name == "id");
  CHECK(d.identity_field().type == ValueType::kUuid);
  CHECK(d.time_field().name == "ts");
  CHECK(field(d.fields, "store_ip").type == ValueType::kIp);
  CHECK(field(d.fields, "contact_me").type == ValueType::kFreeText);
  CHECK_FALSE(field(d.fields, "contact_me").required);
  CHECK(field(d.fields, "cust_id").int_max == std::numeric_limits<std::int64_t>::max());
  CHECK(field(d.fields, "discount").max == dec("100"));
  const auto& event_type = field(d.fields, "event_type");
  CHECK_FALSE(event_type.required);
  CHECK(event_type.values == std::vector<std::string>{"sale_event", "inventory_event"});
  // What the sink once chose for it in code.
  CHECK(d.codec == "sax");
  CHECK(d.type_header == d.find("event_type"));
  CHECK(d.resends == Resends::kTableKey);
  CHECK(d.storage.far_ahead_dead_letter);
}

TEST_CASE("a valid declaration parses with defaults filled in", "[kinds][declaration]") {
  const auto d = parse_declaration(kWidget, "test widget");
  CHECK(d.kind == "widget");
  CHECK(d.description == "A widget with its parts");
  CHECK(d.partitions == 2);
  REQUIRE(d.fields.size() == 6);
  CHECK(d.identity == 0);
  CHECK(d.time == 1);
  CHECK(d.fields[0].max_bytes == 40);
  CHECK(d.fields[2].int_min == 0);
  CHECK(d.fields[2].int_max == 10);
  CHECK_FALSE(d.fields[2].required);
  CHECK(d.fields[5].pii);
  CHECK_FALSE(d.fields[4].pii);
  REQUIRE(d.lines.has_value());
  // No generate_items: from min_items, at most four.
  CHECK(d.lines->generate_min == 1);
  CHECK(d.lines->generate_max == 4);
  CHECK(d.lines->fields[2].generate.low == "1");
  CHECK(d.lines->fields[2].generate.high == "2.5");

  // Without lines, and with min_items 0.
  const auto zero = parse_declaration(widget_with(R"("min_items": 1)", R"("min_items": 0)"), "z");
  CHECK(zero.lines->min_items == 0);
  CHECK(zero.lines->generate_min == 1);
  const auto few = parse_declaration(widget_with(R"("max_items": 20)", R"("max_items": 2)"), "few");
  CHECK(few.lines->generate_max == 2);
  const auto items = parse_declaration(
      widget_with(R"("max_items": 20)", R"("max_items": 20, "generate_items": [2, 7])"), "items");
  CHECK(items.lines->generate_min == 2);
  CHECK(items.lines->generate_max == 7);
}

TEST_CASE("a declaration that is not a JSON object is refused", "[kinds][declaration]") {
  CHECK_THAT(refusal("{", "broken.json"),
             Contains("kind declaration broken.json") && Contains("not JSON"));
  CHECK_THAT(refusal("[]"), Contains("must be an object"));
  CHECK_THAT(refusal(""), Contains("not JSON"));
}

TEST_CASE("an unknown member is refused, naming it and where it is", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("table": "widgets",)", R"("table": "widgets", "colour": 1,)")),
             Contains("kind declaration test widget") && Contains("unknown member \"colour\""));
  CHECK_THAT(refusal(widget_with(R"("type": "text", "required": true, "max_bytes": 40)",
                                 R"("type": "text", "requird": true, "max_bytes": 40)")),
             Contains("test widget") && Contains("fields[0]: unknown member \"requird\""));
  CHECK_THAT(refusal(widget_with(R"("partitions": 2})", R"("partitions": 2, "replicas": 3})")),
             Contains("topic: unknown member \"replicas\""));
  CHECK_THAT(refusal(widget_with(R"("number_column": "part_no",)",
                                 R"("number_column": "part_no", "sort": true,)")),
             Contains("lines: unknown member \"sort\""));
  CHECK_THAT(refusal(widget_with(R"({"copy_of": "Owner"})", R"({"copy_of": "Owner", "x": 1})")),
             Contains("lines.fields[0].generate: unknown member \"x\""));
}

TEST_CASE("a missing member is refused, naming it and where it is", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("table": "widgets",)", "")),
             Contains("test widget") && Contains("missing \"table\""));
  CHECK_THAT(refusal(widget_with(R"("kind": "widget",)", "")), Contains("missing \"kind\""));
  CHECK_THAT(refusal(widget_with(R"("identity": "Id",)", "")), Contains("missing \"identity\""));
  CHECK_THAT(refusal(widget_with(R"("name": "At", "column": "at", )", R"("name": "At", )")),
             Contains("fields[1]: missing \"column\""));
  CHECK_THAT(refusal(widget_with(R"("env": "MILLRACE_WIDGETS_TOPIC", )", "")),
             Contains("topic: missing \"env\""));
  CHECK_THAT(refusal(widget_with(R"("number_column": "part_no",)", "")),
             Contains("lines: missing \"number_column\""));
  CHECK_THAT(refusal(widget_with(R"({"name": "Qty", "column": "qty", "type": "integer",)",
                                 R"({"name": "Qty", "column": "qty",)")),
             Contains("lines.fields[1]: missing \"type\""));
}

TEST_CASE("a member given twice is refused", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("table": "widgets",)", R"("table": "widgets", "table": "x",)")),
             Contains("member \"table\" appears more than once"));
}

TEST_CASE("an unknown type is refused, naming the field", "[kinds][declaration]") {
  CHECK_THAT(
      refusal(widget_with(R"("column": "count", "type": "integer")",
                          R"("column": "count", "type": "int")")),
      Contains("test widget") && Contains("fields[2].type") && Contains("\"int\" is not a type"));
  CHECK_THAT(refusal(widget_with(R"("column": "count", "type": "integer")",
                                 R"("column": "count", "type": 3)")),
             Contains("fields[2].type: must be a non-empty string"));
}

TEST_CASE("a column that is not a plain SQL identifier is refused", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("column": "note")", R"("column": "Drop Table")")),
             Contains("fields[4].column") && Contains("\"Drop Table\" must be 1..63 of a-z"));
  for (const auto& bad : std::vector<std::string>{"Note", "1note", "no-te", "note;", "n\\\"ote",
                                                  std::string(64, 'a'), ""}) {
    INFO("column: " << bad);
    CHECK_THAT(refusal(widget_with(R"("column": "note")", "\"column\": \"" + bad + "\"")),
               Contains("fields[4].column"));
  }
  // 63 characters, a leading underscore and digits after the first are fine.
  for (const auto& good : std::vector<std::string>{std::string(63, 'a'), "_note", "n0te"}) {
    INFO("column: " << good);
    CHECK(parse_declaration(widget_with(R"("column": "note")", "\"column\": \"" + good + "\""), "t")
              .fields[4]
              .column == good);
  }
  CHECK_THAT(refusal(widget_with(R"("table": "widgets")", R"("table": "Widgets")")),
             Contains("table: \"Widgets\" must be"));
  CHECK_THAT(refusal(widget_with(R"("kind": "widget")", R"("kind": "my-widget")")),
             Contains("kind: \"my-widget\" must be"));
  CHECK_THAT(refusal(widget_with(R"("table": "widget_parts")", R"("table": "widget parts")")),
             Contains("lines.table"));
  CHECK_THAT(refusal(widget_with(R"("number_column": "part_no")", R"("number_column": "No")")),
             Contains("lines.number_column"));
}

TEST_CASE("two fields with one name or one column are refused", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("column": "note")", R"("column": "count")")),
             Contains("test widget") && Contains("fields[4]: a second field in column \"count\""));
  CHECK_THAT(refusal(widget_with(R"("name": "Note")", R"("name": "Count")")),
             Contains("fields[4]: a second field named \"Count\""));
  CHECK_THAT(refusal(widget_with(R"("column": "price")", R"("column": "qty")")),
             Contains("lines.fields[2]: a second field in column \"qty\""));
}

TEST_CASE("the source columns are reserved", "[kinds][declaration]") {
  for (const std::string column : {"kafka_topic", "kafka_partition", "kafka_offset", "stored_at"}) {
    INFO("column: " << column);
    CHECK_THAT(refusal(widget_with(R"("column": "note")", "\"column\": \"" + column + "\"")),
               Contains("fields[4]: column \"" + column + "\" is reserved"));
  }
  CHECK_THAT(refusal(widget_with(R"("column": "qty")", R"("column": "kafka_offset")")),
             Contains("lines.fields[1]: column \"kafka_offset\" is reserved"));
}

TEST_CASE("identity and time must name required fields of their types", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("identity": "Id")", R"("identity": "Note")")),
             Contains("test widget") && Contains("identity: field \"Note\" must be required"));
  CHECK_THAT(refusal(widget_with(R"("identity": "Id")", R"("identity": "Nope")")),
             Contains("identity: names no field (\"Nope\")"));
  CHECK_THAT(refusal(widget_with(R"("identity": "Id")", R"("identity": "At")")),
             Contains("identity: field \"At\" has a type this role cannot take"));
  CHECK_THAT(
      refusal(widget_with(R"("time": "At")", R"("time": "Id")")),
      Contains("test widget") && Contains("time: field \"Id\" has a type this role cannot take"));
  CHECK_THAT(refusal(widget_with(R"("time": "At")", R"("time": "Total")")),
             Contains("time: field \"Total\" has a type"));
  // A timestamp that is not required cannot be the time.
  CHECK_THAT(refusal(widget_with(R"("type": "timestamp", "required": true)",
                                 R"("type": "timestamp", "required": false)")),
             Contains("time: field \"At\" must be required"));
}

TEST_CASE("numeric fields need sound bounds", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("type": "integer", "min": 0, "max": 10)",
                                 R"("type": "integer", "min": 0)")),
             Contains("test widget") &&
                 Contains("fields[2]: an integer or decimal field needs min and max"));
  CHECK_THAT(
      refusal(widget_with(R"("type": "integer", "min": 0, "max": 10)", R"("type": "integer")")),
      Contains("fields[2]: an integer or decimal field needs min and max"));
  CHECK_THAT(refusal(widget_with(R"("min": 0, "max": 1000,)", R"("max": 1000,)")),
             Contains("fields[3]: an integer or decimal field needs min and max"));
  CHECK_THAT(refusal(widget_with(R"("type": "integer", "min": 0, "max": 10)",
                                 R"("type": "integer", "min": 10, "max": 9)")),
             Contains("test widget") && Contains("fields[2]: max is below min"));
  CHECK_THAT(refusal(widget_with(R"("min": 0, "max": 1000,)", R"("min": 5, "max": 4.999999,)")),
             Contains("fields[3]: max is below min"));
  // min == max is a field with one value.
  CHECK(parse_declaration(widget_with(R"("type": "integer", "min": 0, "max": 10)",
                                      R"("type": "integer", "min": 7, "max": 7)"),
                          "t")
            .fields[2]
            .int_max == 7);
  CHECK_THAT(refusal(widget_with(R"("type": "integer", "min": 0, "max": 10)",
                                 R"("type": "integer", "min": 0.5, "max": 10)")),
             Contains("fields[2].min: must be an integer"));
  CHECK_THAT(refusal(widget_with(R"("type": "integer", "min": 0, "max": 10)",
                                 R"("type": "integer", "min": "0", "max": 10)")),
             Contains("fields[2].min: must be an integer"));
  // Past 64 bits is not an integer bound, and certainly not 0.
  CHECK_THAT(refusal(widget_with(R"("type": "integer", "min": 0, "max": 10)",
                                 R"("type": "integer", "min": 0, "max": 99999999999999999999)")),
             Contains("fields[2].max: must be an integer"));
  CHECK(parse_declaration(widget_with(R"("type": "integer", "min": 0, "max": 10)",
                                      R"("type": "integer", "min": -9223372036854775808,
                                         "max": 9223372036854775807)"),
                          "t")
            .fields[2]
            .int_min == std::numeric_limits<std::int64_t>::min());
  CHECK_THAT(refusal(widget_with(R"("min": 0, "max": 1000,)", R"("min": 0, "max": 0.0000001,)")),
             Contains("fields[3].max: must be a number with at most six decimals"));
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "text", "min": 1)")),
             Contains("fields[4].min: applies to integer and decimal fields only"));
}

TEST_CASE("text settings apply to text fields only", "[kinds][declaration]") {
  CHECK_THAT(refusal(widget_with(R"("type": "integer", "min": 0, "max": 10)",
                                 R"("type": "integer", "min": 0, "max": 10, "max_bytes": 3)")),
             Contains("fields[2].max_bytes: applies to text fields only"));
  CHECK_THAT(refusal(widget_with(R"("column": "at", "type": "timestamp")",
                                 R"("column": "at", "type": "timestamp", "values": ["a"])")),
             Contains("fields[1].values: applies to text fields only"));
  CHECK_THAT(refusal(widget_with(R"("max_bytes": 40)", R"("max_bytes": 0)")),
             Contains("fields[0].max_bytes: must be an integer in [1, 1048576]"));
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "text", "values": [])")),
             Contains("fields[4].values: must be a non-empty array of strings"));
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "text", "values": ["a", 1])")),
             Contains("fields[4].values[1]: must be a non-empty string"));
  CHECK_THAT(refusal(widget_with(R"("pii": true)", R"("pii": "yes")")),
             Contains("fields[5].pii: must be true or false"));
  const auto d = parse_declaration(widget_with(R"("column": "note", "type": "text")",
                                               R"("column": "note", "type": "text",
                                                  "values": ["a", "b"], "max_bytes": 1)"),
                                   "t");
  CHECK(d.fields[4].values == std::vector<std::string>{"a", "b"});
  CHECK(d.fields[4].max_bytes == 1);
}

TEST_CASE("min_bytes is a text's shortest value, 0 by default", "[kinds][declaration]") {
  const auto plain = parse_declaration(std::string(kWidget), "t");
  CHECK(plain.fields[4].min_bytes == 0);
  const auto d = parse_declaration(widget_with(R"("column": "note", "type": "text")",
                                               R"("column": "note", "type": "text",
                                                  "min_bytes": 2)"),
                                   "t");
  CHECK(d.fields[4].min_bytes == 2);
  // Up to max_bytes itself: a fixed-length code.
  CHECK(parse_declaration(widget_with(R"("max_bytes": 40)", R"("min_bytes": 40, "max_bytes": 40)"),
                          "t")
            .fields[0]
            .min_bytes == 40);
  CHECK(parse_declaration(widget_with(R"("column": "note", "type": "text")",
                                      R"("column": "note", "type": "text", "min_bytes": 0)"),
                          "t")
            .fields[4]
            .min_bytes == 0);
  CHECK_THAT(refusal(widget_with(R"("max_bytes": 40)", R"("min_bytes": 41, "max_bytes": 40)")),
             Contains("fields[0].min_bytes: is above max_bytes (41 > 40)"));
  // Against the default max_bytes of 255.
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "text", "min_bytes": 256)")),
             Contains("fields[4].min_bytes: is above max_bytes (256 > 255)"));
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "text", "min_bytes": -1)")),
             Contains("fields[4].min_bytes: must be an integer in [0, 1048576]"));
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "text", "min_bytes": "1")")),
             Contains("fields[4].min_bytes: must be an integer in [0, 1048576]"));
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "free_text", "min_bytes": 1)")),
             Contains("fields[4].min_bytes: applies to text fields only"));
  CHECK_THAT(refusal(widget_with(R"("type": "integer", "min": 0, "max": 10)",
                                 R"("type": "integer", "min": 0, "max": 10, "min_bytes": 1)")),
             Contains("fields[2].min_bytes: applies to text fields only"));
  // A value or a choice shorter than min_bytes could never be accepted.
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "text", "min_bytes": 2,
                                    "values": ["ab", "c"])")),
             Contains("fields[4].values: \"c\" is not within min_bytes..max_bytes"));
  CHECK_THAT(refusal(widget_with(R"("column": "note", "type": "text")",
                                 R"("column": "note", "type": "text", "min_bytes": 2,
                                    "generate": {"one_of": ["ab", "c"]})")),
             Contains("fields[4].generate: choice \"c\" is not a valid text of this field"));
}
