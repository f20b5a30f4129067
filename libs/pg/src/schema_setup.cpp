#include "millrace/pg/schema_setup.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>

#include "migrate_waits.hpp"
#include "millrace/core/failure.hpp"
#include "millrace/pg/database.hpp"
#include "millrace/pg/kind_tables.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/retry.hpp"

namespace millrace::pg {

namespace {

// Often enough that a service starts soon after `millrace migrate`; one
// catalog read a second is nothing to PostgreSQL.
constexpr std::chrono::milliseconds kSchemaPoll{1000};

}  // namespace

bool may_migrate(pqxx::connection& connection, const std::string& schema) {
  try {
    pqxx::read_transaction tx(connection);
    // schema_migrations' owner stands for the tables' owner: `millrace
    // migrate` makes them all as one role.
    return tx
        .exec_params1(
            "SELECT CASE WHEN n.oid IS NULL"
            " THEN has_database_privilege(current_database(), 'CREATE')"
            " ELSE has_schema_privilege(n.oid, 'CREATE')"
            " AND (c.oid IS NULL OR pg_has_role(c.relowner, 'USAGE')) END"
            " FROM (SELECT 1) one LEFT JOIN pg_namespace n ON n.nspname = $1"
            " LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'schema_migrations'",
            schema)[0]
        .as<bool>();
  } catch (const std::exception&) {
    rethrow_classified("read the privileges on schema " + schema);
  }
}

bool prepare_schema(const PgOptions& pg, const std::string& component, bool migrate,
                    const std::function<bool(std::chrono::milliseconds)>& pause) {
  bool told = false;
  // Bounded connects, but no statement timeout: a migration may rewrite a
  // large table. Its waits for locks are migrate()'s (pg::MigrateWaits).
  auto conn = connect(pg.url, pg.schema, component + "-migrate", pg.connect_limits());
  for (;;) {
    const auto status = schema_status(*conn, pg.schema);
    if (status.current) {
      if (told) runtime::log_info(component, "schema " + pg.schema + " is migrated now; starting");
      return true;
    }
    if (migrate && may_migrate(*conn, pg.schema)) {
      conn.reset();
      auto owner = connect(pg.url, pg.schema, component + "-migrate", pg.connect_limits(),
                           SchemaSetup::kCreateIfMissing);
      int applied = 0;
      try {
        pg::MigrateWaits waits;
        waits.pause = pause;
        applied = pg::migrate(*owner, pg.schema, waits);
      } catch (const runtime::Stopped&) {
        return false;  // while it waited for a lock: nothing of a step is left applied
      }
      if (applied > 0) {
        runtime::log_info(component, "applied " + std::to_string(applied) +
                                         " migration(s) to schema " + pg.schema);
      }
      return true;
    }
    if (!told) {
      // Once: the wait may be long (a migrate Job not run yet), and /readyz
      // says it for as long as it lasts (check "schema").
      runtime::log_warn(component,
                        status.detail + "; " +
                            (migrate ? "this role may not apply migrations"
                                     : "this service does not migrate (MILLRACE_MIGRATE=false)") +
                            ": waiting for `millrace migrate` as the schema's owner" +
                            (status.no_usage ? ", then `millrace grant`" : ""));
      told = true;
    }
    if (pause(kSchemaPoll)) return false;
  }
}

void prepare_kind_tables(pqxx::connection& connection, const std::string& schema,
                         const kinds::Declaration& d, bool migrate, ViewChanges views) {
  if (!migrate || !may_migrate(connection, schema)) return;
  try {
    ensure_kind_tables(connection, d, views);
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() != detail::kLockNotAvailable) throw;
    // The statement's transaction is rolled back: the session may ask who
    // holds the lock, the sessions that hold theirs longer than it waited.
    const auto waited =
        pqxx::nontransaction(connection)
            .exec1(
                "SELECT current_setting('lock_timeout'), "
                "(extract(epoch FROM current_setting('lock_timeout')::interval) * 1000)::bigint");
    throw core::InfraError(
        core::FailureClass::kRetryable,
        "kind " + d.kind + "'s tables waited " + waited[0].as<std::string>() +
            " (MILLRACE_PG_LOCK_TIMEOUT_MS) for a lock and gave way, so that the sessions queued "
            "behind them do not wait: " +
            detail::lock_holders(connection, schema,
                                 std::chrono::milliseconds(waited[1].as<std::int64_t>()),
                                 kind_tables_lock(d.kind)) +
            "; tried again with the next session");
  }
}

}  // namespace millrace::pg
