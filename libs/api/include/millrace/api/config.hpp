#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "millrace/cache/config.hpp"
#include "millrace/core/options.hpp"
#include "millrace/httpd/tls_options.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/runtime/registry.hpp"

namespace millrace::api {

// Everything millrace-api can be told. Member initialisers are the
// defaults; register_options() holds the flags, variables and help.
struct ApiConfig {
  std::string http_addr = runtime::default_metrics_addr("api");
  // The reader: --pg / MILLRACE_API_PG, a role that may only SELECT the
  // views and the catalog (`millrace api grant --reader`). Statements are
  // bounded well below the request timeout.
  pg::PgOptions pg = [] {
    pg::PgOptions p;
    p.limits.statement_timeout_ms = 5000;
    return p;
  }();
  // The admin writes' own connection (`millrace api grant --admin`): empty
  // turns the writes off (503).
  std::string admin_pg_dsn;
  // The bearer token of the admin writes: empty turns them off (503).
  std::string admin_token;
  // The bearer token of the reads (views, catalog, accounting, live
  // stream), which the dashboard trades for a session cookie. Empty: reads
  // are open, which validate() allows only on loopback or with allow_open.
  std::string read_token;
  bool allow_open = false;
  // POST and PATCH /v1/webhooks/endpoints may register a URL on a loopback
  // or private address (refused otherwise, against server-side request
  // forgery); the same variable as millrace-webhooks' and the CLI's.
  bool allow_private_webhooks = false;
  httpd::TlsFiles tls;  // both empty: plain HTTP
  std::int64_t http_threads = 2;
  // Database workers, each with its own sessions: requests served against
  // the database at once.
  std::int64_t workers = 4;
  // Requests that may wait for a worker; more are answered 503 at once.
  std::int64_t queue_max = 1000;
  // A request not answered within this gets a 503 problem.
  std::int64_t request_timeout_ms = 10'000;
  std::int64_t max_body_bytes = 64 << 10;
  std::int64_t max_connections = 512;
  // The catalog cache (docs/cache.md): an empty Redis URL reads PostgreSQL
  // only. Kept equal to the database by millrace-cache.
  cache::StoreOptions cache;
  // Entries of that cache each process also holds in its own memory, kept
  // equal to Redis by CLIENT TRACKING (the near cache, docs/cache.md); 0
  // asks Redis for every read.
  std::int64_t near_cache_entries = 100'000;
  // The live stream (GET /v1/stream) follows the change feed's topic, and
  // shows the groups' lag and the dead-letter topics' sizes from Kafka.
  kafka::KafkaClientOptions kafka = [] {
    auto k = kafka::client_options("millrace-api");
    k.topic = "millrace.changes";
    return k;
  }();
  std::string dead_letter_topics = "store-events.dlq";
  // Operators' own kind declarations (MILLRACE_KINDS_DIR): the views of
  // each one with an aggregate section are served too.
  std::string kinds_dir;

  // Derived by validate().
  std::vector<std::string> dead_letters;
  std::vector<kinds::Declaration> kinds;  // kinds::all_kinds(kinds_dir)
  std::string host;
  int port = 0;
};

void register_options(core::OptionSet& options, ApiConfig& config);
// Checks cross-field rules and fills the derived members; throws
// core::UsageError naming the setting.
void validate(ApiConfig& config);

}  // namespace millrace::api
