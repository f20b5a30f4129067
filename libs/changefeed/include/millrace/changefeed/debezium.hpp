#pragma once

// The change feed in Debezium's format: the records Debezium 3.x's
// PostgreSQL connector (plugin.name=pgoutput) writes for the same changes,
// through Kafka Connect's JsonConverter with schemas.enable false (the
// envelope alone) or true ({"schema":...,"payload":...}). docs/debezium.md
// says what maps to what and what differs.
//
// - A change is {"before","after","source","transaction","op","ts_ms",
//   "ts_us","ts_ns"}; source is Debezium's PostgreSQL source block. The key
//   is the primary key's columns as an object (null for a table without
//   one).
// - A delete is followed by a tombstone (a null value under its key) unless
//   tombstones are off; an update that changes the primary key is a delete,
//   a tombstone and a create, carrying the __debezium.newkey and
//   __debezium.oldkey headers.
// - Rows a backfill read are op "r" with source.snapshot "incremental".
// - With transaction metadata, each transaction that changed rows gets a
//   BEGIN and an END record (with its event counts, in total and by table)
//   on <prefix>.transaction, and each of its events a "transaction" block
//   {"id":"<xid>:<commit LSN>","total_order","data_collection_order"}.
// - A backfill's end (Millrace's op e) and a gap after a lost slot (op g)
//   have no Debezium op: they are logical-message records (op "m", message
//   prefix "millrace", the Millrace change record as the content) on the
//   feed's own topic, which a consumer of the table topics never reads.
//
// Pure but for TableFactsPort, what the catalog says of a table.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "millrace/changefeed/pgoutput.hpp"
#include "millrace/changefeed/record_format.hpp"
#include "millrace/core/enum_names.hpp"

namespace millrace::changefeed::debezium {

// decimal.handling.mode: precise (Connect Decimal, base64 bytes), string,
// double.
enum class DecimalMode : std::uint8_t { kPrecise, kString, kDouble };
// As decimal.handling.mode names them.
inline constexpr core::EnumNames<DecimalMode, 3> kDecimalModeNames(
    {{DecimalMode::kPrecise, "precise"},
     {DecimalMode::kString, "string"},
     {DecimalMode::kDouble, "double"}});

struct Options {
  // topic.prefix: source.name, the schemas' names, and the topic (or the
  // prefix of each table's topic).
  std::string prefix;
  std::string database;  // source.db
  bool schemas = false;  // JsonConverter's schemas.enable
  DecimalMode decimal = DecimalMode::kPrecise;
  // Each table's records to <prefix>.<schema>.<table>; off, every record
  // to <prefix>.
  bool topic_per_table = false;
  bool tombstones = true;  // tombstones.on.delete
  bool truncates = true;   // op t; off as skipped.operations=t
  // provide.transaction.metadata: BEGIN and END records of each transaction
  // to <prefix>.transaction, and each event's "transaction" block.
  bool transaction_metadata = false;
  std::string version;  // source.version
};

// What pgoutput does not say of a column and Debezium's schemas do.
struct ColumnFacts {
  bool not_null = false;
  // The default as pg_get_expr writes it ("7", "'n/a'::text"); Debezium
  // gives the field a default only for a constant.
  std::optional<std::string> default_expression;
  std::vector<std::string> enum_labels;  // an enum type's, in sort order
};
struct TableFacts {
  std::map<std::string, ColumnFacts> columns;  // by name
  // The primary key's columns in key order: Debezium's key, which is null
  // for a table without one (whatever its replica identity).
  std::vector<std::string> primary_key;
};

class TableFactsPort {
 public:
  virtual ~TableFactsPort() = default;
  // Asked once per relation description. Throws core::InfraError.
  virtual std::shared_ptr<const TableFacts> facts(const Relation& relation) = 0;
};

// The constant in a default expression as PostgreSQL's text of its value
// ("'n/a'::text" -> n/a, "'-1'::integer" -> -1, "true"), nullopt for
// anything else (a function such as now() or nextval()).
std::optional<std::string> default_constant(std::string_view expression);

// The topic of a table's records: <prefix>.<schema>.<table> with characters
// Kafka does not allow in a name replaced by '_', as Debezium does.
std::string table_topic(const std::string& prefix, const Relation& relation);

using NowUs = std::function<std::int64_t()>;  // µs since the Unix epoch

// `facts` must outlive the format; `now` stamps the records' processing time.
std::unique_ptr<RecordFormat> make_format(Options options, TableFactsPort& facts, NowUs now);

}  // namespace millrace::changefeed::debezium
