#include "millrace/aggregate/aggregator.hpp"

#include <chrono>
#include <memory>
#include <utility>

#include "handler.hpp"

namespace millrace::aggregate {

using std::chrono::milliseconds;

// The service's handler is the one its unit tests drive (handler.hpp).
class Aggregator::Handler final : public detail::AggregatorHandler {
 public:
  using AggregatorHandler::AggregatorHandler;
};

Aggregator::Aggregator(AggregatorConfig config, metrics::Registry& metrics)
    : config_(std::move(config)),
      handler_(std::make_unique<Handler>(config_)),
      consumer_(std::make_unique<stream::TransactionalConsumer>(config_.stream, *handler_,
                                                                "aggregator", metrics)) {}

Aggregator::~Aggregator() {
  stop();
}
void Aggregator::start() {
  consumer_->start();
}
void Aggregator::stop() {
  consumer_->stop();
}
bool Aggregator::wait(milliseconds timeout) {
  return consumer_->wait(timeout);
}
void Aggregator::rethrow_failure() {
  consumer_->rethrow_failure();
}
stream::StreamStats Aggregator::stats() const {
  return consumer_->stats();
}

}  // namespace millrace::aggregate
