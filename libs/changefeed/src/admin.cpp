#include "millrace/changefeed/admin.hpp"

#include "millrace/pg/database.hpp"
#include "millrace/pg/replication.hpp"

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

void publish(pqxx::connection& conn, const std::string& publication, const std::string& schema,
             const std::vector<std::string>& tables, const std::string& grant_select_to) {
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
    if (!grant_select_to.empty()) {
      tx.exec("GRANT USAGE ON SCHEMA " + tx.quote_name(schema) + " TO " +
              tx.quote_name(grant_select_to));
      tx.exec("GRANT SELECT ON " + list + " TO " + tx.quote_name(grant_select_to));
    }
    tx.commit();
  } catch (const std::exception&) {
    pg::rethrow_classified("publication " + publication);
  }
}

void drop_slot(const std::string& replication_conninfo, const std::string& slot) {
  pg::ReplicationConnection conn(replication_conninfo, "millrace-changefeed-admin");
  conn.command("DROP_REPLICATION_SLOT \"" + slot + "\"");
}

}  // namespace millrace::changefeed
