#include "millrace/runtime/health.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <thread>

using millrace::runtime::Health;
using millrace::runtime::Problem;
using namespace std::chrono_literals;

namespace {

// Waits for the probe's rounds, not for time: until `calls` has moved past
// `seen` (the round that read the new state has run).
void wait_round(const std::atomic<int>& calls, int seen) {
  for (int i = 0; i < 2000 && calls.load() <= seen + 1; ++i) std::this_thread::sleep_for(1ms);
  REQUIRE(calls.load() > seen + 1);
}

}  // namespace

TEST_CASE("health says starting until its first round, then the probes' problems", "[health]") {
  Health h("test");
  std::atomic<bool> broken{true};
  std::atomic<int> calls{0};
  h.poll("postgresql", [&]() -> std::optional<Problem> {
    ++calls;
    if (broken) return Problem{"", "connection refused", "start PostgreSQL"};
    return std::nullopt;
  });
  const auto before = h.problems();
  REQUIRE(before.size() == 1);
  CHECK(before[0].check == "starting");

  h.start(1ms);
  wait_round(calls, 0);
  auto p = h.problems();
  REQUIRE(p.size() == 1);
  // A probe that leaves its check empty gets the one it was polled as.
  CHECK(p[0] == Problem{"postgresql", "connection refused", "start PostgreSQL"});

  broken = false;
  wait_round(calls, calls.load());
  CHECK(h.problems().empty());
  h.stop();
}

TEST_CASE("a probe that throws is a problem of its check with the exception's text", "[health]") {
  Health h("test");
  std::atomic<int> calls{0};
  h.poll("kafka", [&]() -> std::optional<Problem> {
    ++calls;
    throw std::runtime_error("metadata for topic t: Local: Broker transport failure");
  });
  h.start(1ms);
  wait_round(calls, 0);
  const auto p = h.problems();
  REQUIRE(p.size() == 1);
  CHECK(p[0].check == "kafka");
  CHECK(p[0].detail == "metadata for topic t: Local: Broker transport failure");
}

TEST_CASE("pushed problems stay until cleared, after the polled ones", "[health]") {
  Health h("test");
  h.set("partition", "partition 3 halted: offsets 10..19 deleted", "see docs/operations.md");
  h.set("slot", "slot millrace is missing");
  auto p = h.problems();  // no probes: no starting phase
  REQUIRE(p.size() == 2);
  CHECK(p[0].check == "partition");
  CHECK(p[1].check == "slot");
  h.clear("partition");
  p = h.problems();
  REQUIRE(p.size() == 1);
  CHECK(p[0].detail == "slot millrace is missing");
  h.clear("slot");
  CHECK(h.problems().empty());
}

TEST_CASE("stop ends the rounds and may be called twice", "[health]") {
  Health h("test");
  std::atomic<int> calls{0};
  h.poll("x", [&]() -> std::optional<Problem> {
    ++calls;
    return std::nullopt;
  });
  h.start(1ms);
  wait_round(calls, 0);
  h.stop();
  const int after = calls.load();
  std::this_thread::sleep_for(20ms);
  CHECK(calls.load() == after);
  h.stop();
}
