#pragma once

// What the Debezium format knows of one table, built once per relation
// description: its columns' codecs, defaults and key, its topic and its
// schemas (debezium_tables.cpp). The records: debezium.cpp.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "debezium_types.hpp"
#include "millrace/changefeed/debezium.hpp"
#include "millrace/changefeed/pgoutput.hpp"

namespace millrace::changefeed::debezium {

// io.debezium.connector.postgresql.Source, as JsonConverter writes it.
inline constexpr std::string_view kSourceSchema =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},)"
    R"({"type":"string","optional":false,"field":"connector"},)"
    R"({"type":"string","optional":false,"field":"name"},)"
    R"({"type":"int64","optional":false,"field":"ts_ms"},)"
    R"({"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,)"
    R"("parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},)"
    R"("default":"false","field":"snapshot"},)"
    R"({"type":"string","optional":false,"field":"db"},)"
    R"({"type":"string","optional":true,"field":"sequence"},)"
    R"({"type":"int64","optional":true,"field":"ts_us"},)"
    R"({"type":"int64","optional":true,"field":"ts_ns"},)"
    R"({"type":"string","optional":false,"field":"schema"},)"
    R"({"type":"string","optional":false,"field":"table"},)"
    R"({"type":"int64","optional":true,"field":"txId"},)"
    R"({"type":"int64","optional":true,"field":"lsn"},)"
    R"({"type":"int64","optional":true,"field":"xmin"},)"
    R"({"type":"string","optional":true,"field":"origin"},)"
    R"({"type":"int64","optional":true,"field":"origin_lsn"}],)"
    R"("optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"})";

// Everything about one relation description that does not change per row.
struct TableCodec {
  std::shared_ptr<const Relation> relation;  // keeps the key below alive
  std::vector<ColumnCodec> columns;
  std::vector<bool> optional;
  std::vector<std::optional<std::string>> defaults;  // each as its JSON value
  std::vector<std::size_t> key;                      // the primary key's columns; empty: a null key
  // Each column's name as a JSON string and its colon ("id":), and the
  // source block's fields that name the table (,"schema":..,"table":..,"txId":),
  // written once here rather than escaped again in every record.
  std::vector<std::string> fields;
  std::string source_table;
  std::string topic;
  std::string key_schema;    // empty for a table without a primary key
  std::string value_schema;  // the envelope's
};

// ,"schema":<schema>,"table":<name>,"txId": (TableCodec::source_table).
std::string source_table_fields(const std::string& schema, const std::string& name);

// `relation`'s codec: its columns' as `facts` describes them, and the
// envelope's schema.
TableCodec make_table_codec(const Options& options, TableFactsPort& facts,
                            const std::shared_ptr<const Relation>& relation);

// The key's schema, made once per table, at its first keyed row: the
// check is inline, as every record's key asks for it when schemas are on.
std::string make_key_schema(const TableCodec& table, const std::string& prefix);
inline const std::string& key_schema(const TableCodec& table, const std::string& prefix) {
  auto& t = const_cast<TableCodec&>(table);
  if (t.key_schema.empty()) t.key_schema = make_key_schema(table, prefix);
  return t.key_schema;
}

}  // namespace millrace::changefeed::debezium
