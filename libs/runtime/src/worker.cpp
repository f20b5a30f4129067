#include "millrace/runtime/worker.hpp"

#include <utility>

#include "millrace/runtime/health.hpp"
#include "millrace/runtime/log.hpp"

namespace millrace::runtime {

using std::chrono::milliseconds;

Worker::Worker(WorkerOptions options) : options_(std::move(options)) {}

Worker::~Worker() {
  stop();
}

void Worker::spawn(Round round, std::string name) {
  start_thread(std::move(round), std::move(name), true);
}

void Worker::spawn_once(std::function<void()> work, std::string name) {
  start_thread(
      [work = std::move(work)] {
        work();
        return Next::done();
      },
      std::move(name), false);
}

void Worker::start_thread(Round round, std::string name, bool retries) {
  if (name.empty()) name = options_.component;
  {
    std::lock_guard lock(mutex_);
    ++running_;
  }
  threads_.emplace_back([this, retries, round = std::move(round), name = std::move(name)] {
    run(round, name, retries);
  });
}

void Worker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (options_.on_stop) options_.on_stop();
  std::lock_guard join(join_mutex_);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool Worker::pause(milliseconds d) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

bool Worker::wait(milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [this] { return running_ == 0; });
}

bool Worker::failed() const {
  std::lock_guard lock(mutex_);
  return failure_ != nullptr;
}

void Worker::rethrow_failure() const {
  std::lock_guard lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

void Worker::observe(const core::InfraError& e) const {
  if (options_.observe) options_.observe(e);
}

void Worker::retrying(const std::string& name, std::string_view what, const core::InfraError& e,
                      milliseconds wait) {
  std::string line = what.empty() ? std::string() : std::string(what) + ": ";
  log_warn(name, line + e.what() + "; retrying in " + std::to_string(wait.count()) + " ms");
  if (options_.health != nullptr) {
    options_.health->set(options_.check, options_.problem + e.what(), options_.action);
  }
}

void Worker::recovered(const std::string& name) {
  log_info(name, "recovered");
  if (options_.health != nullptr) options_.health->clear(options_.check);
}

void Worker::fail(const std::string& name, std::exception_ptr error, const std::string& what) {
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    if (failure_ == nullptr) {
      failure_ = std::move(error);
      first = true;
      log_error(name, "stopping on fatal error: " + what);
    }
    stopping_ = true;
  }
  cv_.notify_all();
  if (first && options_.on_failure) options_.on_failure(what);
  if (options_.on_stop) options_.on_stop();
}

void Worker::run(const Round& round, const std::string& name, bool retries) {
  Backoff backoff(options_.retry, options_.jitter);
  bool failing = false;
  try {
    while (!stopping()) {
      Next next = Next::again();
      try {
        next = round();
      } catch (const core::InfraError& e) {
        observe(e);
        if (!retries || !e.retryable()) throw;
        if (stopping()) break;  // the stop cut it short
        const auto wait = backoff.next();
        retrying(name, {}, e, wait);
        failing = true;
        if (pause(wait)) break;
        continue;
      }
      if (failing) {
        recovered(name);
        failing = false;
        backoff.reset();
      }
      if (next.finished) break;
      if (next.pause.count() > 0 && pause(next.pause)) break;
    }
  } catch (const Stopped&) {
    // Stopped while waiting: nothing failed.
  } catch (const std::exception& e) {
    fail(name, std::current_exception(), e.what());
  }
  if (options_.on_exit) {
    try {
      options_.on_exit();
    } catch (const std::exception& e) {
      log_warn(name, std::string("ending: ") + e.what());
    }
  }
  {
    std::lock_guard lock(mutex_);
    --running_;
  }
  cv_.notify_all();
}

}  // namespace millrace::runtime
