#include "millrace/changefeed/admin.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "millrace/kinds/registry.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/grants.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/pg/replication.hpp"
#include "millrace/pg/row.hpp"
#include "pg_backfill.hpp"
#include "pg_stream.hpp"

namespace millrace::changefeed {

std::vector<std::string> default_tables(pqxx::connection& conn, const std::string& schema,
                                        const std::string& kinds_dir) {
  auto kinds = kinds::all_kinds(kinds_dir);
  std::stable_partition(kinds.begin(), kinds.end(),
                        [](const kinds::Declaration& d) { return d.kind == kinds::kStoreEvent; });
  std::vector<std::string> candidates;
  for (const auto& d : kinds) {
    auto tables = pg::kind_table_names(d);
    candidates.insert(candidates.end(), tables.records.begin(), tables.records.end());
    candidates.insert(candidates.end(), tables.sums.begin(), tables.sums.end());
    candidates.insert(candidates.end(), tables.views.begin(), tables.views.end());
  }
  // Reference data, when present.
  candidates.insert(candidates.end(), {"categories", "products", "assets"});
  try {
    pqxx::nontransaction tx(conn);
    std::vector<std::string> out;
    for (const auto& table : candidates) {
      const auto r =
          tx.exec1("SELECT to_regclass(" +
                   tx.quote(tx.quote_name(schema) + "." + tx.quote_name(table)) + ") IS NOT NULL");
      if (r[0].as<bool>()) out.emplace_back(table);
    }
    return out;
  } catch (const std::exception&) {
    pg::rethrow_classified("listing the tables to publish");
  }
}

namespace {

std::string signal_table(pqxx::connection& conn, const std::string& schema,
                         const std::string& backfill_table) {
  return conn.quote_name(schema) + "." + conn.quote_name(backfill_table);
}

}  // namespace

void publish(pqxx::connection& conn, const std::string& publication, const std::string& schema,
             const std::vector<std::string>& tables, const std::string& grant_select_to,
             const std::string& backfill_table) {
  try {
    pqxx::work tx(conn);
    pg::lock_grants(tx, schema);
    std::string list;
    for (const auto& t : tables) {
      if (!list.empty()) list += ", ";
      list += tx.quote_name(schema) + "." + tx.quote_name(t);
    }
    const bool exists =
        tx.exec1("SELECT count(*) FROM pg_publication WHERE pubname = " + tx.quote(publication))[0]
            .as<int>() == 1;
    tx.exec((exists ? "ALTER PUBLICATION " : "CREATE PUBLICATION ") + tx.quote_name(publication) +
            (exists ? " SET TABLE " : " FOR TABLE ") + list);
    // A partitioned table (store_events) is published as itself, not as the
    // partition each row is in, and partitions made later are in it too.
    tx.exec("ALTER PUBLICATION " + tx.quote_name(publication) +
            " SET (publish_via_partition_root = true)");
    const std::string signals = signal_table(conn, schema, backfill_table);
    tx.exec(signal_table_ddl(signals));
    if (!grant_select_to.empty()) {
      tx.exec("GRANT USAGE ON SCHEMA " + tx.quote_name(schema) + " TO " +
              tx.quote_name(grant_select_to));
      tx.exec("GRANT SELECT ON " + list + " TO " + tx.quote_name(grant_select_to));
      tx.exec("GRANT SELECT, INSERT, UPDATE ON " + signals + " TO " +
              tx.quote_name(grant_select_to));
    }
    tx.commit();
  } catch (const std::exception&) {
    pg::rethrow_classified("publication " + publication);
  }
}

std::int64_t request_backfill(pqxx::connection& conn, const std::string& schema,
                              const std::string& backfill_table, const std::string& publication,
                              const std::string& table, const std::string& where,
                              std::int64_t chunk_size, const std::string& audience) {
  try {
    pqxx::work tx(conn);
    const auto id =
        tx.exec_params1("INSERT INTO " + signal_table(conn, schema, backfill_table) +
                            " (publication, table_name, where_sql, chunk_size, audience) "
                            "VALUES ($1, $2, nullif($3, ''), $4, nullif($5, '')) RETURNING id",
                        publication, table, where, chunk_size, audience)[0]
            .as<std::int64_t>();
    tx.commit();
    return id;
  } catch (const std::exception&) {
    pg::rethrow_classified("requesting a backfill");
  }
}

std::vector<std::string> published_table_names(pqxx::connection& conn,
                                               const std::string& publication) {
  try {
    pqxx::nontransaction tx(conn);
    std::vector<std::string> out;
    for (const auto& r : tx.exec_params("SELECT schemaname || '.' || tablename FROM "
                                        "pg_publication_tables WHERE pubname = $1 ORDER BY 1",
                                        publication)) {
      out.push_back(r[0].as<std::string>());
    }
    return out;
  } catch (const std::exception&) {
    pg::rethrow_classified("listing the tables of publication " + publication);
  }
}

bool cancel_backfill(pqxx::connection& conn, const std::string& schema,
                     const std::string& backfill_table, std::int64_t id) {
  try {
    pqxx::work tx(conn);
    const auto r = tx.exec_params("UPDATE " + signal_table(conn, schema, backfill_table) +
                                      " SET cancel = true, state = CASE state WHEN 'pending' THEN "
                                      "'cancelled' ELSE state END, "
                                      "finished_at = CASE state WHEN 'pending' THEN now() END "
                                      "WHERE id = $1 AND state IN ('pending', 'running')",
                                  id);
    tx.commit();
    return r.affected_rows() == 1;
  } catch (const std::exception&) {
    pg::rethrow_classified("cancelling backfill " + std::to_string(id));
  }
}

std::vector<BackfillRow> list_backfills(pqxx::connection& conn, const std::string& schema,
                                        const std::string& backfill_table) {
  try {
    pqxx::nontransaction tx(conn);
    std::vector<BackfillRow> out;
    for (const auto& r : tx.exec(
             "SELECT id, state, table_name, coalesce(where_sql, ''), coalesce(error, ''), "
             "to_char(requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), cancel, "
             "chunks, rows_sent, publication FROM " +
             signal_table(conn, schema, backfill_table) + " ORDER BY id DESC")) {
      BackfillRow b;
      pg::read_row(r, b.id, b.state, b.table, b.where, b.error, b.requested_at, b.cancel, b.chunks,
                   b.rows, b.publication);
      out.push_back(std::move(b));
    }
    return out;
  } catch (const std::exception&) {
    pg::rethrow_classified("listing backfills");
  }
}

BackfillServers backfill_servers(pqxx::connection& conn, const std::string& schema,
                                 const std::string& backfill_table,
                                 const std::string& publication) {
  BackfillServers out;
  out.publication = publication;
  out.schema = schema;
  out.signal_table = schema + "." + backfill_table;
  try {
    pqxx::nontransaction tx(conn);
    out.server_version = tx.exec1("SELECT current_setting('server_version_num')::int")[0].as<int>();
    // pg_stat_activity shows every session's role and application_name to
    // any role; has_*_privilege() answers for another role to any role.
    const auto rows =
        tx.exec_params("SELECT a.usename, a.usesysid, " + signal_state_sql("a.usesysid") +
                           " FROM pg_stat_activity a " + kSignalTableJoins +
                           " WHERE a.datname = current_database() AND a.application_name = $3 "
                           "AND a.usename IS NOT NULL ORDER BY 1",
                       schema, backfill_table, feed_application_name(publication));
    for (const auto& r : rows) {
      FeedOfPublication feed;
      feed.role = r[0].as<std::string>();
      feed.signal_state = r[2].as<std::string>();
      // By OID, not by name: the planner may push the privilege check down
      // to every relation of the catalog, and resolving the name of one in
      // a schema the caller may not use (pg_toast) fails the whole query.
      for (const auto& t : tx.exec_params(
               "SELECT p.schemaname || '.' || p.tablename FROM pg_publication_tables p "
               "JOIN pg_namespace n ON n.nspname = p.schemaname "
               "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename "
               "WHERE p.pubname = $1 AND NOT has_table_privilege($2::oid, c.oid, 'SELECT') "
               "ORDER BY 1",
               publication, r[1].as<std::string>())) {
        feed.unreadable.push_back(t[0].as<std::string>());
      }
      out.feeds.push_back(std::move(feed));
    }
  } catch (const std::exception&) {
    pg::rethrow_classified("looking for the feeds of publication " + publication);
  }
  out.tables = published_table_names(conn, publication);
  return out;
}

namespace {

// Each role once, in order: a feed restarting may show twice for a moment.
std::vector<std::string> roles_of(const std::vector<const FeedOfPublication*>& feeds) {
  std::vector<std::string> roles;
  for (const auto* f : feeds) {
    if (std::find(roles.begin(), roles.end(), f->role) == roles.end()) roles.push_back(f->role);
  }
  return roles;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == words.size() ? " and " : ", ") + words[i];
  }
  return out;
}

