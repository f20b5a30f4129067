#include "millrace/runtime/retry.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <thread>

namespace millrace::runtime {

using std::chrono::milliseconds;

Backoff::Backoff(milliseconds first, milliseconds max, double jitter)
    : first_(first),
      max_(std::max(first, max)),
      current_(first),
      jitter_(std::clamp(jitter, 0.0, 1.0)) {}

Backoff::Backoff(const core::RetryBackoff& rules, double jitter)
    : Backoff(milliseconds(rules.first_ms), milliseconds(rules.max_ms), jitter) {}

milliseconds Backoff::next() {
  auto wait = current_;
  grow();
  if (jitter_ > 0) {
    thread_local std::minstd_rand random{std::random_device{}()};
    const double cut = std::uniform_real_distribution<double>(0, jitter_)(random);
    wait = milliseconds(static_cast<std::int64_t>(static_cast<double>(wait.count()) * (1 - cut)));
  }
  return wait;
}

void Backoff::grow() {
  current_ = std::min(current_ * 2, max_);
}

Retry& Retry::until(Clock::time_point deadline) {
  deadline_ = deadline;
  return *this;
}

Retry& Retry::at_most(int tries) {
  tries_ = std::max(tries, 1);
  return *this;
}

Retry& Retry::observe(std::function<void(const core::InfraError&)> f) {
  observe_ = std::move(f);
  return *this;
}

Retry& Retry::on_retry(std::function<void(const core::InfraError&, milliseconds)> f) {
  on_retry_ = std::move(f);
  return *this;
}

Retry& Retry::waits_with(std::function<bool(milliseconds)> pause,
                         std::function<Clock::time_point()> now) {
  pause_ = std::move(pause);
  now_ = std::move(now);
  return *this;
}

Try Retry::next_try(int number) const {
  Try t;
  t.number = number;
  if (deadline_) {
    t.left =
        std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(*deadline_ - now_()));
  }
  return t;
}

bool Retry::again(const core::InfraError& e, int number) {
  if (tries_ > 0 && number >= tries_) return false;
  const milliseconds wait = backoff_.next();
  if (deadline_ && now_() + wait >= *deadline_) return false;
  if (on_retry_) on_retry_(e, wait);
  if (pause_) {
    if (pause_(wait)) throw Stopped{};
  } else {
    std::this_thread::sleep_for(wait);
  }
  return true;
}

}  // namespace millrace::runtime
