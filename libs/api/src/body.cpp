#include "body.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstddef>
#include <set>
#include <span>

#include "millrace/core/enum_names.hpp"

namespace millrace::api {

namespace {

enum class Kind { kString, kNullableString, kInteger, kNumber, kBoolean };
constexpr std::size_t kKindCount = 5;

struct FieldRule {
  std::string_view name;
  Kind kind;
};

constexpr FieldRule kCategoryRules[] = {{"name", Kind::kString},
                                        {"display_name", Kind::kString},
                                        {"description", Kind::kNullableString},
                                        {"active", Kind::kBoolean}};
constexpr FieldRule kProductRules[] = {
    {"sku", Kind::kInteger},     {"name", Kind::kString},       {"brand", Kind::kNullableString},
    {"category", Kind::kString}, {"list_price", Kind::kNumber}, {"active", Kind::kBoolean}};

// What a refusal says the field must be.
constexpr core::EnumNames<Kind, kKindCount> kKindTexts({
    {Kind::kString, "a string"},
    {Kind::kNullableString, "a string or null"},
    {Kind::kInteger, "a whole number"},
    {Kind::kNumber, "a number"},
    {Kind::kBoolean, "true or false"},
});

bool has_kind(const rapidjson::Value& v, Kind kind) {
  switch (kind) {
    case Kind::kString:
      return v.IsString();
    case Kind::kNullableString:
      return v.IsString() || v.IsNull();
    case Kind::kInteger:
      return v.IsInt64() || v.IsUint64();
    case Kind::kNumber:
      return v.IsNumber();
    case Kind::kBoolean:
      return v.IsBool();
  }
  return false;
}

}  // namespace

std::string field_of(std::string_view message) {
  const auto open = message.find('"');
  if (open == std::string_view::npos) return {};
  const auto close = message.find('"', open + 1);
  if (close == std::string_view::npos) return {};
  return std::string(message.substr(open + 1, close - open - 1));
}

std::variant<catalog::Record, BodyError> parse_body(catalog::Table table, std::string_view body,
                                                    std::optional<std::string_view> path_key) {
  // Parsed twice: once for the JSON types, once keeping numbers' literal
  // text, so a price keeps the digits it was sent with (never a double).
  rapidjson::Document typed;
  typed.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  if (typed.HasParseError()) {
    return BodyError{400, "",
                     std::string("the body is not JSON: ") +
                         rapidjson::GetParseError_En(typed.GetParseError()) + " at byte " +
                         std::to_string(typed.GetErrorOffset() + 1)};
  }
  if (!typed.IsObject()) return BodyError{422, "", "the body must be a JSON object"};
  rapidjson::Document literal;
  literal.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag>(
      body.data(), body.size());

  const bool products = table == catalog::Table::kProducts;
  const std::string_view key = products ? "sku" : "name";
  const std::span<const FieldRule> rules = products ? std::span<const FieldRule>(kProductRules)
                                                    : std::span<const FieldRule>(kCategoryRules);

  catalog::Fields fields;
  std::set<std::string, std::less<>> seen;
  for (const auto& m : literal.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!seen.insert(name).second) return BodyError{422, name, "\"" + name + "\" is given twice"};
    if (path_key && name == key) {
      return BodyError{422, name,
                       "\"" + name + "\" comes from the path; the body must not repeat it"};
    }
    const FieldRule* rule = nullptr;
    for (const auto& r : rules) {
      if (r.name == name) rule = &r;
    }
    if (rule == nullptr) {
      std::string list;
      for (const auto& r : rules) {
        if (path_key && r.name == key) continue;
        list += (list.empty() ? "" : ", ") + std::string(r.name);
      }
      return BodyError{422, name,
                       "unknown field \"" + name + "\" (" +
                           std::string(catalog::table_name(table)) + " take " + list + ")"};
    }
    if (!has_kind(typed[m.name], rule->kind)) {
      return BodyError{422, name,
                       "\"" + name + "\" must be " + std::string(kKindTexts.name(rule->kind))};
    }
    if (m.value.IsNull()) {
      fields.emplace_back(name, std::nullopt);
    } else if (m.value.IsBool()) {
      fields.emplace_back(name, std::string(m.value.GetBool() ? "true" : "false"));
    } else {
      // Strings, and numbers as their literal text.
      std::string text(m.value.GetString(), m.value.GetStringLength());
      // An empty string would read as absent to make_record, and so pass
      // for a missing optional value: "" is refused for what must be text.
      if (text.empty() && rule->kind == Kind::kString) {
        return BodyError{422, name, "\"" + name + "\" must not be empty"};
      }
      fields.emplace_back(name, std::move(text));
    }
  }
  if (path_key) fields.emplace_back(std::string(key), std::string(*path_key));
  auto record = catalog::make_record(table, fields);
  if (auto* why = std::get_if<std::string>(&record)) {
    return BodyError{422, field_of(*why), std::move(*why)};
  }
  return std::get<catalog::Record>(std::move(record));
}

std::variant<std::string, BodyError> parse_session_body(std::string_view body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) {
    return BodyError{400, "", "the body must be a JSON object: {\"token\": \"...\"}"};
  }
  for (const auto& member : d.GetObject()) {
    if (std::string_view(member.name.GetString(), member.name.GetStringLength()) != "token") {
      return BodyError{422, member.name.GetString(),
                       "unknown field \"" + std::string(member.name.GetString()) +
                           "\": the body is {\"token\": \"...\"}"};
    }
  }
  const auto token = d.FindMember("token");
  if (token == d.MemberEnd() || !token->value.IsString()) {
    return BodyError{422, "token", "\"token\" must be a string"};
  }
  return std::string(token->value.GetString(), token->value.GetStringLength());
}

}  // namespace millrace::api
