#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <pqxx/pqxx>

#include "millrace/core/failure.hpp"

namespace millrace::pg {

// Opens a connection whose search_path is `schema` (created if missing, so a
// fresh database or a per-test schema works without manual steps).
// Throws core::InfraError: retryable when the server is unreachable, fatal
// for bad credentials or a malformed conninfo.
std::unique_ptr<pqxx::connection> connect(const std::string& conninfo, const std::string& schema,
                                          std::string_view application_name);

// Maps a PostgreSQL failure to its class:
// - connection loss, admin shutdown, commit-in-doubt, serialization failures,
//   deadlocks, too many connections, out of disk -> retryable (the pipeline
//   pauses and resumes from PostgreSQL's own offsets, so replay is safe);
// - data exceptions (SQLSTATE class 22) and integrity violations (23) ->
//   poison: one record the database refuses;
// - everything else (undefined table, permission, syntax) -> fatal.
core::FailureClass classify(const std::exception& error);

// Rethrows the exception in flight as core::InfraError with its class and a
// message prefixed by `context`. Call only inside a catch block.
[[noreturn]] void rethrow_classified(std::string_view context);

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Every migration shipped with this build, in version order.
std::span<const Migration> migrations();

// Applies the migrations not yet applied to `schema`, each in its own
// transaction, under an advisory lock so that workers starting together do
// not race. Refuses (fatal) to run if an applied migration's text changed or
// the database has a version this build does not know. Returns how many it
// applied.
int migrate(pqxx::connection& connection, const std::string& schema);

}  // namespace millrace::pg
