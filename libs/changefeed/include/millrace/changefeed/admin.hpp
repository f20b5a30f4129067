#pragma once

// Setting up and taking down the change feed's PostgreSQL side.
// `millrace changefeed publish|drop-slot` run these.

#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace millrace::changefeed {

// The tables a publication names by default: the store events, the
// aggregates behind the views, and the reference tables where they exist.
std::vector<std::string> default_tables(pqxx::connection& conn, const std::string& schema);

// Creates `publication` for `tables` of `schema`, or sets an existing one
// to exactly those tables, and creates the signal table of backfills
// (`backfill_table` in `schema`) when missing. With `grant_select_to`, that
// role may also read the tables (and use the schema), and read and update
// the signal table: the initial snapshot and backfills read the tables as
// the feed's role. Must run as the tables' owner (PostgreSQL's rule for
// publications). Throws core::InfraError classified as usual.
void publish(pqxx::connection& conn, const std::string& publication, const std::string& schema,
             const std::vector<std::string>& tables, const std::string& grant_select_to = {},
             const std::string& backfill_table = "changefeed_backfills");

// A backfill request (docs/backfills.md): a row in the signal table, which
// the feed of `publication` picks up. Returns its id. `where` may be empty;
// `audience` ("webhooks:<id>") gives its records to one consumer only.
std::int64_t request_backfill(pqxx::connection& conn, const std::string& schema,
                              const std::string& backfill_table, const std::string& publication,
                              const std::string& table, const std::string& where,
                              std::int64_t chunk_size, const std::string& audience = {});

// The tables `publication` holds, as schema.name.
std::vector<std::string> published_table_names(pqxx::connection& conn,
                                               const std::string& publication);

// Asks a backfill to stop: a pending one is cancelled at once, a running
// one by its feed at its next chunk. False when there is no such request
// or it has ended.
bool cancel_backfill(pqxx::connection& conn, const std::string& schema,
                     const std::string& backfill_table, std::int64_t id);

struct BackfillRow {
  std::int64_t id = 0;
  std::string state, table, where, error, requested_at;
  bool cancel = false;
  std::int64_t chunks = 0, rows = 0;
};
// The signal table's requests of every publication, newest first.
std::vector<BackfillRow> list_backfills(pqxx::connection& conn, const std::string& schema,
                                        const std::string& backfill_table);

// Drops the replication slot, which releases the WAL it holds. Refused
// while a feed streams from it. Connects as the replication role.
void drop_slot(const std::string& replication_conninfo, const std::string& slot);

}  // namespace millrace::changefeed
