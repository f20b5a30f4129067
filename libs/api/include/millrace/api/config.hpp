#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "millrace/api/settings.hpp"
#include "millrace/cache/config.hpp"
#include "millrace/core/options.hpp"
#include "millrace/httpd/tls_options.hpp"
#include "millrace/kafka/options.hpp"
#include "millrace/kinds/declaration.hpp"
#include "millrace/pg/options.hpp"
#include "millrace/runtime/registry.hpp"

namespace millrace::api {

// Everything millrace-api can be told: its own settings, declared in
// libs/api/src/settings.cpp (their values in ApiSettings: the address, the admin
// connection, the tokens, the HTTP threads, workers, queue, timeout and
// limits, the near cache, the dead-letter topics), and the components'.
// The reads are open without a read token only on loopback or with
// allow_open (validate()).
struct ApiConfig : ApiSettings {
  // The reader: --pg / MILLRACE_API_PG, a role that may only SELECT the
  // views and the catalog (`millrace api grant --reader`). Statements are
  // bounded well below the request timeout.
  pg::PgOptions pg = [] {
    pg::PgOptions p;
    p.limits.statement_timeout_ms = 5000;
    return p;
  }();
  // POST and PATCH /v1/webhooks/endpoints may register a URL on a loopback
  // or private address (refused otherwise, against server-side request
  // forgery); the same variable as millrace-webhooks' and the CLI's.
  bool allow_private_webhooks = false;
  httpd::TlsFiles tls;  // both empty: plain HTTP
  // The catalog cache (docs/cache.md): an empty Redis URL reads PostgreSQL
  // only. Kept equal to the database by millrace-cache.
  cache::StoreOptions cache;
  // The live stream (GET /v1/stream) follows the change feed's topic, and
  // shows the groups' lag and the dead-letter topics' sizes from Kafka.
  kafka::KafkaClientOptions kafka = kafka::client_options("millrace-api", "millrace.changes");
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
