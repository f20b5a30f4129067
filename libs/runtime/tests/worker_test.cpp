#include "millrace/runtime/worker.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "millrace/runtime/health.hpp"

using millrace::core::FailureClass;
using millrace::core::InfraError;
using millrace::runtime::Backoff;
using millrace::runtime::Health;
using millrace::runtime::Stopped;
using millrace::runtime::Worker;
using millrace::runtime::WorkerOptions;
using namespace std::chrono_literals;

namespace {

WorkerOptions quick(Health* health = nullptr) {
  WorkerOptions o;
  o.component = "test";
  o.retry = {1, 4};
  o.health = health;
  o.check = "database";
  o.problem = "not writing: ";
  o.action = "start it";
  return o;
}

// Waits for a condition the worker's threads make true, not for time.
template <typename Pred>
void eventually(Pred pred) {
  for (int i = 0; i < 5000 && !pred(); ++i) std::this_thread::sleep_for(1ms);
  REQUIRE(pred());
}

}  // namespace

TEST_CASE("backoff doubles from the first wait up to the maximum, and resets", "[worker]") {
  Backoff b(100ms, 350ms);
  CHECK(b.next() == 100ms);
  CHECK(b.next() == 200ms);
  CHECK(b.next() == 350ms);
  CHECK(b.next() == 350ms);
  b.reset();
  CHECK(b.current() == 100ms);
  b.grow();
  CHECK(b.current() == 200ms);
  // A maximum below the first wait is the first wait.
  Backoff low(500ms, 100ms);
  CHECK(low.next() == 500ms);
  CHECK(low.next() == 500ms);
}

TEST_CASE("backoff with jitter cuts each wait by up to its fraction, and varies", "[worker]") {
  std::set<std::int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    Backoff b(1000ms, 4000ms, 0.5);
    const auto first = b.next();
    CHECK(first >= 500ms);
    CHECK(first <= 1000ms);
    const auto second = b.next();
    CHECK(second >= 1000ms);
    CHECK(second <= 2000ms);
    seen.insert(first.count());
  }
  // Clients that failed together come back apart.
  CHECK(seen.size() > 50);
}

TEST_CASE("a worker's round runs until it says done, and wait() sees the end", "[worker]") {
  Worker w(quick());
  int rounds = 0;
  w.spawn([&] { return ++rounds == 3 ? Worker::Next::done() : Worker::Next::again(); });
  REQUIRE(w.wait(5s));
  CHECK(rounds == 3);
  CHECK_FALSE(w.failed());
  CHECK_NOTHROW(w.rethrow_failure());
}

TEST_CASE("retryable failures are retried with backoff, reported, and cleared on success",
          "[worker]") {
  Health health("test");
  std::vector<FailureClass> observed;
  auto options = quick(&health);
  options.observe = [&](const InfraError& e) { observed.push_back(e.failure_class()); };
  Worker w(options);
  std::atomic<int> rounds{0};
  std::atomic<bool> reported{false};
  w.spawn([&] {
    const int n = ++rounds;
    if (n <= 3) throw InfraError(FailureClass::kRetryable, "connection refused");
    if (n == 4) {
      // The problem was reported while the failure repeated.
      const auto problems = health.problems();
      reported = problems.size() == 1 && problems[0].check == "database" &&
                 problems[0].detail == "not writing: connection refused" &&
                 problems[0].action == "start it";
    }
    return n == 5 ? Worker::Next::done() : Worker::Next::again();
  });
  REQUIRE(w.wait(5s));
  CHECK(rounds == 5);
  CHECK(reported);
  CHECK(health.problems().empty());
  CHECK(observed == std::vector<FailureClass>(3, FailureClass::kRetryable));
  CHECK_FALSE(w.failed());
}

TEST_CASE("the first fatal failure stops every thread of the worker and is rethrown", "[worker]") {
  Worker w(quick());
  std::atomic<int> other_rounds{0};
  w.spawn([&] {
    ++other_rounds;
    return Worker::Next::after(10s);  // a pause the failure must cut short
  });
  eventually([&] { return other_rounds.load() == 1; });
  w.spawn([]() -> Worker::Next { throw InfraError(FailureClass::kFatal, "schema too new"); });
  w.spawn([]() -> Worker::Next { throw std::runtime_error("never kept: the first failure wins"); });
  REQUIRE(w.wait(5s));
  CHECK(w.failed());
  CHECK(w.stopping());
  try {
    w.rethrow_failure();
    FAIL("no failure rethrown");
  } catch (const std::exception& e) {
    // Either of the two may come first; each is a failure of its own.
    const std::string what = e.what();
    CHECK((what == "schema too new" || what == "never kept: the first failure wins"));
  }
  CHECK(other_rounds == 1);
}

