#pragma once
// A service's background work, supervised (DEVELOPERS.md, "Lifecycle" and
// "Errors"): the threads, their stop, the retry with backoff of a retryable
// failure, the first fatal failure, and the readiness problem while it
// retries. Every long-running loop of Millrace runs on one; none writes its
// own retry loop.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "millrace/core/failure.hpp"
#include "millrace/core/options.hpp"
#include "millrace/runtime/retry.hpp"

namespace millrace::runtime {

class Health;

struct WorkerOptions {
  std::string component{};  // the log lines' component
  core::RetryBackoff retry{};
  // Backoff's jitter for retry(): 0 (none) by default; a client of a server
  // many others share (a public feed) takes some.
  double jitter = 0;
  // While a retryable failure repeats, readiness check `check` of `health`
  // (when set) reports `problem` followed by the failure, with `action`;
  // cleared once a round succeeds.
  Health* health = nullptr;
  std::string check{};
  std::string problem{};
  std::string action{};
  // Sees every InfraError a round or retry() meets, retryable or not, before
  // the worker acts on it (a probe's error count).
  std::function<void(const core::InfraError&)> observe{};
  // Called by stop() once stopping() is true, before it joins: wakes what
  // the work waits on besides pause() (a condition variable of its own).
  std::function<void()> on_stop{};
  // Called on each thread as its work ends, by return, stop or failure,
  // before wait() reports the end: cleanup that must follow any of them.
  std::function<void()> on_exit{};
  // Called once, with the first failure's message, as it is kept: hands it
  // to a service's own latch (an HTTP service's fail()).
  std::function<void(const std::string&)> on_failure{};
};

// Caller contract: spawn() the threads, then stop() (or destroy) before what
// their work refers to goes away; stop() is idempotent and does not throw.
// Every member but spawn() may be called from any thread.
//
// A thread runs its round again and again:
// - a round that returns `again` runs at once, `after(d)` after a pause of d,
//   `done` ends the thread;
// - a core::InfraError that is retryable is logged as a warning, reported to
//   readiness, and the round runs again after the backoff; the next round
//   that returns clears both, logging that it recovered;
// - any other exception is the worker's failure: the first is kept, logged
//   as "stopping on fatal error", and every thread of the worker is stopped;
// - Stopped (thrown by retry() or by the work) ends the thread quietly.
class Worker {
 public:
  struct Next {
    static Next again() { return Next{std::chrono::milliseconds(0), false}; }
    static Next after(std::chrono::milliseconds pause) { return Next{pause, false}; }
    static Next done() { return Next{std::chrono::milliseconds(0), true}; }
    std::chrono::milliseconds pause;
    bool finished;
  };
  using Round = std::function<Next()>;

  explicit Worker(WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts a thread that runs `round` as above; `name` is its component in
  // the log (the worker's by default).
  void spawn(Round round, std::string name = {});
  // Runs `work` once on a thread: for a loop that keeps its own state,
  // checks stopping() itself and retries what it must (retry()). Any
  // exception but Stopped that leaves it, retryable or not, is the worker's
  // failure.
  void spawn_once(std::function<void()> work, std::string name = {});

  // Asks every thread to end, wakes pause() and on_stop, and joins them.
  void stop();
  bool stopping() const { return stopping_.load(); }
  // Sleeps up to `d`, less once stopping; true when stopping.
  bool pause(std::chrono::milliseconds d) const;

  // Runs f until it returns, backing off between tries on retryable
  // InfraErrors (logged with `what`, observed); rethrows any other
  // exception; throws Stopped when the worker stops while it waits (a
  // first try runs even when stopping: a stop's own last steps retry too).
  template <typename F>
  std::invoke_result_t<F> retry(std::string_view what, F&& f);

  // True once every thread has ended, waiting up to `timeout`.
  bool wait(std::chrono::milliseconds timeout) const;
  bool failed() const;
  // Rethrows the first failure, if any.
  void rethrow_failure() const;

 private:
  void start_thread(Round round, std::string name, bool retries);
  void run(const Round& round, const std::string& name, bool retries);
  void retrying(const std::string& name, std::string_view what, const core::InfraError& e,
                std::chrono::milliseconds wait);
  void recovered(const std::string& name);
  void fail(const std::string& name, std::exception_ptr error, const std::string& what);
  void observe(const core::InfraError& e) const;

  WorkerOptions options_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::exception_ptr failure_;
  std::size_t running_ = 0;
  std::mutex join_mutex_;  // one stop() joins at a time
  std::vector<std::thread> threads_;
};

template <typename F>
std::invoke_result_t<F> Worker::retry(std::string_view what, F&& f) {
  bool failing = false;
  Retry r(Backoff(options_.retry, options_.jitter));
  r.observe([this](const core::InfraError& e) { observe(e); })
      .on_retry([&](const core::InfraError& e, std::chrono::milliseconds wait) {
        retrying(options_.component, what, e, wait);
        failing = true;
      })
      .waits_with([this](std::chrono::milliseconds wait) { return pause(wait); });
  if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
    r.run(f);
    if (failing) recovered(options_.component);
  } else {
    auto result = r.run(f);
    if (failing) recovered(options_.component);
    return result;
  }
}

}  // namespace millrace::runtime
