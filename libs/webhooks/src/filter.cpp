#include "filter.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace millrace::webhooks::detail {

// Named, not anonymous: the library is a unity build, and these names must not meet another
// source's file-local ones.
namespace event_grid_filter {

using Op = Filter::Op;
using Attribute = Filter::Attribute;
using Decimal = Filter::Decimal;
using Advanced = Filter::Advanced;

constexpr std::size_t kMaxAdvancedFilters = 25;  // [F] Limitations
constexpr std::size_t kMaxFilterValues = 25;     // across all advanced filters [F]
constexpr std::size_t kMaxStringLength = 512;    // characters per string value [F]

// What an operator compares, which says what it takes.
enum class Takes { kNumber, kNumbers, kRanges, kBool, kStrings, kNothing };

struct OpInfo {
  std::string_view name;
  Op op;
  Takes takes;
  bool negated;
};

constexpr std::array<OpInfo, 19> kOps = {{
    {"NumberIn", Op::kNumberIn, Takes::kNumbers, false},
    {"NumberNotIn", Op::kNumberNotIn, Takes::kNumbers, true},
    {"NumberLessThan", Op::kNumberLessThan, Takes::kNumber, false},
    {"NumberGreaterThan", Op::kNumberGreaterThan, Takes::kNumber, false},
    {"NumberLessThanOrEquals", Op::kNumberLessThanOrEquals, Takes::kNumber, false},
    {"NumberGreaterThanOrEquals", Op::kNumberGreaterThanOrEquals, Takes::kNumber, false},
    {"NumberInRange", Op::kNumberInRange, Takes::kRanges, false},
    {"NumberNotInRange", Op::kNumberNotInRange, Takes::kRanges, true},
    {"BoolEquals", Op::kBoolEquals, Takes::kBool, false},
    {"StringIn", Op::kStringIn, Takes::kStrings, false},
    {"StringNotIn", Op::kStringNotIn, Takes::kStrings, true},
    {"StringBeginsWith", Op::kStringBeginsWith, Takes::kStrings, false},
    {"StringNotBeginsWith", Op::kStringNotBeginsWith, Takes::kStrings, true},
    {"StringEndsWith", Op::kStringEndsWith, Takes::kStrings, false},
    {"StringNotEndsWith", Op::kStringNotEndsWith, Takes::kStrings, true},
    {"StringContains", Op::kStringContains, Takes::kStrings, false},
    {"StringNotContains", Op::kStringNotContains, Takes::kStrings, true},
    {"IsNullOrUndefined", Op::kIsNullOrUndefined, Takes::kNothing, false},
    {"IsNotNull", Op::kIsNotNull, Takes::kNothing, false},
}};

constexpr bool ops_in_order() {
  for (std::size_t i = 0; i < kOps.size(); ++i) {
    if (static_cast<std::size_t>(kOps[i].op) != i) return false;
  }
  return true;
}
static_assert(ops_in_order(), "kOps is indexed by Op");

const OpInfo& info(Op op) {
  return kOps[static_cast<std::size_t>(op)];
}

struct AttributeName {
  std::string_view name;  // lower case
  Attribute attribute;
};

// CloudEvents names first: the first name of an attribute is the one canonical_json() prints.
constexpr std::array<AttributeName, 9> kAttributes = {{
    {"id", Attribute::kId},
    {"source", Attribute::kSource},
    {"type", Attribute::kType},
    {"subject", Attribute::kSubject},
    {"time", Attribute::kTime},
    {"data", Attribute::kData},
    {"eventtype", Attribute::kType},
    {"eventtime", Attribute::kTime},
    {"topic", Attribute::kSource},
}};

std::string_view canonical_name(Attribute a) {
  for (const auto& n : kAttributes) {
    if (n.attribute == a) return n.name;
  }
  return {};
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

// --- Case folding ---------------------------------------------------------------------

// The simple upper case of `c` for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic
// letters; every other code point as it is. The Turkish dotted and dotless i keep theirs.
char32_t upper(char32_t c) {
  if (c < 0x80) return c >= 'a' && c <= 'z' ? c - 0x20 : c;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 0x20;
  if (c == 0xFF) return 0x178;
  if (c == 0xB5) return 0x39C;
  if (c >= 0x100 && c <= 0x17F) {
    const bool odd = (c & 1) != 0;
    if ((c <= 0x12F || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) && odd) {
      return c - 1;
    }
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && !odd) return c - 1;
    if (c == 0x17F) return 'S';
    return c;
  }
  if (c >= 0x3AC && c <= 0x3CE) {
    if (c == 0x3AC) return 0x386;
    if (c <= 0x3AF) return c - 0x25;
    if (c == 0x3C2) return 0x3A3;
    if (c >= 0x3B1 && c <= 0x3CB) return c - 0x20;
    if (c == 0x3CC) return 0x38C;
    if (c >= 0x3CD) return c - 0x3F;
    return c;
  }
  if (c >= 0x430 && c <= 0x44F) return c - 0x20;
  if (c >= 0x450 && c <= 0x45F) return c - 0x50;
  return c;
}

// The code point at s[i] and its length in bytes; a byte that starts no valid UTF-8
// sequence stands for itself, with length 1 and `valid` false.
struct CodePoint {
  char32_t value;
  std::size_t length;
  bool valid;
};

CodePoint decode(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1, true};
  std::size_t n = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return {b0, 1, false};
  }
  if (i + n > s.size()) return {b0, 1, false};
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {b0, 1, false};
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {b0, 1, false};
  return {cp, n, true};
}

