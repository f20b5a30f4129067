#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace millrace::runtime {

// A setting that SIGHUP may replace while a service's threads read it (a
// batch size, a retry schedule). It lives in a Config, and the copies of
// that Config share it: runtime::ServiceSettings keeps one copy and sets it,
// the service's threads read theirs. Empty until a reload set it, so a
// reader uses the value its config started with: value_or(that).
//
// Caller contract: read it where a change may take effect (at a batch
// boundary, before a claim), not in the middle of the work it governs.
// Any thread.
template <typename T>
class Reloaded {
 public:
  void set(T value) {
    std::lock_guard lock(state_->mutex);
    state_->value = std::move(value);
  }
  T value_or(const T& initial) const {
    std::lock_guard lock(state_->mutex);
    return state_->value ? *state_->value : initial;
  }

 private:
  struct State {
    std::mutex mutex;
    std::optional<T> value;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace millrace::runtime
