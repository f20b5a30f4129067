#include "millrace/kinds/feed.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>
#include <variant>

#include "doc_reader.hpp"
#include "json_tree.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds {

using core::Rejection;
using core::RejectReason;
using detail::Json;

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (true) {
    const auto dot = path.find('.', from);
    out.push_back(path.substr(from, dot == std::string::npos ? std::string::npos : dot - from));
    if (dot == std::string::npos) return out;
    from = dot + 1;
  }
}

std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) out += (out.empty() ? "" : ".") + p;
  return out;
}

const Json* at(const Json& root, const std::vector<std::string>& path) {
  const Json* j = &root;
  for (const auto& name : path) {
    if (j->type != Json::Type::kObject) return nullptr;
    j = j->member(name);
    if (j == nullptr) return nullptr;
  }
  return j;
}

class FeedReader : public detail::DocReader {
 public:
  FeedReader(std::string_view origin, const Declaration& d)
      : DocReader("feed file " + std::string(origin)), d_(d) {}

  FeedDecl read(const Json& root) const {
    only(root, "",
         {"$comment", "feed", "kind", "type", "records", "fields", "key", "subscribe",
          "unsubscribe"});
    FeedDecl f;
    f.name = string(need(root, "feed", ""), "feed");
    f.kind = string(need(root, "kind", ""), "kind");
    if (f.kind != d_.kind) fail("kind", "is \"" + f.kind + "\", not the kind " + d_.kind);
    if (d_.lines) fail("kind", "a kind with lines cannot be fed from frames");
    if (const Json* t = root.member("type")) {
      only(*t, "type", {"member", "data"});
      f.type_path = split_path(string(need(*t, "member", "type"), "type.member"));
      f.data_types = strings(need(*t, "data", "type"), "type.data");
    }
    if (const Json* r = root.member("records")) {
      f.unroll = true;
      f.records_path = split_path(string(*r, "records"));
    }
    const Json& fields = need(root, "fields", "");
    only_fields(fields);
    std::vector<bool> mapped(d_.fields.size(), false);
    for (const auto& [name, spec] : fields.members) {
      const auto i = d_.find(name);
      FeedField field = this->field(*i, spec, "fields." + name);
      mapped[*i] = true;
      f.fields.push_back(std::move(field));
    }
    for (std::size_t i = 0; i < d_.fields.size(); ++i) {
      if (d_.fields[i].required && !mapped[i]) {
        fail("fields", "the kind's required field \"" + d_.fields[i].name + "\" is not mapped");
      }
    }
    std::sort(f.fields.begin(), f.fields.end(),
              [](const FeedField& a, const FeedField& b) { return a.field < b.field; });
    const auto key = string(need(root, "key", ""), "key");
    const auto k = d_.find(key);
    if (!k || !mapped[*k]) fail("key", "\"" + key + "\" is not a mapped field of the kind");
    f.key = *k;
    f.subscribe = message(root.member("subscribe"), "subscribe");
    f.unsubscribe = message(root.member("unsubscribe"), "unsubscribe");
    return f;
  }

 private:
  void only_fields(const Json& fields) const {
    if (fields.type != Json::Type::kObject || fields.members.empty()) {
      fail("fields", "must be a non-empty object: the kind's fields by name");
    }
    for (const auto& [name, spec] : fields.members) {
      if (!d_.find(name)) fail("fields", "\"" + name + "\" is not a field of the kind " + d_.kind);
      std::size_t n = 0;
      fields.member(name, &n);
      if (n > 1) fail("fields", "\"" + name + "\" appears more than once");
    }
  }

  FeedPart part(const Json& j, const std::string& where) const {
    const auto s = string(j, where);
    FeedPart p;
    if (s == "#run") {
      p.source = FeedPart::Source::kRun;
    } else if (s == "#frame") {
      p.source = FeedPart::Source::kFrame;
    } else if (s == "#index") {
      p.source = FeedPart::Source::kIndex;
    } else if (s.starts_with('#')) {
      fail(where, "\"" + s + "\" is not #run, #frame or #index");
    } else {
      p.path = split_path(s);
    }
    return p;
  }

