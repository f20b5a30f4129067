// Closing a consumer when the brokers are gone with an offset commit in
// flight: librdkafka's close then waits for an answer that never comes
// (librdkafka issue #3740), and a service would hang at SIGTERM until it
// is killed. Consumer::close() gives up after its limit instead.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "millrace/kafka/consumer.hpp"
#include "mock_cluster.hpp"

using millrace::kafka::Consumer;
using millrace::kafka::ConsumerConfig;
using millrace::testing::MockCluster;

TEST_CASE("a consumer closes while its brokers are down with a commit in flight",
          "[consumer-close]") {
  // On the heap: if close() hangs, its thread is left running with them, and
  // they must outlive this test case rather than be destroyed under it.
  auto mock = std::make_unique<MockCluster>(1);
  REQUIRE(rd_kafka_mock_topic_create(mock->cluster, "closing", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  ConsumerConfig config;
  config.brokers = mock->bootstraps();
  config.group_id = "closing-group";
  config.client_id = "closing-test";
  auto consumer = std::make_unique<Consumer>(config, nullptr);
  consumer->subscribe({"closing"});
  // Three seconds of polls: the group is joined and the partition assigned.
  for (int i = 0; i < 30; ++i) consumer->poll(std::chrono::milliseconds(100));
  REQUIRE(rd_kafka_mock_broker_set_down(mock->cluster, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
  consumer->commit_async({{"closing", 0, 0}});

  // close() gives up after its 15 s limit. A close that does not return is
  // the bug this test is for, so it must fail as one, not hang until ctest's
  // timeout kills it: close runs on a thread, and the test waits four times
  // the limit (slack for a loaded machine, not a timing assertion).
  // packaged_task: what close() throws reaches done.get() on this thread.
  std::packaged_task<void()> close([c = consumer.get()] { c->close(); });
  auto done = close.get_future();
  std::thread closer(std::move(close));
  if (done.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    // Still closing: the thread, the consumer and the mock stay behind for
    // the process's exit.
    closer.detach();
    (void)consumer.release();
    (void)mock.release();
    FAIL("Consumer::close() did not return within 60 s (its limit is 15 s)");
  }
  closer.join();
  done.get();
}
