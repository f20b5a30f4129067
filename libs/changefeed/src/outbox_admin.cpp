// `millrace outbox install|cleanup`: the outbox table's PostgreSQL side.
#include "millrace/changefeed/admin.hpp"
#include "millrace/core/options.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::changefeed {

void install_outbox(pqxx::connection& conn, const OutboxInstall& in) {
  try {
    pqxx::work tx(conn);
    const std::string schema = tx.quote_name(in.schema);
    const std::string table = schema + "." + tx.quote_name(in.table);
    // The columns and types of Debezium's documented outbox table, so its
    // event router reads the same table with its defaults.
    tx.exec("CREATE TABLE IF NOT EXISTS " + table +
            " (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, aggregateid "
            "varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb, created_at "
            "timestamptz NOT NULL DEFAULT now())");
    // Inserts carry the whole row whatever the identity; a delete (the
    // service's, or the cleanup's) then logs only the id.
    tx.exec("ALTER TABLE " + table + " REPLICA IDENTITY DEFAULT");
    tx.exec("CREATE INDEX IF NOT EXISTS " + tx.quote_name(in.table + "_created_at") + " ON " +
            table + " (created_at)");
    const bool exists = tx.exec1("SELECT count(*) FROM pg_publication WHERE pubname = " +
                                 tx.quote(in.publication))[0]
                            .as<int>() == 1;
    tx.exec((exists ? "ALTER PUBLICATION " : "CREATE PUBLICATION ") +
            tx.quote_name(in.publication) + (exists ? " SET TABLE " : " FOR TABLE ") + table);
    if (!in.grant_insert_to.empty()) {
      tx.exec("GRANT USAGE ON SCHEMA " + schema + " TO " + tx.quote_name(in.grant_insert_to));
      tx.exec("GRANT INSERT, DELETE ON " + table + " TO " + tx.quote_name(in.grant_insert_to));
    }
    if (!in.grant_select_to.empty()) {
      tx.exec("GRANT USAGE ON SCHEMA " + schema + " TO " + tx.quote_name(in.grant_select_to));
      tx.exec("GRANT SELECT ON " + table + " TO " + tx.quote_name(in.grant_select_to));
    }
    tx.commit();
  } catch (const std::exception&) {
    pg::rethrow_classified("outbox table " + in.schema + "." + in.table);
  }
}

std::int64_t cleanup_outbox(pqxx::connection& conn, const std::string& schema,
                            const std::string& table, const std::string& slot,
                            std::int64_t min_age_s) {
  bool found = false;
  std::int64_t deleted = 0;
  try {
    pqxx::work tx(conn);
    const auto r = tx.exec_params(
        "SELECT catalog_xmin IS NOT NULL FROM pg_replication_slots WHERE slot_name = $1", slot);
    found = !r.empty() && r[0][0].as<bool>();
    if (found) {
      // age() orders transaction ids across wraparound: a row whose xmin is
      // older than the slot's catalog_xmin was inserted by a transaction that
      // had ended before the slot's restart position, so before what the
      // feed confirmed, so it is published (or was rolled back).
      // created_at only when asked: a service's own outbox table may have
      // no such column.
      const std::string young = min_age_s > 0
                                    ? " AND created_at <= now() - make_interval(secs => " +
                                          std::to_string(min_age_s) + ")"
                                    : "";
      deleted = static_cast<std::int64_t>(
          tx.exec_params("DELETE FROM " + tx.quote_name(schema) + "." + tx.quote_name(table) +
                             " WHERE age(xmin) > (SELECT age(catalog_xmin) FROM "
                             "pg_replication_slots WHERE slot_name = $1)" +
                             young,
                         slot)
              .affected_rows());
    }
    tx.commit();
  } catch (const std::exception&) {
    pg::rethrow_classified("cleaning outbox table " + schema + "." + table);
  }
  if (!found) {
    throw core::UsageError("replication slot " + slot +
                           " does not exist (or holds no catalog_xmin): nothing is known to be "
                           "published, nothing is deleted");
  }
  return deleted;
}

}  // namespace millrace::changefeed