void encode(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// `s` upper-cased code point by code point; UTF-8 stays UTF-8, so a substring of the folded
// text is the fold of a substring.
std::string fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto cp = decode(s, i);
    if (cp.valid) {
      encode(out, upper(cp.value));
    } else {
      out += s[i];
    }
    i += cp.length;
  }
  return out;
}

// The length .NET gives `s`: UTF-16 code units.
std::size_t utf16_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    const auto cp = decode(s, i);
    n += cp.valid && cp.value >= 0x10000 ? 2 : 1;
    i += cp.length;
  }
  return n;
}

// --- Decimals -------------------------------------------------------------------------

// Exponents past this are far beyond anything a JSON parser reads as a number; clamping
// them keeps the arithmetic below from overflowing.
constexpr std::int64_t kExponentClamp = std::int64_t{1} << 40;

// A JSON number's text as an exact decimal; nullopt when it is not one.
std::optional<Decimal> parse_decimal(std::string_view text) {
  Decimal d;
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) d.negative = text[i++] == '-';
  std::string digits;
  std::int64_t exponent = 0;
  bool any = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    digits += text[i];
    any = true;
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      digits += text[i];
      --exponent;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool minus = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) minus = text[i++] == '-';
    if (i == text.size()) return std::nullopt;
    std::int64_t e = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      e = std::min<std::int64_t>(e * 10 + (text[i] - '0'), kExponentClamp);
    }
    exponent += minus ? -e : e;
  }
  if (i != text.size()) return std::nullopt;
  const auto first = digits.find_first_not_of('0');
  if (first == std::string::npos) return Decimal{};  // zero, -0 included
  const auto last = digits.find_last_not_of('0');
  exponent += static_cast<std::int64_t>(digits.size() - 1 - last);
  d.digits = digits.substr(first, last - first + 1);
  d.exponent = std::clamp(exponent, -kExponentClamp, kExponentClamp);
  return d;
}

// A number as the event's parser left it: integers exactly; a double as the shortest
// decimal that reads back as it (what it was most likely written as).
Decimal decimal_of(const rapidjson::Value& v) {
  char buf[64];
  std::to_chars_result r{};
  if (v.IsUint64()) {
    r = std::to_chars(buf, buf + sizeof buf, v.GetUint64());
  } else if (v.IsInt64()) {
    r = std::to_chars(buf, buf + sizeof buf, v.GetInt64());
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v.GetDouble());
  }
  return parse_decimal(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)))
      .value_or(Decimal{});
}

