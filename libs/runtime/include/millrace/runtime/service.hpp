#pragma once

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "millrace/runtime/log.hpp"
#include "millrace/runtime/signals.hpp"

namespace millrace::runtime {

// The life of a service's main component: Start(), run until SIGTERM/SIGINT or
// until the component ends by itself (a fatal error), Stop(), and report.
// Returns the process exit status: 0 after a clean stop, 1 after a failure.
template <typename Component>
int serve(Component& component, ShutdownSignals& signals, const std::string& name) {
  try {
    component.Start();
    for (;;) {
      if (const auto sig = signals.wait(std::chrono::milliseconds(200))) {
        log_info(name, "signal " + std::to_string(*sig) + ": finishing the batch");
        break;
      }
      if (component.wait(std::chrono::milliseconds(0))) break;
    }
    component.Stop();
    component.rethrow_failure();
    const auto s = component.stats();
    std::string summary = "consumed=" + std::to_string(s.consumed);
    for (const auto& [outcome, n] : s.outcomes) summary += " " + outcome + "=" + std::to_string(n);
    log_info(name, summary + " batches=" + std::to_string(s.batches) +
                       " fenced=" + std::to_string(s.fenced));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "millrace-%s: fatal: %s\n", name.c_str(), e.what());
    return 1;
  }
}

}  // namespace millrace::runtime
