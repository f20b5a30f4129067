#pragma once

#include <string>
#include <string_view>

#include "millrace/core/options.hpp"
#include "millrace/pg/database.hpp"

namespace millrace::pg {

// The PostgreSQL settings every service and command shares, registered once
// (--pg, --pg-schema and the session bounds, with their MILLRACE_
// variables). Member initialisers are the defaults.
struct PgOptions {
  std::string url = "postgresql://millrace:millrace@127.0.0.1:5432/millrace";
  std::string url_env = "MILLRACE_PG";  // set by register_options, for messages
  std::string schema = "public";
  // No statement, lock wait or open transaction of a session (or of a member
  // frozen or cut off) can hold others longer than these.
  SessionLimits limits{.statement_timeout_ms = 30000,
                       .lock_timeout_ms = 5000,
                       .idle_in_transaction_timeout_ms = 15000,
                       .tcp_user_timeout_ms = 10000,
                       .connect_timeout_s = 10};

  // Only the connection's bounds, for sessions that may run long on purpose
  // (a migration rewrites tables and waits for its advisory lock).
  SessionLimits connect_limits() const {
    SessionLimits l;
    l.tcp_user_timeout_ms = limits.tcp_user_timeout_ms;
    l.connect_timeout_s = limits.connect_timeout_s;
    return l;
  }
};

// `url_env` is --pg's variable: MILLRACE_PG for the tables' owner; the
// change feed connects as its own replication role (MILLRACE_CHANGEFEED_PG).
void register_options(core::OptionSet& options, PgOptions& pg,
                      const std::string& url_env = "MILLRACE_PG");
// --pg of the service `service` (services/registry.json's name): its own
// MILLRACE_<SERVICE>_PG, or MILLRACE_PG when that is unset, so one variable
// can serve every service and each can still have its own role. `old_env`,
// when not empty, is a name the service read before, still read (after its
// own, before MILLRACE_PG) with a deprecation note.
void register_service_options(core::OptionSet& options, PgOptions& pg, std::string_view service,
                              const std::string& old_env = "");
// MILLRACE_<SERVICE>_<what>: the variable of `service`'s own `what` ("PG").
std::string service_env(std::string_view service, std::string_view what);
// Throws core::UsageError naming the setting.
void validate(const PgOptions& pg);

}  // namespace millrace::pg
