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

#include "millrace/core/options.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/kinds/registry.hpp"

using namespace millrace;
using namespace millrace::kinds;
using Catch::Matchers::Contains;
using Rule = GenerateHint::Rule;

namespace {

// A directory of the test's own under /tmp, removed with everything in it.
struct TempDir {
  TempDir() {
    std::string name = "/tmp/millrace-kinds-XXXXXX";
    const char* made = ::mkdtemp(name.data());
    REQUIRE(made != nullptr);
    path = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  void write(const std::string& file, std::string_view text) const {
    std::ofstream out(path / file, std::ios::binary);
    out << text;
    REQUIRE(out.good());
  }
  std::string dir() const { return path.string(); }

  std::filesystem::path path;
};

// A small valid declaration; each refusal below breaks it in one place.
constexpr std::string_view kWidget = R"({
  "$comment": "a test kind",
  "kind": "widget",
  "description": "A widget with its parts",
  "topic": {"name": "widgets", "env": "MILLRACE_WIDGETS_TOPIC", "partitions": 2},
  "table": "widgets",
  "identity": "Id",
  "time": "At",
  "fields": [
    {"name": "Id", "column": "id", "type": "text", "required": true, "max_bytes": 40},
    {"name": "At", "column": "at", "type": "timestamp", "required": true},
    {"name": "Count", "column": "count", "type": "integer", "min": 0, "max": 10},
    {"name": "Total", "column": "total", "type": "decimal", "required": true, "min": 0, "max": 1000,
     "generate": {"sum_of_lines": ["Qty", "Price"]}},
    {"name": "Note", "column": "note", "type": "text"},
    {"name": "Owner", "column": "owner", "type": "text", "pii": true}
  ],
  "lines": {
    "name": "Parts",
    "table": "widget_parts",
    "number_column": "part_no",
    "min_items": 1,
    "max_items": 20,
    "fields": [
      {"name": "Owner", "column": "owner", "type": "text", "required": true,
       "generate": {"copy_of": "Owner"}},
      {"name": "Qty", "column": "qty", "type": "integer", "required": true, "min": 1, "max": 9},
      {"name": "Price", "column": "price", "type": "decimal", "required": true, "min": 0,
       "max": 50, "generate": {"range": [1, 2.5]}}
    ]
  }
})";

// kWidget with `from` (which must occur exactly once) replaced by `to`.
std::string widget_with(std::string_view from, std::string_view to) {
  std::string text(kWidget);
  const auto at = text.find(from);
  INFO("replacing: " << from);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + 1) == std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

// The message of the UsageError parsing `json` throws; fails if none is.
std::string refusal(std::string_view json, std::string_view origin = "test widget") {
  INFO("declaration: " << json);
  try {
    parse_declaration(json, origin);
  } catch (const core::UsageError& e) {
    return e.what();
  }
  FAIL("the declaration was accepted");
  return {};
}

std::string find_kind_refusal(std::string_view kind, const std::string& dir) {
  try {
    find_kind(kind, dir);
  } catch (const core::UsageError& e) {
    return e.what();
  }
  FAIL("find_kind(\"" << kind << "\", \"" << dir << "\") succeeded");
  return {};
}

const FieldDecl& field(const std::vector<FieldDecl>& fields, std::string_view name) {
  const auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const FieldDecl& f) { return f.name == name; });
  INFO("field: " << name);
  REQUIRE(it != fields.end());
  return *it;
}

core::Decimal dec(std::string_view literal) {
  const auto d = core::Decimal::parse(literal);
  INFO("literal: " << literal);
  REQUIRE(d.has_value());
  return *d;
}

}  // namespace

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

TEST_CASE("find_kind finds a kind declared in a directory", "[kinds][registry]") {
  const TempDir dir;
  dir.write("widget.json", kWidget);
  const auto d = find_kind("widget", dir.dir());
  CHECK(d.kind == "widget");
  CHECK(d.table == "widgets");
  // The built-in kinds are still found with a directory set.
  CHECK(find_kind("order", dir.dir()).kind == "order");
  CHECK(find_kind("store_event", dir.dir()).kind == "store_event");

  // all_kinds: the built-in ones, then the directory's in name order;
  // other files are not declarations.
  dir.write("gizmo.json", widget_with(R"("kind": "widget")", R"("kind": "gizmo")"));
  dir.write("notes.txt", "not a declaration");
  std::vector<std::string> kinds;
  for (const auto& k : all_kinds(dir.dir())) kinds.push_back(k.kind);
  CHECK(kinds == std::vector<std::string>{"order", "store_event", "trade", "gizmo", "widget"});
  kinds.clear();
  for (const auto& k : all_kinds("")) kinds.push_back(k.kind);
  CHECK(kinds == std::vector<std::string>{"order", "store_event", "trade"});
}

