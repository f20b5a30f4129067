#pragma once
// A service's whole main(): its registry entry names it and gives its
// --help summary, its Config is parsed and validated, the service made, its
// metrics and health served (OpsServer), and the service run until a
// signal and stopped (docs/adding-a-service.md).

#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "millrace/core/options.hpp"
#include "millrace/main/ops_server.hpp"
#include "millrace/metrics/family.hpp"
#include "millrace/metrics/metrics.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/registry.hpp"
#include "millrace/runtime/serve.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/settings.hpp"
#include "millrace/runtime/signals.hpp"

namespace millrace::main {

// Where `config` serves /metrics, /healthz and /readyz: a consumer's stream
// settings, a service's own metrics_addr, or nowhere here (an HTTP service
// serves them on its port).
template <typename Config>
std::string metrics_addr_of(const Config& config) {
  if constexpr (requires { config.stream.metrics_addr; }) {
    return config.stream.metrics_addr;
  } else if constexpr (requires { config.metrics_addr; }) {
    return config.metrics_addr;
  } else {
    return {};
  }
}

// Runs the service `name` of services/registry.json: `register_options` and
// `validate` are found beside Config (its namespace), and `make(Config,
// metrics::Registry&)` returns the service as a std::unique_ptr to a
// runtime::Service. The settings are read through runtime::ServiceSettings
// (config file, environment, flags; --log-level), and SIGHUP reloads them.
// Returns the process's exit status.
template <typename Config, typename Make>
int run_main(int argc, char** argv, std::string_view name, Make&& make) {
  // Hidden, and alone: the metric families the program declares
  // (metrics/family.hpp), for scripts/docs-tables; nothing is made.
  if (argc == 2 && std::string_view(argv[1]) == "--dump-metrics") {
    std::fputs(metrics::catalog_reference().c_str(), stdout);
    return 0;
  }
  const runtime::ServiceEntry& entry = runtime::service(name);
  runtime::ShutdownSignals signals;
  std::optional<runtime::ServiceSettings<Config>> settings;
  try {
    // Registering the settings reads the kinds' declarations and views
    // files (MILLRACE_KINDS_DIR names the kinds whose settings there are):
    // one refused is a bad setting, said as one, not an abort.
    settings.emplace(entry.program, entry.summary, entry.name);
  } catch (const core::UsageError& e) {
    std::fprintf(stderr, "%s: %s\n", entry.program.c_str(), e.what());
    return 2;
  }
  if (const auto exit = settings->parse(argc, argv)) return *exit;
  const Config& config = settings->config();
  metrics::Registry registry(entry.name);
  const std::string ops_addr = metrics_addr_of(config);
  std::unique_ptr<runtime::Service> service;
  std::unique_ptr<OpsServer> ops;  // before the service goes: it asks the service
  try {
    // A copy: the settings keep theirs to compare a SIGHUP's re-read with,
    // and the two share what a reload may change (runtime::Reloaded).
    service = make(Config(config), registry);
    if (!ops_addr.empty()) {
      ops = std::make_unique<OpsServer>(ops_addr, "--metrics-addr / MILLRACE_METRICS_ADDR",
                                        registry, *service);
      // With port 0 the system picked one: say which.
      const auto colon = ops_addr.rfind(':');
      const std::string where = colon == std::string::npos
                                    ? ops_addr
                                    : ops_addr.substr(0, colon + 1) + std::to_string(ops->port());
      runtime::log_info(entry.name,
                        "metrics at http://" + where + "/metrics, health at /healthz and /readyz");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: fatal: %s\n", entry.program.c_str(), e.what());
    return 1;
  }
  const int status = runtime::serve(*service, signals, entry.name, [&] { settings->reload(); });
  ops.reset();
  return status;
}

}  // namespace millrace::main