int sign(const Decimal& d) {
  return d.digits.empty() ? 0 : (d.negative ? -1 : 1);
}

// <0, 0, >0 as |a| is below, equal to or above |b|.
int compare_magnitude(const Decimal& a, const Decimal& b) {
  // One past the leading digit's power of ten: digits carry no leading zeros.
  const auto top_a = static_cast<std::int64_t>(a.digits.size()) + a.exponent;
  const auto top_b = static_cast<std::int64_t>(b.digits.size()) + b.exponent;
  if (top_a != top_b) return top_a < top_b ? -1 : 1;
  const auto c = a.digits.compare(b.digits);  // neither has trailing zeros
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int compare(const Decimal& a, const Decimal& b) {
  const int sa = sign(a);
  const int sb = sign(b);
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  return sa * compare_magnitude(a, b);
}

// JSON text for `d`: plain digits when its leading digit's power of ten is from -6 to 20 (as
// JavaScript prints numbers), else like 1.5e40 or 1e-7.
std::string decimal_text(const Decimal& d) {
  if (d.digits.empty()) return "0";
  std::string out = d.negative ? "-" : "";
  const auto n = static_cast<std::int64_t>(d.digits.size());
  const std::int64_t scientific = n - 1 + d.exponent;
  if (scientific >= -6 && scientific <= 20) {
    if (d.exponent >= 0) {
      out += d.digits;
      out.append(static_cast<std::size_t>(d.exponent), '0');
    } else if (n + d.exponent > 0) {
      const auto whole = static_cast<std::size_t>(n + d.exponent);
      out += d.digits.substr(0, whole);
      out += '.';
      out += d.digits.substr(whole);
    } else {
      out += "0.";
      out.append(static_cast<std::size_t>(-(n + d.exponent)), '0');
      out += d.digits;
    }
    return out;
  }
  out += d.digits[0];
  if (n > 1) {
    out += '.';
    out += d.digits.substr(1);
  }
  out += 'e';
  out += std::to_string(scientific);
  return out;
}

// --- Parsing --------------------------------------------------------------------------

// One JSON value, twice: as typed (to tell a number from a string) and with numbers kept as
// their text (to keep every digit of a filter's number).
struct Node {
  const rapidjson::Value* typed;
  const rapidjson::Value* raw;
};

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::invalid_argument((path.empty() ? std::string("the filter") : path) + ": " + problem);
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kShown = 80;
  if (s.size() > kShown) return "\"" + std::string(s.substr(0, kShown)) + "...\"";
  return "\"" + std::string(s) + "\"";
}

std::string a_kind(const rapidjson::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "a boolean";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsArray()) return "an array";
  return "an object";
}

std::string join(std::string_view path, std::string_view member) {
  return path.empty() ? std::string(member) : std::string(path) + "." + std::string(member);
}

std::string index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

struct Member {
  std::string name;  // as written, for messages
  Node node;
};

// An object's members, each matched without regard to case to one of `names` (indexed as
// they are); a null member counts as absent. Throws on an unknown or repeated one.
template <std::size_t N>
std::array<std::optional<Member>, N> members(const Node& object, std::string_view path,
                                             const std::array<std::string_view, N>& names,
                                             std::string_view what) {
  std::array<std::optional<Member>, N> out;
  std::array<std::string, N> seen;  // as written
  const auto& typed = *object.typed;
  for (rapidjson::SizeType i = 0; i < typed.MemberCount(); ++i) {
    const auto& m = typed.MemberBegin()[i];
    const std::string_view name(m.name.GetString(), m.name.GetStringLength());
    const auto at = std::find_if(names.begin(), names.end(),
                                 [&](std::string_view known) { return iequals(known, name); });
    if (at == names.end()) {
      std::string list;
      for (const auto& known : names) list += (list.empty() ? "" : ", ") + std::string(known);
      fail(join(path, name), "not a member of " + std::string(what) + " (" + list + ")");
    }
    const auto k = static_cast<std::size_t>(at - names.begin());
    if (!seen[k].empty()) fail(join(path, name), "given twice (also as \"" + seen[k] + "\")");
    seen[k] = name;
    if (m.value.IsNull()) continue;
    out[k] = Member{std::string(name), Node{&m.value, &object.raw->MemberBegin()[i].value}};
  }
  return out;
}

