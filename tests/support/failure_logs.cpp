// A Catch2 listener for the stack tests: at a test case's first failed
// assertion it prints the last lines of every service log the case started
// (harness.hpp, started_logs()). CI shows a failed test's output and
// nothing of the clone it ran in, so without this a failure that depends on
// what a service was doing cannot be read afterwards.
//
// Compiled into each stack-test binary itself (a listener in a static
// library would be dropped by the linker), without the precompiled header:
// the listener interfaces need CATCH_CONFIG_EXTERNAL_INTERFACES before
// Catch2's header.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#include <deque>
#include <fstream>
#include <iostream>
#include <string>

#include "harness.hpp"

namespace millrace::testing {
namespace {

constexpr std::size_t kTailLines = 40;
constexpr std::size_t kLineChars = 400;
constexpr std::size_t kWarningLines = 20;

bool is_warning(const std::string& line) {
  return line.find(" WARN ") != std::string::npos || line.find(" ERROR ") != std::string::npos;
}

// The log's last lines, after its last warnings and errors that came
// before them (librdkafka's debug lines can fill the tail on their own).
void print_tail(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cout << "---- " << path << ": not readable\n";
    return;
  }
  std::deque<std::string> tail, warnings;
  std::size_t total = 0;
  for (std::string line; std::getline(in, line); ++total) {
    if (line.size() > kLineChars) line = line.substr(0, kLineChars) + " [...]";
    tail.push_back(std::move(line));
    if (tail.size() > kTailLines) {
      if (is_warning(tail.front())) warnings.push_back(std::move(tail.front()));
      if (warnings.size() > kWarningLines) warnings.pop_front();
      tail.pop_front();
    }
  }
  std::cout << "---- " << path << " (" << total << " lines)\n";
  if (!warnings.empty()) {
    std::cout << "  (the last " << warnings.size() << " warnings and errors before the tail)\n";
    for (const auto& line : warnings) std::cout << "  " << line << "\n";
    std::cout << "  (the last " << tail.size() << " lines)\n";
  }
  for (const auto& line : tail) std::cout << "  " << line << "\n";
}

class FailureLogs final : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    TestEventListenerBase::testCaseStarting(info);
    clear_started_logs();
    printed_ = false;
  }

  bool assertionEnded(Catch::AssertionStats const& stats) override {
    if (!stats.assertionResult.isOk() && !printed_) {
      printed_ = true;
      const auto logs = started_logs();
      if (!logs.empty() || !failure_notes().empty()) {
        std::cout << "==== the services' logs at the first failure ("
                  << stats.assertionResult.getSourceInfo() << ")\n";
        for (const auto& path : logs) print_tail(path);
        for (const auto& note : failure_notes()) std::cout << "---- " << note << "\n";
        std::cout << "==== end of the services' logs" << std::endl;
      }
    }
    return TestEventListenerBase::assertionEnded(stats);
  }

 private:
  bool printed_ = false;
};

CATCH_REGISTER_LISTENER(FailureLogs)

}  // namespace
}  // namespace millrace::testing
