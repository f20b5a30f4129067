// millrace-archiver: writes every record of a topic, as it was, to Event
// Hubs Capture files (Avro), each exactly once. Wiring only; the logic lives
// in libs/archive.
#include "millrace/archive/service.hpp"
#include "millrace/core/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/signals.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  runtime::ShutdownSignals signals;
  archive::ArchiverConfig config;
  core::OptionSet options("millrace-archiver",
                          "Writes every record of the topic, valid or not, to Avro files in "
                          "Event Hubs Capture's layout and record schema, each record exactly "
                          "once. `millrace archive` lists, verifies and replays them.");
  archive::register_options(options, config);
  if (const auto exit =
          runtime::parse_command_line(options, argc, argv, "millrace-archiver", "archiver",
                                      [&] { archive::validate(config); })) {
    return *exit;
  }
  metrics::Registry registry("archiver");
  if (!runtime::serve_metrics(registry, config.stream.metrics_addr, "millrace-archiver",
                              "archiver"))
    return 1;
  archive::Archiver service(config, registry);
  return runtime::serve(service, signals, "archiver");
}