struct Parser {
  std::size_t values_seen = 0;  // filter values so far, across the advanced filters

  void count_value(const std::string& path) {
    if (++values_seen > kMaxFilterValues) {
      fail(path, "a " + std::to_string(values_seen) +
                     "th filter value, over Event Grid's limit of " +
                     std::to_string(kMaxFilterValues) + " values across all advanced filters");
    }
  }

  static std::string string_of(const Member& m, const std::string& path, std::string_view problem) {
    if (!m.node.typed->IsString()) fail(path, std::string(problem));
    return {m.node.typed->GetString(), m.node.typed->GetStringLength()};
  }

  void key(Advanced& a, const std::string& path, std::string_view text) {
    const std::string all =
        "use id, source, type, subject, time (or Event Grid's eventType, eventTime, topic), "
        "data or data.<field>.<field>...";
    if (text.empty()) fail(path, "empty; " + all);
    const auto dot = text.find('.');
    const auto head = text.substr(0, dot);
    const auto at = std::find_if(kAttributes.begin(), kAttributes.end(),
                                 [&](const AttributeName& n) { return iequals(n.name, head); });
    if (at == kAttributes.end()) {
      fail(path, quoted(text) + " is not a key a Millrace event has; " + all);
    }
    a.attribute = at->attribute;
    if (dot == std::string_view::npos) return;
    if (a.attribute != Attribute::kData) {
      fail(path, quoted(text) + ": only data has fields; " + all);
    }
    for (auto rest = text.substr(dot + 1);;) {
      const auto next = rest.find('.');
      const auto field = rest.substr(0, next);
      if (field.empty()) fail(path, quoted(text) + " has an empty field name");
      a.path.emplace_back(field);
      if (next == std::string_view::npos) break;
      rest = rest.substr(next + 1);
    }
  }

  Decimal number(const Node& n, const std::string& path, std::string_view op) {
    if (!n.typed->IsNumber()) {
      fail(path, std::string(op) + " compares numbers, and this is " + a_kind(*n.typed));
    }
    const std::string_view text(n.raw->GetString(), n.raw->GetStringLength());
    const auto d = parse_decimal(text);
    if (!d) fail(path, quoted(text) + " is not a number");
    return *d;
  }

  std::string string_value(const Node& n, const std::string& path, std::string_view op) {
    if (!n.typed->IsString()) {
      fail(path, std::string(op) + " compares strings, and this is " + a_kind(*n.typed));
    }
    std::string s(n.typed->GetString(), n.typed->GetStringLength());
    if (const auto length = utf16_length(s); length > kMaxStringLength) {
      fail(path, std::to_string(length) + " characters, over Event Grid's limit of " +
                     std::to_string(kMaxStringLength) + " per string value");
    }
    return s;
  }

