// millrace-aggregator: one worker of the aggregator consumer group. Wiring
// only; the logic lives in libs/aggregate.
#include <cstdio>

#include "millrace/aggregate/aggregator.hpp"
#include "millrace/core/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/signals.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  runtime::ShutdownSignals signals;
  aggregate::AggregatorConfig config;
  core::OptionSet options("millrace-aggregator",
                          "Folds every valid store event into hourly and daily windows, top "
                          "products and categories in PostgreSQL, exactly once.");
  aggregate::register_options(options, config);
  try {
    options.parse(core::environment_map(), {argv + 1, argv + argc});
    if (options.help_requested()) {
      std::fputs(options.help().c_str(), stdout);
      return 0;
    }
    aggregate::validate(config);
  } catch (const core::UsageError& e) {
    std::fprintf(stderr, "millrace-aggregator: %s\nTry 'millrace-aggregator --help'.\n", e.what());
    return 2;
  }
  runtime::log_info("aggregator", "starting with configuration:\n" + options.describe());
  metrics::Registry registry("aggregator");
  try {
    if (!config.stream.metrics_addr.empty()) {
      registry.serve(config.stream.metrics_addr);
      runtime::log_info("aggregator", "metrics at http://" + config.stream.metrics_addr + "/metrics");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "millrace-aggregator: %s\n", e.what());
    return 1;
  }
  aggregate::Aggregator aggregator(config, registry);
  return runtime::serve(aggregator, signals, "aggregator");
}
