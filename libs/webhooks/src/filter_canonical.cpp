// A parsed filter written back as JSON: Filter::canonical_json.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

#include "filter.hpp"
#include "filter_rules.hpp"

namespace millrace::webhooks::detail {

namespace event_grid_filter {

void write_string(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_number(rapidjson::Writer<rapidjson::StringBuffer>& w, const Decimal& d) {
  const auto text = d.to_json();
  w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
}

}  // namespace event_grid_filter

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

}  // namespace millrace::webhooks::detail
