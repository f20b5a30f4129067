#pragma once

// The tables of a declared kind (kinds/declaration.hpp), derived from its
// declaration: one row per record in `table`, keyed by (time, identity),
// with the record's source (kafka_topic, kafka_partition, kafka_offset) and
// when it was stored; and, for a kind with lines, one row per line in the
// lines' table, keyed by (time, identity, line number) and deleted with its
// record. Both are partitioned by range on the record's time, with the same
// bounds (partitioned_tables, migration 0018; the sink makes partitions
// ahead and drops them past the kind's retention). An identity is stored
// once whatever its time: kind_identities holds each kind's.
//
// A kind's tables made unpartitioned (before migration 0018) are converted
// by ensure_kind_tables(), keeping every row, grant and publication.
//
// Columns are added, never dropped or retyped: a field added to a
// declaration adds a nullable column to a table made before (its older rows
// have no value). A column whose type differs from the declaration's is
// refused, naming both. A kind that declares "enrich" gets the catalog's
// product columns on the table holding its sku field, and the asset's on
// the table holding its symbol field. A kind with an aggregate section also gets
// the aggregator's tables and views (kinds::AggregateDecl).

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "millrace/kinds/declaration.hpp"
#include "millrace/pg/declared_views.hpp"

namespace millrace::pg {

// The PostgreSQL type of a field: text, uuid, bigint, numeric, boolean or
// timestamptz.
std::string column_type(kinds::ValueType type);

// The statements that make a kind's tables from nothing (CREATE TABLE IF
// NOT EXISTS ...), in the order they run.
std::vector<std::string> kind_table_statements(const kinds::Declaration& d);

// The row of partitioned_tables for the kind: its tables, time column and
// partition width (storage.partition_span). A new width applies to the
// partitions made after it.
std::string partitioned_table_statement(const kinds::Declaration& d);

// The text whose hash keys the advisory lock ensure_kind_tables() holds for
// its transaction (pg_advisory_xact_lock(hashtext(...))): one maker of a
// kind's tables at a time.
std::string kind_tables_lock(const std::string& kind);

// Makes the kind's tables (and partitions for the days around now), converts
// unpartitioned ones, or adds the columns a table made before lacks; its
// declared views as sync_declared_views() does, `views` saying what becomes
// of a changed or removed one.
// Caller contract: a connection of a role that may create tables in the
// schema (the one that runs `millrace migrate`). Throws core::InfraError
// (fatal) for a column of another type.
void ensure_kind_tables(pqxx::connection& connection, const kinds::Declaration& d,
                        ViewChanges views);

// The enrichment's columns (migrations/0007_enrichment.sql), written after
// a record's (or a line's) by a sink that enriches: the product's name,
// brand and category from the catalog (pg::append_enrichment).
extern const std::vector<std::string> kEnrichmentColumns;
// The table holding the field a kind is enriched on ("enrich"): its record
// table, or its lines' table; it has kEnrichmentColumns, added to a table
// made before. nullopt: the kind is not enriched.
std::optional<std::string> enriched_table(const kinds::Declaration& d);

// The asset enrichment's columns ("enrich": {"asset": ...}): the asset's
// description, type and currency, written by a sink that enriches after
// the product's (when both are declared on one table).
extern const std::vector<std::string> kAssetColumns;
// The table holding the field holding an asset's symbol; it has
// kAssetColumns. nullopt: the kind is not enriched by asset.
std::optional<std::string> asset_enriched_table(const kinds::Declaration& d);

// The COPY columns of the kind's tables, in the order the sink writes them:
// a line's are its record's identity and time, its number and its fields.
std::vector<std::string> record_columns(const kinds::Declaration& d);
std::vector<std::string> line_columns(const kinds::Declaration& d);

// The tables a kind's declaration makes, by who writes them: the sink its
// records' (and its lines'), the aggregator its sums' (agg_<name>_hourly,
// _daily, and _items when its lines name a product; none without an
// aggregate section). Grants and the change feed's default publication
// name a kind's tables from here.
struct KindTableNames {
  // `sums` also holds the tables a declared view adopts (kinds::ViewDecl::
  // table: the store event's agg_hourly, agg_daily, agg_products and
  // agg_categories), which are made by migrations and never pruned.
  std::vector<std::string> records, sums;
  // The declared views' tables (agg_view_<name>), which the aggregator
  // also prunes past their retention.
  std::vector<std::string> views;
};
KindTableNames kind_table_names(const kinds::Declaration& d);

}  // namespace millrace::pg
