#pragma once

// What the codec tests share: records written back as JSON with one member
// changed (odd values, left out, given twice), messages damaged byte by
// byte, and a codec's verdict as text.

#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "millrace/core/rejection.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds::testing {

// Raw JSON values to put where a field's value goes.
inline const std::vector<std::string>& odd_values() {
  static const std::vector<std::string> values = {"null",
                                                  "true",
                                                  "false",
                                                  "0",
                                                  "-0",
                                                  "-1",
                                                  "7",
                                                  "1.5",
                                                  "1e3",
                                                  "-2.5E-3",
                                                  "1.0000001",
                                                  "9223372036854775807",
                                                  "9223372036854775808",
                                                  "-9223372036854775808",
                                                  "-9223372036854775809",
                                                  "99999999999999999999999",
                                                  "1000",
                                                  "1000.000001",
                                                  "-1000",
                                                  "1000000000",
                                                  "1000000000.000001",
                                                  "0.000001",
                                                  "0.0000001",
                                                  "100",
                                                  "100.000000",
                                                  R"("")",
                                                  R"("x")",
                                                  R"("ab")",
                                                  R"("buy")",
                                                  R"("sell")",
                                                  R"("sale_event")",
                                                  R"("inventory_event")",
                                                  R"("refund_event")",
                                                  R"("\u0000")",
                                                  R"("a\u0000b")",
                                                  R"("\udc00")",
                                                  R"("\ud800\udc00")",
                                                  R"("\u00e9t\u00e9")",
                                                  "\"\xc3\xa9t\xc3\xa9\"",
                                                  R"("a\"b\\c\/\b\f\n\r\t")",
                                                  R"("2019-10-29T14:24:49.0796527Z")",
                                                  R"("2019-10-29T14:24:49+02:00")",
                                                  R"("2019-10-29T14:24:49")",
                                                  R"("2019-13-29T14:24:49Z")",
                                                  R"("1969-12-31T23:59:59Z")",
                                                  R"("not a time")",
                                                  R"("192.168.0.1")",
                                                  R"("::1")",
                                                  R"("::ffff:1.2.3.4")",
                                                  R"("1.2.3")",
                                                  R"("256.1.1.1")",
                                                  R"("0F5C0BA4-4E1B-4F59-9B4E-5C1D1D5E2B1A")",
                                                  R"("0f5c0ba4-4e1b-4f59-9b4e-5c1d1d5e2b1a")",
                                                  R"("0f5c0ba44e1b4f599b4e5c1d1d5e2b1a")",
                                                  R"("12.5")",
                                                  R"("-0.5")",
                                                  R"("1e2")",
                                                  R"(".5")",
                                                  R"("12.")",
                                                  R"("0012")",
                                                  R"(" 12")",
                                                  "{}",
                                                  "[]",
                                                  R"([1,{"a":2}])",
                                                  R"({"a":[1,{}]})",
                                                  R"([{"Sku":1}])",
                                                  R"([{"Sku":1},{"Sku":2},{"Sku":3},{"Sku":4}])",
                                                  R"([{"Sku":"1"}])",
                                                  R"([{"Sku":1,"Sku":2}])",
                                                  R"([1])",
                                                  R"([{}, 2])",
                                                  R"([{"Sku":0}, {"Sku":100}])",
                                                  "\"" + std::string(300, 'y') + "\"",
                                                  "\"" + std::string(13, 'z') + "\"",
                                                  R"("example.com")",
                                                  R"("store-1.example.com")"};
  return values;
}

// A record as JSON with one of its members changed: `name` (a field's or
// the lines') given `raw` instead (nullopt: left out), or given twice.
struct Change {
  std::string name;
  std::optional<std::string> raw;
  bool twice = false;
};

inline void append_members(std::string& out, const std::vector<FieldDecl>& fields,
                           const std::vector<Value>& values, const Change* change) {
  bool first = true;
  const auto member = [&](const std::string& name, const std::string& raw) {
    out += first ? "" : ",";
    first = false;
    out += '"' + name + "\":" + raw;
  };
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string raw;
    append_json(raw, values[i]);
    if (change != nullptr && change->name == fields[i].name) {
      if (change->twice) {
        member(fields[i].name, raw);
        member(fields[i].name, change->raw.value_or(raw));
      } else if (change->raw) {
        member(fields[i].name, *change->raw);
      }
      continue;
    }
    member(fields[i].name, raw);
  }
}

inline std::string to_json(const Declaration& d, const Record& r, const Change* change = nullptr,
                           std::optional<std::size_t> changed_line = {}) {
  std::string out = "{";
  const bool record_change = change != nullptr && !changed_line;
  append_members(out, d.fields, r.values, record_change ? change : nullptr);
  if (d.lines) {
    std::string lines = "[";
    for (std::size_t n = 0; n < r.lines.size(); ++n) {
      lines += n > 0 ? ",{" : "{";
      append_members(lines, d.lines->fields, r.lines[n], changed_line == n ? change : nullptr);
      lines += '}';
    }
    lines += ']';
    const bool lines_changed = record_change && change->name == d.lines->name;
    if (!lines_changed) {
      out += ",\"" + d.lines->name + "\":" + lines;
    } else if (change->twice) {
      out += ",\"" + d.lines->name + "\":" + lines;
      out += ",\"" + d.lines->name + "\":" + change->raw.value_or(lines);
    } else if (change->raw) {
      out += ",\"" + d.lines->name + "\":" + *change->raw;
    }
  }
  return out + "}";
}

inline std::string describe(const std::variant<Record, core::Rejection>& result) {
  if (const auto* r = std::get_if<core::Rejection>(&result)) {
    return std::string(core::reason_code(r->reason)) + " [" + r->field + "] " + r->detail;
  }
  return "accepted";
}

// Byte-level damage to a message.
inline std::string mutate(std::string s, std::mt19937_64& rng) {
  const auto at = [&](std::size_t n) { return static_cast<std::size_t>(rng() % (n + 1)); };
  static const std::vector<std::string> inserts = {"\xff",
                                                   "\xc0\x80",
                                                   "\xed\xa0\x80",
                                                   "\xe2\x82",
                                                   "\xf4\x90\x80\x80",
                                                   std::string(1, '\0'),
                                                   "\\u0000",
                                                   "\\ud800",
                                                   "\\",
                                                   "\"",
                                                   ",",
                                                   ":",
                                                   "{",
                                                   "}",
                                                   "[",
                                                   "]",
                                                   " ",
                                                   "\t\n",
                                                   "\x01",
                                                   "1",
                                                   "-",
                                                   ".",
                                                   "e",
                                                   "null"};
  switch (rng() % 6) {
    case 0:
      s.resize(at(s.size()));
      break;
    case 1:
      if (!s.empty()) s[at(s.size() - 1)] = static_cast<char>(rng() % 256);
      break;
    case 2:
      if (!s.empty()) s[at(s.size() - 1)] = "\"{}[]:,\\0-.eE \x80"[rng() % 15];
      break;
    case 3:
      s.insert(at(s.size()), inserts[rng() % inserts.size()]);
      break;
    case 4:
      if (!s.empty()) s.erase(at(s.size() - 1), 1 + rng() % 3);
      break;
    default:
      // Something after the value: whitespace, garbage, or garbage behind a
      // NUL byte (where RapidJSON stops reading).
      s += std::vector<std::string>{" \n", "x", std::string("\0x", 2), "{}"}[rng() % 4];
      break;
  }
  return s;
}

}  // namespace millrace::kinds::testing
