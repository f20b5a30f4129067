#pragma once
// The privileges each consumer-group service's own database role needs,
// and nothing more (`millrace grant`; docs/operations.md, "Database
// roles"). With them a service runs with MILLRACE_MIGRATE=false: no DDL,
// no CREATE on the database or the schema, no privilege on another
// service's tables. millrace-api's reader and admin roles are
// api::grant's.
//
// Caller contract: a connection of the tables' owner (the role that ran
// `millrace migrate`), after the migrations; the roles exist already
// (CREATE ROLE ... LOGIN PASSWORD ..., by whoever administers roles).
#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::pg {

enum class ServiceKind : std::uint8_t { kSink, kAggregator, kArchiver, kWebhooks, kCache };

// "sink", "aggregator", "archiver", "webhooks", "cache".
std::string_view to_string(ServiceKind kind);

// One GRANT: `privileges` ("SELECT, INSERT") on `tables` of the schema.
struct TableGrant {
  std::string privileges;
  std::vector<std::string> tables;
};

// What `kind` is granted, besides USAGE on the schema and on its sequences.
std::vector<TableGrant> service_grants(ServiceKind kind);

// The statements grant_service() runs, for a DBA who runs them himself
// (`millrace grant --sql`).
std::vector<std::string> grant_statements(pqxx::connection& connection, const std::string& schema,
                                          ServiceKind kind, const std::string& role);

// Runs grant_statements() in one transaction. Throws core::InfraError (an
// unknown role or a missing table is fatal).
void grant_service(pqxx::connection& connection, const std::string& schema, ServiceKind kind,
                   const std::string& role);

}  // namespace millrace::pg
