#pragma once
// Millrace's one retry (DEVELOPERS.md, "Lifecycle"): a step tried again
// after a retryable core::InfraError, with runtime::Backoff between tries,
// until it succeeds, its tries or its deadline run out, or it is stopped.
// The failure's class decides: anything but a retryable InfraError leaves
// at once. Worker::retry() is this on a worker's pause and readiness;
// kafka's admin calls and transaction commit use it directly.

#include <chrono>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "millrace/core/failure.hpp"
#include "millrace/core/options.hpp"

namespace millrace::runtime {

// The wait after a retryable failure: the first, doubling with each failure
// up to the maximum, and back to the first after a success. With jitter j
// (0 to 1), each wait is cut by a random fraction of up to j of itself, so
// that clients that lost a server together do not come back together.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds first, std::chrono::milliseconds max, double jitter = 0);
  explicit Backoff(const core::RetryBackoff& rules, double jitter = 0);
  // The same wait every time.
  static Backoff fixed(std::chrono::milliseconds wait) { return Backoff(wait, wait); }

  std::chrono::milliseconds current() const { return current_; }
  // The wait for this failure (less its jitter); the next one waits twice
  // as long.
  std::chrono::milliseconds next();
  // Doubles the wait, up to the maximum, without taking it.
  void grow();
  void reset() { current_ = first_; }

 private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds current_;
  double jitter_;
};

// Thrown out of a retry when its pause says to stop (a worker stopping), so
// the work unwinds without a failure. Not a std::exception: nothing that
// catches those may swallow it.
struct Stopped {};

// What a try knows of its bounds: the first is number 1; `left` is the time
// to the deadline (never below zero; milliseconds::max() without one), the
// most a call inside may wait.
struct Try {
  int number = 1;
  std::chrono::milliseconds left = std::chrono::milliseconds::max();
};

// Caller contract: one run() at a time; the hooks run on its thread.
class Retry {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Retry(Backoff backoff) : backoff_(backoff) {}

  // No try starts at or after `deadline`: a failure whose wait would reach
  // it is the last.
  Retry& until(Clock::time_point deadline);
  // At most `tries` tries in all (1 or more).
  Retry& at_most(int tries);
  // Sees every InfraError a try throws, retryable or not (a probe's count).
  Retry& observe(std::function<void(const core::InfraError&)> f);
  // Called before each wait with the failure and the wait (a log line).
  Retry& on_retry(std::function<void(const core::InfraError&, std::chrono::milliseconds)> f);
  // How it waits: `pause(d)` returns true to stop (run() throws Stopped);
  // `now` is the clock the deadline is read on. The steady clock and a
  // sleep by default; tests pass a fake pair.
  Retry& waits_with(std::function<bool(std::chrono::milliseconds)> pause,
                    std::function<Clock::time_point()> now = Clock::now);

  // Runs f (taking a Try, or nothing) until it returns, and returns what it
  // returns. Rethrows what is not a retryable InfraError at once, and the
  // last retryable one once the tries or the deadline run out.
  template <typename F>
  auto run(F&& f);

 private:
  // After a retryable failure of try `number`: waits, or returns false when
  // it was the last; throws Stopped.
  bool again(const core::InfraError& e, int number);
  Try next_try(int number) const;

  Backoff backoff_;
  std::optional<Clock::time_point> deadline_;
  int tries_ = 0;  // 0: no bound
  std::function<void(const core::InfraError&)> observe_;
  std::function<void(const core::InfraError&, std::chrono::milliseconds)> on_retry_;
  std::function<bool(std::chrono::milliseconds)> pause_;
  std::function<Clock::time_point()> now_ = Clock::now;
};

template <typename F>
auto Retry::run(F&& f) {
  for (int number = 1;; ++number) {
    try {
      if constexpr (std::is_invocable_v<F&, const Try&>) {
        return f(next_try(number));
      } else {
        return f();
      }
    } catch (const core::InfraError& e) {
      if (observe_) observe_(e);
      if (!e.retryable() || !again(e, number)) throw;
    }
  }
}

}  // namespace millrace::runtime
