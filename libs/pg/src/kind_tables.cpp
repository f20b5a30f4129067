#include "millrace/pg/kind_tables.hpp"

#include <map>

#include "kind_aggregate.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/pg/declared_views.hpp"

namespace millrace::pg {

using kinds::Declaration;
using kinds::FieldDecl;
using kinds::ValueType;

namespace {

// A personal-data column holds NULL when MILLRACE_<KIND>_PII is drop, even
// for a required field; so do columns added to a table made before.
std::string column_def(const FieldDecl& f) {
  return f.column + " " + column_type(f.type) + (f.required && !f.pii ? " NOT NULL" : "");
}

// Both tables are partitioned by range on the record's time (the lines'
// table holds it too), so their unique keys lead with it: the identity's
// uniqueness whatever the time is kind_identities' (migration 0018).
std::string record_table(const Declaration& d) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + d.table + " (";
  for (const auto& f : d.fields) sql += column_def(f) + ", ";
  return sql +
         "kafka_topic text NOT NULL, kafka_partition integer NOT NULL, "
         "kafka_offset bigint NOT NULL, stored_at timestamptz NOT NULL DEFAULT now(), "
         "PRIMARY KEY (" +
         d.time_field().column + ", " + d.identity_field().column + ")) PARTITION BY RANGE (" +
         d.time_field().column + ")";
}

// The lines' key and foreign key, for a table made here or converted.
std::string lines_key(const Declaration& d) {
  return "PRIMARY KEY (" + d.time_field().column + ", " + d.identity_field().column + ", " +
         d.lines->number_column + ")";
}
std::string lines_foreign_key(const Declaration& d) {
  const std::string key = d.time_field().column + ", " + d.identity_field().column;
  return "FOREIGN KEY (" + key + ") REFERENCES " + d.table + " (" + key + ") ON DELETE CASCADE";
}

std::string lines_table(const Declaration& d) {
  const auto& l = *d.lines;
  const auto& id = d.identity_field();
  std::string sql = "CREATE TABLE IF NOT EXISTS " + l.table + " (" + id.column + " " +
                    column_type(id.type) + " NOT NULL, " + d.time_field().column +
                    " timestamptz NOT NULL, " + l.number_column + " integer NOT NULL, ";
  for (const auto& f : l.fields) sql += column_def(f) + ", ";
  return sql + lines_key(d) + ", " + lines_foreign_key(d) + ") PARTITION BY RANGE (" +
         d.time_field().column + ")";
}

// A field type's column type, and how information_schema names it.
struct ColumnType {
  const char* ddl;
  const char* reported;
};
ColumnType types_of(ValueType type) {
  switch (type) {
    case ValueType::kInteger:
      return {"bigint", "bigint"};
    case ValueType::kDecimal:
      return {"numeric", "numeric"};
    case ValueType::kBoolean:
      return {"boolean", "boolean"};
    case ValueType::kTimestamp:
      return {"timestamptz", "timestamp with time zone"};
    case ValueType::kUuid:
      return {"uuid", "uuid"};
    default:
      return {"text", "text"};
  }
}

// Adds the columns of `fields` that `table` lacks; refuses one of another type.
// `table`'s columns and their types, as information_schema names them.
std::map<std::string, std::string> columns_of(pqxx::work& tx, const std::string& table) {
  std::map<std::string, std::string> have;
  for (const auto& row :
       tx.exec_params("SELECT column_name, data_type FROM information_schema.columns "
                      "WHERE table_schema = current_schema() AND table_name = $1",
                      table)) {
    have[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  return have;
}

void reconcile(pqxx::work& tx, const std::string& table, const std::vector<FieldDecl>& fields) {
  const auto have = columns_of(tx, table);
  for (const auto& f : fields) {
    const auto it = have.find(f.column);
    if (it == have.end()) {
      tx.exec("ALTER TABLE " + table + " ADD COLUMN " + f.column + " " + column_type(f.type));
    } else if (it->second != std::string(types_of(f.type).reported)) {
      throw core::InfraError(core::FailureClass::kFatal,
                             "column " + table + "." + f.column + " is " + it->second +
                                 " but the declaration makes field " + f.name + " " +
                                 std::string(types_of(f.type).reported) +
                                 ": a column is never retyped; declare a new field instead");
    }
  }
}

}  // namespace

std::string column_type(ValueType type) {
  return types_of(type).ddl;
}

// kind_table_statements() but the views', which sync_declared_views() runs.
static std::vector<std::string> kind_base_statements(const Declaration& d) {
  std::vector<std::string> out{record_table(d)};
  if (d.lines) out.push_back(lines_table(d));
  if (d.aggregate) {
    for (auto& sql : aggregate_statements(d)) out.push_back(std::move(sql));
  }
  return out;
}

std::vector<std::string> kind_table_statements(const Declaration& d) {
  auto out = kind_base_statements(d);
  for (auto& sql : declared_view_statements(d)) out.push_back(std::move(sql));
  return out;
}

std::string partitioned_table_statement(const Declaration& d) {
  const auto q = [](const std::string& s) { return "'" + s + "'"; };  // identifiers only
  return "INSERT INTO partitioned_tables (table_name, time_column, lines_table, kind, "
         "partition_minutes) VALUES (" +
         q(d.table) + ", " + q(d.time_field().column) + ", " +
         (d.lines ? q(d.lines->table) : std::string("NULL")) + ", " + q(d.kind) + ", " +
         std::to_string(d.storage.partition_span.count()) +
         ") ON CONFLICT (table_name) DO UPDATE SET partition_minutes = "
         "excluded.partition_minutes";
}

namespace {

bool is_plain_table(pqxx::work& tx, const std::string& table) {
  const auto r = tx.exec_params(
      "SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass(quote_ident($1))", table);
  return !r.empty() && r[0][0].as<std::string>() == "r";
}

// The old tables' grants and publications, given to the new ones.
void move_grants(pqxx::work& tx, const std::string& from, const std::string& to) {
  for (const auto& g :
       tx.exec_params("SELECT grantee, privilege_type FROM information_schema.table_privileges "
                      "WHERE table_schema = current_schema() AND table_name = $1 AND grantee <> "
                      "(SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() AND "
                      "tablename = $1)",
                      from)) {
    const auto grantee = g[0].as<std::string>();
    tx.exec("GRANT " + g[1].as<std::string>() + " ON " + to + " TO " +
            (grantee == "PUBLIC" ? grantee : tx.quote_name(grantee)));
  }
  for (const auto& p :
       tx.exec_params("SELECT p.pubname FROM pg_publication_rel r JOIN pg_publication p ON p.oid = "
                      "r.prpubid WHERE r.prrelid = to_regclass(quote_ident($1))",
                      from)) {
    const auto pub = tx.quote_name(p[0].as<std::string>());
    tx.exec("ALTER PUBLICATION " + pub + " DROP TABLE " + from);
    tx.exec("ALTER PUBLICATION " + pub + " ADD TABLE " + to);
    tx.exec("ALTER PUBLICATION " + pub + " SET (publish_via_partition_root = true)");
  }
}

// `table`, made before kinds were partitioned, renamed aside with its
// indexes (their names are the schema's): <table>_unpartitioned.
std::string set_aside(pqxx::work& tx, const std::string& table) {
  const std::string old = table.substr(0, 40) + "_unpartitioned";
  for (const auto& i :
       tx.exec_params("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND "
                      "tablename = $1",
                      table)) {
    const auto name = i[0].as<std::string>();
    tx.exec("ALTER INDEX " + tx.quote_name(name) + " RENAME TO " +
            tx.quote_name(name.substr(0, 48) + "_unpartitioned"));
  }
  tx.exec("ALTER TABLE " + table + " RENAME TO " + old);
  return old;
}

// Moves an unpartitioned record table (and its lines) of a kind into
// partitioned ones, in the caller's transaction: every row, in partitions
// made for their span; every identity into kind_identities; grants and
// publications. A column the declaration no longer names is kept (columns
// are never dropped). Throws if a count differs, and nothing is changed.
void convert(pqxx::work& tx, const Declaration& d) {
  const std::string time = d.time_field().column, id = d.identity_field().column;
  const auto records = set_aside(tx, d.table);
  std::string lines;
  if (d.lines) {
    lines = set_aside(tx, d.lines->table);
    // Its foreign key pointed at the old record table.
    for (const auto& c : tx.exec_params(
             "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(quote_ident($1)) "
             "AND contype = 'f'",
             lines)) {
      tx.exec("ALTER TABLE " + lines + " DROP CONSTRAINT " + tx.quote_name(c[0].as<std::string>()));
    }
  }
  // Every column the old table has, in its order, and then the keys.
  tx.exec("CREATE TABLE " + d.table + " (LIKE " + records +
          " INCLUDING DEFAULTS) PARTITION BY RANGE (" + time + ")");
  tx.exec("ALTER TABLE " + d.table + " ADD PRIMARY KEY (" + time + ", " + id + ")");
  if (d.lines) {
    // The record's time after the old columns: a line is partitioned with
    // its record.
    tx.exec("CREATE TABLE " + d.lines->table + " (LIKE " + lines + " INCLUDING DEFAULTS, " + time +
            " timestamptz NOT NULL) PARTITION BY RANGE (" + time + ")");
    tx.exec("ALTER TABLE " + d.lines->table + " ADD " + lines_key(d) + ", ADD " +
            lines_foreign_key(d));
  }
  tx.exec(partitioned_table_statement(d));
  const auto span =
      tx.exec1("SELECT count(*), min(" + time + ")::text, max(" + time + ")::text FROM " + records);
  const auto total = span[0].as<std::int64_t>();
  tx.exec("SELECT millrace_partitions_ensure(" + tx.quote(d.table) +
          ", now() - interval '1 day', now() + interval '2 days')");
  if (total > 0) {
    tx.exec("SELECT millrace_partitions_ensure(" + tx.quote(d.table) + ", " +
            tx.quote(span[1].as<std::string>()) + ", " + tx.quote(span[2].as<std::string>()) + ")");
  }
  const auto moved =
      tx.exec("INSERT INTO " + d.table + " SELECT * FROM " + records).affected_rows();
  tx.exec("INSERT INTO kind_identities (kind, identity, event_ts) SELECT " + tx.quote(d.kind) +
          ", " + id + "::text, " + time + " FROM " + records + " ON CONFLICT DO NOTHING");
  if (static_cast<std::int64_t>(moved) != total) {
    throw core::InfraError(core::FailureClass::kFatal,
                           d.table + ": moved " + std::to_string(moved) + " rows of " +
                               std::to_string(total) + " into partitions; nothing was changed");
  }
  move_grants(tx, records, d.table);
  if (d.lines) {
    const auto line_total = tx.exec1("SELECT count(*) FROM " + lines)[0].as<std::int64_t>();
    const auto moved_lines =
        tx.exec("INSERT INTO " + d.lines->table + " SELECT l.*, r." + time + " FROM " + lines +
                " l JOIN " + records + " r ON r." + id + " = l." + id)
            .affected_rows();
    if (static_cast<std::int64_t>(moved_lines) != line_total) {
      throw core::InfraError(core::FailureClass::kFatal,
                             d.lines->table + ": moved " + std::to_string(moved_lines) +
                                 " rows of " + std::to_string(line_total) +
                                 " into partitions; nothing was changed");
    }
    move_grants(tx, lines, d.lines->table);
    tx.exec("DROP TABLE " + lines);
  }
  tx.exec("DROP TABLE " + records);
}

}  // namespace

std::string kind_tables_lock(const std::string& kind) {
  return "millrace.kind." + kind;
}

void ensure_kind_tables(pqxx::connection& connection, const Declaration& d, ViewChanges views) {
  pqxx::work tx(connection);
  // One maker at a time: services of one kind start together.
  tx.exec("SELECT pg_advisory_xact_lock(hashtext(" + tx.quote(kind_tables_lock(d.kind)) + "))");
  if (d.resends == kinds::Resends::kTableKey) {
    // The migrations make and keep a kind told by its table's key (the
    // store event's tables): only its declared views are the declaration's.
    sync_declared_views(tx, d, views);
    tx.commit();
    return;
  }
  if (is_plain_table(tx, d.table)) convert(tx, d);
  if (d.aggregate) check_aggregate_tables(tx, d);
  for (const auto& sql : kind_base_statements(d)) tx.exec(sql);
  sync_declared_views(tx, d, views);
  tx.exec(partitioned_table_statement(d));
  reconcile(tx, d.table, d.fields);
  if (d.lines) reconcile(tx, d.lines->table, d.lines->fields);
  // Nullable, as store_events' (migration 0007): rows stored without
  // enrichment, or before it was declared, have none.
  // Only the columns missing: an ALTER TABLE, even one that adds nothing,
  // takes the table's (and its partitions') strongest lock, which waits
  // for every running sink's transaction and deadlocks with one that
  // reaches the table through a partition it holds.
  const auto add_enrichment = [&](const std::optional<std::string>& table,
                                  const std::vector<std::string>& columns) {
    if (!table) return;
    const auto have = columns_of(tx, *table);
    std::string sql;
    for (const auto& c : columns) {
      if (have.contains(c)) continue;
      sql += (sql.empty() ? "ALTER TABLE " + *table + " " : ", ") + "ADD COLUMN " + c + " text";
    }
    if (!sql.empty()) tx.exec(sql);
  };
  add_enrichment(enriched_table(d), kEnrichmentColumns);
  add_enrichment(asset_enriched_table(d), kAssetColumns);
  // The days around now, so that a sink whose role may not make them (it
  // asks millrace_partitions_ensure) finds them there.
  tx.exec("SELECT millrace_partitions_ensure(" + tx.quote(d.table) +
          ", now() - interval '1 day', now() + interval '2 days')");
  tx.commit();
}

std::optional<std::string> enriched_table(const Declaration& d) {
  if (!d.enrich) return std::nullopt;
  return d.enrich->on_lines ? d.lines->table : d.table;
}

const std::vector<std::string> kEnrichmentColumns = {"product_name", "product_brand",
                                                     "product_category"};

const std::vector<std::string> kAssetColumns = {"asset_description", "asset_type",
                                                "asset_currency"};

std::optional<std::string> asset_enriched_table(const Declaration& d) {
  if (!d.enrich_asset) return std::nullopt;
  return d.enrich_asset->on_lines ? d.lines->table : d.table;
}

std::vector<std::string> record_columns(const Declaration& d) {
  std::vector<std::string> out;
  for (const auto& f : d.fields) out.push_back(f.column);
  for (const char* c : {"kafka_topic", "kafka_partition", "kafka_offset"}) out.emplace_back(c);
  return out;
}

std::vector<std::string> line_columns(const Declaration& d) {
  std::vector<std::string> out{d.identity_field().column, d.time_field().column,
                               d.lines->number_column};
  for (const auto& f : d.lines->fields) out.push_back(f.column);
  return out;
}

KindTableNames kind_table_names(const Declaration& d) {
  KindTableNames out;
  out.records.push_back(d.table);
  if (d.lines) out.records.push_back(d.lines->table);
  if (d.aggregate) {
    const std::string agg = "agg_" + d.aggregate->name;
    out.sums = {agg + "_hourly", agg + "_daily"};
    if (d.aggregate->item) out.sums.push_back(agg + "_items");
  }
  for (const auto& v : d.views) (v.adopts_table() ? out.sums : out.views).push_back(view_table(v));
  return out;
}

}  // namespace millrace::pg