  Advanced advanced(const Node& n, const std::string& path) {
    if (!n.typed->IsObject()) {
      fail(path,
           "an advanced filter is an object ({\"operatorType\": ..., \"key\": ...}), "
           "not " +
               a_kind(*n.typed));
    }
    constexpr std::array<std::string_view, 4> kNames = {"operatorType", "key", "value", "values"};
    const auto m = members(n, path, kNames, "an advanced filter");
    const auto& op_member = m[0];
    const auto& key_member = m[1];
    const auto& value = m[2];
    const auto& values = m[3];

    if (!op_member) fail(join(path, "operatorType"), "missing; every advanced filter has one");
    const auto op_path = join(path, op_member->name);
    const auto op_name =
        string_of(*op_member, op_path, "operatorType is a string, like \"StringIn\"");
    const auto found =
        std::find_if(kOps.begin(), kOps.end(), [&](const OpInfo& o) { return o.name == op_name; });
    if (found == kOps.end()) {
      const auto near = std::find_if(kOps.begin(), kOps.end(),
                                     [&](const OpInfo& o) { return iequals(o.name, op_name); });
      if (near != kOps.end()) {
        fail(op_path, quoted(op_name) + " is spelled " + quoted(near->name));
      }
      std::string list;
      for (const auto& o : kOps) list += (list.empty() ? "" : ", ") + std::string(o.name);
      fail(op_path, quoted(op_name) + " is not an Event Grid operator (" + list + ")");
    }
    const OpInfo& op = *found;
    Advanced a;
    a.op = op.op;

    if (!key_member) fail(join(path, "key"), "missing; every advanced filter names a key");
    const auto key_path = join(path, key_member->name);
    key(a, key_path,
        string_of(*key_member, key_path, "key is a string, like \"data.after.discount\""));

    const std::string name(op.name);
    const auto refuse = [&](const std::optional<Member>& extra, std::string_view wants) {
      if (extra) fail(join(path, extra->name), name + " takes " + std::string(wants));
    };
    switch (op.takes) {
      case Takes::kNothing:
        refuse(value, "no value");
        refuse(values, "no values");
        break;
      case Takes::kNumber:
      case Takes::kBool: {
        const std::string wants =
            op.takes == Takes::kNumber ? "\"value\", a number" : "\"value\", true or false";
        refuse(values, wants + ", not \"values\"");
        if (!value) fail(join(path, "value"), name + " takes " + wants);
        const auto value_path = join(path, value->name);
        count_value(value_path);
        if (op.takes == Takes::kNumber) {
          a.numbers.push_back(number(value->node, value_path, name));
        } else {
          if (!value->node.typed->IsBool()) {
            fail(value_path, name + " takes " + wants + ", not " + a_kind(*value->node.typed));
          }
          a.boolean = value->node.typed->GetBool();
        }
        break;
      }
      case Takes::kNumbers:
      case Takes::kRanges:
      case Takes::kStrings: {
        refuse(value, "\"values\", an array, not \"value\"");
        if (!values || !values->node.typed->IsArray()) {
          fail(join(path, values ? values->name : "values"), name + " takes \"values\", an array");
        }
        const auto values_path = join(path, values->name);
        const auto& list = *values->node.typed;
        if (list.Empty()) fail(values_path, name + " needs at least one value");
        for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
          const Node item{&list[i], &(*values->node.raw)[i]};
          const auto item_path = index(values_path, i);
          count_value(item_path);
          if (op.takes == Takes::kNumbers) {
            a.numbers.push_back(number(item, item_path, name));
          } else if (op.takes == Takes::kStrings) {
            a.strings.push_back(string_value(item, item_path, name));
            a.folded.push_back(fold(a.strings.back()));
          } else {
            if (!item.typed->IsArray() || item.typed->Size() != 2) {
              fail(item_path, name + " takes ranges, each an array [low, high] of two numbers");
            }
            auto low = number({&(*item.typed)[0], &(*item.raw)[0]}, index(item_path, 0), name);
            auto high = number({&(*item.typed)[1], &(*item.raw)[1]}, index(item_path, 1), name);
            if (compare(low, high) > 0) {
              fail(item_path, "the range's low " + decimal_text(low) + " is above its high " +
                                  decimal_text(high));
            }
            a.ranges.emplace_back(std::move(low), std::move(high));
          }
        }
        break;
      }
    }
    return a;
  }
};

// --- Matching -------------------------------------------------------------------------

// Where a key led in one event.
struct Found {
  enum { kMissing, kNull, kText, kValue } kind = kMissing;
  std::string_view text;                    // kText: an attribute
  const rapidjson::Value* value = nullptr;  // kValue: inside data
};

