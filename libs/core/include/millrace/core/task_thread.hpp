#pragma once

// One thread that runs tasks handed to it, one at a time, for its owner's
// whole life: a stream loop's commits (libs/stream/src/commit_pipeline.cpp),
// the change feed's publishes (libs/changefeed/src/feed.cpp).

#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace millrace::core {

// A thread started per task (std::async) would cost a thread start per
// batch: a hundred a second per worker with 10 ms batches.
template <typename R>
class TaskThread {
 public:
  TaskThread() : thread_([this] { run(); }) {}
  // Runs the task queued, if any, then ends the thread.
  ~TaskThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  TaskThread(const TaskThread&) = delete;
  TaskThread& operator=(const TaskThread&) = delete;

  // The caller settles one task before it submits the next: at most one is
  // ever queued (a second throws std::logic_error). What the task throws
  // comes out of the future.
  std::future<R> submit(std::function<R()> fn) {
    std::packaged_task<R()> task(std::move(fn));
    auto result = task.get_future();
    {
      std::lock_guard lock(mutex_);
      if (task_.valid()) throw std::logic_error("a task was submitted before the last one ran");
      task_ = std::move(task);
    }
    cv_.notify_one();
    return result;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || task_.valid(); });
      if (!task_.valid()) return;  // stopping, and nothing left to run
      auto task = std::move(task_);
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::packaged_task<R()> task_;  // the queued task; moved out to run
  bool stopping_ = false;
  std::thread thread_;  // last, so it starts once the members above exist
};

}  // namespace millrace::core
