#include "millrace/changefeed/change.hpp"

#include <cstdio>

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

void append_table(std::string& out, const Relation& relation) {
  core::append_json_string(out, relation.schema + "." + relation.name);
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

}  // namespace

std::string change_id(const Source& source) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%016llX-%08X",
                              static_cast<unsigned long long>(source.commit_lsn), source.seq);
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string kafka_key(const Change& change) {
  std::string out = "{\"table\":";
  append_table(out, *change.relation);
  if (has_key(change.op)) {
    out += ",\"key\":";
    append_key(out, change);
  }
  out += '}';
  return out;
}

std::string to_json(const Change& change, const std::string& id) {
  const Relation& relation = *change.relation;
  std::string out;
  out.reserve(256);
  out += "{\"id\":";
  core::append_json_string(out, id);
  out += ",\"op\":\"";
  out += static_cast<char>(change.op);
  out += "\",\"table\":";
  append_table(out, relation);
  if (has_key(change.op)) {
    out += ",\"key\":";
    append_key(out, change);
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
    out += ",\"backfill\":{\"id\":" + std::to_string(change.source.backfill) +
           ",\"rows\":" + std::to_string(change.marker->rows);
    if (!change.marker->where.empty()) {
      out += ",\"where\":";
      core::append_json_string(out, change.marker->where);
    }
    out += '}';
  }
  if (change.marker && change.op == Op::kGap) {
    out += ",\"gap\":{\"from_lsn\":\"" + format_lsn(change.marker->gap_from) + "\",\"to_lsn\":\"" +
           format_lsn(change.marker->gap_to) + "\"";
    if (change.source.backfill != 0) {
      out += ",\"backfill\":" + std::to_string(change.source.backfill);
    }
    out += '}';
  }
  const Source& s = change.source;
  out += ",\"source\":{\"lsn\":\"" + format_lsn(s.commit_lsn) +
         "\",\"xid\":" + std::to_string(s.xid) + ",\"commit_time\":\"" +
         core::format_timestamp(unix_us_from_pg(s.commit_time_pg_us)) +
         "\",\"seq\":" + std::to_string(s.seq);
  if (s.change_lsn != 0) out += ",\"change_lsn\":\"" + format_lsn(s.change_lsn) + "\"";
  if (s.backfill != 0) out += ",\"backfill\":" + std::to_string(s.backfill);
  if (!s.audience.empty()) {
    out += ",\"for\":";
    core::append_json_string(out, s.audience);
  }
  out += "}}";
  return out;
}

}  // namespace millrace::changefeed
