// millrace-cache: keeps the catalog cache in Redis equal to PostgreSQL by
// following the change feed. Wiring only; the logic lives in libs/cache.
#include "millrace/cache/config.hpp"
#include "millrace/cache/service.hpp"
#include "millrace/core/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/signals.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  runtime::ShutdownSignals signals;
  cache::CacheConfig config;
  core::OptionSet options("millrace-cache",
                          "Keeps the catalog cache in Redis (categories and products, read by "
                          "millrace-api) equal to PostgreSQL: every committed change of either "
                          "table, however it was made, refreshes its entry from the change feed, "
                          "and the cache is rebuilt from the database whenever that cannot be "
                          "guaranteed.");
  cache::register_options(options, config);
  if (const auto exit = runtime::parse_command_line(options, argc, argv, "millrace-cache", "cache",
                                                    [&] { cache::validate(config); })) {
    return *exit;
  }
  metrics::Registry registry("cache");
  if (!runtime::serve_metrics(registry, config.metrics_addr, "millrace-cache", "cache")) return 1;
  cache::CacheService service(config, registry);
  return runtime::serve(service, signals, "cache");
}
