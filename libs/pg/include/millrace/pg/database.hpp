#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <string_view>

#include "millrace/core/failure.hpp"

namespace millrace::pg {

// Bounds on one session, so that nothing it does (or fails to do, when its
// client freezes or the network drops) holds locks or waits for ever.
// 0 leaves a setting as the server or the conninfo has it.
struct SessionLimits {
  std::int64_t statement_timeout_ms = 0;
  std::int64_t lock_timeout_ms = 0;
  // The server ends a session idle inside a transaction this long, which
  // releases the row locks a frozen client holds.
  std::int64_t idle_in_transaction_timeout_ms = 0;
  // libpq: drop the connection when sent data stays unacknowledged this
  // long; keepalives then probe an idle connection within about as long.
  std::int64_t tcp_user_timeout_ms = 0;
  std::int64_t connect_timeout_s = 0;
};

// `conninfo` (a URI or key=value pairs) with libpq's connect_timeout,
// keepalive and tcp_user_timeout parameters from `limits` added, unless the
// conninfo sets them itself (the operator's word wins).
std::string bounded_conninfo(const std::string& conninfo, const SessionLimits& limits);

// What connect() does about the schema before it sets the search_path.
enum class SchemaSetup : std::uint8_t {
  // Nothing, the default: a service's role needs no CREATE privilege and
  // runs no DDL (docs/operations.md, "Database roles"). PostgreSQL accepts a
  // search_path naming a schema that is not there (or that the role may not
  // use), so a caller that wants to fail early checks it itself.
  kUseExisting,
  // CREATE SCHEMA IF NOT EXISTS, so a fresh database or a per-test schema
  // works without manual steps: only the connections that migrate
  // (MILLRACE_MIGRATE=true, `millrace migrate`). The role needs CREATE on
  // the database: PostgreSQL checks that before it looks whether the schema
  // exists.
  kCreateIfMissing,
};

// Opens a connection whose search_path is `schema` (see SchemaSetup), in
// UTC, named `application_name`, with the session bounded by `limits`.
// Throws core::InfraError: retryable when the server is unreachable, fatal
// for bad credentials or a malformed conninfo.
std::unique_ptr<pqxx::connection> connect(const std::string& conninfo, const std::string& schema,
                                          std::string_view application_name,
                                          const SessionLimits& limits = {},
                                          SchemaSetup setup = SchemaSetup::kUseExisting);

// Maps a PostgreSQL failure to its class:
// - connection loss, admin shutdown, commit-in-doubt, serialization failures,
//   deadlocks, too many connections, out of disk -> retryable (the pipeline
//   pauses and resumes from PostgreSQL's own offsets, so replay is safe);
// - data exceptions (SQLSTATE class 22), integrity violations (23) and
//   program limits (54) -> poison: a record the database refuses;
// - everything else (undefined table, permission, syntax) -> fatal.
core::FailureClass classify(const std::exception& error);
// The same mapping for a bare SQLSTATE (code paths on libpq directly); an
// empty one means the connection was lost mid-statement: retryable.
core::FailureClass classify_sqlstate(std::string_view sqlstate);

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

// How migrate() waits for its locks (docs/operations.md, "Migrations and
// locks").
struct MigrateWaits {
  // A statement that waits this long for a table's lock gives way
  // (PostgreSQL's lock_timeout: its transaction rolls back), and its step
  // is tried again after `retry`: a migration queued for a lock behind a
  // long transaction (a report's query) would otherwise queue every
  // session that uses the table behind itself.
  // The advisory lock another migrate holds is waited for in such waits
  // too, one after another, and taken as soon as it is let go.
  std::chrono::milliseconds lock_timeout{10'000};
  std::chrono::milliseconds retry{5'000};
  // Waits `wait`, or less when stopping: true then, and migrate() throws
  // runtime::Stopped, its lock let go. Empty: sleeps.
  std::function<bool(std::chrono::milliseconds)> pause;
  // What a wait says, who it waits for (at its start, then at most once a
  // minute). Empty: logged as a warning.
  std::function<void(const std::string&)> tell;
};

// Applies the migrations not yet applied to `schema`, each in its own
// transaction, under an advisory lock so that workers starting together do
// not race; then records the registry's consumer-group kinds and makes the
// built-in kinds' tables current. Refuses (fatal) to run if an applied
// migration's text changed or the database has a version this build does
// not know. Returns how many it applied. Sets the connection's
// lock_timeout while it runs (`waits`), and restores it.
int migrate(pqxx::connection& connection, const std::string& schema,
            const MigrateWaits& waits = {});
// Runs `step`, DDL of the caller's own in transactions of its own (a
// declared kind's tables), as migrate() runs each migration: a statement
// that waits `waits.lock_timeout` for a lock gives way and the step is run
// again, `what` and the holders told. Same lock_timeout contract.
void giving_way(pqxx::connection& connection, const std::string& schema, const std::string& what,
                const MigrateWaits& waits, const std::function<void()>& step);
// The same with `list` in place of migrations(), and nothing after them
// (tests of migrate()'s waits).
int migrate_list(pqxx::connection& connection, const std::string& schema,
                 std::span<const Migration> list, const MigrateWaits& waits);

// How `schema` stands against the migrations this build carries, read from
// schema_migrations alone: no DDL, so a service's role (LOGIN, and what
// `millrace grant` gives it) may ask.
struct SchemaStatus {
  // Every migration applied, none edited since: the service may start.
  bool current = false;
  // The role may not use the schema (no USAGE): it is not migrated, or not
  // granted yet, and the role cannot tell which.
  bool no_usage = false;
  // When not current, how far it is ("schema s has 3 of the 17 migrations
  // this build needs"), for logs and /readyz.
  std::string detail;
};

// Throws core::InfraError: fatal when the schema has a version this build
// does not know or a migration whose text changed since it was applied;
// retryable when the server is unreachable.
SchemaStatus schema_status(pqxx::connection& connection, const std::string& schema);

// For a session that must not run ahead of the migrations (each new session
// of a consumer that does not migrate): returns when `schema` is current
// (schema_status). Throws core::InfraError, retryable, saying how far it is
// and what to run, while it is behind (the owner's `millrace migrate` may not
// have run yet, or may be running); fatal as schema_status.
void require_migrated(pqxx::connection& connection, const std::string& schema);

}  // namespace millrace::pg
