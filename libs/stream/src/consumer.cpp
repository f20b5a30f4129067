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
      component_(std::move(component)),
      make_consumer_(std::move(ports.consumer)),
      lag_(ports.lag),
      batch_committer_(std::move(ports.committer)),
      state_(handler_.open_batch()),
      backoff_(config_.retry.first_ms),
      probe_(metrics, config_.kafka.topic, component_,
             std::chrono::seconds(config_.stall_timeout_s)) {}

void TransactionalConsumer::Loop::start() {
  if (thread_.joinable()) return;
  consumer_ = make_consumer_(this);
  if (lag_) probe_.start_lag(config_.kafka.brokers, config_.kafka.extra);
  thread_ = std::thread([this] { run_guarded(); });
}

void TransactionalConsumer::Loop::stop() {
  stop_requested_ = true;
  if (thread_.joinable()) thread_.join();
  probe_.stop_lag();
}

bool TransactionalConsumer::Loop::wait(milliseconds timeout) {
  std::unique_lock lock(done_mutex_);
  return done_cv_.wait_for(lock, timeout, [&] { return done_; });
}

void TransactionalConsumer::Loop::rethrow_failure() {
  std::lock_guard lock(done_mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

StreamStats TransactionalConsumer::Loop::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void TransactionalConsumer::Loop::run_guarded() {
  try {
    run();
  } catch (const std::exception& e) {
    runtime::log_error(component_, std::string("stopping on fatal error: ") + e.what());
    std::lock_guard lock(done_mutex_);
    failure_ = std::current_exception();
  } catch (const detail::StopRequested&) {
    // Stop requested while waiting for the database: nothing to commit.
  }
  // After a failure a commit may still run. Its outcome no longer matters
  // (PostgreSQL holds it, and whoever consumes next resumes from there),
  // but the thread must not outlive the loop that owns its batch.
  if (in_flight_) in_flight_->outcome.wait();
  abandon();
  {
    std::lock_guard lock(done_mutex_);
    done_ = true;
  }
  done_cv_.notify_all();
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
  } catch (const detail::StopRequested&) {
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