// An identifier as a GRANT must spell it: quoted unless PostgreSQL would
// read it unquoted as the same name.
std::string ident(const std::string& name) {
  bool plain = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (const char c : name) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (plain) return name;
  std::string out = "\"";
  for (const char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string qualified(const std::string& schema_dot_name) {
  const auto dot = schema_dot_name.find('.');
  if (dot == std::string::npos) return ident(schema_dot_name);
  return ident(schema_dot_name.substr(0, dot)) + "." + ident(schema_dot_name.substr(dot + 1));
}

// `millrace changefeed publish` for the publication as it stands, granting
// `role`; empty when its tables are not all in one schema (publish takes
// one).
std::string publish_command(const BackfillServers& s, const std::string& role) {
  std::string tables;
  for (const auto& t : s.tables) {
    if (t.rfind(s.schema + ".", 0) != 0) return {};
    tables += (tables.empty() ? "" : ",") + t.substr(s.schema.size() + 1);
  }
  if (tables.empty()) return {};
  return "millrace changefeed publish --publication " + s.publication + " --tables " + tables +
         " --grant-select " + role;
}

}  // namespace

std::string unserved_reason(const BackfillServers& s) {
  if (s.server_version != 0 && s.server_version < 140000) {
    return "PostgreSQL " + std::to_string(s.server_version / 10000) +
           " sends no logical messages, which backfills need (PostgreSQL 14 or later)";
  }
  if (s.feeds.empty()) {
    return "no feed of publication " + s.publication +
           " is streaming now; one started with --publication " + s.publication + " runs it";
  }
  std::vector<const FeedOfPublication*> denied;
  for (const auto& f : s.feeds) {
    if (f.signal_state == "ok") return {};
    denied.push_back(&f);
  }
  if (denied.front()->signal_state == "missing") {
    return "there is no signal table " + s.signal_table +
           ": run `millrace changefeed publish` as the tables' owner";
  }
  const auto roles = roles_of(denied);
  std::string fix;
  for (const auto& role : roles) {
    fix += (fix.empty() ? "" : " ") + std::string("GRANT USAGE ON SCHEMA ") + ident(s.schema) +
           " TO " + ident(role) + "; GRANT SELECT, INSERT, UPDATE ON " + qualified(s.signal_table) +
           " TO " + ident(role) + ";";
  }
  // The command only with the publication's own tables: without --tables,
  // publish would also set the publication to the default ones.
  if (const auto command = publish_command(s, roles.front()); !command.empty()) {
    fix += " (or `" + command + "`, which also grants SELECT on the tables)";
  }
  return "the feed of publication " + s.publication + " logs in as " + joined(roles) +
         ", which may not read and update " + s.signal_table + "; as the tables' owner: " + fix;
}

std::string backfill_warning(const BackfillServers& s, const std::string& table) {
  if (auto reason = unserved_reason(s); !reason.empty()) return reason;
  // Served, but the request fails at once when its table is not published
  // (as describe() matches it) or no serving role may read it.
  std::string found;
  for (const auto& t : s.tables) {
    if (t == table || (found.empty() && t.substr(t.find('.') + 1) == table)) found = t;
  }
  if (found.empty()) {
    return "table " + table + " is not in publication " + s.publication +
           ", so the backfill will fail; `millrace changefeed publish --tables ...` sets its "
           "tables";
  }
  std::vector<const FeedOfPublication*> cannot_read;
  for (const auto& f : s.feeds) {
    if (f.signal_state != "ok") continue;
    if (std::find(f.unreadable.begin(), f.unreadable.end(), found) == f.unreadable.end()) return {};
    cannot_read.push_back(&f);
  }
  const auto roles = roles_of(cannot_read);
  return "the feed of publication " + s.publication + " logs in as " + joined(roles) +
         ", which may not read " + found +
         ", so the backfill will fail; as the tables' owner: " + "GRANT SELECT ON " +
         qualified(found) + " TO " + ident(roles.front()) + ";";
}

void drop_slot(const std::string& replication_conninfo, const std::string& slot) {
  // A feed's session outlasts the feed by a moment (its server process ends
  // once it sees the connection closed): a slot in use is asked again for
  // a while before the refusal stands.
  constexpr auto kEndingWait = std::chrono::seconds(10);
  pg::ReplicationConnection conn(replication_conninfo, "millrace-changefeed-admin");
  const auto deadline = std::chrono::steady_clock::now() + kEndingWait;
  for (;;) {
    try {
      conn.command("DROP_REPLICATION_SLOT \"" + slot + "\"");
      return;
    } catch (const pg::SlotInUse& e) {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw core::InfraError(core::FailureClass::kFatal,
                               std::string(e.what()) + "; still in use after " +
                                   std::to_string(kEndingWait.count()) +
                                   " s: stop the feed that streams from it first");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace millrace::changefeed
