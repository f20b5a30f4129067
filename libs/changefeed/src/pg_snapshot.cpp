#include "pg_snapshot.hpp"

#include "millrace/core/failure.hpp"
#include "published_tables.hpp"

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
      "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint - 946684800000000");
  taken_at_pg_us_ = std::stoll(text(info.at(0), 0, "clock"));
}

std::vector<std::shared_ptr<const Relation>> PgSnapshot::tables() {
  std::vector<std::shared_ptr<const Relation>> out;
  for (auto& t :
       published_tables([&](const std::string& sql) { return conn_.command(sql); },
                        [&](std::string_view s) { return conn_.quote_literal(s); }, publication_)) {
    if (t.row_filter) row_filters_[t.relation->oid] = *t.row_filter;
    out.push_back(std::move(t.relation));
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
