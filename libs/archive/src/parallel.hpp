#pragma once

// Runs the steps of one operation (the parts of a batch's uploads) on a
// core::TaskQueue, the threads the destination holds for its whole life:
// none is started per batch, and none retries. A failure
// of any step is the operation's (the batch is retried from Kafka, with
// the stream loop's backoff).

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "millrace/core/task_queue.hpp"

namespace millrace::archive::detail {

// Caller contract: run() is called by one thread at a time.
class Parallel {
 public:
  explicit Parallel(std::size_t threads) : threads_(threads) {}

  std::size_t threads() const { return threads_.threads(); }

  // Runs step(0) .. step(count - 1), each once, on up to threads() threads
  // at a time, and returns when all have ended. Once a step throws, no
  // further step begins; the first exception is rethrown.
  void run(std::size_t count, const std::function<void(std::size_t)>& step) {
    if (count == 0) return;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::vector<std::future<void>> running;
    const std::size_t n = std::min(count, threads_.threads());
    for (std::size_t t = 0; t < n; ++t) {
      running.push_back(threads_.submit([&] {
        for (std::size_t i = next++; i < count && !failed.load(); i = next++) {
          try {
            step(i);
          } catch (...) {
            // Not carried on: stops the others taking steps, and leaves
            // through the future.
            failed = true;
            throw;
          }
        }
      }));
    }
    std::exception_ptr first;
    for (auto& f : running) {
      try {
        f.get();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  }

 private:
  core::TaskQueue threads_;
};

}  // namespace millrace::archive::detail
