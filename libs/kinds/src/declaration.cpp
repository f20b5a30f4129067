#include "millrace/kinds/declaration.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <limits>
#include <set>
#include <stdexcept>
#include <utility>

#include "aggregate_decl.hpp"
#include "doc_reader.hpp"
#include "enrich_decl.hpp"
#include "generate_decl.hpp"
#include "json_tree.hpp"
#include "millrace/core/enum_names.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/timestamp.hpp"
#include "millrace/core/values.hpp"
#include "millrace/kinds/record.hpp"
#include "millrace/kinds/registry.hpp"
#include "view_decl.hpp"

namespace millrace::kinds {

using detail::Json;

namespace {

constexpr core::EnumNames<ValueType, 8> kTypes({{ValueType::kText, "text"},
                                                {ValueType::kFreeText, "free_text"},
                                                {ValueType::kIp, "ip"},
                                                {ValueType::kUuid, "uuid"},
                                                {ValueType::kInteger, "integer"},
                                                {ValueType::kDecimal, "decimal"},
                                                {ValueType::kBoolean, "boolean"},
                                                {ValueType::kTimestamp, "timestamp"}});

// Columns every kind's table has besides its fields: the record's source.
constexpr std::array<std::string_view, 4> kSourceColumns = {"kafka_topic", "kafka_partition",
                                                            "kafka_offset", "stored_at"};

// Reads one declaration, naming where each problem is ("fields[3].type").
class Reader : public detail::DocReader {
 public:
  explicit Reader(std::string_view origin) : DocReader("kind declaration " + std::string(origin)) {}

  FieldDecl field(const Json& j, const std::string& where) const {
    only(j, where,
         {"name", "column", "type", "required", "min", "max", "min_bytes", "max_bytes", "values",
          "pii", "strings", "generate", "description"});
    FieldDecl f;
    f.name = string(need(j, "name", where), where + ".name");
    f.column = identifier(need(j, "column", where), where + ".column");
    const auto type = string(need(j, "type", where), where + ".type");
    const auto t = kTypes.parse(type);
    if (!t) {
      fail(where + ".type",
           "\"" + type + "\" is not a type (" + core::join_list(kTypes.names(), ", ") + ")");
    }
    f.type = *t;
    f.required = boolean(j.member("required"), where + ".required");
    f.pii = boolean(j.member("pii"), where + ".pii");
    // Hashed personal data is hex text: only a text column can hold it.
    if (f.pii && f.type != ValueType::kText && f.type != ValueType::kFreeText) {
      fail(where + ".pii", "applies to text and free_text fields only");
    }
    const bool numeric = f.type == ValueType::kInteger || f.type == ValueType::kDecimal;
    for (const auto bound : {"min", "max"}) {
      const Json* b = j.member(bound);
      const std::string at = where + "." + bound;
      if (b != nullptr && !numeric) fail(at, "applies to integer and decimal fields only");
      if (numeric && b == nullptr) fail(where, "an integer or decimal field needs min and max");
      if (b == nullptr) continue;
      const bool is_min = std::string_view(bound) == "min";
      if (f.type == ValueType::kInteger) {
        (is_min ? f.int_min : f.int_max) = integer(*b, at, std::numeric_limits<std::int64_t>::min(),
                                                   std::numeric_limits<std::int64_t>::max());
      } else {
        (is_min ? f.min : f.max) = decimal(*b, at);
      }
    }
    f.strings = boolean(j.member("strings"), where + ".strings");
    if (f.strings && f.type != ValueType::kDecimal) {
      fail(where + ".strings", "applies to decimal fields only");
    }
    if (f.type == ValueType::kInteger && f.int_max < f.int_min) fail(where, "max is below min");
    if (f.type == ValueType::kDecimal && *f.max < *f.min) fail(where, "max is below min");
    if (const Json* b = j.member("max_bytes")) {
      if (f.type != ValueType::kText) fail(where + ".max_bytes", "applies to text fields only");
      f.max_bytes = static_cast<std::size_t>(integer(*b, where + ".max_bytes", 1, 1 << 20));
    }
    if (const Json* b = j.member("min_bytes")) {
      if (f.type != ValueType::kText) fail(where + ".min_bytes", "applies to text fields only");
      f.min_bytes = static_cast<std::size_t>(integer(*b, where + ".min_bytes", 0, 1 << 20));
      if (f.min_bytes > f.max_bytes) {
        fail(where + ".min_bytes", "is above max_bytes (" + std::to_string(f.min_bytes) + " > " +
                                       std::to_string(f.max_bytes) + ")");
      }
    }
    if (const Json* v = j.member("values")) {
      if (f.type != ValueType::kText) fail(where + ".values", "applies to text fields only");
      f.values = strings(*v, where + ".values");
      // A value outside the bounds could never be accepted, and the
      // generator draws from `values`.
      for (const auto& value : f.values) {
        if (value.size() < f.min_bytes || value.size() > f.max_bytes) {
          fail(where + ".values", "\"" + value + "\" is not within min_bytes..max_bytes");
        }
      }
    }
    f.generate = detail::read_generate(*this, j.member("generate"), where + ".generate");
    detail::check_generate(*this, f, where + ".generate");
    return f;
  }

