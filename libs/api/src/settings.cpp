// The settings of api, each declared once (core::declare): --help,
// --check-config, the SIGHUP marks and docs/configuration.md are made from
// these declarations, in this order.

#include "millrace/api/config.hpp"
#include "millrace/cache/config.hpp"
#include "millrace/core/options.hpp"
#include "millrace/core/setting.hpp"
#include "millrace/httpd/tls_options.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/options.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/webhooks/config.hpp"

namespace millrace::api {

void register_options(core::OptionSet& o, ApiConfig& c) {
  core::declare(
      o, &c.http_addr,
      {.flag = "http-addr",
       .env = "MILLRACE_API_ADDR",
       .help = "host:port to serve HTTP on ([v6]:port for IPv6; port 0 picks a free one)"});
  pg::register_service_options(o, c.pg, "api", "MILLRACE_API_PG_DSN");
  core::declare(o, &c.admin_pg_dsn,
                {.flag = "admin-pg",
                 .env = "MILLRACE_API_ADMIN_PG",
                 .help = "PostgreSQL conninfo or URI of the admin writes' role, which /v1/webhooks "
                         "uses too (empty: POST, PUT, DELETE and /v1/webhooks answer 503)",
                 .env_fallbacks = {{.env = "MILLRACE_API_ADMIN_PG_DSN",
                                    .deprecation = "set MILLRACE_API_ADMIN_PG instead"}}});
  core::declare(
      o, &c.admin_token,
      {.flag = "admin-token",
       .env = "MILLRACE_API_ADMIN_TOKEN",
       .help = "Bearer token the admin writes and /v1/webhooks require (empty: they answer 503)",
       .shown = core::Shown::kSecret});
  core::declare(o, &c.read_token,
                {.flag = "read-token",
                 .env = "MILLRACE_API_READ_TOKEN",
                 .help = "Bearer token the reads require (the dashboard asks for it once and keeps "
                         "a session cookie); required when --http-addr is beyond loopback (empty "
                         "on loopback: reads open to local clients)",
                 .shown = core::Shown::kSecret});
  core::declare(o, &c.allow_open,
                {.flag = "allow-open",
                 .env = "MILLRACE_API_ALLOW_OPEN",
                 .help = "Serve the reads without a token on an address beyond loopback (behind a "
                         "proxy that authenticates)"});
  webhooks::add_allow_private(o, &c.allow_private_webhooks, "allow-private-webhooks");
  httpd::register_tls_options(o, c.tls, "MILLRACE_API");
  core::declare(o, &c.http_threads,
                {.flag = "http-threads",
                 .env = "MILLRACE_API_HTTP_THREADS",
                 .help = "HTTP event-loop threads; each serves any number of connections",
                 .min = 1,
                 .max = 256});
  core::declare(o, &c.workers,
                {.flag = "workers",
                 .env = "MILLRACE_API_WORKERS",
                 .help = "Database workers, each with its own PostgreSQL sessions",
                 .min = 1,
                 .max = 256});
  core::declare(o, &c.queue_max,
                {.flag = "queue-max",
                 .env = "MILLRACE_API_QUEUE_MAX",
                 .help = "Requests that may wait for a worker; beyond, 503 at once",
                 .min = 1,
                 .max = 1'000'000});
  core::declare(o, &c.request_timeout_ms,
                {.flag = "request-timeout-ms",
                 .env = "MILLRACE_API_REQUEST_TIMEOUT_MS",
                 .help = "A request not answered within this gets 503 (keep it above "
                         "MILLRACE_PG_STATEMENT_TIMEOUT_MS)",
                 .min = 100,
                 .max = 600'000,
                 .unit = core::DurationUnit::kMilliseconds});
  core::declare(o, &c.max_connections,
                {.flag = "max-connections",
                 .env = "MILLRACE_API_MAX_CONNECTIONS",
                 .help = "Connections served at once, live streams included; one more is answered "
                         "503 and closed (keep it below the open-file limit, ulimit -n)",
                 .min = 1,
                 .max = 1'000'000});
  core::declare(o, &c.max_body_bytes,
                {.flag = "max-body-bytes",
                 .env = "MILLRACE_API_MAX_BODY_BYTES",
                 .help = "Largest admin request body accepted (larger: 413)",
                 .min = 1,
                 .max = 16'777'216});
  cache::register_options(o, c.cache);
  core::declare(o, &c.near_cache_entries,
                {.flag = "near-cache-entries",
                 .env = "MILLRACE_API_NEAR_CACHE_ENTRIES",
                 .help = "Catalog entries held in memory besides Redis, kept equal to it by CLIENT "
                         "TRACKING (0: ask Redis for every read)",
                 .min = 0,
                 .max = 100'000'000});
  kafka::register_options(o, c.kafka, kafka::kChangesTopic);
  core::declare(
      o, &c.dead_letter_topics,
      {.flag = "dead-letter-topics",
       .env = "MILLRACE_API_DEAD_LETTER_TOPICS",
       .help = "Dead-letter topics whose sizes the live stream's health shows, comma-separated"});
  kinds::register_kinds_dir(o, &c.kinds_dir);
}

}  // namespace millrace::api
