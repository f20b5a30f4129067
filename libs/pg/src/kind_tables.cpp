#include "millrace/pg/kind_tables.hpp"

#include <map>

#include "millrace/core/failure.hpp"

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

std::string record_table(const Declaration& d) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + d.table + " (";
  for (const auto& f : d.fields) {
    sql += column_def(f);
    if (&f == &d.identity_field()) sql += " PRIMARY KEY";
    sql += ", ";
  }
  return sql +
         "kafka_topic text NOT NULL, kafka_partition integer NOT NULL, "
         "kafka_offset bigint NOT NULL, stored_at timestamptz NOT NULL DEFAULT now())";
}

std::string lines_table(const Declaration& d) {
  const auto& l = *d.lines;
  const auto& id = d.identity_field();
  std::string sql = "CREATE TABLE IF NOT EXISTS " + l.table + " (" + id.column + " " +
                    column_type(id.type) + " NOT NULL REFERENCES " + d.table + " (" + id.column +
                    ") ON DELETE CASCADE, " + l.number_column + " integer NOT NULL, ";
  for (const auto& f : l.fields) sql += column_def(f) + ", ";
  return sql + "PRIMARY KEY (" + id.column + ", " + l.number_column + "))";
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
void reconcile(pqxx::work& tx, const std::string& table, const std::vector<FieldDecl>& fields) {
  std::map<std::string, std::string> have;
  for (const auto& row :
       tx.exec_params("SELECT column_name, data_type FROM information_schema.columns "
                      "WHERE table_schema = current_schema() AND table_name = $1",
                      table)) {
    have[row[0].as<std::string>()] = row[1].as<std::string>();
  }
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

// agg_<name>_hourly and _daily: records and amount per window; _items:
// units and amount per product, and how many records had it.
std::vector<std::string> aggregate_statements(const Declaration& d) {
  const auto& a = *d.aggregate;
  const std::string agg = "agg_" + a.name;
  const std::string records = a.records_as, amount = a.amount_as;
  std::vector<std::string> out;
  for (const char* grain : {"hourly", "daily"}) {
    out.push_back("CREATE TABLE IF NOT EXISTS " + agg + "_" + grain +
                  " (window_start timestamptz PRIMARY KEY, records bigint NOT NULL, "
                  "amount numeric NOT NULL, units bigint NOT NULL)");
    out.push_back("CREATE OR REPLACE VIEW " + a.name + "_" + grain +
                  " AS SELECT window_start, records AS " + records + ", amount AS " + amount +
                  ", units FROM " + agg + "_" + grain);
  }
  // Exactly one row each: the current UTC hour and day so far.
  const auto current = [&](const char* unit, const char* grain, const char* view,
                           const char* column) {
    return "CREATE OR REPLACE VIEW " + a.name + "_" + view + " AS SELECT n." + column +
           ", coalesce(a.records, 0)::bigint AS " + records + ", coalesce(a.amount, 0) AS " +
           amount + ", coalesce(a.units, 0)::bigint AS units FROM (SELECT date_trunc('" + unit +
           "', now(), 'UTC') AS " + column + ") n LEFT JOIN " + agg + "_" + grain +
           " a ON a.window_start = n." + column;
  };
  out.push_back(current("hour", "hourly", "this_hour", "window_start"));
  out.push_back(current("day", "daily", "today", "day"));
  if (a.item) {
    out.push_back("CREATE TABLE IF NOT EXISTS " + agg +
                  "_items (item bigint PRIMARY KEY, units bigint NOT NULL, amount numeric NOT "
                  "NULL, records bigint NOT NULL)");
    out.push_back("CREATE INDEX IF NOT EXISTS " + agg + "_items_rank_idx ON " + agg +
                  "_items (units DESC, item)");
    // Names come from the catalog when read, as top_products' do.
    out.push_back("CREATE OR REPLACE VIEW " + a.name +
                  "_top_products AS SELECT t.rank, t.item AS product_id, t.units, t.amount AS " +
                  amount + ", t.records AS " + records +
                  ", p.name, p.brand FROM (SELECT (row_number() OVER (ORDER BY units DESC, "
                  "item))::int AS rank, item, units, amount, records FROM (SELECT * FROM " +
                  agg +
                  "_items ORDER BY units DESC, item LIMIT 10) x) t LEFT JOIN products p ON "
                  "p.sku = t.item ORDER BY t.rank");
    out.push_back("CREATE OR REPLACE VIEW " + a.name +
                  "_categories AS SELECT p.category, sum(t.units)::bigint AS units, "
                  "sum(t.amount) AS " +
                  amount + ", c.display_name FROM " + agg +
                  "_items t JOIN products p ON p.sku = t.item LEFT JOIN categories c ON c.name = "
                  "p.category GROUP BY p.category, c.display_name ORDER BY units DESC, "
                  "p.category");
  }
  return out;
}

}  // namespace

std::string column_type(ValueType type) {
  return types_of(type).ddl;
}

std::vector<std::string> kind_table_statements(const Declaration& d) {
  std::vector<std::string> out{record_table(d), "CREATE INDEX IF NOT EXISTS " + d.table + "_" +
                                                    d.time_field().column + "_idx ON " + d.table +
                                                    " (" + d.time_field().column + ")"};
  if (d.lines) out.push_back(lines_table(d));
  if (d.aggregate) {
    for (auto& sql : aggregate_statements(d)) out.push_back(std::move(sql));
  }
  return out;
}

void ensure_kind_tables(pqxx::connection& connection, const Declaration& d) {
  pqxx::work tx(connection);
  // One maker at a time: services of one kind start together.
  tx.exec("SELECT pg_advisory_xact_lock(hashtext(" + tx.quote("millrace.kind." + d.kind) + "))");
  for (const auto& sql : kind_table_statements(d)) tx.exec(sql);
  reconcile(tx, d.table, d.fields);
  if (d.lines) reconcile(tx, d.lines->table, d.lines->fields);
  tx.commit();
}

std::vector<std::string> record_columns(const Declaration& d) {
  std::vector<std::string> out;
  for (const auto& f : d.fields) out.push_back(f.column);
  for (const char* c : {"kafka_topic", "kafka_partition", "kafka_offset"}) out.emplace_back(c);
  return out;
}

std::vector<std::string> line_columns(const Declaration& d) {
  std::vector<std::string> out{d.identity_field().column, d.lines->number_column};
  for (const auto& f : d.lines->fields) out.push_back(f.column);
  return out;
}

}  // namespace millrace::pg