  std::vector<FieldDecl> fields(const Json& j, const std::string& where) const {
    if (j.type != Json::Type::kArray || j.items.empty()) {
      fail(where, "must be a non-empty array of fields");
    }
    std::vector<FieldDecl> out;
    std::set<std::string> names, columns;
    for (std::size_t i = 0; i < j.items.size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      auto f = field(j.items[i], at);
      if (!names.insert(f.name).second) fail(at, "a second field named \"" + f.name + "\"");
      if (!columns.insert(f.column).second)
        fail(at, "a second field in column \"" + f.column + "\"");
      if (std::find(kSourceColumns.begin(), kSourceColumns.end(), f.column) !=
          kSourceColumns.end()) {
        fail(at, "column \"" + f.column + "\" is reserved for the record's source");
      }
      out.push_back(std::move(f));
    }
    return out;
  }

  // A field every record has, of one of `types`, named by `member`.
  std::size_t role(const Json& root, const Declaration& d, std::string_view member,
                   std::initializer_list<ValueType> types) const {
    const std::string at(member);
    const auto name = string(need(root, member, ""), at);
    const auto i = d.find(name);
    if (!i) fail(at, "names no field (\"" + name + "\")");
    const auto& f = d.fields[*i];
    if (!f.required) fail(at, "field \"" + name + "\" must be required");
    if (std::find(types.begin(), types.end(), f.type) == types.end()) {
      fail(at, "field \"" + name + "\" has a type this role cannot take");
    }
    return *i;
  }
};

// "storage": {"partition_span": "1d", "retention": "90d"}. A span must
// tile a day, or be whole days, so that partitions align to UTC midnight as
// store_events' do (migration 0012); a retention shorter than a minute is
// refused as millrace_partitions_expire() refuses it.
StorageDecl storage(const Reader& r, const Json& s) {
  r.only(s, "storage", {"partition_span", "retention", "far_ahead", "$comment"});
  StorageDecl out;
  if (const Json* f = s.member("far_ahead")) {
    const auto v = r.string(*f, "storage.far_ahead");
    if (v != "partition" && v != "dead_letter") {
      r.fail("storage.far_ahead", "\"" + v + "\" is neither partition nor dead_letter");
    }
    out.far_ahead_dead_letter = v == "dead_letter";
  }
  const auto duration = [&](const char* member) -> std::optional<std::chrono::milliseconds> {
    const Json* j = s.member(member);
    if (j == nullptr) return std::nullopt;
    const std::string at = std::string("storage.") + member;
    try {
      return core::parse_duration(r.string(*j, at));
    } catch (const std::invalid_argument& e) {
      r.fail(at, e.what());
    }
  };
  if (const auto span = duration("partition_span")) {
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(*span);
    const auto m = minutes.count();
    if (minutes != *span || m < 1 || m > 1440 * 31 || (1440 % m != 0 && m % 1440 != 0)) {
      r.fail("storage.partition_span",
             "must be whole minutes that divide a day (1m .. 1d) or whole days up to 31d, got \"" +
                 std::string(s.member("partition_span")->text) + "\"");
    }
    out.partition_span = minutes;
  }
  if (const auto keep = duration("retention")) {
    if (*keep < std::chrono::minutes(1)) {
      r.fail("storage.retention",
             "keep at least a minute (1m); leave retention out to keep every "
             "record, got \"" +
                 std::string(s.member("retention")->text) + "\"");
    }
    out.retention = keep;
  }
  return out;
}

constexpr core::EnumNames<KeepCondition::Op, 6> kOps({{KeepCondition::Op::kGt, "gt"},
                                                      {KeepCondition::Op::kGe, "ge"},
                                                      {KeepCondition::Op::kLt, "lt"},
                                                      {KeepCondition::Op::kLe, "le"},
                                                      {KeepCondition::Op::kIn, "in"},
                                                      {KeepCondition::Op::kNotIn, "not_in"}});

// "keep": [{"field": "discount", "gt": 20, "reason": "..."}, ...].
std::vector<KeepCondition> keep_rule(const Reader& r, const Json& k, const Declaration& d) {
  if (k.type != Json::Type::kArray) r.fail("keep", "must be an array of conditions");
  std::vector<KeepCondition> out;
  for (std::size_t i = 0; i < k.items.size(); ++i) {
    const std::string at = "keep[" + std::to_string(i) + "]";
    const Json& c = k.items[i];
    r.only(c, at, {"field", "gt", "ge", "lt", "le", "in", "not_in", "reason", "$comment"});
    KeepCondition cond;
    const auto name = r.string(r.need(c, "field", at), at + ".field");
    const auto field = d.find(name);
    if (!field) r.fail(at + ".field", "names no field of the record (\"" + name + "\")");
    cond.field = *field;
    const FieldDecl& f = d.fields[*field];
    const Json* value = nullptr;
    std::string op;
    for (const auto& op_text : kOps.names()) {
      if (const Json* j = c.member(op_text)) {
        if (value != nullptr) r.fail(at, "holds more than one operator");
        value = j;
        op = op_text;
        cond.op = *kOps.parse(op_text);
      }
    }
    if (value == nullptr) r.fail(at, "needs one operator: gt, ge, lt, le, in or not_in");
    const std::string where = at + "." + std::string(op);
    const bool list = cond.op == KeepCondition::Op::kIn || cond.op == KeepCondition::Op::kNotIn;
    const auto refuse_op = [&] {
      r.fail(where, "field \"" + name + "\" is " + std::string(type_name(f.type)) +
                        ", which cannot take " + std::string(op) +
                        " (gt, ge, lt, le: integer, decimal, timestamp; in, not_in: text)");
    };
    switch (f.type) {
      case ValueType::kInteger:
        if (list) refuse_op();
        cond.integer = r.integer(*value, where, std::numeric_limits<std::int64_t>::min(),
                                 std::numeric_limits<std::int64_t>::max());
        break;
      case ValueType::kDecimal:
        if (list) refuse_op();
        cond.decimal = r.decimal(*value, where);
        break;
      case ValueType::kTimestamp: {
        if (list) refuse_op();
        const auto ts =
            value->type == Json::Type::kString ? core::parse_timestamp(value->text) : std::nullopt;
        if (!ts) r.fail(where, "must be an RFC 3339 timestamp, as a string");
        cond.integer = *ts;
        break;
      }
      case ValueType::kText:
        if (!list) refuse_op();
        cond.values = r.strings(*value, where);
        break;
      default:
        refuse_op();
    }
    cond.reason = f.column + "_not_kept";
    if (const Json* reason = c.member("reason"))
      cond.reason = r.identifier(*reason, at + ".reason");
    out.push_back(std::move(cond));
  }
  return out;
}

}  // namespace

std::string_view type_name(ValueType type) {
  return kTypes.name(type);
}

std::string_view op_name(KeepCondition::Op op) {
  return kOps.name(op);
}

std::optional<std::size_t> Declaration::find(std::string_view name) const {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return i;
  }
  return std::nullopt;
}

