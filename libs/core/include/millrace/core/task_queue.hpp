#pragma once

// A fixed set of threads taking tasks from one queue, first in first out,
// for their owner's whole life: the archive's parts going up while their
// files are written, and its batches' steps (libs/archive/src/
// object_streaming.cpp, parallel.hpp); with one thread, core::TaskThread.
// Because tasks start in the order they were submitted, a task may wait
// for one submitted before it (a part for its upload's begin) without ever
// waiting for a task no thread has taken.
//
// Caller contract: submit() from any thread. What a task returns or throws
// comes out of its future. Destroying the queue lets the running tasks end,
// then runs the tasks still queued (kRun) or drops them (kDrop: their
// futures report std::future_error, broken_promise), and joins the
// threads.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace millrace::core {

class TaskQueue {
 public:
  enum class AtEnd { kRun, kDrop };

  explicit TaskQueue(std::size_t threads, AtEnd at_end = AtEnd::kRun) : at_end_(at_end) {
    if (threads == 0) throw std::invalid_argument("TaskQueue needs one thread at least");
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~TaskQueue() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (at_end_ == AtEnd::kDrop) queue_.clear();
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  std::size_t threads() const { return threads_.size(); }

  // Tasks submitted that no thread has taken yet.
  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

  template <typename F>
  auto submit(F fn) -> std::future<decltype(fn())> {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    auto result = task->get_future();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) throw std::logic_error("a task was submitted to a queue being destroyed");
      queue_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
    return result;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      auto task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  const AtEnd at_end_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last, so they start once the members above exist
};

}  // namespace millrace::core
