#include "millrace/pg/grants.hpp"

#include "millrace/pg/database.hpp"

namespace millrace::pg {

namespace {

// The tables every consumer group's fenced commit touches (libs/stream).
std::vector<TableGrant> group_grants() {
  return {{"SELECT, INSERT", {"consumer_groups", "offset_gaps"}},
          {"SELECT, INSERT, UPDATE", {"consumer_offsets", "record_outcomes"}}};
}

}  // namespace

std::string_view to_string(ServiceKind kind) {
  switch (kind) {
    case ServiceKind::kSink:
      return "sink";
    case ServiceKind::kAggregator:
      return "aggregator";
    case ServiceKind::kArchiver:
      return "archiver";
    case ServiceKind::kWebhooks:
      return "webhooks";
    case ServiceKind::kCache:
      return "cache";
  }
  return "?";
}

std::vector<TableGrant> service_grants(ServiceKind kind) {
  std::vector<TableGrant> out;
  const auto add = [&](std::vector<TableGrant> more) {
    for (auto& g : more) out.push_back(std::move(g));
  };
  switch (kind) {
    case ServiceKind::kSink:
      add(group_grants());
      // Rows go in by COPY and INSERT ... ON CONFLICT DO NOTHING; the
      // catalog enriches them (MILLRACE_SINK_ENRICH). Partitions are made
      // and dropped through two functions that run as the owner
      // (grant_statements), so the role itself has no DDL.
      add({{"SELECT, INSERT", {"store_events"}},
           {"SELECT", {"categories", "products", "store_partitions", "store_layout"}}});
      break;
    case ServiceKind::kAggregator:
      add(group_grants());
      add({{"SELECT, INSERT, UPDATE",
            {"agg_hourly", "agg_daily", "agg_products", "agg_categories", "aggregator_partitions"}},
           {"SELECT, INSERT, DELETE", {"aggregator_seen_ids", "aggregator_reused_ids"}},
           {"SELECT, INSERT", {"late_events", "refused_records"}},
           {"SELECT", {"categories", "products"}}});
      break;
    case ServiceKind::kArchiver:
      add(group_grants());
      add({{"SELECT, INSERT, UPDATE", {"archive_files"}}});
      break;
    case ServiceKind::kWebhooks:
      add(group_grants());
      add({{"SELECT, UPDATE", {"webhook_endpoints"}},
           {"SELECT, INSERT, UPDATE, DELETE", {"webhook_deliveries"}},
           {"SELECT, INSERT, UPDATE", {"webhook_read_marks"}},
           {"SELECT, INSERT", {"refused_records"}}});
      break;
    case ServiceKind::kCache:
      add({{"SELECT", {"categories", "products"}}});
      break;
  }
  return out;
}

std::vector<std::string> grant_statements(pqxx::connection& connection, const std::string& schema,
                                          ServiceKind kind, const std::string& role) {
  const std::string s = connection.quote_name(schema);
  const std::string r = connection.quote_name(role);
  std::vector<std::string> out = {"GRANT USAGE ON SCHEMA " + s + " TO " + r};
  for (const auto& g : service_grants(kind)) {
    std::string tables;
    for (const auto& t : g.tables) {
      tables += (tables.empty() ? "" : ", ") + s + "." + connection.quote_name(t);
    }
    out.push_back("GRANT " + g.privileges + " ON " + tables + " TO " + r);
  }
  if (kind == ServiceKind::kSink) {
    out.push_back(
        "GRANT EXECUTE ON FUNCTION " + s + ".millrace_store_ensure(timestamptz, timestamptz), " +
        s + ".millrace_store_expire(interval), " + s + ".millrace_store_prune(interval) TO " + r);
  }
  // Identity and serial columns draw from sequences.
  if (kind != ServiceKind::kCache) {
    out.push_back("GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + s + " TO " + r);
  }
  return out;
}

void grant_service(pqxx::connection& connection, const std::string& schema, ServiceKind kind,
                   const std::string& role) {
  try {
    pqxx::work tx(connection);
    for (const auto& statement : grant_statements(connection, schema, kind, role)) {
      tx.exec(statement);
    }
    tx.commit();
  } catch (const std::exception&) {
    rethrow_classified("granting " + std::string(to_string(kind)) + "'s privileges to " + role +
                       " on schema " + schema);
  }
}

}  // namespace millrace::pg
