#include "pg_snapshot.hpp"

#include "millrace/core/failure.hpp"

namespace millrace::changefeed {

using core::FailureClass;
using core::InfraError;

namespace {

const std::string& text(const pg::ReplicationConnection::Row& row, std::size_t i,
                        const char* what) {
  if (i >= row.size() || !row[i]) {
    throw InfraError(FailureClass::kFatal, std::string("snapshot: the server answered no ") + what);
  }
  return *row[i];
}

}  // namespace

PgSnapshot::PgSnapshot(pg::ReplicationConnection& conn, const std::string& slot,
                       const std::string& publication)
    : conn_(conn), publication_(publication) {
  // USE_SNAPSHOT must be the first command of a REPEATABLE READ transaction:
  // the transaction then reads as of the slot's consistent point.
  conn_.command("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const auto created = conn_.command("CREATE_REPLICATION_SLOT " + conn_.quote_identifier(slot) +
                                     " LOGICAL pgoutput USE_SNAPSHOT");
  if (created.size() != 1) {
    throw InfraError(FailureClass::kFatal, "CREATE_REPLICATION_SLOT answered an unexpected shape");
  }
  const auto point = parse_lsn(text(created[0], 1, "consistent point"));
  if (!point)
    throw InfraError(FailureClass::kFatal, "CREATE_REPLICATION_SLOT: bad consistent point");
  consistent_point_ = *point;
  const auto info = conn_.command(
      "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint - 946684800000000, "
      "current_setting('server_version_num')::int");
  taken_at_pg_us_ = std::stoll(text(info.at(0), 0, "clock"));
  server_version_ = std::stoi(text(info.at(0), 1, "server version"));
}

std::vector<std::shared_ptr<const Relation>> PgSnapshot::tables() {
  // PostgreSQL 15 added column lists and row filters to publications; the
  // snapshot publishes what the stream would: those columns, those rows.
  const bool lists = server_version_ >= 150000;
  const std::string pub = conn_.quote_literal(publication_);
  const auto listed =
      conn_.command("SELECT c.oid, t.schemaname, t.tablename, c.relreplident, " +
                    std::string(lists ? "t.rowfilter" : "NULL") +
                    " FROM pg_publication_tables t JOIN pg_namespace n ON n.nspname = t.schemaname "
                    "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename "
                    "WHERE t.pubname = " +
                    pub + " ORDER BY t.schemaname, t.tablename");
  std::vector<std::shared_ptr<const Relation>> out;
  for (const auto& row : listed) {
    auto r = std::make_shared<Relation>();
    r->oid = static_cast<Oid>(std::stoul(text(row, 0, "table oid")));
    r->schema = text(row, 1, "schema");
    r->name = text(row, 2, "table name");
    r->replica_identity = text(row, 3, "replica identity").at(0);
    if (row.at(4)) row_filters_[r->oid] = *row[4];
    // The columns pgoutput sends (not dropped, not generated, in the
    // publication's column list), flagged as pgoutput flags the replica
    // identity: the primary key by default, the chosen index for 'i',
    // every column for 'f'.
    const std::string oid = std::to_string(r->oid);
    const auto columns = conn_.command(
        "SELECT a.attname, a.atttypid, a.atttypmod, c.relreplident = 'f' OR a.attnum = "
        "ANY(coalesce(i.indkey::int2[], '{}')) FROM pg_attribute a JOIN pg_class c ON c.oid = "
        "a.attrelid LEFT JOIN pg_index i ON i.indrelid = c.oid AND ((c.relreplident = 'd' AND "
        "i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident)) WHERE a.attrelid = " +
        oid + " AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''" +
        (lists ? " AND a.attname IN (SELECT unnest(attnames) FROM pg_publication_tables WHERE "
                 "pubname = " +
                     pub + " AND schemaname = " + conn_.quote_literal(r->schema) +
                     " AND tablename = " + conn_.quote_literal(r->name) + ")"
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
    out.push_back(std::move(r));
  }
  return out;
}

void PgSnapshot::rows(const Relation& table, const std::function<void(Tuple&&)>& on_row) {
  std::string select = "SELECT ";
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    if (i != 0) select += ", ";
    select += conn_.quote_identifier(table.columns[i].name);
  }
  if (table.columns.empty()) select += "NULL";  // a table of no columns still has rows
  select +=
      " FROM " + conn_.quote_identifier(table.schema) + "." + conn_.quote_identifier(table.name);
  if (const auto it = row_filters_.find(table.oid); it != row_filters_.end()) {
    select += " WHERE (" + it->second + ")";
  }
  try {
    conn_.for_each_row(select, [&](pg::ReplicationConnection::Row&& row) {
      Tuple tuple;
      tuple.reserve(table.columns.size());
      for (std::size_t i = 0; i < table.columns.size(); ++i) {
        Value v;
        if (row[i]) {
          v.kind = Value::Kind::kText;
          v.data = std::move(*row[i]);
        }
        tuple.push_back(std::move(v));
      }
      on_row(std::move(tuple));
    });
  } catch (const InfraError& e) {
    if (std::string_view(e.what()).find("permission denied") == std::string_view::npos) throw;
    throw InfraError(FailureClass::kFatal,
                     std::string(e.what()) +
                         "; the initial snapshot reads the published tables, so the feed's role "
                         "needs SELECT on them: run `millrace changefeed publish --grant-select "
                         "ROLE` as their owner");
  }
}

void PgSnapshot::end() {
  conn_.command("COMMIT");
}

}  // namespace millrace::changefeed
