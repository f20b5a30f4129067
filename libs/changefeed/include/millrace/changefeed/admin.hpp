#pragma once

// Setting up and taking down the change feed's PostgreSQL side.
// `millrace changefeed publish|drop-slot` run these.

#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace millrace::changefeed {

// The tables a publication names by default, those of them that exist in
// `schema`: the store events and their sums, every declared kind's records,
// lines and sums (the built-in kinds and those in `kinds_dir`, as their
// declarations name them), and the reference tables. Throws
// core::UsageError for a declaration that does not parse.
std::vector<std::string> default_tables(pqxx::connection& conn, const std::string& schema,
                                        const std::string& kinds_dir);

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
  std::string publication, state, table, where, error, requested_at;
  bool cancel = false;
  std::int64_t chunks = 0, rows = 0;
};
// The signal table's requests of every publication, newest first.
std::vector<BackfillRow> list_backfills(pqxx::connection& conn, const std::string& schema,
                                        const std::string& backfill_table);

// Who can serve a publication's backfill requests now, as the tables' owner
// (the CLI) sees it: a request nothing serves waits for ever, and the feed
// that could tell may be the one without the rights to write it anywhere.
struct FeedOfPublication {
  std::string role;  // the role the feed logs in as
  // Its rights on the signal table: "ok", "missing" or "denied".
  std::string signal_state;
  // The publication's tables (schema.name) it may not read: a backfill of
  // one of them fails.
  std::vector<std::string> unreadable;
};
struct BackfillServers {
  std::string publication;
  std::string signal_table;         // schema.name, as a fix names it
  std::string schema;               // the signal table's
  int server_version = 0;           // server_version_num
  std::vector<std::string> tables;  // the publication's, as schema.name
  // The feeds streaming from a slot for this publication now (found by
  // their replication connections' application_name).
  std::vector<FeedOfPublication> feeds;
};
BackfillServers backfill_servers(pqxx::connection& conn, const std::string& schema,
                                 const std::string& backfill_table, const std::string& publication);

// Why no running feed will serve the publication's requests now, with the
// fix; empty when one can. Names each role at fault.
std::string unserved_reason(const BackfillServers& servers);
// Why a backfill of `table` (as asked: schema.name, or a name) would wait
// or fail, with the fix; empty when a running feed can serve it.
std::string backfill_warning(const BackfillServers& servers, const std::string& table);

// The outbox (docs/outbox.md): creates table `table` of `schema` with the
// columns Debezium's outbox event router reads by default (id uuid primary
// key, aggregatetype, aggregateid, type, payload jsonb) and created_at,
// when missing; replica identity default (the primary key: a delete logs
// only the id, not the payload); an index on created_at for the cleanup;
// and publication `publication` of that table (created, or set to it).
// With `grant_insert_to`, that role (a service's) may insert and delete
// rows; with `grant_select_to`, that one (the feed's) may read them. Run as
// the schema's owner. Throws core::InfraError classified as usual.
struct OutboxInstall {
  std::string schema;
  std::string table = "outbox";
  std::string publication = "millrace_outbox";
  std::string grant_insert_to;
  std::string grant_select_to;
};
void install_outbox(pqxx::connection& conn, const OutboxInstall& install);

// Deletes the rows of outbox table `table` that the feed of replication
// slot `slot` has published: those inserted by a transaction older than
// every one the slot may still decode (its catalog_xmin), which all
// committed before the position the feed confirmed. With `min_age_s`, only
// rows at least that old (created_at). Returns how many. Throws
// core::UsageError when the slot does not exist.
std::int64_t cleanup_outbox(pqxx::connection& conn, const std::string& schema,
                            const std::string& table, const std::string& slot,
                            std::int64_t min_age_s);

// Drops the replication slot, which releases the WAL it holds. Refused
// while a feed streams from it. Connects as the replication role.
void drop_slot(const std::string& replication_conninfo, const std::string& slot);

}  // namespace millrace::changefeed
