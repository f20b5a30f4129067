// The compiled contract table (tests/reference: reference/contract.hpp)
// against the published JSON Schema: the same fields, the same required
// ones, the same types and bounds. The table against the migrated
// store_events columns is checked in tests/integration/pg_copy_test.cpp,
// which has a database.
#include "millrace/reference/contract.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "millrace/test_paths.hpp"

using namespace millrace::core;

namespace {

rapidjson::Document schema() {
  std::ifstream in(millrace::test_paths::source("proto/store_event.schema.json"));
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

// The schema's "type" as a set of names ("string", "null", ...).
std::set<std::string> types_of(const rapidjson::Value& property) {
  std::set<std::string> out;
  const auto& t = property["type"];
  if (t.IsString()) {
    out.insert(t.GetString());
  } else {
    for (const auto& v : t.GetArray()) out.insert(v.GetString());
  }
  return out;
}

}  // namespace

TEST_CASE("the contract table and proto/store_event.schema.json name the same fields") {
  const auto doc = schema();
  std::set<std::string> in_schema;
  for (const auto& m : doc["properties"].GetObject()) in_schema.insert(m.name.GetString());
  std::set<std::string> in_table;
  for (const auto& f : kStoreEventFields) in_table.insert(std::string(f.name));
  CHECK(in_schema == in_table);

  std::set<std::string> required_in_schema;
  for (const auto& r : doc["required"].GetArray()) required_in_schema.insert(r.GetString());
  std::set<std::string> required_in_table;
  for (const auto name : required_names()) required_in_table.insert(std::string(name));
  CHECK(required_in_schema == required_in_table);
}

TEST_CASE("the contract table and the schema agree on each field's type and bounds") {
  const auto doc = schema();
  const auto& properties = doc["properties"];
  for (const auto& f : kStoreEventFields) {
    const std::string name(f.name);
    INFO(name);
    REQUIRE(properties.HasMember(name.c_str()));
    const auto& p = properties[name.c_str()];
    const auto types = types_of(p);
    switch (f.type) {
      case FieldType::kInteger:
      case FieldType::kDecimal:
        CHECK(types == std::set<std::string>{f.type == FieldType::kInteger ? "integer" : "number"});
        REQUIRE(p.HasMember("minimum"));
        REQUIRE(p.HasMember("maximum"));
        CHECK(p["minimum"].GetInt64() == f.min);
        CHECK(p["maximum"].GetInt64() == f.max);
        break;
      case FieldType::kText:
        CHECK(types == std::set<std::string>{"string"});
        CHECK(p["minLength"].GetInt() == 1);
        CHECK(p["maxLength"].GetUint64() == kMaxTextBytes);
        break;
      case FieldType::kFreeText:
        CHECK(types == std::set<std::string>{"string", "null"});
        CHECK_FALSE(p.HasMember("maxLength"));
        break;
      case FieldType::kUuid:
      case FieldType::kTimestamp:
        CHECK(types == std::set<std::string>{"string"});
        CHECK(p.HasMember("pattern"));
        break;
      case FieldType::kIp:
        CHECK(types == std::set<std::string>{"string"});
        CHECK(p.HasMember("anyOf"));
        break;
      case FieldType::kBoolean:
        CHECK(types == std::set<std::string>{"boolean"});
        break;
      case FieldType::kEventType: {
        CHECK(types.contains("string"));
        std::set<std::string> values;
        for (const auto& v : p["enum"].GetArray()) {
          if (v.IsString()) values.insert(v.GetString());
        }
        CHECK(values == std::set<std::string>{"sale_event", "inventory_event"});
        break;
      }
    }
  }
}
