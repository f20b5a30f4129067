#include "millrace/runtime/signals.hpp"

#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <ctime>

namespace millrace::runtime {

namespace {
sigset_t shutdown_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

ShutdownSignals::ShutdownSignals() {
  const sigset_t set = shutdown_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::optional<int> ShutdownSignals::wait(std::chrono::milliseconds timeout) {
  const sigset_t set = shutdown_set();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1'000'000);
  for (;;) {
    const int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno == EINTR) continue;
    return std::nullopt;  // EAGAIN: timed out
  }
}

}  // namespace millrace::runtime
