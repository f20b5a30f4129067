// millrace-aggregator: one worker of the aggregator consumer group. Wiring only; the
// logic lives in libs/aggregate.
#include <cstdio>
#include <exception>

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
  if (const auto exit =
          runtime::parse_command_line(options, argc, argv, "millrace-aggregator", "aggregator",
                                      [&] { aggregate::validate(config); })) {
    return *exit;
  }
  metrics::Registry registry("aggregator");
  if (!config.stream.metrics_addr.empty()) {
    try {
      registry.serve(config.stream.metrics_addr);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "millrace-aggregator: %s\n", e.what());
      return 1;
    }
    runtime::log_info("aggregator", "metrics at http://" + config.stream.metrics_addr + "/metrics");
  }
  aggregate::Aggregator aggregator(config, registry);
  return runtime::serve(aggregator, signals, "aggregator");
}
