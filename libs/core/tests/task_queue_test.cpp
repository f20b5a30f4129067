// core::TaskQueue and core::TaskThread: tasks start in the order they were
// submitted, so a task may wait for an earlier one; results and exceptions
// come out of the futures; at the end queued tasks run (kRun) or are
// dropped (kDrop); a TaskThread refuses a second task while one waits.
#include "millrace/core/task_queue.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "millrace/core/task_thread.hpp"

using millrace::core::TaskQueue;
using millrace::core::TaskThread;

TEST_CASE("a task queue runs tasks in order on its threads, and a task may wait for an earlier one",
          "[core][task_queue]") {
  TaskQueue queue(2);
  std::promise<void> go;
  auto gate = go.get_future().share();
  auto first = queue.submit([gate] {
    gate.wait();
    return 1;
  });
  auto shared_first = first.share();
  // Submitted after `first`: it waits for it, and the other thread is free
  // for it because `first` was taken before it.
  auto second = queue.submit([shared_first] { return shared_first.get() + 1; });
  auto failing = queue.submit([]() -> int { throw std::runtime_error("refused"); });
  go.set_value();
  CHECK(second.get() == 2);
  CHECK_THROWS_WITH(failing.get(), "refused");
}

TEST_CASE("a task queue's end runs what is queued, or drops it", "[core][task_queue]") {
  std::atomic<int> ran{0};
  std::promise<void> go;
  auto gate = go.get_future().share();
  std::future<void> dropped;
  std::thread opener;
  {
    TaskQueue queue(1, TaskQueue::AtEnd::kDrop);
    auto started = std::make_shared<std::promise<void>>();
    auto running = queue.submit([&, gate, started] {
      started->set_value();
      gate.wait();
      ++ran;
    });
    dropped = queue.submit([&] { ++ran; });
    started->get_future().wait();
    CHECK(queue.waiting() == 1);
    // Lets the running task end once the queue is being destroyed.
    opener = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      go.set_value();
    });
  }
  opener.join();
  CHECK(ran == 1);
  CHECK_THROWS_AS(dropped.get(), std::future_error);
  {
    TaskQueue queue(1);
    for (int i = 0; i < 5; ++i) queue.submit([&] { ++ran; });
  }
  CHECK(ran == 6);
}

TEST_CASE("a task thread takes one task waiting at a time", "[core][task_queue]") {
  TaskThread<int> thread;
  std::promise<void> go;
  auto gate = go.get_future().share();
  auto started = std::make_shared<std::promise<void>>();
  auto first = thread.submit([gate, started] {
    started->set_value();
    gate.wait();
    return 1;
  });
  started->get_future().wait();
  auto second = thread.submit([] { return 2; });  // the first was taken
  CHECK_THROWS_AS(thread.submit([] { return 3; }), std::logic_error);
  go.set_value();
  CHECK(first.get() == 1);
  CHECK(second.get() == 2);
}