Found look_up(const Advanced& a, const FilterEvent& e) {
  switch (a.attribute) {
    case Attribute::kId:
      return {Found::kText, e.id, nullptr};
    case Attribute::kSource:
      return {Found::kText, e.source, nullptr};
    case Attribute::kType:
      return {Found::kText, e.type, nullptr};
    case Attribute::kSubject:
      return {Found::kText, e.subject, nullptr};
    case Attribute::kTime:
      return {Found::kText, e.time, nullptr};
    case Attribute::kData:
      break;
  }
  const rapidjson::Value* v = e.data;
  if (v == nullptr) return {Found::kMissing, {}, nullptr};
  for (const auto& field : a.path) {
    if (!v->IsObject()) return {Found::kMissing, {}, nullptr};
    const rapidjson::Value name(
        rapidjson::StringRef(field.data(), static_cast<rapidjson::SizeType>(field.size())));
    const auto it = v->FindMember(name);
    if (it == v->MemberEnd()) return {Found::kMissing, {}, nullptr};
    v = &it->value;
  }
  if (v->IsNull()) return {Found::kNull, {}, nullptr};
  return {Found::kValue, {}, v};
}

// Whether a string the key holds hits one of a String operator's values.
bool hits_text(const Advanced& a, std::string_view text) {
  if (info(a.op).takes != Takes::kStrings) return false;
  const auto t = fold(text);
  const std::string_view s(t);
  return std::any_of(a.folded.begin(), a.folded.end(), [&](const std::string& v) {
    switch (a.op) {
      case Op::kStringIn:
      case Op::kStringNotIn:
        return s == v;
      case Op::kStringBeginsWith:
      case Op::kStringNotBeginsWith:
        return s.starts_with(v);
      case Op::kStringEndsWith:
      case Op::kStringNotEndsWith:
        return s.ends_with(v);
      default:
        return s.find(v) != std::string_view::npos;
    }
  });
}

// Whether one value the key holds hits the filter: a value of another type than the
// operator's never does.
bool hits(const Advanced& a, const rapidjson::Value& v) {
  switch (info(a.op).takes) {
    case Takes::kStrings:
      return v.IsString() && hits_text(a, {v.GetString(), v.GetStringLength()});
    case Takes::kBool:
      return v.IsBool() && v.GetBool() == a.boolean;
    case Takes::kNumber:
    case Takes::kNumbers:
    case Takes::kRanges:
      break;
    case Takes::kNothing:
      return false;
  }
  if (!v.IsNumber()) return false;
  const auto d = decimal_of(v);
  switch (a.op) {
    case Op::kNumberLessThan:
      return compare(d, a.numbers[0]) < 0;
    case Op::kNumberGreaterThan:
      return compare(d, a.numbers[0]) > 0;
    case Op::kNumberLessThanOrEquals:
      return compare(d, a.numbers[0]) <= 0;
    case Op::kNumberGreaterThanOrEquals:
      return compare(d, a.numbers[0]) >= 0;
    case Op::kNumberInRange:
    case Op::kNumberNotInRange:
      return std::any_of(a.ranges.begin(), a.ranges.end(), [&](const auto& r) {
        return compare(r.first, d) <= 0 && compare(d, r.second) <= 0;
      });
    default:
      return std::any_of(a.numbers.begin(), a.numbers.end(),
                         [&](const Decimal& n) { return compare(d, n) == 0; });
  }
}

bool evaluate(const Advanced& a, const FilterEvent& e, bool arrays) {
  const auto found = look_up(a, e);
  const bool absent = found.kind == Found::kMissing || found.kind == Found::kNull;
  if (a.op == Op::kIsNullOrUndefined) return absent;
  if (a.op == Op::kIsNotNull) return !absent;
  if (absent) {
    return a.op == Op::kNumberNotIn || a.op == Op::kStringNotIn || a.op == Op::kNumberNotInRange;
  }
  const bool negated = info(a.op).negated;
  bool hit = false;
  if (found.kind == Found::kText) {
    hit = hits_text(a, found.text);
  } else if (found.value->IsArray()) {
    if (!arrays) return false;
    const auto& list = found.value->GetArray();
    hit = std::any_of(list.begin(), list.end(),
                      [&](const rapidjson::Value& item) { return hits(a, item); });
  } else {
    hit = hits(a, *found.value);
  }
  return negated ? !hit : hit;
}

void write_string(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_number(rapidjson::Writer<rapidjson::StringBuffer>& w, const Decimal& d) {
  const auto text = decimal_text(d);
  w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
}

}  // namespace event_grid_filter

