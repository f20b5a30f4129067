#pragma once

// The tables of a declared kind (kinds/declaration.hpp), derived from its
// declaration: one row per record in `table`, keyed by the identity, with
// the record's source (kafka_topic, kafka_partition, kafka_offset) and when
// it was stored; and, for a kind with lines, one row per line in the lines'
// table, keyed by (identity, line number) and deleted with its record.
//
// Columns are added, never dropped or retyped: a field added to a
// declaration adds a nullable column to a table made before (its older rows
// have no value). A column whose type differs from the declaration's is
// refused, naming both. A kind with an aggregate section also gets the
// aggregator's tables and views (kinds::AggregateDecl).

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/kinds/declaration.hpp"

namespace millrace::pg {

// The PostgreSQL type of a field: text, uuid, bigint, numeric, boolean or
// timestamptz.
std::string column_type(kinds::ValueType type);

// The statements that make a kind's tables from nothing (CREATE TABLE IF
// NOT EXISTS ...), in the order they run.
std::vector<std::string> kind_table_statements(const kinds::Declaration& d);

// Makes the kind's tables, or adds the columns a table made before lacks.
// Caller contract: a connection of a role that may create tables in the
// schema (the one that runs `millrace migrate`). Throws core::InfraError
// (fatal) for a column of another type.
void ensure_kind_tables(pqxx::connection& connection, const kinds::Declaration& d);

// The COPY columns of the kind's tables, in the order the sink writes them.
std::vector<std::string> record_columns(const kinds::Declaration& d);
std::vector<std::string> line_columns(const kinds::Declaration& d);

}  // namespace millrace::pg
