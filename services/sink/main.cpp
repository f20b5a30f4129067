// millrace-sink: one worker of the sink consumer group. Wiring only; the
// logic lives in libs/sink.
#include <cstdio>

#include "millrace/core/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/signals.hpp"
#include "millrace/sink/worker.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  runtime::ShutdownSignals signals;
  sink::SinkConfig config;
  core::OptionSet options("millrace-sink",
                          "Consumes store events, dead-letters invalid ones and writes those that "
                          "pass the filter to PostgreSQL exactly once.");
  sink::register_options(options, config);
  try {
    options.parse(core::environment_map(), {argv + 1, argv + argc});
    if (options.help_requested()) {
      std::fputs(options.help().c_str(), stdout);
      return 0;
    }
    sink::validate(config);
  } catch (const core::UsageError& e) {
    std::fprintf(stderr, "millrace-sink: %s\nTry 'millrace-sink --help'.\n", e.what());
    return 2;
  }
  runtime::log_info("sink", "starting with configuration:\n" + options.describe());
  metrics::Registry registry("sink");
  try {
    if (!config.stream.metrics_addr.empty()) {
      registry.serve(config.stream.metrics_addr);
      runtime::log_info("sink", "metrics at http://" + config.stream.metrics_addr + "/metrics");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "millrace-sink: %s\n", e.what());
    return 1;
  }
  sink::SinkWorker worker(config, registry);
  return runtime::serve(worker, signals, "sink");
}