Filter Filter::parse(std::string_view json) {
  namespace eg = event_grid_filter;
  rapidjson::Document typed;
  typed.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(json.data(),
                                                                                      json.size());
  if (typed.HasParseError()) {
    throw std::invalid_argument(std::string("the filter is not JSON: ") +
                                rapidjson::GetParseError_En(typed.GetParseError()) + " (at byte " +
                                std::to_string(typed.GetErrorOffset()) + ")");
  }
  rapidjson::Document raw;
  raw.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(json.data(),
                                                                                    json.size());
  eg::Node node{&typed, &raw};
  if (!typed.IsObject())
    eg::fail("", "an Event Grid filter is a JSON object, not " + eg::a_kind(typed));

  // A subscription-like wrapper: {"filter": ...} or {"properties": {"filter": ...}}.
  std::string path;
  const auto member = [](const eg::Node& object,
                         std::string_view name) -> std::optional<eg::Member> {
    const auto& o = *object.typed;
    for (rapidjson::SizeType i = 0; i < o.MemberCount(); ++i) {
      const auto& m = o.MemberBegin()[i];
      const std::string_view n(m.name.GetString(), m.name.GetStringLength());
      if (eg::iequals(n, name)) {
        return eg::Member{std::string(n), {&m.value, &object.raw->MemberBegin()[i].value}};
      }
    }
    return std::nullopt;
  };
  if (const auto filter = member(node, "filter")) {
    path = filter->name;
    node = filter->node;
  } else if (const auto properties = member(node, "properties");
             properties && properties->node.typed->IsObject()) {
    const auto inner = member(properties->node, "filter");
    if (!inner) eg::fail(properties->name + ".filter", "missing: no filter to take");
    path = properties->name + "." + inner->name;
    node = inner->node;
  }
  Filter f;
  if (node.typed->IsNull()) return f;  // a subscription without a filter takes everything
  if (!node.typed->IsObject()) {
    eg::fail(path, "an Event Grid filter is a JSON object, not " + eg::a_kind(*node.typed));
  }

  constexpr std::array<std::string_view, 6> kNames = {"includedEventTypes",
                                                      "subjectBeginsWith",
                                                      "subjectEndsWith",
                                                      "isSubjectCaseSensitive",
                                                      "enableAdvancedFilteringOnArrays",
                                                      "advancedFilters"};
  const auto m = eg::members(node, path, kNames, "an Event Grid filter");
  const auto bool_of = [&](const std::optional<eg::Member>& b) {
    if (!b) return false;
    if (!b->node.typed->IsBool()) {
      eg::fail(eg::join(path, b->name), "true or false, not " + eg::a_kind(*b->node.typed));
    }
    return b->node.typed->GetBool();
  };
  const auto string_of = [&](const std::optional<eg::Member>& s) -> std::string {
    if (!s) return {};
    if (!s->node.typed->IsString()) {
      eg::fail(eg::join(path, s->name), "a string, not " + eg::a_kind(*s->node.typed));
    }
    return {s->node.typed->GetString(), s->node.typed->GetStringLength()};
  };

  if (const auto& types = m[0]) {
    const auto types_path = eg::join(path, types->name);
    const auto& list = *types->node.typed;
    if (!list.IsArray()) {
      eg::fail(types_path, "an array of event types, not " + eg::a_kind(list));
    }
    if (list.Empty()) {
      eg::fail(types_path, "empty, which would take no event; leave it out to take every type");
    }
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      if (!list[i].IsString()) {
        eg::fail(eg::index(types_path, i), "an event type is a string, not " + eg::a_kind(list[i]));
      }
      f.types_.emplace_back(list[i].GetString(), list[i].GetStringLength());
    }
    f.all_types_ = std::find(f.types_.begin(), f.types_.end(), "All") != f.types_.end();
  }
  f.begins_ = string_of(m[1]);
  f.ends_ = string_of(m[2]);
  f.begins_folded_ = eg::fold(f.begins_);
  f.ends_folded_ = eg::fold(f.ends_);
  f.case_sensitive_ = bool_of(m[3]);
  f.arrays_ = bool_of(m[4]);

  if (const auto& advanced = m[5]) {
    const auto advanced_path = eg::join(path, advanced->name);
    const auto& list = *advanced->node.typed;
    if (!list.IsArray()) {
      eg::fail(advanced_path, "an array of advanced filters, not " + eg::a_kind(list));
    }
    eg::Parser parser;
    for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
      const auto item_path = eg::index(advanced_path, i);
      if (i >= eg::kMaxAdvancedFilters) {
        eg::fail(item_path, "advanced filter " + std::to_string(i + 1) +
                                ", over Event Grid's limit of " +
                                std::to_string(eg::kMaxAdvancedFilters));
      }
      f.advanced_.push_back(parser.advanced({&list[i], &(*advanced->node.raw)[i]}, item_path));
    }
  }
  return f;
}

