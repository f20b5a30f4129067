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
#include "record_check.hpp"

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

// Maps one record (an object of the frame) onto the kind's fields, as the
// values the kind checks; a rejection names the record by its place
// (`place` makes "data[3]." only when one is needed).
class RecordMapper {
 public:
  RecordMapper(const FeedDecl& feed, const Declaration& d, const FrameContext& context)
      : feed_(feed), d_(d), context_(context) {}

  // The record's values, one slot per field of the kind; a slot's text
  // points into the frame's document or into `made`, until the next map.
  struct Slots {
    explicit Slots(std::size_t fields) : views(fields), values(fields), made(fields) {}
    std::vector<Json> views;
    std::vector<const Json*> values;  // null: absent (the kind judges)
    std::vector<std::string> made;    // text the mapping made (joined, converted)
  };

  template <typename Place>
  std::optional<Rejection> map(const Json& record, std::size_t index, const Place& place,
                               Slots& slots) const {
    std::fill(slots.values.begin(), slots.values.end(), nullptr);
    for (const auto& f : feed_.fields) {
      const FieldDecl& decl = d_.fields[f.field];
      const auto field = [&] { return place() + decl.name; };
      bool present = false;
      if (auto r = convert(record, f, index, field, slots.views[f.field], slots.made[f.field],
                           present)) {
        return r;
      }
      if (present) slots.values[f.field] = &slots.views[f.field];
    }
    return std::nullopt;
  }

 private:
  // A string value the mapping hands the kind's checks.
  static Json string_node(std::string_view text) {
    Json j;
    j.type = Json::Type::kString;
    j.text = text;
    return j;
  }

  static Rejection refuse(RejectReason reason, const std::string& field, std::string detail) {
    return Rejection{reason, field, field + " " + std::move(detail)};
  }

  static std::string from(const FeedPart& p) { return "(from \"" + join_path(p.path) + "\") "; }

  // The text of a part; nullopt when its member is absent or null.
  template <typename Field>
  std::optional<std::string> part_text(const Json& record, const FeedPart& p, std::size_t index,
                                       const Field& field, std::optional<Rejection>& error) const {
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
    if (j->type == Json::Type::kString || j->type == Json::Type::kNumber)
      return std::string(j->text);
    error = refuse(RejectReason::kWrongType, field(),
                   "(from \"" + join_path(p.path) + "\") must be a string or a number, got " +
                       std::string(detail::describe(j->type)));
    return std::nullopt;
  }

  // Sets `out` (and `present`) to the field's value; absent when its
  // member is absent or null.
  template <typename Field>
  std::optional<Rejection> convert(const Json& record, const FeedField& f, std::size_t index,
                                   const Field& field, Json& out, std::string& made,
                                   bool& present) const {
    std::optional<Rejection> error;
    // A string the mapping made, held in `made`.
    const auto text = [&](std::string s) -> std::optional<Rejection> {
      made = std::move(s);
      out = string_node(made);
      present = true;
      return std::nullopt;
    };
    if (f.as == FeedField::As::kParts) {
      std::string joined;
      for (std::size_t i = 0; i < f.parts.size(); ++i) {
        const auto t = part_text(record, f.parts[i], index, field, error);
        if (error) return error;
        if (!t) {
          return refuse(RejectReason::kMissingField, field(),
                        "needs \"" + join_path(f.parts[i].path) + "\", which is missing");
        }
        if (i > 0) joined += ':';
        joined += *t;
      }
      return text(std::move(joined));
    }
    const FeedPart& p = f.parts.front();
    if (p.source != FeedPart::Source::kMember) {
      return text(*part_text(record, p, index, field, error));
    }
    const Json* j = at(record, p.path);
    if (j == nullptr || j->type == Json::Type::kNull) return std::nullopt;
    switch (f.as) {
      case FeedField::As::kValue:
        switch (j->type) {
          case Json::Type::kString:
          case Json::Type::kNumber:
          case Json::Type::kBool:
            out = *j;
            present = true;
            return std::nullopt;
          default:
            return refuse(
                RejectReason::kWrongType, field(),
                from(p) + "must be one value, got " + std::string(detail::describe(j->type)));
        }
      case FeedField::As::kText:
        if (j->type != Json::Type::kString && j->type != Json::Type::kNumber) {
          return refuse(RejectReason::kWrongType, field(),
                        from(p) + "must be a string or a number, got " +
                            std::string(detail::describe(j->type)));
        }
        out = string_node(j->text);
        present = true;
        return std::nullopt;
      case FeedField::As::kJoin: {
        if (j->type != Json::Type::kArray) {
          return refuse(
              RejectReason::kWrongType, field(),
              from(p) + "must be an array, got " + std::string(detail::describe(j->type)));
        }
        std::string joined;
        for (const auto& item : j->items) {
          if (item.type != Json::Type::kString && item.type != Json::Type::kNumber) {
            return refuse(RejectReason::kWrongType, field(),
                          from(p) + "must hold strings or numbers, got " +
                              std::string(detail::describe(item.type)));
          }
          if (!joined.empty()) joined += ',';
          joined += item.text;
        }
        return text(std::move(joined));
      }
      case FeedField::As::kEpochMs:
      case FeedField::As::kEpochS:
      case FeedField::As::kEpochUs:
        if (auto r = epoch(*j, f.as, field, p, made)) return r;
        out = string_node(made);
        present = true;
        return std::nullopt;
      case FeedField::As::kParts:
        break;
    }
    return std::nullopt;
  }

