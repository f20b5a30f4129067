// Reading a feed file (feed.hpp): its members checked against the kind
// it names, each problem named by where it is.
#include <algorithm>
#include <utility>

#include "doc_reader.hpp"
#include "feed_path.hpp"
#include "json_tree.hpp"
#include "millrace/kinds/feed.hpp"
#include "millrace/kinds/record.hpp"

namespace millrace::kinds {

using detail::at;
using detail::join_path;
using detail::Json;
using detail::split_path;

namespace {

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
      FeedField field = this->field(*i, spec, "fields." + std::string(name));
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
      if (!d_.find(name))
        fail("fields", "\"" + std::string(name) + "\" is not a field of the kind " + d_.kind);
      std::size_t n = 0;
      fields.member(name, &n);
      if (n > 1) fail("fields", "\"" + std::string(name) + "\" appears more than once");
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

}  // namespace millrace::kinds
