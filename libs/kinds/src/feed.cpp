// Mapping a frame to records of a kind (feed.hpp, map_frame).
#include "millrace/kinds/feed.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>
#include <variant>

#include "feed_path.hpp"
#include "json_tree.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds {

using core::Rejection;
using core::RejectReason;
using detail::at;
using detail::join_path;
using detail::Json;

namespace {

// Digits "123" or "123.456": the whole and fractional parts of a
// non-negative number literal; nullopt for anything else.
std::optional<std::pair<std::string_view, std::string_view>> plain_number(std::string_view s) {
  const auto dot = s.find('.');
  const auto whole = s.substr(0, dot);
  const auto frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  const auto digits = [](std::string_view d) {
    return !d.empty() &&
           std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(whole) || (dot != std::string_view::npos && !digits(frac))) return std::nullopt;
  return std::pair{whole, frac};
}

// Maps one record (an object of the frame) onto the kind's fields, as JSON
// the kind reads; a rejection names the record by `place`.
class RecordMapper {
 public:
  RecordMapper(const FeedDecl& feed, const Declaration& d, const FrameContext& context)
      : feed_(feed), d_(d), context_(context) {}

  std::variant<std::string, Rejection> map(const Json& record, std::size_t index,
                                           const std::string& place) const {
    std::string out = "{";
    for (const auto& f : feed_.fields) {
      const FieldDecl& decl = d_.fields[f.field];
      std::string value;
      if (auto r = convert(record, f, index, place, decl, value)) return *std::move(r);
      if (value.empty()) continue;  // absent: the kind judges
      if (out.size() > 1) out += ',';
      append_json(out, Value{decl.name});
      out += ':';
      out += value;
    }
    return out + "}";
  }

 private:
  static Rejection refuse(RejectReason reason, const std::string& field, std::string detail) {
    return Rejection{reason, field, field + " " + std::move(detail)};
  }

  // The text of a part; nullopt when its member is absent or null.
  std::optional<std::string> part_text(const Json& record, const FeedPart& p, std::size_t index,
                                       const std::string& field, Rejection& error) const {
    switch (p.source) {
      case FeedPart::Source::kConstant:
        return p.text;
      case FeedPart::Source::kRun:
        return context_.run;
      case FeedPart::Source::kFrame:
        return std::to_string(context_.frame);
      case FeedPart::Source::kIndex:
        return std::to_string(index + 1);
      case FeedPart::Source::kMember:
        break;
    }
    const Json* j = at(record, p.path);
    if (j == nullptr || j->type == Json::Type::kNull) return std::nullopt;
    if (j->type == Json::Type::kString || j->type == Json::Type::kNumber) return j->text;
    error = refuse(RejectReason::kWrongType, field,
                   "(from \"" + join_path(p.path) + "\") must be a string or a number, got " +
                       std::string(detail::describe(j->type)));
    return std::nullopt;
  }

  std::optional<Rejection> convert(const Json& record, const FeedField& f, std::size_t index,
                                   const std::string& place, const FieldDecl& decl,
                                   std::string& out) const {
    const std::string field = place + decl.name;
    Rejection error{RejectReason::kMissingField, "", ""};
    const auto text = [&](std::string s) {
      append_json(out, Value{std::move(s)});
      return std::nullopt;
    };
    if (f.as == FeedField::As::kParts) {
      std::string joined;
      for (std::size_t i = 0; i < f.parts.size(); ++i) {
        const auto t = part_text(record, f.parts[i], index, field, error);
        if (!error.field.empty()) return error;
        if (!t) {
          return refuse(RejectReason::kMissingField, field,
                        "needs \"" + join_path(f.parts[i].path) + "\", which is missing");
        }
        joined += (i == 0 ? "" : ":") + *t;
      }
      return text(std::move(joined));
    }
    const FeedPart& p = f.parts.front();
    if (p.source != FeedPart::Source::kMember) {
      return text(*part_text(record, p, index, field, error));
    }
    const Json* j = at(record, p.path);
    if (j == nullptr || j->type == Json::Type::kNull) return std::nullopt;
    const std::string from = "(from \"" + join_path(p.path) + "\") ";
    switch (f.as) {
      case FeedField::As::kValue:
        switch (j->type) {
          case Json::Type::kString:
            return text(j->text);
          case Json::Type::kNumber:
            out = j->text;
            return std::nullopt;
          case Json::Type::kBool:
            out = j->boolean ? "true" : "false";
            return std::nullopt;
          default:
            return refuse(
                RejectReason::kWrongType, field,
                from + "must be one value, got " + std::string(detail::describe(j->type)));
        }
      case FeedField::As::kText:
        if (j->type != Json::Type::kString && j->type != Json::Type::kNumber) {
          return refuse(
              RejectReason::kWrongType, field,
              from + "must be a string or a number, got " + std::string(detail::describe(j->type)));
        }
        return text(j->text);
      case FeedField::As::kJoin: {
        if (j->type != Json::Type::kArray) {
          return refuse(RejectReason::kWrongType, field,
                        from + "must be an array, got " + std::string(detail::describe(j->type)));
        }
        std::string joined;
        for (const auto& item : j->items) {
          if (item.type != Json::Type::kString && item.type != Json::Type::kNumber) {
            return refuse(RejectReason::kWrongType, field,
                          from + "must hold strings or numbers, got " +
                              std::string(detail::describe(item.type)));
          }
          joined += (joined.empty() ? "" : ",") + item.text;
        }
        return text(std::move(joined));
      }
      case FeedField::As::kEpochMs:
      case FeedField::As::kEpochS:
      case FeedField::As::kEpochUs:
        return epoch(*j, f.as, field, from, out);
      case FeedField::As::kParts:
        break;
    }
    return std::nullopt;
  }

