#include "millrace/pg/options.hpp"

#include <cctype>

#include "millrace/core/failure.hpp"
#include "millrace/core/setting.hpp"

namespace millrace::pg {

void register_options(core::OptionSet& o, PgOptions& p, const std::string& url_env) {
  p.url_env = url_env;
  core::declare(o, &p.url, {.flag = "pg", .env = url_env, .help = "PostgreSQL conninfo or URI"});
  core::declare(
      o, &p.schema,
      {.flag = "pg-schema",
       .env = "MILLRACE_PG_SCHEMA",
       .help = "PostgreSQL schema holding Millrace's tables (created if missing, except by "
               "millrace-api, whose roles may not)"});
  core::declare(o, &p.limits.statement_timeout_ms,
                {.flag = "pg-statement-timeout-ms",
                 .env = "MILLRACE_PG_STATEMENT_TIMEOUT_MS",
                 .help = "PostgreSQL statement_timeout of each session (0: none)",
                 .min = 0,
                 .max = 3'600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(
      o, &p.limits.lock_timeout_ms,
      {.flag = "pg-lock-timeout-ms",
       .env = "MILLRACE_PG_LOCK_TIMEOUT_MS",
       .help =
           "PostgreSQL lock_timeout: the longest wait for another session's row locks (0: none)",
       .min = 0,
       .max = 3'600'000,
       .unit = core::DurationUnit::kMilliseconds});
  core::declare(
      o, &p.limits.idle_in_transaction_timeout_ms,
      {.flag = "pg-idle-in-transaction-timeout-ms",
       .env = "MILLRACE_PG_IDLE_IN_TRANSACTION_TIMEOUT_MS",
       .help = "PostgreSQL ends a session idle inside a transaction this long (a frozen member), "
               "releasing its locks (0: never)",
       .min = 0,
       .max = 3'600'000,
       .unit = core::DurationUnit::kMilliseconds});
  core::declare(
      o, &p.limits.tcp_user_timeout_ms,
      {.flag = "pg-tcp-user-timeout-ms",
       .env = "MILLRACE_PG_TCP_USER_TIMEOUT_MS",
       .help = "Drop a PostgreSQL connection whose sent data stays unacknowledged this long "
               "(libpq tcp_user_timeout; keepalives probe an idle one)",
       .min = 1000,
       .max = 3'600'000,
       .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &p.limits.connect_timeout_s,
                {.flag = "pg-connect-timeout-s",
                 .env = "MILLRACE_PG_CONNECT_TIMEOUT_S",
                 .help = "Give up one attempt to connect to PostgreSQL after this long",
                 .min = 2,
                 .max = 3600,
                 .unit = core::DurationUnit::kSeconds});
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
