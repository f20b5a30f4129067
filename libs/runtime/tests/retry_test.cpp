#include "millrace/runtime/retry.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

using millrace::core::FailureClass;
using millrace::core::InfraError;
using millrace::runtime::Backoff;
using millrace::runtime::Retry;
using millrace::runtime::Stopped;
using millrace::runtime::Try;
using namespace std::chrono_literals;

namespace {

// A clock that moves only when the retry waits: every wait is recorded, and
// no test waits for real time.
struct FakeTime {
  Retry::Clock::time_point now{};
  std::vector<std::chrono::milliseconds> waits;
  bool stop_at_wait = false;

  Retry& on(Retry& r) {
    return r.waits_with(
        [this](std::chrono::milliseconds d) {
          waits.push_back(d);
          now += d;
          return stop_at_wait;
        },
        [this] { return now; });
  }
};

InfraError retryable(const std::string& what = "down") {
  return InfraError(FailureClass::kRetryable, what);
}

}  // namespace

TEST_CASE("a retry returns the first success, waiting the backoff after each failure", "[retry]") {
  FakeTime time;
  Retry r(Backoff(100ms, 350ms));
  time.on(r);
  int tries = 0;
  const int got = r.run([&] {
    if (++tries < 4) throw retryable();
    return 42;
  });
  CHECK(got == 42);
  CHECK(tries == 4);
  CHECK(time.waits == std::vector<std::chrono::milliseconds>{100ms, 200ms, 350ms});
}

TEST_CASE("a retry rethrows what is not retryable at once, and observes it", "[retry]") {
  for (const auto c : {FailureClass::kFatal, FailureClass::kPoison}) {
    FakeTime time;
    Retry r(Backoff(10ms, 10ms));
    std::vector<std::string> seen;
    time.on(r).observe([&](const InfraError& e) { seen.push_back(e.what()); });
    int tries = 0;
    CHECK_THROWS_WITH(r.run([&] {
      ++tries;
      throw InfraError(c, "bad password");
    }),
                      "bad password");
    CHECK(tries == 1);
    CHECK(time.waits.empty());
    CHECK(seen == std::vector<std::string>{"bad password"});
  }
  // Anything but an InfraError is not the retry's to judge.
  FakeTime time;
  Retry r(Backoff(10ms, 10ms));
  time.on(r);
  CHECK_THROWS_AS(r.run([] { throw std::logic_error("bug"); }), std::logic_error);
  CHECK(time.waits.empty());
}

TEST_CASE("a retry bounded in tries rethrows the last failure after the last try", "[retry]") {
  FakeTime time;
  Retry r(Backoff(5ms, 5ms));
  time.on(r).at_most(3);
  int tries = 0;
  std::vector<std::string> retried;
  r.on_retry([&](const InfraError& e, std::chrono::milliseconds wait) {
    retried.push_back(std::string(e.what()) + " " + std::to_string(wait.count()));
  });
  CHECK_THROWS_WITH(r.run([&] { throw retryable("try " + std::to_string(++tries)); }), "try 3");
  CHECK(tries == 3);
  CHECK(retried == std::vector<std::string>{"try 1 5", "try 2 5"});
}

TEST_CASE("a retry starts no try whose wait would reach its deadline", "[retry]") {
  FakeTime time;
  Retry r(Backoff::fixed(1000ms));
  time.on(r).until(time.now + 3500ms);
  std::vector<Try> tries;
  CHECK_THROWS_WITH(r.run([&](const Try& t) {
    tries.push_back(t);
    throw retryable("not yet");
  }),
                    "not yet");
  // At 0, 1000, 2000 and 3000 ms; a fifth would start at 4000, past it.
  REQUIRE(tries.size() == 4);
  CHECK(tries[0].number == 1);
  CHECK(tries[0].left == 3500ms);
  CHECK(tries[3].number == 4);
  CHECK(tries[3].left == 500ms);
  CHECK(time.waits.size() == 3);
}

TEST_CASE("a try without a deadline has all the time there is", "[retry]") {
  FakeTime time;
  Retry r(Backoff(1ms, 1ms));
  time.on(r);
  CHECK(r.run([](const Try& t) { return t.left; }) == std::chrono::milliseconds::max());
}

TEST_CASE("a retry whose pause says stop throws Stopped, not the failure", "[retry]") {
  FakeTime time;
  time.stop_at_wait = true;
  Retry r(Backoff(1ms, 1ms));
  time.on(r);
  int tries = 0;
  CHECK_THROWS_AS(r.run([&] {
    ++tries;
    throw retryable();
  }),
                  Stopped);
  CHECK(tries == 1);
}
