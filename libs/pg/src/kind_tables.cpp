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

}  // namespace

std::string column_type(ValueType type) {
  return types_of(type).ddl;
}

std::vector<std::string> kind_table_statements(const Declaration& d) {
  std::vector<std::string> out{record_table(d), "CREATE INDEX IF NOT EXISTS " + d.table + "_" +
                                                    d.time_field().column + "_idx ON " + d.table +
                                                    " (" + d.time_field().column + ")"};
  if (d.lines) out.push_back(lines_table(d));
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