bool Filter::matches(const FilterEvent& event) const {
  namespace eg = event_grid_filter;
  if (!all_types_ && std::find(types_.begin(), types_.end(), event.type) == types_.end()) {
    return false;
  }
  if (!begins_.empty() || !ends_.empty()) {
    if (case_sensitive_) {
      if (!event.subject.starts_with(begins_) || !event.subject.ends_with(ends_)) return false;
    } else {
      const auto subject = eg::fold(event.subject);
      if (!std::string_view(subject).starts_with(begins_folded_) ||
          !std::string_view(subject).ends_with(ends_folded_)) {
        return false;
      }
    }
  }
  return std::all_of(advanced_.begin(), advanced_.end(),
                     [&](const Advanced& a) { return eg::evaluate(a, event, arrays_); });
}

std::string Filter::canonical_json() const {
  namespace eg = event_grid_filter;
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  if (!types_.empty()) {
    w.Key("includedEventTypes");
    w.StartArray();
    for (const auto& t : types_) eg::write_string(w, t);
    w.EndArray();
  }
  if (!begins_.empty()) {
    w.Key("subjectBeginsWith");
    eg::write_string(w, begins_);
  }
  if (!ends_.empty()) {
    w.Key("subjectEndsWith");
    eg::write_string(w, ends_);
  }
  if (case_sensitive_) {
    w.Key("isSubjectCaseSensitive");
    w.Bool(true);
  }
  if (arrays_) {
    w.Key("enableAdvancedFilteringOnArrays");
    w.Bool(true);
  }
  if (!advanced_.empty()) {
    w.Key("advancedFilters");
    w.StartArray();
    for (const auto& a : advanced_) {
      const auto& op = eg::info(a.op);
      w.StartObject();
      w.Key("operatorType");
      eg::write_string(w, op.name);
      w.Key("key");
      std::string key(eg::canonical_name(a.attribute));
      for (const auto& field : a.path) key += "." + field;
      eg::write_string(w, key);
      switch (op.takes) {
        case eg::Takes::kNothing:
          break;
        case eg::Takes::kNumber:
          w.Key("value");
          eg::write_number(w, a.numbers[0]);
          break;
        case eg::Takes::kBool:
          w.Key("value");
          w.Bool(a.boolean);
          break;
        case eg::Takes::kNumbers:
          w.Key("values");
          w.StartArray();
          for (const auto& n : a.numbers) eg::write_number(w, n);
          w.EndArray();
          break;
        case eg::Takes::kRanges:
          w.Key("values");
          w.StartArray();
          for (const auto& [low, high] : a.ranges) {
            w.StartArray();
            eg::write_number(w, low);
            eg::write_number(w, high);
            w.EndArray();
          }
          w.EndArray();
          break;
        case eg::Takes::kStrings:
          w.Key("values");
          w.StartArray();
          for (const auto& s : a.strings) eg::write_string(w, s);
          w.EndArray();
          break;
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return {b.GetString(), b.GetSize()};
}

bool Filter::reads_data() const {
  return std::any_of(advanced_.begin(), advanced_.end(),
                     [](const Advanced& a) { return a.attribute == Attribute::kData; });
}

}  // namespace millrace::webhooks::detail
