// The shipped declarations against what else states their contracts: the
// store event's against its compiled table, the tests' reference
// (tests/reference: reference/contract.hpp), the order's against proto/order.schema.json and the
// names and JSON types of seed 003's schema. Their tables' columns are
// checked against the migrations in tests/integration/kinds_schema_test.cpp,
// which has a database.
#include "millrace/reference/contract.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "millrace/kinds/registry.hpp"
#include "millrace/test_paths.hpp"

using namespace millrace;
using kinds::ValueType;

namespace {

rapidjson::Document read_json(const std::string& relative) {
  std::ifstream in(millrace::test_paths::source(relative));
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

ValueType expected_type(core::FieldType t) {
  switch (t) {
    case core::FieldType::kUuid:
      return ValueType::kUuid;
    case core::FieldType::kText:
    case core::FieldType::kEventType:
      return ValueType::kText;
    case core::FieldType::kFreeText:
      return ValueType::kFreeText;
    case core::FieldType::kIp:
      return ValueType::kIp;
    case core::FieldType::kInteger:
      return ValueType::kInteger;
    case core::FieldType::kDecimal:
      return ValueType::kDecimal;
    case core::FieldType::kBoolean:
      return ValueType::kBoolean;
    case core::FieldType::kTimestamp:
      return ValueType::kTimestamp;
  }
  return ValueType::kText;
}

// A schema property's JSON types, null left out, and whether null is one.
std::pair<std::string, bool> json_type(const rapidjson::Value& p) {
  const auto& t = p["type"];
  if (t.IsString()) return {t.GetString(), false};
  std::string type;
  bool null = false;
  for (const auto& v : t.GetArray()) {
    if (std::string(v.GetString()) == "null") {
      null = true;
    } else {
      type = v.GetString();
    }
  }
  return {type, null};
}

std::string schema_type(ValueType t) {
  switch (t) {
    case ValueType::kInteger:
      return "integer";
    case ValueType::kDecimal:
      return "number";
    case ValueType::kBoolean:
      return "boolean";
    default:
      return "string";
  }
}

void check_against_schema(const std::vector<kinds::FieldDecl>& fields,
                          const rapidjson::Value& object,
                          std::set<std::string> extra_required = {}) {
  const auto& properties = object["properties"];
  std::set<std::string> required;
  for (const auto& r : object["required"].GetArray()) required.insert(r.GetString());
  std::set<std::string> declared_required = std::move(extra_required);
  for (const auto& f : fields) {
    INFO(f.name);
    REQUIRE(properties.HasMember(f.name.c_str()));
    const auto& p = properties[f.name.c_str()];
    const auto [type, null] = json_type(p);
    CHECK(type == schema_type(f.type));
    CHECK(null == !f.required);
    if (f.required) declared_required.insert(f.name);
    if (f.type == ValueType::kText) {
      // Absent minLength is JSON Schema's 0: an empty string is valid.
      CHECK((p.HasMember("minLength") ? p["minLength"].GetUint64() : 0) == f.min_bytes);
      CHECK(p["maxLength"].GetUint64() == f.max_bytes);
    }
    if (f.type == ValueType::kInteger) {
      CHECK(p["minimum"].GetInt64() == f.int_min);
      CHECK(p["maximum"].GetInt64() == f.int_max);
    }
    if (f.type == ValueType::kDecimal) {
      CHECK(core::Decimal::parse(std::to_string(p["minimum"].GetInt64())) == f.min);
      CHECK(core::Decimal::parse(std::to_string(p["maximum"].GetInt64())) == f.max);
    }
  }
  CHECK(required == declared_required);
  CHECK(properties.MemberCount() == fields.size() + (properties.HasMember("Details") ? 1 : 0));
}

}  // namespace

TEST_CASE("the store event's declaration is the contract compiled into the hot path") {
  const auto d = kinds::find_kind(kinds::kStoreEvent, "");
  CHECK(d.table == "store_events");
  CHECK(d.topic == "store-events");
  CHECK(d.topic_env == "MILLRACE_TOPIC");
  CHECK(d.identity_field().name == "id");
  CHECK(d.time_field().name == "ts");
  CHECK_FALSE(d.lines);
  REQUIRE(d.fields.size() == core::kStoreEventFields.size());
  for (std::size_t i = 0; i < d.fields.size(); ++i) {
    const auto& f = d.fields[i];
    const auto& c = core::kStoreEventFields[i];
    INFO(c.name);
    CHECK(f.name == c.name);
    CHECK(f.column == c.name);
    CHECK(f.required == c.required);
    CHECK(f.type == expected_type(c.type));
    if (c.type == core::FieldType::kInteger) {
      CHECK(f.int_min == c.min);
      CHECK(f.int_max == c.max);
    }
    if (c.type == core::FieldType::kDecimal) {
      CHECK(f.min == core::Decimal::from_integer(c.min));
      CHECK(f.max == core::Decimal::from_integer(c.max));
    }
    if (c.type == core::FieldType::kText) CHECK(f.max_bytes == core::kMaxTextBytes);
    // The compiled contract refuses an empty kText (1..kMaxTextBytes); its
    // event type is refused by its values instead.
    CHECK(f.min_bytes == (c.type == core::FieldType::kText ? 1u : 0u));
    if (c.type == core::FieldType::kEventType) {
      CHECK(f.values == std::vector<std::string>{"sale_event", "inventory_event"});
    }
  }
}

TEST_CASE("the store event's declaration says min_bytes where its schema says minLength") {
  const auto d = kinds::find_kind(kinds::kStoreEvent, "");
  const auto doc = read_json("proto/store_event.schema.json");
  for (const auto& f : d.fields) {
    INFO(f.name);
    REQUIRE(doc["properties"].HasMember(f.name.c_str()));
    const auto& p = doc["properties"][f.name.c_str()];
    CHECK((p.HasMember("minLength") ? p["minLength"].GetUint64() : 0) == f.min_bytes);
  }
}

TEST_CASE("the order's declaration and proto/order.schema.json agree field by field") {
  const auto d = kinds::find_kind("order", "");
  const auto doc = read_json("proto/order.schema.json");
  check_against_schema(
      d.fields, doc,
      d.lines->min_items > 0 ? std::set<std::string>{d.lines->name} : std::set<std::string>{});
  const auto& details = doc["properties"]["Details"];
  CHECK((details.HasMember("minItems") ? details["minItems"].GetUint64() : 0) ==
        d.lines->min_items);
  CHECK(details["maxItems"].GetUint64() == d.lines->max_items);
  check_against_schema(d.lines->fields, details["items"]);
}

TEST_CASE("the order's declaration keeps seed 003's member names and JSON types") {
  // Seed 003's schema for the data generator's orders, as given.
  const std::map<std::string, std::string> order = {
      {"Region", "string"},          {"OrderDate", "string"},
      {"FirstName", "string"},       {"LastName", "string"},
      {"Address", "string"},         {"City", "string"},
      {"State", "string"},           {"PostalCode", "string"},
      {"Country", "string"},         {"Phone", "string"},
      {"SMSOptIn", "boolean"},       {"SMSStatus", "string"},
      {"Email", "string"},           {"ReceiptUrl", "string"},
      {"Total", "number"},           {"PaymentTransactionId", "string"},
      {"HasBeenShipped", "boolean"},
  };
  const std::map<std::string, std::string> line = {{"Email", "string"},
                                                   {"ProductId", "integer"},
                                                   {"Quantity", "integer"},
                                                   {"UnitPrice", "number"}};
  const auto d = kinds::find_kind("order", "");
  std::map<std::string, std::string> declared;
  for (const auto& f : d.fields) declared[f.name] = schema_type(f.type);
  CHECK(declared == order);
  REQUIRE(d.lines);
  CHECK(d.lines->name == "Details");
  std::map<std::string, std::string> declared_line;
  for (const auto& f : d.lines->fields) {
    declared_line[f.name] = schema_type(f.type);
    CHECK(f.required);  // seed 003 requires all four
  }
  CHECK(declared_line == line);
}

TEST_CASE("the order's declaration requires only what Millrace needs of seed 003's orders") {
  // Seed 003 requires no order field and sets no minLength. Millrace needs
  // the identity, the event time and the amount (proto/README.md says why);
  // an empty identity identifies nothing. Anything more refuses orders the
  // seed's generator may send.
  const auto d = kinds::find_kind("order", "");
  std::set<std::string> required, non_empty;
  for (const auto& f : d.fields) {
    if (f.required) required.insert(f.name);
    if (f.min_bytes > 0) non_empty.insert(f.name);
  }
  CHECK(required == std::set<std::string>{"PaymentTransactionId", "OrderDate", "Total"});
  CHECK(non_empty == std::set<std::string>{"PaymentTransactionId"});
  CHECK(d.lines->min_items == 0);
  for (const auto& f : d.lines->fields) {
    INFO(f.name);
    CHECK(f.min_bytes == 0);
  }
}