  // The time as RFC 3339 text in `out`.
  template <typename Field>
  static std::optional<Rejection> epoch(const Json& j, FeedField::As as, const Field& field,
                                        const FeedPart& p, std::string& out) {
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
                    field(),
                    from(p) + "must be a non-negative number of " + std::string(unit) +
                        " since the epoch, got " +
                        (j.type == Json::Type::kNumber || j.type == Json::Type::kString
                             ? std::string(j.text)
                             : std::string(detail::describe(j.type))));
    }
    const int shift = as == FeedField::As::kEpochMs ? 3 : as == FeedField::As::kEpochS ? 6 : 0;
    auto [whole, frac] = *number;
    while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
    if (static_cast<int>(frac.size()) > shift) {
      return refuse(RejectReason::kOutOfRange, field(),
                    from(p) + "is finer than a microsecond: " + std::string(j.text));
    }
    char digits[64];
    if (whole.size() + static_cast<std::size_t>(shift) > sizeof digits) {
      return refuse(RejectReason::kOutOfRange, field(),
                    from(p) + "is past 9999: " + std::string(j.text));
    }
    std::size_t n = whole.copy(digits, whole.size());
    n += frac.copy(digits + n, frac.size());
    for (auto k = frac.size(); k < static_cast<std::size_t>(shift); ++k) digits[n++] = '0';
    std::int64_t us = 0;
    const auto [ptr, ec] = std::from_chars(digits, digits + n, us);
    // Past 9999-12-31: parse_timestamp's upper bound.
    constexpr std::int64_t kMaxUs = 253'402'300'799'999'999;
    if (ec != std::errc() || ptr != digits + n || us > kMaxUs) {
      return refuse(RejectReason::kOutOfRange, field(),
                    from(p) + "is past 9999: " + std::string(j.text));
    }
    char text[core::kTimestampTextMax];
    out.assign(text, core::format_timestamp_to(text, us));
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
  out.records.reserve(records.size());
  const RecordMapper mapper(feed, d, context);
  RecordMapper::Slots slots(d.fields.size());
  Record record;
  for (std::size_t i = 0; i < records.size(); ++i) {
    // "data[3].": made only to name a record in a refusal.
    const auto place = [&] {
      return feed.unroll ? array + "[" + std::to_string(i + 1) + "]." : std::string();
    };
    if (records[i]->type != Json::Type::kObject) {
      auto name = place();
      if (!name.empty()) name.pop_back();
      return refused(
          {RejectReason::kWrongType, name,
           name + " must be an object, got " + std::string(detail::describe(records[i]->type))});
    }
    if (auto r = mapper.map(*records[i], i, place, slots)) return refused(std::move(*r));
    if (auto r = detail::check_fields(d, slots.values, record)) {
      r->field = place() + r->field;
      r->detail = place() + r->detail;
      return refused(std::move(*r));
    }
    // The record as the kind stores it: exact numbers, timestamps in UTC.
    MappedRecord& m = out.records.emplace_back();
    m.payload.reserve(frame.size() / records.size() + 64);
    m.payload += '{';
    for (std::size_t f = 0; f < d.fields.size(); ++f) {
      if (std::holds_alternative<std::monostate>(record.values[f])) continue;
      if (m.payload.size() > 1) m.payload += ',';
      detail::append_string(m.payload, d.fields[f].name);
      m.payload += ':';
      append_json(m.payload, record.values[f]);
    }
    m.payload += '}';
    const auto& key = record.values[feed.key];
    if (const auto* s = std::get_if<std::string>(&key)) {
      m.key = *s;
    } else {
      append_json(m.key, key);
    }
  }
  return out;
}

}  // namespace millrace::kinds
