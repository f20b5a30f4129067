#include "debezium_tables.hpp"

#include <string>
#include <string_view>
#include <utility>

#include "millrace/changefeed/debezium.hpp"
#include "millrace/core/json_string.hpp"

namespace millrace::changefeed::debezium {

namespace {

// The envelope's fields after "source".
constexpr std::string_view kEnvelopeTail =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},)"
    R"({"type":"int64","optional":false,"field":"total_order"},)"
    R"({"type":"int64","optional":false,"field":"data_collection_order"}],)"
    R"("optional":true,"name":"event.block","version":1,"field":"transaction"},)"
    R"({"type":"string","optional":false,"field":"op"},)"
    R"({"type":"int64","optional":true,"field":"ts_ms"},)"
    R"({"type":"int64","optional":true,"field":"ts_us"},)"
    R"({"type":"int64","optional":true,"field":"ts_ns"})";

bool is_valid_topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

TableCodec make_table_codec(const Options& options, TableFactsPort& facts_port,
                            const std::shared_ptr<const Relation>& relation) {
  const auto facts = facts_port.facts(*relation);
  TableCodec t;
  t.relation = relation;
  t.source_table = source_table_fields(relation->schema, relation->name);
  t.topic = options.topic_per_table ? table_topic(options.prefix, *relation) : options.prefix;
  const std::string name = options.prefix + "." + relation->schema + "." + relation->name;
  for (const auto& column : relation->columns) {
    const ColumnFacts* f = nullptr;
    if (facts) {
      const auto found = facts->columns.find(column.name);
      if (found != facts->columns.end()) f = &found->second;
    }
    t.columns.push_back(codec_for(column.type_oid, column.type_modifier, options.decimal,
                                  f != nullptr ? &f->enum_labels : nullptr));
    t.optional.push_back(f == nullptr || !f->not_null);
    std::optional<std::string> dflt;
    if (f != nullptr && f->default_expression) {
      if (const auto constant = default_constant(*f->default_expression)) {
        std::string json;
        try {
          append_value(json, t.columns.back(), *constant);
          dflt = std::move(json);
        } catch (const DecodeError&) {
          // A constant this encoding cannot read: no default, as Debezium.
        }
      }
    }
    t.defaults.push_back(std::move(dflt));
    std::string& field = t.fields.emplace_back();
    core::append_json_string(field, column.name);
    field += ':';
  }
  if (facts) {
    for (const auto& name : facts->primary_key) {
      for (std::size_t i = 0; i < relation->columns.size(); ++i) {
        if (relation->columns[i].name == name) t.key.push_back(i);
      }
    }
    // A key column pgoutput does not send (generated): no key at all.
    if (t.key.size() != facts->primary_key.size()) t.key.clear();
  }
  // The key schema is built at the first row, from the change's key columns.
  std::string fields;
  for (std::size_t i = 0; i < relation->columns.size(); ++i) {
    if (i != 0) fields += ',';
    append_field_schema(fields, t.columns[i], relation->columns[i].name, t.optional[i],
                        t.defaults[i] ? &*t.defaults[i] : nullptr);
  }
  const auto row_schema = [&](std::string_view field) {
    std::string s = "{\"type\":\"struct\",\"fields\":[" + fields + "],\"optional\":true,\"name\":";
    core::append_json_string(s, name + ".Value");
    s += ",\"field\":\"";
    s += field;
    s += "\"}";
    return s;
  };
  t.value_schema = "{\"type\":\"struct\",\"fields\":[" + row_schema("before") + "," +
                   row_schema("after") + "," + std::string(kSourceSchema) + "," +
                   std::string(kEnvelopeTail) + "],\"optional\":false,\"name\":";
  core::append_json_string(t.value_schema, name + ".Envelope");
  t.value_schema += ",\"version\":2}";
  return t;
}

std::string source_table_fields(const std::string& schema, const std::string& name) {
  std::string s = ",\"schema\":";
  core::append_json_string(s, schema);
  s += ",\"table\":";
  core::append_json_string(s, name);
  s += ",\"txId\":";
  return s;
}

std::string make_key_schema(const TableCodec& t, const std::string& prefix) {
  std::string s = "{\"type\":\"struct\",\"fields\":[";
  bool first = true;
  for (const std::size_t i : t.key) {
    if (!first) s += ',';
    first = false;
    append_field_schema(s, t.columns[i], t.relation->columns[i].name, false, nullptr);
  }
  s += "],\"optional\":false,\"name\":";
  core::append_json_string(s, prefix + "." + t.relation->schema + "." + t.relation->name + ".Key");
  s += '}';
  return s;
}

std::optional<std::string> default_constant(std::string_view e) {
  // "::" and a type's name ("character varying", "public.mood", "integer[]"),
  // nothing else: no operator, no second literal.
  const auto type_name = [](std::string_view s) {
    if (s.substr(0, 2) != "::" || s.size() == 2) return false;
    for (const char c : s.substr(2)) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == ' ' || c == '_' || c == '.' || c == '"' || c == '[' || c == ']';
      if (!ok) return false;
    }
    return true;
  };
  // Casts at the end: 'x'::text, '7'::integer, 0::numeric, 'a'::character varying.
  const auto strip_cast = [&type_name](std::string_view s) {
    // The cast of a quoted literal follows its closing quote.
    if (!s.empty() && s.front() == '\'') {
      std::size_t i = 1;
      while (i < s.size()) {
        if (s[i] == '\'' && i + 1 < s.size() && s[i + 1] == '\'') {
          i += 2;
        } else if (s[i] == '\'') {
          break;
        } else {
          ++i;
        }
      }
      if (i >= s.size()) return std::string_view();
      const std::string_view rest = s.substr(i + 1);
      if (!rest.empty() && !type_name(rest)) return std::string_view();
      return s.substr(0, i + 1);
    }
    const auto cast = s.find("::");
    if (cast == std::string_view::npos) return s;
    return type_name(s.substr(cast)) ? s.substr(0, cast) : std::string_view();
  };
  std::string_view s = strip_cast(e);
  if (s.size() >= 2 && s.front() == '(' && s.back() == ')')
    s = strip_cast(s.substr(1, s.size() - 2));
  if (s.empty()) return std::nullopt;
  if (s.front() == '\'') {
    std::string out;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
      out += s[i];
      if (s[i] == '\'') ++i;  // '' is one quote
    }
    return out;
  }
  if (s == "true" || s == "false") return std::string(s == "true" ? "t" : "f");
  std::size_t i = s.front() == '-' ? 1 : 0;
  bool digit = false;
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9') {
      digit = true;
    } else if (s[i] != '.') {
      return std::nullopt;
    }
  }
  if (!digit) return std::nullopt;
  return std::string(s);
}

std::string table_topic(const std::string& prefix, const Relation& relation) {
  std::string topic = prefix + "." + relation.schema + "." + relation.name;
  for (auto& c : topic) {
    if (!is_valid_topic_char(c)) c = '_';
  }
  return topic;
}

}  // namespace millrace::changefeed::debezium
