#pragma once

// Setting up and taking down the change feed's PostgreSQL side.
// `millrace changefeed publish|drop-slot` run these.

#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace millrace::changefeed {

// The tables a publication names by default: the store events, the
// aggregates behind the views, and the reference tables where they exist.
std::vector<std::string> default_tables(pqxx::connection& conn, const std::string& schema);

// Creates `publication` for `tables` of `schema`, or sets an existing one
// to exactly those tables. With `grant_select_to`, that role may also read
// them (and use the schema): the initial snapshot reads the tables as the
// feed's role. Must run as the tables' owner (PostgreSQL's rule for
// publications). Throws core::InfraError classified as usual.
void publish(pqxx::connection& conn, const std::string& publication, const std::string& schema,
             const std::vector<std::string>& tables, const std::string& grant_select_to = {});

// Drops the replication slot, which releases the WAL it holds. Refused
// while a feed streams from it. Connects as the replication role.
void drop_slot(const std::string& replication_conninfo, const std::string& slot);

}  // namespace millrace::changefeed
