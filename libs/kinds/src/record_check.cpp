// The checks of a declared field's value and of the lines' shape, which
// every codec (record_codecs.cpp) runs on what it has read: one check per
// type, so the codecs cannot drift apart.
#include "record_check.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>

#include "millrace/core/event_type.hpp"
#include "millrace/core/rejection.hpp"
#include "millrace/core/text_formats.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/core/utf8.hpp"

namespace millrace::kinds::detail {

using core::Rejection;
using core::RejectReason;

namespace {

std::string quoted_text(std::string_view text) {
  constexpr std::size_t kShown = 64;
  std::string out = "\"";
  out.append(text.substr(0, kShown));
  if (text.size() > kShown) out += "...";
  return out + "\"";
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

Rejection fail(RejectReason reason, const FieldDecl& f, std::string detail) {
  return Rejection{reason, f.name, f.name + " " + std::move(detail)};
}

Rejection wrong_type(const Json& j, const FieldDecl& f, std::string_view expected) {
  return fail(RejectReason::kWrongType, f,
              "must be " + std::string(expected) + ", got " + std::string(describe(j.type)));
}

Rejection not_storable(const Json& j, const FieldDecl& f) {
  return fail(RejectReason::kInvalidFormat, f,
              "contains a NUL character or a lone surrogate (not UTF-8): " + quoted_text(j.text));
}

// Reuses the string `out` may already hold.
void set_text(Value& out, std::string_view text) {
  if (auto* s = std::get_if<std::string>(&out)) {
    s->assign(text);
  } else {
    out.emplace<std::string>(text);
  }
}

std::optional<Rejection> text(const Json& j, const FieldDecl& f, Value& out) {
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
  if (!core::is_storable_text(j.text)) return not_storable(j, f);
  if (!f.values.empty() && std::find(f.values.begin(), f.values.end(), j.text) == f.values.end()) {
    return fail(RejectReason::kOutOfRange, f,
                "is not one of the allowed values: " + quoted_text(j.text));
  }
  set_text(out, j.text);
  return std::nullopt;
}

std::optional<Rejection> free_text(const Json& j, const FieldDecl& f, Value& out) {
  if (j.type != Json::Type::kString) return wrong_type(j, f, "a string");
  if (!core::is_storable_text(j.text)) return not_storable(j, f);
  set_text(out, j.text);
  return std::nullopt;
}

std::optional<Rejection> ip(const Json& j, const FieldDecl& f, Value& out) {
  if (j.type != Json::Type::kString) return wrong_type(j, f, "a string");
  if (!core::is_ip_address(j.text)) {
    return fail(RejectReason::kInvalidFormat, f,
                "is not an IPv4 or IPv6 address: " + quoted_text(j.text));
  }
  set_text(out, j.text);
  return std::nullopt;
}

std::optional<Rejection> uuid(const Json& j, const FieldDecl& f, Value& out) {
  if (j.type != Json::Type::kString) return wrong_type(j, f, "a string");
  std::string* lower = std::get_if<std::string>(&out);
  if (lower == nullptr) lower = &out.emplace<std::string>();
  if (!core::lower_uuid(j.text, *lower)) {
    out = std::monostate{};
    return fail(RejectReason::kInvalidFormat, f, "is not a UUID: " + quoted_text(j.text));
  }
  return std::nullopt;
}

std::optional<Rejection> integer(const Json& j, const FieldDecl& f, Value& out) {
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

std::optional<Rejection> decimal(const Json& j, const FieldDecl& f, Value& out) {
  const bool string = j.type == Json::Type::kString && f.strings;
  if (j.type != Json::Type::kNumber && !string) {
    return wrong_type(j, f, f.strings ? "a number or a string holding one" : "a number");
  }
  if (string && !is_number_literal(j.text)) {
    return fail(RejectReason::kInvalidFormat, f, "is not a decimal number: " + quoted_text(j.text));
  }
  const auto d = core::Decimal::parse(j.text);
  if (!d) {
    return fail(RejectReason::kOutOfRange, f,
                "must have at most six decimals and fit the bounds, got " + std::string(j.text));
  }
  if (*d < *f.min || *d > *f.max) {
    return fail(RejectReason::kOutOfRange, f,
                "must be in [" + f.min->to_string() + ", " + f.max->to_string() + "], got " +
                    std::string(j.text));
  }
  out = *d;
  return std::nullopt;
}

std::optional<Rejection> timestamp(const Json& j, const FieldDecl& f, Value& out) {
  if (j.type != Json::Type::kString) return wrong_type(j, f, "an RFC 3339 string");
  const auto ts = core::parse_timestamp(j.text);
  if (!ts) {
    return fail(RejectReason::kInvalidFormat, f,
                "is not an RFC 3339 timestamp (2019-10-29T14:24:49.0796527Z, an offset "
                "or none for UTC): " +
                    quoted_text(j.text));
  }
  out = Timestamp{*ts};
  return std::nullopt;
}

}  // namespace

std::optional<Rejection> check_value(const FieldDecl& f, const Json* j, Value& out) {
  if (j == nullptr || j->type == Json::Type::kNull) {
    if (f.required) {
      return fail(RejectReason::kMissingField, f, j == nullptr ? "is missing" : "is null");
    }
    out = std::monostate{};
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

std::optional<Rejection> check_type_header(const Declaration& d,
                                           std::optional<std::string_view> header) {
  if (!d.type_header) return std::nullopt;
  const FieldDecl& f = d.fields[*d.type_header];
  if (!header) {
    return Rejection{RejectReason::kMissingEventType, "",
                     "no " + std::string(core::kHeaderEventType) + " header"};
  }
  if (std::find(f.values.begin(), f.values.end(), *header) == f.values.end()) {
    std::string expected;
    for (std::size_t i = 0; i < f.values.size(); ++i) {
      expected += (i == 0 ? "" : i + 1 == f.values.size() ? " or " : ", ") + f.values[i];
    }
    return Rejection{RejectReason::kUnknownEventType, "",
                     "unknown " + std::string(core::kHeaderEventType) + " header " +
                         quoted_text(*header) + ", expected " + expected};
  }
  return std::nullopt;
}

std::optional<Rejection> check_type_value(const FieldDecl& f, const Json* j,
                                          std::string_view header, Value& out) {
  if (j == nullptr || j->type == Json::Type::kNull) {
    set_text(out, header);
    return std::nullopt;
  }
  if (j->type != Json::Type::kString) return wrong_type(*j, f, "a string");
  if (j->text != header) {
    return Rejection{RejectReason::kEventTypeMismatch, f.name,
                     f.name + " field " + quoted_text(j->text) + " does not match the header " +
                         quoted_text(header)};
  }
  set_text(out, header);
  return std::nullopt;
}

Rejection duplicate(const FieldDecl& f) {
  return fail(RejectReason::kInvalidFormat, f, "appears more than once");
}

Rejection prefixed(Rejection r, std::string_view prefix) {
  r.field.insert(0, prefix);
  r.detail.insert(0, prefix);
  return r;
}

std::string line_name(const LinesDecl& l, std::size_t number) {
  return l.name + "[" + std::to_string(number) + "]";
}

std::optional<Rejection> check_lines(const LinesDecl& l, std::size_t count, Json::Type type,
                                     std::size_t items) {
  if (count > 1) {
    return Rejection{RejectReason::kInvalidFormat, l.name, l.name + " appears more than once"};
  }
  if (count == 0 || type == Json::Type::kNull) {
    if (l.min_items == 0) return std::nullopt;
    return Rejection{RejectReason::kMissingField, l.name, l.name + " is missing"};
  }
  if (type != Json::Type::kArray) {
    return Rejection{RejectReason::kWrongType, l.name,
                     l.name + " must be an array, got " + std::string(describe(type))};
  }
  if (items < l.min_items || items > l.max_items) {
    return Rejection{RejectReason::kOutOfRange, l.name,
                     l.name + " must hold " + std::to_string(l.min_items) + ".." +
                         std::to_string(l.max_items) + " lines, got " + std::to_string(items)};
  }
  return std::nullopt;
}

Rejection line_not_object(const LinesDecl& l, std::size_t number, Json::Type type) {
  const std::string name = line_name(l, number);
  return Rejection{RejectReason::kWrongType, name,
                   name + " must be an object, got " + std::string(describe(type))};
}

}  // namespace millrace::kinds::detail
