#pragma once

// The thread that runs a stream loop's commits (commit_pipeline.cpp).

#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace millrace::stream {

// The thread that runs the loop's commits, one at a time, for the loop's
// whole life: a thread started per commit (std::async) would cost a thread
// start per batch, a hundred a second per worker with 10 ms batches.
template <typename R>
class CommitThread {
 public:
  CommitThread() : thread_([this] { run(); }) {}
  // Runs the task queued, if any, then ends the thread.
  ~CommitThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  CommitThread(const CommitThread&) = delete;
  CommitThread& operator=(const CommitThread&) = delete;

  // The loop settles one commit before it starts the next, so at most one
  // task is ever queued. What the task throws comes out of the future.
  std::future<R> submit(std::function<R()> fn) {
    std::packaged_task<R()> task(std::move(fn));
    auto result = task.get_future();
    {
      std::lock_guard lock(mutex_);
      if (task_.valid()) throw std::logic_error("a commit was submitted before the last one ran");
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

}  // namespace millrace::stream
