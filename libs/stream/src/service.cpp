#include "millrace/stream/service.hpp"

#include <stdexcept>

namespace millrace::stream {

ConsumerService::ConsumerService(std::string component, metrics::Registry& metrics)
    : component_(std::move(component)), metrics_(metrics) {}

ConsumerService::~ConsumerService() {
  stop();
}

void ConsumerService::consume(const StreamConfig& config, Handler& handler) {
  if (consumer_) throw std::logic_error(component_ + ": a service has one consumer");
  consumer_ =
      &parts_.add(std::make_unique<TransactionalConsumer>(config, handler, component_, metrics_));
}

void ConsumerService::start() {
  if (!consumer_) throw std::logic_error(component_ + ": consume() was never called");
  parts_.start();
}

void ConsumerService::stop() {
  parts_.stop();
}

bool ConsumerService::wait(std::chrono::milliseconds timeout) {
  if (parts_.failed()) return true;
  return consumer_ == nullptr || consumer_->wait(timeout);
}

void ConsumerService::rethrow_failure() {
  parts_.rethrow_failure();
}

StreamStats ConsumerService::stats() const {
  return consumer_ ? consumer_->stats() : StreamStats{};
}

}  // namespace millrace::stream
