#include "millrace/stream/service.hpp"

#include <stdexcept>

#include "millrace/runtime/log.hpp"

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
  if (!consumer_ || reported_) return;
  reported_ = true;
  const auto s = consumer_->stats();
  std::string summary = "consumed=" + std::to_string(s.consumed);
  for (const auto& [outcome, n] : s.outcomes) summary += " " + outcome + "=" + std::to_string(n);
  runtime::log_info(component_, summary + " batches=" + std::to_string(s.batches) +
                                    " fenced=" + std::to_string(s.fenced));
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
