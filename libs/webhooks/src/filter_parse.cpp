// Reading a filter's declaration: Filter::parse and what it refuses.

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "filter.hpp"
#include "filter_rules.hpp"
#include "millrace/core/case_fold.hpp"
#include "millrace/core/utf8.hpp"

namespace millrace::webhooks::detail {

namespace event_grid_filter {

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
    const auto d = Decimal::parse(text);
    if (!d) fail(path, quoted(text) + " is not a number");
    return *d;
  }

  std::string string_value(const Node& n, const std::string& path, std::string_view op) {
    if (!n.typed->IsString()) {
      fail(path, std::string(op) + " compares strings, and this is " + a_kind(*n.typed));
    }
    std::string s(n.typed->GetString(), n.typed->GetStringLength());
    if (const auto length = core::utf16_length(s); length > kMaxStringLength) {
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
            a.folded.push_back(core::fold_case(a.strings.back()));
          } else {
            if (!item.typed->IsArray() || item.typed->Size() != 2) {
              fail(item_path, name + " takes ranges, each an array [low, high] of two numbers");
            }
            auto low = number({&(*item.typed)[0], &(*item.raw)[0]}, index(item_path, 0), name);
            auto high = number({&(*item.typed)[1], &(*item.raw)[1]}, index(item_path, 1), name);
            if (low > high) {
              fail(item_path,
                   "the range's low " + low.to_json() + " is above its high " + high.to_json());
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
  f.begins_folded_ = core::fold_case(f.begins_);
  f.ends_folded_ = core::fold_case(f.ends_);
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

}  // namespace millrace::webhooks::detail
