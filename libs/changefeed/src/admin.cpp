#include "millrace/changefeed/admin.hpp"

#include "millrace/pg/database.hpp"
#include "millrace/pg/replication.hpp"
#include "pg_backfill.hpp"

namespace millrace::changefeed {

std::vector<std::string> default_tables(pqxx::connection& conn, const std::string& schema) {
  static const char* const kTables[] = {"store_events", "agg_hourly", "agg_daily", "agg_products",
                                        "agg_categories",
                                        // orders (proto/kinds/order.json) and their sums
                                        "orders", "order_lines", "agg_web_orders_hourly",
                                        "agg_web_orders_daily", "agg_web_orders_items",
                                        // reference data, when present
                                        "categories", "products"};
  try {
    pqxx::nontransaction tx(conn);
    std::vector<std::string> out;
    for (const char* table : kTables) {
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
             "chunks, rows_sent FROM " +
             signal_table(conn, schema, backfill_table) + " ORDER BY id DESC")) {
      BackfillRow b;
      b.id = r[0].as<std::int64_t>();
      b.state = r[1].as<std::string>();
      b.table = r[2].as<std::string>();
      b.where = r[3].as<std::string>();
      b.error = r[4].as<std::string>();
      b.requested_at = r[5].as<std::string>();
      b.cancel = r[6].as<bool>();
      b.chunks = r[7].as<std::int64_t>();
      b.rows = r[8].as<std::int64_t>();
      out.push_back(std::move(b));
    }
    return out;
  } catch (const std::exception&) {
    pg::rethrow_classified("listing backfills");
  }
}

void drop_slot(const std::string& replication_conninfo, const std::string& slot) {
  pg::ReplicationConnection conn(replication_conninfo, "millrace-changefeed-admin");
  conn.command("DROP_REPLICATION_SLOT \"" + slot + "\"");
}

}  // namespace millrace::changefeed
