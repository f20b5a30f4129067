#pragma once

// One thread that runs tasks handed to it, one at a time, for its owner's
// whole life: a stream loop's commits (libs/stream/src/commit_pipeline.cpp),
// the change feed's publishes (libs/changefeed/src/feed.cpp). A
// core::TaskQueue of one thread, whose caller keeps at most one task
// waiting.

#include <functional>
#include <future>
#include <stdexcept>
#include <utility>

#include "millrace/core/task_queue.hpp"

namespace millrace::core {

// A thread started per task (std::async) would cost a thread start per
// batch: a hundred a second per worker with 10 ms batches. Destroying it
// runs the task queued, if any, then ends the thread.
template <typename R>
class TaskThread {
 public:
  TaskThread() = default;
  TaskThread(const TaskThread&) = delete;
  TaskThread& operator=(const TaskThread&) = delete;

  // The caller settles one task before it submits the next: at most one is
  // ever queued (a second throws std::logic_error). What the task throws
  // comes out of the future.
  std::future<R> submit(std::function<R()> fn) {
    if (queue_.waiting() > 0) {
      throw std::logic_error("a task was submitted before the last one ran");
    }
    return queue_.submit(std::move(fn));
  }

 private:
  TaskQueue queue_{1};
};

}  // namespace millrace::core
