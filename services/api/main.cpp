// millrace-api: the analytics views, the catalog and the accounting over
// HTTP, and the catalog's admin writes. Wiring only; the logic lives in
// libs/api.
#include <cstdio>
#include <exception>

#include "millrace/api/config.hpp"
#include "millrace/api/service.hpp"
#include "millrace/cache/reads.hpp"
#include "millrace/core/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/signals.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  runtime::ShutdownSignals signals;
  api::ApiConfig config;
  core::OptionSet options("millrace-api",
                          "Serves the analytics views, the catalog and the accounting over HTTP "
                          "(JSON, or CSV with Accept: text/csv), and the catalog's admin writes "
                          "behind a bearer token. Serves /healthz, /readyz and /metrics on the "
                          "same port. docs/api.md describes the routes.");
  api::register_options(options, config);
  if (const auto exit = runtime::parse_command_line(options, argc, argv, "millrace-api", "api",
                                                    [&] { api::validate(config); })) {
    return *exit;
  }
  if (config.admin_token.empty() || config.admin_pg_dsn.empty()) {
    runtime::log_warn("api",
                      "admin writes are off (they need both MILLRACE_API_ADMIN_TOKEN and "
                      "MILLRACE_API_ADMIN_PG_DSN): POST, PUT and DELETE answer 503");
  }
  metrics::Registry registry("api");
  cache::ReadProbe cache_probe(registry);
  try {
    api::ApiService service(
        config, registry,
        config.cache.redis_url.empty()
            ? api::database_reads()
            : cache::reads_factory(config.cache, config.pg.schema, cache_probe));
    return runtime::serve(service, signals, "api");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "millrace-api: fatal: %s\n", e.what());
    return 1;
  }
}
