#pragma once

// The privileges millrace-api's two roles need, and nothing more
// (`millrace api grant`). Caller contract: a connection of the tables'
// owner (MILLRACE_PG); the roles exist already.

#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace millrace::api {

// The relations each role is granted, for messages and tests.
std::vector<std::string> reader_relations();  // the public views, partition_accounting, catalog
std::vector<std::string> admin_relations();   // categories, products

// In one transaction: `reader` (if not empty) gets USAGE on `schema` and
// SELECT on reader_relations(); `admin` (if not empty) USAGE and SELECT,
// INSERT, UPDATE, DELETE on admin_relations(). Neither gets anything on
// store_events or the other tables. Throws core::InfraError (an unknown
// role or a missing table is fatal).
void grant(pqxx::connection& connection, const std::string& schema, const std::string& reader,
           const std::string& admin);

}  // namespace millrace::api
