#include "millrace/changefeed/debezium.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "debezium_tables.hpp"
#include "debezium_transaction.hpp"
#include "debezium_types.hpp"
#include "millrace/core/base64.hpp"
#include "millrace/core/json_string.hpp"

// The records of each change (RecordFormat): the envelope, its key, its
// source block and a marker's logical message. A table's codec and schemas:
// debezium_tables.cpp; a column's: debezium_types.cpp, debezium_values.cpp.

namespace millrace::changefeed::debezium {

namespace {

using namespace std::string_view_literals;

constexpr std::string_view kMessagePrefix = "millrace";
constexpr std::string_view kSourceTail = R"(,"xmin":null,"origin":null,"origin_lsn":null})";

// A source block but for its change's LSN, which it holds twice: what one
// transaction's changes to one table share, written once for all of them
// (its numbers, names and escapes were a quarter of a record's encoding).
// A record's block is head, the LSN, mid, the LSN and kSourceTail.
struct SourceText {
  const void* table = nullptr;  // the TableCodec it was written for; nullptr: none
  Lsn commit_lsn = 0;
  std::uint32_t xid = 0;
  std::int64_t commit_time_pg_us = 0;
  bool incremental = false;
  std::string head;  // {"version":..,"sequence":"[\"<commit LSN>\",\"
  std::string mid;   // \"]","ts_us":..,"txId":<xid>,"lsn":
};

class DebeziumFormat final : public RecordFormat {
 public:
  DebeziumFormat(Options options, TableFactsPort& facts, NowUs now)
      : options_(std::move(options)), facts_(facts), now_(std::move(now)) {
    // What every source block starts with, and its database: written once.
    source_head_ = "{\"version\":";
    core::append_json_string(source_head_, options_.version);
    source_head_ += ",\"connector\":\"postgresql\",\"name\":";
    core::append_json_string(source_head_, options_.prefix);
    source_head_ += ",\"ts_ms\":";
    core::append_json_string(source_db_, options_.database);
  }

  void encode(const Change& change, std::vector<OutRecord>& out) override {
    const TableCodec& table = codec(change.relation);
    const std::string id = change_id(change.source);
    switch (change.op) {
      case Op::kCreate:
      case Op::kRead:
        out.push_back(record(table, change, id, change.op == Op::kCreate ? 'c' : 'r', nullptr,
                             &*change.after, key_of(table, &*change.after)));
        return;
      case Op::kUpdate:
        update(table, change, id, out);
        return;
      case Op::kDelete: {
        const Tuple* old = old_row(change);
        auto key = key_of(table, old);
        out.push_back(record(table, change, id, 'd', old, nullptr, key));
        if (options_.tombstones) out.push_back(tombstone(table, id, std::move(key), {}));
        return;
      }
      case Op::kTruncate:
        if (!options_.truncates) return;
        out.push_back(record(table, change, id, 't', nullptr, nullptr, std::nullopt));
        return;
      case Op::kBackfillEnd:
      case Op::kGap:
        out.push_back(message(change, id));
        return;
    }
  }

  void begin(const Transaction& tx, std::vector<OutRecord>& out) override {
    tx_.reset();
    if (!options_.transaction_metadata) return;
    // Only transactions of the stream: a backfill's chunk has no transaction.
    const bool streamed = std::any_of(tx.changes.begin(), tx.changes.end(), [](const Change& c) {
      return c.op == Op::kCreate || c.op == Op::kUpdate || c.op == Op::kDelete ||
             c.op == Op::kTruncate;
    });
    if (!streamed) return;
    tx_.emplace();
    tx_->id = std::to_string(tx.xid) + ":" + std::to_string(tx.commit_lsn);
    tx_->commit_ms = floor_div(unix_us_from_pg(tx.commit_time_pg_us), 1000);
    out.push_back(transaction_record(options_, *tx_, "BEGIN"));
  }

  void end(const Transaction&, std::vector<OutRecord>& out) override {
    if (!tx_) return;
    out.push_back(transaction_record(options_, *tx_, "END"));
    tx_.reset();
  }

 private:
  static const Tuple* old_row(const Change& change) {
    if (change.before) return &*change.before;
    if (change.old_key) return &*change.old_key;
    return nullptr;
  }

