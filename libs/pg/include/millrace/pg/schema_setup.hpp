#pragma once
// What every service that keeps tables in the schema does about it before it
// starts: one step, so that a role that may not run DDL is treated the same
// by all of them (docs/operations.md, "Database roles").

#include <chrono>
#include <functional>
#include <pqxx/pqxx>
#include <string>

#include "millrace/kinds/declaration.hpp"
#include "millrace/pg/declared_views.hpp"
#include "millrace/pg/options.hpp"

namespace millrace::pg {

// Whether the session's role may apply the migrations to `schema`: CREATE
// on the database when the schema is missing (connect() makes it), else
// CREATE on the schema and, once schema_migrations exists, membership in
// the role that owns it (the tables' owner: migrations alter its tables).
// Read from the catalogs; runs no DDL. Throws core::InfraError.
bool may_migrate(pqxx::connection& connection, const std::string& schema);

// Returns true once `pg.schema` holds every migration this build carries:
// at once, without DDL, when it does already, whatever the role. Behind,
// with `migrate` (MILLRACE_MIGRATE) and a role that may_migrate, applies
// them (pg::migrate). Behind otherwise, logs that once as `component` and
// reads the versions again every second until another step (the owner's
// `millrace migrate`) has applied them; `pause(wait)` sleeps between reads
// and returns true to give up (a stop), and then this returns false.
// Throws core::InfraError: retryable when PostgreSQL is unreachable (the
// caller retries as it retries any session), fatal for a schema ahead of
// this build or an edited migration.
bool prepare_schema(const PgOptions& pg, const std::string& component, bool migrate,
                    const std::function<bool(std::chrono::milliseconds)>& pause);

// At each new session of a service of kind `d`: the kind's tables made or
// brought up to its declaration (ensure_kind_tables; a kind of the
// operator's, in MILLRACE_KINDS_DIR, has no migration that would) when
// `migrate` and the role may_migrate. A role that may not run DDL runs none:
// the owner's `millrace migrate` (--kinds-dir) makes them. A statement
// that waits the session's lock_timeout for a lock gives way (its
// transaction rolls back, so the sessions queued behind it go on): throws
// core::InfraError (retryable) naming the sessions that hold the schema's
// tables longer than that.
void prepare_kind_tables(pqxx::connection& connection, const std::string& schema,
                         const kinds::Declaration& d, bool migrate,
                         ViewChanges views = ViewChanges::kKeep);

}  // namespace millrace::pg
