#include "published_tables.hpp"

#include "millrace/core/failure.hpp"

namespace millrace::changefeed {

using core::FailureClass;
using core::InfraError;

namespace {

const std::string& text(const SqlRow& row, std::size_t i, const char* what) {
  if (i >= row.size() || !row[i]) {
    throw InfraError(
        FailureClass::kFatal,
        std::string("describing the published tables: the server answered no ") + what);
  }
  return *row[i];
}

}  // namespace

std::vector<PublishedTable> published_tables(const SqlQuery& query, const SqlLiteral& literal,
                                             const std::string& publication) {
  // PostgreSQL 15 added column lists and row filters to publications.
  const auto version = query("SELECT current_setting('server_version_num')::int");
  const bool lists = std::stoi(text(version.at(0), 0, "server version")) >= 150000;
  const std::string pub = literal(publication);
  const auto listed =
      query("SELECT c.oid, t.schemaname, t.tablename, c.relreplident, " +
            std::string(lists ? "t.rowfilter" : "NULL") +
            " FROM pg_publication_tables t JOIN pg_namespace n ON n.nspname = t.schemaname "
            "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename "
            "WHERE t.pubname = " +
            pub + " ORDER BY t.schemaname, t.tablename");
  std::vector<PublishedTable> out;
  for (const auto& row : listed) {
    auto r = std::make_shared<Relation>();
    r->oid = static_cast<Oid>(std::stoul(text(row, 0, "table oid")));
    r->schema = text(row, 1, "schema");
    r->name = text(row, 2, "table name");
    r->replica_identity = text(row, 3, "replica identity").at(0);
    // Flagged as pgoutput flags the replica identity: the primary key by
    // default, the chosen index for 'i', every column for 'f'.
    const std::string oid = std::to_string(r->oid);
    const auto columns = query(
        "SELECT a.attname, a.atttypid, a.atttypmod, c.relreplident = 'f' OR a.attnum = "
        "ANY(coalesce(i.indkey::int2[], '{}')) FROM pg_attribute a JOIN pg_class c ON c.oid = "
        "a.attrelid LEFT JOIN pg_index i ON i.indrelid = c.oid AND ((c.relreplident = 'd' AND "
        "i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident)) WHERE a.attrelid = " +
        oid + " AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''" +
        (lists ? " AND a.attname IN (SELECT unnest(attnames) FROM pg_publication_tables WHERE "
                 "pubname = " +
                     pub + " AND schemaname = " + literal(r->schema) +
                     " AND tablename = " + literal(r->name) + ")"
               : std::string()) +
        " ORDER BY a.attnum");
    for (const auto& col : columns) {
      Column c;
      c.name = text(col, 0, "column name");
      c.type_oid = static_cast<Oid>(std::stoul(text(col, 1, "column type")));
      c.type_modifier = std::stoi(text(col, 2, "type modifier"));
      c.key = text(col, 3, "key flag") == "t";
      r->columns.push_back(std::move(c));
    }
    PublishedTable t;
    t.relation = std::move(r);
    if (row.at(4)) t.row_filter = *row[4];
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace millrace::changefeed
