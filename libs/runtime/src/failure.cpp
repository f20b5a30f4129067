#include "millrace/runtime/failure.hpp"

#include "millrace/core/failure.hpp"

namespace millrace::runtime {

bool FailureLatch::fail(const std::string& what) {
  {
    std::lock_guard lock(mutex_);
    if (failed_) return false;
    failed_ = true;
    what_ = what;
  }
  cv_.notify_all();
  return true;
}

bool FailureLatch::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

bool FailureLatch::wait(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return failed_; });
}

void FailureLatch::rethrow() const {
  std::lock_guard lock(mutex_);
  if (failed_) throw core::InfraError(core::FailureClass::kFatal, what_);
}

}  // namespace millrace::runtime
