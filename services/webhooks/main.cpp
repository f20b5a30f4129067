// millrace-webhooks: delivers the change feed to registered HTTP endpoints,
// signed (Standard Webhooks), in order per endpoint, with retries. Wiring
// only; the logic lives in libs/webhooks.
#include "millrace/core/options.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/signals.hpp"
#include "millrace/webhooks/service.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  runtime::ShutdownSignals signals;
  webhooks::WebhooksConfig config;
  core::OptionSet options("millrace-webhooks",
                          "Delivers every change of the change feed to the webhook endpoints "
                          "registered with `millrace webhooks add`, signed, in order per "
                          "endpoint, with retries.");
  webhooks::register_options(options, config);
  if (const auto exit =
          runtime::parse_command_line(options, argc, argv, "millrace-webhooks", "webhooks",
                                      [&] { webhooks::validate(config); })) {
    return *exit;
  }
  metrics::Registry registry("webhooks");
  if (!runtime::serve_metrics(registry, config.stream.metrics_addr, "millrace-webhooks",
                              "webhooks"))
    return 1;
  webhooks::Webhooks service(config, registry);
  return runtime::serve(service, signals, "webhooks");
}
