// millrace-aggregator: one worker of the aggregator consumer group. Wiring only; the
// logic lives in libs/aggregate.
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
  if (!runtime::serve_metrics(registry, config.stream.metrics_addr, "millrace-aggregator",
                              "aggregator"))
    return 1;
  aggregate::Aggregator aggregator(config, registry);
  return runtime::serve(aggregator, signals, "aggregator");
}