TEST_CASE("an unknown kind's error lists the built-in kinds", "[kinds][registry]") {
  CHECK_THAT(find_kind_refusal("invoice", ""), Contains("no kind \"invoice\"") &&
                                                   Contains("order, store_event") &&
                                                   Contains("no MILLRACE_KINDS_DIR"));
  const TempDir dir;
  CHECK_THAT(find_kind_refusal("invoice", dir.dir()),
             Contains("no kind \"invoice\"") && Contains("order, store_event") &&
                 Contains((dir.path / "invoice.json").string()) && Contains("does not exist"));
}

TEST_CASE("a directory may not redeclare a built-in kind", "[kinds][registry]") {
  const TempDir dir;
  dir.write("order.json", widget_with(R"("kind": "widget")", R"("kind": "order")"));
  CHECK_THAT(
      find_kind_refusal("order", dir.dir()),
      Contains("kind \"order\" is built in") && Contains((dir.path / "order.json").string()));
  CHECK_THROWS_AS(all_kinds(dir.dir()), core::UsageError);
  // Other kinds are unaffected.
  CHECK(find_kind("store_event", dir.dir()).kind == "store_event");
}

TEST_CASE("a declaration's kind must match its file name", "[kinds][registry]") {
  const TempDir dir;
  dir.write("gadget.json", kWidget);
  CHECK_THAT(find_kind_refusal("gadget", dir.dir()),
             Contains((dir.path / "gadget.json").string()) &&
                 Contains("declares kind \"widget\"") && Contains("widget.json"));
  CHECK_THROWS_AS(all_kinds(dir.dir()), core::UsageError);
}

TEST_CASE("a bad declaration in a directory is refused, naming its file", "[kinds][registry]") {
  const TempDir dir;
  dir.write("widget.json", widget_with(R"("column": "note")", R"("column": "Drop Table")"));
  CHECK_THAT(find_kind_refusal("widget", dir.dir()),
             Contains("kind declaration " + (dir.path / "widget.json").string()) &&
                 Contains("fields[4].column") && Contains("Drop Table"));
}

TEST_CASE("a views file beside the declarations adds views to a kind, a built-in one too",
          "[kinds][registry]") {
  const TempDir dir;
  constexpr std::string_view kHourly =
      R"({"name": "orders_hourly", "window": {"size": "1h"},
          "measures": [{"as": "orders", "op": "count"}, {"as": "revenue", "op": "sum", "of": ["Total"]}]})";
  dir.write("order.views.json",
            std::string(R"({"kind": "order", "views": [)") + std::string(kHourly) + "]}");
  const auto built = find_kind("order", "").views;
  const auto order = find_kind("order", dir.dir());
  REQUIRE(order.views.size() == built.size() + 1);
  CHECK(order.views.back().name == "orders_hourly");
  // Every service reads kinds through all_kinds or find_kind: the same views.
  const auto all = all_kinds(dir.dir());
  std::vector<std::string> kinds;
  for (const auto& k : all) kinds.push_back(k.kind);
  CHECK(kinds == std::vector<std::string>{"order", "store_event", "trade"});
  CHECK(all[0].views.size() == order.views.size());
  // A kind of the directory takes one too.
  dir.write("widget.json", kWidget);
  dir.write("widget.views.json", R"({"kind": "widget", "views": [{"name": "widgets_daily",
            "window": {"size": "1d"}, "measures": [{"as": "n", "op": "count"}]}]})");
  CHECK(find_kind("widget", dir.dir()).views.size() == 1);
  CHECK(all_kinds(dir.dir()).size() == 4);
  // Without the directory, the built-in declaration alone.
  CHECK(find_kind("order", "").views.size() == built.size());
}

