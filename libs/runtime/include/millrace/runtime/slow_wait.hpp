#pragma once
// When a wait that may last is said (logged, or told to readiness): once it
// has lasted `first`, then every `every`, so that a long one is neither
// silent nor a line a tick. The change feed's slot and backfill reads and
// pg::migrate's lock waits use it.

#include <chrono>
#include <optional>

namespace millrace::runtime {

// Caller contract: one wait, asked with how long it has lasted, never less
// than the last time.
class SlowWait {
 public:
  using Duration = std::chrono::steady_clock::duration;
  SlowWait(Duration first, Duration every) : next_(first), every_(every) {}

  // `waited` in whole seconds, when a wait that has lasted that long is to
  // be said now; nullopt otherwise.
  std::optional<std::chrono::seconds> due(Duration waited) {
    if (waited < next_) return std::nullopt;
    next_ = waited + every_;
    return std::chrono::duration_cast<std::chrono::seconds>(waited);
  }

 private:
  Duration next_;
  Duration every_;
};

}  // namespace millrace::runtime
