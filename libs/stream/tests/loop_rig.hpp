#pragma once
// What the stream loop's tests share (loop_test.cpp,
// loop_out_of_range_test.cpp): a consumer's settings and its ports on the
// fakes.

#include <chrono>

#include "fakes.hpp"
#include "millrace/stream/consumer.hpp"

namespace millrace::stream::testing {

inline StreamConfig config(std::int64_t batch_size, std::int64_t batch_ms) {
  StreamConfig c;
  c.kafka.topic = kTopic;
  c.group = "g";
  c.migrate = false;  // no real PostgreSQL here
  c.batch_size = batch_size;
  c.batch_ms = batch_ms;
  c.retry.first_ms = 5;
  c.retry.max_ms = 20;
  c.ahead_confirm = std::chrono::milliseconds(300);
  return c;
}

inline detail::Ports ports(FakeCluster& cluster, int member, FakeDatabase& db) {
  detail::Ports p;
  p.consumer = [&cluster, member](kafka::RebalanceListener* listener) {
    return std::make_unique<FakeConsumer>(cluster, member, listener);
  };
  p.committer = std::make_unique<FakeCommitter>(db);
  p.lag = false;  // the probe's lag thread would look for real brokers
  return p;
}

}  // namespace millrace::stream::testing
