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
// The sink's and aggregator's roles also get the tables of every declared
// kind: built in, and in `kinds_dir` when it is not empty.
std::vector<std::string> grant_statements(pqxx::connection& connection, const std::string& schema,
                                          std::string_view service, const std::string& role,
                                          const std::string& kinds_dir = "");

// Serialises the transaction `tx` with every other one that holds this lock
// for the same schema, until it ends: PostgreSQL refuses a GRANT that
// changes an object's privileges while another transaction's GRANT on it is
// in flight ("tuple concurrently updated"), and `millrace grant`,
// `millrace api grant` and `millrace changefeed publish` all grant USAGE on
// the schema (docker-compose.yml starts them together). Each takes it first.
void lock_grants(pqxx::transaction_base& tx, const std::string& schema);

// Runs grant_statements() in one transaction, under lock_grants(). Throws core::InfraError (an
// unknown role or a missing table is fatal).
void grant_service(pqxx::connection& connection, const std::string& schema,
                   std::string_view service, const std::string& role,
                   const std::string& kinds_dir = "");

}  // namespace millrace::pg
