#pragma once

// The privileges millrace-api's two roles need, and nothing more
// (`millrace api grant`). Caller contract: a connection of the tables'
// owner (MILLRACE_PG); the roles exist already.

#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::api {

// The relations each role is granted, for messages and tests.
// The public views (of the built-in kinds, and those in `kinds_dir` when it
// is not empty), partition_accounting, the catalog.
std::vector<std::string> reader_relations(const std::string& kinds_dir = "");
std::vector<std::string> admin_relations();  // categories, products

// What the admin role is also granted for /v1/webhooks/endpoints, each
// relation with its own privileges: the endpoints (SELECT, INSERT, UPDATE;
// none is deleted) and the sequence of their ids, the deliveries (SELECT,
// UPDATE: replaying), the filtered counts (SELECT). The reader gets none of
// them: endpoints hold URLs and secrets.
struct RelationGrant {
  std::string relation;
  std::string privileges;  // "SELECT, UPDATE"
  bool sequence = false;
};
std::vector<RelationGrant> admin_webhook_grants();
// ...and EXECUTE on this, the secrets' rotation (it runs as the owner: the
// admin role may not read a secret).
inline constexpr std::string_view kRotateSecretFunction =
    "millrace_webhook_rotate_secret(bigint, text, bigint)";

// In one transaction: `reader` (if not empty) gets USAGE on `schema` and
// SELECT on reader_relations(); `admin` (if not empty) USAGE and SELECT,
// INSERT, UPDATE, DELETE on admin_relations(), and admin_webhook_grants().
// Neither gets anything on
// store_events or the other tables. Throws core::InfraError (an unknown
// role or a missing table is fatal).
void grant(pqxx::connection& connection, const std::string& schema, const std::string& reader,
           const std::string& admin, const std::string& kinds_dir = "");

}  // namespace millrace::api
