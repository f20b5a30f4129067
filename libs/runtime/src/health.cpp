#include "millrace/runtime/health.hpp"

#include <exception>
#include <utility>

#include "millrace/runtime/log.hpp"
#include "millrace/runtime/worker.hpp"

namespace millrace::runtime {

Health::Health(std::string component) : component_(std::move(component)) {}

Health::~Health() {
  stop();
}

void Health::poll(std::string check, Probe probe) {
  std::lock_guard lock(mutex_);
  polled_.push_back({std::move(check), std::move(probe), std::nullopt});
}

void Health::set(const std::string& check, std::string detail, std::string action) {
  Problem p{check, std::move(detail), std::move(action)};
  std::optional<Problem> before;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = pushed_.find(check); it != pushed_.end()) before = it->second;
    pushed_[check] = p;
  }
  log_change(check, before, p);
}

void Health::clear(const std::string& check) {
  std::optional<Problem> before;
  {
    std::lock_guard lock(mutex_);
    const auto it = pushed_.find(check);
    if (it == pushed_.end()) return;
    before = it->second;
    pushed_.erase(it);
  }
  log_change(check, before, std::nullopt);
}

void Health::log_change(const std::string& check, const std::optional<Problem>& before,
                        const std::optional<Problem>& after) const {
  if (before == after) return;
  if (after) {
    log_warn(component_, "not ready: " + after->check + ": " + after->detail +
                             (after->action.empty() ? "" : " (" + after->action + ")"));
  } else {
    log_info(component_, "ready again: " + check);
  }
}

void Health::start(std::chrono::milliseconds every) {
  if (worker_) return;
  worker_ = std::make_unique<Worker>(WorkerOptions{.component = component_});
  worker_->spawn(
      [this, every] {
        round();
        std::lock_guard lock(mutex_);
        first_round_done_ = true;
        return Worker::Next::after(every);
      },
      "health");
}

void Health::check_now() {
  round();
  std::lock_guard lock(mutex_);
  first_round_done_ = true;
}

void Health::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  if (worker_) worker_->stop();
}

// Each probe runs without the lock (it may wait on a server); only its
// result is stored under it. polled_ itself does not change after start().
void Health::round() {
  for (auto& p : polled_) {
    std::optional<Problem> found;
    try {
      found = p.probe();
    } catch (const std::exception& e) {
      found = Problem{p.check, e.what(), {}};
    }
    if (found && found->check.empty()) found->check = p.check;
    std::optional<Problem> before;
    {
      std::lock_guard lock(mutex_);
      before = std::exchange(p.last, found);
      if (stopping_) return;
    }
    log_change(p.check, before, found);
  }
}

std::vector<Problem> Health::problems() const {
  std::lock_guard lock(mutex_);
  std::vector<Problem> out;
  if (!first_round_done_ && !polled_.empty()) {
    out.push_back({"starting", "the first readiness checks have not finished", {}});
  }
  for (const auto& p : polled_) {
    if (p.last) out.push_back(*p.last);
  }
  for (const auto& [check, problem] : pushed_) out.push_back(problem);
  return out;
}

}  // namespace millrace::runtime
