#include "wire.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json_members.hpp"
#include "millrace/core/enum_names.hpp"

namespace millrace::webhooks::detail {

namespace {

std::string_view member_string(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return {};
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

// A key value in a subject: its text ('/' and '%' percent-encoded, so each
// value stays one path segment).
void append_segment(std::string& out, const rapidjson::Value& v) {
  std::string text;
  if (v.IsString()) {
    text.assign(v.GetString(), v.GetStringLength());
  } else {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    v.Accept(w);
    text.assign(b.GetString(), b.GetSize());
  }
  out += '/';
  for (const char c : text) {
    if (c == '/') {
      out += "%2F";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
}

// The end of the JSON string that starts at `at` (its opening quote), past
// its closing quote; npos when it does not end.
std::size_t string_end(std::string_view s, std::size_t at) {
  if (at >= s.size() || s[at] != '"') return std::string_view::npos;
  for (std::size_t i = at + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

std::string cloudevent_json(const EventAttributes& a, std::string_view data) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  w.StartObject();
  string_member(w, "specversion", "1.0");
  string_member(w, "id", a.id);
  string_member(w, "source", a.source);
  string_member(w, "type", a.type);
  string_member(w, "subject", a.subject);
  string_member(w, "time", a.time);
  string_member(w, "datacontenttype", "application/json");
  string_member(w, "dataschema", kDataSchema);
  w.Key("data");
  // As stored: numbers keep every digit PostgreSQL printed.
  w.RawValue(data.data(), data.size(), rapidjson::kObjectType);
  w.EndObject();
  return {b.GetString(), b.GetSize()};
}

}  // namespace

std::optional<Format> format_named(std::string_view name) {
  static constexpr core::EnumNames<Format, 3> kNames(
      {{Format::kStandard, "standard"},
       {Format::kCloudEventsStructured, "cloudevents-structured"},
       {Format::kCloudEventsBinary, "cloudevents-binary"}});
  return kNames.parse(name);
}

namespace {

// Each operation of a change record, its word and its CloudEvents type.
struct OpNames {
  std::string_view op, word, type;
};
constexpr OpNames kOps[] = {
    {"c", "created", "com.millrace.row.created"},
    {"u", "updated", "com.millrace.row.updated"},
    {"d", "deleted", "com.millrace.row.deleted"},
    {"r", "snapshot", "com.millrace.row.snapshot"},
    {"t", "truncated", "com.millrace.table.truncated"},
    {"e", "backfilled", "com.millrace.table.backfilled"},
    {"g", "gap", "com.millrace.table.gap"},
};

const OpNames* find_op(std::string_view op) {
  for (const auto& o : kOps) {
    if (o.op == op) return &o;
  }
  return nullptr;
}

}  // namespace

std::string_view op_word(std::string_view op) {
  const auto* o = find_op(op);
  return o == nullptr ? std::string_view() : o->word;
}

std::string_view event_type(std::string_view op) {
  const auto* o = find_op(op);
  return o == nullptr ? std::string_view() : o->type;
}

EventAttributes attributes_of(const rapidjson::Value& change, std::string_view source_prefix) {
  EventAttributes a;
  a.id = member_string(change, "id");
  const auto table = member_string(change, "table");
  a.source.assign(source_prefix).append("/").append(table);
  a.type = event_type(member_string(change, "op"));
  a.subject = table;
  if (change.IsObject()) {
    const auto key = change.FindMember("key");
    if (key != change.MemberEnd() && key->value.IsObject()) {
      for (const auto& m : key->value.GetObject()) append_segment(a.subject, m.value);
    }
    const auto source = change.FindMember("source");
    if (source != change.MemberEnd()) a.time = member_string(source->value, "commit_time");
  }
  return a;
}

std::optional<std::string_view> standard_data(std::string_view body) {
  // {"type":"...","timestamp":"...","data":...}, as read_change() writes it.
  constexpr std::string_view kType = "{\"type\":";
  constexpr std::string_view kTimestamp = ",\"timestamp\":";
  constexpr std::string_view kData = ",\"data\":";
  if (!body.starts_with(kType) || !body.ends_with("}")) return std::nullopt;
  std::size_t at = string_end(body, kType.size());
  if (at == std::string_view::npos || body.substr(at, kTimestamp.size()) != kTimestamp) {
    return std::nullopt;
  }
  at = string_end(body, at + kTimestamp.size());
  if (at == std::string_view::npos || body.substr(at, kData.size()) != kData) return std::nullopt;
  at += kData.size();
  if (at >= body.size() - 1) return std::nullopt;
  return body.substr(at, body.size() - 1 - at);
}

std::string header_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c > 0x7E || c == '"' || c == '%') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += ch;
    }
  }
  return out;
}

Wire render(Format format, std::string_view stored_body, std::string_view source_prefix) {
  Wire wire;
  const auto data = format == Format::kStandard ? std::nullopt : standard_data(stored_body);
  if (!data) {
    wire.headers.emplace_back("content-type", "application/json");
    wire.body = stored_body;
    return wire;
  }
  rapidjson::Document change;
  change.Parse<rapidjson::kParseNumbersAsStringsFlag>(data->data(), data->size());
  const auto a = attributes_of(change, source_prefix);
  if (format == Format::kCloudEventsStructured) {
    wire.headers.emplace_back("content-type", "application/cloudevents+json; charset=utf-8");
    wire.body = cloudevent_json(a, *data);
    return wire;
  }
  wire.headers = {
      {"content-type", "application/json"}, {"ce-specversion", "1.0"},
      {"ce-id", header_value(a.id)},        {"ce-source", header_value(a.source)},
      {"ce-type", header_value(a.type)},    {"ce-subject", header_value(a.subject)},
      {"ce-time", header_value(a.time)},    {"ce-dataschema", std::string(kDataSchema)}};
  wire.body = *data;
  return wire;
}

}  // namespace millrace::webhooks::detail