  const TableCodec& codec(const std::shared_ptr<const Relation>& relation) {
    const auto it = tables_.find(relation.get());
    if (it != tables_.end()) return it->second;
    // A relation described anew gets a new Relation: forget old ones now and
    // then, not one by one (a change may still hold one).
    if (tables_.size() > 4096) {
      tables_.clear();
      source_.table = nullptr;  // its codec's address may be a new one's
    }
    return tables_.emplace(relation.get(), make_table_codec(options_, facts_, relation))
        .first->second;
  }

  // {"col":value,...} of the key columns; nullopt for a table without a key.
  std::optional<std::string> key_payload(const TableCodec& table, const Tuple* row) const {
    if (table.key.empty() || row == nullptr) return std::nullopt;
    std::string out = "{";
    bool first = true;
    for (const std::size_t i : table.key) {
      if (!first) out += ',';
      first = false;
      out += table.fields[i];
      append_cell(out, table, i, (*row)[i], nullptr);
    }
    out += '}';
    return out;
  }

  // The record key: the payload, wrapped with its schema when schemas are on.
  struct Key {
    std::optional<std::string> payload;  // for the headers
    std::optional<std::string> record;
  };
  Key key_of(const TableCodec& table, const Tuple* row) {
    Key k;
    k.payload = key_payload(table, row);
    if (!k.payload) return k;
    if (options_.schemas) {
      k.record =
          "{\"schema\":" + key_schema(table, options_.prefix) + ",\"payload\":" + *k.payload + "}";
    } else {
      k.record = k.payload;
    }
    return k;
  }

  // One column's value. An unchanged TOASTed value is the old row's when
  // there is one (`old`: replica identity full), else the placeholder. A
  // null is the column's default when it has one (JsonConverter writes a
  // field's default for null, replace.null.with.default), and the type's
  // zero when the column is NOT NULL: only an old key lacks such a value.
  void append_cell(std::string& out, const TableCodec& table, std::size_t i, const Value& v,
                   const Tuple* old) const {
    switch (v.kind) {
      case Value::Kind::kText:
        append_value(out, table.columns[i], v.data);
        return;
      case Value::Kind::kUnchanged:
        if (old != nullptr && (*old)[i].kind != Value::Kind::kUnchanged) {
          append_cell(out, table, i, (*old)[i], nullptr);
        } else {
          append_unavailable(out, table.columns[i]);
        }
        return;
      case Value::Kind::kBinary:
        throw DecodeError("column " + table.relation->columns[i].name +
                          " came in binary format, which the change feed does not ask for");
      case Value::Kind::kNull:
        break;
    }
    if (table.defaults[i]) {
      out += *table.defaults[i];
    } else if (!table.optional[i]) {
      append_fallback(out, table.columns[i]);
    } else {
      out += "null";
    }
  }

  // A row image; `old`, the row before it when PostgreSQL sent it.
  void append_row(std::string& out, const TableCodec& table, const Tuple& row,
                  const Tuple* old) const {
    if (row.size() != table.columns.size()) {
      throw DecodeError("a row of " + table.relation->schema + "." + table.relation->name +
                        " with " + std::to_string(row.size()) +
                        " column(s), but the relation has " + std::to_string(table.columns.size()));
    }
    out += '{';
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i != 0) out += ',';
      out += table.fields[i];
      append_cell(out, table, i, row[i], old);
    }
    out += '}';
  }

