#include "millrace/pg/options.hpp"

#include <cctype>

#include "millrace/core/failure.hpp"

namespace millrace::pg {

void register_options(core::OptionSet& o, PgOptions& p, const std::string& url_env) {
  p.url_env = url_env;
  o.add_string("pg", url_env, &p.url, "PostgreSQL conninfo or URI");
  o.add_string("pg-schema", "MILLRACE_PG_SCHEMA", &p.schema,
               "PostgreSQL schema holding Millrace's tables (created if missing, except by "
               "millrace-api, whose roles may not)");
  o.add_duration("pg-statement-timeout-ms", "MILLRACE_PG_STATEMENT_TIMEOUT_MS",
                 &p.limits.statement_timeout_ms, core::OptionSet::DurationUnit::kMilliseconds,
                 "PostgreSQL statement_timeout of each session (0: none)", 0, 3'600'000);
  o.add_duration(
      "pg-lock-timeout-ms", "MILLRACE_PG_LOCK_TIMEOUT_MS", &p.limits.lock_timeout_ms,
      core::OptionSet::DurationUnit::kMilliseconds,
      "PostgreSQL lock_timeout: the longest wait for another session's row locks (0: none)", 0,
      3'600'000);
  o.add_duration("pg-idle-in-transaction-timeout-ms", "MILLRACE_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS",
                 &p.limits.idle_in_transaction_timeout_ms,
                 core::OptionSet::DurationUnit::kMilliseconds,
                 "PostgreSQL ends a session idle inside a transaction this long (a frozen member), "
                 "releasing its locks (0: never)",
                 0, 3'600'000);
  o.add_duration("pg-tcp-user-timeout-ms", "MILLRACE_PG_TCP_USER_TIMEOUT_MS",
                 &p.limits.tcp_user_timeout_ms, core::OptionSet::DurationUnit::kMilliseconds,
                 "Drop a PostgreSQL connection whose sent data stays unacknowledged this long "
                 "(libpq tcp_user_timeout; keepalives probe an idle one)",
                 1000, 3'600'000);
  o.add_duration("pg-connect-timeout-s", "MILLRACE_PG_CONNECT_TIMEOUT_S",
                 &p.limits.connect_timeout_s, core::OptionSet::DurationUnit::kSeconds,
                 "Give up one attempt to connect to PostgreSQL after this long", 2, 3600);
}

std::string service_env(std::string_view service, std::string_view what) {
  std::string out = "MILLRACE_";
  for (const char c : service) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  out += '_';
  out += what;
  return out;
}

void register_service_options(core::OptionSet& o, PgOptions& p, std::string_view service,
                              const std::string& old_env) {
  register_options(o, p, service_env(service, "PG"));
  if (!old_env.empty()) {
    o.add_env_fallback("pg", old_env, "set " + p.url_env + " (or MILLRACE_PG) instead");
  }
  o.add_env_fallback("pg", "MILLRACE_PG");
}

void validate(const PgOptions& p) {
  if (p.url.empty()) throw core::UsageError("--pg / " + p.url_env + " must not be empty");
  if (p.schema.empty())
    throw core::UsageError("--pg-schema / MILLRACE_PG_SCHEMA must not be empty");
}

}  // namespace millrace::pg
