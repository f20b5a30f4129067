#include "millrace/kinds/record.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <utility>

#include "json_tree.hpp"
#include "record_check.hpp"

namespace millrace::kinds {

using core::Rejection;
using core::RejectReason;
using detail::Json;

namespace {

std::string quoted(std::string_view text) {
  constexpr std::size_t kShown = 64;
  std::string out = "\"";
  out.append(text.substr(0, kShown));
  if (text.size() > kShown) out += "...";
  return out + "\"";
}

// Text PostgreSQL can store. The parse checks the bytes of the document,
// but a \u escape of a lone low surrogate ("\udc00") decodes to bytes that
// are not UTF-8.
bool storable(std::string_view s) {
  return core::is_storable_text(s);
}

bool is_uuid(std::string_view s, std::string& lower) {
  if (s.size() != 36) return false;
  lower.resize(36);
  for (std::size_t i = 0; i < 36; ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
      lower[i] = '-';
    } else if (std::isxdigit(static_cast<unsigned char>(c)) != 0) {
      lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      return false;
    }
  }
  return true;
}

// A JSON number's literal (RFC 8259: -?int frac? exp?), as a string may
// spell a decimal field's value.
bool is_number_literal(std::string_view s) {
  std::size_t i = 0;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// Checks one object's fields against `fields`, in declaration order.
// `prefix` names the object in messages ("" or "Details[2].").
class Checker {
 public:
  explicit Checker(std::string prefix) : prefix_(std::move(prefix)) {}

  std::optional<Rejection> check(const Json& object, const std::vector<FieldDecl>& fields,
                                 std::vector<Value>& out) {
    out.assign(fields.size(), Value{});
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (auto r = check_field(object, fields[i], out[i])) return r;
    }
    return std::nullopt;
  }

 private:
  Rejection fail(RejectReason reason, const FieldDecl& f, std::string detail) const {
    return Rejection{reason, prefix_ + f.name, prefix_ + f.name + " " + std::move(detail)};
  }

  std::optional<Rejection> check_field(const Json& object, const FieldDecl& f, Value& out) const {
    std::size_t count = 0;
    const Json* j = object.member(f.name, &count);
    if (count > 1) return fail(RejectReason::kInvalidFormat, f, "appears more than once");
    return check_value(f, j, out);
  }

 public:
  // One field's value; null `j`: the member is absent.
  std::optional<Rejection> check_value(const FieldDecl& f, const Json* j, Value& out) const {
    if (j == nullptr || j->type == Json::Type::kNull) {
      if (f.required) {
        return fail(RejectReason::kMissingField, f, j == nullptr ? "is missing" : "is null");
      }
      return std::nullopt;
    }
    switch (f.type) {
      case ValueType::kText:
        return text(*j, f, out);
      case ValueType::kFreeText:
        return free_text(*j, f, out);
      case ValueType::kIp:
        return ip(*j, f, out);
      case ValueType::kUuid:
        return uuid(*j, f, out);
      case ValueType::kInteger:
        return integer(*j, f, out);
      case ValueType::kDecimal:
        return decimal(*j, f, out);
      case ValueType::kBoolean:
        if (j->type != Json::Type::kBool) return wrong_type(*j, f, "true or false");
        out = j->boolean;
        return std::nullopt;
      case ValueType::kTimestamp:
        return timestamp(*j, f, out);
    }
    return std::nullopt;
  }

 private:
  Rejection wrong_type(const Json& j, const FieldDecl& f, std::string_view expected) const {
    return fail(
        RejectReason::kWrongType, f,
        "must be " + std::string(expected) + ", got " + std::string(detail::describe(j.type)));
  }

  std::optional<Rejection> text(const Json& j, const FieldDecl& f, Value& out) const {
    if (j.type != Json::Type::kString) return wrong_type(j, f, "a string");
    if (j.text.size() < f.min_bytes) {
      return fail(RejectReason::kOutOfRange, f,
                  f.min_bytes == 1 ? std::string("must not be empty")
                                   : "must be at least " + std::to_string(f.min_bytes) +
                                         " bytes, got " + std::to_string(j.text.size()));
    }
    if (j.text.size() > f.max_bytes) {
      return fail(RejectReason::kOutOfRange, f,
                  "must be at most " + std::to_string(f.max_bytes) + " bytes, got " +
                      std::to_string(j.text.size()));
    }
    if (!storable(j.text)) {
      return fail(RejectReason::kInvalidFormat, f,
                  "contains a NUL character or a lone surrogate (not UTF-8): " + quoted(j.text));
    }
    if (!f.values.empty() &&
        std::find(f.values.begin(), f.values.end(), j.text) == f.values.end()) {
      return fail(RejectReason::kOutOfRange, f,
                  "is not one of the allowed values: " + quoted(j.text));
    }
    out = std::string(j.text);
    return std::nullopt;
  }

  std::optional<Rejection> free_text(const Json& j, const FieldDecl& f, Value& out) const {
    if (j.type != Json::Type::kString) return wrong_type(j, f, "a string");
    if (!storable(j.text)) {
      return fail(RejectReason::kInvalidFormat, f,
                  "contains a NUL character or a lone surrogate (not UTF-8): " + quoted(j.text));
    }
    out = std::string(j.text);
    return std::nullopt;
  }

  std::optional<Rejection> ip(const Json& j, const FieldDecl& f, Value& out) const {
    if (j.type != Json::Type::kString) return wrong_type(j, f, "a string");
    unsigned char addr[16];
    const std::string text(j.text);  // inet_pton reads up to a NUL
    const bool ok = std::memchr(text.data(), '\0', text.size()) == nullptr &&
                    (inet_pton(AF_INET, text.c_str(), addr) == 1 ||
                     inet_pton(AF_INET6, text.c_str(), addr) == 1);
    if (!ok) {
      return fail(RejectReason::kInvalidFormat, f,
                  "is not an IPv4 or IPv6 address: " + quoted(j.text));
    }
    out = std::string(j.text);
    return std::nullopt;
  }

  std::optional<Rejection> uuid(const Json& j, const FieldDecl& f, Value& out) const {
    if (j.type != Json::Type::kString) return wrong_type(j, f, "a string");
    std::string lower;
    if (!is_uuid(j.text, lower)) {
      return fail(RejectReason::kInvalidFormat, f, "is not a UUID: " + quoted(j.text));
    }
    out = std::move(lower);
    return std::nullopt;
  }

  std::optional<Rejection> integer(const Json& j, const FieldDecl& f, Value& out) const {
    if (j.type != Json::Type::kNumber) return wrong_type(j, f, "an integer");
    std::int64_t v = 0;
    const char* end = j.text.data() + j.text.size();
    const auto [ptr, ec] = std::from_chars(j.text.data(), end, v);
    // Digits past 64 bits (from_chars then leaves v as it was, and may
    // have read them all).
    if (ec == std::errc::result_out_of_range) {
      return fail(RejectReason::kOutOfRange, f, "does not fit 64 bits: " + std::string(j.text));
    }
    // A fraction or exponent.
    if (ptr != end) return wrong_type(j, f, "an integer");
    if (v < f.int_min || v > f.int_max) {
      return fail(RejectReason::kOutOfRange, f,
                  "must be in [" + std::to_string(f.int_min) + ", " + std::to_string(f.int_max) +
                      "], got " + std::string(j.text));
    }
    out = v;
    return std::nullopt;
  }

  std::optional<Rejection> decimal(const Json& j, const FieldDecl& f, Value& out) const {
    const bool string = j.type == Json::Type::kString && f.strings;
    if (j.type != Json::Type::kNumber && !string) {
      return wrong_type(j, f, f.strings ? "a number or a string holding one" : "a number");
    }
    if (string && !is_number_literal(j.text)) {
      return fail(RejectReason::kInvalidFormat, f, "is not a decimal number: " + quoted(j.text));
    }
    const auto d = core::Decimal::parse(j.text);
    if (!d) {
      return fail(RejectReason::kOutOfRange, f,
                  "must have at most six decimals and fit the bounds, got " + std::string(j.text));
    }
    if (*d < *f.min || *d > *f.max) return out_of_range(f, j.text);
    out = *d;
    return std::nullopt;
  }

  Rejection out_of_range(const FieldDecl& f, std::string_view literal) const {
    return fail(RejectReason::kOutOfRange, f,
                "must be in [" + f.min->to_string() + ", " + f.max->to_string() + "], got " +
                    std::string(literal));
  }

  std::optional<Rejection> timestamp(const Json& j, const FieldDecl& f, Value& out) const {
    if (j.type != Json::Type::kString) return wrong_type(j, f, "an RFC 3339 string");
    const auto ts = core::parse_timestamp(j.text);
    if (!ts) {
      return fail(RejectReason::kInvalidFormat, f,
                  "is not an RFC 3339 timestamp (2019-10-29T14:24:49.0796527Z, an offset "
                  "or none for UTC): " +
                      quoted(j.text));
    }
    out = Timestamp{*ts};
    return std::nullopt;
  }

  std::string prefix_;
};

}  // namespace

