#include "millrace/kinds/record.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "json_tree.hpp"
#include "record_check.hpp"

namespace millrace::kinds {

using core::Rejection;
using core::RejectReason;
using detail::Json;

namespace {

// Checks one object's fields, in declaration order; field `type` (if
// any) is the record's type, sent in the header `type_header`.
std::optional<Rejection> check_object(const Json& object, const std::vector<FieldDecl>& fields,
                                      std::vector<Value>& out, std::optional<std::size_t> type = {},
                                      std::string_view type_header = {}) {
  out.assign(fields.size(), Value{});
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::size_t count = 0;
    const Json* j = object.member(fields[i].name, &count);
    if (count > 1) return detail::duplicate(fields[i]);
    auto r = type == i ? detail::check_type_value(fields[i], j, type_header, out[i])
                       : detail::check_value(fields[i], j, out[i]);
    if (r) return r;
  }
  return std::nullopt;
}

}  // namespace

std::variant<Record, Rejection> parse_record_dom(const Declaration& d, std::string_view payload,
                                                 std::optional<std::string_view> type_header,
                                                 TypeFrom type_from) {
  std::string error;
  const auto root = detail::parse_json(payload, error);
  if (!root) return Rejection{RejectReason::kInvalidJson, "", "not valid JSON: " + error};
  if (root->type != Json::Type::kObject) {
    return Rejection{
        RejectReason::kNotAnObject, "",
        "the body must be a JSON object, got " + std::string(detail::describe(root->type))};
  }
  if (type_from == TypeFrom::kBody && d.type_header) {
    std::size_t count = 0;
    const Json* j = root->member(d.fields[*d.type_header].name, &count);
    if (count == 1 && j->type == Json::Type::kString) type_header = j->text;
  }
  return detail::check_record(d, *root, type_header);
}

std::optional<Rejection> parse_record_dom_into(const Declaration& d, std::string_view payload,
                                               std::optional<std::string_view> type_header,
                                               TypeFrom type_from, Record& out) {
  auto parsed = parse_record_dom(d, payload, type_header, type_from);
  if (auto* r = std::get_if<Rejection>(&parsed)) return std::move(*r);
  out = std::get<Record>(std::move(parsed));
  return std::nullopt;
}

std::variant<Record, Rejection> detail::check_record(const Declaration& d, const Json& object,
                                                     std::optional<std::string_view> type_header) {
  if (auto r = check_type_header(d, type_header)) return *std::move(r);
  Record record;
  if (auto r =
          check_object(object, d.fields, record.values, d.type_header, type_header.value_or(""))) {
    return *std::move(r);
  }
  if (!d.lines) return record;
  const auto& l = *d.lines;
  std::size_t count = 0;
  const Json* lines = object.member(l.name, &count);
  const std::size_t items = lines == nullptr ? 0 : lines->items.size();
  if (auto r = check_lines(l, count, lines == nullptr ? Json::Type::kNull : lines->type, items)) {
    return *std::move(r);
  }
  if (lines == nullptr || lines->type == Json::Type::kNull) return record;
  record.lines.resize(items);
  for (std::size_t i = 0; i < items; ++i) {
    const Json& line = lines->items[i];
    if (line.type != Json::Type::kObject) return line_not_object(l, i + 1, line.type);
    if (auto r = check_object(line, l.fields, record.lines[i])) {
      return prefixed(*std::move(r), line_name(l, i + 1) + ".");
    }
  }
  return record;
}

std::optional<Rejection> detail::check_fields(const Declaration& d,
                                              std::span<const Json* const> values, Record& out) {
  out.values.assign(d.fields.size(), Value{});
  out.lines.clear();
  for (std::size_t i = 0; i < d.fields.size(); ++i) {
    if (auto r = check_value(d.fields[i], values[i], out.values[i])) return r;
  }
  return std::nullopt;
}

void append_json(std::string& out, const Value& value) {
  struct Append {
    std::string& out;
    void operator()(std::monostate) const { out += "null"; }
    void operator()(const std::string& s) const { detail::append_string(out, s); }
    void operator()(std::int64_t v) const { out += std::to_string(v); }
    void operator()(core::Decimal v) const {
      char text[core::Decimal::kTextMax];
      out.append(text, v.to_chars(text));
    }
    void operator()(bool v) const { out += v ? "true" : "false"; }
    void operator()(Timestamp t) const {
      char text[core::kTimestampTextMax];
      out += '"';
      out.append(text, core::format_timestamp_to(text, t.us));
      out += '"';
    }
  };
  std::visit(Append{out}, value);
}

}  // namespace millrace::kinds
