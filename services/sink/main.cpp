// millrace-sink: one worker of the sink consumer group. Wiring only; the
// logic lives in libs/sink.
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
  if (const auto exit = runtime::parse_command_line(options, argc, argv, "millrace-sink", "sink",
                                                    [&] { sink::validate(config); })) {
    return *exit;
  }
  metrics::Registry registry("sink");
  if (!runtime::serve_metrics(registry, config.stream.metrics_addr, "millrace-sink", "sink"))
    return 1;
  sink::SinkWorker worker(config, registry);
  return runtime::serve(worker, signals, "sink");
}
