// millrace-changefeed: streams every committed change of the published tables
// to a Kafka topic, exactly once. Wiring only; the logic lives in
// libs/changefeed.
#include "millrace/changefeed/service.hpp"
#include "millrace/core/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/signals.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  runtime::ShutdownSignals signals;
  changefeed::ChangefeedConfig config;
  core::OptionSet options("millrace-changefeed",
                          "Streams every committed change of the published PostgreSQL tables to "
                          "a Kafka topic, exactly once for read_committed consumers.");
  changefeed::register_options(options, config);
  if (const auto exit =
          runtime::parse_command_line(options, argc, argv, "millrace-changefeed", "changefeed",
                                      [&] { changefeed::validate(config); })) {
    return *exit;
  }
  metrics::Registry registry("changefeed");
  if (!runtime::serve_metrics(registry, config.metrics_addr, "millrace-changefeed", "changefeed"))
    return 1;
  changefeed::Changefeed feed(config, registry);
  return runtime::serve(feed, signals, "changefeed");
}