TEST_CASE("a views file is refused naming it", "[kinds][registry]") {
  const TempDir dir;
  // A views file of no kind.
  dir.write("invoice.views.json", R"({"kind": "invoice", "views": []})");
  CHECK_THROWS_WITH(all_kinds(dir.dir()),
                    Contains("views file " + (dir.path / "invoice.views.json").string()) &&
                        Contains("no kind \"invoice\""));
  std::filesystem::remove(dir.path / "invoice.views.json");
  // Not JSON, and a view the built-in declaration names already.
  dir.write("order.views.json", "views: []");
  CHECK_THAT(find_kind_refusal("order", dir.dir()),
             Contains("views file " + (dir.path / "order.views.json").string() + ": not JSON"));
  CHECK_THROWS_AS(all_kinds(dir.dir()), core::UsageError);
  const auto taken = find_kind("order", "").views.at(0).name;
  dir.write("order.views.json",
            R"({"kind": "order", "views": [{"name": ")" + taken +
                R"(", "window": {"size": "1h"}, "measures": [{"as": "n", "op": "count"}]}]})");
  CHECK_THAT(find_kind_refusal("order", dir.dir()),
             Contains((dir.path / "order.views.json").string()) &&
                 Contains("\"" + taken + "\" is declared twice"));
  // The store event's: read wherever its declaration is, a --kind
  // store_event service's start (resolve()) too, which refuses a bad one.
  std::filesystem::remove(dir.path / "order.views.json");
  dir.write("store_event.views.json",
            R"({"kind": "store_event", "views": [{"name": "sales_per_store", "window": )"
            R"({"size": "1h"}, "group_by": ["store_id"], "measures": [{"as": "n", "op": )"
            R"("count"}]}]})");
  const auto store_event = find_kind("store_event", dir.dir());
  REQUIRE(store_event.views.size() == 5);  // after its own four
  CHECK(store_event.views[4].name == "sales_per_store");
  KindOptions k;
  k.kind = "store_event";
  k.kinds_dir = dir.dir();
  CHECK(resolve(k, "store-events") == "store-events");
  dir.write("store_event.views.json", R"({"kind": "store_event", "views": [{"name": "x"}]})");
  CHECK_THROWS_WITH(resolve(k, "store-events"), Contains("store_event.views.json"));
  k.kinds_dir.clear();
  CHECK(resolve(k, "store-events") == "store-events");
}

TEST_CASE("storage: partitions by day and no retention unless declared", "[kinds][declaration]") {
  const auto plain = parse_declaration(kWidget, "test widget");
  CHECK(plain.storage.partition_span == std::chrono::minutes(1440));
  CHECK_FALSE(plain.storage.retention.has_value());

  const auto set = parse_declaration(
      widget_with(R"("time": "At",)",
                  R"("time": "At", "storage": {"partition_span": "6h", "retention": "90d"},)"),
      "test widget");
  CHECK(set.storage.partition_span == std::chrono::minutes(360));
  CHECK(set.storage.retention == std::chrono::milliseconds(90LL * 86'400'000));

  const auto weekly = parse_declaration(
      widget_with(R"("time": "At",)", R"("time": "At", "storage": {"partition_span": "7d"},)"),
      "test widget");
  CHECK(weekly.storage.partition_span == std::chrono::minutes(7 * 1440));
  CHECK_FALSE(weekly.storage.retention.has_value());

  // A declared kind's record too far ahead gets its partition, and its
  // resends are told by kind_identities, unless it says otherwise.
  CHECK_FALSE(plain.storage.far_ahead_dead_letter);
  CHECK(plain.resends == Resends::kRegistry);
  const auto told =
      parse_declaration(widget_with(R"("time": "At",)", R"("time": "At", "resends": "table_key",
                  "storage": {"far_ahead": "dead_letter"},)"),
                        "test widget");
  CHECK(told.storage.far_ahead_dead_letter);
  CHECK(told.resends == Resends::kTableKey);
  CHECK_THAT(refusal(widget_with(R"("time": "At",)", R"("time": "At", "resends": "key",)")),
             Contains("resends: \"key\" is neither registry nor table_key"));
  CHECK_THAT(refusal(widget_with(R"("time": "At",)",
                                 R"("time": "At", "storage": {"far_ahead": "drop"},)")),
             Contains("storage.far_ahead: \"drop\" is neither partition nor dead_letter"));

  // The built-in order declares a day, and keeps every order unless the
  // sink's MILLRACE_ORDERS_RETENTION says otherwise.
  const auto order = find_kind("order", "");
  CHECK(order.storage.partition_span == std::chrono::minutes(1440));
  CHECK_FALSE(order.storage.retention.has_value());
}