std::variant<Record, Rejection> parse_record(const Declaration& d, std::string_view payload) {
  std::string error;
  const auto root = detail::parse_json(payload, error);
  if (!root) return Rejection{RejectReason::kInvalidJson, "", "not valid JSON: " + error};
  if (root->type != Json::Type::kObject) {
    return Rejection{
        RejectReason::kNotAnObject, "",
        "the body must be a JSON object, got " + std::string(detail::describe(root->type))};
  }
  return detail::check_record(d, *root);
}

std::variant<Record, Rejection> detail::check_record(const Declaration& d, const Json& object) {
  const Json* root = &object;
  Record record;
  if (auto r = Checker("").check(*root, d.fields, record.values)) return *std::move(r);
  if (!d.lines) return record;
  const auto& l = *d.lines;
  std::size_t count = 0;
  const Json* lines = root->member(l.name, &count);
  if (count > 1) {
    return Rejection{RejectReason::kInvalidFormat, l.name, l.name + " appears more than once"};
  }
  if (lines == nullptr || lines->type == Json::Type::kNull) {
    if (l.min_items == 0) return record;
    return Rejection{RejectReason::kMissingField, l.name, l.name + " is missing"};
  }
  if (lines->type != Json::Type::kArray) {
    return Rejection{
        RejectReason::kWrongType, l.name,
        l.name + " must be an array, got " + std::string(detail::describe(lines->type))};
  }
  if (lines->items.size() < l.min_items || lines->items.size() > l.max_items) {
    return Rejection{RejectReason::kOutOfRange, l.name,
                     l.name + " must hold " + std::to_string(l.min_items) + ".." +
                         std::to_string(l.max_items) + " lines, got " +
                         std::to_string(lines->items.size())};
  }
  record.lines.resize(lines->items.size());
  for (std::size_t i = 0; i < lines->items.size(); ++i) {
    const std::string name = l.name + "[" + std::to_string(i + 1) + "]";
    const Json& line = lines->items[i];
    if (line.type != Json::Type::kObject) {
      return Rejection{
          RejectReason::kWrongType, name,
          name + " must be an object, got " + std::string(detail::describe(line.type))};
    }
    if (auto r = Checker(name + ".").check(line, l.fields, record.lines[i])) return *std::move(r);
  }
  return record;
}

std::optional<Rejection> detail::check_fields(const Declaration& d,
                                              std::span<const Json* const> values, Record& out) {
  out.values.assign(d.fields.size(), Value{});
  out.lines.clear();
  const Checker checker("");
  for (std::size_t i = 0; i < d.fields.size(); ++i) {
    if (auto r = checker.check_value(d.fields[i], values[i], out.values[i])) return r;
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
