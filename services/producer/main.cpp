// millrace-producer: takes store events over HTTP and produces them to Kafka.
// Wiring only; the logic lives in libs/http.
#include <cstdio>
#include <exception>

#include "millrace/core/options.hpp"
#include "millrace/http/config.hpp"
#include "millrace/http/service.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/signals.hpp"

int main(int argc, char** argv) {
  using namespace millrace;
  runtime::ShutdownSignals signals;
  http::HttpConfig config;
  core::OptionSet options("millrace-producer",
                          "Takes store events over HTTP (POST /v1/events), validates each and "
                          "produces the valid ones to Kafka with the routing of 'millrace "
                          "produce'. Serves /healthz, /readyz and /metrics on the same port.");
  http::register_options(options, config);
  if (const auto exit = runtime::parse_command_line(options, argc, argv, "millrace-producer",
                                                    "producer", [&] { http::validate(config); })) {
    return *exit;
  }
  if (config.auth_token.empty()) {
    runtime::log_warn("producer",
                      "MILLRACE_AUTH_TOKEN is empty: /v1/events is open to anyone who can reach " +
                          config.http_addr);
  }
  metrics::Registry registry("producer");
  try {
    http::ProducerService service(config, registry);
    return runtime::serve(service, signals, "producer");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "millrace-producer: fatal: %s\n", e.what());
    return 1;
  }
}
