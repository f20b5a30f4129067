// TransactionalConsumer, and its loop thread's life: start, stop, the end
// of the thread on a failure, and leaving the group. What the thread does is
// in loop.cpp; loop.hpp lists the files of its jobs.
#include "millrace/stream/consumer.hpp"

#include <exception>
#include <string>
#include <utility>

#include "loop.hpp"
#include "millrace/runtime/log.hpp"
#include "production_ports.hpp"

namespace millrace::stream {

using std::chrono::milliseconds;

std::string detail::tp_name(const std::string& topic, std::int32_t partition) {
  return topic + "[" + std::to_string(partition) + "]";
}

TransactionalConsumer::Loop::Loop(StreamConfig config, Handler& handler, std::string component,
                                  metrics::Registry& metrics, detail::Ports ports)
    : config_(std::move(config)),
      handler_(handler),
      seals_(dynamic_cast<SealsBatches*>(&handler)),
      watches_(dynamic_cast<WatchesReads*>(&handler)),
      component_(std::move(component)),
      make_consumer_(std::move(ports.consumer)),
      lag_(ports.lag),
      batch_committer_(std::move(ports.committer)),
      state_(handler_.open_batch()),
      backoff_(config_.retry),
      probe_(metrics, config_.kafka.topic, component_,
             std::chrono::seconds(config_.stall_timeout_s)),
      worker_({.component = component_,
               .retry = config_.retry,
               .observe =
                   [this](const core::InfraError& e) {
                     probe_.pg_error(e.failure_class());
                     if (e.retryable()) bump([](StreamStats& s) { ++s.db_errors; });
                   },
               .on_exit = [this] { finish(); }}) {}

void TransactionalConsumer::Loop::start() {
  if (started_) return;
  started_ = true;
  consumer_ = make_consumer_(this);
  if (lag_) probe_.start_lag(config_.kafka.brokers, config_.kafka.extra);
  worker_.spawn_once([this] { run(); });
}

void TransactionalConsumer::Loop::stop() {
  worker_.stop();
  probe_.stop_lag();
}

bool TransactionalConsumer::Loop::wait(milliseconds timeout) {
  return worker_.wait(timeout);
}

void TransactionalConsumer::Loop::rethrow_failure() {
  worker_.rethrow_failure();
}

StreamStats TransactionalConsumer::Loop::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void TransactionalConsumer::Loop::finish() {
  // After a failure a commit may still run. Its outcome no longer matters
  // (PostgreSQL holds it, and whoever consumes next resumes from there),
  // but the thread must not outlive the loop that owns its batch.
  if (in_flight_) in_flight_->outcome.wait();
  abandon();
}

// Leaves the group without committing anything more, if run() did not
// close the consumer itself: the failure (or stop) already decided that
// what is uncommitted is replayed by the next owner.
void TransactionalConsumer::Loop::abandon() {
  if (!consumer_ || closed_) return;
  abandoning_ = true;
  in_flight_.reset();
  book_.abandon();
  try {
    consumer_->close();
  } catch (const std::exception& e) {
    runtime::log_warn(component_, std::string("leaving the group: ") + e.what());
  } catch (const runtime::Stopped&) {
  }
  closed_ = true;
}

TransactionalConsumer::TransactionalConsumer(StreamConfig config, Handler& handler,
                                             std::string component, metrics::Registry& metrics)
    : TransactionalConsumer(config, handler, component, metrics,
                            detail::production_ports(config, handler, component)) {}

TransactionalConsumer::TransactionalConsumer(StreamConfig config, Handler& handler,
                                             std::string component, metrics::Registry& metrics,
                                             detail::Ports&& ports)
    : loop_(std::make_unique<Loop>(std::move(config), handler, std::move(component), metrics,
                                   std::move(ports))) {}
TransactionalConsumer::~TransactionalConsumer() {
  stop();
}
void TransactionalConsumer::start() {
  loop_->start();
}
void TransactionalConsumer::stop() {
  loop_->stop();
}
bool TransactionalConsumer::wait(milliseconds timeout) {
  return loop_->wait(timeout);
}
void TransactionalConsumer::rethrow_failure() {
  loop_->rethrow_failure();
}
StreamStats TransactionalConsumer::stats() const {
  return loop_->stats();
}

std::map<std::int32_t, std::string> TransactionalConsumer::halted() const {
  return loop_->halted();
}

}  // namespace millrace::stream