  FeedField field(std::size_t index, const Json& spec, const std::string& where) const {
    const FieldDecl& decl = d_.fields[index];
    FeedField f;
    f.field = index;
    if (spec.type == Json::Type::kString) {
      f.parts.push_back(part(spec, where));
      if (f.parts[0].source != FeedPart::Source::kMember) f.as = FeedField::As::kText;
    } else {
      only(spec, where, {"from", "as", "value", "join"});
      const int forms = (spec.member("from") != nullptr) + (spec.member("value") != nullptr) +
                        (spec.member("join") != nullptr);
      if (forms != 1) fail(where, "must have one of \"from\", \"value\" and \"join\"");
      if (const Json* v = spec.member("value")) {
        FeedPart p;
        p.source = FeedPart::Source::kConstant;
        p.text = string(*v, where + ".value");
        f.parts.push_back(std::move(p));
        f.as = FeedField::As::kText;
      } else if (const Json* parts = spec.member("join")) {
        if (parts->type != Json::Type::kArray || parts->items.empty()) {
          fail(where + ".join", "must be a non-empty array of members and #run, #frame, #index");
        }
        for (std::size_t i = 0; i < parts->items.size(); ++i) {
          f.parts.push_back(part(parts->items[i], where + ".join[" + std::to_string(i) + "]"));
        }
        f.as = FeedField::As::kParts;
      } else {
        f.parts.push_back(part(*spec.member("from"), where + ".from"));
        if (const Json* as = spec.member("as")) f.as = conversion(*as, where + ".as");
      }
      if (spec.member("as") != nullptr && spec.member("from") == nullptr) {
        fail(where + ".as", "goes with \"from\"");
      }
    }
    const bool text = decl.type == ValueType::kText || decl.type == ValueType::kFreeText;
    switch (f.as) {
      case FeedField::As::kEpochMs:
      case FeedField::As::kEpochS:
      case FeedField::As::kEpochUs:
        if (decl.type != ValueType::kTimestamp) fail(where, "epoch times map to timestamp fields");
        break;
      case FeedField::As::kJoin:
      case FeedField::As::kText:
      case FeedField::As::kParts:
        if (!text) fail(where, "makes text: it maps to text and free_text fields");
        break;
      case FeedField::As::kValue:
        break;
    }
    return f;
  }

  FeedField::As conversion(const Json& j, const std::string& where) const {
    const auto s = string(j, where);
    if (s == "epoch_ms") return FeedField::As::kEpochMs;
    if (s == "epoch_s") return FeedField::As::kEpochS;
    if (s == "epoch_us") return FeedField::As::kEpochUs;
    if (s == "join") return FeedField::As::kJoin;
    if (s == "text") return FeedField::As::kText;
    fail(where, "\"" + s + "\" is not a conversion (epoch_ms, epoch_s, epoch_us, join, text)");
  }

  std::string message(const Json* j, const std::string& where) const {
    if (j == nullptr) return {};
    if (j->type != Json::Type::kObject && j->type != Json::Type::kArray) {
      fail(where, "must be a JSON object or array: the message sent");
    }
    return detail::write_json(*j);
  }

  const Declaration& d_;
};

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

std::string feed_kind(std::string_view json, std::string_view origin) {
  std::string error;
  const auto root = detail::parse_json(json, error);
  const detail::DocReader reader("feed file " + std::string(origin));
  if (!root) reader.fail("", "not valid JSON: " + error);
  if (root->type != Json::Type::kObject) reader.fail("", "must be a JSON object");
  return reader.string(reader.need(*root, "kind", ""), "kind");
}

FeedDecl parse_feed(std::string_view json, std::string_view origin, const Declaration& d) {
  std::string error;
  const auto root = detail::parse_json(json, error);
  const FeedReader reader(origin, d);
  if (!root) reader.fail("", "not valid JSON: " + error);
  return reader.read(*root);
}

std::string feed_message(const std::string& message, std::string_view symbol) {
  if (message.empty()) return {};
  std::string escaped;
  append_json(escaped, Value{std::string(symbol)});
  // Without its quotes: the placeholder sits inside a string of the message.
  escaped = escaped.substr(1, escaped.size() - 2);
  std::string out;
  constexpr std::string_view kPlaceholder = "{symbol}";
  std::size_t from = 0;
  while (true) {
    const auto i = message.find(kPlaceholder, from);
    out.append(message, from, i == std::string::npos ? std::string::npos : i - from);
    if (i == std::string::npos) return out;
    out += escaped;
    from = i + kPlaceholder.size();
  }
}

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