TEST_CASE("storage: spans that do not tile a day and short retentions are refused",
          "[kinds][declaration]") {
  const auto with = [](std::string_view storage) {
    return widget_with(R"("time": "At",)",
                       std::string(R"("time": "At", "storage": )") + std::string(storage) + ",");
  };
  CHECK_THAT(refusal(with(R"({"partition_span": "7h"})")),
             Contains("kind declaration test widget: storage.partition_span: must be whole "
                      "minutes that divide a day (1m .. 1d) or whole days up to 31d, got \"7h\""));
  for (const char* span : {"36h", "32d", "90s", "0m", "1500ms"}) {
    INFO("span: " << span);
    CHECK_THAT(refusal(with(std::string(R"({"partition_span": ")") + span + "\"}")),
               Contains("storage.partition_span: must be whole minutes"));
  }
  // Durations are libs/core's (core::parse_duration), with its messages.
  CHECK_THAT(refusal(with(R"({"partition_span": "1 day"})")),
             Contains("storage.partition_span: \"1 day\" has an unknown unit \" day\""));
  CHECK_THAT(refusal(with(R"({"partition_span": "24"})")),
             Contains("storage.partition_span: \"24\" has no unit"));
  CHECK_THAT(refusal(with(R"({"partition_span": 86400})")),
             Contains("storage.partition_span: must be a non-empty string"));
  CHECK_THAT(refusal(with(R"({"retention": "30s"})")),
             Contains("storage.retention: keep at least a minute (1m)"));
  CHECK_THAT(refusal(with(R"({"retention": "0d"})")), Contains("storage.retention: keep at least"));
  CHECK_THAT(refusal(with(R"({"retention": "forever"})")),
             Contains("storage.retention: \"forever\" is not a duration"));
  CHECK_THAT(refusal(with(R"({"retention": "90d", "retain": "1d"})")),
             Contains("storage: unknown member \"retain\""));
  CHECK_THAT(refusal(with(R"({"retention": "90d", "retention": "1d"})")),
             Contains("storage: member \"retention\" appears more than once"));
  CHECK_THAT(refusal(with(R"("1d")")), Contains("storage: must be an object"));
}

TEST_CASE("a kind's retention setting overrides its declaration's", "[kinds][options]") {
  KindOptions k;
  k.kind = "widget";
  k.declaration = parse_declaration(
      widget_with(R"("time": "At",)", R"("time": "At", "storage": {"retention": "30d"},)"),
      "test widget");
  CHECK(retention(k) == std::chrono::milliseconds(30LL * 86'400'000));
  k.retention["widget"] = "";
  CHECK(retention(k) == std::chrono::milliseconds(30LL * 86'400'000));
  k.retention["widget"] = "12h";
  CHECK(retention(k) == std::chrono::milliseconds(12LL * 3'600'000));
  k.retention["widget"] = "0";
  CHECK_FALSE(retention(k).has_value());
  const auto refused = [&](const char* value) -> std::string {
    k.retention["widget"] = value;
    INFO("value: " << value);
    try {
      retention(k);
    } catch (const core::UsageError& e) {
      return e.what();
    }
    FAIL("accepted");
    return {};
  };
  for (const char* short_one : {"30s", "0s", "59999ms"}) {
    CHECK_THAT(refused(short_one), Contains("--widget-retention / MILLRACE_WIDGETS_RETENTION: "
                                            "keep at least a minute (1m), or 0"));
  }
  for (const char* bad : {"12 h", "1.5d", "-1d", "90"}) {
    CHECK_THAT(refused(bad), Contains("--widget-retention / MILLRACE_WIDGETS_RETENTION: \"" +
                                      std::string(bad) + "\""));
  }
  // The store event's partitions follow MILLRACE_STORE_RETENTION_DAYS.
  KindOptions store;
  CHECK_FALSE(retention(store).has_value());
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
