#pragma once

// The figures each fault test reports: how many events it ran, what the
// exactly-once oracle found, and how long the pipeline took to recover. One
// tab-separated line per run is appended to <test-logs>/fault-matrix.tsv, so
// a loop of fault runs leaves a table to read (docs/exactly-once.md's fault
// matrix explains each case). Reporting never asserts anything: the test's
// own CHECKs do.

#include <chrono>
#include <cstdint>
#include <string>

namespace millrace::testing {

struct FaultFigures {
  std::string fault;  // the ctest case, e.g. "sigkill"
  std::uint64_t events = 0;
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t unaccounted = 0;
  // From the fault's end (the server back, the link healed, the member
  // restarted) until every stored offset reached the end of its partition.
  double recovery_s = 0;
};

void record_fault(const FaultFigures& figures);

// Seconds since construction, for recovery times.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void restart() { start_ = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace millrace::testing
