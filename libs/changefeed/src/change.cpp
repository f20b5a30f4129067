#include "millrace/changefeed/change.hpp"

#include <charconv>
#include <cstdint>
#include <string_view>

#include "millrace/core/json_string.hpp"
#include "millrace/core/timestamp.hpp"
#include "pg_text.hpp"

namespace millrace::changefeed {

namespace {

// Built-in type OIDs (pg_type.dat), the ones with a JSON form of their own.
constexpr Oid kBool = 16;
constexpr Oid kInt8 = 20;
constexpr Oid kInt2 = 21;
constexpr Oid kInt4 = 23;
constexpr Oid kOid = 26;
constexpr Oid kJson = 114;
constexpr Oid kFloat4 = 700;
constexpr Oid kFloat8 = 701;
constexpr Oid kNumeric = 1700;
constexpr Oid kJsonb = 3802;

}  // namespace

void append_json_value(std::string& out, const Column& column, const Value& value) {
  switch (value.kind) {
    case Value::Kind::kNull:
      out += "null";
      return;
    case Value::Kind::kUnchanged:
      throw DecodeError("an unchanged TOASTed value has no JSON form");
    case Value::Kind::kBinary:
      throw DecodeError("column " + column.name +
                        " came in binary format, which the change feed does not ask for");
    case Value::Kind::kText:
      break;
  }
  const std::string& text = value.data;
  switch (column.type_oid) {
    case kBool:
      out += text == "t" ? "true" : "false";
      return;
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid:
    case kFloat4:
    case kFloat8:
    case kNumeric:
      if (pgtext::is_json_number(text)) {
        out += text;
      } else {
        core::append_json_string(out, text);
      }
      return;
    case kJson:
    case kJsonb:
      out += text;
      return;
    default:
      core::append_json_string(out, text);
  }
}

namespace {

void check_width(const Relation& relation, const Tuple& tuple) {
  if (tuple.size() != relation.columns.size()) {
    throw DecodeError("a row of " + relation.schema + "." + relation.name + " with " +
                      std::to_string(tuple.size()) + " column(s), but the relation has " +
                      std::to_string(relation.columns.size()));
  }
}

// {"col":value,...} over `columns` (all when empty), leaving out unchanged
// TOASTed values.
void append_row(std::string& out, const Relation& relation, const Tuple& tuple,
                const std::vector<std::size_t>* only) {
  check_width(relation, tuple);
  out += '{';
  bool first = true;
  const auto put = [&](std::size_t i) {
    if (tuple[i].kind == Value::Kind::kUnchanged) return;
    if (!first) out += ',';
    first = false;
    core::append_json_string(out, relation.columns[i].name);
    out += ':';
    append_json_value(out, relation.columns[i], tuple[i]);
  };
  if (only != nullptr) {
    for (const std::size_t i : *only) put(i);
  } else {
    for (std::size_t i = 0; i < tuple.size(); ++i) put(i);
  }
  out += '}';
}

// "schema.name", written in its two parts (the escapes are per character).
void append_table(std::string& out, const Relation& relation) {
  out += '"';
  core::append_json_chars(out, relation.schema);
  out += '.';
  core::append_json_chars(out, relation.name);
  out += '"';
}

// The row the key is read from: the new one, else the old row, else the old key.
const Tuple* key_source(const Change& change) {
  if (change.after) return &*change.after;
  if (change.before) return &*change.before;
  if (change.old_key) return &*change.old_key;
  return nullptr;
}

void append_key(std::string& out, const Change& change) {
  const Tuple* row = key_source(change);
  if (row == nullptr) throw DecodeError("a change with no row to take its key from");
  append_row(out, *change.relation, *row, &change.key_columns);
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[20];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[20];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// `digits` upper-case hexadecimal digits of `v`, zero-padded (printf's %0*X).
void append_hex(std::string& out, std::uint64_t v, int digits) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kDigits[(v >> shift) & 0xF];
}

void append_id(std::string& out, const Source& source) {
  append_hex(out, source.commit_lsn, 16);
  out += '-';
  append_hex(out, source.seq, 8);
}

// {"table":..,"key":{..}}; `key`, the key columns' object, or empty for none.
void append_kafka_key(std::string& out, const Change& change, std::string_view key) {
  out += "{\"table\":";
  append_table(out, *change.relation);
  if (has_key(change.op)) {
    out += ",\"key\":";
    out += key;
  }
  out += '}';
}

// to_json(), its key columns' object already written (`key`; empty when
// the op has none).
void append_change(std::string& out, const Change& change, std::string_view id,
                   std::string_view key) {
  const Relation& relation = *change.relation;
  out += "{\"id\":";
  core::append_json_string(out, id);
  out += ",\"op\":\"";
  out += static_cast<char>(change.op);
  out += "\",\"table\":";
  append_table(out, relation);
  if (has_key(change.op)) {
    out += ",\"key\":";
    out += key;
  }
  out += ",\"before\":";
  if (change.before) {
    append_row(out, relation, *change.before, nullptr);
  } else if (change.old_key) {
    append_row(out, relation, *change.old_key, &change.key_columns);
  } else {
    out += "null";
  }
  out += ",\"after\":";
  if (change.after) {
    append_row(out, relation, *change.after, nullptr);
    bool any = false;
    for (std::size_t i = 0; i < change.after->size(); ++i) {
      if ((*change.after)[i].kind != Value::Kind::kUnchanged) continue;
      out += any ? "," : ",\"unchanged\":[";
      any = true;
      core::append_json_string(out, relation.columns[i].name);
    }
    if (any) out += ']';
  } else {
    out += "null";
  }
  if (change.marker && change.op == Op::kBackfillEnd) {
    out += ",\"backfill\":{\"id\":";
    append_int(out, change.source.backfill);
    out += ",\"rows\":";
    append_uint(out, change.marker->rows);
    if (!change.marker->where.empty()) {
      out += ",\"where\":";
      core::append_json_string(out, change.marker->where);
    }
    out += '}';
  }
  if (change.marker && change.op == Op::kGap) {
    out += ",\"gap\":{\"from_lsn\":\"";
    append_lsn(out, change.marker->gap_from);
    out += "\",\"to_lsn\":\"";
    append_lsn(out, change.marker->gap_to);
    out += '"';
    if (change.source.backfill != 0) {
      out += ",\"backfill\":";
      append_int(out, change.source.backfill);
    }
    out += '}';
  }
  const Source& s = change.source;
  out += ",\"source\":{\"lsn\":\"";
  append_lsn(out, s.commit_lsn);
  out += "\",\"xid\":";
  append_uint(out, s.xid);
  out += ",\"commit_time\":\"";
  char time[core::kTimestampTextMax];
  out.append(time, core::format_timestamp_to(time, unix_us_from_pg(s.commit_time_pg_us)));
  out += "\",\"seq\":";
  append_uint(out, s.seq);
  if (s.change_lsn != 0) {
    out += ",\"change_lsn\":\"";
    append_lsn(out, s.change_lsn);
    out += '"';
  }
  if (s.backfill != 0) {
    out += ",\"backfill\":";
    append_int(out, s.backfill);
  }
  if (!s.audience.empty()) {
    out += ",\"for\":";
    core::append_json_string(out, s.audience);
  }
  out += "}}";
}

// The key columns' object, or nothing for an op without a key.
std::string key_object(const Change& change) {
  std::string key;
  if (has_key(change.op)) append_key(key, change);
  return key;
}

}  // namespace

std::string change_id(const Source& source) {
  std::string out;
  append_id(out, source);
  return out;
}

std::string kafka_key(const Change& change) {
  std::string out;
  append_kafka_key(out, change, key_object(change));
  return out;
}

std::string to_json(const Change& change, const std::string& id) {
  std::string out;
  out.reserve(256);
  append_change(out, change, id, key_object(change));
  return out;
}

void encode_change(const Change& change, std::string& id, std::string& key, std::string& value) {
  const std::string columns = key_object(change);  // written once, for both
  id.clear();
  append_id(id, change.source);
  key.clear();
  append_kafka_key(key, change, columns);
  // The row's values and names, and about 200 bytes of the rest.
  std::size_t size = 256 + columns.size();
  if (change.after) {
    for (const auto& v : *change.after) size += v.data.size() + 8;
  }
  value.clear();
  value.reserve(size);
  append_change(value, change, id, columns);
}

}  // namespace millrace::changefeed