Declaration parse_declaration(std::string_view json, std::string_view origin) {
  const Reader r(origin);
  std::string error;
  const auto root = detail::parse_json(json, error);
  if (!root) r.fail("", "not JSON: " + error);
  r.only(*root, "",
         {"$comment", "kind", "description", "topic", "table", "codec", "identity", "time",
          "type_header", "fields", "lines", "aggregate", "views", "storage", "resends", "keep",
          "enrich"});
  Declaration d;
  d.kind = r.identifier(r.need(*root, "kind", ""), "kind");
  if (const Json* desc = root->member("description"))
    d.description = r.string(*desc, "description");
  const Json& topic = r.need(*root, "topic", "");
  r.only(topic, "topic", {"name", "env", "partitions"});
  d.topic = r.string(r.need(topic, "name", "topic"), "topic.name");
  d.topic_env = r.string(r.need(topic, "env", "topic"), "topic.env");
  if (d.topic_env.rfind("MILLRACE_", 0) != 0) r.fail("topic.env", "must start with MILLRACE_");
  d.partitions = static_cast<std::int32_t>(
      r.integer(r.need(topic, "partitions", "topic"), "topic.partitions", 1, 10'000));
  d.table = r.identifier(r.need(*root, "table", ""), "table");
  if (const Json* codec = root->member("codec")) {
    d.codec = r.string(*codec, "codec");
    try {
      find_codec(d.codec);
    } catch (const core::UsageError& e) {
      r.fail("codec", e.what());
    }
  }
  d.fields = r.fields(r.need(*root, "fields", ""), "fields");
  d.identity = r.role(*root, d, "identity", {ValueType::kText, ValueType::kUuid});
  d.time = r.role(*root, d, "time", {ValueType::kTimestamp});
  if (const Json* t = root->member("type_header")) {
    const auto name = r.string(*t, "type_header");
    const auto i = d.find(name);
    if (!i || d.fields[*i].type != ValueType::kText || d.fields[*i].values.empty()) {
      r.fail("type_header", "\"" + name + "\" is not a text field with values");
    }
    d.type_header = i;
  }
  if (const Json* lines = root->member("lines")) {
    r.only(
        *lines, "lines",
        {"name", "table", "number_column", "min_items", "max_items", "generate_items", "fields"});
    LinesDecl l;
    l.name = r.string(r.need(*lines, "name", "lines"), "lines.name");
    if (d.find(l.name)) r.fail("lines.name", "\"" + l.name + "\" is also a field's name");
    l.table = r.identifier(r.need(*lines, "table", "lines"), "lines.table");
    if (l.table == d.table) r.fail("lines.table", "must differ from the record's table");
    l.number_column = r.identifier(r.need(*lines, "number_column", "lines"), "lines.number_column");
    l.min_items = static_cast<std::size_t>(
        r.integer(r.need(*lines, "min_items", "lines"), "lines.min_items", 0, 100'000));
    l.max_items = static_cast<std::size_t>(
        r.integer(r.need(*lines, "max_items", "lines"), "lines.max_items", 1, 100'000));
    if (l.max_items < l.min_items) r.fail("lines", "max_items is below min_items");
    if (const Json* g = lines->member("generate_items")) {
      if (g->type != Json::Type::kArray || g->items.size() != 2) {
        r.fail("lines.generate_items", "must be [low, high]");
      }
      l.generate_min = static_cast<std::size_t>(r.integer(g->items[0], "lines.generate_items",
                                                          static_cast<std::int64_t>(l.min_items),
                                                          static_cast<std::int64_t>(l.max_items)));
      l.generate_max = static_cast<std::size_t>(r.integer(g->items[1], "lines.generate_items",
                                                          static_cast<std::int64_t>(l.generate_min),
                                                          static_cast<std::int64_t>(l.max_items)));
    } else {
      l.generate_min = std::max<std::size_t>(l.min_items, 1);
      l.generate_max = std::min<std::size_t>(l.max_items, l.generate_min + 3);
    }
    l.fields = r.fields(r.need(*lines, "fields", "lines"), "lines.fields");
    // A line's row also holds its record's identity and its number.
    for (const auto& f : l.fields) {
      if (f.column == d.identity_field().column || f.column == l.number_column ||
          f.column == d.time_field().column) {
        r.fail("lines.fields",
               "column \"" + f.column + "\" is the record's identity, its time or the line number");
      }
    }
    d.lines = std::move(l);
  }
  // The generator's rules name fields that must exist. copy_of fills a
  // line from its record, sum_of_lines a record from its lines.
  detail::check_generate_sources(r, d);
  for (const auto& f : d.fields) {
    if (f.generate.rule == GenerateHint::Rule::kCopyOf) {
      r.fail("fields", "\"" + f.name + "\": copy_of applies to line fields only");
    }
    if (f.generate.rule == GenerateHint::Rule::kSumOfLines) {
      if (!d.lines || f.type != ValueType::kDecimal) {
        r.fail("fields", "\"" + f.name + "\": sum_of_lines needs lines and a decimal field");
      }
      for (const auto& of : f.generate.of) {
        const auto l = std::find_if(d.lines->fields.begin(), d.lines->fields.end(),
                                    [&](const FieldDecl& line) { return line.name == of; });
        if (l == d.lines->fields.end()) {
          r.fail("fields", "\"" + f.name + "\": sum_of_lines names no line field " + of);
        }
        if (l->type != ValueType::kInteger && l->type != ValueType::kDecimal) {
          r.fail("fields", "\"" + f.name + "\": sum_of_lines multiplies numbers, and line field " +
                               of + " is " + std::string(type_name(l->type)));
        }
      }
    }
  }
  if (d.lines) {
    for (const auto& f : d.lines->fields) {
      if (f.generate.rule == GenerateHint::Rule::kSumOfLines) {
        r.fail("lines.fields", "\"" + f.name + "\": sum_of_lines applies to record fields only");
      }
      if (f.generate.rule == GenerateHint::Rule::kCopyOf) {
        const auto from = d.find(f.generate.of[0]);
        if (!from) {
          r.fail("lines.fields", "\"" + f.name + "\": copy_of names no field " + f.generate.of[0]);
        }
        if (d.fields[*from].type != f.type) {
          r.fail("lines.fields", "\"" + f.name + "\": copy_of names field " + f.generate.of[0] +
                                     " of another type");
        }
      }
    }
  }
  // Before the views: a view may group by the catalog, through the sku.
  if (const Json* e = root->member("enrich")) detail::read_enrichment(r, *e, d);
  if (const Json* a = root->member("aggregate")) d.aggregate = detail::parse_aggregate(r, *a, d);
  if (const Json* v = root->member("views")) d.views = detail::parse_views(r, *v, d);
  if (const Json* s = root->member("storage")) d.storage = storage(r, *s);
  if (const Json* s = root->member("resends")) {
    const auto v = r.string(*s, "resends");
    if (v != "registry" && v != "table_key") {
      r.fail("resends", "\"" + v + "\" is neither registry nor table_key");
    }
    d.resends = v == "table_key" ? Resends::kTableKey : Resends::kRegistry;
  }
  if (const Json* k = root->member("keep")) d.keep = keep_rule(r, *k, d);
  return d;
}

}  // namespace millrace::kinds