TEST_CASE("on_failure hears the first failure once, as the worker keeps it", "[worker]") {
  std::mutex heard_mutex;
  std::vector<std::string> heard;
  WorkerOptions o = quick();
  o.on_failure = [&](const std::string& what) {
    std::lock_guard lock(heard_mutex);
    heard.push_back(what);
  };
  Worker w(o);
  // Both threads are in their round before either fails, so both fail.
  std::atomic<int> in_round{0};
  for (int i = 0; i < 2; ++i) {
    w.spawn_once([&] {
      ++in_round;
      while (in_round.load() < 2) std::this_thread::yield();
      throw InfraError(FailureClass::kFatal, "failed");
    });
  }
  REQUIRE(w.wait(5s));
  std::lock_guard lock(heard_mutex);
  CHECK(heard == std::vector<std::string>{"failed"});
}

TEST_CASE("stop() cuts a pause short, wakes the owner's own waits, and is idempotent", "[worker]") {
  std::atomic<int> woken{0};
  auto options = quick();
  options.on_stop = [&] { ++woken; };
  std::atomic<int> exits{0};
  options.on_exit = [&] { ++exits; };
  Worker w(options);
  w.spawn([] { return Worker::Next::after(1h); });
  w.spawn_once([&] {
    while (!w.pause(1h)) {
    }
  });
  w.stop();
  w.stop();
  CHECK(w.wait(0ms));
  CHECK(woken == 2);
  CHECK(exits == 2);
  CHECK_FALSE(w.failed());
}

TEST_CASE("a retryable failure while stopping ends the thread without a failure", "[worker]") {
  Worker w(quick());
  std::atomic<bool> started{false};
  w.spawn([&]() -> Worker::Next {
    started = true;
    while (!w.stopping()) std::this_thread::sleep_for(1ms);
    throw InfraError(FailureClass::kRetryable, "connection closed by the stop");
  });
  eventually([&] { return started.load(); });
  w.stop();
  CHECK(w.wait(0ms));
  CHECK_FALSE(w.failed());
}

TEST_CASE("work run once fails on any exception, a retryable one too", "[worker]") {
  Worker w(quick());
  int runs = 0;
  w.spawn_once([&] {
    ++runs;
    throw InfraError(FailureClass::kRetryable, "lost the connection mid-batch");
  });
  REQUIRE(w.wait(5s));
  CHECK(runs == 1);
  CHECK(w.failed());
  CHECK_THROWS_WITH(w.rethrow_failure(), "lost the connection mid-batch");
}

TEST_CASE("retry() tries again after retryable failures and returns the result", "[worker]") {
  std::vector<FailureClass> observed;
  auto options = quick();
  options.observe = [&](const InfraError& e) { observed.push_back(e.failure_class()); };
  Worker w(options);
  int tries = 0;
  const int got = w.retry("read stored offsets", [&] {
    if (++tries < 3) throw InfraError(FailureClass::kRetryable, "connection refused");
    return 42;
  });
  CHECK(got == 42);
  CHECK(tries == 3);
  CHECK(observed.size() == 2);

  int calls = 0;
  w.retry("nothing to return", [&] { ++calls; });
  CHECK(calls == 1);

  // Stopping does not keep a first try from running.
  Worker stopped(quick());
  stopped.stop();
  CHECK(stopped.retry("a stop's last commit", [] { return 7; }) == 7);

  // A fatal failure goes to the caller, observed first.
  CHECK_THROWS_WITH(
      w.retry("migrate", []() -> int { throw InfraError(FailureClass::kFatal, "denied"); }),
      "denied");
  CHECK(observed.back() == FailureClass::kFatal);
}

TEST_CASE("retry() throws Stopped once the worker stops", "[worker]") {
  Worker w(quick());
  std::atomic<int> tries{0};
  std::atomic<bool> stopped{false};
  w.spawn_once([&] {
    try {
      w.retry("connect", [&] {
        ++tries;
        throw InfraError(FailureClass::kRetryable, "connection refused");
      });
    } catch (const Stopped&) {
      stopped = true;
      throw;
    }
  });
  eventually([&] { return tries.load() >= 2; });
  w.stop();
  CHECK(stopped);
  CHECK_FALSE(w.failed());
}