  static std::optional<Rejection> epoch(const Json& j, FeedField::As as, const std::string& field,
                                        const std::string& from, std::string& out) {
    const std::string_view unit = as == FeedField::As::kEpochMs  ? "milliseconds"
                                  : as == FeedField::As::kEpochS ? "seconds"
                                                                 : "microseconds";
    // Numbers, or strings holding them, as some feeds send times.
    const auto number = j.type == Json::Type::kNumber || j.type == Json::Type::kString
                            ? plain_number(j.text)
                            : std::nullopt;
    if (!number) {
      return refuse(j.type == Json::Type::kNumber || j.type == Json::Type::kString
                        ? RejectReason::kInvalidFormat
                        : RejectReason::kWrongType,
                    field,
                    from + "must be a non-negative number of " + std::string(unit) +
                        " since the epoch, got " +
                        (j.type == Json::Type::kNumber || j.type == Json::Type::kString
                             ? j.text
                             : std::string(detail::describe(j.type))));
    }
    const int shift = as == FeedField::As::kEpochMs ? 3 : as == FeedField::As::kEpochS ? 6 : 0;
    auto [whole, frac] = *number;
    std::string digits(whole);
    std::string fraction(frac);
    while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
    if (static_cast<int>(fraction.size()) > shift) {
      return refuse(RejectReason::kOutOfRange, field,
                    from + "is finer than a microsecond: " + j.text);
    }
    digits += fraction + std::string(static_cast<std::size_t>(shift) - fraction.size(), '0');
    std::int64_t us = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), us);
    // Past 9999-12-31: parse_timestamp's upper bound.
    constexpr std::int64_t kMaxUs = 253'402'300'799'999'999;
    if (ec != std::errc() || ptr != digits.data() + digits.size() || us > kMaxUs) {
      return refuse(RejectReason::kOutOfRange, field, from + "is past 9999: " + j.text);
    }
    out = '"' + core::format_timestamp(us) + '"';
    return std::nullopt;
  }

  const FeedDecl& feed_;
  const Declaration& d_;
  const FrameContext& context_;
};

MappedFrame refused(Rejection r) {
  MappedFrame m;
  m.outcome = MappedFrame::Outcome::kRefused;
  m.rejection = std::move(r);
  return m;
}

}  // namespace

MappedFrame map_frame(const FeedDecl& feed, const Declaration& d, std::string_view frame,
                      const FrameContext& context) {
  std::string error;
  const auto root = detail::parse_json(frame, error);
  if (!root) return refused({RejectReason::kInvalidJson, "", "not valid JSON: " + error});
  if (root->type != Json::Type::kObject) {
    return refused(
        {RejectReason::kNotAnObject, "",
         "a frame must be a JSON object, got " + std::string(detail::describe(root->type))});
  }
  if (!feed.type_path.empty()) {
    const Json* type = at(*root, feed.type_path);
    const bool data = type != nullptr && type->type == Json::Type::kString &&
                      std::find(feed.data_types.begin(), feed.data_types.end(), type->text) !=
                          feed.data_types.end();
    if (!data) return MappedFrame{};  // control
  }
  std::vector<const Json*> records;
  const std::string array = join_path(feed.records_path);
  if (feed.unroll) {
    const Json* items = at(*root, feed.records_path);
    if (items == nullptr || items->type == Json::Type::kNull) {
      return refused({RejectReason::kMissingField, array, array + " is missing"});
    }
    if (items->type != Json::Type::kArray) {
      return refused(
          {RejectReason::kWrongType, array,
           array + " must be an array, got " + std::string(detail::describe(items->type))});
    }
    for (const auto& item : items->items) records.push_back(&item);
    if (records.empty()) return MappedFrame{};  // nothing to produce: control
  } else {
    records.push_back(&*root);
  }
  MappedFrame out;
  out.outcome = MappedFrame::Outcome::kRecords;
  const RecordMapper mapper(feed, d, context);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string place = feed.unroll ? array + "[" + std::to_string(i + 1) + "]." : "";
    if (records[i]->type != Json::Type::kObject) {
      const std::string name = place.substr(0, place.size() - 1);
      return refused(
          {RejectReason::kWrongType, name,
           name + " must be an object, got " + std::string(detail::describe(records[i]->type))});
    }
    auto mapped = mapper.map(*records[i], i, place);
    if (auto* r = std::get_if<Rejection>(&mapped)) return refused(std::move(*r));
    auto parsed = parse_record(d, std::get<std::string>(mapped));
    if (auto* r = std::get_if<Rejection>(&parsed)) {
      r->field = place + r->field;
      r->detail = place + r->detail;
      return refused(std::move(*r));
    }
    const auto& record = std::get<Record>(parsed);
    // The record as the kind stores it: exact numbers, timestamps in UTC.
    MappedRecord m;
    std::string payload = "{";
    for (std::size_t f = 0; f < d.fields.size(); ++f) {
      if (std::holds_alternative<std::monostate>(record.values[f])) continue;
      if (payload.size() > 1) payload += ',';
      append_json(payload, Value{d.fields[f].name});
      payload += ':';
      append_json(payload, record.values[f]);
    }
    m.payload = payload + "}";
    const auto& key = record.values[feed.key];
    if (const auto* s = std::get_if<std::string>(&key)) {
      m.key = *s;
    } else {
      append_json(m.key, key);
    }
    out.records.push_back(std::move(m));
  }
  return out;
}

}  // namespace millrace::kinds