  // `text` for `source` of a table (its TableCodec::source_table) and a snapshot.
  void write_source(SourceText& text, const Source& source, std::string_view table,
                    std::string_view snapshot) const {
    const std::int64_t commit_us = unix_us_from_pg(source.commit_time_pg_us);
    text.commit_lsn = source.commit_lsn;
    text.xid = source.xid;
    text.commit_time_pg_us = source.commit_time_pg_us;
    text.head.clear();
    text.head += source_head_;
    append_number(text.head, floor_div(commit_us, 1000));
    text.head += R"(,"snapshot":")"sv;
    text.head += snapshot;
    text.head += R"(","db":)"sv;
    text.head += source_db_;
    // Debezium's sequence is [last committed LSN, this change's LSN], as
    // strings; this one is [the transaction's commit LSN, the change's].
    text.head += R"(,"sequence":"[\")"sv;
    append_number(text.head, source.commit_lsn);
    text.head += R"(\",\")"sv;
    text.mid.clear();
    text.mid += R"(\"]","ts_us":)"sv;
    append_number(text.mid, commit_us);
    text.mid += R"(,"ts_ns":)"sv;
    append_number(text.mid, commit_us * 1000);
    text.mid += table;
    append_number(text.mid, source.xid);
    text.mid += R"(,"lsn":)"sv;
  }

  // The source block of a change to `table`: source_ again when the change
  // is of the same transaction and table as the one before.
  const SourceText& source_text(const TableCodec& table, const Change& change) {
    const Source& s = change.source;
    const bool incremental = change.op == Op::kRead;
    if (source_.table != &table || source_.commit_lsn != s.commit_lsn || source_.xid != s.xid ||
        source_.commit_time_pg_us != s.commit_time_pg_us || source_.incremental != incremental) {
      write_source(source_, s, table.source_table, incremental ? "incremental"sv : "false"sv);
      source_.table = &table;
      source_.incremental = incremental;
    }
    return source_;
  }

  static void append_source(std::string& out, const SourceText& text, const Source& source) {
    const Lsn lsn = source.change_lsn != 0 ? source.change_lsn : source.commit_lsn;
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, lsn).ptr;
    out += text.head;
    out.append(buf, end);
    out += text.mid;
    out.append(buf, end);
    out += kSourceTail;
  }

  template <typename Int>
  static void append_number(std::string& out, Int v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }

  static std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
  }

  // The processing time, read once per record as Debezium's connector
  // does: the read is about 0.5 % of the feed's CPU, and was no more than
  // its three numbers written each on its own.
  void append_times(std::string& out) const {
    const std::int64_t us = now_();
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, us).ptr;
    out += R"(,"ts_ms":)"sv;
    if (us >= 1000) {
      // Its milliseconds are its digits but the last three, its
      // nanoseconds its digits and three zeros: one number written.
      out.append(buf, end - 3);
      out += R"(,"ts_us":)"sv;
      out.append(buf, end);
      out += R"(,"ts_ns":)"sv;
      out.append(buf, end);
      out += "000}"sv;
      return;
    }
    append_number(out, floor_div(us, 1000));
    out += R"(,"ts_us":)"sv;
    out.append(buf, end);
    out += R"(,"ts_ns":)"sv;
    append_number(out, us * 1000);
    out += '}';
  }

  OutRecord record(const TableCodec& table, const Change& change, const std::string& id, char op,
                   const Tuple* before, const Tuple* after, std::optional<Key> key) {
    std::string payload;
    // The source block and the envelope take about 450 bytes, the rows their
    // values and names: one allocation for the whole, most of the time.
    std::size_t size = 512;
    for (const Tuple* row : {before, after}) {
      if (row == nullptr) continue;
      for (const auto& v : *row) size += v.data.size() + 16;
    }
    payload.reserve(size);
    payload += R"({"before":)"sv;
    if (before != nullptr) {
      append_row(payload, table, *before, nullptr);
    } else {
      payload += "null"sv;
    }
    payload += R"(,"after":)"sv;
    if (after != nullptr) {
      append_row(payload, table, *after, change.before ? &*change.before : nullptr);
    } else {
      payload += "null"sv;
    }
    payload += R"(,"source":)"sv;
    append_source(payload, source_text(table, change), change.source);
    payload += R"(,"transaction":)"sv;
    if (tx_ && op != 'r') {
      const std::string table_name = table.relation->schema + "." + table.relation->name;
      const std::uint64_t in_table = ++table_count(table_name);
      payload += R"({"id":)"sv;
      core::append_json_string(payload, tx_->id);
      payload += R"(,"total_order":)"sv;
      append_number(payload, ++tx_->events);
      payload += R"(,"data_collection_order":)"sv;
      append_number(payload, in_table);
      payload += '}';
    } else {
      payload += "null"sv;
    }
    payload += R"(,"op":")"sv;
    payload += op;
    payload += '"';
    append_times(payload);
    OutRecord r;
    r.topic = table.topic;
    if (key) r.key = std::move(key->record);
    if (options_.schemas) {
      r.value = "{\"schema\":" + table.value_schema + ",\"payload\":" + payload + "}";
    } else {
      r.value = std::move(payload);
    }
    r.headers.emplace_back(kChangeIdHeader, id);
    return r;
  }

  OutRecord tombstone(const TableCodec& table, const std::string& id, Key key,
                      std::vector<std::pair<std::string, std::string>> headers) {
    OutRecord r;
    r.topic = table.topic;
    r.key = std::move(key.record);
    r.headers = std::move(headers);
    r.headers.emplace_back(kChangeIdHeader, id);
    return r;
  }

  void update(const TableCodec& table, const Change& change, const std::string& id,
              std::vector<OutRecord>& out) {
    const Tuple* old = old_row(change);
    const Tuple& after = *change.after;
    bool key_changed = false;
    if (old != nullptr) {
      for (const std::size_t i : table.key) {
        const Value& a = (*old)[i];
        const Value& b = after[i];
        if (a.kind != Value::Kind::kUnchanged && b.kind != Value::Kind::kUnchanged &&
            (a.kind != b.kind || a.data != b.data)) {
          key_changed = true;
        }
      }
    }
    if (!key_changed) {
      out.push_back(record(table, change, id, 'u', change.before ? &*change.before : nullptr,
                           &after, key_of(table, &after)));
      return;
    }
    // Debezium's delete, tombstone and create, each naming the other key.
    Key old_key = key_of(table, old);
    Key new_key = key_of(table, &after);
    OutRecord d = record(table, change, id, 'd', old, nullptr, old_key);
    d.headers.emplace(d.headers.begin(), "__debezium.newkey", new_key.payload.value_or(""));
    out.push_back(std::move(d));
    if (options_.tombstones) {
      out.push_back(
          tombstone(table, id, old_key, {{"__debezium.newkey", new_key.payload.value_or("")}}));
    }
    OutRecord c = record(table, change, id, 'c', nullptr, &after, new_key);
    c.headers.emplace(c.headers.begin(), "__debezium.oldkey", old_key.payload.value_or(""));
    out.push_back(std::move(c));
  }

  // A marker as Debezium writes a logical decoding message.
  OutRecord message(const Change& change, const std::string& id) {
    std::string payload = "{\"op\":\"m\"";
    std::string times;
    append_times(times);
    times.pop_back();  // the closing brace
    payload += times;
    payload += ",\"source\":";
    SourceText source;
    write_source(source, change.source,
                 source_table_fields(change.relation->schema, change.relation->name), "false"sv);
    append_source(payload, source, change.source);
    payload += ",\"message\":{\"prefix\":\"";
    payload += kMessagePrefix;
    payload += "\",\"content\":\"";
    core::append_base64(payload, to_json(change, id));
    payload += "\"}}";
    std::string key = "{\"prefix\":\"" + std::string(kMessagePrefix) + "\"}";
    OutRecord r;
    r.topic = options_.prefix;
    if (options_.schemas) {
      r.key =
          R"({"schema":{"type":"struct","fields":[{"type":"string","optional":true,"field":"prefix"}],)"
          R"("optional":false,"name":"io.debezium.connector.postgresql.MessageKey"},"payload":)" +
          key + "}";
      r.value =
          R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"op"},)"
          R"({"type":"int64","optional":true,"field":"ts_ms"},)"
          R"({"type":"int64","optional":true,"field":"ts_us"},)"
          R"({"type":"int64","optional":true,"field":"ts_ns"},)" +
          std::string(kSourceSchema) +
          R"(,{"type":"struct","fields":[{"type":"string","optional":false,"field":"prefix"},)"
          R"({"type":"bytes","optional":true,"field":"content"}],"optional":false,)"
          R"("name":"io.debezium.connector.postgresql.Message","field":"message"}],)"
          R"("optional":false,"name":"io.debezium.connector.postgresql.MessageValue"},"payload":)" +
          payload + "}";
    } else {
      r.key = std::move(key);
      r.value = std::move(payload);
    }
    r.headers.emplace_back(kChangeIdHeader, id);
    return r;
  }

  std::uint64_t& table_count(const std::string& table) {
    for (auto& [name, n] : tx_->tables) {
      if (name == table) return n;
    }
    return tx_->tables.emplace_back(table, 0).second;
  }

  Options options_;
  std::string source_head_;  // {"version":..,"connector":"postgresql","name":..,"ts_ms":
  std::string source_db_;    // the database as a JSON string
  TableFactsPort& facts_;
  NowUs now_;
  std::unordered_map<const Relation*, TableCodec> tables_;
  std::optional<OpenTransaction> tx_;
  SourceText source_;  // the last record's, but for its LSN
};

}  // namespace

std::unique_ptr<RecordFormat> make_format(Options options, TableFactsPort& facts, NowUs now) {
  return std::make_unique<DebeziumFormat>(std::move(options), facts, std::move(now));
}

}  // namespace millrace::changefeed::debezium
