#include "millrace/pg/readiness.hpp"

#include <exception>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <utility>

#include "millrace/core/failure.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::pg {

runtime::Health::Probe database_probe(const PgOptions& pg, std::string application_name,
                                      bool check_migrations) {
  struct State {
    std::string url;
    std::string url_env;
    std::string schema;
    std::string application_name;
    SessionLimits limits;
    bool check_migrations = false;
    std::unique_ptr<pqxx::connection> conn;
  };
  auto state = std::make_shared<State>();
  state->url = pg.url;
  state->url_env = pg.url_env;
  state->schema = pg.schema;
  state->application_name = std::move(application_name);
  state->check_migrations = check_migrations;
  // Bounded like the service's sessions, but never longer than a probe may
  // take: /readyz reports a server that hangs instead of waiting on it.
  state->limits = pg.limits;
  state->limits.connect_timeout_s = 3;
  state->limits.statement_timeout_ms = 3000;
  state->limits.tcp_user_timeout_ms = 3000;
  return [state]() -> std::optional<runtime::Problem> {
    try {
      if (!state->conn || !state->conn->is_open()) {
        state->conn = connect(state->url, state->schema, state->application_name, state->limits);
      }
      {
        pqxx::nontransaction tx(*state->conn);
        tx.exec("SELECT 1");
      }
      if (state->check_migrations) {
        std::optional<SchemaStatus> status;
        try {
          status = schema_status(*state->conn, state->schema);
        } catch (const core::InfraError& e) {
          if (e.retryable()) throw;
          return runtime::Problem{
              "schema", e.what(),
              "run the Millrace image that migrated the schema, or a newer one"};
        }
        if (!status->current) {
          return runtime::Problem{
              "schema", status->detail + ": waiting for `millrace migrate`",
              std::string("run `millrace migrate` as the schema's owner") +
                  (status->no_usage ? ", then `millrace grant`" : "") +
                  " (Kubernetes: the millrace-migrate Job; compose: the migrate service)"};
        }
      }
      return std::nullopt;
    } catch (const std::exception& e) {
      state->conn.reset();
      return runtime::Problem{"postgresql", std::string("PostgreSQL does not answer: ") + e.what(),
                              "check that PostgreSQL runs and " + state->url_env};
    }
  };
}

}  // namespace millrace::pg
