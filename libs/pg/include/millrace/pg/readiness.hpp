#pragma once
// A readiness probe on PostgreSQL (runtime::Health).

#include <string>

#include "millrace/pg/options.hpp"
#include "millrace/runtime/health.hpp"

namespace millrace::pg {

// A probe with a session of its own (named `application_name`), opened on
// the first call and again after a failure: problem "postgresql" when it
// cannot connect within 3 s or `SELECT 1` fails, with the server's words.
// Credentials PostgreSQL refuses are a problem too, not an exception.
// With `check_migrations` (a service that keeps tables in the schema), also
// problem "schema" while the schema lacks migrations this build needs
// (pg::schema_status), naming the step that applies them: a service whose
// role may not migrate waits for it (pg::prepare_schema).
runtime::Health::Probe database_probe(const PgOptions& pg, std::string application_name,
                                      bool check_migrations = false);

}  // namespace millrace::pg
