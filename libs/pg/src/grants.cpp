#include "millrace/pg/grants.hpp"

#include <utility>

#include "millrace/core/options.hpp"
#include "millrace/kinds/registry.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/runtime/registry.hpp"

namespace millrace::pg {

namespace {

// `service`'s registry entry; throws core::UsageError when it has no role of
// its own to grant to.
const runtime::ServiceEntry& granted(std::string_view service) {
  for (const auto& e : runtime::services()) {
    if (e.name == service && e.database_role == "own") return e;
  }
  throw core::UsageError("no service \"" + std::string(service) +
                         "\" with a role of its own in services/registry.json");
}

// The tables of the declared kinds (orders, and those in `kinds_dir`),
// which their declarations name rather than the registry: the sink writes
// a kind's records and lines, the aggregator its sums.
std::vector<runtime::TableGrant> kind_grants(std::string_view service,
                                             const std::string& kinds_dir) {
  std::vector<runtime::TableGrant> out;
  for (const auto& d : kinds::all_kinds(kinds_dir)) {
    auto tables = kind_table_names(d);
    if (d.kind == kinds::kStoreEvent) {
      // Its records and sums are the registry's tables; only its declared
      // views are its declaration's.
      tables.records.clear();
      tables.sums.clear();
    }
    if (service == "sink") {
      if (!tables.records.empty()) out.push_back({"SELECT, INSERT", std::move(tables.records)});
    } else if (service == "aggregator") {
      if (!tables.sums.empty()) out.push_back({"SELECT, INSERT, UPDATE", std::move(tables.sums)});
      if (!tables.views.empty()) {
        out.push_back({"SELECT, INSERT, UPDATE, DELETE", std::move(tables.views)});
      }
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> granted_services() {
  std::vector<std::string> out;
  for (const auto& e : runtime::services()) {
    if (e.database_role == "own") out.push_back(e.name);
  }
  return out;
}

std::vector<std::string> grant_statements(pqxx::connection& connection, const std::string& schema,
                                          std::string_view service, const std::string& role,
                                          const std::string& kinds_dir) {
  const std::string s = connection.quote_name(schema);
  const std::string r = connection.quote_name(role);
  const auto& entry = granted(service);
  std::vector<std::string> out = {"GRANT USAGE ON SCHEMA " + s + " TO " + r};
  std::vector<runtime::TableGrant> grants;
  if (entry.consumer_group) grants = runtime::consumer_grants();
  grants.insert(grants.end(), entry.grants.begin(), entry.grants.end());
  for (auto& g : kind_grants(service, kinds_dir)) grants.push_back(std::move(g));
  for (const auto& g : grants) {
    std::string tables;
    for (const auto& t : g.tables) {
      tables += (tables.empty() ? "" : ", ") + s + "." + connection.quote_name(t);
    }
    out.push_back("GRANT " + g.privileges + " ON " + tables + " TO " + r);
  }
  // Partitions are made and dropped through functions that run as the
  // owner, so the role itself has no DDL.
  if (!entry.functions.empty()) {
    std::string functions;
    for (const auto& f : entry.functions)
      functions += (functions.empty() ? "" : ", ") + s + "." + f;
    out.push_back("GRANT EXECUTE ON FUNCTION " + functions + " TO " + r);
  }
  // Identity and serial columns draw from sequences.
  if (entry.sequences) out.push_back("GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + s + " TO " + r);
  return out;
}

void lock_grants(pqxx::transaction_base& tx, const std::string& schema) {
  tx.exec("SELECT pg_advisory_xact_lock(hashtext(" + tx.quote("millrace.grants." + schema) + "))");
}

void grant_service(pqxx::connection& connection, const std::string& schema,
                   std::string_view service, const std::string& role,
                   const std::string& kinds_dir) {
  try {
    pqxx::work tx(connection);
    lock_grants(tx, schema);
    for (const auto& statement : grant_statements(connection, schema, service, role, kinds_dir)) {
      tx.exec(statement);
    }
    tx.commit();
  } catch (const std::exception&) {
    rethrow_classified("granting " + std::string(service) + "'s privileges to " + role +
                       " on schema " + schema);
  }
}

}  // namespace millrace::pg
