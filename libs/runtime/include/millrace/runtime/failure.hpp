#pragma once
// How a service's background work reports the fatal error that ended it:
// the thread that fails records it once; runtime::serve() waits for it and
// rethrows it on the main thread (DEVELOPERS.md, "Errors").

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace millrace::runtime {

class FailureLatch {
 public:
  // Records `what` and wakes wait(). The first failure wins: returns false
  // (and records nothing) when one was recorded before.
  bool fail(const std::string& what);
  bool failed() const;
  // True once failed, waiting up to `timeout` for it.
  bool wait(std::chrono::milliseconds timeout) const;
  // Throws core::InfraError (fatal) with the recorded failure, if any.
  void rethrow() const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  bool failed_ = false;
  std::string what_;
};

}  // namespace millrace::runtime
