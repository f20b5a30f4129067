#pragma once

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "millrace/core/options.hpp"
#include "millrace/runtime/log.hpp"
#include "millrace/runtime/service.hpp"
#include "millrace/runtime/signals.hpp"

namespace millrace::runtime {

// Reads the environment and the command line into `options`, then runs
// `validate`. Returns the exit status when the process must end now: 0 after
// printing --help, 2 after a usage error (printed with a hint), 0 or 2 after
// --check-config; nullopt to carry on. Logs the effective configuration,
// secrets masked.
template <typename Validate>
std::optional<int> parse_command_line(core::OptionSet& options, int argc, char** argv,
                                      const std::string& program, const std::string& component,
                                      Validate&& validate) {
  // Hidden, and alone: the registered options for scripts/docs-tables, before
  // parse() would refuse a flag that is in no help text.
  if (argc == 2 && std::string(argv[1]) == "--dump-options") {
    std::fputs(options.reference().c_str(), stdout);
    return 0;
  }
  options.enable_check_config();
  const auto env = core::environment_map();
  try {
    options.parse(env, {argv + 1, argv + argc});
    if (options.help_requested()) {
      std::fputs(options.help().c_str(), stdout);
      return 0;
    }
    validate();
  } catch (const core::UsageError& e) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", program.c_str(), e.what(), program.c_str());
    return 2;
  }
  if (options.check_config_requested()) {
    std::fputs(options.check_report(program, env).c_str(), stdout);
    return 0;
  }
  log_info(component, "starting with configuration:\n" + options.describe());
  for (const auto& note : options.notes()) log_warn(component, note);
  return std::nullopt;
}

// Runs `service` (docs/adding-a-service.md): start(), then wait until
// SIGTERM/SIGINT or until the service ends by itself (a fatal error),
// stop(), and report. SIGHUP calls `reload_settings` (ServiceSettings::
// reload) and then the service's reload() (its TLS certificate), and the
// service goes on. Returns the process exit status: 0 after a clean stop,
// 1 after a failure (printed as millrace-`name`: fatal: ...).
int serve(Service& service, ShutdownSignals& signals, const std::string& name,
          const std::function<void()>& reload_settings);

}  // namespace millrace::runtime
