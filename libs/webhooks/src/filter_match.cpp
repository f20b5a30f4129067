// Evaluating a parsed filter against one event: Filter::matches.

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>

#include "filter.hpp"
#include "filter_rules.hpp"
#include "millrace/core/case_fold.hpp"

namespace millrace::webhooks::detail {

namespace event_grid_filter {

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
  return Decimal::parse(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)))
      .value_or(Decimal{});
}

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
  const auto t = core::fold_case(text);
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
      return d < a.numbers[0];
    case Op::kNumberGreaterThan:
      return d > a.numbers[0];
    case Op::kNumberLessThanOrEquals:
      return d <= a.numbers[0];
    case Op::kNumberGreaterThanOrEquals:
      return d >= a.numbers[0];
    case Op::kNumberInRange:
    case Op::kNumberNotInRange:
      return std::any_of(a.ranges.begin(), a.ranges.end(),
                         [&](const auto& r) { return r.first <= d && d <= r.second; });
    default:
      return std::any_of(a.numbers.begin(), a.numbers.end(),
                         [&](const Decimal& n) { return d == n; });
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

}  // namespace event_grid_filter

bool Filter::matches(const FilterEvent& event) const {
  namespace eg = event_grid_filter;
  if (!all_types_ && std::find(types_.begin(), types_.end(), event.type) == types_.end()) {
    return false;
  }
  if (!begins_.empty() || !ends_.empty()) {
    if (case_sensitive_) {
      if (!event.subject.starts_with(begins_) || !event.subject.ends_with(ends_)) return false;
    } else {
      const auto subject = core::fold_case(event.subject);
      if (!std::string_view(subject).starts_with(begins_folded_) ||
          !std::string_view(subject).ends_with(ends_folded_)) {
        return false;
      }
    }
  }
  return std::all_of(advanced_.begin(), advanced_.end(),
                     [&](const Advanced& a) { return eg::evaluate(a, event, arrays_); });
}

bool Filter::reads_data() const {
  return std::any_of(advanced_.begin(), advanced_.end(),
                     [](const Advanced& a) { return a.attribute == Attribute::kData; });
}

}  // namespace millrace::webhooks::detail
