#pragma once
// The privileges each service's own database role needs, as
// services/registry.json lists them, and nothing more (`millrace grant`; docs/operations.md,
// "Database roles"). With them a service runs with MILLRACE_MIGRATE=false: no DDL, no CREATE on the
// database or the schema, no privilege on another service's tables. millrace-api's reader and admin
// roles are api::grant's.
//
// Caller contract: a connection of the tables' owner (the role that ran
// `millrace migrate`), after the migrations; the roles exist already
// (CREATE ROLE ... LOGIN PASSWORD ..., by whoever administers roles).
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::pg {

// The services a role of their own is granted to (services/registry.json,
// database_role "own"): "sink", "aggregator", ...
std::vector<std::string> granted_services();

// The statements grant_service() runs, for a DBA who runs them himself
// (`millrace grant --sql`).
std::vector<std::string> grant_statements(pqxx::connection& connection, const std::string& schema,
                                          std::string_view service, const std::string& role);

// Runs grant_statements() in one transaction. Throws core::InfraError (an
// unknown role or a missing table is fatal).
void grant_service(pqxx::connection& connection, const std::string& schema,
                   std::string_view service, const std::string& role);

}  // namespace millrace::pg
