#include "millrace/runtime/serve.hpp"

#include <csignal>
#include <cstdio>
#include <exception>

namespace millrace::runtime {

int serve(Service& service, ShutdownSignals& signals, const std::string& name,
          const std::function<void()>& reload_settings) {
  try {
    service.start();
    for (;;) {
      if (const auto sig = signals.wait(std::chrono::milliseconds(200))) {
        if (*sig == SIGHUP) {
          reload_settings();
          service.reload();
          continue;
        }
        log_info(name, "signal " + std::to_string(*sig) + ": finishing in-flight work");
        break;
      }
      if (service.wait(std::chrono::milliseconds(0))) break;
    }
    service.stop();
    service.rethrow_failure();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "millrace-%s: fatal: %s\n", name.c_str(), e.what());
    return 1;
  }
}

}  // namespace millrace::runtime
