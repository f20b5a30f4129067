#pragma once

#include <chrono>
#include <optional>

namespace millrace::runtime {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and every thread
// it starts afterwards, so they are received only by wait(). Construct it in
// main() before starting any component. (serve() stops on SIGINT and
// SIGTERM; on SIGHUP it reloads the settings and the TLS certificates.)
class ShutdownSignals {
 public:
  ShutdownSignals();
  // The signal number received, or nullopt when the timeout passed first.
  std::optional<int> wait(std::chrono::milliseconds timeout);
};

}  // namespace millrace::runtime
