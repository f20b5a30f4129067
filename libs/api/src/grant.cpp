#include "millrace/api/grant.hpp"

#include "millrace/kinds/registry.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/grants.hpp"
#include "views.hpp"

namespace millrace::api {

std::vector<std::string> reader_relations(const std::string& kinds_dir) {
  std::vector<std::string> out;
  for (const auto& v : pg::public_views(kinds::all_kinds(kinds_dir))) out.emplace_back(v.name);
  out.emplace_back(accounting_view().name);
  // The live stream's health: each partition's last commit, the webhook
  // queue's counts.
  out.emplace_back("consumer_offsets");
  out.emplace_back("webhook_backlog");
  // Whether a declared view is filled yet (its rows' Millrace-View-Fill).
  out.emplace_back("aggregator_views");
  out.emplace_back("aggregator_view_fills");
  for (auto& t : admin_relations()) out.push_back(std::move(t));
  return out;
}

std::vector<std::string> admin_relations() {
  return {"categories", "products"};
}

std::vector<RelationGrant> admin_webhook_grants() {
  // Every column but the secrets: a new one is set through
  // millrace_webhook_rotate_secret, which runs as the owner.
  return {{"webhook_endpoints",
           "SELECT (id, url, description, previous_secret_until, tables, ops, active, "
           "disabled_reason, disabled_at, created_at, lease_token, lease_until, lease_pid, "
           "ordering, format, filter, rate_limit, rate_next_at, disable_after, failing_since), "
           "INSERT, UPDATE",
           false},
          {"webhook_endpoints_id_seq", "USAGE", true},
          {"webhook_deliveries", "SELECT, UPDATE", false},
          {"webhook_filtered", "SELECT", false}};
}

void grant(pqxx::connection& conn, const std::string& schema, const std::string& reader,
           const std::string& admin, const std::string& kinds_dir) {
  try {
    pqxx::work tx(conn);
    pg::lock_grants(tx, schema);
    const auto list = [&](const std::vector<std::string>& relations) {
      std::string out;
      for (const auto& r : relations) {
        out += (out.empty() ? "" : ", ") + tx.quote_name(schema) + "." + tx.quote_name(r);
      }
      return out;
    };
    for (const auto* role : {&reader, &admin}) {
      if (role->empty()) continue;
      tx.exec("GRANT USAGE ON SCHEMA " + tx.quote_name(schema) + " TO " + tx.quote_name(*role));
    }
    if (!reader.empty()) {
      tx.exec("GRANT SELECT ON " + list(reader_relations(kinds_dir)) + " TO " +
              tx.quote_name(reader));
    }
    if (!admin.empty()) {
      tx.exec("GRANT SELECT, INSERT, UPDATE, DELETE ON " + list(admin_relations()) + " TO " +
              tx.quote_name(admin));
      for (const auto& g : admin_webhook_grants()) {
        tx.exec("GRANT " + g.privileges + " ON " + (g.sequence ? "SEQUENCE " : "") +
                list({g.relation}) + " TO " + tx.quote_name(admin));
      }
      tx.exec("GRANT EXECUTE ON FUNCTION " + tx.quote_name(schema) + "." +
              std::string(kRotateSecretFunction) + " TO " + tx.quote_name(admin));
    }
    tx.commit();
  } catch (const std::exception&) {
    pg::rethrow_classified("granting millrace-api's roles on schema " + schema);
  }
}

}  // namespace millrace::api
